use bincode::{Decode, Encode};
use panacea_primitives::{Hash, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ids::{DocumentHash, IdentityId, OrgId};

/// Most rows of one risk table (service level × attacker profile).
pub const RISK_TABLE_MAX: usize = 1_024;
/// Most input documents one assessment commits to.
pub const RISK_INPUTS_MAX: usize = 16;
/// Most devices one assessment may find at high risk.
pub const HIGH_DEVICES_MAX: usize = 1_024;
/// Most attestations of one assessment.
pub const ATTESTATIONS_MAX: usize = 16;
/// Longest service-level id, in bytes.
pub const SERVICE_LEVEL_BYTES_MAX: usize = 64;
/// Assessments kept in an organisation's list (older ones stay readable by id).
pub const ASSESSMENTS_LISTED_MAX: usize = 32;
/// Most devices of one organisation in quarantine at once.
pub const QUARANTINED_MAX: usize = 4_096;

/// Identifies an assessment: the id of the transaction that submitted it.
pub type AssessmentId = Hash;

/// A risk level.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskLevel {
    /// Below the low threshold.
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// The attacker profiles of the model (DRMP's NAIVE, ADVANCED, PROFESSIONAL).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackerProfile {
    /// Uses only easy, published exploits.
    Naive,
    /// Skilled.
    Advanced,
    /// A professional team.
    Professional,
}

/// Which input document a hash commits to. Raw inventories never go on chain (they name
/// machines and people); the survey is personal data, committed to by a salted hash.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskInput {
    /// Devices, interfaces, ports, services.
    Devices,
    /// The CVE catalogue.
    Vulnerabilities,
    /// Routing and firewall rules.
    NetworkPolicy,
    /// Employees, roles, locations.
    Employees,
    /// Work relations.
    WorkRelations,
    /// The security-profile survey (salted hash: personal data).
    SecurityProfiles,
    /// The human-vulnerability catalogue.
    HumanVulnerabilities,
    /// Credentials.
    Credentials,
    /// Business services and their dependencies.
    BusinessModel,
    /// Attacker profiles and thresholds used.
    Configuration,
}

/// One row of a risk table.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct RiskRow {
    /// The service level (an id from the organisation's business model, such as
    /// `radiology-availability`; never a person or a machine name).
    pub service_level: String,
    /// The attacker profile.
    pub attacker: AttackerProfile,
    /// Likelihood, in thousandths (integers keep the table deterministic).
    pub likelihood_milli: u32,
    /// Impact.
    pub impact: u32,
    /// The level.
    pub level: RiskLevel,
}

/// An organisation's risk parameters, changed by its admins: the attacker profiles and
/// thresholds its risk worker applies over the configuration document, and that another
/// organisation's worker applies when it recomputes an assessment to attest it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct RiskParameters {
    /// Per attacker profile, the lowest score of each metric it can exploit, in thousandths
    /// of the model's [0, 1] scores: attack complexity, attack vector, privileges required,
    /// code maturity, report confidence.
    pub attackers: Vec<(AttackerProfile, [u32; 5])>,
    /// Impact thresholds: low, medium, high.
    pub impact_thresholds: [u64; 3],
    /// Likelihood thresholds, in thousandths of L: low, medium, high.
    pub likelihood_thresholds: [u64; 3],
}

/// Calls of the risk module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskCall {
    /// An organisation's risk service (or its admin) submits an assessment of its own
    /// estate: hashes of the inputs and of the output, the risk table, and its devices
    /// found at high risk (which are quarantined).
    Submit {
        /// The input documents, by SHA-256 (the survey's salted).
        inputs: Vec<(RiskInput, Hash)>,
        /// SHA-256 of the canonical output.
        output: Hash,
        /// The risk table.
        table: Vec<RiskRow>,
        /// The organisation's device identities at high risk.
        high_devices: Vec<IdentityId>,
        /// The audit position the assessment accounts for: the unexpected-connection
        /// reports (`connection::ConnectionCall::ReportUnexpected`) involving the
        /// organisation in events before this sequence number are edges of its attack
        /// graph (0: none). An attesting worker uses the same cutoff.
        observed_until: u64,
    },
    /// A service (or admin) of another organisation attests that its own worker computed
    /// the same output from the same inputs.
    Attest {
        /// The assessment.
        assessment: AssessmentId,
        /// The output hash its worker computed.
        output: Hash,
    },
    /// An admin sets the organisation's risk parameters.
    SetParameters {
        /// The parameters.
        parameters: RiskParameters,
    },
    /// An admin records the mitigation of a quarantined device (the record kept off chain,
    /// by hash). The quarantine ends when a later assessment no longer finds it at high
    /// risk.
    Mitigate {
        /// The device identity.
        device: IdentityId,
        /// SHA-256 of the mitigation record.
        record: DocumentHash,
    },
}

/// An attestation of an assessment by another organisation.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Attestation {
    /// The attesting organisation.
    pub org: OrgId,
    /// Block time.
    pub at: Timestamp,
}

/// A stored assessment.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Assessment {
    /// Its id.
    pub id: AssessmentId,
    /// The organisation assessed.
    pub org: OrgId,
    /// Input hashes.
    pub inputs: Vec<(RiskInput, Hash)>,
    /// Output hash.
    pub output: Hash,
    /// The risk table.
    pub table: Vec<RiskRow>,
    /// Devices at high risk.
    pub high_devices: Vec<IdentityId>,
    /// The audit position whose unexpected-connection reports it accounts for (see
    /// `RiskCall::Submit`).
    pub observed_until: u64,
    /// Block time of submission.
    pub submitted_at: Timestamp,
    /// Other organisations that attested the same output.
    pub attestations: Vec<Attestation>,
}

/// A device in quarantine: its access requests are denied until a mitigation is recorded
/// and a later assessment clears it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Quarantine {
    /// The device.
    pub device: IdentityId,
    /// Its organisation.
    pub org: OrgId,
    /// The assessment that found it at high risk.
    pub since: AssessmentId,
    /// The mitigation recorded, if any: the record's hash and when.
    pub mitigation: Option<(DocumentHash, Timestamp)>,
}
