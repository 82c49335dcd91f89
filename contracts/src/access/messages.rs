use bincode::{Decode, Encode};
use panacea_primitives::Timestamp;
use serde::{Deserialize, Serialize};

use super::decision::DenyReason;
use super::decision::Request;
use crate::codes::{ConsentAction, DataClass, Purpose, ResourceType, StaffRole};
use crate::ids::{ConsentId, DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};

/// How long a break-glass permit lasts: four hours of block time.
pub const BREAK_GLASS_MS: u64 = 4 * 60 * 60 * 1000;
/// How long an ordinary permit lasts: the custodian must share within a day, or the
/// requester asks again (and the consents of that moment decide).
pub const PERMIT_MS: u64 = 24 * 60 * 60 * 1000;

/// Calls of the access module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessCall {
    /// Ask for a patient's data held by `custodian`. Signed by an active identity.
    Request {
        /// The patient.
        patient: PatientRef,
        /// Which data.
        data_class: DataClass,
        /// The FHIR resource type of the data, when the request names one; it must be able
        /// to hold `data_class` ([`ResourceType::data_classes`]). A grant for a resource
        /// type covers only documents registered with that type.
        resource_type: Option<ResourceType>,
        /// Why. `ETREAT` with a justification asks for break-glass access.
        purpose: Purpose,
        /// The organisation holding the data.
        custodian: OrgId,
        /// The document asked for, when known.
        document: Option<DocumentHash>,
        /// The data's own date, when known (for consents limited by data period).
        data_time: Option<Timestamp>,
        /// For break-glass: SHA-256 of the written justification, which the requesting
        /// organisation keeps off chain (it may name the patient, so it never goes on chain).
        justification: Option<DocumentHash>,
    },
    /// Close the review of a break-glass access. Signed by an auditor of the custodian.
    CloseReview {
        /// The break-glass decision.
        decision: DecisionId,
        /// The auditor's finding.
        outcome: ReviewOutcome,
        /// SHA-256 of the auditor's notes, kept off chain.
        notes: Option<DocumentHash>,
    },
}

/// The verdict recorded on chain.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionOutcome {
    /// Permitted by consent.
    Permit,
    /// Permitted as emergency access, pending review.
    BreakGlass,
    /// Refused.
    Deny(DenyReason),
}

/// An access decision, kept for the data plane and for audit.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct AccessDecision {
    /// Its id (the request's transaction id).
    pub id: DecisionId,
    /// Who asked.
    pub requester: IdentityId,
    /// For which organisation.
    pub requester_org: OrgId,
    /// About whom.
    pub patient: PatientRef,
    /// Which data.
    pub data_class: DataClass,
    /// The FHIR resource type asked for, when named.
    pub resource_type: Option<ResourceType>,
    /// Why.
    pub purpose: Purpose,
    /// Who holds the data.
    pub custodian: OrgId,
    /// The document, when named.
    pub document: Option<DocumentHash>,
    /// The data's own date the request stated, when it did. A consent limited by a data
    /// period permitted the request for this date, so every later re-check of the grant
    /// (before each transfer) decides for the same date.
    pub data_time: Option<Timestamp>,
    /// Block time of the decision.
    pub decided_at: Timestamp,
    /// The verdict.
    pub outcome: DecisionOutcome,
    /// The consents (and versions) that decided it; for break-glass, the consents it
    /// overrode.
    pub consents: Vec<(ConsentId, u32)>,
    /// For a permit, the consents (and versions) whose denials a more specific permit
    /// overrode; empty otherwise.
    pub overridden: Vec<(ConsentId, u32)>,
    /// When a permit stops being valid.
    pub expires_at: Option<Timestamp>,
    /// For break-glass, SHA-256 of the written justification kept off chain.
    pub justification: Option<DocumentHash>,
    /// For a `training-missing` denial, the course whose current credential the
    /// requester's organisation requires and the requester lacks.
    pub missing_training: Option<String>,
}

impl AccessDecision {
    /// The reason code: `permitted-by-consent`, `exclusion-overridden`, `break-glass`,
    /// `no-applicable-consent` or `denied-by-consent`.
    pub fn reason_code(&self) -> &'static str {
        match self.outcome {
            DecisionOutcome::Permit if self.overridden.is_empty() => "permitted-by-consent",
            DecisionOutcome::Permit => "exclusion-overridden",
            DecisionOutcome::BreakGlass => "break-glass",
            DecisionOutcome::Deny(reason) => reason.code(),
        }
    }

    /// The request this decision answered, asked again at block time `at` by a requester
    /// whose role is now `role`: what a re-check of the grant decides.
    pub fn request_at(&self, role: Option<StaffRole>, at: Timestamp) -> Request {
        Request {
            requester: self.requester,
            requester_org: self.requester_org.clone(),
            requester_role: role,
            action: ConsentAction::Access,
            purpose: self.purpose,
            data_class: self.data_class,
            resource_type: self.resource_type,
            custodian: self.custodian.clone(),
            // The date the request stated: a consent limited by a data period decided the
            // grant for it, and decides its re-check for it too.
            data_time: self.data_time,
            at,
        }
    }

    /// True if the decision lets the custodian share the data at `time`.
    pub fn grants_at(&self, time: Timestamp) -> bool {
        match self.outcome {
            DecisionOutcome::Permit | DecisionOutcome::BreakGlass => self.expires_at.is_some_and(|end| time <= end),
            DecisionOutcome::Deny(_) => false,
        }
    }
}

/// An auditor's finding on a break-glass access.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewOutcome {
    /// The emergency was real.
    Justified,
    /// It was not: a matter for the organisation's privacy officer.
    Unjustified,
}

/// Where a review stands.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewStatus {
    /// Waiting for an auditor of the custodian.
    Open,
    /// Closed.
    Closed {
        /// The finding.
        outcome: ReviewOutcome,
        /// The auditor.
        auditor: IdentityId,
        /// When.
        at: Timestamp,
        /// SHA-256 of the notes.
        notes: Option<DocumentHash>,
    },
}

/// The review a break-glass access opens.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Review {
    /// The decision reviewed.
    pub decision: DecisionId,
    /// The custodian whose auditors must close it.
    pub custodian: OrgId,
    /// Its status.
    pub status: ReviewStatus,
}
