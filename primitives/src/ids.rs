//! Newtypes for the numbers and names that must never be mixed up.

use core::fmt;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

macro_rules! counter {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
            Encode, Decode, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The first value.
            pub const ZERO: $name = $name(0);

            /// The next value. Saturates rather than wrapping: a counter at `u64::MAX`
            /// stays there, and checks against it fail instead of restarting at zero.
            #[must_use]
            pub fn next(self) -> $name {
                $name(self.0.saturating_add(1))
            }

            /// The previous value, saturating at zero.
            #[must_use]
            pub fn prev(self) -> $name {
                $name(self.0.saturating_sub(1))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

counter!(
    /// Position of a block in the committed chain; genesis is height 0.
    Height
);
counter!(
    /// A consensus round: one leader, one proposal, at most one vote per replica.
    Round
);
counter!(
    /// A period with one fixed validator set; a new set takes effect at an epoch boundary.
    Epoch
);

/// Milliseconds since the Unix epoch. Contracts receive it from the block, never from a clock.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// `self` plus `millis`, saturating.
    #[must_use]
    pub fn plus_millis(self, millis: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}ms)", self.0)
    }
}

/// Index of a validator in its epoch's validator set (sorted, so every replica agrees).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValidatorIndex(pub u16);

impl ValidatorIndex {
    /// As a `usize`, for indexing the validator set.
    pub fn as_usize(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Debug for ValidatorIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl fmt::Display for ValidatorIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// The name of one Panacea chain (for example `panacea-local-1`). Every signature covers
/// it, so nothing signed for a test chain is valid on a production chain.
///
/// 1 to 64 bytes of lowercase ASCII letters, digits, `-` and `.`; checked on every
/// construction and decode.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Serialize)]
#[serde(transparent)]
pub struct ChainId(String);

/// The longest chain id, in bytes.
pub const CHAIN_ID_BYTES_MAX: usize = 64;

/// A chain id that breaks the naming rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid chain id {0:?}: use 1 to 64 characters from a-z, 0-9, '-' and '.'")]
pub struct InvalidChainId(pub String);

impl ChainId {
    /// Checks the naming rule.
    pub fn new(name: impl Into<String>) -> Result<ChainId, InvalidChainId> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.len() <= CHAIN_ID_BYTES_MAX
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if valid { Ok(ChainId(name)) } else { Err(InvalidChainId(name)) }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.0)
    }
}

impl<C> Decode<C> for ChainId {
    fn decode<D: bincode::de::Decoder<Context = C>>(decoder: &mut D) -> Result<Self, bincode::error::DecodeError> {
        let raw = String::decode(decoder)?;
        ChainId::new(raw).map_err(|e| bincode::error::DecodeError::OtherString(e.to_string()))
    }
}
bincode::impl_borrow_decode!(ChainId);

impl<'de> Deserialize<'de> for ChainId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ChainId::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_id_rule() {
        assert!(ChainId::new("panacea-local-1").is_ok());
        assert!(ChainId::new("").is_err());
        assert!(ChainId::new("Panacea").is_err());
        assert!(ChainId::new("a".repeat(65)).is_err());
        assert!(ChainId::new("a b").is_err());
    }

    #[test]
    fn counters_saturate() {
        assert_eq!(Round(u64::MAX).next(), Round(u64::MAX));
        assert_eq!(Height(0).prev(), Height(0));
    }
}
