//! What the node's tasks share: storage, the pool, the chain, status, commit waiters and
//! metrics. Each piece has its own lock, held briefly and never across an await.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

use libp2p::PeerId;
use panacea_primitives::{Hash, Height, Round, Timestamp, ValidatorIndex};
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::chain::ChainSpec;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::network::NetCommand;
use crate::storage::Storage;

/// A snapshot of the node's progress, for the API.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    /// Committed height.
    pub height: Height,
    /// Id of the committed block.
    pub block_id: Hash,
    /// Its time.
    pub block_time: Timestamp,
    /// State root after it.
    pub state_root: Hash,
    /// Current consensus round.
    pub round: Round,
    /// Highest height seen from peers.
    pub best_seen_height: Height,
    /// True while catching up.
    pub catching_up: bool,
    /// This node's validator index, if it is a validator.
    pub validator_index: Option<ValidatorIndex>,
    /// Validators of the current epoch this node reaches: those whose nodes it is
    /// connected to, and itself if it is one.
    pub validators_reachable: usize,
    /// Votes a certificate of the current epoch needs.
    pub quorum: usize,
}

impl Default for NodeStatus {
    /// The status before the node has opened its storage.
    fn default() -> NodeStatus {
        NodeStatus {
            height: Height::ZERO,
            block_id: Hash::ZERO,
            block_time: Timestamp(0),
            state_root: Hash::ZERO,
            round: Round::ZERO,
            best_seen_height: Height::ZERO,
            catching_up: false,
            validator_index: None,
            validators_reachable: 0,
            quorum: 1,
        }
    }
}

/// API requests waiting for their transactions to commit, bounded.
#[derive(Debug)]
pub struct Waiters {
    max: usize,
    inner: Mutex<WaitersInner>,
}

#[derive(Debug, Default)]
struct WaitersInner {
    map: BTreeMap<Hash, Vec<oneshot::Sender<()>>>,
    /// Senders held in `map` (kept, so registering never sums the map).
    count: usize,
}

/// Too many requests are waiting.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many requests are waiting for a commit; try again later")]
pub struct WaitersFull;

impl Waiters {
    /// Room for `max` waiting requests.
    pub fn new(max: usize) -> Waiters {
        Waiters { max, inner: Mutex::new(WaitersInner::default()) }
    }

    /// Registers interest in the commit of `tx`.
    pub fn register(&self, tx: Hash) -> Result<oneshot::Receiver<()>, WaitersFull> {
        let mut inner = self.inner.lock().map_err(|_| WaitersFull)?;
        if inner.count >= self.max {
            // Forget requests that gave up waiting (timed out or disconnected).
            inner.map.retain(|_, senders| {
                senders.retain(|s| !s.is_closed());
                !senders.is_empty()
            });
            inner.count = inner.map.values().map(Vec::len).sum();
            if inner.count >= self.max {
                return Err(WaitersFull);
            }
        }
        let (sender, receiver) = oneshot::channel();
        inner.map.entry(tx).or_default().push(sender);
        inner.count += 1;
        Ok(receiver)
    }

    /// Wakes everyone waiting for one of `txs` (called after the commit is durable).
    pub fn notify(&self, txs: &[Hash]) {
        let Ok(mut inner) = self.inner.lock() else { return };
        if inner.map.is_empty() {
            return;
        }
        for tx in txs {
            if let Some(senders) = inner.map.remove(tx) {
                inner.count -= senders.len();
                for sender in senders {
                    let _ = sender.send(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_are_bounded_woken_once_and_forgotten_when_they_give_up() {
        let waiters = Waiters::new(2);
        let (a, b) = (Hash([1; 32]), Hash([2; 32]));
        let mut first = waiters.register(a).unwrap();
        let gave_up = waiters.register(b).unwrap();
        assert!(waiters.register(b).is_err(), "full");
        drop(gave_up);
        let mut second = waiters.register(b).expect("room again once a waiter gave up");
        waiters.notify(&[a, b]);
        assert!(first.try_recv().is_ok() && second.try_recv().is_ok());
        assert!(waiters.register(a).is_ok() && waiters.register(b).is_ok(), "notified waiters leave");
    }
}

/// Everything the node's tasks share.
#[derive(Debug)]
pub struct Shared {
    /// The chain.
    pub chain: ChainSpec,
    /// The database.
    pub storage: Arc<Storage>,
    /// The transaction pool.
    pub mempool: Mutex<Mempool>,
    /// The pool of opaque batches (an ordering-only chain; empty on any other).
    pub batches: Mutex<crate::ordering::BatchPool>,
    /// Signalled when a transaction or batch enters a pool.
    pub mempool_notify: Notify,
    /// Admission control: the commit rate measured, and the pool depth it allows.
    pub capacity: crate::admission::Capacity,
    /// Progress.
    pub status: RwLock<NodeStatus>,
    /// Requests waiting for commits.
    pub waiters: Waiters,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Connected peers.
    pub connected: Arc<Mutex<BTreeSet<PeerId>>>,
    /// Commands to the network task.
    pub net: mpsc::Sender<NetCommand>,
    /// Transactions admitted here, to be gossiped in batches.
    pub gossip: mpsc::Sender<Vec<u8>>,
    /// This node's peer id.
    pub peer_id: PeerId,
    /// This node's name.
    pub moniker: String,
    /// Signed API requests seen recently.
    pub replay: crate::auth::ReplayCache,
    /// The audit events of each committed block, for live subscribers (bounded: a
    /// subscriber that falls behind catches up from storage).
    pub committed_events: tokio::sync::broadcast::Sender<Arc<CommittedEvents>>,
    /// The current epoch's validator set (the shell updates it at each epoch change).
    pub validators: RwLock<panacea_consensus::ValidatorSet>,
    /// Misbehaviour evidence waiting to be reported on chain (bounded).
    pub evidence: Mutex<std::collections::VecDeque<Vec<u8>>>,
    /// The state snapshots this node makes and serves.
    pub snapshots: Arc<crate::statesync::Snapshots>,
    /// Whether this node may take in a snapshot instead of replaying the chain.
    pub state_sync: bool,
}

/// Most pieces of evidence waiting to be reported.
pub const EVIDENCE_QUEUE_MAX: usize = 16;

/// The audit events one committed block appended.
#[derive(Debug, Clone)]
pub struct CommittedEvents {
    /// The block's height.
    pub height: Height,
    /// Its events, in log order.
    pub events: Vec<panacea_contracts::audit::AuditEvent>,
}

/// Blocks of events kept for live subscribers.
pub const COMMITTED_EVENTS_QUEUE: usize = 1_024;

impl Shared {
    /// A copy of the status.
    pub fn status(&self) -> Option<NodeStatus> {
        self.status.read().ok().map(|s| s.clone())
    }

    /// Queues evidence for the chain (the oldest is dropped when the queue is full: the
    /// same offence is seen again while it goes on).
    pub fn report_evidence(&self, evidence: Vec<u8>) {
        if let Ok(mut queue) = self.evidence.lock() {
            if queue.contains(&evidence) {
                return;
            }
            if queue.len() >= EVIDENCE_QUEUE_MAX {
                queue.pop_front();
            }
            queue.push_back(evidence);
            self.metrics.evidence_reported.inc();
        }
    }

    /// The current epoch's validator set.
    pub fn validator_set(&self) -> panacea_consensus::ValidatorSet {
        match self.validators.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Connected peers.
    pub fn peers(&self) -> Vec<PeerId> {
        self.connected.lock().map(|c| c.iter().copied().collect()).unwrap_or_default()
    }
}
