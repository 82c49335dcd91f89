//! Patients' data-sharing consents with FHIR R4 Consent semantics: recorded by the
//! patient's own key or attested by a custodian organisation, amended and revoked by new
//! versions (by the patient or the organisation that recorded them), every version kept;
//! and the patient keys that custodians bind, and the patient or custodians replace and
//! revoke.
//!
//! Whether a key acts for a patient is [`bound_patient`]: execution and the API both ask it.

mod binding;
mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
pub(crate) mod tests;

pub use errors::ConsentError;
pub(crate) use execution::execute;
pub use messages::{
    ActorRef, BindingStatus, CONSENT_LIST_MAX, CONSENT_VERSIONS_MAX, Consent, ConsentCall, ConsentScope, ConsentStatus,
    ConsentTerms, PATIENT_KEYS_MAX, PROVISION_DEPTH_MAX, PROVISION_LIST_MAX, PROVISIONS_MAX, PatientKeyBinding, Period,
    PolicyRule, Provision, ProvisionType, Recorder, Verification,
};
pub use state::{
    PATIENT_CONSENTS_MAX, bound_patient, consent, consent_as_of, consent_history, consent_version, consents_of_patient,
    patient_key_binding, patient_keys,
};
pub(crate) use state::{bound_patient_in, current_consents};
