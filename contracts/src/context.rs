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
