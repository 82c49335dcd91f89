//! Blocks and the certificates that order them.

use std::sync::Arc;

use bincode::{Decode, Encode};
use panacea_primitives::{Epoch, Hash, Height, Round, Signature, ValidatorIndex, codec};

/// Opaque bytes ordered by consensus. Consensus never looks inside: to it a payload is a
/// digest and a length (Architecture Invariant: consensus knows nothing of transactions).
///
/// A payload has two parts: `meta`, a few bytes the host wants to be able to prove on
/// their own (Panacea puts the block time and the state root it attests there), and
/// `data`, the bulk (the transactions). The digest commits to `meta` and to the hash of
/// `data`, so that a light client can check `meta` against a certified header from
/// `meta` and a 32-byte hash, without downloading the transactions.
#[derive(Clone, PartialEq, Eq, Default, Encode, Decode)]
pub struct Payload {
    /// The small part, provable on its own.
    pub meta: Vec<u8>,
    /// The bulk.
    pub data: Vec<u8>,
}

/// Prefix of the bytes hashed into a payload digest.
const PAYLOAD_DIGEST_PREFIX: &[u8] = b"panacea-payload-v1";

impl Payload {
    /// A payload of `meta` and `data`.
    pub fn new(meta: Vec<u8>, data: Vec<u8>) -> Payload {
        Payload { meta, data }
    }

    /// A payload with no meta part.
    pub fn opaque(data: Vec<u8>) -> Payload {
        Payload { meta: Vec::new(), data }
    }

    /// The digest committed to in the block header: SHA-256 over a prefix, `meta` and
    /// the SHA-256 of `data` (see [`Payload::digest_of`]).
    pub fn digest(&self) -> Hash {
        Payload::digest_of(&self.meta, Hash::digest(&self.data))
    }

    /// The digest of a payload from its meta part and the hash of its data part: what a
    /// light client recomputes.
    pub fn digest_of(meta: &[u8], data_digest: Hash) -> Hash {
        Hash::digest_parts(&[PAYLOAD_DIGEST_PREFIX, meta, data_digest.as_bytes()])
    }

    /// Length in bytes of both parts.
    pub fn len(&self) -> usize {
        self.meta.len().saturating_add(self.data.len())
    }

    /// True if both parts are empty.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty() && self.data.is_empty()
    }
}

impl core::fmt::Debug for Payload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Payload({} + {} bytes, {:?})", self.meta.len(), self.data.len(), self.digest())
    }
}

/// What a vote signs: one block, at one round and height, in the domain's epoch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct VoteData {
    /// Round of the block.
    pub round: Round,
    /// Height of the block.
    pub height: Height,
    /// Id of the block.
    pub block_id: Hash,
}

impl VoteData {
    /// The bytes a voter signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }
}

/// A quorum certificate: 2f+1 validators voted for `data.block_id` in `data.round`.
///
/// Signatures are sorted by validator index with no duplicates, which makes the encoding
/// of a certificate canonical and duplicate signers easy to refuse.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct QuorumCert {
    /// The epoch whose validator set signed.
    pub epoch: Epoch,
    /// The certified block.
    pub data: VoteData,
    /// `(signer, signature over data)`, sorted by signer.
    pub signatures: Vec<(ValidatorIndex, Signature)>,
}

impl QuorumCert {
    /// The certificate of a genesis block: round 0, no signatures. Valid only for the
    /// genesis id the replica was configured with.
    pub fn genesis(epoch: Epoch, genesis_id: Hash) -> QuorumCert {
        QuorumCert {
            epoch,
            data: VoteData { round: Round::ZERO, height: Height::ZERO, block_id: genesis_id },
            signatures: Vec::new(),
        }
    }

    /// The certificate an epoch starts from: round 0 of `epoch`, no signatures, for the
    /// last block of the previous epoch (`block_id` at `height`). Valid only where the
    /// replica was configured with that anchor (see [`crate::Config::for_epoch`]).
    pub fn anchor(epoch: Epoch, block_id: Hash, height: Height) -> QuorumCert {
        QuorumCert { epoch, data: VoteData { round: Round::ZERO, height, block_id }, signatures: Vec::new() }
    }

    /// Round of the certified block.
    pub fn round(&self) -> Round {
        self.data.round
    }

    /// Id of the certified block.
    pub fn block_id(&self) -> Hash {
        self.data.block_id
    }

    /// Height of the certified block.
    pub fn height(&self) -> Height {
        self.data.height
    }
}

/// What a timeout signs: the round given up, and the round of the signer's highest QC.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct TimeoutData {
    /// The round the signer gives up on.
    pub round: Round,
    /// Round of the highest QC the signer knows.
    pub high_qc_round: Round,
}

impl TimeoutData {
    /// The bytes a replica signs when it times out.
    pub fn signing_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }
}

/// A timeout certificate: 2f+1 validators gave up on `round`. Each signer signed the
/// round of its own highest QC, so the next leader must extend a QC at least that high.
///
/// The certificate carries a QC at least as high as every round its signers report
/// (Jolteon's "highest QC"): a signed round alone proves nothing, and without the QC one
/// Byzantine signer could report a round no QC reached and make every proposal after the
/// timeout unsafe to vote for.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct TimeoutCert {
    /// The epoch whose validator set signed.
    pub epoch: Epoch,
    /// The round given up.
    pub round: Round,
    /// `(signer, its highest QC round, signature over TimeoutData)`, sorted by signer.
    pub signatures: Vec<(ValidatorIndex, Round, Signature)>,
    /// A QC whose round is at least every reported round.
    pub high_qc: QuorumCert,
}

impl TimeoutCert {
    /// The highest QC round any signer reported: a proposal justified by this TC must
    /// extend a QC at least this high (Jolteon's safe-to-extend rule).
    pub fn max_high_qc_round(&self) -> Round {
        self.signatures.iter().map(|(_, round, _)| *round).max().unwrap_or(Round::ZERO)
    }
}

/// A block header. Its hash is the block id.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct BlockHeader {
    /// Epoch of the validator set that orders this block.
    pub epoch: Epoch,
    /// The round it was proposed in.
    pub round: Round,
    /// `justify.height + 1`.
    pub height: Height,
    /// The QC of the parent block; `justify.block_id()` is the parent id.
    pub justify: QuorumCert,
    /// SHA-256 of the payload.
    pub payload_digest: Hash,
    /// Payload length in bytes, so that a header alone says how large its block is.
    pub payload_bytes: u64,
    /// The proposer, who must be the leader of `round`.
    pub author: ValidatorIndex,
}

/// Prefix of the bytes hashed into a block id.
const BLOCK_ID_PREFIX: &[u8] = b"panacea-block-v1";

impl BlockHeader {
    /// The block id: SHA-256 over the canonical encoding of the header.
    pub fn id(&self) -> Hash {
        Hash::digest_parts(&[BLOCK_ID_PREFIX, &codec::encode(self)])
    }

    /// Id of the parent block.
    pub fn parent(&self) -> Hash {
        self.justify.block_id()
    }
}

/// A block: a header and the payload it commits to.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The payload; `header.payload_digest` is its hash.
    pub payload: Payload,
}

impl Block {
    /// A block for `payload`, filling in its digest and length.
    pub fn new(epoch: Epoch, round: Round, justify: QuorumCert, payload: Payload, author: ValidatorIndex) -> Block {
        let header = BlockHeader {
            epoch,
            round,
            height: justify.height().next(),
            payload_digest: payload.digest(),
            payload_bytes: payload.len() as u64,
            justify,
            author,
        };
        Block { header, payload }
    }

    /// The genesis block of a chain: round 0, height 0, no parent. Its payload is
    /// whatever the host puts in genesis (for Panacea, the genesis document).
    pub fn genesis(epoch: Epoch, payload: Payload) -> Block {
        let header = BlockHeader {
            epoch,
            round: Round::ZERO,
            height: Height::ZERO,
            justify: QuorumCert::genesis(epoch, Hash::ZERO),
            payload_digest: payload.digest(),
            payload_bytes: payload.len() as u64,
            author: ValidatorIndex(0),
        };
        Block { header, payload }
    }

    /// The block id.
    pub fn id(&self) -> Hash {
        self.header.id()
    }
}

/// Shared, immutable blocks: a block travels from the network to the tree, the host and
/// the commit without being copied.
pub type BlockRef = Arc<Block>;

/// Proof that block `committed` is final: its child `child` (one round later, so the two
/// form a 2-chain) is certified by `child_qc`. Anyone holding the validator set can
/// check it without trusting the node that served it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct CommitCertificate {
    /// Id of the committed block (`child.justify.block_id()`).
    pub committed: Hash,
    /// Header of the committed block's child.
    pub child: BlockHeader,
    /// QC certifying the child.
    pub child_qc: QuorumCert,
}

impl CommitCertificate {
    /// Round of the committed block.
    pub fn committed_round(&self) -> Round {
        self.child.justify.round()
    }

    /// Height of the committed block.
    pub fn committed_height(&self) -> Height {
        self.child.justify.height()
    }
}
