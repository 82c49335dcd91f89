//! The one canonical binary codec of Panacea.
//!
//! Every wire message, signed payload and stored record goes through [`encode`] and
//! [`decode`]; nothing else in the workspace calls bincode, so the format can be swapped
//! in one place (see `docs/decisions/0002-bincode.md`).
//!
//! Design:
//! - bincode 2 with its derive API, little-endian, **fixed-width integers**: every value has
//!   exactly one encoding (varints would admit several), so `encode(decode(b)) == b`
//!   whenever `decode(b)` succeeds. Types that are hashed or signed must contain no
//!   hash-ordered collection.
//! - Every decode names its limit as a const parameter: input longer than the limit is
//!   refused before decoding, and bincode refuses any length prefix that would claim more
//!   than the limit, so a 20-byte message cannot make us allocate gigabytes.
//! - Trailing bytes after a value are an error, never ignored.

use bincode::config::{Configuration, Fixint, LittleEndian, NoLimit};

pub use bincode::{Decode, Encode};

/// The codec could not decode its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input is longer than the decoder accepts.
    #[error("message of {len} bytes exceeds the limit of {limit} bytes")]
    TooLong {
        /// Length of the input.
        len: usize,
        /// The limit that applied.
        limit: usize,
    },
    /// The input decoded but bytes were left over.
    #[error("{trailing} trailing bytes after a complete message")]
    TrailingBytes {
        /// How many bytes were left.
        trailing: usize,
    },
    /// The input is not a valid encoding of the expected type.
    #[error("malformed message: {0}")]
    Malformed(String),
}

fn encode_config() -> Configuration<LittleEndian, Fixint, NoLimit> {
    bincode::config::standard().with_little_endian().with_fixed_int_encoding()
}

/// Encodes `value` canonically.
pub fn encode<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec has no failure path, and our types' Encode impls are derived or
    // delegate to derived ones; an error here is a programming bug.
    #[allow(clippy::panic, reason = "encoding into memory cannot fail")]
    if let Err(error) = bincode::encode_into_std_write(value, &mut out, encode_config()) {
        panic!("encoding into memory failed: {error}");
    }
    out
}

/// Length of the canonical encoding of `value`, without allocating it.
pub fn encoded_len<T: Encode + ?Sized>(value: &T) -> usize {
    let mut size = bincode::enc::write::SizeWriter::default();
    match bincode::encode_into_writer(value, &mut size, encode_config()) {
        Ok(()) => size.bytes_written,
        // Unreachable for our types (see `encode`); fall back to the allocating path.
        Err(_) => encode(value).len(),
    }
}

/// Decodes one `T` that must fill `bytes` exactly, refusing input longer than `LIMIT`
/// bytes and any length prefix that claims more than `LIMIT` bytes.
pub fn decode<T: Decode<()>, const LIMIT: usize>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > LIMIT {
        return Err(CodecError::TooLong { len: bytes.len(), limit: LIMIT });
    }
    let config = encode_config().with_limit::<LIMIT>();
    let (value, read) =
        bincode::decode_from_slice::<T, _>(bytes, config).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes { trailing: bytes.len() - read });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq, Encode, Decode)]
    struct Sample {
        a: u64,
        b: Vec<u8>,
        c: Option<bool>,
        d: String,
    }

    #[test]
    fn round_trip() {
        let s = Sample { a: 7, b: vec![1, 2, 3], c: Some(true), d: "x".into() };
        let bytes = encode(&s);
        assert_eq!(decode::<Sample, 1024>(&bytes), Ok(s));
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = encode(&5u64);
        bytes.push(0);
        assert_eq!(decode::<u64, 64>(&bytes), Err(CodecError::TrailingBytes { trailing: 1 }));
    }

    #[test]
    fn rejects_oversized_input() {
        let bytes = encode(&vec![0u8; 100]);
        assert!(matches!(decode::<Vec<u8>, 50>(&bytes), Err(CodecError::TooLong { .. })));
    }

    #[test]
    fn rejects_length_bomb() {
        // A 16-byte message whose length prefix claims 2^40 elements must not allocate.
        let mut bytes = (1u64 << 40).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0u8; 8]);
        assert!(matches!(decode::<Vec<u64>, 1024>(&bytes), Err(CodecError::Malformed(_))));
    }

    #[test]
    fn rejects_non_canonical_bool_and_option() {
        assert!(decode::<bool, 8>(&[2]).is_err());
        assert!(decode::<Option<u8>, 8>(&[2, 0]).is_err());
    }

    proptest! {
        #[test]
        fn decode_is_canonical(
            a: u64, b in proptest::collection::vec(any::<u8>(), 0..8), c: Option<bool>,
            position: usize, value: u8,
        ) {
            // Mutate one byte of a valid encoding: whatever still decodes re-encodes to
            // exactly the same bytes (one value, one encoding).
            let mut bytes = encode(&Sample { a, b, c, d: "ok".into() });
            let position = position % bytes.len();
            bytes[position] = value;
            if let Ok(decoded) = decode::<Sample, 256>(&bytes) {
                prop_assert_eq!(encode(&decoded), bytes);
            }
        }

        #[test]
        fn encode_decode_round_trip(a: u64, b: Vec<u8>, c: Option<bool>, d: String) {
            let s = Sample { a, b, c, d };
            prop_assert_eq!(decode::<Sample, 1_000_000>(&encode(&s)), Ok(s));
        }
    }
}
