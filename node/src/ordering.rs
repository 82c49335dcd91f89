//! The pool of an ordering-only chain (the consensus-only benchmark mode): opaque batches
//! held until a block of this chain carries them.
//!
//! A validator gossips each batch its clients submit, like any transaction, so every
//! validator holds it and whichever leads next proposes it. (Proposing only one's own
//! clients' batches would halve the traffic, but a validator whose successor in the
//! leader rotation is down never gets its proposals certified, since votes go to the next
//! leader: its clients' batches would never commit.) A batch stays in the pool until it
//! commits, so a proposal that fails to gather a quorum loses nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use panacea_primitives::{Hash, OpaqueBatch};

/// Why a batch was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchAdmitError {
    /// The same batch is already held.
    #[error("the batch is already pending")]
    Duplicate,
    /// The pool is full.
    #[error("the batch pool is full; try again later")]
    Full,
    /// The batch has committed already (its gossip arrived after the block carrying it).
    #[error("the batch has committed already")]
    Committed,
}

/// Committed batch ids remembered to refuse late copies (32 bytes each: 2 MiB), far more
/// than gossip can lag behind a commit.
pub const COMMITTED_REMEMBERED: usize = 65_536;

#[derive(Debug)]
struct Entry {
    batch: Arc<OpaqueBatch>,
    seq: u64,
    added: Instant,
}

/// Bounded in batches and bytes; first in, first proposed.
#[derive(Debug)]
pub struct BatchPool {
    batches_max: usize,
    bytes_max: usize,
    by_id: BTreeMap<Hash, Entry>,
    arrival: BTreeMap<u64, Hash>,
    next_seq: u64,
    bytes: usize,
    /// Opaque transactions in the batches held.
    transactions: usize,
    /// Recently committed ids, oldest first, and the same as a set.
    committed: std::collections::VecDeque<Hash>,
    committed_set: BTreeSet<Hash>,
    committed_max: usize,
}

impl BatchPool {
    /// An empty pool holding at most `batches_max` batches and `bytes_max` bytes.
    pub fn new(batches_max: usize, bytes_max: usize) -> BatchPool {
        BatchPool::with_memory(batches_max, bytes_max, COMMITTED_REMEMBERED)
    }

    /// [`BatchPool::new`], remembering the last `committed_max` committed ids.
    pub fn with_memory(batches_max: usize, bytes_max: usize, committed_max: usize) -> BatchPool {
        BatchPool {
            batches_max,
            bytes_max,
            by_id: BTreeMap::new(),
            arrival: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
            transactions: 0,
            committed: std::collections::VecDeque::new(),
            committed_set: BTreeSet::new(),
            committed_max,
        }
    }

    /// Batches and bytes held.
    pub fn stats(&self) -> (usize, usize) {
        (self.by_id.len(), self.bytes)
    }

    /// Opaque transactions in the batches held.
    pub fn transactions(&self) -> usize {
        self.transactions
    }

    /// Admits a checked batch; returns its id.
    pub fn admit(&mut self, batch: OpaqueBatch) -> Result<Hash, BatchAdmitError> {
        let id = batch.id();
        self.admit_with_id(batch, id)
    }

    /// [`BatchPool::admit`] with the id the caller computed already (`id` must be
    /// `batch.id()`): a batch is hashed once on its way in.
    pub fn admit_with_id(&mut self, batch: OpaqueBatch, id: Hash) -> Result<Hash, BatchAdmitError> {
        debug_assert_eq!(id, batch.id(), "the id given is the batch's");
        if self.by_id.contains_key(&id) {
            return Err(BatchAdmitError::Duplicate);
        }
        if self.committed_set.contains(&id) {
            return Err(BatchAdmitError::Committed);
        }
        if self.by_id.len() >= self.batches_max || self.bytes.saturating_add(batch.len()) > self.bytes_max {
            return Err(BatchAdmitError::Full);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += batch.len();
        self.transactions += batch.count();
        self.arrival.insert(seq, id);
        self.by_id.insert(id, Entry { batch: Arc::new(batch), seq, added: Instant::now() });
        Ok(id)
    }

    /// The oldest batches not in `exclude` (already in an uncommitted block), up to
    /// `items_max` batches and `bytes_max` bytes; at least one if any fits the count.
    pub fn select(&self, items_max: usize, bytes_max: usize, exclude: &BTreeSet<Hash>) -> Vec<Arc<OpaqueBatch>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for id in self.arrival.values() {
            if out.len() >= items_max {
                break;
            }
            if exclude.contains(id) {
                continue;
            }
            let Some(entry) = self.by_id.get(id) else { continue };
            // Framing and the list's own encoding: a few bytes per batch.
            let size = entry.batch.len() + 16;
            if bytes + size > bytes_max {
                break;
            }
            bytes += size;
            out.push(entry.batch.clone());
        }
        out
    }

    /// Forgets committed batches, and remembers their ids (bounded) so that a late copy is
    /// not taken again; returns when each held one was admitted.
    pub fn on_commit(&mut self, ids: &[Hash]) -> Vec<Instant> {
        let mut admitted = Vec::new();
        for id in ids {
            if self.committed_max > 0 && self.committed_set.insert(*id) {
                self.committed.push_back(*id);
                while self.committed.len() > self.committed_max {
                    if let Some(old) = self.committed.pop_front() {
                        self.committed_set.remove(&old);
                    }
                }
            }
            if let Some(entry) = self.by_id.remove(id) {
                self.arrival.remove(&entry.seq);
                self.bytes -= entry.batch.len();
                self.transactions -= entry.batch.count();
                admitted.push(entry.added);
            }
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(tag: u8, size: usize) -> OpaqueBatch {
        OpaqueBatch::from_transactions([vec![tag; size].as_slice()]).unwrap()
    }

    #[test]
    fn bounded_deduplicated_fifo_and_forgets_what_commits() {
        let mut pool = BatchPool::new(3, 10_000);
        let a = pool.admit(batch(1, 1_000)).unwrap();
        let b = pool.admit(batch(2, 1_000)).unwrap();
        assert_eq!(pool.admit(batch(1, 1_000)), Err(BatchAdmitError::Duplicate));
        let c = pool.admit(batch(3, 1_000)).unwrap();
        assert_eq!(pool.admit(batch(4, 1_000)), Err(BatchAdmitError::Full), "count bound");
        assert_eq!(pool.stats(), (3, 3 * 1_004));

        let all = pool.select(10, 1 << 20, &BTreeSet::new());
        assert_eq!(all.iter().map(|b| b.id()).collect::<Vec<_>>(), vec![a, b, c], "oldest first");
        let not_a = pool.select(10, 1 << 20, &BTreeSet::from([a]));
        assert_eq!(not_a.iter().map(|b| b.id()).collect::<Vec<_>>(), vec![b, c], "in-flight batches skipped");
        assert_eq!(pool.select(1, 1 << 20, &BTreeSet::new()).len(), 1, "item bound");
        assert_eq!(pool.select(10, 2_100, &BTreeSet::new()).len(), 2, "byte bound");

        assert_eq!(pool.on_commit(&[a, Hash::digest(b"unknown")]).len(), 1);
        assert_eq!(pool.stats(), (2, 2 * 1_004));
        let mut small = BatchPool::new(10, 1_500);
        small.admit(batch(1, 1_000)).unwrap();
        assert_eq!(small.admit(batch(2, 1_000)), Err(BatchAdmitError::Full), "byte bound");
    }

    #[test]
    fn a_batch_gossiped_after_its_commit_is_not_taken_again() {
        // The block carrying a batch can reach a validator before the batch's own gossip
        // does: re-admitted then, a later leader would order it twice.
        let mut pool = BatchPool::new(10, 1 << 20);
        let a = pool.admit(batch(1, 100)).unwrap();
        let late = batch(2, 100);
        pool.on_commit(&[a, late.id()]);
        assert_eq!(pool.admit(batch(1, 100)), Err(BatchAdmitError::Committed));
        assert_eq!(pool.admit(late), Err(BatchAdmitError::Committed), "committed before it was ever held");
        assert!(pool.select(10, 1 << 20, &BTreeSet::new()).is_empty());
        // The memory of commits is bounded: the oldest are forgotten first.
        let mut small = BatchPool::with_memory(10, 1 << 20, 2);
        let ids: Vec<Hash> = (0..3).map(|t| batch(t, 10).id()).collect();
        small.on_commit(&ids);
        assert!(small.admit(batch(0, 10)).is_ok(), "forgotten");
        assert_eq!(small.admit(batch(2, 10)), Err(BatchAdmitError::Committed));
    }
}
