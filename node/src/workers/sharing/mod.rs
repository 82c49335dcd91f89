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
//! confirms the delivery on chain (signed by the node's sharing identity, a service
//! identity of its organisation, `keys/sharing_key.json`), which puts it in
//! the patient's accounting of disclosures. It also shreds every copy it holds when a
//! document's erasure commits.
//!
//! It handles committed blocks in height order and keeps a cursor in the document store,
//! so grants committed while it was down, or while it lagged, are picked up from storage.
//!
//! Nothing here holds more than a window of chunks of a document in memory at a time.

pub mod docstore;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesOrdered;
use libp2p::PeerId;
use panacea_client_sdk::sharing::{CHUNK_BYTES, CHUNK_TAG_BYTES, ChunkContext, DOCUMENT_CHUNKS_MAX, seal_chunk};
use panacea_contracts::audit::{AuditKind, AuditOutcome};
use panacea_contracts::document::DocumentCall;
use panacea_contracts::identity::{IdentityCall, IdentityKind, IdentityStatus};
use panacea_contracts::ids::{DecisionId, OrgId};
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{Height, Keypair, Timestamp};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::chain::peer_id_of;
use crate::config::SharingConfig;
use crate::network::{DocRequest, DocResponse, DocServe, NetCommand};
use crate::shared::Shared;
use docstore::{DocStore, InboxEntry, InboxState};

/// Most deliveries advanced in one pass of the pending scan.
const PENDING_SCAN_MAX: usize = 1_024;
/// Most blocks read from storage in one catch-up step.
const CATCH_UP_BLOCKS: u64 = 256;
/// Longest the serving pace may hold a chunk back; beyond it the requester is told the
/// custodian is busy and retries later (well inside the protocol's 30 s request timeout).
const PACE_WAIT_MAX: Duration = Duration::from_secs(10);
/// The custodian's answer while it has not committed the decision the requester has.
const NOT_COMMITTED_YET: &str = "the custodian has not committed the decision yet";
/// How long the custodian waits for its own commit of a decision a requester already has
/// before answering "not yet" (the requester usually commits a moment earlier).
const COMMIT_WAIT_MAX: Duration = Duration::from_secs(2);
/// How often unfinished deliveries are retried when nothing else wakes the fetcher.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// The worker's state, shared by its tasks.
#[derive(Clone)]
pub struct SharingWorker {
    shared: Arc<Shared>,
    store: Arc<DocStore>,
    org: Option<OrgId>,
    /// The node's sharing identity: it confirms deliveries on chain.
    service: Keypair,
    /// The organisation's admin key, on dev and test homes only: it registers the
    /// sharing identity when the operator has not.
    admin: Option<Keypair>,
    /// Confirmations sent and not yet committed: the next nonce, and the last sent.
    confirming: Arc<Mutex<Confirming>>,
    config: SharingConfig,
    /// Wakes the fetcher when a delivery is tracked.
    kick: Arc<tokio::sync::Notify>,
    pacer: Arc<Mutex<Pacer>>,
    /// One permit per upload in progress (`sharing.uploads_max`).
    uploads: Arc<tokio::sync::Semaphore>,
}

/// The sharing identity's transactions in flight.
#[derive(Debug, Default)]
struct Confirming {
    /// The last confirmation sent: its id and nonce.
    last: Option<(panacea_primitives::Hash, u64)>,
    /// When the admin key last asked to register the sharing identity.
    registration_sent: Option<std::time::Instant>,
    /// When the operator was last told to register the sharing identity.
    hint_logged: Option<std::time::Instant>,
    /// The confirmation sent for each delivery awaiting its commit, so that a pass of the
    /// fetcher does not send another while it waits in the pool.
    sent: std::collections::BTreeMap<(DecisionId, panacea_contracts::ids::DocumentHash), panacea_primitives::Hash>,
}

/// Most confirmations remembered as sent (beyond it the map starts over: at worst a
/// delivery is confirmed twice, and the contract refuses the second).
const SENT_MAX: usize = 10_000;
/// How often the operator is reminded to register the sharing identity.
const HINT_INTERVAL: Duration = Duration::from_secs(600);

/// How long a registration of the sharing identity may take before it is sent again.
const REGISTRATION_RETRY: Duration = Duration::from_secs(30);

/// Paces the bytes served to other nodes: each chunk reserves its share of the cap, in
/// order, so the served rate stays at or under the cap whatever the number of requesters.
#[derive(Debug)]
struct Pacer {
    bytes_per_second: u64,
    next: tokio::time::Instant,
}

impl Pacer {
    /// When a chunk of `bytes` may leave; `None` if that is more than [`PACE_WAIT_MAX`]
    /// away (nothing is reserved then).
    fn reserve(&mut self, bytes: usize) -> Option<tokio::time::Instant> {
        if self.bytes_per_second == 0 {
            return Some(tokio::time::Instant::now());
        }
        let now = tokio::time::Instant::now();
        let start = self.next.max(now);
        if start.duration_since(now) > PACE_WAIT_MAX {
            return None;
        }
        self.next = start + Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
        Some(start)
    }
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
    pub fn new(
        shared: Arc<Shared>,
        store: Arc<DocStore>,
        service: Keypair,
        admin: Option<Keypair>,
        config: SharingConfig,
    ) -> SharingWorker {
        let peer = shared.peer_id;
        let org = panacea_contracts::membership::organisations(&shared.storage.state()).ok().and_then(|orgs| {
            orgs.into_iter().find(|o| o.network_key.as_ref().and_then(peer_id_of) == Some(peer)).map(|o| o.id)
        });
        if org.is_none() {
            tracing::warn!("this node's network key belongs to no organisation; it will not share documents");
        }
        let pacer = Pacer { bytes_per_second: config.serve_bytes_per_second, next: tokio::time::Instant::now() };
        let uploads = Arc::new(tokio::sync::Semaphore::new(config.uploads_max));
        SharingWorker {
            shared,
            store,
            org,
            service,
            admin,
            confirming: Arc::new(Mutex::new(Confirming::default())),
            config,
            kick: Arc::new(tokio::sync::Notify::new()),
            pacer: Arc::new(Mutex::new(pacer)),
            uploads,
        }
    }

    /// The document store.
    pub fn store(&self) -> &Arc<DocStore> {
        &self.store
    }

    /// The worker's options.
    pub fn config(&self) -> &SharingConfig {
        &self.config
    }

    /// A permit to run one upload, if fewer than `sharing.uploads_max` are in progress.
    pub fn upload_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.uploads.clone().try_acquire_owned().ok()
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
                return DocResponse::Unavailable(NOT_COMMITTED_YET.into());
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
        let mut tick = tokio::time::interval(RETRY_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let serving = Arc::new(tokio::sync::Semaphore::new(crate::network::DOCS_IN_FLIGHT_MAX));
        let fetcher = self.clone();
        let mut fetch_shutdown = shutdown.clone();
        let fetching = tokio::spawn(async move {
            tokio::select! {
                _ = fetch_shutdown.wait_for(|stop| *stop) => {}
                () = fetcher.fetch_loop() => {}
            }
        });
        // Blocks handled so far; until the scan of storage reaches the tip (at start, and
        // after lagging behind the broadcast), broadcast blocks are left to the scan.
        let mut cursor = match self.store.cursor() {
            Ok(cursor) => cursor.unwrap_or(0),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the sharing cursor; rescanning from genesis");
                0
            }
        };
        let mut behind = true;
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(serve) = inbound.recv() => {
                    let Ok(permit) = serving.clone().try_acquire_owned() else {
                        let _ = serve.reply.send(DocResponse::Unavailable("busy".into()));
                        continue;
                    };
                    let worker = self.clone();
                    tokio::spawn(async move {
                        worker.answer(serve).await;
                        drop(permit);
                    });
                }
                event = committed.recv() => match event {
                    Ok(block) if !behind && block.height.0 > cursor => {
                        self.on_committed(&block.events);
                        cursor = block.height.0;
                        if let Err(e) = self.store.set_cursor(cursor) {
                            tracing::error!(error = %e, "cannot record the sharing cursor");
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "the sharing worker lagged behind commits; catching up from storage");
                        behind = true;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                () = std::future::ready(()), if behind => {
                    match self.catch_up(cursor) {
                        Ok((reached, done)) => {
                            cursor = reached;
                            behind = !done;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot catch up with committed blocks; retrying");
                            tick.tick().await;
                        }
                    }
                }
                _ = tick.tick() => {}
            }
        }
        let _ = fetching.await;
    }

    /// Answers one chunk request (custodian side), paced by the serving cap.
    async fn answer(&self, serve: DocServe) {
        let waited = tokio::time::Instant::now();
        let answer = loop {
            let worker = self.clone();
            let (from, request) = (serve.from, serve.request.clone());
            let answer = match tokio::task::spawn_blocking(move || worker.serve(from, &request)).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::error!(error = %e, "serving a chunk failed");
                    DocResponse::Unavailable("the custodian failed".into())
                }
            };
            // The requester committed the decision first: wait (bounded) for our commit.
            let behind = matches!(&answer, DocResponse::Unavailable(why) if why == NOT_COMMITTED_YET);
            if !behind || waited.elapsed() >= COMMIT_WAIT_MAX {
                break answer;
            }
            let tip = self.tip();
            while self.tip() == tip && waited.elapsed() < COMMIT_WAIT_MAX {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let answer = match &answer {
            DocResponse::Chunk { sealed, .. } => {
                let at = self.pacer.lock().map(|mut p| p.reserve(sealed.len())).unwrap_or(None);
                match at {
                    Some(at) => {
                        tokio::time::sleep_until(at).await;
                        answer
                    }
                    None => DocResponse::Unavailable("busy: the serving cap is reached".into()),
                }
            }
            _ => answer,
        };
        let _ = serve.reply.send(answer);
    }

    /// Handles the events of committed blocks after `cursor` from storage, a bounded
    /// number of blocks at a time. Returns the new cursor and whether it is the tip.
    fn catch_up(&self, cursor: u64) -> Result<(u64, bool), String> {
        let storage = &self.shared.storage;
        let tip = storage.committed_height().map_err(|e| e.to_string())?.map_or(0, |h| h.0);
        // A node that imported a snapshot holds no blocks below it (nor grants to hand out:
        // its organisation joined after them).
        let cursor = cursor.max(storage.history_from().map_err(|e| e.to_string())?.0.saturating_sub(1));
        let last = tip.min(cursor.saturating_add(CATCH_UP_BLOCKS));
        for height in cursor + 1..=last {
            let block =
                storage.block(Height(height)).map_err(|e| e.to_string())?.ok_or("a committed block is missing")?;
            let body = crate::payload::BlockBody::decode::<{ 64 * 1024 * 1024 }>(&block.payload, usize::MAX)
                .map_err(|e| e.to_string())?;
            let mut events = Vec::new();
            for tx in &body.transactions {
                if let Some((_, receipt)) = storage.receipt(&tx.id()).map_err(|e| e.to_string())?
                    && let panacea_contracts::Outcome::Ok { events: logged } = receipt.outcome
                {
                    events.extend(logged);
                }
            }
            self.on_committed(&events);
        }
        if last > cursor {
            self.store.set_cursor(last).map_err(|e| e.to_string())?;
        }
        Ok((last, last == tip))
    }

    /// Starts deliveries for grants to this organisation; shreds erased documents.
    fn on_committed(&self, events: &[panacea_contracts::audit::AuditEvent]) {
        for event in events {
            match event.kind {
                AuditKind::AccessDecision | AuditKind::BreakGlass if event.outcome == AuditOutcome::Success => {
                    if let Some(decision) = event.entity.decision {
                        match self.track(&decision) {
                            Ok(true) => self.kick.notify_one(),
                            Ok(false) => {}
                            Err(e) => tracing::error!(error = %e, "cannot record a delivery to fetch"),
                        }
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

    /// Records the deliveries a committed grant to this organisation covers; returns
    /// whether there is any new one.
    fn track(&self, decision: &DecisionId) -> Result<bool, String> {
        let Some(me) = &self.org else { return Ok(false) };
        let store = self.shared.storage.state();
        let Some(grant) = panacea_contracts::access::access_decision(&store, decision).map_err(|e| e.to_string())?
        else {
            return Ok(false);
        };
        if &grant.requester_org != me {
            return Ok(false);
        }
        let mut new = false;
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
            new = true;
        }
        Ok(new)
    }

    /// Advances unfinished deliveries whenever one is tracked, and retries the rest.
    async fn fetch_loop(&self) {
        loop {
            self.fetch_pending().await;
            // A kick during the pass is kept by `Notify` and wakes the next wait at once.
            let _ = tokio::time::timeout(RETRY_INTERVAL, self.kick.notified()).await;
        }
    }

    /// Advances every unfinished delivery.
    async fn fetch_pending(&self) {
        let entries = match self.store.pending_entries(PENDING_SCAN_MAX) {
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

    /// Asks the custodian's node for one chunk.
    async fn request_chunk(&self, peer: PeerId, request: DocRequest) -> Result<DocResponse, String> {
        let (reply, answer) = oneshot::channel();
        self.shared
            .net
            .try_send(NetCommand::FetchChunk { to: peer, request, reply })
            .map_err(|_| "network queue full")?;
        Ok(answer.await.map_err(|_| "network stopped")?.ok_or("the custodian did not answer")?)
    }

    /// Fetches the rest of one delivery: up to `fetch_window` chunk requests in flight,
    /// each answer stored in order (with the progress, durably) as it comes.
    async fn fetch(&self, mut entry: InboxEntry) -> Result<(), String> {
        let peer = self.peer_of(&entry.custodian).ok_or("the custodian has no node")?;
        let mut in_flight = FuturesOrdered::new();
        // The next chunk to ask for; the count is known from the first answer.
        let mut next = entry.received;
        loop {
            if entry.chunks > 0 && entry.received >= entry.chunks {
                entry.state = InboxState::Received;
                self.store.put_inbox(&entry).map_err(|e| e.to_string())?;
                tracing::info!(decision = %entry.decision, document = %entry.document, bytes = entry.bytes, "delivery received");
                return self.confirm(&entry);
            }
            // Until the count is known, one request at a time.
            let window = if entry.chunks == 0 { 1 } else { self.config.fetch_window };
            while in_flight.len() < window && ((entry.chunks == 0 && next == entry.received) || next < entry.chunks) {
                let request = DocRequest { decision: entry.decision, document: entry.document, index: next };
                let worker = self.clone();
                in_flight.push_back(async move { worker.request_chunk(peer, request).await });
                next += 1;
            }
            let Some(answer) = in_flight.next().await else { return Err("nothing to fetch".into()) };
            match answer? {
                DocResponse::Chunk { bytes, chunks, envelope, sealed } => {
                    match check_answer(&entry, bytes, chunks, &envelope, sealed.len()) {
                        Ok(()) => {}
                        // No answer of this custodian about this document can be taken.
                        Err(e @ BadAnswer::TooLarge { .. }) => {
                            tracing::warn!(decision = %entry.decision, document = %entry.document, error = %e, "a custodian's answer is refused");
                            entry.state = InboxState::Refused(e.to_string());
                            return self.store.put_inbox(&entry).map_err(|e| e.to_string());
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                    entry.chunks = chunks;
                    entry.bytes = bytes;
                    entry.envelope = Some(envelope);
                    let index = entry.received;
                    entry.received += 1;
                    // A synced write: off the async threads.
                    let (store, progress) = (self.store.clone(), entry.clone());
                    tokio::task::spawn_blocking(move || store.put_delivered_chunk(&progress, index, &sealed))
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
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
            if let Ok(mut confirming) = self.confirming.lock() {
                confirming.sent.remove(&(entry.decision, entry.document));
            }
            return self.store.put_inbox(&done).map_err(|e| e.to_string());
        }
        self.ensure_registered(&store)?;
        let signer = &self.service;
        let call = Call::Document(DocumentCall::ConfirmDelivery { decision: entry.decision, document: entry.document });
        let mut confirming = self.confirming.lock().map_err(|_| "the confirmation state is poisoned")?;
        let delivery = (entry.decision, entry.document);
        if let Some(sent) = confirming.sent.get(&delivery)
            && self.shared.mempool.lock().map(|pool| pool.contains(sent)).unwrap_or(false)
        {
            return Ok(());
        }
        let committed = panacea_contracts::next_nonce(&store, &signer.public()).map_err(|e| e.to_string())?;
        // Consecutive nonces while earlier confirmations wait in the pool; back to the
        // committed nonce if the last one left the pool without committing.
        let nonce = match confirming.last {
            Some((id, last)) if last >= committed => {
                let pooled = self.shared.mempool.lock().map(|pool| pool.contains(&id)).unwrap_or(false);
                if pooled { last + 1 } else { committed }
            }
            _ => committed,
        };
        let tx = Transaction { chain_id: self.shared.chain.chain_id().clone(), signer: signer.public(), nonce, call }
            .sign(signer);
        let id = tx.id();
        let bytes = tx.encode();
        match crate::admission::admit_own(&self.shared, tx, bytes) {
            Ok(_) => {
                confirming.last = Some((id, nonce));
                if confirming.sent.len() >= SENT_MAX {
                    confirming.sent.clear();
                }
                confirming.sent.insert(delivery, id);
                Ok(())
            }
            Err(crate::mempool::AdmitError::Duplicate | crate::mempool::AdmitError::NonceTaken(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Checks that the sharing key is an active identity of this organisation; on a dev or
    /// test home, registers it with the admin key (the confirmation then waits for it).
    fn ensure_registered(&self, store: &crate::storage::StateStore<'_>) -> Result<(), String> {
        let me = self.org.as_ref().ok_or("this node acts for no organisation")?;
        let key = self.service.public();
        let id = panacea_contracts::identity::Identity::id_for(me, &key);
        match panacea_contracts::identity::identity(store, &id).map_err(|e| e.to_string())? {
            Some(identity)
                if identity.key == key && identity.status_at(self.tip().next()) == IdentityStatus::Active =>
            {
                return Ok(());
            }
            Some(_) => return Err(format!("the sharing identity {id} is suspended, revoked or has another key")),
            None => {}
        }
        let Some(admin) = &self.admin else {
            if let Ok(mut confirming) = self.confirming.lock()
                && confirming.hint_logged.is_none_or(|at| at.elapsed() >= HINT_INTERVAL)
            {
                confirming.hint_logged = Some(std::time::Instant::now());
                tracing::warn!(
                    sharing_key = %hex::encode(key.to_bytes()),
                    "deliveries are not confirmed on chain until this node's sharing key is registered: \
                     panacea identity register-service --public-key <sharing_key> (docs/sharing.md)"
                );
            }
            return Err(format!(
                "the sharing key {} is not a registered service identity of {me}: register it with \
                 `panacea identity register-service --public-key {}` (docs/sharing.md)",
                hex::encode(key.to_bytes()),
                hex::encode(key.to_bytes())
            ));
        };
        let mut confirming = self.confirming.lock().map_err(|_| "the confirmation state is poisoned")?;
        if confirming.registration_sent.is_some_and(|at| at.elapsed() < REGISTRATION_RETRY) {
            return Err("waiting for the sharing identity's registration".into());
        }
        let nonce = panacea_contracts::next_nonce(store, &admin.public()).map_err(|e| e.to_string())?;
        let call = Call::Identity(IdentityCall::Register {
            key,
            kind: IdentityKind::Service { name: "sharing worker".into() },
        });
        let tx = Transaction { chain_id: self.shared.chain.chain_id().clone(), signer: admin.public(), nonce, call }
            .sign(admin);
        let bytes = tx.encode();
        crate::admission::admit_own(&self.shared, tx, bytes).map_err(|e| e.to_string())?;
        confirming.registration_sent = Some(std::time::Instant::now());
        tracing::info!(identity = %id, "registering the sharing identity with the admin key");
        Err("registering the sharing identity".into())
    }
}

/// Why the requester refuses a custodian's answer to a chunk request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadAnswer {
    /// The answer contradicts itself or what the custodian said before.
    #[error("the custodian's answer is inconsistent")]
    Inconsistent,
    /// The custodian claims more than a document may hold.
    #[error("the custodian claims {chunks} chunks ({bytes} bytes); a document holds at most {chunks_max} chunks")]
    TooLarge {
        /// The chunks claimed.
        chunks: u32,
        /// The bytes claimed.
        bytes: u64,
        /// The limit.
        chunks_max: u32,
    },
}

/// Checks a custodian's answer with `chunks` chunks of `bytes` bytes in all, the
/// `envelope` and a sealed chunk of `sealed_bytes` (the next one, `entry.received`),
/// against the document limit and the delivery so far, before anything of it is stored:
/// a custodian cannot make the requester fetch or keep more than a document may hold.
fn check_answer(
    entry: &InboxEntry,
    bytes: u64,
    chunks: u32,
    envelope: &panacea_client_sdk::sharing::Envelope,
    sealed_bytes: usize,
) -> Result<(), BadAnswer> {
    if chunks > DOCUMENT_CHUNKS_MAX {
        return Err(BadAnswer::TooLarge { chunks, bytes, chunks_max: DOCUMENT_CHUNKS_MAX });
    }
    // Every chunk but the last is full; the last holds the rest.
    let before = u64::from(entry.received).saturating_mul(CHUNK_BYTES as u64);
    let expected = bytes.saturating_sub(before).min(CHUNK_BYTES as u64) + CHUNK_TAG_BYTES as u64;
    let consistent = chunks > 0
        && u64::from(chunks) == panacea_client_sdk::sharing::chunk_count(bytes)
        && entry.received < chunks
        && sealed_bytes as u64 == expected
        && (entry.chunks == 0 || (entry.chunks == chunks && entry.bytes == bytes))
        && entry.envelope.as_ref().is_none_or(|e| e == envelope);
    if !consistent {
        return Err(BadAnswer::Inconsistent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use panacea_client_sdk::sharing::Envelope;
    use panacea_contracts::ids::{DocumentHash, IdentityId};
    use panacea_primitives::Hash;

    use super::*;

    fn fresh() -> InboxEntry {
        InboxEntry {
            decision: DecisionId(Hash([1; 32])),
            document: DocumentHash(Hash([2; 32])),
            custodian: OrgId::new("hospital-0").unwrap(),
            recipient: IdentityId(Hash([3; 32])),
            envelope: None,
            bytes: 0,
            chunks: 0,
            received: 0,
            state: InboxState::Fetching,
        }
    }

    /// A hostile custodian claiming more chunks than a document may hold is refused on its
    /// first answer, before the requester fetches or stores anything of it.
    #[test]
    fn a_claim_beyond_the_document_limit_is_refused_at_once() {
        let envelope = Envelope { enc: [4; 32], sealed: vec![5; 80] };
        let full = CHUNK_BYTES + CHUNK_TAG_BYTES;
        for chunks in [DOCUMENT_CHUNKS_MAX + 1, u32::MAX] {
            let bytes = u64::from(chunks) * CHUNK_BYTES as u64;
            let refused = check_answer(&fresh(), bytes, chunks, &envelope, full);
            assert!(matches!(refused, Err(BadAnswer::TooLarge { .. })), "{chunks} chunks: {refused:?}");
        }
        let most = u64::from(DOCUMENT_CHUNKS_MAX) * CHUNK_BYTES as u64;
        assert_eq!(check_answer(&fresh(), most, DOCUMENT_CHUNKS_MAX, &envelope, full), Ok(()));
        // A sealed chunk has the size its place in a document of that length gives it.
        assert_eq!(check_answer(&fresh(), 10, 1, &envelope, 10 + CHUNK_TAG_BYTES), Ok(()));
        assert_eq!(check_answer(&fresh(), 10, 1, &envelope, full), Err(BadAnswer::Inconsistent));
        assert_eq!(check_answer(&fresh(), 0, 1, &envelope, CHUNK_TAG_BYTES), Ok(()), "an empty document");
    }
}
