//! State sync's side of storage: checkpoints that snapshots are exported from, and a
//! snapshot import, which replaces the state of a node that has committed nothing but
//! genesis and makes the snapshot's block its committed tip.
//!
//! An import stores its checked chunks as they arrive (unsynced) under a marker; only the
//! last write, synced, sets the committed height. A node that stops during an import finds
//! the marker when it opens again and starts over from genesis: nothing half-imported is
//! ever taken for committed state.

use std::path::Path;

use panacea_consensus::Block;
use panacea_contracts::state::{Meta, WriteBatch};
use panacea_primitives::{Epoch, Height, codec};
use rocksdb::{DB, IteratorMode, Options};

use super::{
    CF_BLOCK_IDS, CF_BLOCKS, CF_CERTIFICATES, CF_CONSENSUS, CF_ROOTS, CF_STATE, CF_TRANSACTIONS, COLUMN_FAMILIES,
    KEY_HEIGHT, Storage, StorageError, db_error, decode, epoch_change_key,
};

/// Marks an import in progress.
const KEY_IMPORTING: &[u8] = b"importing";
/// The height whose snapshot this node's state was imported from (absent: replayed from
/// genesis).
const KEY_SYNCED_FROM: &[u8] = b"synced-from";

/// The column families that hold the chain (all but the API's refusal log).
const CHAIN_FAMILIES: [&str; 7] =
    [CF_STATE, CF_BLOCKS, CF_BLOCK_IDS, CF_CERTIFICATES, CF_TRANSACTIONS, CF_CONSENSUS, CF_ROOTS];

impl Storage {
    /// Opens a checkpoint (or any chain database) read-only.
    pub fn open_read_only(path: &Path) -> Result<Storage, StorageError> {
        let options = Options::default();
        let db = DB::open_cf_for_read_only(&options, path, COLUMN_FAMILIES, false)
            .map_err(db_error("opening a checkpoint"))?;
        Ok(Storage { db, next_refusal: std::sync::atomic::AtomicU64::new(0) })
    }

    /// A consistent copy of the database at `path` (hard links to its files, so it costs
    /// little disk until the database compacts away from them).
    pub fn checkpoint(&self, path: &Path) -> Result<(), StorageError> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)
            .and_then(|checkpoint| checkpoint.create_checkpoint(path))
            .map_err(db_error("creating a checkpoint"))
    }

    /// The first height above genesis whose block this node holds: 1 for a node that
    /// replayed the chain, the snapshot's height for one that imported a snapshot (it has
    /// no blocks, transactions or receipts below it).
    pub fn history_from(&self) -> Result<Height, StorageError> {
        match self.get(CF_CONSENSUS, KEY_SYNCED_FROM, "reading where history starts")? {
            Some(bytes) => decode::<Height, 8>("synced-from height", &bytes),
            None => Ok(Height(1)),
        }
    }

    /// True if an import was under way when the node stopped.
    pub fn import_interrupted(&self) -> Result<bool, StorageError> {
        Ok(self.get(CF_CONSENSUS, KEY_IMPORTING, "reading the import marker")?.is_some())
    }

    /// Deletes everything the chain wrote (after an interrupted import): the node starts
    /// again from genesis.
    pub fn wipe_chain(&self) -> Result<(), StorageError> {
        for name in CHAIN_FAMILIES {
            let cf = self.cf(name);
            let mut batch = rocksdb::WriteBatch::default();
            for entry in self.db.iterator_cf(cf, IteratorMode::Start) {
                let (key, _) = entry.map_err(db_error("wiping the chain"))?;
                if name == CF_CONSENSUS && *key == *super::KEY_FORMAT {
                    continue;
                }
                batch.delete_cf(cf, key);
                if batch.len() >= 65_536 {
                    self.db.write(std::mem::take(&mut batch)).map_err(db_error("wiping the chain"))?;
                }
            }
            self.db.write_opt(batch, &Self::synced()).map_err(db_error("wiping the chain"))?;
        }
        Ok(())
    }

    /// Starts an import: marks it (synced) and clears the state. Only a node that has
    /// committed nothing but genesis imports.
    pub fn begin_import(&self) -> Result<(), StorageError> {
        let committed = self.committed_height()?.unwrap_or(Height::ZERO);
        if committed > Height::ZERO {
            return Err(StorageError::NotNext { got: Height::ZERO, committed });
        }
        self.db
            .put_cf_opt(self.cf(CF_CONSENSUS), KEY_IMPORTING, [1u8], &Self::synced())
            .map_err(db_error("marking an import"))?;
        let cf = self.cf(CF_STATE);
        let mut batch = rocksdb::WriteBatch::default();
        for entry in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (key, _) = entry.map_err(db_error("clearing the state for an import"))?;
            batch.delete_cf(cf, key);
        }
        self.db.write(batch).map_err(db_error("clearing the state for an import"))
    }

    /// Stores checked state writes of an import in progress (not synced: the marker makes
    /// a crash start over).
    pub fn import_writes(&self, writes: &WriteBatch) -> Result<(), StorageError> {
        let cf = self.cf(CF_STATE);
        let mut batch = rocksdb::WriteBatch::default();
        for (key, value) in writes {
            match value {
                Some(value) => batch.put_cf(cf, key, value),
                None => batch.delete_cf(cf, key),
            }
        }
        self.db.write(batch).map_err(db_error("storing an imported chunk"))
    }

    /// Ends an import, synced and at once: the last state writes, the snapshot's block as
    /// the committed tip with its bookkeeping, and the epoch changes the node checked.
    pub fn finish_import(
        &self,
        block: &Block,
        meta: Meta,
        writes: &WriteBatch,
        epoch_changes: &[(Epoch, Vec<u8>)],
    ) -> Result<(), StorageError> {
        let height = block.header.height;
        let key = height.0.to_be_bytes();
        let mut batch = rocksdb::WriteBatch::default();
        for (state_key, value) in writes {
            match value {
                Some(value) => batch.put_cf(self.cf(CF_STATE), state_key, value),
                None => batch.delete_cf(self.cf(CF_STATE), state_key),
            }
        }
        batch.put_cf(self.cf(CF_BLOCKS), key, codec::encode(block));
        batch.put_cf(self.cf(CF_BLOCK_IDS), block.id().as_bytes(), key);
        batch.put_cf(self.cf(CF_ROOTS), key, codec::encode(&meta));
        for (epoch, change) in epoch_changes {
            batch.put_cf(self.cf(CF_CONSENSUS), epoch_change_key(*epoch), change);
        }
        batch.put_cf(self.cf(CF_CONSENSUS), KEY_SYNCED_FROM, codec::encode(&height));
        batch.put_cf(self.cf(CF_CONSENSUS), KEY_HEIGHT, codec::encode(&height));
        batch.delete_cf(self.cf(CF_CONSENSUS), KEY_IMPORTING);
        self.db.write_opt(batch, &Self::synced()).map_err(db_error("finishing an import"))
    }
}
