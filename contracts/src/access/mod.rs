//! Access requests decided on chain against the patient's consents at block time, and
//! break-glass emergency access with its mandatory review.
//!
//! The decision rule is in [`decision`]; `docs/consent-and-access.md` explains it with
//! examples.

pub mod decision;
mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use decision::{Decision, DenyReason, Request, decide};
pub use errors::AccessError;
pub(crate) use execution::execute;
pub use messages::{
    AccessCall, AccessDecision, BREAK_GLASS_MS, DecisionOutcome, PERMIT_MS, Review, ReviewOutcome, ReviewStatus,
};
pub(crate) use state::derived_indexes;
pub use state::{decision as access_decision, open_reviews, open_reviews_after, review};
