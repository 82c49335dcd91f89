use crate::error::{CallError, ErrorCode, ExecError};
use crate::ids::{ConsentId, PatientRef};

/// Why a consent call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// The signer may not record consents for this patient.
    #[error(
        "only the patient's own key, or a physician, nurse or administrative staff member with the signed form, may record this patient's consents"
    )]
    NotAuthorised,
    /// A custodian recorded a consent without the hash of the signed form.
    #[error("a custodian must attach the SHA-256 of the form the patient signed (form_hash)")]
    FormHashRequired,
    /// The consent does not exist.
    #[error("consent {0} does not exist")]
    Unknown(ConsentId),
    /// An amendment names another patient.
    #[error("an amendment cannot change the patient")]
    PatientChanged,
    /// Already revoked or otherwise final.
    #[error("consent {0} is already inactive")]
    AlreadyInactive(ConsentId),
    /// The patient has too many consents or versions.
    #[error("{0}")]
    Limit(String),
    /// The provision tree or lists break a limit or rule.
    #[error("invalid consent: {0}")]
    Invalid(String),
    /// A key already bound.
    #[error("this key is already registered on the chain")]
    KeyInUse,
    /// A patient reference that could identify a person.
    #[error("patient {0} is not a valid pseudonymous reference")]
    BadPatient(PatientRef),
}

impl From<ConsentError> for ExecError {
    fn from(e: ConsentError) -> ExecError {
        let code = match e {
            ConsentError::NotAuthorised => ErrorCode::Unauthorized,
            ConsentError::Unknown(_) => ErrorCode::NotFound,
            ConsentError::AlreadyInactive(_) | ConsentError::KeyInUse => ErrorCode::Conflict,
            ConsentError::Limit(_) => ErrorCode::LimitExceeded,
            ConsentError::FormHashRequired
            | ConsentError::PatientChanged
            | ConsentError::Invalid(_)
            | ConsentError::BadPatient(_) => ErrorCode::InvalidArgument,
        };
        ExecError::Call(CallError::new(code, e.to_string()))
    }
}
