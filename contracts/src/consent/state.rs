use super::messages::Consent;
use crate::ids::{ConsentId, PatientRef};
use crate::state::{BlockState, StateError, Store, key, read};

/// Most consents one patient may have (versions of one consent count once).
pub const PATIENT_CONSENTS_MAX: usize = 64;

pub(crate) fn version_key(id: &ConsentId, version: u32) -> Vec<u8> {
    key("consent", &[id.0.as_bytes(), &version.to_be_bytes()])
}

pub(crate) fn head_key(id: &ConsentId) -> Vec<u8> {
    key("consent-head", &[id.0.as_bytes()])
}

pub(crate) fn patient_key(patient: &PatientRef) -> Vec<u8> {
    key("patient-consents", &[patient.0.as_bytes()])
}

/// The latest version of a consent, during execution.
pub(crate) fn get_consent(state: &BlockState<'_>, id: &ConsentId) -> Result<Option<Consent>, StateError> {
    let Some(version) = state.get::<u32>(&head_key(id))? else { return Ok(None) };
    state.get(&version_key(id, version))
}

/// Stores a new version and makes it the latest.
pub(crate) fn put_version(state: &mut BlockState<'_>, consent: &Consent) {
    state.put(version_key(&consent.id, consent.version), consent);
    state.put(head_key(&consent.id), &consent.version);
}

/// The ids of a patient's consents, during execution.
pub(crate) fn patient_consent_ids(state: &BlockState<'_>, patient: &PatientRef) -> Result<Vec<ConsentId>, StateError> {
    Ok(state.get(&patient_key(patient))?.unwrap_or_default())
}

pub(crate) fn put_patient_consent_ids(state: &mut BlockState<'_>, patient: &PatientRef, ids: &Vec<ConsentId>) {
    state.put(patient_key(patient), ids);
}

/// The latest version of each of a patient's consents, during execution.
pub(crate) fn current_consents(state: &BlockState<'_>, patient: &PatientRef) -> Result<Vec<Consent>, StateError> {
    let mut out = Vec::new();
    for id in patient_consent_ids(state, patient)? {
        if let Some(consent) = get_consent(state, &id)? {
            out.push(consent);
        }
    }
    Ok(out)
}

/// The latest version of a consent, from committed state.
pub fn consent<S: Store + ?Sized>(store: &S, id: &ConsentId) -> Result<Option<Consent>, StateError> {
    let Some(version) = read::<u32, S>(store, &head_key(id))? else { return Ok(None) };
    read(store, &version_key(id, version))
}

/// Every version of a consent, oldest first, from committed state.
pub fn consent_history<S: Store + ?Sized>(store: &S, id: &ConsentId) -> Result<Vec<Consent>, StateError> {
    let Some(latest) = read::<u32, S>(store, &head_key(id))? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for version in 1..=latest {
        if let Some(consent) = read(store, &version_key(id, version))? {
            out.push(consent);
        }
    }
    Ok(out)
}

/// The latest version of each of a patient's consents, from committed state.
pub fn consents_of_patient<S: Store + ?Sized>(store: &S, patient: &PatientRef) -> Result<Vec<Consent>, StateError> {
    let ids: Vec<ConsentId> = read(store, &patient_key(patient))?.unwrap_or_default();
    let mut out = Vec::new();
    for id in ids {
        if let Some(consent) = consent(store, &id)? {
            out.push(consent);
        }
    }
    Ok(out)
}
