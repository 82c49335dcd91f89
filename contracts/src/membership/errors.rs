use crate::error::{CallError, ErrorCode};
use crate::ids::OrgId;

/// A genesis document that cannot start a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// No organisations, or more than the limit.
    #[error("a consortium needs 1 to {max} organisations, genesis lists {count}")]
    OrganisationCount {
        /// How many are listed.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The same id twice.
    #[error("organisation {0} appears twice")]
    DuplicateOrg(OrgId),
    /// The same key used twice (as admin key of two organisations, or twice in one).
    #[error("an admin key of {0} is used more than once")]
    DuplicateKey(OrgId),
    /// A name that is empty or too long.
    #[error("organisation {0} needs a name of 1 to 200 bytes")]
    BadName(OrgId),
    /// Admin keys missing or too many.
    #[error("organisation {0} needs 1 to 8 admin keys")]
    AdminKeys(OrgId),
    /// An admin threshold of 0 or above the number of admin keys.
    #[error("organisation {0} needs an admin threshold between 1 and its number of admin keys")]
    AdminThreshold(OrgId),
    /// A network key that is not an ed25519 public key.
    #[error("organisation {0} has a network key that is not an ed25519 public key")]
    NetworkKey(OrgId),
    /// Invalid governance rules.
    #[error("{0}")]
    Governance(String),
}

impl From<MembershipError> for CallError {
    fn from(e: MembershipError) -> CallError {
        CallError::new(ErrorCode::InvalidArgument, e.to_string())
    }
}
