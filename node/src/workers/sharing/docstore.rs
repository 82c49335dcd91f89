//! The off-chain document store: its own RocksDB (`HOME/documents`), apart from consensus
//! state. Everything in it is encrypted:
//!
//! - a custodian's documents at rest, in chunks sealed under a per-document data key;
//! - the data key and the document's salt, wrapped under the node's storage key
//!   (`keys/storage_key.json`), in a column family of their own, so that crypto-shredding
//!   destroys a handful of bytes (and compacts them away) rather than rewriting content;
//! - the outbox: per delivery, the delivery key (wrapped) and the HPKE envelope that
//!   carries it to the requesting identity, so that a resumed transfer seals the same way;
//! - the inbox: chunks delivered to this node's identities, still sealed under delivery
//!   keys only those identities can open, and where each delivery stands.

use std::path::Path;

use bincode::{Decode, Encode};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use panacea_client_sdk::sharing::{
    CHUNK_BYTES, ChunkContext, Commitment, DOCUMENT_CHUNKS_MAX, Envelope, SharingError, open_chunk, seal_chunk,
};
use panacea_contracts::codes::DataClass;
use panacea_contracts::ids::{DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};
use panacea_primitives::codec;
use rocksdb::{ColumnFamily, DB, Options, WriteBatch};

const CF_DOCUMENTS: &str = "documents";
const CF_KEYS: &str = "keys";
const CF_CHUNKS: &str = "chunks";
const CF_OUTBOX: &str = "outbox";
const CF_INBOX: &str = "inbox";
/// The ids of deliveries still in progress (fetching or awaiting confirmation), so the
/// worker's scan does not grow with the deliveries completed.
const CF_PENDING: &str = "pending";
/// The worker's bookkeeping: the last committed height whose events it has handled.
const CF_META: &str = "meta";
const FAMILIES: [&str; 7] = [CF_DOCUMENTS, CF_KEYS, CF_CHUNKS, CF_OUTBOX, CF_INBOX, CF_PENDING, CF_META];
const CURSOR_KEY: &[u8] = b"cursor";
/// Each column family's memtable size.
const WRITE_BUFFER_BYTES: usize = 4 * 1024 * 1024;
/// The store's block cache.
const BLOCK_CACHE_BYTES: usize = 8 * 1024 * 1024;
/// Largest stored chunk.
const SEALED_CHUNK_MAX: usize = CHUNK_BYTES + 64;

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
    /// The custodian refused for good (grant revoked, expired, document erased).
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

/// The store.
pub struct DocStore {
    db: DB,
    storage_key: [u8; 32],
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

const AT_REST: u8 = b'r';
const INBOX: u8 = b'i';

impl DocStore {
    /// Opens (or creates) the store at `path`, with the node's storage key.
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
        let db = DB::open_cf(&options, path, FAMILIES)?;
        Ok(DocStore { db, storage_key })
    }

    fn cf(&self, name: &'static str) -> &ColumnFamily {
        #[allow(clippy::panic, reason = "column families are created when the store opens")]
        self.db.cf_handle(name).unwrap_or_else(|| panic!("column family {name} exists"))
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
    /// custodian then registers on chain.
    pub fn put(
        &self,
        patient: PatientRef,
        data_class: DataClass,
        mut content: impl std::io::Read,
    ) -> Result<StoredDocument, DocStoreError> {
        let upload = random32()?;
        let (data_key, salt) = (random32()?, random32()?);
        let mut commitment = Commitment::new(&salt);
        let mut buffer = vec![0u8; CHUNK_BYTES];
        let (mut index, mut bytes) = (0u32, 0u64);
        loop {
            let filled = read_full(&mut content, &mut buffer).map_err(|e| DocStoreError::Corrupt(e.to_string()))?;
            if filled == 0 && index > 0 {
                break;
            }
            if index >= DOCUMENT_CHUNKS_MAX {
                self.drop_chunks(AT_REST, &upload)?;
                return Err(DocStoreError::TooLarge(DOCUMENT_CHUNKS_MAX));
            }
            let chunk = &buffer[..filled];
            commitment.update(chunk);
            let sealed = seal_chunk(&data_key, &at_rest(&upload), index, chunk)?;
            self.db.put_cf(self.cf(CF_CHUNKS), chunk_key(AT_REST, &upload, index), sealed)?;
            index += 1;
            bytes += filled as u64;
            if filled < CHUNK_BYTES {
                break;
            }
        }
        let document = commitment.finish();
        let record = StoredDocument { document, patient, data_class, bytes, chunks: index };
        let secret = [data_key.as_slice(), &salt, &upload].concat();
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_KEYS), document.0.as_bytes(), self.wrap(&secret, document.0.as_bytes())?);
        batch.put_cf(self.cf(CF_DOCUMENTS), document.0.as_bytes(), codec::encode(&record));
        self.db.write(batch)?;
        self.db.flush_cf(self.cf(CF_KEYS))?;
        Ok(record)
    }

    /// A stored document's record.
    pub fn document(&self, document: &DocumentHash) -> Result<Option<StoredDocument>, DocStoreError> {
        match self.db.get_cf(self.cf(CF_DOCUMENTS), document.0.as_bytes())? {
            Some(bytes) => Ok(Some(
                codec::decode::<StoredDocument, 1024>(&bytes).map_err(|e| DocStoreError::Corrupt(e.to_string()))?,
            )),
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

    /// The sealing material of the delivery of `document` under `decision` to
    /// `recipient`: created once, then reused, so a resumed transfer matches.
    pub fn outbox(
        &self,
        decision: &DecisionId,
        document: &DocumentHash,
        recipient: &panacea_primitives::PublicKey,
    ) -> Result<([u8; 32], Envelope), DocStoreError> {
        let id = delivery_id(decision, document);
        if let Some(bytes) = self.db.get_cf(self.cf(CF_OUTBOX), &id)? {
            let entry =
                codec::decode::<OutboxEntry, 4096>(&bytes).map_err(|e| DocStoreError::Corrupt(e.to_string()))?;
            let key = self.unwrap_secret(&entry.wrapped_key, &id)?;
            let key: [u8; 32] = key.try_into().map_err(|_| DocStoreError::Corrupt("delivery key".into()))?;
            return Ok((key, entry.envelope));
        }
        let (_, salt, _) = self.secrets(document)?;
        let key = random32()?;
        let envelope = panacea_client_sdk::sharing::seal_envelope(recipient, decision, document, &key, &salt)?;
        let entry = OutboxEntry { wrapped_key: self.wrap(&key, &id)?, envelope: envelope.clone() };
        self.db.put_cf(self.cf(CF_OUTBOX), &id, codec::encode(&entry))?;
        Ok((key, envelope))
    }

    /// Records or updates a delivery to this node.
    pub fn put_inbox(&self, entry: &InboxEntry) -> Result<(), DocStoreError> {
        let mut batch = WriteBatch::default();
        self.stage_inbox(&mut batch, entry);
        self.db.write(batch)?;
        Ok(())
    }

    /// Stages `entry` and its place in the pending index.
    fn stage_inbox(&self, batch: &mut WriteBatch, entry: &InboxEntry) {
        let id = delivery_id(&entry.decision, &entry.document);
        batch.put_cf(self.cf(CF_INBOX), &id, codec::encode(entry));
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

    /// Deliveries still in progress (bounded by `limit`), in id order.
    pub fn pending_entries(&self, limit: usize) -> Result<Vec<InboxEntry>, DocStoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_PENDING), rocksdb::IteratorMode::Start).take(limit) {
            let (id, _) = item?;
            let decision = id.get(..32).and_then(|b| <[u8; 32]>::try_from(b).ok());
            let document = id.get(32..).and_then(|b| <[u8; 32]>::try_from(b).ok());
            let (Some(decision), Some(document)) = (decision, document) else {
                return Err(DocStoreError::Corrupt("a malformed pending delivery id".into()));
            };
            let decision = DecisionId(panacea_primitives::Hash(decision));
            let document = DocumentHash(panacea_primitives::Hash(document));
            if let Some(entry) = self.inbox(&decision, &document)? {
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

    /// Records that the events of every block up to `height` have been handled.
    pub fn set_cursor(&self, height: u64) -> Result<(), DocStoreError> {
        self.db.put_cf(self.cf(CF_META), CURSOR_KEY, height.to_be_bytes())?;
        Ok(())
    }

    /// A delivery to this node.
    pub fn inbox(&self, decision: &DecisionId, document: &DocumentHash) -> Result<Option<InboxEntry>, DocStoreError> {
        match self.db.get_cf(self.cf(CF_INBOX), delivery_id(decision, document))? {
            Some(bytes) => {
                Ok(Some(codec::decode::<InboxEntry, 8192>(&bytes).map_err(|e| DocStoreError::Corrupt(e.to_string()))?))
            }
            None => Ok(None),
        }
    }

    /// Every delivery to this node (bounded by `limit`).
    pub fn inbox_entries(&self, limit: usize) -> Result<Vec<InboxEntry>, DocStoreError> {
        let mut out = Vec::new();
        for entry in self.db.iterator_cf(self.cf(CF_INBOX), rocksdb::IteratorMode::Start).take(limit) {
            let (_, bytes) = entry?;
            out.push(codec::decode::<InboxEntry, 8192>(&bytes).map_err(|e| DocStoreError::Corrupt(e.to_string()))?);
        }
        Ok(out)
    }

    /// Stores chunk `index` of a delivery (as received: sealed for the recipient) and
    /// the entry's progress, atomically.
    pub fn put_delivered_chunk(&self, entry: &InboxEntry, index: u32, sealed: &[u8]) -> Result<(), DocStoreError> {
        let id = delivery_id(&entry.decision, &entry.document);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_CHUNKS), chunk_key(INBOX, &id, index), sealed);
        self.stage_inbox(&mut batch, entry);
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(batch, &options)?;
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
    /// and envelope for it, and every delivered copy in the inbox, then compacts the key
    /// and outbox column families so the destroyed keys leave the files too. Chunks
    /// already unreadable are deleted as well. Returns whether anything was held.
    pub fn shred(&self, document: &DocumentHash) -> Result<bool, DocStoreError> {
        let mut held = false;
        if let Ok((_, _, upload)) = self.secrets(document) {
            self.drop_chunks(AT_REST, &upload)?;
            held = true;
        }
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(CF_KEYS), document.0.as_bytes());
        batch.delete_cf(self.cf(CF_DOCUMENTS), document.0.as_bytes());
        for family in [CF_OUTBOX, CF_INBOX, CF_PENDING] {
            for entry in self.db.iterator_cf(self.cf(family), rocksdb::IteratorMode::Start) {
                let (key, _) = entry?;
                if key.get(32..) == Some(document.0.as_bytes().as_slice()) {
                    held = true;
                    batch.delete_cf(self.cf(family), &key);
                }
            }
        }
        self.db.write(batch)?;
        // Delivered chunks of any decision for this document.
        let mut doomed = Vec::new();
        for entry in self.db.prefix_iterator_cf(self.cf(CF_CHUNKS), [INBOX]) {
            let (key, _) = entry?;
            if key.first() != Some(&INBOX) {
                break;
            }
            if key.get(33..65) == Some(document.0.as_bytes().as_slice()) {
                doomed.push(key.to_vec());
            }
        }
        for key in doomed {
            held = true;
            self.db.delete_cf(self.cf(CF_CHUNKS), key)?;
        }
        for family in [CF_KEYS, CF_OUTBOX, CF_INBOX, CF_CHUNKS] {
            self.db.flush_cf(self.cf(family))?;
            self.db.compact_range_cf(self.cf(family), None::<&[u8]>, None::<&[u8]>);
        }
        Ok(held)
    }

    fn drop_chunks(&self, space: u8, binding: &[u8]) -> Result<(), DocStoreError> {
        let start = chunk_key(space, binding, 0);
        let end = chunk_key(space, binding, u32::MAX);
        self.db.delete_range_cf(self.cf(CF_CHUNKS), start, end)?;
        Ok(())
    }
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
    use panacea_primitives::{Hash, Keypair};

    use super::*;

    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
    }

    #[test]
    fn documents_are_stored_encrypted_delivered_to_one_identity_and_shredded() {
        let dir = tempfile::tempdir().unwrap();
        let store = DocStore::open(dir.path(), [7; 32]).unwrap();
        let body = content(2 * CHUNK_BYTES + 10);
        let record = store.put(PatientRef(Hash([1; 32])), DataClass::Imaging, body.as_slice()).unwrap();
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

    #[test]
    fn a_tampered_chunk_at_rest_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = DocStore::open(dir.path(), [7; 32]).unwrap();
        let record = store.put(PatientRef(Hash([1; 32])), DataClass::LabResults, &b"potassium 4.1"[..]).unwrap();
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
