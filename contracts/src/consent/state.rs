use panacea_primitives::PublicKey;

use super::messages::{BindingStatus, Consent, PatientKeyBinding};
use crate::ids::{ConsentId, PatientRef};
use crate::membership::KeyOwner;
use crate::state::{BlockState, StateError, Store, key, read};

/// Most consents in force one patient may have: every consent whose latest version is not
/// `inactive` (versions of one consent count once). Revoked consents leave the patient's
/// list, so they neither count nor can fill it.
pub const PATIENT_CONSENTS_MAX: usize = 64;

/// A consent's latest version. Earlier versions move to [`earlier_version_key`] when a new
/// one is recorded, so a consent recorded once (most are) is one record under one key.
pub(crate) fn consent_key(id: &ConsentId) -> Vec<u8> {
    key("consent", &[id.0.as_bytes()])
}

/// A version of a consent that a later version superseded.
pub(crate) fn earlier_version_key(id: &ConsentId, version: u32) -> Vec<u8> {
    key("consent-version", &[id.0.as_bytes(), &version.to_be_bytes()])
}

/// The ids of a patient's consents that are not revoked (their latest version is not
/// `inactive`): the consents that can still decide a request. A revoked consent stays
/// readable by its id, and its revocation is in the patient's audit trail.
pub(crate) fn patient_key(patient: &PatientRef) -> Vec<u8> {
    key("patient-consents", &[patient.0.as_bytes()])
}

pub(crate) fn binding_key(signer: &PublicKey) -> Vec<u8> {
    key("patient-key", &[&signer.to_bytes()])
}

pub(crate) fn patient_keys_key(patient: &PatientRef) -> Vec<u8> {
    key("patient-keys", &[patient.0.as_bytes()])
}

/// The latest version of a consent, during execution.
pub(crate) fn get_consent(state: &BlockState<'_>, id: &ConsentId) -> Result<Option<Consent>, StateError> {
    state.get(&consent_key(id))
}

/// Version `version` of a consent, during execution.
pub(crate) fn get_version(state: &BlockState<'_>, id: &ConsentId, version: u32) -> Result<Option<Consent>, StateError> {
    match get_consent(state, id)? {
        Some(latest) if latest.version == version => Ok(Some(latest)),
        Some(latest) if latest.version > version => state.get(&earlier_version_key(id, version)),
        _ => Ok(None),
    }
}

/// Stores a new version and makes it the latest; the version it supersedes keeps its own
/// key.
pub(crate) fn put_version(state: &mut BlockState<'_>, consent: &Consent) -> Result<(), StateError> {
    if let Some(previous) = get_consent(state, &consent.id)? {
        state.put(earlier_version_key(&consent.id, previous.version), &previous);
    }
    state.put(consent_key(&consent.id), consent);
    Ok(())
}

/// The ids of a patient's consents in force, during execution.
pub(crate) fn patient_consent_ids(state: &BlockState<'_>, patient: &PatientRef) -> Result<Vec<ConsentId>, StateError> {
    Ok(state.get(&patient_key(patient))?.unwrap_or_default())
}

pub(crate) fn put_patient_consent_ids(state: &mut BlockState<'_>, patient: &PatientRef, ids: &Vec<ConsentId>) {
    state.put(patient_key(patient), ids);
}

/// The latest version of each of a patient's consents in force, during execution.
pub(crate) fn current_consents(state: &BlockState<'_>, patient: &PatientRef) -> Result<Vec<Consent>, StateError> {
    let mut out = Vec::new();
    for id in patient_consent_ids(state, patient)? {
        if let Some(consent) = get_consent(state, &id)? {
            out.push(consent);
        }
    }
    Ok(out)
}

/// A patient key's binding, during execution.
pub(crate) fn get_binding(state: &BlockState<'_>, signer: &PublicKey) -> Result<Option<PatientKeyBinding>, StateError> {
    state.get(&binding_key(signer))
}

pub(crate) fn put_binding(state: &mut BlockState<'_>, binding: &PatientKeyBinding) {
    state.put(binding_key(&binding.key), binding);
}

/// A patient's keys in force, during execution.
pub(crate) fn patient_keys_in(state: &BlockState<'_>, patient: &PatientRef) -> Result<Vec<PublicKey>, StateError> {
    Ok(state.get(&patient_keys_key(patient))?.unwrap_or_default())
}

pub(crate) fn put_patient_keys(state: &mut BlockState<'_>, patient: &PatientRef, keys: &Vec<PublicKey>) {
    state.put(patient_keys_key(patient), keys);
}

/// The one rule for whether a key acts for a patient: it is owned as a patient key and its
/// binding to that same patient is in force. Execution and the API both ask it.
fn in_force(owner: Option<KeyOwner>, binding: Option<PatientKeyBinding>) -> Option<PatientRef> {
    match (owner, binding) {
        (Some(KeyOwner::Patient(patient)), Some(binding))
            if binding.patient == patient && binding.status == BindingStatus::InForce =>
        {
            Some(patient)
        }
        _ => None,
    }
}

/// The patient `signer` acts for, if it is a patient key in force, during execution.
pub(crate) fn bound_patient_in(state: &BlockState<'_>, signer: &PublicKey) -> Result<Option<PatientRef>, StateError> {
    let owner = state.get::<KeyOwner>(&crate::membership::owner_key(signer))?;
    Ok(in_force(owner, get_binding(state, signer)?))
}

/// The patient `signer` acts for, from committed state: `Some` only for a key bound to a
/// patient by a custodian and neither replaced nor revoked since. A node authenticating a
/// patient's read asks this, not the bare key owner.
pub fn bound_patient<S: Store + ?Sized>(store: &S, signer: &PublicKey) -> Result<Option<PatientRef>, StateError> {
    let owner = crate::membership::key_owner(store, signer)?;
    Ok(in_force(owner, patient_key_binding(store, signer)?))
}

/// A patient key's binding, in force or not, from committed state.
pub fn patient_key_binding<S: Store + ?Sized>(
    store: &S,
    signer: &PublicKey,
) -> Result<Option<PatientKeyBinding>, StateError> {
    read(store, &binding_key(signer))
}

/// A patient's keys in force, from committed state.
pub fn patient_keys<S: Store + ?Sized>(store: &S, patient: &PatientRef) -> Result<Vec<PublicKey>, StateError> {
    Ok(read(store, &patient_keys_key(patient))?.unwrap_or_default())
}

/// The latest version of a consent, from committed state.
pub fn consent<S: Store + ?Sized>(store: &S, id: &ConsentId) -> Result<Option<Consent>, StateError> {
    read(store, &consent_key(id))
}

/// Version `version` of a consent, from committed state.
pub fn consent_version<S: Store + ?Sized>(
    store: &S,
    id: &ConsentId,
    version: u32,
) -> Result<Option<Consent>, StateError> {
    match consent(store, id)? {
        Some(latest) if latest.version == version => Ok(Some(latest)),
        Some(latest) if latest.version > version => read(store, &earlier_version_key(id, version)),
        _ => Ok(None),
    }
}

/// The latest version of a consent recorded at or before `at`, from committed state:
/// versions are recorded in block order, so a binary search reads O(log versions) of them.
pub fn consent_as_of<S: Store + ?Sized>(
    store: &S,
    id: &ConsentId,
    at: panacea_primitives::Timestamp,
) -> Result<Option<Consent>, StateError> {
    let Some(latest) = consent(store, id)? else { return Ok(None) };
    if latest.recorded_at <= at {
        return Ok(Some(latest));
    }
    let (mut low, mut high) = (1u32, latest.version.saturating_sub(1));
    let mut found = None;
    while low <= high {
        let middle = low + (high - low) / 2;
        match read::<Consent, S>(store, &earlier_version_key(id, middle))? {
            Some(version) if version.recorded_at <= at => {
                found = Some(version);
                low = middle + 1;
            }
            Some(_) => match middle.checked_sub(1) {
                Some(below) => high = below,
                None => break,
            },
            None => break,
        }
    }
    Ok(found)
}

/// Every version of a consent, oldest first, from committed state.
pub fn consent_history<S: Store + ?Sized>(store: &S, id: &ConsentId) -> Result<Vec<Consent>, StateError> {
    let Some(latest) = consent(store, id)? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for version in 1..latest.version {
        if let Some(consent) = read(store, &earlier_version_key(id, version))? {
            out.push(consent);
        }
    }
    out.push(latest);
    Ok(out)
}

/// The latest version of each of a patient's consents that are not revoked, from
/// committed state. A revoked consent is read by its id ([`consent`]).
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
