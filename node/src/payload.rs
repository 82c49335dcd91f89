//! What a block's payload holds: in its provable part ([`BlockMeta`]) the proposer's time
//! and the state root of its committed tip; in its bulk the transactions, in order.
//!
//! Consensus sees only bytes; this module gives them meaning, and is the check every
//! validator runs before it votes for a block.

use panacea_consensus::Payload;
use panacea_contracts::SignedTransaction;
use panacea_contracts::membership::ChainMode;
use panacea_contracts::tx::TRANSACTION_BYTES_MAX;
use std::collections::BTreeSet;

use panacea_primitives::{
    BlockMeta, Hash, Height, OpaqueBatch, OpaqueBatchError, PublicKey, StateAttestation, Timestamp, codec,
};

/// How far ahead of a validator's own clock a block's time may be, in milliseconds.
pub const CLOCK_DRIFT_MAX_MS: u64 = 10_000;

/// The body of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockBody {
    /// The provable part: time and attested state.
    pub meta: BlockMeta,
    /// The transactions, executed in this order (none on an ordering-only chain).
    pub transactions: Vec<SignedTransaction>,
    /// The opaque batches, in order (on an ordering-only chain; none on any other).
    pub batches: Vec<OpaqueBatch>,
}

/// A payload no honest validator would vote for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not a block body.
    #[error("the payload does not decode: {0}")]
    Decode(String),
    /// Too many transactions.
    #[error("{count} transactions, more than the {max} a block may hold")]
    TooManyTransactions {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// One transaction over the size limit.
    #[error("a transaction of {0} bytes exceeds the transaction size limit")]
    TransactionTooLarge(usize),
    /// The time does not move forward.
    #[error(
        "block time {time} is not after {parent}, its parent's time (or, when the parent is no longer held, this node's committed tip's)"
    )]
    TimeNotAfterParent {
        /// The block's time.
        time: Timestamp,
        /// The parent's.
        parent: Timestamp,
    },
    /// An opaque batch is malformed.
    #[error("batch {index} is malformed: {error}")]
    Batch {
        /// Its position.
        index: usize,
        /// Why.
        error: OpaqueBatchError,
    },
    /// The meta part does not decode.
    #[error("the block meta does not decode: {0}")]
    Meta(String),
    /// The attested height is not below the block's own.
    #[error("the block attests the state of height {attested}, which is not below its own height {height}")]
    AttestsTheFuture {
        /// The attested height.
        attested: Height,
        /// The block's height.
        height: Height,
    },
    /// The attested root differs from this validator's root at that height.
    #[error("the block attests state root {claimed} at height {height}, but this node's root there is {ours}")]
    WrongStateRoot {
        /// The attested height.
        height: Height,
        /// The root in the block.
        claimed: Hash,
        /// This node's root.
        ours: Hash,
    },
    /// A transaction's signer had no owner in the state the block attests.
    #[error(
        "transaction {index} is signed by {}, a key not registered in the state the block attests",
        hex::encode(signer)
    )]
    UnregisteredSigner {
        /// The transaction's position.
        index: usize,
        /// Its signer's key.
        signer: [u8; 32],
    },
    /// The time is too far in the future.
    #[error("block time {time} is more than {CLOCK_DRIFT_MAX_MS} ms ahead of this node's clock {now}")]
    TimeInFuture {
        /// The block's time.
        time: Timestamp,
        /// This node's clock.
        now: Timestamp,
    },
}

impl BlockBody {
    /// A body at `time` attesting `state`, holding `transactions`.
    pub fn new(time: Timestamp, state: StateAttestation, transactions: Vec<SignedTransaction>) -> BlockBody {
        BlockBody { meta: BlockMeta { time, state }, transactions, batches: Vec::new() }
    }

    /// A body of an ordering-only chain at `time` attesting `state`, holding `batches`.
    pub fn ordering(time: Timestamp, state: StateAttestation, batches: Vec<OpaqueBatch>) -> BlockBody {
        BlockBody { meta: BlockMeta { time, state }, transactions: Vec::new(), batches }
    }

    /// The proposer's time.
    pub fn time(&self) -> Timestamp {
        self.meta.time
    }

    /// The payload consensus orders.
    pub fn to_payload(&self) -> Payload {
        // A body holds one of the two lists; an empty list of either encodes the same.
        let data =
            if self.batches.is_empty() { codec::encode(&self.transactions) } else { codec::encode(&self.batches) };
        Payload::new(self.meta.encode(), data)
    }

    /// Decodes a payload of a chain in `mode`: [`BlockBody::decode`] for a contracts
    /// chain; for an ordering-only chain, at most `items_max` batches, each checked.
    pub fn decode_in<const LIMIT: usize>(
        mode: ChainMode,
        payload: &Payload,
        items_max: usize,
    ) -> Result<BlockBody, BodyError> {
        match mode {
            ChainMode::Contracts => BlockBody::decode::<LIMIT>(payload, items_max),
            ChainMode::OrderingOnly => {
                let meta = BlockMeta::decode(&payload.meta).map_err(|e| BodyError::Meta(e.to_string()))?;
                let batches = codec::decode::<Vec<OpaqueBatch>, LIMIT>(&payload.data)
                    .map_err(|e| BodyError::Decode(e.to_string()))?;
                if batches.len() > items_max {
                    return Err(BodyError::TooManyTransactions { count: batches.len(), max: items_max });
                }
                for (index, batch) in batches.iter().enumerate() {
                    batch.check().map_err(|error| BodyError::Batch { index, error })?;
                }
                Ok(BlockBody { meta, transactions: Vec::new(), batches })
            }
        }
    }

    /// The ids of what the body orders: its transactions' ids, or its batches' ids.
    pub fn item_ids(&self) -> Vec<Hash> {
        if self.batches.is_empty() {
            self.transactions.iter().map(|t| t.id()).collect()
        } else {
            self.batches.iter().map(OpaqueBatch::id).collect()
        }
    }

    /// Decodes and checks a payload whose data part is at most `LIMIT` bytes and holds at
    /// most `transactions_max` transactions, each within the transaction size limit.
    pub fn decode<const LIMIT: usize>(payload: &Payload, transactions_max: usize) -> Result<BlockBody, BodyError> {
        let meta = BlockMeta::decode(&payload.meta).map_err(|e| BodyError::Meta(e.to_string()))?;
        let transactions = codec::decode::<Vec<SignedTransaction>, LIMIT>(&payload.data)
            .map_err(|e| BodyError::Decode(e.to_string()))?;
        if transactions.len() > transactions_max {
            return Err(BodyError::TooManyTransactions { count: transactions.len(), max: transactions_max });
        }
        for tx in &transactions {
            let size = codec::encoded_len(tx);
            if size > TRANSACTION_BYTES_MAX {
                return Err(BodyError::TransactionTooLarge(size));
            }
        }
        Ok(BlockBody { meta, transactions, batches: Vec::new() })
    }

    /// Checks the time against the parent's and this node's clock.
    pub fn check_time(&self, parent: Timestamp, now: Timestamp) -> Result<(), BodyError> {
        let time = self.meta.time;
        if time <= parent {
            return Err(BodyError::TimeNotAfterParent { time, parent });
        }
        if time > now.plus_millis(CLOCK_DRIFT_MAX_MS) {
            return Err(BodyError::TimeInFuture { time, now });
        }
        Ok(())
    }

    /// Checks that every transaction's signer is registered, as `registered` answers for
    /// the state the block attests (asked once per signer). An honest proposer only
    /// proposes transactions whose signers it finds registered in that same state.
    pub fn check_signers(&self, mut registered: impl FnMut(&PublicKey) -> bool) -> Result<(), BodyError> {
        let mut asked = BTreeSet::new();
        for (index, tx) in self.transactions.iter().enumerate() {
            let signer = tx.tx.signer;
            if asked.insert(signer.to_bytes()) && !registered(&signer) {
                return Err(BodyError::UnregisteredSigner { index, signer: signer.to_bytes() });
            }
        }
        Ok(())
    }

    /// Checks the attested state of a block at `height` against this node's root at the
    /// attested height (`ours`).
    pub fn check_state(&self, height: Height, ours: Hash) -> Result<(), BodyError> {
        let state = self.meta.state;
        if state.height >= height {
            return Err(BodyError::AttestsTheFuture { attested: state.height, height });
        }
        if state.state_root != ours {
            return Err(BodyError::WrongStateRoot { height: state.height, claimed: state.state_root, ours });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(time: u64) -> BlockBody {
        BlockBody::new(
            Timestamp(time),
            StateAttestation { height: Height(4), state_root: Hash::digest(b"r") },
            Vec::new(),
        )
    }

    #[test]
    fn time_must_move_forward_and_stay_near_the_clock() {
        assert!(body(1_000).check_time(Timestamp(999), Timestamp(1_000)).is_ok());
        assert!(matches!(
            body(1_000).check_time(Timestamp(1_000), Timestamp(1_000)),
            Err(BodyError::TimeNotAfterParent { .. })
        ));
        assert!(matches!(
            body(20_001).check_time(Timestamp(0), Timestamp(10_000)),
            Err(BodyError::TimeInFuture { .. })
        ));
    }

    #[test]
    fn attested_state_must_be_below_and_match() {
        let b = body(1);
        assert!(b.check_state(Height(5), Hash::digest(b"r")).is_ok());
        assert!(matches!(b.check_state(Height(4), Hash::digest(b"r")), Err(BodyError::AttestsTheFuture { .. })));
        assert!(matches!(b.check_state(Height(5), Hash::digest(b"x")), Err(BodyError::WrongStateRoot { .. })));
    }

    #[test]
    fn an_unregistered_signer_is_named_and_each_signer_asked_once() {
        use panacea_contracts::identity::IdentityCall;
        use panacea_contracts::{Call, Transaction};
        use panacea_primitives::{ChainId, Keypair};
        let tx = |key: &Keypair, nonce: u64| {
            let call =
                Call::Identity(IdentityCall::Suspend { identity: panacea_contracts::ids::IdentityId(Hash::ZERO) });
            Transaction { chain_id: ChainId::new("t").unwrap(), signer: key.public(), nonce, call }.sign(key)
        };
        let (known, stranger) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let mut b = body(1);
        b.transactions = vec![tx(&known, 1), tx(&known, 2), tx(&stranger, 1)];
        let mut asked = Vec::new();
        let verdict = b.check_signers(|key| {
            asked.push(*key);
            *key == known.public()
        });
        assert_eq!(verdict, Err(BodyError::UnregisteredSigner { index: 2, signer: stranger.public().to_bytes() }));
        assert_eq!(asked, vec![known.public(), stranger.public()]);
        b.transactions.pop();
        assert_eq!(b.check_signers(|key| *key == known.public()), Ok(()));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(BlockBody::decode::<1024>(&Payload::opaque(vec![0xff; 64]), 10).is_err());
        assert!(BlockBody::decode::<1024>(&Payload::new(vec![0xff; 64], Vec::new()), 10).is_err());
        let b = body(1);
        assert_eq!(BlockBody::decode::<1024>(&b.to_payload(), 10).unwrap(), b);
    }

    #[test]
    fn ordering_bodies_round_trip_and_malformed_batches_are_refused() {
        let state = StateAttestation { height: Height(4), state_root: Hash::digest(b"r") };
        let batch = OpaqueBatch::from_transactions([&[1u8; 512][..], &[2u8; 512][..]]).unwrap();
        let b = BlockBody::ordering(Timestamp(9), state, vec![batch.clone(), batch.clone()]);
        let payload = b.to_payload();
        assert_eq!(BlockBody::decode_in::<4096>(ChainMode::OrderingOnly, &payload, 10).unwrap(), b);
        assert_eq!(b.item_ids(), vec![batch.id(), batch.id()]);
        assert!(matches!(
            BlockBody::decode_in::<4096>(ChainMode::OrderingOnly, &payload, 1),
            Err(BodyError::TooManyTransactions { .. })
        ));
        // A contracts chain does not take it for transactions.
        assert!(BlockBody::decode_in::<4096>(ChainMode::Contracts, &payload, 10).is_err());
        // A batch whose framing a Byzantine proposer broke is refused.
        let broken = Payload::new(state_meta(), codec::encode(&vec![vec![9u8, 0, 0, 0, 1]]));
        assert!(matches!(
            BlockBody::decode_in::<4096>(ChainMode::OrderingOnly, &broken, 10),
            Err(BodyError::Batch { index: 0, .. })
        ));
        // An empty body is the same bytes in both modes.
        let empty = BlockBody::ordering(Timestamp(9), state, Vec::new());
        assert_eq!(BlockBody::decode_in::<4096>(ChainMode::OrderingOnly, &empty.to_payload(), 10).unwrap(), empty);
    }

    fn state_meta() -> Vec<u8> {
        body(1).meta.encode()
    }
}
