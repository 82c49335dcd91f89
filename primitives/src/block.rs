//! What a Panacea block says about itself in the provable part of its payload.
//!
//! Consensus orders payloads of two parts (`meta` and `data`) and its block header commits
//! to `meta` directly and to `data` by hash. Panacea's `meta` is a [`BlockMeta`]: the
//! proposer's time and the state root of the last block the proposer had committed. Every
//! validator checks that root against its own before it votes, so a certified header
//! certifies a state root, and a client holding the validator set can check a state proof
//! without trusting the node that served it.

use bincode::{Decode, Encode};

use crate::codec::{self, CodecError};
use crate::{Hash, Height, Timestamp};

/// Largest encoded [`BlockMeta`] accepted.
pub const BLOCK_META_BYTES_MAX: usize = 128;

/// The committed state a block attests: the root after executing block `height`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct StateAttestation {
    /// A committed height, below the attesting block's.
    pub height: Height,
    /// The state root after that block.
    pub state_root: Hash,
}

/// The provable part of a block's payload.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode)]
pub struct BlockMeta {
    /// The proposer's time: later than the parent's, not far ahead of the validators'.
    pub time: Timestamp,
    /// The state of the proposer's committed tip when it proposed.
    pub state: StateAttestation,
}

impl BlockMeta {
    /// The canonical encoding that goes into a payload.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a payload's meta part.
    pub fn decode(bytes: &[u8]) -> Result<BlockMeta, CodecError> {
        codec::decode::<BlockMeta, BLOCK_META_BYTES_MAX>(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let meta = BlockMeta {
            time: Timestamp(7),
            state: StateAttestation { height: Height(3), state_root: Hash::digest(b"root") },
        };
        assert_eq!(BlockMeta::decode(&meta.encode()).unwrap(), meta);
        assert!(BlockMeta::decode(&[0xff; 16]).is_err());
        assert!(BlockMeta::decode(&[meta.encode(), vec![0]].concat()).is_err());
    }
}
