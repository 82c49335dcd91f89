use crate::error::{CallError, ErrorCode};
use crate::ids::IdentityId;

use super::messages::RuleId;

/// Why a connection call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// Only admins manage rules.
    #[error("connection rules are managed by the source organisation's admins")]
    AdminOnly,
    /// Only a machine of the destination's organisation reports.
    #[error("unexpected connections are reported by a device or service of the destination's organisation")]
    NotGateway,
    /// The identity is not a machine of the right organisation.
    #[error("{0} is not an active device or service identity {1}")]
    NotMachine(IdentityId, &'static str),
    /// No such rule.
    #[error("no connection rule {0}")]
    Unknown(RuleId),
    /// A malformed call.
    #[error("{0}")]
    Invalid(String),
}

impl From<ConnectionError> for CallError {
    fn from(e: ConnectionError) -> CallError {
        let code = match e {
            ConnectionError::AdminOnly | ConnectionError::NotGateway => ErrorCode::Unauthorized,
            ConnectionError::Unknown(_) => ErrorCode::NotFound,
            ConnectionError::NotMachine(..) => ErrorCode::Conflict,
            ConnectionError::Invalid(_) => ErrorCode::InvalidArgument,
        };
        CallError::new(code, e.to_string())
    }
}

impl From<ConnectionError> for crate::error::ExecError {
    fn from(e: ConnectionError) -> crate::error::ExecError {
        crate::error::ExecError::Call(e.into())
    }
}
