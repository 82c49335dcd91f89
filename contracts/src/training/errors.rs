use crate::error::{CallError, ErrorCode};

/// Why a training call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainingError {
    /// Only an admin defines courses and policy.
    #[error("the training catalogue and policy are set by the organisation's admins")]
    AdminOnly,
    /// Only a policy issuer issues.
    #[error("credentials are issued by a training service identity the organisation's policy names")]
    NotIssuer,
    /// No such course.
    #[error("the organisation has no course {0}")]
    UnknownCourse(String),
    /// The holder is not a staff identity of the organisation.
    #[error("a credential's holder is a staff identity of the issuer's organisation")]
    NotOwnStaff,
    /// No credential to revoke.
    #[error("the holder has no credential for {0} to revoke")]
    NoCredential(String),
    /// A malformed call.
    #[error("{0}")]
    Invalid(String),
}

impl From<TrainingError> for CallError {
    fn from(e: TrainingError) -> CallError {
        let code = match e {
            TrainingError::AdminOnly | TrainingError::NotIssuer | TrainingError::NotOwnStaff => ErrorCode::Unauthorized,
            TrainingError::UnknownCourse(_) | TrainingError::NoCredential(_) => ErrorCode::NotFound,
            TrainingError::Invalid(_) => ErrorCode::InvalidArgument,
        };
        CallError::new(code, e.to_string())
    }
}

impl From<TrainingError> for crate::error::ExecError {
    fn from(e: TrainingError) -> crate::error::ExecError {
        crate::error::ExecError::Call(e.into())
    }
}
