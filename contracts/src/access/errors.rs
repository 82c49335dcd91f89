use crate::codes::{DataClass, ResourceType};
use crate::error::{CallError, ErrorCode, ExecError};
use crate::ids::{DecisionId, OrgId};

/// Why an access call failed (a denied request is not a failure: it is a decision).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Only registered identities of member organisations request access.
    #[error("access requests are signed by a registered identity")]
    NotAnIdentity,
    /// A service identity (such as a node's sharing identity) does not request access.
    #[error("a service identity may not request access")]
    ServiceIdentity,
    /// The custodian is not an active member.
    #[error("custodian {0} is not an active member")]
    UnknownCustodian(OrgId),
    /// Break-glass needs a clinician.
    #[error("break-glass access is for physicians and nurses")]
    NotAClinician,
    /// A justification without the emergency purpose.
    #[error("a justification is only for break-glass requests (purpose ETREAT)")]
    JustificationWithoutEmergency,
    /// The resource type named cannot hold the data class named.
    #[error("a {0} does not hold {1} data (see ResourceType::data_classes for the mapping)")]
    ResourceTypeClass(ResourceType, DataClass),
    /// No such review.
    #[error("no review for decision {0}")]
    UnknownReview(DecisionId),
    /// Only the custodian's auditors close its reviews.
    #[error("only an auditor of {0} may close this review")]
    NotCustodianAuditor(OrgId),
    /// Already closed.
    #[error("the review of {0} is already closed")]
    AlreadyClosed(DecisionId),
}

impl From<AccessError> for ExecError {
    fn from(e: AccessError) -> ExecError {
        let code = match e {
            AccessError::NotAnIdentity
            | AccessError::ServiceIdentity
            | AccessError::NotAClinician
            | AccessError::NotCustodianAuditor(_) => ErrorCode::Unauthorized,
            AccessError::UnknownCustodian(_) | AccessError::UnknownReview(_) => ErrorCode::NotFound,
            AccessError::JustificationWithoutEmergency | AccessError::ResourceTypeClass(..) => {
                ErrorCode::InvalidArgument
            }
            AccessError::AlreadyClosed(_) => ErrorCode::Conflict,
        };
        ExecError::Call(CallError::new(code, e.to_string()))
    }
}
