//! State as contracts see it during a block: committed storage below, this block's writes
//! above it, and the current transaction's writes on top, so that a failed call is
//! undone by dropping one map.
//!
//! Key spaces (the first bytes of every key):
//! - `s/`: module state, authenticated by the state tree ([`authenticated`]);
//! - `a/`: the audit log, authenticated by its accumulator ([`audit_log`]);
//! - `i/`: indexes for queries, derived from the above and not authenticated;
//! - `j/`: the state tree's own nodes; `m/`: bookkeeping.

pub mod audit_log;
pub mod authenticated;
pub mod snapshot;
pub mod store;

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use panacea_primitives::{Hash, codec};

use crate::audit::AuditEvent;
pub use store::{Entries, MemoryStore, Store, StoreError, WriteBatch};

/// Largest state value decoded, in bytes.
pub const VALUE_BYTES_MAX: usize = 1024 * 1024;

/// Prefix of authenticated module state.
pub const STATE_PREFIX: &[u8] = b"s/";
/// Prefix of stored audit events (`a/e/` + seq, big-endian).
pub const AUDIT_EVENT_PREFIX: &[u8] = b"a/e/";
/// Prefix of query indexes.
pub const INDEX_PREFIX: &[u8] = b"i/";
pub(crate) const META_KEY: &[u8] = b"m/meta";

/// Bookkeeping kept with the state: where the tree and the audit log stand.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Encode, Decode)]
pub struct Meta {
    /// Version of the last state-tree update (`None` before genesis).
    pub tree_version: Option<u64>,
    /// Root of the state tree.
    pub tree_root: Hash,
    /// Number of audit events.
    pub audit_count: u64,
    /// Hash of the last audit event (zero before the first).
    pub audit_last: Hash,
    /// Size of the audit accumulator.
    pub audit_mmr_size: u64,
    /// Root of the audit accumulator.
    pub audit_root: Hash,
}

impl Meta {
    /// Reads the bookkeeping from committed storage.
    pub fn load<S: Store + ?Sized>(store: &S) -> Result<Meta, StoreError> {
        match store.get(META_KEY)? {
            Some(bytes) => codec::decode::<Meta, 256>(&bytes).map_err(|e| StoreError(format!("state meta: {e}"))),
            None => Ok(Meta::default()),
        }
    }

    /// The state root: the tree's root and the audit accumulator's, bound together.
    pub fn state_root(&self) -> Hash {
        Hash::digest_parts(&[
            b"panacea-state-root-v1",
            self.tree_root.as_bytes(),
            self.audit_root.as_bytes(),
            &self.audit_count.to_le_bytes(),
            &self.audit_mmr_size.to_le_bytes(),
        ])
    }
}

/// A stored value could not be read back: corrupt storage, never bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored value does not decode.
    #[error("stored value under {key} does not decode: {reason}")]
    Corrupt {
        /// The key, printable.
        key: String,
        /// Why.
        reason: String,
    },
}

/// The state of one block being executed.
pub struct BlockState<'a> {
    store: &'a dyn Store,
    block: WriteBatch,
    tx: WriteBatch,
    tx_events: Vec<AuditEvent>,
    block_events: Vec<AuditEvent>,
    meta: Meta,
}

impl<'a> BlockState<'a> {
    /// Starts a block on top of committed `store`.
    pub fn new(store: &'a dyn Store) -> Result<BlockState<'a>, StateError> {
        let meta = Meta::load(store)?;
        Ok(BlockState {
            store,
            block: WriteBatch::new(),
            tx: WriteBatch::new(),
            tx_events: Vec::new(),
            block_events: Vec::new(),
            meta,
        })
    }

    /// The committed bookkeeping this block started from.
    pub fn meta(&self) -> Meta {
        self.meta
    }

    /// Raw read through the overlays.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(value) = self.tx.get(key) {
            return Ok(value.clone());
        }
        if let Some(value) = self.block.get(key) {
            return Ok(value.clone());
        }
        Ok(self.store.get(key)?)
    }

    /// Typed read.
    pub fn get<T: Decode<()>>(&self, key: &[u8]) -> Result<Option<T>, StateError> {
        match self.get_raw(key)? {
            Some(bytes) => codec::decode::<T, VALUE_BYTES_MAX>(&bytes).map(Some).map_err(|e| StateError::Corrupt {
                key: String::from_utf8_lossy(key).into_owned(),
                reason: e.to_string(),
            }),
            None => Ok(None),
        }
    }

    /// Typed write, into the current transaction.
    pub fn put<T: Encode>(&mut self, key: Vec<u8>, value: &T) {
        self.tx.insert(key, Some(codec::encode(value)));
    }

    /// Deletion, in the current transaction.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.tx.insert(key, None);
    }

    /// Queues an audit event of the current transaction; `seq`, `prev` and its place in
    /// the log are assigned when the transaction commits.
    pub fn emit(&mut self, event: AuditEvent) {
        self.tx_events.push(event);
    }

    /// Number of events the current transaction queued.
    pub fn pending_events(&self) -> usize {
        self.tx_events.len()
    }

    /// Keeps the current transaction's writes and events; returns the events as logged.
    pub fn commit_tx(&mut self) -> Vec<AuditEvent> {
        let writes = std::mem::take(&mut self.tx);
        self.block.extend(writes);
        let mut logged = Vec::with_capacity(self.tx_events.len());
        for mut event in std::mem::take(&mut self.tx_events) {
            event.seq = self.meta.audit_count;
            event.prev = self.meta.audit_last;
            self.meta.audit_count += 1;
            self.meta.audit_last = event.hash();
            let mut key = AUDIT_EVENT_PREFIX.to_vec();
            key.extend_from_slice(&event.seq.to_be_bytes());
            self.block.insert(key, Some(codec::encode(&event)));
            for index_key in crate::audit::index_keys(&event) {
                self.block.insert(index_key, Some(Vec::new()));
            }
            logged.push(event.clone());
            self.block_events.push(event);
        }
        logged
    }

    /// Drops the current transaction's writes and events.
    pub fn abort_tx(&mut self) {
        self.tx.clear();
        self.tx_events.clear();
    }

    /// Ends the block: updates the state tree (version = previous + 1) and the audit
    /// accumulator, and returns the complete write batch and the new bookkeeping.
    pub fn finish(mut self) -> Result<(WriteBatch, Meta), StateError> {
        self.abort_tx();
        let mut batch = WriteBatch::new();
        let state_writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = self
            .block
            .iter()
            .filter(|(k, _)| k.starts_with(STATE_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut meta = self.meta;
        if !state_writes.is_empty() {
            let version = meta.tree_version.map_or(0, |v| v + 1);
            meta.tree_root = authenticated::update(self.store, version, state_writes, &mut batch)?;
            meta.tree_version = Some(version);
        }
        if !self.block_events.is_empty() {
            let leaves: Vec<Hash> = self.block_events.iter().map(AuditEvent::hash).collect();
            let (size, root) = audit_log::append(self.store, meta.audit_mmr_size, &leaves, &mut batch)?;
            meta.audit_mmr_size = size;
            meta.audit_root = root;
        }
        batch.extend(std::mem::take(&mut self.block));
        batch.insert(META_KEY.to_vec(), Some(codec::encode(&meta)));
        Ok((batch, meta))
    }
}

/// Builds a state key: `s/` + module + `/` + parts, each length-prefixed when variable.
pub fn key(module: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(STATE_PREFIX);
    out.extend_from_slice(module.as_bytes());
    for part in parts {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    out
}

/// Reads committed state outside execution (queries), with the same decoding rules.
pub fn read<T: Decode<()>, S: Store + ?Sized>(store: &S, key: &[u8]) -> Result<Option<T>, StateError> {
    match store.get(key)? {
        Some(bytes) => codec::decode::<T, VALUE_BYTES_MAX>(&bytes)
            .map(Some)
            .map_err(|e| StateError::Corrupt { key: String::from_utf8_lossy(key).into_owned(), reason: e.to_string() }),
        None => Ok(None),
    }
}

/// An ordered map kept as one value: small lists such as a patient's consents.
pub type SmallMap<K, V> = BTreeMap<K, V>;
