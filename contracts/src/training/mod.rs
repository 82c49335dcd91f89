//! Training records with consequences: each organisation's catalogue of courses,
//! completion credentials issued by its training service identities (course, version,
//! completion, expiry; verifiable by any member with a state proof), and a policy that
//! makes a current credential a condition of an action. The access rule enforces it: a
//! staff identity without a required credential is denied (`training-missing`), and the
//! decision names the course (`AccessDecision::missing_training`).
//!
//! Nothing about the person goes on chain: the holder is a staff identity (known by role),
//! and the course a catalogue id.

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use errors::TrainingError;
pub(crate) use execution::{execute, missing_training};
pub use messages::{
    COURSE_ID_BYTES_MAX, COURSE_TITLE_BYTES_MAX, COURSES_MAX, CREDENTIALS_PER_HOLDER_MAX, Course, Credential,
    GuardedAction, ISSUERS_MAX, REQUIREMENTS_MAX, Requirement, TrainingCall, TrainingPolicy, VALIDITY_DAYS_MAX,
};
pub use state::{courses, credential, credentials, policy};
