//! The node's durable storage: one RocksDB database, a column family per kind of record.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `state` | contract state keys (`s/`, `a/`, `i/`, `j/`, `m/`) | contract values |
//! | `blocks` | height (big-endian) | block |
//! | `block-ids` | block id | height |
//! | `certificates` | height | the commit certificate that made the block final |
//! | `transactions` | transaction id | height, position and outcome ([`StoredReceipt`]) |
//! | `roots` | height | state root after the block |
//! | `consensus` | `safety`, `height`, `pending/<id>` | safety state, committed height, stored uncommitted blocks |
//!
//! Every committed block is one write batch with sync: block, certificate, state writes,
//! transaction index and receipts land together or not at all, and a client is told
//! "committed" only after [`Storage::commit_block`] returns.
//!
//! Each record is stored once: a receipt keeps the position of its audit events in the
//! log, not copies of them (`docs/decisions/0025-leaner-state.md`).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use panacea_consensus::{Block, CommitCertificate, MESSAGE_BYTES_MAX, SafetyState};
use panacea_contracts::state::{Entries, Meta, Store, StoreError, WriteBatch};
use panacea_contracts::{Outcome, Receipt};
use panacea_primitives::{Hash, Height, codec};
use rocksdb::{ColumnFamily, DB, Direction, IteratorMode, Options, WriteOptions};

const CF_STATE: &str = "state";
const CF_BLOCKS: &str = "blocks";
const CF_BLOCK_IDS: &str = "block-ids";
const CF_CERTIFICATES: &str = "certificates";
const CF_TRANSACTIONS: &str = "transactions";
/// The column family of format 1, which kept whole receipts beside the transaction index.
const CF_RECEIPTS_FORMAT_1: &str = "receipts";
const CF_CONSENSUS: &str = "consensus";
const CF_ROOTS: &str = "roots";
/// The API's refusals (401, 403, 429 on signed reads): the node's own record, not chain state.
const CF_REFUSALS: &str = "refusals";
const COLUMN_FAMILIES: [&str; 8] =
    [CF_STATE, CF_BLOCKS, CF_BLOCK_IDS, CF_CERTIFICATES, CF_TRANSACTIONS, CF_CONSENSUS, CF_ROOTS, CF_REFUSALS];
/// Most refusals kept; older ones are deleted as new ones arrive.
pub const REFUSALS_KEPT: u64 = 100_000;

const KEY_SAFETY: &[u8] = b"safety";
const KEY_HEIGHT: &[u8] = b"height";
const PENDING_PREFIX: &[u8] = b"pending/";
const EPOCH_END_PREFIX: &[u8] = b"epoch-end/";

const EPOCH_CHANGE_PREFIX: &[u8] = b"epoch-change/";

fn epoch_change_key(epoch: panacea_primitives::Epoch) -> Vec<u8> {
    [EPOCH_CHANGE_PREFIX, &epoch.0.to_be_bytes()].concat()
}

fn epoch_end_key(height: Height) -> Vec<u8> {
    [EPOCH_END_PREFIX, &height.0.to_be_bytes()].concat()
}

/// The storage format this node writes and reads. Format 1 kept whole receipts (with
/// copies of their audit events) and a second copy of every state value for the state
/// tree; format 2 stores each once.
pub const STORAGE_FORMAT: u32 = 2;
const KEY_FORMAT: &[u8] = b"format";

/// A transaction's place in the chain and its outcome, as stored: the audit events of a
/// successful transaction are named by their place in the audit log, where they are
/// stored once.
#[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct StoredReceipt {
    /// The block's height.
    pub height: Height,
    /// The transaction's position in the block.
    pub position: u32,
    /// What it did.
    pub outcome: StoredOutcome,
}

/// A stored receipt's outcome.
#[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode)]
pub enum StoredOutcome {
    /// The call took effect and appended `events` audit events from `first_event` on.
    Ok {
        /// Sequence number of its first event (0 when it logged none).
        first_event: u64,
        /// How many.
        events: u32,
    },
    /// The call failed.
    Failed {
        /// Stable code.
        code: panacea_contracts::ErrorCode,
        /// What was wrong.
        message: String,
    },
}

impl StoredReceipt {
    /// The record of `receipt`, the `position`-th transaction of the block at `height`.
    /// Its events must be consecutive in the log, as execution appends them.
    pub fn new(height: Height, position: u32, receipt: &Receipt) -> StoredReceipt {
        let outcome = match &receipt.outcome {
            Outcome::Ok { events } => StoredOutcome::Ok {
                first_event: events.first().map_or(0, |e| e.seq),
                events: u32::try_from(events.len()).unwrap_or(u32::MAX),
            },
            Outcome::Failed { code, message } => StoredOutcome::Failed { code: *code, message: message.clone() },
        };
        StoredReceipt { height, position, outcome }
    }
}

/// Largest receipt or certificate read back, in bytes.
const RECORD_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most uncommitted blocks kept across restarts.
pub const PENDING_BLOCKS_MAX: usize = 1_024;

/// Storage failed. The node stops on any of these: it never carries on over state it
/// could not read or write.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB reported an error.
    #[error("database error while {doing}: {source}")]
    Db {
        /// What was being done.
        doing: &'static str,
        /// The error.
        source: rocksdb::Error,
    },
    /// A stored record does not decode: the database is corrupt or from another version.
    #[error("stored {what} does not decode ({reason}); the database is corrupt or from an incompatible version")]
    Corrupt {
        /// Which record.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A database written by a version of the node whose storage format this one does not
    /// read.
    #[error(
        "the database at {path} is in storage format {found}, this node reads format {expected}: move it aside and start the node on an empty data folder, it catches up from its peers (state sync)"
    )]
    Incompatible {
        /// The database's folder.
        path: String,
        /// Its format.
        found: u32,
        /// This node's.
        expected: u32,
    },
    /// A block that does not follow the committed tip.
    #[error("block at height {got} does not follow the committed height {committed}")]
    NotNext {
        /// The block's height.
        got: Height,
        /// The committed height.
        committed: Height,
    },
}

fn db_error(doing: &'static str) -> impl FnOnce(rocksdb::Error) -> StorageError {
    move |source| StorageError::Db { doing, source }
}

fn decode<T: codec::Decode<()>, const LIMIT: usize>(what: &'static str, bytes: &[u8]) -> Result<T, StorageError> {
    codec::decode::<T, LIMIT>(bytes).map_err(|e| StorageError::Corrupt { what, reason: e.to_string() })
}

/// Everything a committed block writes.
#[derive(Debug)]
pub struct BlockCommit<'a> {
    /// The block.
    pub block: &'a Block,
    /// The proof that it is final (`None` only for genesis).
    pub certificate: Option<&'a CommitCertificate>,
    /// The contracts' writes.
    pub state: &'a WriteBatch,
    /// The receipts of its transactions, in order.
    pub receipts: &'a [Receipt],
    /// The state's bookkeeping after the block (its root and where the state tree and
    /// the audit log stand), kept per height so that proofs can name the version.
    pub meta: Meta,
    /// When the block ends an epoch: the proof that it is final, kept for catch-up and
    /// light clients (the uncommitted blocks of the ending epoch are dropped with it).
    pub epoch_end: Option<&'a EpochEnd>,
    /// When the block ends an epoch: the epoch it starts and the encoded light-client proof
    /// of the change (`client-sdk`'s `EpochChange`).
    pub epoch_change: Option<(panacea_primitives::Epoch, &'a [u8])>,
}

impl<'a> BlockCommit<'a> {
    /// A block committed without a certificate that ends no epoch: genesis, and tools that
    /// fill a database.
    pub fn uncertified(block: &'a Block, state: &'a WriteBatch, receipts: &'a [Receipt], meta: Meta) -> Self {
        BlockCommit { block, certificate: None, state, receipts, meta, epoch_end: None, epoch_change: None }
    }
}

/// The proof that a block ending an epoch is final: the certificate that committed it,
/// and when that certificate is for a block above it (committed in the same step, then
/// abandoned by the epoch change), the headers from it up to the certified block.
#[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct EpochEnd {
    /// The commit certificate.
    pub certificate: CommitCertificate,
    /// Headers above the block, up to the certified one (empty when it is certified itself).
    pub suffix: Vec<panacea_consensus::BlockHeader>,
}

/// What one column family holds ([`Storage::usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnUsage {
    /// The column family.
    pub name: &'static str,
    /// Bytes of its live table files (compressed, on disk).
    pub table_bytes: u64,
    /// Bytes of its memtables (not yet flushed; their data is also in the write-ahead log).
    pub memtable_bytes: u64,
    /// RocksDB's estimate of its keys.
    pub keys: u64,
}

/// The node's database.
pub struct Storage {
    db: DB,
    /// Sequence number of the next refusal recorded.
    next_refusal: AtomicU64,
}

/// A request the API refused, as the node records it: who (the key it claimed, if any),
/// which route (its first two segments, never a patient reference) and why.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Refusal {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The public key the request claimed (hex), if any.
    pub key: Option<String>,
    /// The route, e.g. `/v1/patients`.
    pub route: String,
    /// `unauthenticated`, `forbidden` or `rate limited`.
    pub reason: String,
}

impl core::fmt::Debug for Storage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Storage").field("path", &self.db.path()).finish()
    }
}

/// Most bytes of write-ahead log kept before the column families holding its oldest file
/// are flushed.
const WAL_BYTES_MAX: u64 = 128 * 1024 * 1024;

/// The chain database's block cache, shared by its column families.
const BLOCK_CACHE_BYTES: usize = 128 * 1024 * 1024;

impl Storage {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Storage, StorageError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // A write-ahead log file is deleted only once every column family with data in it
        // has flushed. Column families written little (roots, block ids, the consensus
        // records) flush rarely, so by default the log grew to four times all the write
        // buffers (gigabytes: most of the disk a young chain used). Past this size
        // RocksDB flushes the column families that hold the oldest log instead.
        options.set_max_total_wal_size(WAL_BYTES_MAX);
        // Most reads are point reads (state records, state-tree nodes, receipts): a Bloom
        // filter per table spares a read per level for keys a table does not hold, and a
        // larger block cache keeps the upper tree nodes and hot records in memory.
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        table.set_block_cache(&rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES));
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        options.set_block_based_table_factory(&table);
        let existing = DB::list_cf(&options, path).unwrap_or_default();
        if existing.iter().any(|name| name == CF_RECEIPTS_FORMAT_1) {
            return Err(StorageError::Incompatible {
                path: path.display().to_string(),
                found: 1,
                expected: STORAGE_FORMAT,
            });
        }
        let db = DB::open_cf(&options, path, COLUMN_FAMILIES).map_err(db_error("opening the database"))?;
        let storage = Storage { db, next_refusal: AtomicU64::new(0) };
        match storage.get(CF_CONSENSUS, KEY_FORMAT, "reading the storage format")? {
            Some(bytes) => {
                let found = decode::<u32, 8>("storage format", &bytes)?;
                if found != STORAGE_FORMAT {
                    return Err(StorageError::Incompatible {
                        path: path.display().to_string(),
                        found,
                        expected: STORAGE_FORMAT,
                    });
                }
            }
            None => storage
                .db
                .put_cf_opt(storage.cf(CF_CONSENSUS), KEY_FORMAT, codec::encode(&STORAGE_FORMAT), &Self::synced())
                .map_err(db_error("writing the storage format"))?,
        }
        let last = storage.db.iterator_cf(storage.cf(CF_REFUSALS), IteratorMode::End).next();
        if let Some(entry) = last {
            let (key, _) = entry.map_err(db_error("reading the refusal log"))?;
            let seq: [u8; 8] = key
                .as_ref()
                .try_into()
                .map_err(|_| StorageError::Corrupt { what: "refusal log", reason: "a key is not 8 bytes".into() })?;
            storage.next_refusal.store(u64::from_be_bytes(seq) + 1, Ordering::SeqCst);
        }
        Ok(storage)
    }

    fn cf(&self, name: &'static str) -> &ColumnFamily {
        // Every column family is created at open, so a missing handle is a programming bug.
        #[allow(clippy::panic, reason = "column families are created when the database opens")]
        self.db.cf_handle(name).unwrap_or_else(|| panic!("column family {name} exists"))
    }

    fn get(&self, cf: &'static str, key: &[u8], doing: &'static str) -> Result<Option<Vec<u8>>, StorageError> {
        self.db.get_cf(self.cf(cf), key).map_err(db_error(doing))
    }

    fn synced() -> WriteOptions {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        options
    }

    /// Records a refusal (not synced: losing the last few in a crash is acceptable, slowing
    /// every refused request with a sync is not). Keeps the last [`REFUSALS_KEPT`].
    pub fn record_refusal(&self, refusal: &Refusal) -> Result<(), StorageError> {
        let seq = self.next_refusal.fetch_add(1, Ordering::SeqCst);
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(self.cf(CF_REFUSALS), seq.to_be_bytes(), codec::encode(refusal));
        if let Some(old) = seq.checked_sub(REFUSALS_KEPT) {
            batch.delete_cf(self.cf(CF_REFUSALS), old.to_be_bytes());
        }
        self.db.write(batch).map_err(db_error("recording a refusal"))
    }

    /// Up to `limit` refusals after sequence number `after` (from the oldest kept when
    /// `None`), oldest first, with their sequence numbers.
    pub fn refusals(&self, after: Option<u64>, limit: usize) -> Result<Vec<(u64, Refusal)>, StorageError> {
        let start = after.map_or(0, |a| a.saturating_add(1)).to_be_bytes();
        let mode = IteratorMode::From(&start, Direction::Forward);
        let mut out = Vec::new();
        for entry in self.db.iterator_cf(self.cf(CF_REFUSALS), mode).take(limit) {
            let (key, value) = entry.map_err(db_error("reading the refusal log"))?;
            let seq: [u8; 8] = key
                .as_ref()
                .try_into()
                .map_err(|_| StorageError::Corrupt { what: "refusal log", reason: "a key is not 8 bytes".into() })?;
            out.push((u64::from_be_bytes(seq), decode::<Refusal, 4096>("refusal", &value)?));
        }
        Ok(out)
    }

    /// Height of the last committed block (`None` before genesis).
    pub fn committed_height(&self) -> Result<Option<Height>, StorageError> {
        match self.get(CF_CONSENSUS, KEY_HEIGHT, "reading the committed height")? {
            Some(bytes) => Ok(Some(decode::<Height, 8>("committed height", &bytes)?)),
            None => Ok(None),
        }
    }

    /// Writes a committed block and everything it changed, atomically and synced.
    pub fn commit_block(&self, commit: &BlockCommit<'_>) -> Result<(), StorageError> {
        let height = commit.block.header.height;
        let expected = self.committed_height()?.map_or(Height::ZERO, Height::next);
        if height != expected {
            return Err(StorageError::NotNext { got: height, committed: expected.prev() });
        }
        let key = height.0.to_be_bytes();
        let id = commit.block.id();
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(self.cf(CF_BLOCKS), key, codec::encode(commit.block));
        batch.put_cf(self.cf(CF_BLOCK_IDS), id.as_bytes(), key);
        batch.put_cf(self.cf(CF_ROOTS), key, codec::encode(&commit.meta));
        if let Some(certificate) = commit.certificate {
            batch.put_cf(self.cf(CF_CERTIFICATES), key, codec::encode(certificate));
        }
        for (state_key, value) in commit.state {
            match value {
                Some(value) => batch.put_cf(self.cf(CF_STATE), state_key, value),
                None => batch.delete_cf(self.cf(CF_STATE), state_key),
            }
        }
        for (position, receipt) in commit.receipts.iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            let stored = StoredReceipt::new(height, position, receipt);
            batch.put_cf(self.cf(CF_TRANSACTIONS), receipt.tx.as_bytes(), codec::encode(&stored));
        }
        if let Some(end) = commit.epoch_end {
            batch.put_cf(self.cf(CF_CONSENSUS), epoch_end_key(height), codec::encode(end));
        }
        if let Some((epoch, change)) = commit.epoch_change {
            batch.put_cf(self.cf(CF_CONSENSUS), epoch_change_key(epoch), change);
        }
        for pending in self.pending_blocks()? {
            if pending.header.height <= height || commit.epoch_end.is_some() {
                batch.delete_cf(self.cf(CF_CONSENSUS), pending_key(&pending.id()));
            }
        }
        batch.put_cf(self.cf(CF_CONSENSUS), KEY_HEIGHT, codec::encode(&height));
        self.db.write_opt(batch, &Self::synced()).map_err(db_error("committing a block"))
    }

    /// The committed block at `height`.
    pub fn block(&self, height: Height) -> Result<Option<Block>, StorageError> {
        match self.get(CF_BLOCKS, &height.0.to_be_bytes(), "reading a block")? {
            Some(bytes) => Ok(Some(decode::<Block, MESSAGE_BYTES_MAX>("block", &bytes)?)),
            None => Ok(None),
        }
    }

    /// The height of the committed block `id`.
    pub fn height_of(&self, id: &Hash) -> Result<Option<Height>, StorageError> {
        match self.get(CF_BLOCK_IDS, id.as_bytes(), "reading a block id")? {
            Some(bytes) => {
                let raw: [u8; 8] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| StorageError::Corrupt { what: "block id index", reason: "not 8 bytes".into() })?;
                Ok(Some(Height(u64::from_be_bytes(raw))))
            }
            None => Ok(None),
        }
    }

    /// The proof that the block at `height`, which ended an epoch, is final.
    pub fn epoch_end(&self, height: Height) -> Result<Option<EpochEnd>, StorageError> {
        match self.get(CF_CONSENSUS, &epoch_end_key(height), "reading an epoch's end")? {
            Some(bytes) => Ok(Some(decode::<EpochEnd, RECORD_BYTES_MAX>("an epoch's end", &bytes)?)),
            None => Ok(None),
        }
    }

    /// The certificate stored with the block at `height`, if any.
    pub fn certificate(&self, height: Height) -> Result<Option<CommitCertificate>, StorageError> {
        match self.get(CF_CERTIFICATES, &height.0.to_be_bytes(), "reading a certificate")? {
            Some(bytes) => Ok(Some(decode::<CommitCertificate, RECORD_BYTES_MAX>("certificate", &bytes)?)),
            None => Ok(None),
        }
    }

    /// The state root after the committed block at `height`.
    pub fn state_root(&self, height: Height) -> Result<Option<Hash>, StorageError> {
        Ok(self.state_meta(height)?.map(|meta| meta.state_root()))
    }

    /// The state's bookkeeping after the committed block at `height`.
    pub fn state_meta(&self, height: Height) -> Result<Option<Meta>, StorageError> {
        match self.get(CF_ROOTS, &height.0.to_be_bytes(), "reading a state root")? {
            Some(bytes) => Ok(Some(decode::<Meta, 256>("state meta", &bytes)?)),
            None => Ok(None),
        }
    }

    /// True if transaction `tx` is in a committed block.
    pub fn has_transaction(&self, tx: &Hash) -> Result<bool, StorageError> {
        Ok(self.get(CF_TRANSACTIONS, tx.as_bytes(), "reading the transaction index")?.is_some())
    }

    /// The receipt of transaction `tx` and the height of its block, its audit events read
    /// back from the log.
    pub fn receipt(&self, tx: &Hash) -> Result<Option<(Height, Receipt)>, StorageError> {
        let Some(bytes) = self.get(CF_TRANSACTIONS, tx.as_bytes(), "reading the transaction index")? else {
            return Ok(None);
        };
        let stored = decode::<StoredReceipt, RECORD_BYTES_MAX>("receipt", &bytes)?;
        let outcome = match stored.outcome {
            StoredOutcome::Failed { code, message } => Outcome::Failed { code, message },
            StoredOutcome::Ok { first_event, events } => {
                let mut out = Vec::with_capacity(usize::try_from(events).unwrap_or(0).min(1_024));
                for seq in (0..u64::from(events)).map(|i| first_event.saturating_add(i)) {
                    let event = panacea_contracts::audit::event(&self.state(), seq)
                        .map_err(|e| StorageError::Corrupt { what: "receipt's audit event", reason: e.to_string() })?
                        .ok_or_else(|| StorageError::Corrupt {
                            what: "receipt's audit event",
                            reason: format!("event {seq} is not in the log"),
                        })?;
                    out.push(event);
                }
                Outcome::Ok { events: out }
            }
        };
        Ok(Some((stored.height, Receipt { tx: *tx, outcome })))
    }

    /// The encoded proof of the change that started `epoch` (a light client's
    /// `EpochChange`), if this node recorded it.
    pub fn epoch_change(&self, epoch: panacea_primitives::Epoch) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(CF_CONSENSUS, &epoch_change_key(epoch), "reading an epoch change")
    }

    /// Writes the safety state, synced: call before the vote it protects leaves.
    pub fn save_safety(&self, safety: &SafetyState) -> Result<(), StorageError> {
        self.db
            .put_cf_opt(self.cf(CF_CONSENSUS), KEY_SAFETY, safety.encode(), &Self::synced())
            .map_err(db_error("writing the safety state"))
    }

    /// The safety state persisted last.
    pub fn load_safety(&self) -> Result<Option<SafetyState>, StorageError> {
        match self.get(CF_CONSENSUS, KEY_SAFETY, "reading the safety state")? {
            Some(bytes) => SafetyState::decode(&bytes)
                .map(Some)
                .map_err(|e| StorageError::Corrupt { what: "safety state", reason: e.to_string() }),
            None => Ok(None),
        }
    }

    /// Stores an uncommitted block, synced (before the vote for it leaves).
    pub fn save_pending_block(&self, block: &Block) -> Result<(), StorageError> {
        self.db
            .put_cf_opt(self.cf(CF_CONSENSUS), pending_key(&block.id()), codec::encode(block), &Self::synced())
            .map_err(db_error("storing an uncommitted block"))
    }

    /// Stores an uncommitted block and the safety state that records the vote for it, in
    /// one synced batch: one sync per vote instead of two.
    pub fn save_pending_block_and_safety(&self, block: &Block, safety: &SafetyState) -> Result<(), StorageError> {
        let mut batch = rocksdb::WriteBatch::default();
        batch.put_cf(self.cf(CF_CONSENSUS), pending_key(&block.id()), codec::encode(block));
        batch.put_cf(self.cf(CF_CONSENSUS), KEY_SAFETY, safety.encode());
        self.db.write_opt(batch, &Self::synced()).map_err(db_error("storing a voted block and the safety state"))
    }

    /// The stored uncommitted blocks (at most [`PENDING_BLOCKS_MAX`]).
    pub fn pending_blocks(&self) -> Result<Vec<Block>, StorageError> {
        let mode = IteratorMode::From(PENDING_PREFIX, Direction::Forward);
        let mut out = Vec::new();
        for entry in self.db.iterator_cf(self.cf(CF_CONSENSUS), mode) {
            let (key, value) = entry.map_err(db_error("reading uncommitted blocks"))?;
            if !key.starts_with(PENDING_PREFIX) || out.len() >= PENDING_BLOCKS_MAX {
                break;
            }
            out.push(decode::<Block, MESSAGE_BYTES_MAX>("uncommitted block", &value)?);
        }
        Ok(out)
    }

    /// What each column family holds: live table files, memtables and an estimate of its
    /// keys, read from RocksDB's properties (cheap: no scan). Exported as metrics.
    pub fn usage(&self) -> Result<Vec<ColumnUsage>, StorageError> {
        let mut out = Vec::with_capacity(COLUMN_FAMILIES.len());
        for name in COLUMN_FAMILIES {
            let cf = self.cf(name);
            let property = |property: &str| -> Result<u64, StorageError> {
                Ok(self.db.property_int_value_cf(cf, property).map_err(db_error("reading a property"))?.unwrap_or(0))
            };
            out.push(ColumnUsage {
                name,
                table_bytes: property("rocksdb.live-sst-files-size")?,
                memtable_bytes: property("rocksdb.cur-size-all-mem-tables")?,
                keys: property("rocksdb.estimate-num-keys")?,
            });
        }
        Ok(out)
    }

    /// Flushes every memtable and compacts every column family to its last level, so that
    /// table sizes show what the data costs at rest (measurements and maintenance only:
    /// it rewrites the whole database).
    pub fn compact(&self) -> Result<(), StorageError> {
        for name in COLUMN_FAMILIES {
            let cf = self.cf(name);
            self.db.flush_cf(cf).map_err(db_error("flushing a memtable"))?;
            self.db.compact_range_cf::<&[u8], &[u8]>(cf, None, None);
        }
        Ok(())
    }

    /// The contract state, as the contracts read it.
    pub fn state(&self) -> StateStore<'_> {
        StateStore { storage: self }
    }
}

fn pending_key(id: &Hash) -> Vec<u8> {
    [PENDING_PREFIX, id.as_bytes()].concat()
}

/// The contract state inside [`Storage`], behind the contracts' [`Store`] trait.
#[derive(Debug, Clone, Copy)]
pub struct StateStore<'a> {
    storage: &'a Storage,
}

impl Store for StateStore<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.storage.get(CF_STATE, key, "reading contract state").map_err(|e| StoreError(e.to_string()))
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Entries, StoreError> {
        let start = after.unwrap_or(prefix);
        let mode = IteratorMode::From(start, Direction::Forward);
        let mut out = Vec::new();
        for entry in self.storage.db.iterator_cf(self.storage.cf(CF_STATE), mode) {
            let (key, value) = entry.map_err(|e| StoreError(format!("scanning contract state: {e}")))?;
            if after.is_some_and(|after| *key == *after) {
                continue;
            }
            if !key.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }
}

mod import;
#[cfg(test)]
mod tests;
