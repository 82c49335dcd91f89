//! Patients' data-sharing consents with FHIR R4 Consent semantics: recorded by the
//! patient's own key or attested by a custodian organisation, amended and revoked by new
//! versions, every version kept.

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use errors::ConsentError;
pub(crate) use execution::execute;
pub use messages::{
    ActorRef, CONSENT_LIST_MAX, CONSENT_VERSIONS_MAX, Consent, ConsentCall, ConsentScope, ConsentStatus, ConsentTerms,
    PROVISION_DEPTH_MAX, PROVISION_LIST_MAX, PROVISIONS_MAX, Period, PolicyRule, Provision, ProvisionType, Recorder,
    Verification,
};
pub(crate) use state::current_consents;
pub use state::{PATIENT_CONSENTS_MAX, consent, consent_history, consents_of_patient};
