//! State snapshots: the committed state at one height in chunks that a joining node
//! checks one by one against the state root a certified block attests, instead of
//! replaying the chain.
//!
//! - **Module state** (`s/`): chunks of key-value pairs in the order of the state tree's
//!   key hashes, each with a range proof of its last key. The importer rebuilds the tree
//!   with `jmt`'s restore (the Diem state-sync procedure), which checks every chunk
//!   against the expected tree root as it arrives: a chunk that does not match is refused
//!   before anything is kept.
//! - **The audit log** (`a/`): chunks of events in log order, each with the accumulator
//!   proof of its last event against the audit root. Events chain by hash (each names the
//!   previous one's hash), so the proof of a chunk's last event vouches for the whole
//!   chunk and, with the link to the previous chunk, for everything before it.
//! - **Indexes** (`i/`) are derived from the above and rebuilt by the importer.
//!
//! Nothing is written until [`Importer::finish`] has checked that the rebuilt tree root,
//! audit root, counts and bookkeeping equal the ones the certified block attests.

use std::sync::{Arc, Mutex};

use bincode::{Decode, Encode};
use jmt::restore::{JellyfishMerkleRestore, StateSnapshotReceiver};
use jmt::storage::{NodeBatch, TreeWriter};
use jmt::{KeyHash, RootHash};
use panacea_primitives::{Hash, codec};

use super::audit_log::{self, AuditProof};
use super::authenticated::{self, key_hash};
use super::store::{MemoryStore, Store, StoreError, WriteBatch};
use super::{AUDIT_EVENT_PREFIX, META_KEY, Meta, STATE_PREFIX};
use crate::audit::AuditEvent;

/// Most entries in one state chunk.
pub const STATE_CHUNK_ENTRIES_MAX: usize = 4_096;
/// Most events in one audit chunk.
pub const AUDIT_CHUNK_EVENTS_MAX: usize = 4_096;
/// Largest encoded chunk accepted, in bytes.
pub const CHUNK_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Module-state pairs in key-hash order and the range proof of the last one.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StateChunk {
    /// `(key, value)` pairs, in increasing order of `key_hash(key)`.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// The range proof (borsh) that the pairs up to the last one are all the tree holds
    /// up to it.
    pub proof: Vec<u8>,
}

/// Consecutive audit events and the accumulator proof of the last one.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct AuditChunk {
    /// The events, in log order.
    pub events: Vec<AuditEvent>,
    /// Accumulator siblings and peaks proving the last event.
    pub proof: Vec<Hash>,
}

/// A snapshot that cannot be taken or taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Reading the source failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A chunk does not match the attested state.
    #[error("snapshot chunk refused: {0}")]
    Refused(String),
}

fn refused(message: impl Into<String>) -> SnapshotError {
    SnapshotError::Refused(message.into())
}

/// Where an export cuts its chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Most entries (or events) in one chunk.
    pub entries: usize,
    /// Bytes of keys and values after which a chunk ends (a chunk holds at least one
    /// entry, and a single value is at most [`super::VALUE_BYTES_MAX`]).
    pub bytes: usize,
}

impl ChunkLimits {
    /// Chunks of up to `entries` entries, cut at 1 MiB.
    pub fn entries(entries: usize) -> ChunkLimits {
        ChunkLimits { entries, bytes: 1024 * 1024 }
    }
}

/// The module state at the store's latest tree version, in chunks of `per_chunk` entries.
/// Every key's hash is computed and sorted in memory: the export holds one 64-byte entry
/// per state key.
pub fn export_state<S: Store + ?Sized>(store: &S, per_chunk: usize) -> Result<Vec<StateChunk>, SnapshotError> {
    let mut chunks = Vec::new();
    export_state_with(store, ChunkLimits::entries(per_chunk), |chunk| {
        chunks.push(chunk);
        Ok(())
    })?;
    Ok(chunks)
}

/// The module state at the store's latest tree version, chunk by chunk into `sink`;
/// returns the number of chunks. Every key and its hash are held in memory, sorted (the
/// tree is ordered by key hash and stores no keys).
pub fn export_state_with<S: Store + ?Sized>(
    store: &S,
    limits: ChunkLimits,
    mut sink: impl FnMut(StateChunk) -> Result<(), SnapshotError>,
) -> Result<u32, SnapshotError> {
    let meta = Meta::load(store)?;
    let Some(version) = meta.tree_version else { return Ok(0) };
    let per_chunk = limits.entries.clamp(1, STATE_CHUNK_ENTRIES_MAX);
    let bytes_max = limits.bytes.clamp(1, CHUNK_BYTES_MAX / 2);
    let mut keys: Vec<(KeyHash, Vec<u8>)> = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan(STATE_PREFIX, after.as_deref(), 16_384)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        keys.extend(page.into_iter().map(|(k, _)| (key_hash(&k), k)));
    }
    keys.sort_by_key(|(hash, _)| hash.0);
    let mut count = 0u32;
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut bytes = 0usize;
    let total = keys.len();
    for (i, (_, key)) in keys.into_iter().enumerate() {
        let value = store.get(&key)?.ok_or_else(|| StoreError("a state key vanished during the export".into()))?;
        bytes += key.len() + value.len();
        let proof_needed = entries.len() + 1 >= per_chunk || bytes >= bytes_max || i + 1 == total;
        let proof = if proof_needed { Some(authenticated::range_proof(store, version, &key)?) } else { None };
        entries.push((key, value));
        if let Some(proof) = proof {
            sink(StateChunk { entries: std::mem::take(&mut entries), proof })?;
            bytes = 0;
            count += 1;
        }
    }
    Ok(count)
}

/// The audit log in chunks of `per_chunk` events, each with the proof of its last event.
pub fn export_audit<S: Store + ?Sized>(store: &S, per_chunk: usize) -> Result<Vec<AuditChunk>, SnapshotError> {
    let mut chunks = Vec::new();
    export_audit_with(store, ChunkLimits::entries(per_chunk), |chunk| {
        chunks.push(chunk);
        Ok(())
    })?;
    Ok(chunks)
}

/// The audit log chunk by chunk into `sink`; returns the number of chunks.
pub fn export_audit_with<S: Store + ?Sized>(
    store: &S,
    limits: ChunkLimits,
    mut sink: impl FnMut(AuditChunk) -> Result<(), SnapshotError>,
) -> Result<u32, SnapshotError> {
    let meta = Meta::load(store)?;
    let per_chunk = limits.entries.clamp(1, AUDIT_CHUNK_EVENTS_MAX);
    let bytes_max = limits.bytes.clamp(1, CHUNK_BYTES_MAX / 2);
    let mut count = 0u32;
    let mut after: Option<Vec<u8>> = None;
    let mut events = Vec::new();
    let mut bytes = 0usize;
    loop {
        let page = store.scan(AUDIT_EVENT_PREFIX, after.as_deref(), 1_024)?;
        let done = page.is_empty();
        if let Some((last, _)) = page.last() {
            after = Some(last.clone());
        }
        for (_, encoded) in page {
            bytes += encoded.len();
            events.push(
                codec::decode::<AuditEvent, { super::VALUE_BYTES_MAX }>(&encoded)
                    .map_err(|e| StoreError(format!("a stored audit event: {e}")))?,
            );
            if events.len() >= per_chunk || bytes >= bytes_max {
                flush_audit(store, &meta, &mut events, &mut sink)?;
                bytes = 0;
                count += 1;
            }
        }
        if done {
            break;
        }
    }
    if !events.is_empty() {
        flush_audit(store, &meta, &mut events, &mut sink)?;
        count += 1;
    }
    Ok(count)
}

fn flush_audit<S: Store + ?Sized>(
    store: &S,
    meta: &Meta,
    events: &mut Vec<AuditEvent>,
    sink: &mut impl FnMut(AuditChunk) -> Result<(), SnapshotError>,
) -> Result<(), SnapshotError> {
    let last_seq = events.last().map_or(0, |e| e.seq);
    let proof = audit_log::prove(store, meta.audit_mmr_size, last_seq)?.items;
    sink(AuditChunk { events: std::mem::take(events), proof })
}

/// Collects the nodes the tree restore writes, to be turned into the store's format.
#[derive(Default)]
struct Collector {
    batches: Mutex<Vec<NodeBatch>>,
}

impl TreeWriter for Collector {
    fn write_node_batch(&self, batch: &NodeBatch) -> anyhow::Result<()> {
        self.batches.lock().map_err(|_| anyhow::anyhow!("collector poisoned"))?.push(batch.clone());
        Ok(())
    }
}

/// Takes a snapshot in, chunk by chunk, checking each against the attested bookkeeping.
pub struct Importer {
    meta: Meta,
    restore: Option<JellyfishMerkleRestore<sha2_jmt::Sha256>>,
    collector: Arc<Collector>,
    last_key: Option<KeyHash>,
    writes: WriteBatch,
    audit: MemoryStore,
    audit_size: u64,
    next_seq: u64,
    prev: Hash,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer").field("next_seq", &self.next_seq).field("writes", &self.writes.len()).finish()
    }
}

impl Importer {
    /// An importer of the state whose bookkeeping is `meta` (checked by the caller against
    /// a certified block's attested root: `meta.state_root()`).
    pub fn new(meta: Meta) -> Result<Importer, SnapshotError> {
        let collector = Arc::new(Collector::default());
        let restore = match meta.tree_version {
            Some(version) => Some(
                JellyfishMerkleRestore::new_overwrite(collector.clone(), version, RootHash(meta.tree_root.0))
                    .map_err(|e| refused(format!("cannot start the tree restore: {e}")))?,
            ),
            None => None,
        };
        Ok(Importer {
            meta,
            restore,
            collector,
            last_key: None,
            writes: WriteBatch::new(),
            audit: MemoryStore::new(),
            audit_size: 0,
            next_seq: 0,
            prev: Hash::ZERO,
        })
    }

    /// The bookkeeping being imported.
    pub fn meta(&self) -> Meta {
        self.meta
    }

    /// Events taken in so far.
    pub fn events(&self) -> u64 {
        self.next_seq
    }

    /// Takes in the next state chunk; refuses one that is out of order, malformed or does
    /// not prove against the tree root.
    pub fn add_state_chunk(&mut self, chunk: &StateChunk) -> Result<(), SnapshotError> {
        let Some(restore) = self.restore.as_mut() else { return Err(refused("the attested state has no tree")) };
        if chunk.entries.is_empty() || chunk.entries.len() > STATE_CHUNK_ENTRIES_MAX {
            return Err(refused(format!("a state chunk holds 1 to {STATE_CHUNK_ENTRIES_MAX} entries")));
        }
        let mut pairs = Vec::with_capacity(chunk.entries.len());
        for (key, value) in &chunk.entries {
            if !key.starts_with(STATE_PREFIX) {
                return Err(refused("a state chunk holds a key outside module state"));
            }
            let hash = key_hash(key);
            if self.last_key.is_some_and(|last| last.0 >= hash.0) {
                return Err(refused("state chunk keys are not in increasing key-hash order"));
            }
            self.last_key = Some(hash);
            pairs.push((hash, value.clone()));
        }
        let proof = borsh::from_slice(&chunk.proof).map_err(|e| refused(format!("range proof: {e}")))?;
        restore.add_chunk(pairs, proof).map_err(|e| refused(format!("does not match the state root: {e}")))?;
        for (key, value) in &chunk.entries {
            for index in crate::access::derived_indexes(key, value) {
                self.writes.insert(index, Some(Vec::new()));
            }
            self.writes.insert(key.clone(), Some(value.clone()));
        }
        Ok(())
    }

    /// Takes in the next audit chunk; refuses events out of sequence, not chained to the
    /// previous one, or whose last one the accumulator does not prove.
    pub fn add_audit_chunk(&mut self, chunk: &AuditChunk) -> Result<(), SnapshotError> {
        if chunk.events.is_empty() || chunk.events.len() > AUDIT_CHUNK_EVENTS_MAX {
            return Err(refused(format!("an audit chunk holds 1 to {AUDIT_CHUNK_EVENTS_MAX} events")));
        }
        let mut leaves = Vec::with_capacity(chunk.events.len());
        let mut prev = self.prev;
        let mut seq = self.next_seq;
        for event in &chunk.events {
            if event.seq != seq || event.prev != prev {
                return Err(refused(format!("audit event {seq} is out of sequence or not chained")));
            }
            prev = event.hash();
            leaves.push(prev);
            seq += 1;
        }
        if seq > self.meta.audit_count {
            return Err(refused("more audit events than the attested count"));
        }
        let proof = AuditProof { index: seq - 1, mmr_size: self.meta.audit_mmr_size, items: chunk.proof.clone() };
        if !proof.verify(self.meta.audit_root, prev) {
            return Err(refused("the last event of an audit chunk does not prove against the audit root"));
        }
        let mut batch = WriteBatch::new();
        let (size, _) = audit_log::append(&self.audit, self.audit_size, &leaves, &mut batch)?;
        self.audit.apply(&batch);
        self.writes.extend(batch);
        for event in &chunk.events {
            let mut key = AUDIT_EVENT_PREFIX.to_vec();
            key.extend_from_slice(&event.seq.to_be_bytes());
            self.writes.insert(key, Some(codec::encode(event)));
            for index in crate::audit::index_keys(event) {
                self.writes.insert(index, Some(Vec::new()));
            }
        }
        self.audit_size = size;
        self.next_seq = seq;
        self.prev = prev;
        Ok(())
    }

    /// The writes of the chunks taken in so far (module state, indexes, audit events and
    /// the tree nodes the restore has completed), each already checked against the
    /// attested roots; the caller may store them before the import finishes, as long as it
    /// treats the state as incomplete until [`Importer::finish_over`] succeeds.
    pub fn drain(&mut self) -> Result<WriteBatch, SnapshotError> {
        let batches = std::mem::take(&mut *self.collector.batches.lock().map_err(|_| refused("collector poisoned"))?);
        for batch in &batches {
            authenticated::write_restored(batch, &mut self.writes)?;
        }
        Ok(std::mem::take(&mut self.writes))
    }

    /// Checks that everything attested arrived and returns the writes that hold the state
    /// (module state, tree, audit log, indexes and bookkeeping).
    pub fn finish(self) -> Result<WriteBatch, SnapshotError> {
        self.finish_over(&MemoryStore::new())
    }

    /// As [`Importer::finish`], when earlier writes were taken with [`Importer::drain`] and
    /// stored in `base`: returns the remaining writes.
    pub fn finish_over<B: Store + ?Sized>(mut self, base: &B) -> Result<WriteBatch, SnapshotError> {
        if self.next_seq != self.meta.audit_count || self.audit_size != self.meta.audit_mmr_size {
            return Err(refused(format!("{} of {} audit events arrived", self.next_seq, self.meta.audit_count)));
        }
        if let Some(restore) = self.restore.take() {
            restore.finish().map_err(|e| refused(format!("the state tree is incomplete: {e}")))?;
        }
        let batches = std::mem::take(&mut *self.collector.batches.lock().map_err(|_| refused("collector poisoned"))?);
        for batch in &batches {
            authenticated::write_restored(batch, &mut self.writes)?;
        }
        let root = authenticated::root(&OverlayStore { batch: &self.writes, base }, self.meta.tree_version)?;
        if root != self.meta.tree_root {
            return Err(refused("the rebuilt state tree has another root"));
        }
        self.writes.insert(META_KEY.to_vec(), Some(codec::encode(&self.meta)));
        Ok(self.writes)
    }
}

/// Reads a write batch over a store (for checking the rebuilt tree before writing it).
struct OverlayStore<'a, B: ?Sized> {
    batch: &'a WriteBatch,
    base: &'a B,
}

impl<B: Store + ?Sized> Store for OverlayStore<'_, B> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.batch.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.base.get(key),
        }
    }

    /// Scans the batch only: the root check reads nodes by key.
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<super::Entries, StoreError> {
        let start = after.map_or_else(|| prefix.to_vec(), |a| a.to_vec());
        Ok(self
            .batch
            .range(start..)
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .take(limit)
            .collect())
    }
}

#[cfg(test)]
mod tests;
