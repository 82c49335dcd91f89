//! The shell around the consensus core: it feeds the replica its inputs and executes its
//! outputs, in order, against storage, the pool, the network and a clock.
//!
//! - `PersistSafety` and `PersistBlock` are synced writes that return before the next
//!   output (the vote they protect) is handed to the network.
//! - `BuildPayload` takes a batch from the pool; a leader with nothing to order waits up
//!   to `empty_block_interval` before proposing an empty block, unless an uncommitted
//!   ancestor carries transactions (then it proposes at once, so they commit), or it
//!   has just committed transactions (then the proposal's certificate tells the other
//!   validators at once, rather than an empty-block interval later).
//! - Every payload attests the state root of the proposer's committed tip (its
//!   `BlockMeta`); `CheckPayload` decodes the body, checks its time, and checks that
//!   root against this node's root at that height (waiting for its own commit of that
//!   height when it lags), so a certified block certifies a state root that light
//!   clients can check proofs against. `Commit` executes the blocks
//!   through the contracts and writes each in one synced batch; only then are waiting
//!   clients told.
//! - Catch-up: a node that sees peers far ahead asks one for committed blocks, checks
//!   that they chain from its tip and that a commit certificate signed by the validator
//!   set makes the last one final, executes them, and restarts its replica on the new tip.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use panacea_consensus::{
    Block, BlockRef, CommitCertificate, CommittedTip, Config as ConsensusConfig, Input, Message, Output, QuorumCert,
    Replica, Role, SafetyState, StartError,
};
use panacea_contracts::state::StateError;
use panacea_contracts::{BlockContext, SignedTransaction, execute_block_verified, next_nonce};
use panacea_primitives::{Hash, Height, PublicKey, Round, Timestamp};
use tokio::sync::{mpsc, watch};

use crate::chain::member_peers;
use crate::network::{NetCommand, NetEvent, SyncRequest, SyncResponse};
use crate::payload::BlockBody;
use crate::shared::{NodeStatus, Shared};
use crate::storage::{BlockCommit, StorageError};

/// Largest payload decoded (consensus's own payload limit).
const PAYLOAD_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Blocks behind the best height seen before catch-up starts (the consensus core fetches
/// smaller gaps itself).
const SYNC_LAG: u64 = 8;

/// A clock, injected so that tests can run the shell on their own time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Timestamp(millis)
    }
}

/// The system clock's time: what the API and the workers read (the consensus shell takes
/// its clock injected, for tests and the simulator).
pub fn now() -> Timestamp {
    SystemClock.now()
}

/// The node cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Contract state could not be read.
    #[error("contract state: {0}")]
    State(#[from] StateError),
    /// The replica cannot start.
    #[error("consensus cannot start: {0}")]
    Start(#[from] StartError),
    /// The data folder does not match the genesis.
    #[error("{0}")]
    WrongChain(String),
    /// Something that must never happen did (the fault assumption is broken or the
    /// database is corrupt).
    #[error("fatal: {0}")]
    Fatal(String),
}

/// How the shell is tuned.
#[derive(Debug, Clone)]
pub struct ShellSettings {
    /// Most transactions in a built block.
    pub block_transactions_max: usize,
    /// Most payload bytes in a built block.
    pub block_bytes_max: usize,
    /// How long a leader with nothing to order waits.
    pub empty_block_interval: Duration,
    /// First round timeout.
    pub round_timeout_ms: u64,
    /// Ceiling of the round timeout.
    pub round_timeout_max_ms: u64,
}

/// A decoded body of an uncommitted block.
#[derive(Debug, Clone)]
struct PendingBody {
    height: Height,
    body: Arc<BlockBody>,
    ids: Arc<Vec<Hash>>,
}

/// The answer to a payload check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Valid or not.
    Done(bool),
    /// The block attests the state of a height this node has not committed yet; the
    /// answer waits until it has.
    AfterCommitOf(Height),
}

/// The committed tip as the shell tracks it.
#[derive(Debug, Clone, Copy)]
struct Tip {
    height: Height,
    id: Hash,
    time: Timestamp,
    state_root: Hash,
}

/// A payload being built.
#[derive(Debug, Clone, Copy)]
struct Build {
    round: Round,
    parent: Hash,
    since: Instant,
}

/// The shell.
#[derive(Debug)]
pub struct Shell {
    shared: Arc<Shared>,
    replica: Replica,
    /// This node's validator key, if it has one (it votes in the epochs whose set holds it).
    validator_key: Option<panacea_primitives::Keypair>,
    config: ConsensusConfig,
    /// The current epoch's validators.
    epoch: EpochView,
    /// A peer spoke in a later epoch: catch up at once.
    epoch_ahead: bool,
    settings: ShellSettings,
    clock: Arc<dyn Clock>,
    timer: Option<(Round, tokio::time::Instant)>,
    building: Option<Build>,
    bodies: BTreeMap<Hash, PendingBody>,
    tip: Tip,
    best_seen: Height,
    syncing_since: Option<Instant>,
    queue: VecDeque<Input>,
    stats: panacea_consensus::Stats,
    last_members: Vec<PeerId>,
    /// A proposal whose payload check waits for a commit.
    deferred: Option<BlockRef>,
    /// State sync from a peer's snapshot (a node that joins a long chain).
    snapshot_sync: statesync::Phase,
    /// This node committed transactions that the other validators learn of only from the
    /// certificate in the next proposal: propose it at once rather than after the
    /// empty-block interval.
    announce_commit: bool,
}

impl Shell {
    /// Opens the shell on the node's storage: writes genesis into an empty database,
    /// then resumes consensus from the persisted safety state, committed tip and stored
    /// uncommitted blocks.
    pub fn open(
        shared: Arc<Shared>,
        role: Role,
        settings: ShellSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Shell, ShellError> {
        let storage = shared.storage.clone();
        let chain = &shared.chain;
        if storage.import_interrupted()? {
            tracing::warn!("a snapshot import was interrupted; starting again from genesis");
            storage.wipe_chain()?;
        }
        let shared_state_sync = shared.state_sync;
        match storage.committed_height()? {
            None => write_genesis(&shared)?,
            Some(_) => {
                let stored = storage.block(Height::ZERO)?.map(|b| b.id());
                if stored != Some(chain.genesis_id()) {
                    return Err(ShellError::WrongChain(
                        "the data folder holds another chain (its genesis differs from genesis.json); \
                         use another home or `panacea-node reset`"
                            .into(),
                    ));
                }
            }
        }
        let epoch = EpochView::load(&storage, chain)?;
        let validator_key = match role {
            Role::Validator(key) => Some(key),
            Role::Observer => None,
        };
        let config = config_for(&epoch, &settings);
        let safety = match storage.load_safety()? {
            Some(safety) if safety.epoch == epoch.epoch() => safety,
            // None yet, or of an epoch that ended (the node stopped between committing the
            // block that ended it and starting the next).
            _ => fresh_safety(&epoch),
        };
        let (tip_block, tip) = load_tip(&shared)?;
        let pending: Vec<BlockRef> =
            storage.pending_blocks()?.into_iter().filter(|b| b.header.epoch == epoch.epoch()).map(Arc::new).collect();
        let certificate = storage.certificate(tip.height)?.filter(|c| c.child_qc.epoch == epoch.epoch());
        let history = recent_headers(&storage, &config, tip.height)?;
        let replica = Replica::new(
            config.clone(),
            role_in(&epoch, validator_key.as_ref()),
            safety,
            CommittedTip { block: Arc::new(tip_block), certificate },
            pending,
            history,
        )?;
        let mut shell = Shell {
            shared,
            replica,
            validator_key,
            config,
            epoch,
            epoch_ahead: false,
            settings,
            clock,
            timer: None,
            building: None,
            bodies: BTreeMap::new(),
            tip,
            best_seen: tip.height,
            syncing_since: None,
            queue: VecDeque::new(),
            stats: panacea_consensus::Stats::default(),
            last_members: Vec::new(),
            deferred: None,
            snapshot_sync: statesync::Phase::initial(shared_state_sync, tip.height),
            announce_commit: false,
        };
        shell.refresh_members()?;
        shell.publish_epoch();
        shell.publish_status();
        Ok(shell)
    }

    /// Runs until `shutdown` turns true or the network's event channel closes. Returns
    /// an error only when the node must stop.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<NetEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), ShellError> {
        let outputs = self.replica.start();
        self.execute(outputs)?;
        let mut housekeeping = tokio::time::interval(Duration::from_secs(1));
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.shared.clone();
        loop {
            let timer = self.timer.map(|(_, at)| at);
            let build_at =
                self.building.map(|b| tokio::time::Instant::from_std(b.since + self.settings.empty_block_interval));
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                event = events.recv() => match event {
                    Some(event) => self.on_net_event(event)?,
                    None => return Ok(()),
                },
                () = sleep_until(timer) => self.on_timer()?,
                () = shared.mempool_notify.notified(), if self.building.is_some() => self.try_build(false)?,
                () = sleep_until(build_at) => self.try_build(true)?,
                _ = housekeeping.tick() => self.housekeeping()?,
            }
        }
    }

    fn on_timer(&mut self) -> Result<(), ShellError> {
        if let Some((round, _)) = self.timer.take() {
            self.queue.push_back(Input::TimerFired { round });
            self.drain()?;
        }
        Ok(())
    }

    /// Handles one event from the network.
    pub fn on_net_event(&mut self, event: NetEvent) -> Result<(), ShellError> {
        match event {
            NetEvent::Consensus { from, message } => {
                tracing::trace!(peer = %from, kind = message.kind(), round = %message.round(), "consensus input");
                let seen = match &message {
                    Message::Proposal(p) => p.block.header.height,
                    Message::Vote(v) => v.data.height,
                    Message::Timeout(t) => t.high_qc.height(),
                    Message::Sync(s) => s.high_qc.height(),
                };
                let epoch = match &message {
                    Message::Proposal(p) => p.block.header.epoch,
                    Message::Vote(v) => v.epoch,
                    Message::Timeout(t) => t.epoch,
                    Message::Sync(s) => s.high_qc.epoch,
                };
                // An unverified claim: at worst it costs one catch-up request, whose
                // answer is verified; an empty answer resets it.
                if seen > self.best_seen {
                    self.best_seen = seen;
                }
                // A later epoch: this node missed the commit that ended its own, which no
                // validator of the new set will repeat. Fetch it now, however small the gap.
                if epoch > self.epoch.epoch() {
                    self.epoch_ahead = true;
                }
                self.maybe_sync(Some(from));
                let Some(index) = self.epoch.validator_of_peer(&from) else {
                    tracing::debug!(peer = %from, "consensus message from a non-validator ignored");
                    return Ok(());
                };
                self.queue.push_back(Input::Message { from: index, message });
                self.drain()
            }
            NetEvent::PeerConnected(peer) => {
                // After a partition heals: hand the validator what it may have missed, so
                // that a quorum finding itself again resumes without waiting out timers.
                if let Some(validator) = self.epoch.validator_of_peer(&peer) {
                    self.queue.push_back(Input::PeerConnected { validator });
                    self.drain()?;
                }
                self.publish_status();
                Ok(())
            }
            NetEvent::SyncRequested { request, reply } => {
                let response = self.serve(request)?;
                let _ = reply.send(response);
                Ok(())
            }
            NetEvent::SyncAnswered { from, response } => match response {
                Some(SyncResponse::Blocks(blocks)) => {
                    self.queue.push_back(Input::BlocksFetched { blocks });
                    self.drain()
                }
                Some(SyncResponse::Committed { blocks, certificate, suffix }) => {
                    self.on_committed_blocks(from, &blocks, certificate.as_ref(), &suffix)
                }
                Some(SyncResponse::Offer(offer)) => self.on_offer(from, offer.map(|o| *o)),
                Some(SyncResponse::Chunk { height, index, bytes }) => self.on_chunk(from, height, index, bytes),
                None if self.state_syncing() => self.on_state_sync_failure(from),
                None => {
                    tracing::info!(peer = %from, "catch-up request failed; asking again");
                    self.syncing_since = None;
                    Ok(())
                }
            },
        }
    }

    /// Feeds queued inputs to the replica and executes its outputs until both are done.
    fn drain(&mut self) -> Result<(), ShellError> {
        while let Some(input) = self.queue.pop_front() {
            let outputs = self.replica.handle(input);
            self.execute(outputs)?;
        }
        let stats = self.replica.stats();
        let metrics = &self.shared.metrics;
        metrics.consensus_rejected.inc_by(stats.rejected.saturating_sub(self.stats.rejected));
        metrics.round_timeouts.inc_by(stats.timeouts.saturating_sub(self.stats.timeouts));
        if stats.rejected > self.stats.rejected
            && let Some(rejection) = self.replica.last_rejection()
        {
            tracing::debug!(%rejection, "consensus input rejected");
        }
        self.stats = stats;
        metrics.round.set(i64::try_from(self.replica.round().0).unwrap_or(i64::MAX));
        Ok(())
    }

    fn execute(&mut self, outputs: Vec<Output>) -> Result<(), ShellError> {
        let mut outputs = outputs.into_iter().peekable();
        while let Some(output) = outputs.next() {
            tracing::trace!(round = %self.replica.round(), output = output_name(&output), "consensus output");
            match output {
                Output::PersistSafety(safety) => self.shared.storage.save_safety(&safety)?,
                Output::PersistBlock(block) => {
                    // A vote persists its block and then the safety state: one synced batch.
                    match outputs.next_if(|next| matches!(next, Output::PersistSafety(_))) {
                        Some(Output::PersistSafety(safety)) => {
                            self.shared.storage.save_pending_block_and_safety(&block, &safety)?;
                        }
                        _ => self.shared.storage.save_pending_block(&block)?,
                    }
                    // Remember its transactions so that later proposals skip them.
                    let _ = self.body_of(&block);
                }
                Output::Send { to, message } => match self.epoch.peer_of_validator(to) {
                    Some(peer) => self.send(NetCommand::Send { to: peer, bytes: Arc::new(message.encode()) }),
                    None => tracing::debug!(%to, "validator has no network key; message not sent"),
                },
                Output::Broadcast(message) => self.send(NetCommand::Broadcast { bytes: Arc::new(message.encode()) }),
                Output::SetTimer { round, duration_ms } => {
                    self.timer = Some((round, tokio::time::Instant::now() + Duration::from_millis(duration_ms)));
                }
                Output::BuildPayload { round, height: _, parent } => {
                    self.building = Some(Build { round, parent, since: Instant::now() });
                    self.try_build(false)?;
                }
                Output::CheckPayload { block } => match self.check_payload(&block) {
                    Check::Done(valid) => self.queue.push_back(Input::PayloadChecked { block_id: block.id(), valid }),
                    // The core keeps waiting for this answer; a newer check replaces it.
                    Check::AfterCommitOf(_) => self.deferred = Some(block),
                },
                Output::Commit { blocks, certificate } => {
                    let epoch = self.epoch.epoch();
                    self.commit(&blocks, &certificate)?;
                    if self.epoch.epoch() != epoch {
                        // The replica that produced the rest of these outputs (its timer,
                        // its votes) belongs to the epoch that just ended: drop them.
                        return Ok(());
                    }
                }
                Output::FetchBlocks { request, from } => {
                    let peer = self.epoch.peer_of_validator(from).or_else(|| self.any_member_peer());
                    if let Some(peer) = peer {
                        self.send(NetCommand::Sync { to: peer, request: SyncRequest::Blocks(request) });
                    }
                }
                Output::Evidence(evidence) => {
                    let encoded = crate::evidence::encode(&evidence);
                    // The hex is what `panacea gov report` takes, if the worker cannot report it.
                    tracing::error!(
                        culprit = %evidence.culprit(),
                        round = %evidence.round(),
                        evidence = %hex::encode(&encoded),
                        "a validator equivocated"
                    );
                    self.shared.report_evidence(encoded);
                }
            }
        }
        Ok(())
    }

    fn send(&self, command: NetCommand) {
        if self.shared.net.try_send(command).is_err() {
            self.shared.metrics.dropped_events.inc();
        }
    }

    /// A connected peer to fetch from: a validator's node if one is connected, else any
    /// member's (an observer or a node of the previous epoch holds committed blocks too).
    fn any_member_peer(&self) -> Option<PeerId> {
        let peers = self.shared.peers();
        peers.iter().find(|p| self.epoch.validator_of_peer(p).is_some()).or_else(|| peers.first()).copied()
    }

    // ------------------------------------------------------------------ commits

    fn commit(&mut self, blocks: &[BlockRef], certificate: &CommitCertificate) -> Result<(), ShellError> {
        // While a snapshot is asked for or taken in, the state is not the replica's to
        // change: the replica restarts from whatever tip the state sync leaves.
        if self.state_syncing() {
            return Ok(());
        }
        // Admission control sizes the pool by what consensus commits (catch-up, which
        // replays at disk speed, is not the pipeline's capacity).
        let executed_before = self.shared.metrics.executed_transactions.get();
        let measure = |shared: &crate::shared::Shared| {
            let now = Instant::now();
            let executed = shared.metrics.executed_transactions.get().saturating_sub(executed_before);
            shared.capacity.committed(executed, now);
            #[allow(clippy::cast_possible_truncation, reason = "a rate, far below i64::MAX")]
            shared.metrics.capacity.set(shared.capacity.rate(now) as i64);
        };
        for (i, block) in blocks.iter().enumerate() {
            if block.header.height <= self.tip.height {
                continue;
            }
            // An encoded empty transaction list is a byte or two.
            let carries = self.bodies.get(&block.id()).map_or(block.payload.data.len() > 8, |b| !b.ids.is_empty());
            // If this block ends the epoch, the blocks above it in this commit are
            // abandoned; their headers link it to the certificate.
            let suffix: Vec<panacea_consensus::BlockHeader> =
                blocks[i + 1..].iter().map(|b| b.header.clone()).collect();
            let change = self.execute_and_store(block, Some(certificate), &suffix)?;
            self.announce_commit |= carries;
            if let Some(record) = change {
                measure(&self.shared);
                return self.switch_epoch(&record);
            }
        }
        measure(&self.shared);
        self.refresh_members()?;
        self.publish_status();
        self.resume_deferred_check();
        Ok(())
    }

    /// After committing the block that ended the epoch: the replica restarts in the next
    /// epoch, anchored at that block, voting if this node's key is in the new set.
    fn switch_epoch(&mut self, record: &panacea_contracts::governance::EpochRecord) -> Result<(), ShellError> {
        let storage = self.shared.storage.clone();
        let anchor = storage
            .block(self.tip.height)?
            .ok_or_else(|| ShellError::Fatal("the block that ended the epoch is missing".into()))?;
        let organisations = panacea_contracts::membership::organisations(&storage.state())?;
        let old = self.epoch.epoch();
        self.epoch = EpochView::new(&self.shared.chain, record, anchor.header, &organisations)?;
        self.config = config_for(&self.epoch, &self.settings);
        let safety = fresh_safety(&self.epoch);
        storage.save_safety(&safety)?;
        let voting = self.validator_key.as_ref().is_some_and(|k| self.epoch.set.index_of(&k.public()).is_some());
        tracing::info!(
            from = %old,
            to = %self.epoch.epoch(),
            validators = self.epoch.set.len(),
            anchor = %self.tip.height,
            voting,
            "epoch changed"
        );
        self.bodies.clear();
        self.epoch_ahead = false;
        self.publish_epoch();
        self.restart_replica_with(safety)
    }

    /// Tells the API and metrics which validator set is current.
    fn publish_epoch(&self) {
        if let Ok(mut current) = self.shared.validators.write() {
            *current = self.epoch.set.clone();
        }
        self.shared.metrics.epoch.set(i64::try_from(self.epoch.epoch().0).unwrap_or(i64::MAX));
    }

    fn restart_replica(&mut self) -> Result<(), ShellError> {
        let safety = self.replica.safety().clone();
        self.restart_replica_with(safety)
    }

    fn restart_replica_with(&mut self, safety: SafetyState) -> Result<(), ShellError> {
        let storage = &self.shared.storage;
        let block = storage
            .block(self.tip.height)?
            .ok_or_else(|| ShellError::Fatal("the committed tip is missing from storage".into()))?;
        let epoch = self.epoch.epoch();
        let certificate = storage.certificate(self.tip.height)?.filter(|c| c.child_qc.epoch == epoch);
        let pending: Vec<BlockRef> =
            storage.pending_blocks()?.into_iter().filter(|b| b.header.epoch == epoch).map(Arc::new).collect();
        let history = recent_headers(storage, &self.config, self.tip.height)?;
        self.replica = Replica::new(
            self.config.clone(),
            role_in(&self.epoch, self.validator_key.as_ref()),
            safety,
            CommittedTip { block: Arc::new(block), certificate },
            pending,
            history,
        )?;
        self.building = None;
        self.deferred = None;
        self.timer = None;
        self.refresh_members()?;
        self.publish_status();
        let outputs = self.replica.start();
        self.execute(outputs)?;
        self.drain()
    }

    /// Executes one committed block on top of the tip and stores it with everything it
    /// changed, in one synced batch.
    fn execute_and_store(
        &mut self,
        block: &Block,
        certificate: Option<&CommitCertificate>,
        suffix: &[panacea_consensus::BlockHeader],
    ) -> Result<Option<panacea_contracts::governance::EpochRecord>, ShellError> {
        let height = block.header.height;
        if height != self.tip.height.next() || block.header.parent() != self.tip.id {
            return Err(ShellError::Fatal(format!(
                "committed block {} at height {height} does not extend the committed tip {} at {}",
                block.id(),
                self.tip.id,
                self.tip.height
            )));
        }
        let Some(pending) = self.body_of(block) else {
            return Err(ShellError::Fatal(format!(
                "committed block {} has a payload that does not decode",
                block.id()
            )));
        };
        let storage = self.shared.storage.clone();
        // Exactly once: a transaction already committed, or repeated in this block, is
        // skipped. Every node holds the same committed index, so all skip the same ones.
        // (An ordering-only body has no transactions: its ids are its batches'.)
        let mut seen = BTreeSet::new();
        let mut keep = Vec::with_capacity(pending.body.transactions.len());
        for id in pending.ids.iter().take(pending.body.transactions.len()) {
            keep.push(seen.insert(*id) && !storage.has_transaction(id)?);
        }
        let filtered: Vec<SignedTransaction>;
        let transactions: &[SignedTransaction] = if keep.iter().all(|k| *k) {
            &pending.body.transactions
        } else {
            filtered =
                pending.body.transactions.iter().zip(&keep).filter(|(_, k)| **k).map(|(t, _)| t.clone()).collect();
            &filtered
        };
        let context = BlockContext {
            chain_id: self.shared.chain.chain_id().clone(),
            height,
            time: pending.body.time(),
            attested: pending.body.meta.state.height,
            evidence: crate::evidence::checker(),
        };
        // A signature this node checked when it admitted the transaction to its pool (its
        // id binds the transaction and the signature) is not checked again.
        let verified: BTreeSet<Hash> = match self.shared.mempool.lock() {
            Ok(pool) => pending.ids.iter().filter(|id| pool.contains(id)).copied().collect(),
            Err(_) => BTreeSet::new(),
        };
        self.shared.metrics.signatures_reused.inc_by(verified.len() as u64);
        let outcome = execute_block_verified(&storage.state(), &context, transactions, &|id| verified.contains(id))?;
        // A block that ends an epoch keeps the proof that it is final as the epoch's end:
        // the certificate, and the headers that link it to the certified block when that
        // is above it (then the certificate is not its own and is stored only there).
        let epoch_end = match (&outcome.epoch_change, certificate) {
            (Some(_), Some(certificate)) => {
                Some(crate::storage::EpochEnd { certificate: certificate.clone(), suffix: suffix.to_vec() })
            }
            _ => None,
        };
        let own_certificate = certificate.filter(|c| c.committed == block.id());
        // The light client's proof of the change goes in the same batch: a crash cannot
        // leave the block without it.
        let epoch_change = match (&outcome.epoch_change, &epoch_end) {
            (Some(record), Some(end)) => match epoch::epoch_change_proof(&storage, block, end)? {
                Some(change) => Some((record.epoch, panacea_primitives::codec::encode(&change))),
                None => {
                    tracing::warn!(epoch = %record.epoch, "no light-client proof could be kept for this epoch change");
                    None
                }
            },
            _ => None,
        };
        storage.commit_block(&BlockCommit {
            block,
            certificate: own_certificate,
            state: &outcome.writes,
            receipts: &outcome.receipts,
            meta: outcome.meta,
            epoch_end: epoch_end.as_ref(),
            epoch_change: epoch_change.as_ref().map(|(epoch, bytes)| (*epoch, bytes.as_slice())),
        })?;
        // Before the next block is written: a snapshot's checkpoint holds exactly this state.
        self.shared.snapshots.after_commit(&storage, height)?;
        // Durable: now the pool, waiting clients and metrics may learn of it.
        if !pending.body.batches.is_empty() {
            self.on_batches_committed(&pending.body.batches, &pending.ids);
        }
        let ids: Vec<Hash> = outcome.receipts.iter().map(|r| r.tx).collect();
        let signers: Vec<PublicKey> = transactions.iter().map(|t| t.tx.signer).collect();
        let now = Instant::now();
        if let Ok(mut pool) = self.shared.mempool.lock() {
            for id in &ids {
                if let Some(at) = pool.admitted_at(id) {
                    self.shared.metrics.tx_commit_latency.observe(now.duration_since(at).as_secs_f64());
                }
            }
            let state = storage.state();
            pool.on_commit(&ids, &signers, |signer| next_nonce(&state, signer).unwrap_or(0));
            let stats = pool.stats();
            self.shared.metrics.mempool_transactions.set(i64::try_from(stats.transactions).unwrap_or(i64::MAX));
            self.shared.metrics.mempool_bytes.set(i64::try_from(stats.bytes).unwrap_or(i64::MAX));
        }
        self.shared.waiters.notify(&ids);
        // The block's own events (expiries, the epoch ending) come first, as in the log.
        let events: Vec<_> = outcome
            .block_events
            .iter()
            .cloned()
            .chain(
                outcome
                    .receipts
                    .iter()
                    .filter_map(|r| match &r.outcome {
                        panacea_contracts::Outcome::Ok { events } => Some(events.iter().cloned()),
                        panacea_contracts::Outcome::Failed { .. } => None,
                    })
                    .flatten(),
            )
            .collect();
        if !events.is_empty() {
            // No subscriber is not an error.
            let _ = self.shared.committed_events.send(Arc::new(crate::shared::CommittedEvents { height, events }));
        }
        let metrics = &self.shared.metrics;
        metrics.committed_blocks.inc();
        metrics.executed_transactions.inc_by(ids.len() as u64);
        metrics.height.set(i64::try_from(height.0).unwrap_or(i64::MAX));
        let lag_ms = self.clock.now().as_millis().saturating_sub(pending.body.time().as_millis());
        metrics.block_commit_latency.observe(lag_ms as f64 / 1000.0);
        self.tip = Tip { height, id: block.id(), time: pending.body.time(), state_root: outcome.state_root };
        self.bodies.retain(|_, b| b.height > height);
        if !ids.is_empty() {
            tracing::debug!(%height, transactions = ids.len(), root = %outcome.state_root, "committed");
        }
        Ok(outcome.epoch_change)
    }

    /// An ordering-only block is durable: its batches leave the pool and their clients
    /// are told. (Its body holds no transactions, so the contracts executed nothing.)
    fn on_batches_committed(&self, batches: &[panacea_primitives::OpaqueBatch], ids: &[Hash]) {
        let now = Instant::now();
        if let Ok(mut pool) = self.shared.batches.lock() {
            for admitted in pool.on_commit(ids) {
                self.shared.metrics.tx_commit_latency.observe(now.duration_since(admitted).as_secs_f64());
            }
            let (_, bytes) = pool.stats();
            self.shared.metrics.mempool_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
        self.shared.waiters.notify(ids);
        let count: usize = batches.iter().map(panacea_primitives::OpaqueBatch::count).sum();
        self.shared.metrics.executed_transactions.inc_by(count as u64);
    }

    fn refresh_members(&mut self) -> Result<(), ShellError> {
        let organisations = panacea_contracts::membership::organisations(&self.shared.storage.state())?;
        let members = member_peers(&organisations);
        if members != self.last_members {
            self.send(NetCommand::SetMembers(members.clone()));
            self.last_members = members;
        }
        Ok(())
    }

    fn publish_status(&self) {
        // Truthful under partitions: the validators this node actually reaches (connected
        // peers are dropped within seconds when they stop answering pings).
        let connected = self.shared.peers();
        let own = usize::from(self.replica.index().is_some());
        let reachable = self.epoch.peers.iter().flatten().filter(|peer| connected.contains(peer)).count() + own;
        self.shared.metrics.validators_reachable.set(i64::try_from(reachable).unwrap_or(i64::MAX));
        if let Ok(mut status) = self.shared.status.write() {
            *status = NodeStatus {
                height: self.tip.height,
                block_id: self.tip.id,
                block_time: self.tip.time,
                state_root: self.tip.state_root,
                round: self.replica.round(),
                best_seen_height: self.best_seen.max(self.tip.height),
                catching_up: self.syncing_since.is_some() || self.best_seen.0 > self.tip.height.0 + SYNC_LAG,
                validator_index: self.replica.index(),
                validators_reachable: reachable,
                quorum: self.epoch.set.quorum(),
            };
        }
    }

    fn housekeeping(&mut self) -> Result<(), ShellError> {
        if let Ok(mut pool) = self.shared.mempool.lock() {
            let expired = pool.expire(Instant::now());
            if expired > 0 {
                tracing::info!(expired, "transactions expired from the pool");
            }
        }
        self.state_sync_tick()?;
        self.maybe_sync(None);
        self.publish_status();
        Ok(())
    }
}

/// The consensus configuration of an epoch.
fn config_for(epoch: &EpochView, settings: &ShellSettings) -> ConsensusConfig {
    let mut config = ConsensusConfig::new(epoch.set.clone(), epoch.anchor.id());
    config.genesis_height = epoch.anchor.height;
    config.round_timeout_ms = settings.round_timeout_ms;
    config.round_timeout_max_ms = settings.round_timeout_max_ms;
    config.payload_bytes_max = settings.block_bytes_max.max(64 * 1024);
    config
}

/// The headers of the committed blocks up to `tip` that leader election reads, oldest
/// first (the replica keeps those of its epoch). A node that took in a state snapshot
/// lacks the blocks below it and hands over fewer: it may disagree on leaders until it
/// has committed that many blocks, which costs it rounds, never safety.
fn recent_headers(
    storage: &crate::storage::Storage,
    config: &ConsensusConfig,
    tip: Height,
) -> Result<Vec<panacea_consensus::BlockHeader>, ShellError> {
    let count = config.leader_election.history_blocks(config.validators.len());
    let first = tip.0.saturating_sub(u64::try_from(count).unwrap_or(u64::MAX)).saturating_add(1);
    let mut headers = Vec::with_capacity(count);
    for height in first..=tip.0 {
        if let Some(block) = storage.block(Height(height))? {
            headers.push(block.header);
        }
    }
    Ok(headers)
}

/// The safety state an epoch starts from: nothing voted, the anchor certified.
fn fresh_safety(epoch: &EpochView) -> SafetyState {
    let anchor = &epoch.anchor;
    let qc = if anchor.height == Height::ZERO {
        QuorumCert::genesis(epoch.epoch(), anchor.id())
    } else {
        QuorumCert::anchor(epoch.epoch(), anchor.id(), anchor.height)
    };
    SafetyState::new(epoch.epoch(), qc)
}

/// A validator in the epochs whose set holds its key, an observer in the others.
fn role_in(epoch: &EpochView, key: Option<&panacea_primitives::Keypair>) -> Role {
    match key {
        Some(key) if epoch.set.index_of(&key.public()).is_some() => Role::Validator(key.clone()),
        _ => Role::Observer,
    }
}

fn output_name(output: &Output) -> &'static str {
    match output {
        Output::PersistSafety(_) => "persist-safety",
        Output::PersistBlock(_) => "persist-block",
        Output::Send { message, .. } => message.kind(),
        Output::Broadcast(message) => message.kind(),
        Output::SetTimer { .. } => "set-timer",
        Output::BuildPayload { .. } => "build-payload",
        Output::CheckPayload { .. } => "check-payload",
        Output::Commit { .. } => "commit",
        Output::FetchBlocks { .. } => "fetch-blocks",
        Output::Evidence(_) => "evidence",
    }
}

/// Writes genesis into an empty database.
fn write_genesis(shared: &Shared) -> Result<(), ShellError> {
    let chain = &shared.chain;
    let storage = &shared.storage;
    let outcome = panacea_contracts::genesis(&storage.state(), &chain.genesis)
        .map_err(|e| ShellError::WrongChain(format!("cannot write genesis: {e}")))?;
    storage.commit_block(&BlockCommit::uncertified(&chain.genesis_block, &outcome.writes, &[], outcome.meta))?;
    tracing::info!(chain = %chain.chain_id(), genesis = %chain.genesis_id(), "wrote genesis");
    Ok(())
}

fn load_tip(shared: &Shared) -> Result<(Block, Tip), ShellError> {
    let storage = &shared.storage;
    let height = storage.committed_height()?.ok_or_else(|| ShellError::Fatal("no committed block".into()))?;
    let block = storage.block(height)?.ok_or_else(|| ShellError::Fatal("the committed tip is missing".into()))?;
    let state_root = storage.state_root(height)?.unwrap_or(Hash::ZERO);
    let time = if height == Height::ZERO {
        shared.chain.genesis.time
    } else {
        BlockBody::decode_in::<PAYLOAD_BYTES_MAX>(
            shared.chain.genesis.mode,
            &block.payload,
            panacea_contracts::BLOCK_TRANSACTIONS_MAX,
        )
        .map_err(|e| ShellError::Fatal(format!("the committed tip's payload does not decode: {e}")))?
        .time()
    };
    let tip = Tip { height, id: block.id(), time, state_root };
    Ok((block, tip))
}

/// A signer's registration that cannot be read is not judged: the transaction is kept,
/// and execution fails it safely if the signer is in fact unknown.
fn judged<E: std::fmt::Display>(read: Result<bool, E>) -> bool {
    read.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot read a signer's registration; not judging it");
        true
    })
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

mod epoch;
mod payload;
mod statesync;
mod sync;
#[cfg(test)]
mod tests;

pub use epoch::EpochView;
