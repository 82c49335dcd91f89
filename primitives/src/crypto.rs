//! ed25519 keys and signatures with strict, domain-separated verification.
//!
//! Design:
//! - **Strict**: a [`PublicKey`] is a canonical encoding of a point that is not of small
//!   order (weak keys cannot even be decoded), and a signature is accepted only if its `s`
//!   is reduced and its `R` is a canonical encoding of a point of large order. Together
//!   these make signatures non-malleable: one (key, message) has one valid encoding.
//! - **Same verdict, single or batch**: [`BatchVerifier`] applies the same encoding checks
//!   before running ed25519-dalek's batch equation, so a signature that `verify` rejects is
//!   rejected by a batch too. Replicas that verify a certificate one way or the other can
//!   therefore never disagree about it, and ed25519-dalek derives the batch's randomness
//!   from a transcript of its inputs, so the verdict is deterministic.
//! - **Domain separation**: every signature covers a [`Domain`] (chain id, epoch, kind of
//!   message) before the message, so nothing signed for one purpose, epoch or chain is
//!   valid for another.

use core::fmt;

use bincode::{Decode, Encode};
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::ids::{ChainId, Epoch};

/// Why a key or signature was refused. Deliberately coarse: the reason a forgery failed
/// is of no use to anyone but the forger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The bytes are not a canonical encoding of a point of large order.
    #[error("invalid public key: not a canonical ed25519 point of large order")]
    InvalidPublicKey,
    /// The signature does not verify strictly under the key, domain and message.
    #[error("invalid signature")]
    InvalidSignature,
}

/// What a signature is for. Each kind has its own tag, so a signature made for one kind
/// never verifies as another. Tags are part of the wire format: never reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub enum SignatureKind {
    /// A leader's signature over the id of the block it proposes.
    ConsensusProposal,
    /// A replica's vote for a block.
    ConsensusVote,
    /// A replica's timeout for a round.
    ConsensusTimeout,
    /// A client transaction.
    Transaction,
    /// An authenticated API request.
    ApiRequest,
}

impl SignatureKind {
    fn tag(self) -> u8 {
        match self {
            SignatureKind::ConsensusProposal => 1,
            SignatureKind::ConsensusVote => 2,
            SignatureKind::ConsensusTimeout => 3,
            SignatureKind::Transaction => 16,
            SignatureKind::ApiRequest => 17,
        }
    }
}

/// The context every signature covers besides its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// The chain the signature is valid on.
    pub chain_id: ChainId,
    /// The epoch it is valid in.
    pub epoch: Epoch,
    /// What it is for.
    pub kind: SignatureKind,
}

/// Prefix of every signed byte string; the version lets us change the layout deliberately.
const SIGNING_PREFIX: &[u8] = b"panacea-signature-v1\0";

impl Domain {
    /// A domain for `kind` on `chain_id` in `epoch`.
    pub fn new(chain_id: ChainId, epoch: Epoch, kind: SignatureKind) -> Domain {
        Domain {
            chain_id,
            epoch,
            kind,
        }
    }

    /// The exact bytes that are signed for `message` in this domain.
    pub fn signing_bytes(&self, message: &[u8]) -> Vec<u8> {
        let chain = self.chain_id.as_str().as_bytes();
        let mut out =
            Vec::with_capacity(SIGNING_PREFIX.len() + 1 + chain.len() + 9 + message.len());
        out.extend_from_slice(SIGNING_PREFIX);
        // Chain ids are at most 64 bytes (checked by ChainId), so the length fits a byte.
        out.push(u8::try_from(chain.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(chain);
        out.extend_from_slice(&self.epoch.0.to_le_bytes());
        out.push(self.kind.tag());
        out.extend_from_slice(message);
        out
    }
}

/// An ed25519 public key that is known to be canonical and not weak.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// Decompresses `bytes` and checks that they are the canonical encoding of the point.
fn canonical_point(bytes: [u8; 32]) -> Option<curve25519_dalek::EdwardsPoint> {
    let compressed = CompressedEdwardsY(bytes);
    let point = compressed.decompress()?;
    (point.compress() == compressed).then_some(point)
}

impl PublicKey {
    /// Accepts only canonical encodings of points of large order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PublicKey, CryptoError> {
        canonical_point(bytes).ok_or(CryptoError::InvalidPublicKey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| CryptoError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(CryptoError::InvalidPublicKey);
        }
        Ok(PublicKey(key))
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Verifies `signature` over `message` in `domain`, strictly.
    pub fn verify(
        &self,
        domain: &Domain,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(&domain.signing_bytes(message), &signature)
            .map_err(|_| CryptoError::InvalidSignature)
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0.as_bytes().cmp(other.0.as_bytes())
    }
}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.as_bytes().hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(&self.0.as_bytes()[..4]))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.as_bytes()))
    }
}

impl Encode for PublicKey {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        encoder: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        self.0.as_bytes().encode(encoder)
    }
}

impl<C> Decode<C> for PublicKey {
    fn decode<D: bincode::de::Decoder<Context = C>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let bytes = <[u8; 32]>::decode(decoder)?;
        PublicKey::from_bytes(bytes)
            .map_err(|e| bincode::error::DecodeError::OtherString(e.to_string()))
    }
}
bincode::impl_borrow_decode!(PublicKey);

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::hash::hex32::serialize(self.0.as_bytes(), s)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = crate::hash::hex32::deserialize(d)?;
        PublicKey::from_bytes(bytes).map_err(serde::de::Error::custom)
    }
}

/// A 64-byte ed25519 signature, as received; checked only when verified.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(&self.0[..4]))
    }
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <&str>::deserialize(d)?;
        let mut out = [0u8; 64];
        hex::decode_to_slice(text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(Signature(out))
    }
}

/// A signing key. Zeroised on drop; its `Debug` shows only the public half.
#[derive(Clone)]
pub struct Keypair(SigningKey);

impl Keypair {
    /// The keypair derived from a 32-byte secret seed. The caller supplies the entropy
    /// (this crate does no IO, so it draws no randomness of its own).
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte secret seed, for keystores.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message` in `domain`.
    pub fn sign(&self, domain: &Domain, message: &[u8]) -> Signature {
        Signature(self.0.sign(&domain.signing_bytes(message)).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({:?})", self.public())
    }
}

/// Verifies many signatures at once, with exactly the verdict of verifying each strictly.
///
/// Batch verification costs about a third of single verification per signature at 64 or
/// more signatures (see `docs/benchmarks.md`). A failed batch says only that some
/// signature is bad; callers that must know which use [`BatchVerifier::verify_each`].
#[derive(Default)]
pub struct BatchVerifier {
    messages: Vec<Vec<u8>>,
    signatures: Vec<ed25519_dalek::Signature>,
    keys: Vec<VerifyingKey>,
    /// Set when a pushed signature already failed an encoding check.
    rejected: bool,
}

impl BatchVerifier {
    /// An empty batch with room for `capacity` signatures.
    pub fn with_capacity(capacity: usize) -> BatchVerifier {
        BatchVerifier {
            messages: Vec::with_capacity(capacity),
            signatures: Vec::with_capacity(capacity),
            keys: Vec::with_capacity(capacity),
            rejected: false,
        }
    }

    /// Number of signatures queued.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// Queues `signature` by `key` over `message` in `domain`.
    pub fn push(
        &mut self,
        key: &PublicKey,
        domain: &Domain,
        message: &[u8],
        signature: &Signature,
    ) {
        if !strict_encoding(signature) {
            self.rejected = true;
        }
        self.messages.push(domain.signing_bytes(message));
        self.signatures
            .push(ed25519_dalek::Signature::from_bytes(&signature.0));
        self.keys.push(key.0);
    }

    /// True if every queued signature is valid (an empty batch is valid).
    pub fn verify(self) -> Result<(), CryptoError> {
        if self.rejected {
            return Err(CryptoError::InvalidSignature);
        }
        match self.signatures.len() {
            0 => Ok(()),
            1 => self.keys[0]
                .verify_strict(&self.messages[0], &self.signatures[0])
                .map_err(|_| CryptoError::InvalidSignature),
            _ => {
                let messages: Vec<&[u8]> = self.messages.iter().map(Vec::as_slice).collect();
                ed25519_dalek::verify_batch(&messages, &self.signatures, &self.keys)
                    .map_err(|_| CryptoError::InvalidSignature)
            }
        }
    }

    /// The verdict for each queued signature, in order: one batch when all are valid,
    /// and single strict checks only when the batch fails.
    pub fn verify_each(self) -> Vec<bool> {
        let all_ok = {
            let messages: Vec<&[u8]> = self.messages.iter().map(Vec::as_slice).collect();
            !self.rejected
                && (self.signatures.len() < 2
                    || ed25519_dalek::verify_batch(&messages, &self.signatures, &self.keys).is_ok())
        };
        if all_ok && self.signatures.len() >= 2 {
            return vec![true; self.signatures.len()];
        }
        self.keys
            .iter()
            .zip(&self.messages)
            .zip(&self.signatures)
            .map(|((key, message), signature)| key.verify_strict(message, signature).is_ok())
            .collect()
    }
}

/// The encoding checks that `verify_strict` makes and the batch equation does not: `s`
/// reduced, `R` a canonical encoding of a point of large order.
fn strict_encoding(signature: &Signature) -> bool {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    r.copy_from_slice(&signature.0[..32]);
    s.copy_from_slice(&signature.0[32..]);
    let s_reduced = bool::from(curve25519_dalek::Scalar::from_canonical_bytes(s).is_some());
    s_reduced && canonical_point(r).is_some_and(|point| !point.is_small_order())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(kind: SignatureKind) -> Domain {
        Domain::new(ChainId::new("test").unwrap(), Epoch(1), kind)
    }

    #[test]
    fn sign_and_verify() {
        let key = Keypair::from_seed([7; 32]);
        let d = domain(SignatureKind::ConsensusVote);
        let sig = key.sign(&d, b"hello");
        assert_eq!(key.public().verify(&d, b"hello", &sig), Ok(()));
        assert!(key.public().verify(&d, b"hellp", &sig).is_err());
    }

    #[test]
    fn domains_separate() {
        let key = Keypair::from_seed([7; 32]);
        let vote = domain(SignatureKind::ConsensusVote);
        let sig = key.sign(&vote, b"m");
        let other_kind = domain(SignatureKind::ConsensusTimeout);
        let other_epoch = Domain {
            epoch: Epoch(2),
            ..vote.clone()
        };
        let other_chain = Domain {
            chain_id: ChainId::new("prod").unwrap(),
            ..vote.clone()
        };
        for d in [other_kind, other_epoch, other_chain] {
            assert_eq!(
                key.public().verify(&d, b"m", &sig),
                Err(CryptoError::InvalidSignature)
            );
        }
    }

    #[test]
    fn weak_and_non_canonical_keys_refused() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PublicKey::from_bytes(identity),
            Err(CryptoError::InvalidPublicKey)
        );
        // y = p + 1 is a non-canonical encoding of the same identity point.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(
            PublicKey::from_bytes(non_canonical),
            Err(CryptoError::InvalidPublicKey)
        );
    }

    #[test]
    fn malleated_signature_refused_single_and_batch() {
        let key = Keypair::from_seed([3; 32]);
        let d = domain(SignatureKind::Transaction);
        let sig = key.sign(&d, b"tx");
        // s + l is the classic malleation: same point equation, unreduced scalar.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut malleated = sig;
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(malleated.0[32 + i]) + u16::from(l[i]) + carry;
            malleated.0[32 + i] = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert!(key.public().verify(&d, b"tx", &malleated).is_err());
        let mut batch = BatchVerifier::default();
        batch.push(&key.public(), &d, b"tx", &sig);
        batch.push(&key.public(), &d, b"tx", &malleated);
        assert!(batch.verify().is_err());
    }

    #[test]
    fn batch_finds_the_bad_signature() {
        let d = domain(SignatureKind::ConsensusVote);
        let keys: Vec<Keypair> = (0..8u8).map(|i| Keypair::from_seed([i; 32])).collect();
        let mut good = BatchVerifier::default();
        let mut bad = BatchVerifier::default();
        for (i, k) in keys.iter().enumerate() {
            let sig = k.sign(&d, b"block");
            good.push(&k.public(), &d, b"block", &sig);
            let message: &[u8] = if i == 5 { b"other" } else { b"block" };
            bad.push(&k.public(), &d, message, &sig);
        }
        assert_eq!(good.verify(), Ok(()));
        let verdicts = bad.verify_each();
        assert_eq!(verdicts.iter().filter(|ok| !**ok).count(), 1);
        assert!(!verdicts[5]);
    }

    #[test]
    fn debug_hides_secret() {
        let key = Keypair::from_seed([9; 32]);
        let shown = format!("{key:?}");
        assert!(shown.starts_with("Keypair(PublicKey("));
        assert!(!shown.contains(&hex::encode([9u8; 32])));
    }
}
