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
    /// The key already belongs to someone.
    #[error("this key is already registered; use a fresh key")]
    KeyInUse,
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
            IdentityError::KeyInUse | IdentityError::Revoked(_) | IdentityError::SameStatus(_) => ErrorCode::Conflict,
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
