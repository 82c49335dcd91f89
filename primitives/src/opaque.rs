//! Opaque transactions, for chains that only order (the consensus-only benchmark mode).
//!
//! An ordering-only chain gives its transactions no meaning: no signature, no execution.
//! Clients submit them in batches, and a batch is the unit the pool holds, a leader
//! proposes and a client waits for. Its wire form is the framing itself, records of a
//! little-endian `u32` length and that many bytes, so a node checks a batch by walking
//! its lengths and never copies a transaction out of it.

use bincode::{Decode, Encode};

use crate::Hash;

/// Largest batch, in bytes (framing included): it is gossiped whole, in one message.
pub const OPAQUE_BATCH_BYTES_MAX: usize = 1024 * 1024;
/// Largest transaction in a batch.
pub const OPAQUE_TRANSACTION_BYTES_MAX: usize = 64 * 1024;
/// Domain of a batch's id.
const BATCH_ID_PREFIX: &[u8] = b"panacea-opaque-batch-v1";

/// Why bytes are not a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpaqueBatchError {
    /// No transaction.
    #[error("the batch holds no transaction")]
    Empty,
    /// Over the size limit.
    #[error("the batch is {0} bytes; the limit is {OPAQUE_BATCH_BYTES_MAX}")]
    TooLarge(usize),
    /// A record is longer than a transaction may be.
    #[error("transaction {index} is {len} bytes; the limit is {OPAQUE_TRANSACTION_BYTES_MAX}")]
    TransactionTooLarge {
        /// Its position.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A record runs past the end, or the bytes end inside a length.
    #[error("the batch's framing is cut short at byte {0}")]
    Truncated(usize),
}

/// A checked batch of opaque transactions, in its framed wire form.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct OpaqueBatch(Vec<u8>);

impl OpaqueBatch {
    /// Frames `transactions` into a batch.
    pub fn from_transactions<'a, I>(transactions: I) -> Result<OpaqueBatch, OpaqueBatchError>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut bytes = Vec::new();
        for (index, tx) in transactions.into_iter().enumerate() {
            if tx.len() > OPAQUE_TRANSACTION_BYTES_MAX {
                return Err(OpaqueBatchError::TransactionTooLarge { index, len: tx.len() });
            }
            // Cannot truncate: checked against the 64 KiB limit above.
            bytes.extend_from_slice(&u32::try_from(tx.len()).unwrap_or(u32::MAX).to_le_bytes());
            bytes.extend_from_slice(tx);
            if bytes.len() > OPAQUE_BATCH_BYTES_MAX {
                return Err(OpaqueBatchError::TooLarge(bytes.len()));
            }
        }
        OpaqueBatch::from_framed(bytes)
    }

    /// Checks framed bytes (as a client sends them) and makes them a batch.
    pub fn from_framed(bytes: Vec<u8>) -> Result<OpaqueBatch, OpaqueBatchError> {
        let batch = OpaqueBatch(bytes);
        batch.check()?;
        Ok(batch)
    }

    /// Checks the framing and limits, and counts the transactions. A batch decoded from a
    /// peer's block is unchecked until this passes.
    pub fn check(&self) -> Result<usize, OpaqueBatchError> {
        OpaqueBatch::check_framed(&self.0)
    }

    /// [`OpaqueBatch::check`] on framed bytes not yet taken in: what a receiver can learn
    /// (and refuse) before copying or hashing them.
    pub fn check_framed(bytes: &[u8]) -> Result<usize, OpaqueBatchError> {
        if bytes.len() > OPAQUE_BATCH_BYTES_MAX {
            return Err(OpaqueBatchError::TooLarge(bytes.len()));
        }
        let (mut at, mut count) = (0usize, 0usize);
        while at < bytes.len() {
            let Some(len) = bytes.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
                return Err(OpaqueBatchError::Truncated(at));
            };
            let len = u32::from_le_bytes(len) as usize;
            if len > OPAQUE_TRANSACTION_BYTES_MAX {
                return Err(OpaqueBatchError::TransactionTooLarge { index: count, len });
            }
            at += 4;
            if bytes.len() - at < len {
                return Err(OpaqueBatchError::Truncated(at));
            }
            at += len;
            count += 1;
        }
        if count == 0 {
            return Err(OpaqueBatchError::Empty);
        }
        Ok(count)
    }

    /// The number of transactions (zero if the batch is malformed).
    pub fn count(&self) -> usize {
        self.check().unwrap_or(0)
    }

    /// The batch's id: SHA-256 over a domain prefix and the framed bytes.
    pub fn id(&self) -> Hash {
        Hash::digest_parts(&[BATCH_ID_PREFIX, &self.0])
    }

    /// The framed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a checked batch.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    #[test]
    fn frames_counts_and_round_trips() {
        let txs: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 512]).collect();
        let batch = OpaqueBatch::from_transactions(txs.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(batch.count(), 3);
        assert_eq!(batch.len(), 3 * 516);
        let again = OpaqueBatch::from_framed(batch.as_bytes().to_vec()).unwrap();
        assert_eq!(again.id(), batch.id());
        let decoded: OpaqueBatch = codec::decode::<OpaqueBatch, { 1 << 20 }>(&codec::encode(&batch)).unwrap();
        assert_eq!(decoded, batch);
        assert_ne!(OpaqueBatch::from_transactions([&b"a"[..]]).unwrap().id(), batch.id());
    }

    #[test]
    fn malformed_framing_is_an_error_not_a_panic() {
        assert_eq!(OpaqueBatch::from_framed(Vec::new()), Err(OpaqueBatchError::Empty));
        assert_eq!(OpaqueBatch::from_framed(vec![1, 0]), Err(OpaqueBatchError::Truncated(0)));
        assert_eq!(OpaqueBatch::from_framed(vec![5, 0, 0, 0, 1]), Err(OpaqueBatchError::Truncated(4)));
        assert_eq!(
            OpaqueBatch::from_framed(vec![0xff, 0xff, 0xff, 0xff]),
            Err(OpaqueBatchError::TransactionTooLarge { index: 0, len: u32::MAX as usize })
        );
        let big = vec![0u8; OPAQUE_TRANSACTION_BYTES_MAX + 1];
        assert!(matches!(
            OpaqueBatch::from_transactions([big.as_slice()]),
            Err(OpaqueBatchError::TransactionTooLarge { .. })
        ));
        let tx = vec![0u8; OPAQUE_TRANSACTION_BYTES_MAX];
        assert!(matches!(
            OpaqueBatch::from_transactions(std::iter::repeat_n(tx.as_slice(), 16)),
            Err(OpaqueBatchError::TooLarge(_))
        ));
        // Zero-length transactions are allowed: the framing still bounds them.
        assert_eq!(OpaqueBatch::from_framed(vec![0; 8]).unwrap().count(), 2);
    }
}
