//! Patient keys: bound by a custodian of the patient that verified the patient's identity,
//! replaced by that custodian or by the patient, revoked by the patient or a custodian.
//! A key serves one binding, once: a replaced or revoked key never signs or reads again,
//! and can never be bound again.

use panacea_primitives::PublicKey;

use super::Recorder;
use super::errors::ConsentError;
use super::execution::may_record;
use super::messages::{BindingStatus, PATIENT_KEYS_MAX, PatientKeyBinding};
use super::state::{get_binding, get_version, patient_consent_ids, patient_keys_in, put_binding, put_patient_keys};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditKind, new_event};
use crate::codes::DataClass;
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::{Identity, Principal};
use crate::ids::{DocumentHash, OrgId, PatientRef};
use crate::membership::{KeyOwner, key_used, put_key_owner, retire_key};
use crate::state::{BlockState, StateError};

/// True if `org` is a custodian of `patient` on chain: it recorded one of the patient's
/// consents that are not revoked, or registered a document about the patient. The chain
/// knows no other relationship between an organisation and a patient.
pub(crate) fn is_custodian(state: &BlockState<'_>, org: &OrgId, patient: &PatientRef) -> Result<bool, StateError> {
    for id in patient_consent_ids(state, patient)? {
        if let Some(first) = get_version(state, &id, 1)?
            && matches!(&first.recorder, Recorder::Custodian { org: recorder, .. } if recorder == org)
        {
            return Ok(true);
        }
    }
    for class in DataClass::ALL {
        let listed = crate::document::state::class_key(org, patient, *class);
        if state.get_raw(&listed)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The signer as staff who may verify a patient's identity: a physician, nurse or
/// administrative staff member.
fn verifying_staff(who: &Principal) -> Option<&Identity> {
    match who {
        Principal::Member { identity } if may_record(&identity.kind) => Some(identity),
        _ => None,
    }
}

/// The binding of `key`, which must be in force.
fn binding_in_force(state: &BlockState<'_>, key: &PublicKey) -> Result<PatientKeyBinding, ExecError> {
    let binding = get_binding(state, key)?.ok_or(ConsentError::UnknownKey)?;
    if binding.status != BindingStatus::InForce {
        return Err(ConsentError::KeyRetired.into());
    }
    Ok(binding)
}

fn key_agent(key: PublicKey) -> AuditAgent {
    AuditAgent { identity: None, key: Some(key), org: None, role: None, requestor: false }
}

fn event_entity(patient: PatientRef, form_hash: Option<DocumentHash>) -> AuditEntity {
    AuditEntity { patient: Some(patient), attachment: form_hash, ..AuditEntity::default() }
}

/// Binds `key` to `patient`.
pub(super) fn bind(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    patient: PatientRef,
    key: PublicKey,
    form_hash: DocumentHash,
) -> Result<(), ExecError> {
    let Some(staff) = verifying_staff(who) else { return Err(ConsentError::NotAuthorised.into()) };
    if patient.0 == panacea_primitives::Hash::ZERO {
        return Err(ConsentError::BadPatient(patient).into());
    }
    if !is_custodian(state, &staff.org, &patient)? {
        return Err(ConsentError::NotCustodian(staff.org.clone()).into());
    }
    if key_used(state, &key)? {
        return Err(ConsentError::KeyInUse.into());
    }
    let mut keys = patient_keys_in(state, &patient)?;
    if keys.len() >= PATIENT_KEYS_MAX {
        return Err(ConsentError::TooManyKeys { max: PATIENT_KEYS_MAX }.into());
    }
    keys.push(key);
    put_patient_keys(state, &patient, &keys);
    put_key_owner(state, &key, &KeyOwner::Patient(patient));
    put_binding(
        state,
        &PatientKeyBinding {
            patient,
            key,
            custodian: staff.org.clone(),
            identity: staff.id,
            form_hash,
            replaces: None,
            bound_at: ctx.block.time,
            status: BindingStatus::InForce,
        },
    );
    state.emit(new_event(
        ctx,
        AuditKind::PatientKeyBound,
        AuditAction::Create,
        vec![who.agent(), key_agent(key)],
        event_entity(patient, Some(form_hash)),
        None,
    ));
    Ok(())
}

/// Replaces `key` by `new_key`: the patient with `key` itself, or staff of the custodian
/// that bound it, with a new identity-verification form.
pub(super) fn replace(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    key: PublicKey,
    new_key: PublicKey,
    form_hash: Option<DocumentHash>,
) -> Result<(), ExecError> {
    let old = binding_in_force(state, &key)?;
    let (identity, form_hash, attachment) = match (who, verifying_staff(who)) {
        (Principal::Patient { key: signer, .. }, _) if *signer == key => {
            if form_hash.is_some() {
                return Err(ConsentError::FormHashFromPatient.into());
            }
            // The custodian's verification still stands: the patient proved they hold
            // the key it verified.
            (old.identity, old.form_hash, None)
        }
        (_, Some(staff)) if staff.org == old.custodian => {
            let form_hash = form_hash.ok_or(ConsentError::FormHashRequired)?;
            (staff.id, form_hash, Some(form_hash))
        }
        _ => return Err(ConsentError::NotBindingCustodian(old.custodian).into()),
    };
    if key_used(state, &new_key)? {
        return Err(ConsentError::KeyInUse.into());
    }
    let mut keys = patient_keys_in(state, &old.patient)?;
    for listed in keys.iter_mut().filter(|k| **k == key) {
        *listed = new_key;
    }
    put_patient_keys(state, &old.patient, &keys);
    retire_key(state, &key, &KeyOwner::Patient(old.patient));
    put_key_owner(state, &new_key, &KeyOwner::Patient(old.patient));
    put_binding(
        state,
        &PatientKeyBinding {
            patient: old.patient,
            key: new_key,
            custodian: old.custodian.clone(),
            identity,
            form_hash,
            replaces: Some(key),
            bound_at: ctx.block.time,
            status: BindingStatus::InForce,
        },
    );
    let patient = old.patient;
    put_binding(
        state,
        &PatientKeyBinding { status: BindingStatus::Replaced { by: new_key, at: ctx.block.time }, ..old },
    );
    state.emit(new_event(
        ctx,
        AuditKind::PatientKeyReplaced,
        AuditAction::Update,
        vec![who.agent(), key_agent(key), key_agent(new_key)],
        event_entity(patient, attachment),
        None,
    ));
    Ok(())
}

/// Revokes `key`: the patient (with any of their keys in force), or staff of the custodian
/// that bound it or of another custodian of the patient, with the record of the request.
pub(super) fn revoke(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    key: PublicKey,
    form_hash: Option<DocumentHash>,
) -> Result<(), ExecError> {
    let binding = binding_in_force(state, &key)?;
    let attachment = match (who, verifying_staff(who)) {
        (Principal::Patient { patient, .. }, _) if *patient == binding.patient => {
            if form_hash.is_some() {
                return Err(ConsentError::FormHashFromPatient.into());
            }
            None
        }
        // Another custodian may revoke too: a binding the patient disowns must not wait for
        // the organisation that made it.
        (_, Some(staff)) if staff.org == binding.custodian || is_custodian(state, &staff.org, &binding.patient)? => {
            Some(form_hash.ok_or(ConsentError::FormHashRequired)?)
        }
        _ => return Err(ConsentError::MayNotRevokeKey(binding.custodian).into()),
    };
    let mut keys = patient_keys_in(state, &binding.patient)?;
    keys.retain(|k| *k != key);
    put_patient_keys(state, &binding.patient, &keys);
    retire_key(state, &key, &KeyOwner::Patient(binding.patient));
    let patient = binding.patient;
    put_binding(state, &PatientKeyBinding { status: BindingStatus::Revoked { at: ctx.block.time }, ..binding });
    state.emit(new_event(
        ctx,
        AuditKind::PatientKeyRevoked,
        AuditAction::Update,
        vec![who.agent(), key_agent(key)],
        event_entity(patient, attachment),
        None,
    ));
    Ok(())
}
