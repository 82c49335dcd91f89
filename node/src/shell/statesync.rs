//! State sync in the shell: a node that has committed nothing but genesis and is far
//! behind asks its peers for snapshot offers, checks them against genesis
//! ([`crate::statesync::verify_offer`]), fetches the chosen snapshot's chunks from every
//! peer that offered it (a few in flight, round robin), takes each in with the contracts'
//! importer (which checks it against the attested roots) and stores it; once the last
//! chunk is in and the rebuilt roots equal the attested ones, the snapshot's block becomes
//! the committed tip and catch-up goes on from the next height.
//!
//! A chunk that does not check out is refused and its sender dropped; the import starts
//! over with the other peers (the tree restore cannot step back). With no peer left, or no
//! offer, the node replays the chain instead.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use panacea_contracts::state::snapshot::{AuditChunk, CHUNK_BYTES_MAX, Importer, StateChunk};
use panacea_primitives::{Height, codec};

use super::{SYNC_LAG, Shell, ShellError, load_tip};
use crate::network::{NetCommand, SyncRequest};
use crate::statesync::{Offer, Verified, verify_offer};

/// How long offers are awaited once asked.
const OFFER_WAIT: Duration = Duration::from_secs(3);
/// Most peers asked for an offer.
const OFFER_PEERS_MAX: usize = 8;
/// Chunk requests in flight.
const WINDOW: usize = 4;
/// How long a chunk request may stay unanswered before another peer is asked.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(20);
/// How long after finding no usable offer the node asks again (it replays meanwhile).
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Where state sync stands.
#[derive(Debug)]
pub(super) enum Phase {
    /// Not for this node (disabled, or it has committed blocks of its own).
    Off,
    /// Eligible; asks when far behind (not before `not_before`).
    Idle { not_before: Option<Instant> },
    /// Offers asked of `asked` at `since`.
    Asking { since: Instant, asked: BTreeSet<PeerId>, offers: Vec<(PeerId, Offer)> },
    /// Fetching and importing a snapshot.
    Fetching(Box<Fetch>),
}

/// The importer, in a thread of its own: the tree restore is not `Send`, and its work
/// (hashing, writing) is best kept off the async runtime's threads. The shell hands it one
/// chunk at a time and waits for the verdict.
struct ImportThread {
    jobs: std::sync::mpsc::SyncSender<Job>,
    answers: std::sync::mpsc::Receiver<Answer>,
}

enum Job {
    State(Vec<u8>),
    Audit(Vec<u8>),
    Finish,
}

enum Answer {
    /// The chunk checked out and is stored.
    Taken,
    /// The chunk does not check out.
    Refused(String),
    /// Storage failed: the node stops.
    Failed(String),
    /// The rest of the writes, or why the whole does not match.
    Finished(Result<panacea_contracts::state::WriteBatch, String>),
}

impl ImportThread {
    fn start(
        meta: panacea_contracts::state::Meta,
        storage: std::sync::Arc<crate::storage::Storage>,
    ) -> Result<ImportThread, String> {
        let (jobs, job_rx) = std::sync::mpsc::sync_channel::<Job>(1);
        let (answer_tx, answers) = std::sync::mpsc::sync_channel::<Answer>(1);
        std::thread::Builder::new()
            .name("snapshot-import".into())
            .spawn(move || {
                // Built here: the tree restore cannot move between threads.
                let mut importer = Importer::new(meta).map_err(|e| e.to_string());
                while let Ok(job) = job_rx.recv() {
                    let answer = match (&mut importer, job) {
                        (Err(e), _) => Answer::Failed(e.clone()),
                        (Ok(importer), Job::State(bytes)) => take(importer, &storage, |importer| {
                            let chunk = codec::decode::<StateChunk, CHUNK_BYTES_MAX>(&bytes)
                                .map_err(|e| format!("does not decode: {e}"))?;
                            importer.add_state_chunk(&chunk).map_err(|e| e.to_string())
                        }),
                        (Ok(importer), Job::Audit(bytes)) => take(importer, &storage, |importer| {
                            let chunk = codec::decode::<AuditChunk, CHUNK_BYTES_MAX>(&bytes)
                                .map_err(|e| format!("does not decode: {e}"))?;
                            importer.add_audit_chunk(&chunk).map_err(|e| e.to_string())
                        }),
                        (Ok(_), Job::Finish) => {
                            let Ok(importer) = std::mem::replace(&mut importer, Err("finished".into())) else {
                                return;
                            };
                            let rest = importer.finish_over(&storage.state()).map_err(|e| e.to_string());
                            let _ = answer_tx.send(Answer::Finished(rest));
                            return;
                        }
                    };
                    if answer_tx.send(answer).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| format!("cannot start the import thread: {e}"))?;
        Ok(ImportThread { jobs, answers })
    }

    fn run(&self, job: Job) -> Answer {
        if self.jobs.send(job).is_err() {
            return Answer::Failed("the import thread stopped".into());
        }
        self.answers.recv().unwrap_or_else(|_| Answer::Failed("the import thread stopped".into()))
    }
}

/// Adds one chunk and stores what it checked.
fn take(
    importer: &mut Importer,
    storage: &crate::storage::Storage,
    add: impl FnOnce(&mut Importer) -> Result<(), String>,
) -> Answer {
    if let Err(reason) = add(importer) {
        return Answer::Refused(reason);
    }
    let writes = match importer.drain() {
        Ok(writes) => writes,
        Err(e) => return Answer::Failed(e.to_string()),
    };
    match storage.import_writes(&writes) {
        Ok(()) => Answer::Taken,
        Err(e) => Answer::Failed(e.to_string()),
    }
}

/// A snapshot being fetched.
pub(super) struct Fetch {
    verified: Verified,
    importer: ImportThread,
    peers: Vec<PeerId>,
    turn: usize,
    next_request: u32,
    next_import: u32,
    arrived: BTreeMap<u32, (PeerId, Vec<u8>)>,
    in_flight: BTreeMap<u32, (PeerId, Instant)>,
    started: Instant,
    bytes: u64,
}

impl std::fmt::Debug for Fetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetch")
            .field("height", &self.verified.offer.height)
            .field("next_import", &self.next_import)
            .field("peers", &self.peers.len())
            .finish()
    }
}

impl Phase {
    /// The phase a node starts in.
    pub(super) fn initial(enabled: bool, tip: Height) -> Phase {
        if enabled && tip == Height::ZERO { Phase::Idle { not_before: None } } else { Phase::Off }
    }
}

impl Shell {
    /// True while state sync owns catch-up (asking for offers or fetching).
    pub(super) fn state_syncing(&self) -> bool {
        matches!(self.snapshot_sync, Phase::Asking { .. } | Phase::Fetching(_))
    }

    /// Asks peers for offers if this node may and should state-sync. Returns true if state
    /// sync owns catch-up now.
    pub(super) fn maybe_state_sync(&mut self) -> bool {
        match &self.snapshot_sync {
            Phase::Off => false,
            Phase::Asking { .. } | Phase::Fetching(_) => true,
            Phase::Idle { not_before } => {
                if self.tip.height != Height::ZERO {
                    self.snapshot_sync = Phase::Off;
                    return false;
                }
                let behind = self.best_seen.0 > self.tip.height.0 + SYNC_LAG || self.epoch_ahead;
                if !behind || not_before.is_some_and(|at| Instant::now() < at) {
                    return false;
                }
                let peers: BTreeSet<PeerId> = self.shared.peers().into_iter().take(OFFER_PEERS_MAX).collect();
                if peers.is_empty() {
                    return false;
                }
                tracing::info!(peers = peers.len(), best = %self.best_seen, "asking peers for a state snapshot");
                for peer in &peers {
                    self.send(NetCommand::Sync { to: *peer, request: SyncRequest::SnapshotOffer });
                }
                self.snapshot_sync = Phase::Asking { since: Instant::now(), asked: peers, offers: Vec::new() };
                true
            }
        }
    }

    /// A peer's offer (or its lack of one).
    pub(super) fn on_offer(&mut self, from: PeerId, offer: Option<Offer>) -> Result<(), ShellError> {
        let Phase::Asking { asked, offers, .. } = &mut self.snapshot_sync else { return Ok(()) };
        if !asked.remove(&from) {
            return Ok(());
        }
        if let Some(offer) = offer {
            offers.push((from, offer));
        }
        if asked.is_empty() { self.choose_offer() } else { Ok(()) }
    }

    /// A peer did not answer a state-sync request.
    pub(super) fn on_state_sync_failure(&mut self, from: PeerId) -> Result<(), ShellError> {
        match &mut self.snapshot_sync {
            Phase::Asking { asked, .. } => {
                let last = asked.remove(&from) && asked.is_empty();
                if last {
                    return self.choose_offer();
                }
            }
            Phase::Fetching(fetch) => {
                fetch.peers.retain(|p| *p != from);
                let lost: Vec<u32> =
                    fetch.in_flight.iter().filter(|(_, (peer, _))| *peer == from).map(|(i, _)| *i).collect();
                for index in lost {
                    fetch.in_flight.remove(&index);
                }
                if fetch.peers.is_empty() {
                    return self.abandon("every peer offering the snapshot failed");
                }
                self.request_chunks();
            }
            _ => {}
        }
        Ok(())
    }

    /// Called every second: ends the wait for offers, asks again for late chunks.
    pub(super) fn state_sync_tick(&mut self) -> Result<(), ShellError> {
        match &mut self.snapshot_sync {
            Phase::Asking { since, .. } if since.elapsed() >= OFFER_WAIT => self.choose_offer(),
            Phase::Fetching(fetch) => {
                let late: Vec<u32> = fetch
                    .in_flight
                    .iter()
                    .filter(|(_, (_, at))| at.elapsed() >= CHUNK_TIMEOUT)
                    .map(|(i, _)| *i)
                    .collect();
                for index in late {
                    if let Some((peer, _)) = fetch.in_flight.remove(&index) {
                        tracing::info!(%peer, index, "a snapshot chunk is late; asking another peer");
                        if fetch.peers.len() > 1 {
                            fetch.peers.retain(|p| *p != peer);
                        }
                    }
                }
                self.request_chunks();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Picks the highest snapshot that checks out and that peers agree on, and starts
    /// fetching it; without one, replays the chain and asks again later.
    fn choose_offer(&mut self) -> Result<(), ShellError> {
        let Phase::Asking { offers, .. } = std::mem::replace(&mut self.snapshot_sync, Phase::Off) else {
            return Ok(());
        };
        let genesis = &self.shared.chain.genesis;
        let mut verified: Vec<(PeerId, Verified)> = Vec::new();
        for (peer, offer) in offers {
            let height = offer.height;
            match verify_offer(genesis, offer) {
                Ok(v) if v.offer.height > self.tip.height => verified.push((peer, v)),
                Ok(_) => {}
                Err(reason) => tracing::warn!(%peer, %height, reason, "snapshot offer refused"),
            }
        }
        let Some(best) = verified.iter().map(|(_, v)| (v.offer.height, v.offer.meta)).max_by_key(|(h, _)| *h) else {
            tracing::info!("no peer offers a usable snapshot; replaying the chain");
            self.snapshot_sync = Phase::Idle { not_before: Some(Instant::now() + RETRY_AFTER) };
            // The replica may have moved on meanwhile without its commits being applied.
            return self.restart_replica();
        };
        let mut peers = Vec::new();
        let mut chosen = None;
        for (peer, v) in verified {
            if (v.offer.height, v.offer.meta) == best {
                peers.push(peer);
                chosen.get_or_insert(v);
            }
        }
        let Some(verified) = chosen else { return Ok(()) };
        self.start_fetch(verified, peers)
    }

    fn start_fetch(&mut self, verified: Verified, peers: Vec<PeerId>) -> Result<(), ShellError> {
        if self.tip.height != Height::ZERO {
            self.snapshot_sync = Phase::Off;
            return self.restart_replica();
        }
        let offer = &verified.offer;
        tracing::info!(
            height = %offer.height,
            chunks = offer.chunks(),
            audit_events = offer.meta.audit_count,
            peers = peers.len(),
            "state sync: fetching a snapshot"
        );
        self.shared.storage.begin_import()?;
        let importer = match ImportThread::start(offer.meta, self.shared.storage.clone()) {
            Ok(importer) => importer,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the import");
                self.snapshot_sync = Phase::Idle { not_before: Some(Instant::now() + RETRY_AFTER) };
                return self.abandon("cannot start the import");
            }
        };
        self.snapshot_sync = Phase::Fetching(Box::new(Fetch {
            verified,
            importer,
            peers,
            turn: 0,
            next_request: 0,
            next_import: 0,
            arrived: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            started: Instant::now(),
            bytes: 0,
        }));
        self.request_chunks();
        Ok(())
    }

    /// Keeps [`WINDOW`] chunk requests in flight, round robin over the peers; chunks
    /// whose request was lost are asked again first.
    fn request_chunks(&mut self) {
        let Phase::Fetching(fetch) = &mut self.snapshot_sync else { return };
        let height = fetch.verified.offer.height;
        let total = fetch.verified.offer.chunks();
        let mut requests = Vec::new();
        let mut index = fetch.next_import;
        while fetch.in_flight.len() + fetch.arrived.len() < WINDOW && index < total && !fetch.peers.is_empty() {
            if !fetch.in_flight.contains_key(&index) && !fetch.arrived.contains_key(&index) {
                let peer = fetch.peers[fetch.turn % fetch.peers.len()];
                fetch.turn = fetch.turn.wrapping_add(1);
                fetch.in_flight.insert(index, (peer, Instant::now()));
                requests.push((peer, index));
            }
            index += 1;
        }
        fetch.next_request = fetch.next_request.max(index);
        for (peer, index) in requests {
            self.send(NetCommand::Sync { to: peer, request: SyncRequest::SnapshotChunk { height, index } });
        }
    }

    /// A chunk arrived: takes in every chunk now in order, then asks for more.
    pub(super) fn on_chunk(
        &mut self,
        from: PeerId,
        height: Height,
        index: u32,
        bytes: Option<Vec<u8>>,
    ) -> Result<(), ShellError> {
        let Phase::Fetching(fetch) = &mut self.snapshot_sync else { return Ok(()) };
        if height != fetch.verified.offer.height || fetch.in_flight.get(&index).is_none_or(|(p, _)| *p != from) {
            return Ok(());
        }
        fetch.in_flight.remove(&index);
        let Some(bytes) = bytes else {
            // The peer no longer holds it (pruned): ask the others.
            fetch.peers.retain(|p| *p != from);
            if fetch.peers.is_empty() {
                return self.abandon("the peers no longer hold the snapshot");
            }
            self.request_chunks();
            return Ok(());
        };
        fetch.arrived.insert(index, (from, bytes));
        loop {
            let Phase::Fetching(fetch) = &mut self.snapshot_sync else { return Ok(()) };
            let Some((sender, bytes)) = fetch.arrived.remove(&fetch.next_import) else { break };
            fetch.bytes += bytes.len() as u64;
            let index = fetch.next_import;
            let job = if index < fetch.verified.offer.state_chunks { Job::State(bytes) } else { Job::Audit(bytes) };
            match fetch.importer.run(job) {
                Answer::Taken => {}
                Answer::Refused(reason) => {
                    self.shared.metrics.state_sync_refused.inc();
                    tracing::warn!(peer = %sender, index, reason, "snapshot chunk refused; starting over without that peer");
                    return self.restart_without(sender);
                }
                Answer::Failed(e) | Answer::Finished(Err(e)) => {
                    return Err(ShellError::Fatal(format!("snapshot import: {e}")));
                }
                Answer::Finished(Ok(_)) => return Err(ShellError::Fatal("snapshot import: finished early".into())),
            }
            self.shared.metrics.state_sync_chunks.inc();
            fetch.next_import += 1;
            if fetch.next_import == fetch.verified.offer.chunks() {
                return self.finish_import();
            }
        }
        self.request_chunks();
        Ok(())
    }

    /// A chunk was refused: the import starts over (the restore cannot step back),
    /// without the peer that sent it.
    fn restart_without(&mut self, peer: PeerId) -> Result<(), ShellError> {
        let Phase::Fetching(fetch) = std::mem::replace(&mut self.snapshot_sync, Phase::Off) else { return Ok(()) };
        let peers: Vec<PeerId> = fetch.peers.into_iter().filter(|p| *p != peer).collect();
        if peers.is_empty() {
            return self.abandon("no peer left that sends the snapshot correctly");
        }
        self.start_fetch(fetch.verified, peers)
    }

    /// Gives up on this snapshot: back to genesis, replaying meanwhile, asking later.
    fn abandon(&mut self, reason: &str) -> Result<(), ShellError> {
        tracing::warn!(reason, "state sync abandoned; the node replays the chain");
        self.snapshot_sync = Phase::Idle { not_before: Some(Instant::now() + RETRY_AFTER) };
        let storage = self.shared.storage.clone();
        storage.wipe_chain()?;
        super::write_genesis(&self.shared)?;
        self.restart_replica()
    }

    /// Every chunk is in: checks the rebuilt roots, makes the snapshot's block the
    /// committed tip, and restarts consensus in the snapshot's epoch.
    fn finish_import(&mut self) -> Result<(), ShellError> {
        let Phase::Fetching(fetch) = std::mem::replace(&mut self.snapshot_sync, Phase::Off) else { return Ok(()) };
        let Fetch { verified, importer, started, bytes, .. } = *fetch;
        let storage = self.shared.storage.clone();
        let rest = match importer.run(Job::Finish) {
            Answer::Finished(Ok(rest)) => rest,
            Answer::Finished(Err(e)) => {
                self.shared.metrics.state_sync_refused.inc();
                return self.abandon(&format!("the imported state does not match the attested roots: {e}"));
            }
            Answer::Failed(e) => return Err(ShellError::Fatal(format!("snapshot import: {e}"))),
            Answer::Taken | Answer::Refused(_) => {
                return Err(ShellError::Fatal("snapshot import: no answer to finishing".into()));
            }
        };
        let offer = &verified.offer;
        storage.finish_import(&offer.block, offer.meta, &rest, &verified.epoch_changes)?;
        let height = offer.height;
        tracing::info!(
            %height,
            chunks = offer.chunks(),
            mib = bytes / (1024 * 1024),
            ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "state synced from a snapshot; catching up from the next block"
        );
        self.shared.metrics.state_synced_from.set(i64::try_from(height.0).unwrap_or(i64::MAX));
        self.shared.metrics.height.set(i64::try_from(height.0).unwrap_or(i64::MAX));
        let (_, tip) = load_tip(&self.shared)?;
        self.tip = tip;
        self.epoch = super::EpochView::load(&storage, &self.shared.chain)?;
        self.config = super::config_for(&self.epoch, &self.settings);
        let safety = super::fresh_safety(&self.epoch);
        storage.save_safety(&safety)?;
        self.bodies.clear();
        self.epoch_ahead = false;
        self.syncing_since = None;
        self.publish_epoch();
        self.restart_replica_with(safety)?;
        self.maybe_sync(None);
        Ok(())
    }
}
