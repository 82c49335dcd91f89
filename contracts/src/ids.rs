//! Identifiers of things on chain. All are pseudonymous or content hashes: nothing here
//! names a person.

use core::fmt;

use bincode::{Decode, Encode};
use panacea_primitives::Hash;
use serde::{Deserialize, Serialize};

/// Longest organisation id, in bytes.
pub const ORG_ID_BYTES_MAX: usize = 64;

/// A consortium member's id, chosen at genesis (for example `hospital-gemelli`).
/// 1 to 64 bytes of lowercase ASCII letters, digits and `-`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Serialize)]
#[serde(transparent)]
pub struct OrgId(String);

/// An organisation id that breaks the naming rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid organisation id {0:?}: use 1 to 64 characters from a-z, 0-9 and '-'")]
pub struct InvalidOrgId(pub String);

impl OrgId {
    /// Checks the naming rule.
    pub fn new(id: impl Into<String>) -> Result<OrgId, InvalidOrgId> {
        let id = id.into();
        let valid = !id.is_empty()
            && id.len() <= ORG_ID_BYTES_MAX
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid { Ok(OrgId(id)) } else { Err(InvalidOrgId(id)) }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgId({})", self.0)
    }
}

impl<C> Decode<C> for OrgId {
    fn decode<D: bincode::de::Decoder<Context = C>>(decoder: &mut D) -> Result<Self, bincode::error::DecodeError> {
        let raw = String::decode(decoder)?;
        OrgId::new(raw).map_err(|e| bincode::error::DecodeError::OtherString(e.to_string()))
    }
}
bincode::impl_borrow_decode!(OrgId);

impl<'de> Deserialize<'de> for OrgId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        OrgId::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Hash);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

hash_id!(
    /// A patient's pseudonymous reference: a hash the custodian derives from its own
    /// records (for example a keyed hash of the medical record number). Never a name, a
    /// birth date or a national id, and nothing on chain links it to one.
    PatientRef
);
hash_id!(
    /// A registered identity (staff member, device or service): fixed at registration,
    /// stable across key rotations.
    IdentityId
);
hash_id!(
    /// A consent: the hash of its first version. Later versions keep the id.
    ConsentId
);
hash_id!(
    /// An access decision: the hash of the transaction that asked for it.
    DecisionId
);
hash_id!(
    /// The SHA-256 of an off-chain document (a clinical document, a signed consent form).
    DocumentHash
);
