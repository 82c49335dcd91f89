//! Expected machine-to-machine connections (PANACEA's identity platform, M2M).
//!
//! An organisation's admins record which of its device or service identities may connect
//! to which identity (of any member), over which protocol and for what purpose, with an
//! expiry; every change is audited. A gateway or device agent checks a connection against
//! the chain: the source signs the destination's fresh nonce
//! ([`ConnectionChallenge`]), and [`check_connection`] verifies the signature with the
//! source's current key and finds the rule in force (the API answers with a state proof
//! of the rule). An unexpected attempt is reported on chain
//! (`ConnectionCall::ReportUnexpected`), where the nudging and risk workers read it: an
//! unexpected path is a new edge in the attack graph.

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;
mod verify;

pub use errors::ConnectionError;
pub(crate) use execution::execute;
pub use messages::{
    CHALLENGE_FRESHNESS_MS, CONNECTION_TEXT_BYTES_MAX, ConnectionCall, ConnectionChallenge, ConnectionRule,
    RULE_MS_MAX, RULES_MAX, RuleId,
};
pub use state::{rule, rules};
pub use verify::{Unexpected, Verdict, check_connection};
