use crate::error::{CallError, ErrorCode, ExecError};
use crate::ids::{DecisionId, DocumentHash, OrgId};

/// Why a document call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Patients do not register or confirm documents.
    #[error("document calls are signed by an organisation's admin or identity")]
    NotAnOrganisation,
    /// Registered already.
    #[error("document {0} is registered already")]
    AlreadyRegistered(DocumentHash),
    /// Not registered.
    #[error("no document {0}")]
    Unknown(DocumentHash),
    /// Only the custodian erases.
    #[error("only {0}, the custodian, may erase this document")]
    NotCustodian(OrgId),
    /// Erased already.
    #[error("document {0} is erased")]
    Erased(DocumentHash),
    /// Too many documents for one patient and class.
    #[error("at most {0} documents per patient and data class")]
    TooMany(usize),
    /// No such decision.
    #[error("no decision {0}")]
    UnknownDecision(DecisionId),
    /// Only the requesting organisation confirms.
    #[error("only {0}, the requesting organisation, may confirm this delivery")]
    NotRequester(OrgId),
    /// The resource type named cannot hold the data class named.
    #[error("a {0} does not hold {1} data (see ResourceType::data_classes for the mapping)")]
    ResourceTypeClass(crate::codes::ResourceType, crate::codes::DataClass),
    /// The decision does not cover the document.
    #[error("decision {0} does not grant document {1}")]
    NotGranted(DecisionId, DocumentHash),
    /// Confirmed already.
    #[error("the delivery of {1} under {0} is confirmed already")]
    AlreadyConfirmed(DecisionId, DocumentHash),
}

impl From<DocumentError> for ExecError {
    fn from(e: DocumentError) -> ExecError {
        let code = match e {
            DocumentError::NotAnOrganisation | DocumentError::NotCustodian(_) | DocumentError::NotRequester(_) => {
                ErrorCode::Unauthorized
            }
            DocumentError::Unknown(_) | DocumentError::UnknownDecision(_) => ErrorCode::NotFound,
            DocumentError::AlreadyRegistered(_) | DocumentError::AlreadyConfirmed(..) | DocumentError::Erased(_) => {
                ErrorCode::Conflict
            }
            DocumentError::TooMany(_) => ErrorCode::LimitExceeded,
            DocumentError::NotGranted(..) | DocumentError::ResourceTypeClass(..) => ErrorCode::InvalidArgument,
        };
        ExecError::Call(CallError::new(code, e.to_string()))
    }
}
