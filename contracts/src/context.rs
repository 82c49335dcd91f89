//! What execution is told rather than finds out: the block's height and time, and the
//! verified signer. Contracts never read a clock.

use panacea_primitives::{ChainId, Hash, Height, PublicKey, Timestamp};

/// The block being executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// The chain.
    pub chain_id: ChainId,
    /// Its height.
    pub height: Height,
    /// Its time, agreed by consensus (the proposer's clock, checked by the validators).
    pub time: Timestamp,
    /// The committed height whose state the block attests (its `BlockMeta`): a pending
    /// validator set decided at or below it takes effect with this block.
    pub attested: Height,
    /// How misbehaviour evidence is checked (the consensus rules, injected by the host).
    pub evidence: crate::governance::EvidenceChecker,
}

impl BlockContext {
    /// A block at `height` and `time` attesting its parent's state, without an evidence
    /// check: tests, tools and replays.
    pub fn new(chain_id: ChainId, height: Height, time: Timestamp) -> BlockContext {
        let attested = Height(height.0.saturating_sub(1));
        BlockContext { chain_id, height, time, attested, evidence: Default::default() }
    }
}

/// One transaction being executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxContext {
    /// The block.
    pub block: BlockContext,
    /// The verified signer.
    pub signer: PublicKey,
    /// The transaction id.
    pub tx: Hash,
}
