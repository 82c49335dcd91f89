use super::messages::{Assessment, AssessmentId, Quarantine, RiskParameters};
use crate::ids::{IdentityId, OrgId};
use crate::state::{BlockState, StateError, Store, key, read};

pub(crate) fn assessment_key(id: &AssessmentId) -> Vec<u8> {
    key("risk-assessment", &[id.as_bytes()])
}

fn listed_key(org: &OrgId) -> Vec<u8> {
    key("risk-assessments-of", &[org.as_str().as_bytes()])
}

fn parameters_key(org: &OrgId) -> Vec<u8> {
    key("risk-parameters", &[org.as_str().as_bytes()])
}

pub(crate) fn quarantine_key(device: &IdentityId) -> Vec<u8> {
    key("quarantine", &[device.0.as_bytes()])
}

fn quarantined_of_key(org: &OrgId) -> Vec<u8> {
    key("quarantined-of", &[org.as_str().as_bytes()])
}

pub(crate) fn get_assessment(state: &BlockState<'_>, id: &AssessmentId) -> Result<Option<Assessment>, StateError> {
    state.get(&assessment_key(id))
}

pub(crate) fn put_assessment(state: &mut BlockState<'_>, assessment: &Assessment) {
    state.put(assessment_key(&assessment.id), assessment);
}

pub(crate) fn listed_in(state: &BlockState<'_>, org: &OrgId) -> Result<Vec<AssessmentId>, StateError> {
    Ok(state.get(&listed_key(org))?.unwrap_or_default())
}

pub(crate) fn put_listed(state: &mut BlockState<'_>, org: &OrgId, ids: &Vec<AssessmentId>) {
    state.put(listed_key(org), ids);
}

pub(crate) fn put_parameters(state: &mut BlockState<'_>, org: &OrgId, parameters: &RiskParameters) {
    state.put(parameters_key(org), parameters);
}

pub(crate) fn get_quarantine(state: &BlockState<'_>, device: &IdentityId) -> Result<Option<Quarantine>, StateError> {
    state.get(&quarantine_key(device))
}

pub(crate) fn quarantined_in(state: &BlockState<'_>, org: &OrgId) -> Result<Vec<IdentityId>, StateError> {
    Ok(state.get(&quarantined_of_key(org))?.unwrap_or_default())
}

pub(crate) fn put_quarantined(state: &mut BlockState<'_>, org: &OrgId, devices: &Vec<IdentityId>) {
    state.put(quarantined_of_key(org), devices);
}

/// An assessment, from committed state.
pub fn assessment<S: Store + ?Sized>(store: &S, id: &AssessmentId) -> Result<Option<Assessment>, StateError> {
    read(store, &assessment_key(id))
}

/// An organisation's latest assessments (at most `ASSESSMENTS_LISTED_MAX`), newest first,
/// from committed state.
pub fn assessments_of<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Vec<Assessment>, StateError> {
    let ids: Vec<AssessmentId> = read(store, &listed_key(org))?.unwrap_or_default();
    let mut out = Vec::new();
    for id in ids.iter().rev() {
        if let Some(found) = assessment(store, id)? {
            out.push(found);
        }
    }
    Ok(out)
}

/// An organisation's risk parameters, from committed state.
pub fn parameters<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Option<RiskParameters>, StateError> {
    read(store, &parameters_key(org))
}

/// The parameters `org`'s assessments are computed with: its own, or else the chain's
/// default set by the consortium's vote (`governance::ChainParameters::risk_defaults`), or
/// `None` (the model's own), from committed state.
pub fn effective_parameters<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Option<RiskParameters>, StateError> {
    match parameters(store, org)? {
        Some(own) => Ok(Some(own)),
        None => Ok(crate::governance::parameters(store)?.risk_defaults),
    }
}

/// A device's quarantine, if it is in one, from committed state.
pub fn quarantine<S: Store + ?Sized>(store: &S, device: &IdentityId) -> Result<Option<Quarantine>, StateError> {
    read(store, &quarantine_key(device))
}

/// An organisation's devices in quarantine, from committed state.
pub fn quarantined<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Vec<Quarantine>, StateError> {
    let ids: Vec<IdentityId> = read(store, &quarantined_of_key(org))?.unwrap_or_default();
    let mut out = Vec::new();
    for id in ids {
        if let Some(found) = quarantine(store, &id)? {
            out.push(found);
        }
    }
    Ok(out)
}
