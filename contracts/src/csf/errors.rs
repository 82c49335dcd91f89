use crate::error::{CallError, ErrorCode};

/// Why a self-assessment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsfError {
    /// Only a security officer records self-assessments.
    #[error("self-assessments are signed by a security officer (staff role security-officer) of the organisation")]
    NotSecurityOfficer,
    /// The catalogue version is not shipped.
    #[error("unknown catalogue version {0}; this chain knows NIST CSF {1}")]
    UnknownCatalogue(String, String),
    /// A malformed assessment.
    #[error("{0}")]
    Invalid(String),
}

impl From<CsfError> for CallError {
    fn from(e: CsfError) -> CallError {
        let code = match e {
            CsfError::NotSecurityOfficer => ErrorCode::Unauthorized,
            CsfError::UnknownCatalogue(..) | CsfError::Invalid(_) => ErrorCode::InvalidArgument,
        };
        CallError::new(code, e.to_string())
    }
}

impl From<CsfError> for crate::error::ExecError {
    fn from(e: CsfError) -> crate::error::ExecError {
        crate::error::ExecError::Call(e.into())
    }
}
