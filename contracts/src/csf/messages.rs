use bincode::{Decode, Encode};
use panacea_primitives::{Hash, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::{IdentityId, OrgId};

/// Most organisational elements (the organisation and its departments) per assessment.
pub const ELEMENTS_MAX: usize = 32;
/// Longest department id, in bytes (letters, digits, '-', '_', '.').
pub const DEPARTMENT_BYTES_MAX: usize = 64;
/// Lowest and highest tier (NIST CSF: Partial, Risk Informed, Repeatable, Adaptive).
pub const TIERS: std::ops::RangeInclusive<u8> = 1..=4;

/// The part of an organisation a profile describes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrgElement {
    /// The organisation as a whole.
    Organisation,
    /// A department it names (for example `radiology`).
    Department(String),
}

impl std::fmt::Display for OrgElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrgElement::Organisation => f.write_str("organisation"),
            OrgElement::Department(name) => write!(f, "department:{name}"),
        }
    }
}

/// One category's tiers.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct CategoryTier {
    /// The category (for example `PR.AA`).
    pub category: String,
    /// The tier reached, 1 to 4.
    pub current: u8,
    /// The tier aimed at, 1 to 4.
    pub target: u8,
    /// SHA-256 of the evidence, kept off chain.
    pub evidence: Hash,
}

/// An element's profile.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ElementProfile {
    /// The element.
    pub element: OrgElement,
    /// Its tiers, one per category assessed, in catalogue order.
    pub tiers: Vec<CategoryTier>,
}

/// A recorded self-assessment: one version of an organisation's profile.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct SelfAssessment {
    /// The organisation.
    pub org: OrgId,
    /// Its version, from 1.
    pub version: u32,
    /// The catalogue version used (`2.0`).
    pub catalogue: String,
    /// The profiles: the organisation's first, then its departments.
    pub elements: Vec<ElementProfile>,
    /// The security officer who signed it.
    pub officer: IdentityId,
    /// Block time.
    pub submitted_at: Timestamp,
}

impl SelfAssessment {
    /// Its record id (what its audit event names): SHA-256 of the organisation and version.
    pub fn record_id(org: &OrgId, version: u32) -> Hash {
        Hash::digest_parts(&[b"panacea-self-assessment-v1", org.as_str().as_bytes(), &version.to_be_bytes()])
    }

    /// True if it is older than `max_age_ms` at `now`.
    pub fn overdue(&self, now: Timestamp, max_age_ms: u64) -> bool {
        now.as_millis().saturating_sub(self.submitted_at.as_millis()) > max_age_ms
    }

    /// The gaps (target minus current) of every element and category, largest first.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut out: Vec<Gap> = self
            .elements
            .iter()
            .flat_map(|e| {
                e.tiers.iter().map(|t| Gap {
                    element: e.element.clone(),
                    category: t.category.clone(),
                    current: t.current,
                    target: t.target,
                    gap: i8::try_from(t.target).unwrap_or(4) - i8::try_from(t.current).unwrap_or(4),
                })
            })
            .collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.gap));
        out
    }

    /// The whole organisation's profile.
    pub fn organisation(&self) -> Option<&ElementProfile> {
        self.elements.iter().find(|e| e.element == OrgElement::Organisation)
    }
}

/// One gap of a profile.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Gap {
    /// The element.
    pub element: OrgElement,
    /// The category.
    pub category: String,
    /// Tier reached.
    pub current: u8,
    /// Tier aimed at.
    pub target: u8,
    /// Target minus current (negative: above target).
    pub gap: i8,
}

/// Calls of the security-governance module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CsfCall {
    /// Record a new version of the organisation's self-assessment. Signed by one of its
    /// security officers.
    Submit {
        /// The catalogue version used.
        catalogue: String,
        /// The profiles: exactly one for the organisation, any for departments.
        elements: Vec<ElementProfile>,
    },
}
