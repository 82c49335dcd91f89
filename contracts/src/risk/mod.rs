//! Dynamic risk on chain: an organisation's attack-graph assessment (computed off chain by
//! its risk worker, `panacea-risk`) committed by the hashes of its inputs and output, with
//! the risk table per service level and attacker profile; attestations by other
//! organisations' workers that computed the same output; per-organisation parameters set
//! by admins; and the quarantine the access rule obeys: a device identity an assessment
//! finds at high risk has its access requests denied (`device-quarantined`) until an admin
//! records a mitigation and a later assessment no longer finds it at high risk.
//!
//! No inventory, no survey answer, no machine or person name goes on chain: only hashes,
//! service-level ids and device identity ids.

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use errors::RiskError;
pub(crate) use execution::{check_parameters, execute};
pub use messages::{
    ASSESSMENTS_LISTED_MAX, ATTESTATIONS_MAX, Assessment, AssessmentId, AttackerProfile, Attestation, HIGH_DEVICES_MAX,
    QUARANTINED_MAX, Quarantine, RISK_INPUTS_MAX, RISK_TABLE_MAX, RiskCall, RiskInput, RiskLevel, RiskParameters,
    RiskRow, SERVICE_LEVEL_BYTES_MAX,
};
pub use state::{assessment, assessments_of, effective_parameters, parameters, quarantine, quarantined};
