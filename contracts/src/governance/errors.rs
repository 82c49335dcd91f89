use crate::error::{CallError, ErrorCode, ExecError};
use crate::ids::OrgId;

/// Why a governance call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GovernanceError {
    /// Only an admin of an active member proposes and votes.
    #[error("only an admin of an active member organisation may propose or vote")]
    NotAMemberAdmin,
    /// Evidence is reported by a member's admin or service identity.
    #[error("misbehaviour is reported by an admin or a service identity of a member organisation")]
    NotAReporter,
    /// No such proposal.
    #[error("no such proposal")]
    UnknownProposal,
    /// The proposal is decided or expired.
    #[error("the proposal is no longer open ({0})")]
    NotOpen(&'static str),
    /// The deadline passed.
    #[error("the proposal's voting deadline has passed")]
    DeadlinePassed,
    /// The organisation's vote is already cast.
    #[error("{0} has already voted on this proposal")]
    AlreadyVoted(OrgId),
    /// This admin already voted.
    #[error("this admin key has already voted on this proposal")]
    AdminAlreadyVoted,
    /// A deadline out of range.
    #[error("the deadline must be between {min_ms} ms and {max_ms} ms after the block time")]
    BadDeadline {
        /// Shortest period.
        min_ms: u64,
        /// Longest period.
        max_ms: u64,
    },
    /// Too many proposals open.
    #[error("too many proposals are open ({0}); wait for some to be decided or expire")]
    TooManyOpen(usize),
    /// The action is invalid now.
    #[error("{0}")]
    InvalidAction(String),
    /// A cited record does not exist.
    #[error("cited misbehaviour record {0} does not exist")]
    UnknownEvidence(String),
    /// The chain was started without an evidence checker.
    #[error("this chain cannot check consensus evidence")]
    NoEvidenceCheck,
    /// The evidence does not verify.
    #[error("the evidence does not verify: {0}")]
    BadEvidence(String),
    /// The offence is already recorded.
    #[error("this offence is already on record as {0}")]
    AlreadyReported(String),
}

impl From<GovernanceError> for ExecError {
    fn from(e: GovernanceError) -> ExecError {
        let code = match &e {
            GovernanceError::NotAMemberAdmin | GovernanceError::NotAReporter => ErrorCode::Unauthorized,
            GovernanceError::UnknownProposal | GovernanceError::UnknownEvidence(_) => ErrorCode::NotFound,
            GovernanceError::NotOpen(_)
            | GovernanceError::DeadlinePassed
            | GovernanceError::AlreadyVoted(_)
            | GovernanceError::AdminAlreadyVoted
            | GovernanceError::AlreadyReported(_) => ErrorCode::Conflict,
            GovernanceError::TooManyOpen(_) => ErrorCode::LimitExceeded,
            GovernanceError::BadDeadline { .. }
            | GovernanceError::InvalidAction(_)
            | GovernanceError::NoEvidenceCheck
            | GovernanceError::BadEvidence(_) => ErrorCode::InvalidArgument,
        };
        ExecError::Call(CallError::new(code, e.to_string()))
    }
}
