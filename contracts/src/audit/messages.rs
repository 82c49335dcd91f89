//! Audit events, shaped like FHIR R4 AuditEvent.

use bincode::{Decode, Encode};
use panacea_primitives::{Hash, Height, PublicKey, Timestamp, codec};
use serde::{Deserialize, Serialize};

use crate::codes::{DataClass, Purpose, StaffRole};
use crate::ids::{ConsentId, DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};

/// What happened (AuditEvent.type / subtype).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditKind {
    /// A consent was recorded.
    ConsentRecorded,
    /// A consent got a new version.
    ConsentAmended,
    /// A consent was revoked.
    ConsentRevoked,
    /// A patient's key was bound to their reference.
    PatientKeyBound,
    /// An identity was registered.
    IdentityRegistered,
    /// An identity was suspended.
    IdentitySuspended,
    /// An identity was reactivated.
    IdentityReactivated,
    /// An identity was revoked.
    IdentityRevoked,
    /// An identity's key was rotated.
    IdentityKeyRotated,
    /// An access request was decided.
    AccessDecision,
    /// Emergency (break-glass) access was granted.
    BreakGlass,
    /// An auditor closed the review of a break-glass access.
    ReviewClosed,
    /// A shared document was delivered (recorded by the data plane).
    DocumentDelivered,
    /// A custodian registered a document (by its commitment).
    DocumentRegistered,
    /// A custodian crypto-shredded a document.
    DocumentErased,
    // New kinds go last: the variant index is part of the stored encoding of every event.
    /// A patient's key was replaced by a new one.
    PatientKeyReplaced,
    /// A patient's key was revoked.
    PatientKeyRevoked,
    /// An organisation submitted a risk assessment.
    RiskAssessed,
    /// Another organisation attested a risk assessment.
    RiskAttested,
    /// An organisation's admin changed its risk parameters.
    RiskParametersChanged,
    /// A device found at high risk was quarantined.
    DeviceQuarantined,
    /// An admin recorded the mitigation of a quarantined device.
    DeviceMitigated,
    /// A mitigated device no longer at high risk left quarantine.
    DeviceReleased,
    /// A member's admin proposed a governance action.
    GovernanceProposed,
    /// A member's admin voted on a proposal.
    GovernanceVoted,
    /// A proposal was decided: executed (success), or failed, rejected or expired (denied).
    GovernanceDecided,
    /// A validator set change took effect: the block ended an epoch.
    EpochChanged,
    /// A validator's misbehaviour was proved and recorded against its member.
    MisbehaviourReported,
    /// A medical product (one firmware build) was registered with its SBOM and claims.
    ProductRegistered,
    /// An assessor attested a product's security-by-design claims.
    ProductAttested,
    /// A product's attestation was revoked (its devices are suspended).
    ProductRevoked,
    /// A security officer recorded a NIST CSF self-assessment.
    SelfAssessmentRecorded,
    /// An admin allowed a machine-to-machine connection.
    ConnectionAllowed,
    /// An admin removed an allowed connection.
    ConnectionRemoved,
    /// A gateway reported a connection attempt no rule allowed.
    UnexpectedConnection,
    /// An admin defined or changed a training course.
    CourseDefined,
    /// An admin changed the organisation's training policy.
    TrainingPolicyChanged,
    /// A training service issued a completion credential.
    TrainingIssued,
    /// A completion credential was revoked.
    TrainingRevoked,
}

/// Every audit kind, in declaration order (for filters, exports and exhaustive tests);
/// a new kind is added here too.
impl AuditKind {
    /// All kinds.
    pub const ALL: [AuditKind; 39] = [
        AuditKind::ConsentRecorded,
        AuditKind::ConsentAmended,
        AuditKind::ConsentRevoked,
        AuditKind::PatientKeyBound,
        AuditKind::IdentityRegistered,
        AuditKind::IdentitySuspended,
        AuditKind::IdentityReactivated,
        AuditKind::IdentityRevoked,
        AuditKind::IdentityKeyRotated,
        AuditKind::AccessDecision,
        AuditKind::BreakGlass,
        AuditKind::ReviewClosed,
        AuditKind::DocumentDelivered,
        AuditKind::DocumentRegistered,
        AuditKind::DocumentErased,
        AuditKind::PatientKeyReplaced,
        AuditKind::PatientKeyRevoked,
        AuditKind::RiskAssessed,
        AuditKind::RiskAttested,
        AuditKind::RiskParametersChanged,
        AuditKind::DeviceQuarantined,
        AuditKind::DeviceMitigated,
        AuditKind::DeviceReleased,
        AuditKind::GovernanceProposed,
        AuditKind::GovernanceVoted,
        AuditKind::GovernanceDecided,
        AuditKind::EpochChanged,
        AuditKind::MisbehaviourReported,
        AuditKind::ProductRegistered,
        AuditKind::ProductAttested,
        AuditKind::ProductRevoked,
        AuditKind::SelfAssessmentRecorded,
        AuditKind::ConnectionAllowed,
        AuditKind::ConnectionRemoved,
        AuditKind::UnexpectedConnection,
        AuditKind::CourseDefined,
        AuditKind::TrainingPolicyChanged,
        AuditKind::TrainingIssued,
        AuditKind::TrainingRevoked,
    ];
}

/// AuditEvent.action.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
pub enum AuditAction {
    /// Create.
    #[serde(rename = "C")]
    Create,
    /// Read/view/print.
    #[serde(rename = "R")]
    Read,
    /// Update.
    #[serde(rename = "U")]
    Update,
    /// Delete.
    #[serde(rename = "D")]
    Delete,
    /// Execute (a decision).
    #[serde(rename = "E")]
    Execute,
}

/// AuditEvent.outcome.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditOutcome {
    /// Done or permitted.
    Success,
    /// Refused by policy (an access request denied).
    Denied,
}

/// One participant (AuditEvent.agent).
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct AuditAgent {
    /// The identity, when the agent is a registered one.
    pub identity: Option<IdentityId>,
    /// The key that signed, when the agent signed.
    pub key: Option<PublicKey>,
    /// The organisation the agent acts for.
    pub org: Option<OrgId>,
    /// The agent's role.
    pub role: Option<StaffRole>,
    /// True for the agent that initiated the event.
    pub requestor: bool,
}

/// What the event is about (AuditEvent.entity).
#[derive(Clone, PartialEq, Eq, Debug, Default, Encode, Decode, Serialize, Deserialize)]
pub struct AuditEntity {
    /// The patient concerned.
    pub patient: Option<PatientRef>,
    /// The consent concerned (and its version).
    pub consent: Option<(ConsentId, u32)>,
    /// The access decision concerned.
    pub decision: Option<DecisionId>,
    /// The document concerned.
    pub document: Option<DocumentHash>,
    /// The identity concerned.
    pub identity: Option<IdentityId>,
    /// The class of data concerned.
    pub data_class: Option<DataClass>,
    /// The off-chain record behind the event, by SHA-256: the signed consent form, the
    /// break-glass justification, or the auditor's review notes.
    pub attachment: Option<DocumentHash>,
    /// An auditor's finding, for closed break-glass reviews.
    pub finding: Option<crate::access::ReviewOutcome>,
    /// The governance proposal concerned.
    pub proposal: Option<Hash>,
    /// The registry record concerned: a product (by firmware hash), a self-assessment, a
    /// connection rule or a training credential.
    pub record: Option<Hash>,
}

/// One entry of the append-only audit log.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the log, from 0.
    pub seq: u64,
    /// What happened.
    pub kind: AuditKind,
    /// The action.
    pub action: AuditAction,
    /// The outcome.
    pub outcome: AuditOutcome,
    /// Block time (AuditEvent.recorded).
    pub recorded: Timestamp,
    /// Block height.
    pub height: Height,
    /// Participants.
    pub agents: Vec<AuditAgent>,
    /// What it is about.
    pub entity: AuditEntity,
    /// Why (AuditEvent.purposeOfEvent).
    pub purpose: Option<Purpose>,
    /// Hash of the previous event (zero for the first): the log is a hash chain.
    pub prev: Hash,
}

impl AuditEvent {
    /// The event's hash, which the next event links to and the Merkle accumulator holds.
    pub fn hash(&self) -> Hash {
        Hash::digest_parts(&[b"panacea-audit-event-v1", &codec::encode(self)])
    }
}
