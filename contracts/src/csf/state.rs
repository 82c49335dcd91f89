use super::messages::SelfAssessment;
use crate::ids::OrgId;
use crate::state::{BlockState, StateError, Store, key, read};

fn latest_key(org: &OrgId) -> Vec<u8> {
    key("csf-latest", &[org.as_str().as_bytes()])
}

pub(crate) fn version_key(org: &OrgId, version: u32) -> Vec<u8> {
    key("csf-assessment", &[org.as_str().as_bytes(), &version.to_be_bytes()])
}

pub(crate) fn latest_version_in(state: &BlockState<'_>, org: &OrgId) -> Result<u32, StateError> {
    Ok(state.get(&latest_key(org))?.unwrap_or(0))
}

pub(crate) fn put_assessment(state: &mut BlockState<'_>, assessment: &SelfAssessment) {
    state.put(version_key(&assessment.org, assessment.version), assessment);
    state.put(latest_key(&assessment.org), &assessment.version);
}

/// The latest version number of an organisation's self-assessment (0: none yet), from
/// committed state.
pub fn latest_version<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<u32, StateError> {
    Ok(read(store, &latest_key(org))?.unwrap_or(0))
}

/// One version of an organisation's self-assessment, from committed state.
pub fn self_assessment<S: Store + ?Sized>(
    store: &S,
    org: &OrgId,
    version: u32,
) -> Result<Option<SelfAssessment>, StateError> {
    read(store, &version_key(org, version))
}

/// An organisation's latest self-assessment, from committed state.
pub fn latest<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Option<SelfAssessment>, StateError> {
    match latest_version(store, org)? {
        0 => Ok(None),
        version => self_assessment(store, org, version),
    }
}
