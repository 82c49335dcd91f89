//! The off-chain document store: its own RocksDB (`HOME/documents`), apart from consensus
//! state. Everything in it is encrypted:
//!
//! - a custodian's documents at rest, in chunks sealed under a per-document data key;
//! - the data key and the document's salt, wrapped under the node's storage key
//!   (`keys/storage_key.json`), in a column family of their own, so that crypto-shredding
//!   destroys a handful of bytes rather than rewriting content;
//! - the outbox: per delivery, the delivery key (wrapped) and the HPKE envelope that
//!   carries it to the requesting identity, so that a resumed transfer seals the same way;
//! - the inbox: chunks delivered to this node's identities, still sealed under delivery
//!   keys only those identities can open, and where each delivery stands.
//!
//! Invariants:
//!
//! - A document is published (its key and record written, in one synced batch) only once
//!   every chunk is stored and the content matches the SHA-256 its uploader signed. Until
//!   then its chunks are staged under an upload marker; a failed or aborted upload drops
//!   them, and opening the store drops those of an upload a crash interrupted.
//! - Whatever a delivery depends on after a power loss is synced before it is used: a
//!   published document, a delivery's key and envelope, each delivered chunk.
//! - After `shred` returns, no file of the store holds the document's keys: every memtable
//!   is flushed (so the write-ahead logs that held them are deleted), the key ranges touched
//!   are compacted (so no table keeps the old values), and `shred` waits for those files
//!   to be deleted. Write-ahead logs are never recycled or archived.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bincode::{Decode, Encode};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use panacea_client_sdk::sharing::{
    CHUNK_BYTES, ChunkContext, Commitment, ContentDigest, DOCUMENT_CHUNKS_MAX, Envelope, SharingError, open_chunk,
    seal_chunk,
};
use panacea_contracts::codes::DataClass;
use panacea_contracts::ids::{DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};
use panacea_primitives::{Hash, codec};
use rocksdb::{ColumnFamily, DB, Options, WriteBatch, WriteOptions};

const CF_DOCUMENTS: &str = "documents";
const CF_KEYS: &str = "keys";
const CF_CHUNKS: &str = "chunks";
const CF_OUTBOX: &str = "outbox";
const CF_INBOX: &str = "inbox";
/// The ids of deliveries still in progress (fetching or awaiting confirmation), so the
/// worker's scan does not grow with the deliveries completed.
const CF_PENDING: &str = "pending";
/// The worker's bookkeeping: the last committed height whose events it has handled, the
/// bytes of content held, the uploads in progress, the version of the indexes.
const CF_META: &str = "meta";
/// Deliveries by recipient identity (`recipient || decision || document`), so a signer's
/// deliveries are found without reading anyone else's.
const CF_BY_RECIPIENT: &str = "by-recipient";
/// Deliveries (in the inbox or the outbox) by document (`document || decision`), so an
/// erasure finds every copy of its document without a scan.
const CF_BY_DOCUMENT: &str = "by-document";
const FAMILIES: [&str; 9] =
    [CF_DOCUMENTS, CF_KEYS, CF_CHUNKS, CF_OUTBOX, CF_INBOX, CF_PENDING, CF_META, CF_BY_RECIPIENT, CF_BY_DOCUMENT];
const CURSOR_KEY: &[u8] = b"cursor";
/// The bytes of content of the documents held (published), big-endian.
const STORED_BYTES_KEY: &[u8] = b"stored-bytes";
/// Present once the indexes are built (a store written before them builds them at open).
const INDEXES_KEY: &[u8] = b"indexes-v1";
/// `upload/<upload id>`: an upload in progress, whose chunks go if it never completes.
const UPLOAD_PREFIX: &[u8] = b"upload/";
/// Each column family's memtable size.
const WRITE_BUFFER_BYTES: usize = 4 * 1024 * 1024;
/// The store's block cache.
const BLOCK_CACHE_BYTES: usize = 8 * 1024 * 1024;
/// Largest stored chunk.
const SEALED_CHUNK_MAX: usize = CHUNK_BYTES + 64;
/// Longest an erasure waits for RocksDB to delete the files that held the erased keys.
const PURGE_WAIT_MAX: Duration = Duration::from_secs(10);

/// The document store failed, or a stored value is corrupt or tampered with.
#[derive(Debug, thiserror::Error)]
pub enum DocStoreError {
    /// RocksDB failed.
    #[error("document store: {0}")]
    Db(#[from] rocksdb::Error),
    /// A stored value does not decode or authenticate.
    #[error("document store: {0}")]
    Corrupt(String),
    /// Not here (never stored, or shredded).
    #[error("no such document or delivery in this node's store")]
    Missing,
    /// The operating system's random source failed.
    #[error("cannot draw randomness: {0}")]
    Random(String),
    /// Content failed authentication.
    #[error(transparent)]
    Sharing(#[from] SharingError),
    /// Too large.
    #[error("documents are limited to {0} chunks")]
    TooLarge(u32),
    /// The upload's body broke off (the client went away, or the body failed) before its
    /// end; nothing of it was kept.
    #[error("the upload broke off before its end ({0}); nothing was stored")]
    Aborted(String),
    /// The body is not the content whose SHA-256 the uploader signed; nothing was kept.
    #[error(
        "the body's SHA-256 is {received}, not the {announced} the request announced and signed; nothing was stored"
    )]
    ContentMismatch {
        /// The SHA-256 the request announced.
        announced: Hash,
        /// The SHA-256 of the body received.
        received: Hash,
    },
    /// The store holds its organisation's limit of content bytes.
    #[error(
        "the document store would exceed its limit of {bytes_max} bytes ([sharing] store_bytes_max); erase documents or raise the limit"
    )]
    StoreFull {
        /// The limit.
        bytes_max: u64,
    },
    /// An erasure could not make RocksDB delete every file that held the erased keys.
    #[error("the erased keys may remain in {0}: RocksDB did not delete it in time")]
    PurgeIncomplete(String),
}

/// What the store knows of a custodian's document.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct StoredDocument {
    /// Its commitment.
    pub document: DocumentHash,
    /// About whom.
    pub patient: PatientRef,
    /// What kind of data.
    pub data_class: DataClass,
    /// Content length.
    pub bytes: u64,
    /// Chunk count.
    pub chunks: u32,
}

/// An upload: what the document is, what its uploader signed, and what the store may hold.
#[derive(Debug, Clone)]
pub struct Upload {
    /// About whom.
    pub patient: PatientRef,
    /// What kind of data.
    pub data_class: DataClass,
    /// The SHA-256 of the whole content, as the uploader announced and signed it.
    pub content_sha256: Hash,
    /// Most bytes of content the store may hold, this upload included.
    pub store_bytes_max: u64,
}

/// Where a delivery to this node stands.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct InboxEntry {
    /// The grant.
    pub decision: DecisionId,
    /// The document.
    pub document: DocumentHash,
    /// The custodian.
    pub custodian: OrgId,
    /// The identity it is for.
    pub recipient: IdentityId,
    /// The envelope (set by the first chunk).
    pub envelope: Option<Envelope>,
    /// Content length and chunk count (set by the first chunk).
    pub bytes: u64,
    /// Chunk count.
    pub chunks: u32,
    /// Chunks received, in order.
    pub received: u32,
    /// Where it stands.
    pub state: InboxState,
}

/// The life of a delivery at the requester.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum InboxState {
    /// Chunks still to fetch.
    Fetching,
    /// All chunks here; the on-chain confirmation is still to be committed.
    Received,
    /// Confirmed on chain.
    Confirmed,
    /// The custodian refused for good (grant revoked, expired, document erased), or its
    /// answers could never be accepted (a claim beyond the document limit).
    Refused(String),
    /// Shredded.
    Erased,
}

/// A delivery's sealing material at the custodian.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct OutboxEntry {
    wrapped_key: Vec<u8>,
    envelope: Envelope,
}

/// A stored document's data key, salt and upload id.
type Secrets = ([u8; 32], [u8; 32], [u8; 32]);

/// The bytes of content held and reserved by uploads in progress.
#[derive(Debug, Default)]
struct Usage {
    stored: u64,
    reserved: u64,
}

/// The store.
pub struct DocStore {
    db: DB,
    storage_key: [u8; 32],
    /// The options the store was opened with: their statistics count WAL syncs.
    options: Options,
    usage: Mutex<Usage>,
    /// Held while a delivery's sealing material is created, so that two chunk requests of
    /// one delivery answered at once cannot draw two different delivery keys.
    outbox_creation: Mutex<()>,
}

impl std::fmt::Debug for DocStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocStore").field("path", &self.db.path()).finish()
    }
}

fn random32() -> Result<[u8; 32], DocStoreError> {
    let mut out = [0u8; 32];
    getrandom::fill(&mut out).map_err(|e| DocStoreError::Random(e.to_string()))?;
    Ok(out)
}

fn chunk_key(space: u8, binding: &[u8], index: u32) -> Vec<u8> {
    [&[space][..], binding, &index.to_be_bytes()].concat()
}

fn delivery_id(decision: &DecisionId, document: &DocumentHash) -> Vec<u8> {
    [decision.0.as_bytes().as_slice(), document.0.as_bytes()].concat()
}

fn recipient_key(recipient: &IdentityId, decision: &DecisionId, document: &DocumentHash) -> Vec<u8> {
    [recipient.0.as_bytes().as_slice(), decision.0.as_bytes(), document.0.as_bytes()].concat()
}

fn document_key(document: &DocumentHash, decision: &DecisionId) -> Vec<u8> {
    [document.0.as_bytes().as_slice(), decision.0.as_bytes()].concat()
}

fn upload_marker(upload: &[u8; 32]) -> Vec<u8> {
    [UPLOAD_PREFIX, upload.as_slice()].concat()
}

fn hash_at(bytes: &[u8], at: usize) -> Option<Hash> {
    bytes.get(at..at + 32).and_then(|b| <[u8; 32]>::try_from(b).ok()).map(Hash)
}

fn synced() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

const AT_REST: u8 = b'r';
const INBOX: u8 = b'i';

/// Bytes an upload in progress has reserved against the store's limit; released when
/// dropped (the upload is then published, and counted as stored, or abandoned).
struct Reservation<'a> {
    store: &'a DocStore,
    bytes: u64,
}

impl Reservation<'_> {
    /// Reserves `bytes` more, if the store stays within `bytes_max`.
    fn grow(&mut self, bytes: u64, bytes_max: u64) -> Result<(), DocStoreError> {
        let mut usage = self.store.usage();
        if usage.stored.saturating_add(usage.reserved).saturating_add(bytes) > bytes_max {
            return Err(DocStoreError::StoreFull { bytes_max });
        }
        usage.reserved += bytes;
        self.bytes += bytes;
        Ok(())
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut usage = self.store.usage();
        usage.reserved = usage.reserved.saturating_sub(self.bytes);
    }
}

impl DocStore {
    /// Opens (or creates) the store at `path`, with the node's storage key. Drops the
    /// chunks of uploads a crash interrupted, and builds the indexes of a store written
    /// before them.
    pub fn open(path: &Path, storage_key: [u8; 32]) -> Result<DocStore, DocStoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        // Values are 1 MiB chunks: small write buffers (shared cap across families) and a
        // small block cache keep a node's memory flat while a large study streams through.
        options.set_write_buffer_size(WRITE_BUFFER_BYTES);
        options.set_max_write_buffer_number(2);
        options.set_db_write_buffer_size(4 * WRITE_BUFFER_BYTES);
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_block_cache(&rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES));
        options.set_block_based_table_factory(&table);
        // Everything stored is sealed, so compression gains nothing.
        options.set_compression_type(rocksdb::DBCompressionType::None);
        // Crypto-shredding relies on RocksDB deleting a write-ahead log once no memtable
        // needs it: never reuse a log file (its old records would stay in it until
        // overwritten) and never keep obsolete ones in an archive. These are RocksDB's
        // defaults; they are set so that a change of defaults cannot weaken erasure.
        options.set_recycle_log_file_num(0);
        options.set_wal_ttl_seconds(0);
        options.set_wal_size_limit_mb(0);
        options.enable_statistics();
        let db = DB::open_cf(&options, path, FAMILIES)?;
        let store =
            DocStore { db, storage_key, options, usage: Mutex::new(Usage::default()), outbox_creation: Mutex::new(()) };
        store.drop_interrupted_uploads()?;
        store.build_indexes()?;
        let stored = store.stored_bytes_recorded()?;
        store.usage().stored = stored;
        Ok(store)
    }

    fn cf(&self, name: &'static str) -> &ColumnFamily {
        #[allow(clippy::panic, reason = "column families are created when the store opens")]
        self.db.cf_handle(name).unwrap_or_else(|| panic!("column family {name} exists"))
    }

    fn usage(&self) -> MutexGuard<'_, Usage> {
        // Nothing panics while holding it; a poisoned count is still the best one there is.
        self.usage.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bytes of content of the documents this store holds.
    pub fn stored_bytes(&self) -> u64 {
        self.usage().stored
    }

    /// True if `bytes` more fit under `bytes_max`, counting the uploads in progress.
    pub fn has_room(&self, bytes: u64, bytes_max: u64) -> bool {
        let usage = self.usage();
        usage.stored.saturating_add(usage.reserved).saturating_add(bytes) <= bytes_max
    }

    fn stored_bytes_recorded(&self) -> Result<u64, DocStoreError> {
        match self.db.get_cf(self.cf(CF_META), STORED_BYTES_KEY)? {
            Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| DocStoreError::Corrupt("a malformed count of stored bytes".into())),
            None => Ok(0),
        }
    }

    /// Drops the chunks of every upload that never completed (the node stopped mid-upload).
    fn drop_interrupted_uploads(&self) -> Result<(), DocStoreError> {
        let mut batch = WriteBatch::default();
        for item in self.db.prefix_iterator_cf(self.cf(CF_META), UPLOAD_PREFIX) {
            let (key, _) = item?;
            let Some(upload) = key.strip_prefix(UPLOAD_PREFIX) else { break };
            self.stage_upload_drop(&mut batch, upload);
        }
        if !batch.is_empty() {
            tracing::info!(uploads = batch.len() / 2, "dropping uploads a stop interrupted");
            self.db.write_opt(batch, &synced())?;
        }
        Ok(())
    }

    fn stage_upload_drop(&self, batch: &mut WriteBatch, upload: &[u8]) {
        batch.delete_range_cf(self.cf(CF_CHUNKS), chunk_key(AT_REST, upload, 0), chunk_key(AT_REST, upload, u32::MAX));
        batch.delete_cf(self.cf(CF_META), [UPLOAD_PREFIX, upload].concat());
    }

    /// Builds the recipient and document indexes and the count of stored bytes, once, for
    /// a store written before they existed.
    fn build_indexes(&self) -> Result<(), DocStoreError> {
        if self.db.get_cf(self.cf(CF_META), INDEXES_KEY)?.is_some() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        for item in self.db.iterator_cf(self.cf(CF_INBOX), rocksdb::IteratorMode::Start) {
            let (_, bytes) = item?;
            let entry = decode_inbox(&bytes)?;
            self.stage_indexes(&mut batch, &entry);
        }
        for item in self.db.iterator_cf(self.cf(CF_OUTBOX), rocksdb::IteratorMode::Start) {
            let (id, _) = item?;
            let (Some(decision), Some(document)) = (hash_at(&id, 0), hash_at(&id, 32)) else {
                return Err(DocStoreError::Corrupt("a malformed outbox delivery id".into()));
            };
            batch.put_cf(self.cf(CF_BY_DOCUMENT), document_key(&DocumentHash(document), &DecisionId(decision)), []);
        }
        let mut stored = 0u64;
        for item in self.db.iterator_cf(self.cf(CF_DOCUMENTS), rocksdb::IteratorMode::Start) {
            let (_, bytes) = item?;
            stored = stored.saturating_add(decode_record(&bytes)?.bytes);
        }
        batch.put_cf(self.cf(CF_META), STORED_BYTES_KEY, stored.to_be_bytes());
        batch.put_cf(self.cf(CF_META), INDEXES_KEY, []);
        self.db.write_opt(batch, &synced())?;
        Ok(())
    }

    fn wrap(&self, secret: &[u8], binding: &[u8]) -> Result<Vec<u8>, DocStoreError> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| DocStoreError::Random(e.to_string()))?;
        let cipher = XChaCha20Poly1305::new(&self.storage_key.into());
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: secret, aad: binding })
            .map_err(|_| DocStoreError::Corrupt("cannot wrap a key".into()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    fn unwrap_secret(&self, wrapped: &[u8], binding: &[u8]) -> Result<Vec<u8>, DocStoreError> {
        let (nonce, sealed) = wrapped.split_at_checked(24).ok_or_else(|| DocStoreError::Corrupt("short key".into()))?;
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| DocStoreError::Corrupt("nonce".into()))?;
        let cipher = XChaCha20Poly1305::new(&self.storage_key.into());
        cipher.decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: binding }).map_err(|_| {
            DocStoreError::Corrupt("a wrapped key does not authenticate (tampered, or another node's)".into())
        })
    }

    /// Stores a document read from `content` (chunk by chunk: memory stays at one chunk)
    /// under a fresh data key and salt; returns its record, whose commitment the
    /// custodian then registers on chain. The document is published only if `content`
    /// reads to its end, its SHA-256 is the one `upload` announces, and it fits under the
    /// store's limit; otherwise nothing of it is kept.
    pub fn put(&self, upload: &Upload, mut content: impl std::io::Read) -> Result<StoredDocument, DocStoreError> {
        let id = random32()?;
        // The marker goes first: a crash leaves it with the chunks written after it (one
        // write-ahead log, replayed in order), and the next open drops them.
        self.db.put_cf(self.cf(CF_META), upload_marker(&id), [])?;
        let stored = self.write_upload(upload, &id, &mut content);
        if stored.is_err() {
            let mut batch = WriteBatch::default();
            self.stage_upload_drop(&mut batch, &id);
            if let Err(e) = self.db.write(batch) {
                // The marker stays: the next open drops the chunks.
                tracing::error!(error = %e, "cannot drop the chunks of a failed upload");
            }
        }
        stored
    }

    fn write_upload(
        &self,
        upload: &Upload,
        id: &[u8; 32],
        content: &mut impl std::io::Read,
    ) -> Result<StoredDocument, DocStoreError> {
        let (data_key, salt) = (random32()?, random32()?);
        let mut commitment = Commitment::new(&salt);
        let mut digest = ContentDigest::default();
        let mut reservation = Reservation { store: self, bytes: 0 };
        let mut buffer = vec![0u8; CHUNK_BYTES];
        let (mut index, mut bytes) = (0u32, 0u64);
        loop {
            let filled = read_full(content, &mut buffer).map_err(|e| DocStoreError::Aborted(e.to_string()))?;
            if filled == 0 && index > 0 {
                break;
            }
            if index >= DOCUMENT_CHUNKS_MAX {
                return Err(DocStoreError::TooLarge(DOCUMENT_CHUNKS_MAX));
            }
            reservation.grow(filled as u64, upload.store_bytes_max)?;
            let chunk = &buffer[..filled];
            commitment.update(chunk);
            digest.update(chunk);
            let sealed = seal_chunk(&data_key, &at_rest(id), index, chunk)?;
            self.db.put_cf(self.cf(CF_CHUNKS), chunk_key(AT_REST, id, index), sealed)?;
            index += 1;
            bytes += filled as u64;
            if filled < CHUNK_BYTES {
                break;
            }
        }
        let received = digest.finish();
        if received != upload.content_sha256 {
            return Err(DocStoreError::ContentMismatch { announced: upload.content_sha256, received });
        }
        let document = commitment.finish();
        let record =
            StoredDocument { document, patient: upload.patient, data_class: upload.data_class, bytes, chunks: index };
        let secret = [data_key.as_slice(), &salt, id].concat();
        let mut usage = self.usage();
        let stored = usage.stored.saturating_add(bytes);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_KEYS), document.0.as_bytes(), self.wrap(&secret, document.0.as_bytes())?);
        batch.put_cf(self.cf(CF_DOCUMENTS), document.0.as_bytes(), codec::encode(&record));
        batch.delete_cf(self.cf(CF_META), upload_marker(id));
        batch.put_cf(self.cf(CF_META), STORED_BYTES_KEY, stored.to_be_bytes());
        // Synced: the custodian registers the commitment on chain next, and must still
        // hold the document after a power loss (the sync covers the chunks before it).
        self.db.write_opt(batch, &synced())?;
        usage.stored = stored;
        Ok(record)
    }

    /// A stored document's record.
    pub fn document(&self, document: &DocumentHash) -> Result<Option<StoredDocument>, DocStoreError> {
        match self.db.get_cf(self.cf(CF_DOCUMENTS), document.0.as_bytes())? {
            Some(bytes) => Ok(Some(decode_record(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The data key, salt and upload id of a stored document (`Missing` once shredded).
    fn secrets(&self, document: &DocumentHash) -> Result<Secrets, DocStoreError> {
        let wrapped = self.db.get_cf(self.cf(CF_KEYS), document.0.as_bytes())?.ok_or(DocStoreError::Missing)?;
        let secret = self.unwrap_secret(&wrapped, document.0.as_bytes())?;
        let part = |i: usize| -> Result<[u8; 32], DocStoreError> {
            secret.get(i * 32..(i + 1) * 32).and_then(|s| s.try_into().ok()).ok_or(DocStoreError::Corrupt("key".into()))
        };
        Ok((part(0)?, part(1)?, part(2)?))
    }

    /// Reads chunk `index` of a stored document, checking it at rest.
    pub fn read_chunk(&self, document: &DocumentHash, index: u32) -> Result<Vec<u8>, DocStoreError> {
        let (data_key, _, upload) = self.secrets(document)?;
        let sealed =
            self.db.get_cf(self.cf(CF_CHUNKS), chunk_key(AT_REST, &upload, index))?.ok_or(DocStoreError::Missing)?;
        Ok(open_chunk(&data_key, &at_rest(&upload), index, &sealed)?)
    }

    fn outbox_entry(&self, id: &[u8]) -> Result<Option<([u8; 32], Envelope)>, DocStoreError> {
        let Some(bytes) = self.db.get_cf(self.cf(CF_OUTBOX), id)? else { return Ok(None) };
        let entry = codec::decode::<OutboxEntry, 4096>(&bytes).map_err(|e| DocStoreError::Corrupt(e.to_string()))?;
        let key = self.unwrap_secret(&entry.wrapped_key, id)?;
        let key: [u8; 32] = key.try_into().map_err(|_| DocStoreError::Corrupt("delivery key".into()))?;
        Ok(Some((key, entry.envelope)))
    }

    /// The sealing material of the delivery of `document` under `decision` to
    /// `recipient`: created once (and synced before it seals anything), then reused, so
    /// a resumed transfer matches what the requester already holds.
    pub fn outbox(
        &self,
        decision: &DecisionId,
        document: &DocumentHash,
        recipient: &panacea_primitives::PublicKey,
    ) -> Result<([u8; 32], Envelope), DocStoreError> {
        let id = delivery_id(decision, document);
        if let Some(found) = self.outbox_entry(&id)? {
            return Ok(found);
        }
        let _creating = self.outbox_creation.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = self.outbox_entry(&id)? {
            return Ok(found);
        }
        let (_, salt, _) = self.secrets(document)?;
        let key = random32()?;
        let envelope = panacea_client_sdk::sharing::seal_envelope(recipient, decision, document, &key, &salt)?;
        let entry = OutboxEntry { wrapped_key: self.wrap(&key, &id)?, envelope: envelope.clone() };
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_OUTBOX), &id, codec::encode(&entry));
        batch.put_cf(self.cf(CF_BY_DOCUMENT), document_key(document, decision), []);
        self.db.write_opt(batch, &synced())?;
        Ok((key, envelope))
    }

    /// Records or updates a delivery to this node.
    pub fn put_inbox(&self, entry: &InboxEntry) -> Result<(), DocStoreError> {
        let mut batch = WriteBatch::default();
        self.stage_inbox(&mut batch, entry);
        self.db.write(batch)?;
        Ok(())
    }

    /// Stages `entry`, its place in the pending index and in the indexes.
    fn stage_inbox(&self, batch: &mut WriteBatch, entry: &InboxEntry) {
        let id = delivery_id(&entry.decision, &entry.document);
        batch.put_cf(self.cf(CF_INBOX), &id, codec::encode(entry));
        self.stage_indexes(batch, entry);
        match entry.state {
            InboxState::Fetching | InboxState::Received => batch.put_cf(self.cf(CF_PENDING), &id, []),
            InboxState::Confirmed | InboxState::Erased => batch.delete_cf(self.cf(CF_PENDING), &id),
            InboxState::Refused(_) => {
                // Chunks received before the refusal (a grant revoked mid-transfer) go.
                batch.delete_cf(self.cf(CF_PENDING), &id);
                batch.delete_range_cf(self.cf(CF_CHUNKS), chunk_key(INBOX, &id, 0), chunk_key(INBOX, &id, u32::MAX));
            }
        }
    }

    fn stage_indexes(&self, batch: &mut WriteBatch, entry: &InboxEntry) {
        batch.put_cf(self.cf(CF_BY_RECIPIENT), recipient_key(&entry.recipient, &entry.decision, &entry.document), []);
        batch.put_cf(self.cf(CF_BY_DOCUMENT), document_key(&entry.document, &entry.decision), []);
    }

    /// Deliveries still in progress (bounded by `limit`), in id order.
    pub fn pending_entries(&self, limit: usize) -> Result<Vec<InboxEntry>, DocStoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_PENDING), rocksdb::IteratorMode::Start).take(limit) {
            let (id, _) = item?;
            let (Some(decision), Some(document)) = (hash_at(&id, 0), hash_at(&id, 32)) else {
                return Err(DocStoreError::Corrupt("a malformed pending delivery id".into()));
            };
            if let Some(entry) = self.inbox(&DecisionId(decision), &DocumentHash(document))? {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// The last committed height whose events the sharing worker has handled.
    pub fn cursor(&self) -> Result<Option<u64>, DocStoreError> {
        match self.db.get_cf(self.cf(CF_META), CURSOR_KEY)? {
            Some(bytes) => {
                let bytes = <[u8; 8]>::try_from(bytes.as_slice())
                    .map_err(|_| DocStoreError::Corrupt("a malformed sharing cursor".into()))?;
                Ok(Some(u64::from_be_bytes(bytes)))
            }
            None => Ok(None),
        }
    }

    /// Records that the events of every block up to `height` have been handled. Not
    /// synced: it follows, in the one write-ahead log, the deliveries those blocks
    /// started, so a power loss that takes a delivery takes the cursor back with it.
    pub fn set_cursor(&self, height: u64) -> Result<(), DocStoreError> {
        self.db.put_cf(self.cf(CF_META), CURSOR_KEY, height.to_be_bytes())?;
        Ok(())
    }

    /// A delivery to this node.
    pub fn inbox(&self, decision: &DecisionId, document: &DocumentHash) -> Result<Option<InboxEntry>, DocStoreError> {
        match self.db.get_cf(self.cf(CF_INBOX), delivery_id(decision, document))? {
            Some(bytes) => Ok(Some(decode_inbox(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The deliveries to `recipient`, in id order, after the delivery `after` (exclusive)
    /// when given, at most `limit`: found through the recipient index, so their number
    /// does not depend on anyone else's.
    pub fn deliveries_of(
        &self,
        recipient: &IdentityId,
        after: Option<(DecisionId, DocumentHash)>,
        limit: usize,
    ) -> Result<Vec<InboxEntry>, DocStoreError> {
        let prefix = recipient.0.as_bytes();
        let start = match &after {
            Some((decision, document)) => recipient_key(recipient, decision, document),
            None => prefix.to_vec(),
        };
        let mode = rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_BY_RECIPIENT), mode) {
            if out.len() >= limit {
                break;
            }
            let (key, _) = item?;
            if !key.starts_with(prefix) {
                break;
            }
            if after.is_some() && *key == *start {
                continue;
            }
            let (Some(decision), Some(document)) = (hash_at(&key, 32), hash_at(&key, 64)) else {
                return Err(DocStoreError::Corrupt("a malformed recipient index key".into()));
            };
            if let Some(entry) = self.inbox(&DecisionId(decision), &DocumentHash(document))? {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// How many times the store synced its write-ahead log (for tests and diagnostics).
    pub fn wal_syncs(&self) -> u64 {
        self.options.get_ticker_count(rocksdb::statistics::Ticker::WalFileSynced)
    }

    /// Stores chunk `index` of a delivery (as received: sealed for the recipient) and
    /// the entry's progress, atomically.
    pub fn put_delivered_chunk(&self, entry: &InboxEntry, index: u32, sealed: &[u8]) -> Result<(), DocStoreError> {
        let id = delivery_id(&entry.decision, &entry.document);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_CHUNKS), chunk_key(INBOX, &id, index), sealed);
        self.stage_inbox(&mut batch, entry);
        self.db.write_opt(batch, &synced())?;
        Ok(())
    }

    /// Chunk `index` of a delivery, sealed for its recipient.
    pub fn delivered_chunk(
        &self,
        decision: &DecisionId,
        document: &DocumentHash,
        index: u32,
    ) -> Result<Vec<u8>, DocStoreError> {
        let id = delivery_id(decision, document);
        let chunk = self.db.get_cf(self.cf(CF_CHUNKS), chunk_key(INBOX, &id, index))?.ok_or(DocStoreError::Missing)?;
        if chunk.len() > SEALED_CHUNK_MAX {
            return Err(DocStoreError::Corrupt("oversized chunk".into()));
        }
        Ok(chunk)
    }

    /// Crypto-shreds `document`: destroys its data key and salt, every outbox delivery key
    /// and envelope for it, and every delivered copy in the inbox (found through the
    /// document index), then purges them from the files (see [`DocStore::purge`]).
    /// Chunks already unreadable are deleted as well. Returns whether anything was held.
    pub fn shred(&self, document: &DocumentHash) -> Result<bool, DocStoreError> {
        let doc = document.0.as_bytes().to_vec();
        let mut batch = WriteBatch::default();
        let mut touched: Vec<(&'static str, Vec<u8>, Vec<u8>)> = Vec::new();
        let wrapped = self.db.get_cf(self.cf(CF_KEYS), &doc)?;
        let record = self.document(document)?;
        let mut held = wrapped.is_some() || record.is_some();
        // The chunks at rest are found through the upload id inside the wrapped secret; a
        // secret that no longer unwraps leaves them unreadable (and unfindable).
        if let Some(Ok((_, _, upload))) = wrapped.as_ref().map(|_| self.secrets(document)) {
            let (start, end) = (chunk_key(AT_REST, &upload, 0), chunk_key(AT_REST, &upload, u32::MAX));
            batch.delete_range_cf(self.cf(CF_CHUNKS), &start, &end);
            touched.push((CF_CHUNKS, start, end));
        }
        for family in [CF_KEYS, CF_DOCUMENTS] {
            batch.delete_cf(self.cf(family), &doc);
            touched.push((family, doc.clone(), doc.clone()));
        }
        for item in self.db.prefix_iterator_cf(self.cf(CF_BY_DOCUMENT), &doc) {
            let (key, _) = item?;
            if !key.starts_with(&doc) {
                break;
            }
            let decision = DecisionId(
                hash_at(&key, 32).ok_or_else(|| DocStoreError::Corrupt("a malformed document index key".into()))?,
            );
            held = true;
            batch.delete_cf(self.cf(CF_BY_DOCUMENT), &key);
            let id = delivery_id(&decision, document);
            if self.db.get_cf(self.cf(CF_OUTBOX), &id)?.is_some() {
                batch.delete_cf(self.cf(CF_OUTBOX), &id);
                touched.push((CF_OUTBOX, id.clone(), id.clone()));
            }
            if let Some(entry) = self.inbox(&decision, document)? {
                batch.delete_cf(self.cf(CF_INBOX), &id);
                batch.delete_cf(self.cf(CF_PENDING), &id);
                batch.delete_cf(self.cf(CF_BY_RECIPIENT), recipient_key(&entry.recipient, &decision, document));
                let (start, end) = (chunk_key(INBOX, &id, 0), chunk_key(INBOX, &id, u32::MAX));
                batch.delete_range_cf(self.cf(CF_CHUNKS), &start, &end);
                touched.push((CF_INBOX, id.clone(), id));
                touched.push((CF_CHUNKS, start, end));
            }
        }
        if !held {
            return Ok(false);
        }
        {
            let mut usage = self.usage();
            let stored = usage.stored.saturating_sub(record.map_or(0, |r| r.bytes));
            batch.put_cf(self.cf(CF_META), STORED_BYTES_KEY, stored.to_be_bytes());
            self.db.write_opt(batch, &synced())?;
            usage.stored = stored;
        }
        self.purge(&touched)?;
        Ok(true)
    }

    /// Makes deleted values leave the files. RocksDB keeps a deleted value in the
    /// write-ahead log until every column family's memtable with data in that log is
    /// flushed (one log serves them all), and in a table until a compaction of its key
    /// range drops it. So: flush every family, compact the `ranges` touched (only them,
    /// down to the last level), then wait (bounded) until RocksDB has deleted the logs and
    /// tables that held them.
    fn purge(&self, ranges: &[(&'static str, Vec<u8>, Vec<u8>)]) -> Result<(), DocStoreError> {
        let logs_before = self.wal_files()?;
        let families: Vec<&ColumnFamily> = FAMILIES.iter().map(|family| self.cf(family)).collect();
        let mut flush = rocksdb::FlushOptions::default();
        flush.set_wait(true);
        self.db.flush_cfs_opt(&families, &flush)?;
        let overlaps = |file: &rocksdb::LiveFile| {
            ranges.iter().any(|(family, start, end)| {
                file.column_family_name == *family
                    && file.start_key.as_deref().is_none_or(|s| s <= end.as_slice())
                    && file.end_key.as_deref().is_none_or(|e| e >= start.as_slice())
            })
        };
        let tables_before: Vec<String> =
            self.db.live_files()?.into_iter().filter(|f| overlaps(f)).map(|f| f.name).collect();
        let mut compact = rocksdb::CompactOptions::default();
        compact.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
        for (family, start, end) in ranges {
            self.db.compact_range_cf_opt(self.cf(family), Some(start), Some(end), &compact);
        }
        let live: Vec<String> = self.db.live_files()?.into_iter().map(|f| f.name).collect();
        if let Some(kept) = tables_before.iter().find(|name| live.contains(name)) {
            return Err(DocStoreError::PurgeIncomplete(format!("table {kept} (not compacted)")));
        }
        let directory = self.db.path().to_path_buf();
        let doomed: Vec<PathBuf> = logs_before
            .into_iter()
            .chain(tables_before.iter().map(|name| directory.join(name.trim_start_matches('/'))))
            .collect();
        let deadline = Instant::now() + PURGE_WAIT_MAX;
        while let Some(left) = doomed.iter().find(|path| path.exists()) {
            if Instant::now() >= deadline {
                return Err(DocStoreError::PurgeIncomplete(left.display().to_string()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// The write-ahead log files of the store (`*.log` in its directory).
    fn wal_files(&self) -> Result<Vec<PathBuf>, DocStoreError> {
        let listing = std::fs::read_dir(self.db.path())
            .map_err(|e| DocStoreError::Corrupt(format!("cannot list the document store: {e}")))?;
        Ok(listing
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
            .collect())
    }
}

fn decode_record(bytes: &[u8]) -> Result<StoredDocument, DocStoreError> {
    codec::decode::<StoredDocument, 1024>(bytes).map_err(|e| DocStoreError::Corrupt(e.to_string()))
}

fn decode_inbox(bytes: &[u8]) -> Result<InboxEntry, DocStoreError> {
    codec::decode::<InboxEntry, 8192>(bytes).map_err(|e| DocStoreError::Corrupt(e.to_string()))
}

/// Chunks at rest are bound to their upload id (the commitment is known only once the
/// last chunk is stored) and sealed before the count is known; the record's chunk count
/// and the commitment, checked by the recipient, catch a truncated store.
fn at_rest(upload: &[u8; 32]) -> ChunkContext {
    ChunkContext {
        binding: panacea_primitives::Hash::digest_parts(&[b"panacea-at-rest-v1", upload]),
        total: DOCUMENT_CHUNKS_MAX,
    }
}

/// Reads until `buffer` is full or the reader ends; returns how much was read.
fn read_full(reader: &mut impl std::io::Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use panacea_client_sdk::sharing::{ChunkContext, Commitment, open_envelope};
    use panacea_contracts::ids::IdentityId;
    use panacea_primitives::{Hash, Keypair};

    use super::*;

    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
    }

    /// A new store in a temporary directory.
    fn fresh() -> (tempfile::TempDir, DocStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = DocStore::open(dir.path(), [7; 32]).unwrap();
        (dir, store)
    }

    /// An upload of `body` about patient `n`, with no limit on the store.
    fn upload(n: u8, data_class: DataClass, body: &[u8]) -> Upload {
        Upload {
            patient: PatientRef(Hash([n; 32])),
            data_class,
            content_sha256: Hash::digest(body),
            store_bytes_max: u64::MAX,
        }
    }

    #[test]
    fn documents_are_stored_encrypted_delivered_to_one_identity_and_shredded() {
        let (dir, store) = fresh();
        let body = content(2 * CHUNK_BYTES + 10);
        let record = store.put(&upload(1, DataClass::Imaging, body.as_slice()), body.as_slice()).unwrap();
        assert_eq!((record.chunks, record.bytes), (3, body.len() as u64));
        // Nothing in the files is the content in clear.
        drop(store);
        let needle = &body[CHUNK_BYTES..CHUNK_BYTES + 64];
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let bytes = std::fs::read(file.path()).unwrap();
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds content", file.path().display());
        }
        let store = DocStore::open(dir.path(), [7; 32]).unwrap();
        // The chunks read back; the recipient opens the delivery and checks the commitment.
        let recipient = Keypair::from_seed([3; 32]);
        let decision = DecisionId(Hash([4; 32]));
        let (key, envelope) = store.outbox(&decision, &record.document, &recipient.public()).unwrap();
        assert_eq!(store.outbox(&decision, &record.document, &recipient.public()).unwrap().1, envelope, "stable");
        let (opened_key, salt) = open_envelope(&recipient, &decision, &record.document, &envelope).unwrap();
        assert_eq!(opened_key, key);
        let mut commitment = Commitment::new(&salt);
        let context = ChunkContext::delivery(&decision, &record.document, record.chunks);
        for index in 0..record.chunks {
            let plain = store.read_chunk(&record.document, index).unwrap();
            let sealed = seal_chunk(&key, &context, index, &plain).unwrap();
            commitment.update(&open_chunk(&opened_key, &context, index, &sealed).unwrap());
        }
        assert_eq!(commitment.finish(), record.document);
        // Another node's storage key cannot read it.
        drop(store);
        let other = DocStore::open(dir.path(), [8; 32]).unwrap();
        assert!(matches!(other.read_chunk(&record.document, 0), Err(DocStoreError::Corrupt(_))));
        drop(other);
        // Shredded: nothing reads, the outbox is gone.
        let store = DocStore::open(dir.path(), [7; 32]).unwrap();
        assert!(store.shred(&record.document).unwrap());
        assert!(matches!(store.read_chunk(&record.document, 0), Err(DocStoreError::Missing)));
        assert!(store.document(&record.document).unwrap().is_none());
        assert!(matches!(store.outbox(&decision, &record.document, &recipient.public()), Err(DocStoreError::Missing)));
    }

    fn entries(store: &DocStore, family: &'static str) -> usize {
        store.db.iterator_cf(store.cf(family), rocksdb::IteratorMode::Start).count()
    }

    /// Asserts that the store holds no chunk, record or key: nothing of `what`.
    fn assert_holds_nothing(store: &DocStore, what: &str) {
        for family in [CF_CHUNKS, CF_DOCUMENTS, CF_KEYS] {
            assert_eq!(entries(store, family), 0, "{family} keeps a part of {what}");
        }
    }

    /// Every file under `dir`, recursively.
    fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() { out.extend(files(&path)) } else { out.push(path) }
        }
        out
    }

    /// Yields `bytes` of content, then (once `resume` is dropped, when given) fails as a
    /// connection the client dropped does.
    struct CutOff {
        bytes: usize,
        resume: Option<std::sync::mpsc::Receiver<()>>,
    }

    impl std::io::Read for CutOff {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.bytes == 0 {
                if let Some(resume) = &self.resume {
                    let _ = resume.recv();
                }
                return Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "the client went away"));
            }
            let n = out.len().min(self.bytes);
            out[..n].fill(7);
            self.bytes -= n;
            Ok(n)
        }
    }

    /// An upload whose body breaks off leaves nothing behind: no chunk, no record, no key.
    #[test]
    fn an_aborted_upload_leaves_nothing() {
        let (_dir, store) = fresh();
        let cut = CutOff { bytes: 2 * CHUNK_BYTES + 100, resume: None };
        assert!(store.put(&upload(1, DataClass::Imaging, b""), cut).is_err());
        assert_holds_nothing(&store, "the aborted upload");
    }

    /// A body that is not the content its uploader signed is refused whole: nothing of it
    /// is kept, and it counts for nothing against the store's limit.
    #[test]
    fn a_body_other_than_the_signed_content_is_not_stored() {
        let (_dir, store) = fresh();
        let body = content(CHUNK_BYTES + 3);
        let signed = upload(1, DataClass::Imaging, b"what the custodian signed");
        let refused = store.put(&signed, body.as_slice());
        assert!(matches!(refused, Err(DocStoreError::ContentMismatch { .. })), "{refused:?}");
        assert_holds_nothing(&store, "the refused body");
        assert_eq!(store.stored_bytes(), 0);
    }

    /// The store holds at most its limit of content bytes: an upload that would pass it is
    /// refused as it streams (and leaves nothing), an erasure frees room, and the count
    /// survives a restart.
    #[test]
    fn the_store_holds_at_most_its_limit() {
        let (dir, store) = fresh();
        let limit = 2 * CHUNK_BYTES as u64;
        let limited = |n: u8, body: &[u8]| Upload { store_bytes_max: limit, ..upload(n, DataClass::Imaging, body) };
        let first = content(CHUNK_BYTES + CHUNK_BYTES / 2);
        let kept = store.put(&limited(1, &first), first.as_slice()).unwrap();
        assert_eq!(store.stored_bytes(), first.len() as u64);
        assert!(!store.has_room(CHUNK_BYTES as u64, limit));
        let second = content(CHUNK_BYTES);
        let refused = store.put(&limited(2, &second), second.as_slice());
        assert!(matches!(refused, Err(DocStoreError::StoreFull { bytes_max }) if bytes_max == limit), "{refused:?}");
        assert_eq!(entries(&store, CF_CHUNKS), 2, "only the kept document's chunks are here");
        drop(store);
        let store = DocStore::open(dir.path(), [7; 32]).unwrap();
        assert_eq!(store.stored_bytes(), first.len() as u64, "the count survives a restart");
        assert!(store.shred(&kept.document).unwrap());
        assert_eq!(store.stored_bytes(), 0);
        store.put(&limited(2, &second), second.as_slice()).unwrap();
    }

    /// A node that crashes in the middle of an upload finds no part of it after its
    /// restart: the store as the crash left it (a checkpoint taken mid-upload) opens clean.
    #[test]
    fn a_crash_mid_upload_leaves_nothing_after_the_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(DocStore::open(&dir.path().join("live"), [7; 32]).unwrap());
        let (resume, stalled) = std::sync::mpsc::channel();
        let writer = {
            let store = store.clone();
            let reader = CutOff { bytes: 2 * CHUNK_BYTES + 100, resume: Some(stalled) };
            std::thread::spawn(move || store.put(&upload(1, DataClass::Imaging, b""), reader))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while entries(&store, CF_CHUNKS) < 2 {
            assert!(std::time::Instant::now() < deadline, "the upload did not start");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let crashed = dir.path().join("crashed");
        rocksdb::checkpoint::Checkpoint::new(&store.db).unwrap().create_checkpoint(&crashed).unwrap();
        drop(resume);
        assert!(writer.join().unwrap().is_err());
        let restarted = DocStore::open(&crashed, [7; 32]).unwrap();
        assert_holds_nothing(&restarted, "the interrupted upload");
    }

    /// Item 13 of issue 14: after `shred`, no file of the store (write-ahead logs, tables,
    /// manifest, options) holds the document's wrapped key, its data key or salt, or a
    /// delivery key of it, wrapped or not.
    #[test]
    fn shredding_leaves_no_key_of_the_document_in_any_file() {
        let (dir, store) = fresh();
        let body = content(CHUNK_BYTES + 5);
        let record = store.put(&upload(1, DataClass::Imaging, &body), body.as_slice()).unwrap();
        let wrapped = store.db.get_cf(store.cf(CF_KEYS), record.document.0.as_bytes()).unwrap().unwrap();
        let (data_key, salt, _) = store.secrets(&record.document).unwrap();
        let (decision, recipient) = (DecisionId(Hash([4; 32])), Keypair::from_seed([3; 32]));
        let (delivery_key, _) = store.outbox(&decision, &record.document, &recipient.public()).unwrap();
        let id = delivery_id(&decision, &record.document);
        let outbox = store.db.get_cf(store.cf(CF_OUTBOX), &id).unwrap().unwrap();
        // The node goes on working: another document is stored after it.
        let other = store.put(&upload(2, DataClass::Imaging, &b"another"[..]), &b"another"[..]).unwrap();
        assert!(store.shred(&record.document).unwrap());
        let needles: [(&str, &[u8]); 5] = [
            ("the wrapped document key", &wrapped),
            ("the data key", &data_key),
            ("the salt", &salt),
            ("the delivery key", &delivery_key),
            ("the outbox entry", &outbox),
        ];
        let scan = |when: &str| {
            for file in files(dir.path()) {
                let bytes = std::fs::read(&file).unwrap();
                for (what, needle) in needles {
                    let found = bytes.windows(needle.len()).any(|w| w == needle);
                    assert!(!found, "{when}: {} holds {what}", file.display());
                }
            }
        };
        scan("right after the shred");
        drop(store);
        scan("after closing the store");
        let store = DocStore::open(dir.path(), [7; 32]).unwrap();
        assert!(store.read_chunk(&other.document, 0).is_ok(), "the other document is intact");
    }

    /// Erasure rewrites only the files of the key ranges it touched: the tables holding
    /// nothing of the erased document stay as they are.
    #[test]
    fn erasure_rewrites_only_the_files_of_its_key_ranges() {
        let (_dir, store) = fresh();
        let flush = |store: &DocStore| {
            for family in FAMILIES {
                store.db.flush_cf(store.cf(family)).unwrap();
            }
        };
        let (first, second) = (content(CHUNK_BYTES + 5), content(CHUNK_BYTES + 9));
        let erased = store.put(&upload(1, DataClass::Imaging, &first), first.as_slice()).unwrap();
        flush(&store);
        let kept = store.put(&upload(2, DataClass::Imaging, &second), second.as_slice()).unwrap();
        flush(&store);
        let (_, _, upload) = store.secrets(&erased.document).unwrap();
        let document = erased.document.0.as_bytes().to_vec();
        let ranges: [(&str, Vec<u8>, Vec<u8>); 3] = [
            (CF_KEYS, document.clone(), document.clone()),
            (CF_DOCUMENTS, document.clone(), document),
            (CF_CHUNKS, chunk_key(AT_REST, &upload, 0), chunk_key(AT_REST, &upload, u32::MAX)),
        ];
        let touched = |file: &rocksdb::LiveFile| {
            ranges.iter().any(|(family, start, end)| {
                file.column_family_name == *family
                    && file.start_key.as_deref().is_none_or(|s| s <= end.as_slice())
                    && file.end_key.as_deref().is_none_or(|e| e >= start.as_slice())
            })
        };
        let before = store.db.live_files().unwrap();
        let untouched: Vec<_> = before.iter().filter(|f| !touched(f)).collect();
        assert!(untouched.iter().any(|f| f.column_family_name == CF_CHUNKS), "the kept document has a table");
        assert!(store.shred(&erased.document).unwrap());
        let after: std::collections::BTreeSet<String> =
            store.db.live_files().unwrap().into_iter().map(|f| f.name).collect();
        for file in untouched {
            assert!(after.contains(&file.name), "{} of {} was rewritten", file.name, file.column_family_name);
        }
        assert!(store.read_chunk(&kept.document, 1).is_ok());
    }

    /// The custodian's delivery key and envelope are synced before they seal a chunk: after
    /// a power loss, a resumed delivery must seal under the key the requester already has.
    #[test]
    fn a_delivery_key_is_synced_before_it_is_used() {
        let (_dir, store) = fresh();
        let record = store.put(&upload(1, DataClass::Imaging, &b"x-ray"[..]), &b"x-ray"[..]).unwrap();
        let (decision, recipient) = (DecisionId(Hash([4; 32])), Keypair::from_seed([3; 32]));
        let synced = store.wal_syncs();
        store.outbox(&decision, &record.document, &recipient.public()).unwrap();
        assert!(store.wal_syncs() > synced, "the new delivery key was written without a sync");
    }

    /// A signer's deliveries are found through the recipient index, however many
    /// deliveries to others come before them (the listing used to read the first 10,000).
    #[test]
    fn deliveries_are_found_past_ten_thousand_others() {
        let (_dir, store) = fresh();
        let entry = |decision: [u8; 32], recipient: u8| InboxEntry {
            decision: DecisionId(Hash(decision)),
            document: DocumentHash(Hash([2; 32])),
            custodian: OrgId::new("hospital-0").unwrap(),
            recipient: IdentityId(Hash([recipient; 32])),
            envelope: None,
            bytes: 0,
            chunks: 0,
            received: 0,
            state: InboxState::Confirmed,
        };
        let mut batch = WriteBatch::default();
        for n in 0..10_001u32 {
            let mut decision = [0u8; 32];
            decision[..4].copy_from_slice(&n.to_be_bytes());
            store.stage_inbox(&mut batch, &entry(decision, 5));
        }
        store.db.write(batch).unwrap();
        store.put_inbox(&entry([0xff; 32], 6)).unwrap();
        let mine = store.deliveries_of(&IdentityId(Hash([6; 32])), None, 100).unwrap();
        assert_eq!(mine, vec![entry([0xff; 32], 6)]);
        let others = store.deliveries_of(&IdentityId(Hash([5; 32])), None, 100).unwrap();
        assert_eq!(others.len(), 100, "a page is bounded");
        let last = others.last().map(|e| (e.decision, e.document));
        let next = store.deliveries_of(&IdentityId(Hash([5; 32])), last, 100).unwrap();
        assert_eq!(next.first().map(|e| e.decision.0.0[3]), Some(100), "the next page follows the last");
    }

    #[test]
    fn a_tampered_chunk_at_rest_is_detected() {
        let (_dir, store) = fresh();
        let record =
            store.put(&upload(1, DataClass::LabResults, &b"potassium 4.1"[..]), &b"potassium 4.1"[..]).unwrap();
        let (_, _, upload) = store.secrets(&record.document).unwrap();
        let key = chunk_key(AT_REST, &upload, 0);
        let mut sealed = store.db.get_cf(store.cf(CF_CHUNKS), &key).unwrap().unwrap();
        sealed[3] ^= 1;
        store.db.put_cf(store.cf(CF_CHUNKS), &key, sealed).unwrap();
        assert!(matches!(
            store.read_chunk(&record.document, 0),
            Err(DocStoreError::Sharing(SharingError::Tampered(_)))
        ));
    }
}
