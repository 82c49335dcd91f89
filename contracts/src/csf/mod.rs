//! Security governance: organisations' NIST CSF 2.0 self-assessments.
//!
//! An organisation's security officer records a signed self-assessment: for the
//! organisation as a whole and for departments it names, a tier 1-4 per CSF category,
//! current and target, each with the SHA-256 of its evidence (kept off chain). Each
//! submission is a new version; the latest counts as overdue once it is older than the
//! consortium's `self_assessment_max_age_ms` (a chain parameter changed by vote). Health
//! authorities read every member's profile, its gaps, overdue assessments and the
//! regional distribution per category ([`regional`]), never the evidence.
//!
//! The catalogue ([`catalogue`]) ships as data in the repository, versioned.

pub mod catalogue;
mod errors;
mod execution;
mod messages;
mod regional;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use catalogue::{CURRENT, Catalogue, Category, catalogue};
pub use errors::CsfError;
pub(crate) use execution::execute;
pub use messages::{
    CategoryTier, CsfCall, DEPARTMENT_BYTES_MAX, ELEMENTS_MAX, ElementProfile, Gap, OrgElement, SelfAssessment, TIERS,
};
pub use regional::{CategoryDistribution, regional};
pub use state::{latest, latest_version, self_assessment};
