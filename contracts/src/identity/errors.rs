use crate::error::{CallError, ErrorCode};
use crate::ids::{IdentityId, OrgId};

/// Why an identity call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Only an admin of the identity's own organisation may do this.
    #[error("only an admin of {0} may manage its identities")]
    NotAdmin(OrgId),
    /// The identity does not exist.
    #[error("identity {0} is not registered")]
    Unknown(IdentityId),
    /// The key belongs, or belonged, to someone.
    #[error("this key is, or was, registered on the chain; use a fresh key")]
    KeyInUse,
    /// An identity with this id exists already (its first key was rotated out).
    #[error("identity {0} exists already; register a fresh key")]
    Exists(IdentityId),
    /// Revoked identities cannot change.
    #[error("identity {0} is revoked")]
    Revoked(IdentityId),
    /// A status change that changes nothing.
    #[error("identity {0} already has that status")]
    SameStatus(IdentityId),
    /// A device or service field is empty or too long.
    #[error("{0} must be 1 to 128 bytes")]
    BadText(&'static str),
    /// The organisation is not active.
    #[error("organisation {0} is not an active member")]
    OrgInactive(OrgId),
}

impl From<IdentityError> for CallError {
    fn from(e: IdentityError) -> CallError {
        let code = match e {
            IdentityError::NotAdmin(_) | IdentityError::OrgInactive(_) => ErrorCode::Unauthorized,
            IdentityError::Unknown(_) => ErrorCode::NotFound,
            IdentityError::KeyInUse
            | IdentityError::Exists(_)
            | IdentityError::Revoked(_)
            | IdentityError::SameStatus(_) => ErrorCode::Conflict,
            IdentityError::BadText(_) => ErrorCode::InvalidArgument,
        };
        CallError::new(code, e.to_string())
    }
}

impl From<IdentityError> for crate::error::ExecError {
    fn from(e: IdentityError) -> crate::error::ExecError {
        crate::error::ExecError::Call(e.into())
    }
}
