//! SHA-256 digests.

use core::fmt;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 digest. Block ids, payload digests and content hashes are all `Hash`es.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Hash(#[serde(with = "hex32")] pub [u8; 32]);

impl Hash {
    /// The all-zero digest, used only as a placeholder that no real content hashes to.
    pub const ZERO: Hash = Hash([0; 32]);

    /// SHA-256 of `bytes`.
    pub fn digest(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    /// SHA-256 over several parts, each prefixed by its length so that the split between
    /// parts is unambiguous (`["ab","c"]` and `["a","bc"]` hash differently).
    pub fn digest_parts(parts: &[&[u8]]) -> Hash {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Hash(hasher.finalize().into())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Hash, hex::FromHexError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)?;
        Ok(Hash(out))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex digits identify a block in logs and traces without flooding them.
        write!(f, "Hash({})", &hex::encode(&self.0[..4]))
    }
}

/// Serde as lowercase hex, so JSON APIs show hashes the way operators type them.
pub(crate) mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = <&str>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_known_vector() {
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(
            Hash::digest(b"abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parts_are_length_prefixed() {
        assert_ne!(Hash::digest_parts(&[b"ab", b"c"]), Hash::digest_parts(&[b"a", b"bc"]));
    }

    #[test]
    fn hex_round_trip() {
        let h = Hash::digest(b"x");
        assert_eq!(Hash::from_hex(&h.to_string()), Ok(h));
        assert!(Hash::from_hex("zz").is_err());
    }
}
