use bincode::{Decode, Encode};
use panacea_primitives::{Hash, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::{IdentityId, OrgId};

/// Longest course id, in bytes (letters, digits, '-', '_', '.').
pub const COURSE_ID_BYTES_MAX: usize = 64;
/// Longest course title, in bytes.
pub const COURSE_TITLE_BYTES_MAX: usize = 128;
/// Most courses in one organisation's catalogue.
pub const COURSES_MAX: usize = 128;
/// Most training service identities one organisation names as issuers.
pub const ISSUERS_MAX: usize = 8;
/// Most requirements of one organisation's policy.
pub const REQUIREMENTS_MAX: usize = 16;
/// Most courses one identity holds credentials for.
pub const CREDENTIALS_PER_HOLDER_MAX: usize = 64;
/// Longest validity of a course: ten years.
pub const VALIDITY_DAYS_MAX: u32 = 3_660;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// A course of an organisation's training catalogue.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Course {
    /// Its id within the organisation (for example `emergency-access`).
    pub id: String,
    /// Its title (no person's name).
    pub title: String,
    /// Its current version.
    pub version: u32,
    /// The oldest version whose credentials still count (a course rewritten for a new
    /// threat raises it, and staff must take it again).
    pub minimum_version: u32,
    /// How long a completion counts, in days.
    pub validity_days: u32,
    /// Block time of the last change.
    pub changed_at: Timestamp,
}

impl Course {
    /// The validity in milliseconds.
    pub fn validity_ms(&self) -> u64 {
        u64::from(self.validity_days) * DAY_MS
    }
}

/// An action an organisation's policy may guard with a training requirement.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuardedAction {
    /// Any access request by a staff identity.
    AccessRequest,
    /// Break-glass (emergency) access.
    BreakGlass,
    /// An access request for research.
    ResearchAccess,
}

impl GuardedAction {
    /// The code shown by the API and the CLI.
    pub fn code(self) -> &'static str {
        match self {
            GuardedAction::AccessRequest => "access-request",
            GuardedAction::BreakGlass => "break-glass",
            GuardedAction::ResearchAccess => "research-access",
        }
    }
}

/// One requirement: a current credential of `course` for `action`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Requirement {
    /// The action guarded.
    pub action: GuardedAction,
    /// The course whose credential it needs.
    pub course: String,
}

/// An organisation's training policy.
#[derive(Clone, PartialEq, Eq, Debug, Default, Encode, Decode, Serialize, Deserialize)]
pub struct TrainingPolicy {
    /// The service identities that issue its credentials.
    pub issuers: Vec<IdentityId>,
    /// What its staff need for which action.
    pub requirements: Vec<Requirement>,
}

/// A completion credential.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Credential {
    /// Its id: SHA-256 of the holder, course, version and completion time.
    pub id: Hash,
    /// The staff identity that completed the course.
    pub holder: IdentityId,
    /// The organisation (the holder's and the course's).
    pub org: OrgId,
    /// The course.
    pub course: String,
    /// The course version completed.
    pub version: u32,
    /// When it was completed.
    pub completed: Timestamp,
    /// It counts before this time.
    pub expires: Timestamp,
    /// The training service identity that issued it.
    pub issuer: IdentityId,
    /// Block time of issue.
    pub issued_at: Timestamp,
    /// Block time of revocation, if revoked.
    pub revoked_at: Option<Timestamp>,
}

impl Credential {
    /// The id of a credential.
    pub fn id_for(holder: &IdentityId, course: &str, version: u32, completed: Timestamp) -> Hash {
        Hash::digest_parts(&[
            b"panacea-training-credential-v1",
            holder.0.as_bytes(),
            course.as_bytes(),
            &version.to_be_bytes(),
            &completed.as_millis().to_be_bytes(),
        ])
    }

    /// True if it counts at `at` for a course whose oldest counted version is
    /// `minimum_version`.
    pub fn current(&self, at: Timestamp, minimum_version: u32) -> bool {
        self.revoked_at.is_none() && at < self.expires && self.version >= minimum_version
    }
}

/// Calls of the training module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainingCall {
    /// Define a course or change it (the version never goes down). Admins only.
    DefineCourse {
        /// Its id.
        course: String,
        /// Its title.
        title: String,
        /// Its version.
        version: u32,
        /// The oldest version that still counts.
        minimum_version: u32,
        /// Validity of a completion, in days.
        validity_days: u32,
    },
    /// Set the organisation's policy: its issuers and requirements. Admins only.
    SetPolicy {
        /// The policy.
        policy: TrainingPolicy,
    },
    /// Issue a completion credential to a staff identity of the organisation. Signed by
    /// one of the policy's issuers.
    Issue {
        /// The staff identity.
        holder: IdentityId,
        /// The course.
        course: String,
        /// The version completed.
        version: u32,
        /// When (at most the block time, and within the course's validity).
        completed: Timestamp,
    },
    /// Revoke the holder's credential for a course. An issuer or an admin.
    Revoke {
        /// The staff identity.
        holder: IdentityId,
        /// The course.
        course: String,
    },
}
