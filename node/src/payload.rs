//! What a block's payload holds: the proposer's time and the transactions, in order.
//!
//! Consensus sees only bytes; this module gives them meaning, and is the check every
//! validator runs before it votes for a block.

use bincode::{Decode, Encode};
use panacea_contracts::SignedTransaction;
use panacea_contracts::tx::TRANSACTION_BYTES_MAX;
use panacea_primitives::{Timestamp, codec};

/// How far ahead of a validator's own clock a block's time may be, in milliseconds.
pub const CLOCK_DRIFT_MAX_MS: u64 = 10_000;

/// The body of a block.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BlockBody {
    /// The proposer's time: later than the parent's, not far ahead of the validators'.
    pub time: Timestamp,
    /// The transactions, executed in this order.
    pub transactions: Vec<SignedTransaction>,
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
    #[error("block time {time} is not after its parent's {parent}")]
    TimeNotAfterParent {
        /// The block's time.
        time: Timestamp,
        /// The parent's.
        parent: Timestamp,
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
    /// The encoding that goes into a payload.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes and checks a payload of at most `bytes_max` bytes holding at most
    /// `transactions_max` transactions, each within the transaction size limit.
    pub fn decode<const LIMIT: usize>(bytes: &[u8], transactions_max: usize) -> Result<BlockBody, BodyError> {
        let body = codec::decode::<BlockBody, LIMIT>(bytes).map_err(|e| BodyError::Decode(e.to_string()))?;
        if body.transactions.len() > transactions_max {
            return Err(BodyError::TooManyTransactions { count: body.transactions.len(), max: transactions_max });
        }
        for tx in &body.transactions {
            let size = codec::encoded_len(tx);
            if size > TRANSACTION_BYTES_MAX {
                return Err(BodyError::TransactionTooLarge(size));
            }
        }
        Ok(body)
    }

    /// Checks the time against the parent's and this node's clock.
    pub fn check_time(&self, parent: Timestamp, now: Timestamp) -> Result<(), BodyError> {
        if self.time <= parent {
            return Err(BodyError::TimeNotAfterParent { time: self.time, parent });
        }
        if self.time > now.plus_millis(CLOCK_DRIFT_MAX_MS) {
            return Err(BodyError::TimeInFuture { time: self.time, now });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_must_move_forward_and_stay_near_the_clock() {
        let body = BlockBody { time: Timestamp(1_000), transactions: Vec::new() };
        assert!(body.check_time(Timestamp(999), Timestamp(1_000)).is_ok());
        assert!(matches!(
            body.check_time(Timestamp(1_000), Timestamp(1_000)),
            Err(BodyError::TimeNotAfterParent { .. })
        ));
        let ahead = BlockBody { time: Timestamp(20_001), transactions: Vec::new() };
        assert!(matches!(ahead.check_time(Timestamp(0), Timestamp(10_000)), Err(BodyError::TimeInFuture { .. })));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(BlockBody::decode::<1024>(&[0xff; 64], 10).is_err());
        let body = BlockBody { time: Timestamp(1), transactions: Vec::new() };
        assert_eq!(BlockBody::decode::<1024>(&body.encode(), 10).unwrap(), body);
    }
}
