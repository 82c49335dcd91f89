//! The storage contracts read committed state from, and the batch of writes a block
//! produces. The node backs it with RocksDB; tests with [`MemoryStore`].

use std::collections::BTreeMap;

/// Storage failed. Fatal for the node: a replica must not guess at state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state storage failed: {0}")]
pub struct StoreError(pub String);

/// Entries returned by a scan: `(key, value)` in ascending key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Read access to committed state: a sorted key-value map of bytes.
///
/// Implementors must return exactly what the last applied [`WriteBatch`] left (reads are
/// of committed state only, never of a half-applied block), and `scan` must return keys
/// in ascending byte order.
pub trait Store {
    /// The value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Up to `limit` entries whose key starts with `prefix` and is greater than `after`
    /// (from the first when `None`), in ascending key order.
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Entries, StoreError>;
}

/// The writes of one block, to apply atomically (`None` deletes).
pub type WriteBatch = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A store in memory, for tests, benchmarks and tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Applies a block's writes.
    pub fn apply(&mut self, batch: &WriteBatch) {
        for (key, value) in batch {
            match value {
                Some(value) => {
                    self.entries.insert(key.clone(), value.clone());
                }
                None => {
                    self.entries.remove(key);
                }
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries.get(key).cloned())
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Entries, StoreError> {
        use std::ops::Bound;
        let start = match after {
            Some(after) => Bound::Excluded(after.to_vec()),
            None => Bound::Included(prefix.to_vec()),
        };
        Ok(self
            .entries
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
