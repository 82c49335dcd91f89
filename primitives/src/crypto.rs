//! ed25519 keys and signatures with strict, domain-separated verification.
//!
//! Design:
//! - **One verdict, single or batch.** Signatures are produced by ed25519-dalek (RFC
//!   8032) and verified with the *cofactored* equation `[8](sB - hA - R) = 0`, singly or
//!   in a batch `[8](-(sum z_i s_i)B + sum z_i R_i + sum z_i h_i A_i) = 0`. With the
//!   cofactor cleared on both paths, a batch accepts exactly when every signature in it
//!   would be accepted alone (up to a 2^-128 chance over the batch coefficients). The
//!   cofactorless equation of `verify_strict` does not have this property: a nonce point
//!   with a small-order component passes a batch for some coefficients and fails alone,
//!   which would let a Byzantine signer make honest replicas disagree on a certificate.
//!   This is the rule of ZIP-215, made for consensus (see `docs/decisions/0003`).
//! - **Deterministic.** Batch coefficients are derived by hashing every input of the
//!   batch, so the verdict never depends on a random number generator.
//! - **Strict encodings, no weak keys.** A [`PublicKey`] is a canonical encoding of a
//!   point that is not of small order; a signature must have a reduced `s` and a
//!   canonical `R` that is not of small order. A third party therefore cannot turn a valid
//!   signature into another valid one (`s + l`, a re-encoded `R`, or `R + T` all fail:
//!   `R` is hashed into `h`).
//! - **Domain separation.** Every signature covers a [`Domain`] (chain id, epoch, kind of
//!   message) before the message, so nothing signed for one purpose, epoch or chain is
//!   valid for another.

use core::fmt;

use bincode::{Decode, Encode};
use curve25519_dalek::Scalar;
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

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
    /// A machine's answer to a connection challenge (machine-to-machine connections).
    ConnectionChallenge,
}

impl SignatureKind {
    fn tag(self) -> u8 {
        match self {
            SignatureKind::ConsensusProposal => 1,
            SignatureKind::ConsensusVote => 2,
            SignatureKind::ConsensusTimeout => 3,
            SignatureKind::Transaction => 16,
            SignatureKind::ApiRequest => 17,
            SignatureKind::ConnectionChallenge => 18,
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
        Domain { chain_id, epoch, kind }
    }

    /// The exact bytes that are signed for `message` in this domain.
    pub fn signing_bytes(&self, message: &[u8]) -> Vec<u8> {
        let chain = self.chain_id.as_str().as_bytes();
        let mut out = Vec::with_capacity(SIGNING_PREFIX.len() + 1 + chain.len() + 9 + message.len());
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
#[derive(Clone, Copy)]
pub struct PublicKey {
    bytes: [u8; 32],
    point: EdwardsPoint,
}

impl PublicKey {
    /// The X25519 (Montgomery) form of this key: the birational map of RFC 7748, so that
    /// a document can be encrypted to a registered identity's signing key without a second
    /// key being registered. Used only by the data plane's HPKE envelopes.
    pub fn to_x25519(&self) -> [u8; 32] {
        self.point.to_montgomery().to_bytes()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PublicKey {}

/// Decompresses `bytes` if they are a canonical encoding: the y coordinate below the
/// field prime p = 2^255 - 19. (The other non-canonical form, x = 0 with the sign bit set,
/// only encodes points of small order, which every caller rejects.) Checking the bytes
/// saves the field inversion that re-compressing the point would cost.
fn canonical_point(bytes: [u8; 32]) -> Option<EdwardsPoint> {
    let y_at_least_p = bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed;
    if y_at_least_p {
        return None;
    }
    CompressedEdwardsY(bytes).decompress()
}

/// Keys decoded recently. Decoding a key decompresses a curve point (a field square root,
/// about 4 µs); a node decodes the same few thousand keys (its members' staff and admins)
/// over and over: in every transaction at admission, in gossip, in each block's check and
/// execution, and in every stored identity or organisation the contracts read. Only valid
/// keys are kept; the map starts over when full.
static DECODED: std::sync::Mutex<std::collections::BTreeMap<[u8; 32], EdwardsPoint>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Most keys kept decoded.
const DECODED_MAX: usize = 8_192;

impl PublicKey {
    /// Accepts only canonical encodings of points that are not of small order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PublicKey, CryptoError> {
        if let Some(point) = DECODED.lock().ok().and_then(|cache| cache.get(&bytes).copied()) {
            return Ok(PublicKey { bytes, point });
        }
        let point = canonical_point(bytes).ok_or(CryptoError::InvalidPublicKey)?;
        if point.is_small_order() {
            return Err(CryptoError::InvalidPublicKey);
        }
        if let Ok(mut cache) = DECODED.lock() {
            if cache.len() >= DECODED_MAX {
                cache.clear();
            }
            cache.insert(bytes, point);
        }
        Ok(PublicKey { bytes, point })
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// Verifies `signature` over `message` in `domain`.
    pub fn verify(&self, domain: &Domain, message: &[u8], signature: &Signature) -> Result<(), CryptoError> {
        let parsed = ParsedSignature::parse(signature).ok_or(CryptoError::InvalidSignature)?;
        let h = challenge(&signature.0[..32], &self.bytes, &domain.signing_bytes(message));
        // sB - hA - R, with the cofactor cleared.
        let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&(-h), &self.point, &parsed.s) - parsed.r;
        if check.mul_by_cofactor().is_identity() { Ok(()) } else { Err(CryptoError::InvalidSignature) }
    }
}

/// A signature whose encodings passed the strict checks.
struct ParsedSignature {
    r: EdwardsPoint,
    s: Scalar,
}

impl ParsedSignature {
    /// `s` reduced, `R` a canonical encoding of a point that is not of small order.
    fn parse(signature: &Signature) -> Option<ParsedSignature> {
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&signature.0[..32]);
        s.copy_from_slice(&signature.0[32..]);
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s))?;
        let r = canonical_point(r).filter(|point| !point.is_small_order())?;
        Some(ParsedSignature { r, s })
    }
}

/// `h = SHA-512(R || A || M) mod l`, as in RFC 8032.
fn challenge(r: &[u8], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hasher = Sha512::new();
    hasher.update(r);
    hasher.update(a);
    hasher.update(message);
    let wide: [u8; 64] = hasher.finalize().into();
    Scalar::from_bytes_mod_order_wide(&wide)
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(&self.bytes[..4]))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.bytes))
    }
}

impl Encode for PublicKey {
    fn encode<E: bincode::enc::Encoder>(&self, encoder: &mut E) -> Result<(), bincode::error::EncodeError> {
        self.bytes.encode(encoder)
    }
}

impl<C> Decode<C> for PublicKey {
    fn decode<D: bincode::de::Decoder<Context = C>>(decoder: &mut D) -> Result<Self, bincode::error::DecodeError> {
        let bytes = <[u8; 32]>::decode(decoder)?;
        PublicKey::from_bytes(bytes).map_err(|e| bincode::error::DecodeError::OtherString(e.to_string()))
    }
}
bincode::impl_borrow_decode!(PublicKey);

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::hash::hex32::serialize(&self.bytes, s)
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
        let point = self.0.verifying_key().to_edwards();
        PublicKey { bytes: point.compress().to_bytes(), point }
    }

    /// The X25519 secret scalar of this key (the clamped half of SHA-512 of the seed, as
    /// ed25519 uses it), for decrypting what was encrypted to
    /// [`PublicKey::to_x25519`]. Used only by the data plane's HPKE envelopes.
    pub fn to_x25519_secret(&self) -> [u8; 32] {
        self.0.to_scalar_bytes()
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

/// Verifies many signatures at once, with exactly the verdict of verifying each alone.
///
/// Batch verification costs about a third of single verification per signature at 64 or
/// more signatures (see `docs/benchmarks.md`). A failed batch says only that some
/// signature is bad; callers that must know which use [`BatchVerifier::verify_each`].
#[derive(Default)]
pub struct BatchVerifier {
    items: Vec<BatchItem>,
    /// Set when a pushed signature already failed an encoding check.
    rejected: bool,
}

struct BatchItem {
    key: EdwardsPoint,
    parsed: Option<ParsedSignature>,
    h: Scalar,
    s_bytes: [u8; 32],
}

impl BatchVerifier {
    /// An empty batch with room for `capacity` signatures.
    pub fn with_capacity(capacity: usize) -> BatchVerifier {
        BatchVerifier { items: Vec::with_capacity(capacity), rejected: false }
    }

    /// Number of signatures queued.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `signature` by `key` over `message` in `domain`.
    pub fn push(&mut self, key: &PublicKey, domain: &Domain, message: &[u8], signature: &Signature) {
        let parsed = ParsedSignature::parse(signature);
        if parsed.is_none() {
            self.rejected = true;
        }
        let h = challenge(&signature.0[..32], &key.bytes, &domain.signing_bytes(message));
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&signature.0[32..]);
        self.items.push(BatchItem { key: key.point, parsed, h, s_bytes });
    }

    /// True if every queued signature is valid (an empty batch is valid).
    pub fn verify(self) -> Result<(), CryptoError> {
        if self.rejected {
            return Err(CryptoError::InvalidSignature);
        }
        if batch_equation(&self.items) { Ok(()) } else { Err(CryptoError::InvalidSignature) }
    }

    /// The verdict for each queued signature, in order: one batch when all are valid,
    /// and single checks only when the batch fails.
    pub fn verify_each(self) -> Vec<bool> {
        if !self.rejected && batch_equation(&self.items) {
            return vec![true; self.items.len()];
        }
        self.items.iter().map(|item| batch_equation(core::slice::from_ref(item))).collect()
    }
}

/// The cofactored batch equation over items whose encodings all parsed.
fn batch_equation(items: &[BatchItem]) -> bool {
    let mut parsed = Vec::with_capacity(items.len());
    for item in items {
        match &item.parsed {
            Some(p) => parsed.push(p),
            None => return false,
        }
    }
    match items.len() {
        0 => return true,
        1 => {
            let (item, sig) = (&items[0], parsed[0]);
            let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&(-item.h), &item.key, &sig.s) - sig.r;
            return check.mul_by_cofactor().is_identity();
        }
        _ => {}
    }
    // Coefficients z_i: 128 bits each, derived from a hash of every input (h_i covers
    // R_i, A_i and the message; s_i is added), so no signer can choose them.
    let mut transcript = Sha512::new();
    transcript.update(b"panacea-batch-v1");
    for item in items {
        transcript.update(item.h.as_bytes());
        transcript.update(item.s_bytes);
    }
    let seed: [u8; 64] = transcript.finalize().into();
    let mut b_coefficient = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    for (i, (item, sig)) in items.iter().zip(&parsed).enumerate() {
        let mut hasher = Sha512::new();
        hasher.update(seed);
        hasher.update((i as u64).to_le_bytes());
        let wide: [u8; 64] = hasher.finalize().into();
        let mut z_bytes = [0u8; 32];
        z_bytes[..16].copy_from_slice(&wide[..16]);
        let z = Scalar::from_bytes_mod_order(z_bytes);
        b_coefficient += z * sig.s;
        scalars.push(z);
        points.push(sig.r);
        scalars.push(z * item.h);
        points.push(item.key);
    }
    scalars.push(-b_coefficient);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).mul_by_cofactor().is_identity()
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
        let other_epoch = Domain { epoch: Epoch(2), ..vote.clone() };
        let other_chain = Domain { chain_id: ChainId::new("prod").unwrap(), ..vote.clone() };
        for d in [other_kind, other_epoch, other_chain] {
            assert_eq!(key.public().verify(&d, b"m", &sig), Err(CryptoError::InvalidSignature));
        }
    }

    #[test]
    fn weak_and_non_canonical_keys_refused() {
        // The identity point (y = 1) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(identity), Err(CryptoError::InvalidPublicKey));
        // y = p + 1 is a non-canonical encoding of the same identity point.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(PublicKey::from_bytes(non_canonical), Err(CryptoError::InvalidPublicKey));
    }

    #[test]
    fn malleated_signature_refused_single_and_batch() {
        let key = Keypair::from_seed([3; 32]);
        let d = domain(SignatureKind::Transaction);
        let sig = key.sign(&d, b"tx");
        // s + l is the classic malleation: same point equation, unreduced scalar.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut malleated = sig;
        let mut carry = 0u16;
        for (byte, l_byte) in malleated.0[32..].iter_mut().zip(l) {
            let sum = u16::from(*byte) + u16::from(l_byte) + carry;
            *byte = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert!(key.public().verify(&d, b"tx", &malleated).is_err());
        let mut batch = BatchVerifier::default();
        batch.push(&key.public(), &d, b"tx", &sig);
        batch.push(&key.public(), &d, b"tx", &malleated);
        assert!(batch.verify().is_err());
    }

    /// A signer who adds a small-order point T to its nonce point R gets a signature that
    /// cofactorless verification rejects but a cofactorless batch accepts for some
    /// coefficients. Under the cofactored rule both paths accept it, always together; what
    /// matters for consensus is that they never disagree, whatever the batch.
    #[test]
    fn torsion_in_nonce_gets_one_verdict_single_and_batch() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        let key = Keypair::from_seed([5; 32]);
        let public = key.public();
        let d = domain(SignatureKind::ConsensusVote);
        let secret = key.0.to_scalar();
        for (t_index, torsion) in EIGHT_TORSION.iter().enumerate().skip(1) {
            for attempt in 0u8..8 {
                let message = [attempt, u8::try_from(t_index).unwrap()];
                let r = Scalar::from(u64::from(attempt) + 7);
                let big_r = ED25519_BASEPOINT_POINT * r + torsion;
                let r_bytes = big_r.compress().to_bytes();
                let h = challenge(&r_bytes, &public.to_bytes(), &d.signing_bytes(&message));
                let s = r + h * secret;
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&r_bytes);
                sig[32..].copy_from_slice(s.as_bytes());
                let sig = Signature(sig);
                let single = public.verify(&d, &message, &sig).is_ok();
                let honest = key.sign(&d, b"other");
                let mut batch = BatchVerifier::default();
                batch.push(&public, &d, &message, &sig);
                batch.push(&public, &d, b"other", &honest);
                assert_eq!(batch.verify().is_ok(), single, "torsion {t_index}, attempt {attempt}");
            }
        }
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
