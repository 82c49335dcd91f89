use crate::error::{CallError, ErrorCode, ExecError};
use crate::ids::{IdentityId, OrgId};

/// Why a risk call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskError {
    /// Only an organisation's admin or a service identity submits or attests.
    #[error("risk assessments are submitted and attested by an organisation's admin or one of its service identities")]
    NotARiskService,
    /// Only an organisation's admin sets parameters or records mitigations.
    #[error("only an admin of {0} may do this")]
    NotAdmin(OrgId),
    /// Only an organisation's admin sets its risk parameters.
    #[error("only an organisation's admin sets its risk parameters")]
    AdminOnly,
    /// A list or field breaks a limit or rule.
    #[error("invalid assessment: {0}")]
    Invalid(String),
    /// A device listed is not one of the organisation's device identities.
    #[error("{0} is not a device identity of the submitting organisation")]
    NotOwnDevice(IdentityId),
    /// No such assessment.
    #[error("no such assessment")]
    UnknownAssessment,
    /// An organisation attests another's assessment, not its own.
    #[error("an organisation attests another organisation's assessment, not its own")]
    OwnAssessment,
    /// The attesting worker computed another output.
    #[error("the output hash differs from the assessment's: the workers disagree")]
    OutputMismatch,
    /// Already attested by this organisation.
    #[error("{0} already attested this assessment")]
    AlreadyAttested(OrgId),
    /// The device is not in quarantine.
    #[error("device {0} is not in quarantine")]
    NotQuarantined(IdentityId),
}

impl From<RiskError> for ExecError {
    fn from(e: RiskError) -> ExecError {
        let code = match e {
            RiskError::NotARiskService | RiskError::AdminOnly | RiskError::NotAdmin(_) | RiskError::NotOwnDevice(_) => {
                ErrorCode::Unauthorized
            }
            RiskError::Invalid(_) | RiskError::OutputMismatch | RiskError::OwnAssessment => ErrorCode::InvalidArgument,
            RiskError::UnknownAssessment | RiskError::NotQuarantined(_) => ErrorCode::NotFound,
            RiskError::AlreadyAttested(_) => ErrorCode::Conflict,
        };
        ExecError::Call(CallError::new(code, e.to_string()))
    }
}
