//! The typed outcome of a failed call: a stable code for programs and a message for
//! people.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::state::StateError;

/// Stable error codes, part of the API: never renumber or reuse one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The transaction is for another chain.
    WrongChain,
    /// The signature does not verify.
    BadSignature,
    /// The signing key belongs to no organisation admin, identity or patient.
    UnknownSigner,
    /// The nonce is not the signer's next one.
    BadNonce,
    /// The signer may not make this call (wrong organisation, role or status).
    Unauthorized,
    /// What the call refers to does not exist.
    NotFound,
    /// The call conflicts with the current state (already exists, already revoked...).
    Conflict,
    /// An argument is invalid.
    InvalidArgument,
    /// A list or size limit was exceeded.
    LimitExceeded,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct CallError {
    /// The stable code.
    pub code: ErrorCode,
    /// What was wrong and what to do.
    pub message: String,
}

impl CallError {
    /// A failure with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> CallError {
        CallError { code, message: message.into() }
    }
}

/// Executing a call either fails with a typed [`CallError`] (state untouched, a receipt
/// says why) or hits broken storage, which stops the block.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The call failed; the transaction's writes are dropped.
    #[error(transparent)]
    Call(#[from] CallError),
    /// Storage is broken: the node must stop rather than guess.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Shorthand for a failed call.
pub(crate) fn fail<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, ExecError> {
    Err(ExecError::Call(CallError::new(code, message)))
}
