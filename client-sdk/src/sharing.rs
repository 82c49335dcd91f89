//! The data plane's cryptography, shared by the node (which seals) and the SDK (which
//! opens), so that both sides run the same code.
//!
//! - A document is identified on chain by a salted commitment,
//!   `SHA-256("panacea-document-v1" || salt || content)`: with the salt destroyed (crypto-
//!   shredding), the commitment reveals nothing, even for guessable content.
//! - Content moves and rests in chunks of [`CHUNK_BYTES`], each sealed with
//!   XChaCha20-Poly1305 under a 32-byte key, with the chunk's index, the chunk count and
//!   what the chunks belong to as associated data: a tampered, reordered, truncated or
//!   transplanted chunk does not open.
//! - A delivery's key and the document's salt travel to the requesting identity in an
//!   [`Envelope`]: HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//!   ChaCha20-Poly1305, to the X25519 form of the identity's registered ed25519 key, with
//!   the decision and the document as `info`. Only that identity can open it; the nodes
//!   that carry and store the chunks cannot read them.

use bincode::{Decode, Encode};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use panacea_contracts::ids::{DecisionId, DocumentHash};
use panacea_primitives::{Hash, Keypair, PublicKey};
use sha2::{Digest, Sha256};

/// Plaintext bytes per chunk (the last may be shorter).
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// Bytes a sealed chunk adds (the authentication tag).
pub const CHUNK_TAG_BYTES: usize = 16;
/// Most chunks in one document: 16 GiB.
pub const DOCUMENT_CHUNKS_MAX: u32 = 16 * 1024;

/// Something does not open or check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharingError {
    /// A chunk or envelope failed authentication: tampered with, or not for this key.
    #[error("{0} does not authenticate: tampered with, or not meant for this key")]
    Tampered(&'static str),
    /// The content does not match its commitment.
    #[error("the content does not match the document's commitment")]
    WrongContent,
    /// A malformed value.
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// The salted commitment to a document's content, computed as the content streams by.
pub struct Commitment(Sha256);

impl Commitment {
    /// Starts a commitment with `salt`.
    pub fn new(salt: &[u8; 32]) -> Commitment {
        let mut hasher = Sha256::new();
        hasher.update(b"panacea-document-v1");
        hasher.update(salt);
        Commitment(hasher)
    }

    /// Feeds content.
    pub fn update(&mut self, content: &[u8]) {
        self.0.update(content);
    }

    /// The commitment.
    pub fn finish(self) -> DocumentHash {
        DocumentHash(Hash(self.0.finalize().into()))
    }
}

/// The SHA-256 of a content, computed as it streams by: what an upload's signature covers
/// (the `x-panacea-content-sha256` header), and what the node checks the body against.
#[derive(Default)]
pub struct ContentDigest(Sha256);

impl ContentDigest {
    /// Feeds content.
    pub fn update(&mut self, content: &[u8]) {
        self.0.update(content);
    }

    /// The digest.
    pub fn finish(self) -> Hash {
        Hash(self.0.finalize().into())
    }
}

/// What a run of chunks belongs to; bound into every chunk's associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkContext {
    /// What the chunks belong to: a document at rest, or one delivery of it.
    pub binding: Hash,
    /// How many chunks there are.
    pub total: u32,
}

impl ChunkContext {
    /// Chunks of `document` at rest in its custodian's store.
    pub fn at_rest(document: &DocumentHash, total: u32) -> ChunkContext {
        ChunkContext { binding: Hash::digest_parts(&[b"panacea-at-rest-v1", document.0.as_bytes()]), total }
    }

    /// Chunks of `document` delivered under `decision`.
    pub fn delivery(decision: &DecisionId, document: &DocumentHash, total: u32) -> ChunkContext {
        ChunkContext {
            binding: Hash::digest_parts(&[b"panacea-delivery-v1", decision.0.as_bytes(), document.0.as_bytes()]),
            total,
        }
    }

    fn aad(&self, index: u32) -> Vec<u8> {
        [self.binding.as_bytes().as_slice(), &index.to_be_bytes(), &self.total.to_be_bytes()].concat()
    }
}

/// The number of chunks of a document of `bytes` bytes (at least one, even when empty).
pub fn chunk_count(bytes: u64) -> u64 {
    bytes.div_ceil(CHUNK_BYTES as u64).max(1)
}

fn chunk_nonce(index: u32) -> XNonce {
    // Each key seals each index once (a fresh key per document at rest and per delivery),
    // so the index is a unique nonce.
    let mut nonce = [0u8; 24];
    nonce[..4].copy_from_slice(&index.to_be_bytes());
    XNonce::from(nonce)
}

/// Seals chunk `index` of `context` under `key`.
pub fn seal_chunk(
    key: &[u8; 32],
    context: &ChunkContext,
    index: u32,
    plaintext: &[u8],
) -> Result<Vec<u8>, SharingError> {
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    cipher
        .encrypt(&chunk_nonce(index), Payload { msg: plaintext, aad: &context.aad(index) })
        .map_err(|_| SharingError::Malformed("chunk (too large)"))
}

/// Opens chunk `index` of `context` under `key`.
pub fn open_chunk(key: &[u8; 32], context: &ChunkContext, index: u32, sealed: &[u8]) -> Result<Vec<u8>, SharingError> {
    if index >= context.total {
        return Err(SharingError::Malformed("chunk index"));
    }
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    cipher
        .decrypt(&chunk_nonce(index), Payload { msg: sealed, aad: &context.aad(index) })
        .map_err(|_| SharingError::Tampered("a chunk"))
}

/// A delivery's key and the document's salt, sealed to the requesting identity.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    /// HPKE's encapsulated key.
    #[serde(with = "hex::serde")]
    pub enc: [u8; 32],
    /// The sealed `key || salt`.
    #[serde(with = "hex::serde")]
    pub sealed: Vec<u8>,
}

fn envelope_info(decision: &DecisionId, document: &DocumentHash) -> Vec<u8> {
    [b"panacea-envelope-v1".as_slice(), decision.0.as_bytes(), document.0.as_bytes()].concat()
}

/// Seals `key` and `salt` to `recipient` (a registered identity's key) for the delivery
/// of `document` under `decision`.
pub fn seal_envelope(
    recipient: &PublicKey,
    decision: &DecisionId,
    document: &DocumentHash,
    key: &[u8; 32],
    salt: &[u8; 32],
) -> Result<Envelope, SharingError> {
    let public = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(&recipient.to_x25519())
        .map_err(|_| SharingError::Malformed("recipient key"))?;
    let secret = [key.as_slice(), salt.as_slice()].concat();
    let (enc, sealed) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeS::Base,
        &public,
        &envelope_info(decision, document),
        &secret,
        b"",
    )
    .map_err(|_| SharingError::Malformed("envelope (sealing failed)"))?;
    let enc: [u8; 32] =
        enc.to_bytes().as_slice().try_into().map_err(|_| SharingError::Malformed("encapsulated key"))?;
    Ok(Envelope { enc, sealed })
}

/// Opens an envelope with the recipient identity's key: the delivery key and the salt.
pub fn open_envelope(
    recipient: &Keypair,
    decision: &DecisionId,
    document: &DocumentHash,
    envelope: &Envelope,
) -> Result<([u8; 32], [u8; 32]), SharingError> {
    let secret = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(&recipient.to_x25519_secret())
        .map_err(|_| SharingError::Malformed("recipient key"))?;
    let enc = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(&envelope.enc)
        .map_err(|_| SharingError::Malformed("encapsulated key"))?;
    let opened = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &secret,
        &enc,
        &envelope_info(decision, document),
        &envelope.sealed,
        b"",
    )
    .map_err(|_| SharingError::Tampered("the envelope"))?;
    if opened.len() != 64 {
        return Err(SharingError::Malformed("envelope contents"));
    }
    let mut key = [0u8; 32];
    let mut salt = [0u8; 32];
    key.copy_from_slice(&opened[..32]);
    salt.copy_from_slice(&opened[32..]);
    Ok((key, salt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_opens_only_for_its_recipient_delivery_and_document() {
        let alice = Keypair::from_seed([1; 32]);
        let mallory = Keypair::from_seed([2; 32]);
        let (decision, document) = (DecisionId(Hash([3; 32])), DocumentHash(Hash([4; 32])));
        let envelope = seal_envelope(&alice.public(), &decision, &document, &[5; 32], &[6; 32]).unwrap();
        assert_eq!(open_envelope(&alice, &decision, &document, &envelope).unwrap(), ([5; 32], [6; 32]));
        assert!(matches!(open_envelope(&mallory, &decision, &document, &envelope), Err(SharingError::Tampered(_))));
        let other = DecisionId(Hash([7; 32]));
        assert!(open_envelope(&alice, &other, &document, &envelope).is_err(), "bound to its decision");
        let mut tampered = envelope.clone();
        tampered.sealed[0] ^= 1;
        assert!(open_envelope(&alice, &decision, &document, &tampered).is_err());
    }

    #[test]
    fn chunks_detect_tampering_reordering_and_transplanting() {
        let key = [9; 32];
        let document = DocumentHash(Hash([1; 32]));
        let context = ChunkContext::at_rest(&document, 2);
        let sealed = seal_chunk(&key, &context, 0, b"first").unwrap();
        assert_eq!(open_chunk(&key, &context, 0, &sealed).unwrap(), b"first");
        assert!(open_chunk(&key, &context, 1, &sealed).is_err(), "another index");
        assert!(open_chunk(&key, &ChunkContext::at_rest(&document, 3), 0, &sealed).is_err(), "another count");
        let elsewhere = ChunkContext::at_rest(&DocumentHash(Hash([2; 32])), 2);
        assert!(open_chunk(&key, &elsewhere, 0, &sealed).is_err(), "another document");
        let mut flipped = sealed.clone();
        flipped[2] ^= 1;
        assert!(open_chunk(&key, &context, 0, &flipped).is_err());
        assert!(open_chunk(&key, &context, 2, &sealed).is_err(), "past the end");
    }

    #[test]
    fn a_content_digest_is_the_sha256_of_the_whole_content() {
        let mut digest = ContentDigest::default();
        digest.update(b"lab result: ");
        digest.update(b"normal");
        assert_eq!(digest.finish(), Hash::digest(b"lab result: normal"));
    }

    #[test]
    fn commitments_depend_on_the_salt() {
        let mut a = Commitment::new(&[1; 32]);
        a.update(b"lab result: normal");
        let mut b = Commitment::new(&[2; 32]);
        b.update(b"lab result: normal");
        assert_ne!(a.finish(), b.finish());
        assert_eq!(chunk_count(0), 1);
        assert_eq!(chunk_count(CHUNK_BYTES as u64 + 1), 2);
    }
}
