//! The sharing worker: the off-chain data plane inside the node.
//!
//! As custodian, it answers other nodes' requests for chunks of granted documents: it
//! checks the requesting node belongs to the decision's requesting organisation and that
//! the grant is in force against committed state (not revoked, expired or erased) before
//! every chunk, then re-seals the chunk from its encrypted store for the requesting
//! identity.
//!
//! As requester, it watches committed decisions that grant its organisation access,
//! fetches each covered document chunk by chunk (each chunk is stored durably with the
//! progress, so a crash of either node resumes where it stopped), and once all are here,
//! confirms the delivery on chain (signed by the node's sharing key), which puts it in
//! the patient's accounting of disclosures. It also shreds every copy it holds when a
//! document's erasure commits.
//!
//! Nothing here holds more than one chunk of a document in memory at a time.

use std::sync::Arc;
use std::time::Duration;

use libp2p::PeerId;
use panacea_client_sdk::sharing::{CHUNK_BYTES, CHUNK_TAG_BYTES, ChunkContext, seal_chunk};
use panacea_contracts::audit::{AuditKind, AuditOutcome};
use panacea_contracts::document::DocumentCall;
use panacea_contracts::ids::{DecisionId, OrgId};
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{Height, Keypair, Timestamp};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::chain::peer_id_of;
use crate::docstore::{DocStore, InboxEntry, InboxState};
use crate::network::{DocRequest, DocResponse, DocServe, NetCommand};
use crate::shared::Shared;

/// Most deliveries tracked at once in the inbox scan.
const INBOX_SCAN_MAX: usize = 10_000;

/// The worker's settings.
#[derive(Clone)]
pub struct SharingWorker {
    shared: Arc<Shared>,
    store: Arc<DocStore>,
    org: Option<OrgId>,
    signer: Option<Keypair>,
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp(millis)
}

impl std::fmt::Debug for SharingWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharingWorker").field("org", &self.org).finish()
    }
}

impl SharingWorker {
    /// A worker for the node whose network identity is `peer`.
    pub fn new(shared: Arc<Shared>, store: Arc<DocStore>, signer: Option<Keypair>) -> SharingWorker {
        let peer = shared.peer_id;
        let org = panacea_contracts::membership::organisations(&shared.storage.state()).ok().and_then(|orgs| {
            orgs.into_iter().find(|o| o.network_key.as_ref().and_then(peer_id_of) == Some(peer)).map(|o| o.id)
        });
        if org.is_none() {
            tracing::warn!("this node's network key belongs to no organisation; it will not share documents");
        }
        SharingWorker { shared, store, org, signer }
    }

    /// The document store.
    pub fn store(&self) -> &Arc<DocStore> {
        &self.store
    }

    /// The organisation this node acts for.
    pub fn org(&self) -> Option<&OrgId> {
        self.org.as_ref()
    }

    fn tip(&self) -> Height {
        self.shared.status.read().map(|s| s.height).unwrap_or(Height::ZERO)
    }

    /// The node of organisation `org`.
    fn peer_of(&self, org: &OrgId) -> Option<PeerId> {
        let record = panacea_contracts::membership::organisation(&self.shared.storage.state(), org).ok()??;
        record.network_key.as_ref().and_then(peer_id_of)
    }

    /// Answers one chunk request (custodian side). Blocking: storage reads and sealing.
    pub fn serve(&self, from: PeerId, request: &DocRequest) -> DocResponse {
        let Some(me) = &self.org else { return DocResponse::Refused("this node holds no documents".into()) };
        let store = self.shared.storage.state();
        let (grant, record) = match panacea_contracts::document::grant_in_force(
            &store,
            &request.decision,
            &request.document,
            self.tip(),
            now(),
        ) {
            Ok(Ok(found)) => found,
            // The requester may have committed the decision before this node did.
            Ok(Err(panacea_contracts::document::GrantRefused::NoDecision)) => {
                return DocResponse::Unavailable("the custodian has not committed the decision yet".into());
            }
            Ok(Err(refused)) => return DocResponse::Refused(refused.to_string()),
            Err(e) => return DocResponse::Unavailable(e.to_string()),
        };
        if &record.custodian != me {
            return DocResponse::Refused("this node is not the custodian".into());
        }
        if self.peer_of(&grant.requester_org) != Some(from) {
            return DocResponse::Refused("not the requesting organisation's node".into());
        }
        let recipient = match panacea_contracts::identity::identity(&store, &grant.requester) {
            Ok(Some(identity)) => identity.key,
            Ok(None) => return DocResponse::Refused("no requesting identity".into()),
            Err(e) => return DocResponse::Unavailable(e.to_string()),
        };
        let stored = match self.store.document(&request.document) {
            Ok(Some(stored)) => stored,
            Ok(None) => return DocResponse::Refused("the custodian does not hold the document".into()),
            Err(e) => return DocResponse::Unavailable(e.to_string()),
        };
        if request.index >= stored.chunks {
            return DocResponse::Refused("no such chunk".into());
        }
        let sealed = self.store.outbox(&request.decision, &request.document, &recipient).and_then(|(key, envelope)| {
            let plain = self.store.read_chunk(&request.document, request.index)?;
            let context = ChunkContext::delivery(&request.decision, &request.document, stored.chunks);
            Ok((seal_chunk(&key, &context, request.index, &plain)?, envelope))
        });
        match sealed {
            Ok((sealed, envelope)) => {
                DocResponse::Chunk { bytes: stored.bytes, chunks: stored.chunks, envelope, sealed }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot serve a document chunk");
                DocResponse::Unavailable("the custodian cannot read the document".into())
            }
        }
    }

    /// Runs the worker until `shutdown`.
    pub async fn run(
        self,
        mut inbound: mpsc::Receiver<DocServe>,
        mut committed: broadcast::Receiver<Arc<crate::shared::CommittedEvents>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let serving = Arc::new(tokio::sync::Semaphore::new(crate::network::DOCS_IN_FLIGHT_MAX));
        let mut fetching: Option<tokio::task::JoinHandle<()>> = None;
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                Some(serve) = inbound.recv() => {
                    let worker = self.clone();
                    let Ok(permit) = serving.clone().try_acquire_owned() else {
                        let _ = serve.reply.send(DocResponse::Unavailable("busy".into()));
                        continue;
                    };
                    tokio::task::spawn_blocking(move || {
                        let answer = worker.serve(serve.from, &serve.request);
                        let _ = serve.reply.send(answer);
                        drop(permit);
                    });
                }
                event = committed.recv() => match event {
                    Ok(block) => self.on_committed(&block),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the sharing worker missed committed blocks; grants in them wait for a rescan");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => {
                    if fetching.as_ref().is_none_or(|f| f.is_finished()) {
                        let worker = self.clone();
                        fetching = Some(tokio::spawn(async move { worker.fetch_pending().await }));
                    }
                }
            }
        }
    }

    /// Starts deliveries for grants to this organisation; shreds erased documents.
    fn on_committed(&self, block: &crate::shared::CommittedEvents) {
        for event in &block.events {
            match event.kind {
                AuditKind::AccessDecision | AuditKind::BreakGlass if event.outcome == AuditOutcome::Success => {
                    if let Some(decision) = event.entity.decision
                        && let Err(e) = self.track(&decision)
                    {
                        tracing::error!(error = %e, "cannot record a delivery to fetch");
                    }
                }
                AuditKind::DocumentErased => {
                    if let Some(document) = event.entity.document {
                        match self.store.shred(&document) {
                            Ok(true) => tracing::info!(%document, "shredded an erased document"),
                            Ok(false) => {}
                            Err(e) => tracing::error!(error = %e, %document, "cannot shred an erased document"),
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Records the deliveries a committed grant to this organisation covers.
    fn track(&self, decision: &DecisionId) -> Result<(), String> {
        let Some(me) = &self.org else { return Ok(()) };
        let store = self.shared.storage.state();
        let Some(grant) = panacea_contracts::access::access_decision(&store, decision).map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        if &grant.requester_org != me {
            return Ok(());
        }
        for document in panacea_contracts::document::covered_documents(&store, &grant).map_err(|e| e.to_string())? {
            if self.store.inbox(decision, &document).map_err(|e| e.to_string())?.is_some() {
                continue;
            }
            let entry = InboxEntry {
                decision: *decision,
                document,
                custodian: grant.custodian.clone(),
                recipient: grant.requester,
                envelope: None,
                bytes: 0,
                chunks: 0,
                received: 0,
                state: InboxState::Fetching,
            };
            self.store.put_inbox(&entry).map_err(|e| e.to_string())?;
            tracing::info!(decision = %decision, document = %document, "delivery to fetch");
        }
        Ok(())
    }

    /// Advances every unfinished delivery.
    async fn fetch_pending(&self) {
        let entries = match self.store.inbox_entries(INBOX_SCAN_MAX) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the inbox");
                return;
            }
        };
        for entry in entries {
            let result = match entry.state {
                InboxState::Fetching => self.fetch(entry).await,
                InboxState::Received => self.confirm(&entry),
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "delivery not advanced; retrying later");
            }
        }
    }

    /// Fetches the rest of one delivery, chunk by chunk.
    async fn fetch(&self, mut entry: InboxEntry) -> Result<(), String> {
        let peer = self.peer_of(&entry.custodian).ok_or("the custodian has no node")?;
        loop {
            if entry.chunks > 0 && entry.received >= entry.chunks {
                entry.state = InboxState::Received;
                self.store.put_inbox(&entry).map_err(|e| e.to_string())?;
                tracing::info!(decision = %entry.decision, document = %entry.document, bytes = entry.bytes, "delivery received");
                return self.confirm(&entry);
            }
            let request = DocRequest { decision: entry.decision, document: entry.document, index: entry.received };
            let (reply, answer) = oneshot::channel();
            self.shared
                .net
                .try_send(NetCommand::FetchChunk { to: peer, request, reply })
                .map_err(|_| "network queue full")?;
            match answer.await.map_err(|_| "network stopped")?.ok_or("the custodian did not answer")? {
                DocResponse::Chunk { bytes, chunks, envelope, sealed } => {
                    let consistent = chunks > 0
                        && u64::from(chunks) == panacea_client_sdk::sharing::chunk_count(bytes)
                        && sealed.len() <= CHUNK_BYTES + CHUNK_TAG_BYTES
                        && (entry.chunks == 0 || (entry.chunks == chunks && entry.bytes == bytes))
                        && entry.envelope.as_ref().is_none_or(|e| *e == envelope);
                    if !consistent {
                        return Err("the custodian's answer is inconsistent".into());
                    }
                    entry.chunks = chunks;
                    entry.bytes = bytes;
                    entry.envelope = Some(envelope);
                    let index = entry.received;
                    entry.received += 1;
                    self.store.put_delivered_chunk(&entry, index, &sealed).map_err(|e| e.to_string())?;
                }
                DocResponse::Refused(reason) => {
                    tracing::warn!(decision = %entry.decision, document = %entry.document, %reason, "the custodian refused a delivery");
                    entry.state = InboxState::Refused(reason);
                    return self.store.put_inbox(&entry).map_err(|e| e.to_string());
                }
                DocResponse::Unavailable(reason) => return Err(reason),
            }
        }
    }

    /// Confirms a received delivery on chain, once.
    fn confirm(&self, entry: &InboxEntry) -> Result<(), String> {
        let store = self.shared.storage.state();
        if panacea_contracts::document::delivered(&store, &entry.decision, &entry.document)
            .map_err(|e| e.to_string())?
            .is_some()
        {
            let mut done = entry.clone();
            done.state = InboxState::Confirmed;
            return self.store.put_inbox(&done).map_err(|e| e.to_string());
        }
        let Some(signer) = &self.signer else {
            return Err("no sharing key: the delivery is not confirmed on chain".into());
        };
        let nonce = panacea_contracts::next_nonce(&store, &signer.public()).map_err(|e| e.to_string())?;
        let call = Call::Document(DocumentCall::ConfirmDelivery { decision: entry.decision, document: entry.document });
        let tx = Transaction { chain_id: self.shared.chain.chain_id().clone(), signer: signer.public(), nonce, call }
            .sign(signer);
        let bytes = tx.encode();
        match crate::api::admit(&self.shared, tx, bytes) {
            Ok(_) | Err(crate::mempool::AdmitError::Duplicate | crate::mempool::AdmitError::NonceTaken(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}
