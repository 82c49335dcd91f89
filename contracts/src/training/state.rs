use super::messages::{Course, Credential, TrainingPolicy};
use crate::ids::{IdentityId, OrgId};
use crate::state::{BlockState, StateError, Store, key, read};

fn courses_key(org: &OrgId) -> Vec<u8> {
    key("training-courses", &[org.as_str().as_bytes()])
}

fn policy_key(org: &OrgId) -> Vec<u8> {
    key("training-policy", &[org.as_str().as_bytes()])
}

pub(crate) fn credential_key(holder: &IdentityId, course: &str) -> Vec<u8> {
    key("training-credential", &[holder.0.as_bytes(), course.as_bytes()])
}

fn held_key(holder: &IdentityId) -> Vec<u8> {
    key("training-held", &[holder.0.as_bytes()])
}

pub(crate) fn courses_in(state: &BlockState<'_>, org: &OrgId) -> Result<Vec<Course>, StateError> {
    Ok(state.get(&courses_key(org))?.unwrap_or_default())
}

pub(crate) fn put_courses(state: &mut BlockState<'_>, org: &OrgId, courses: &Vec<Course>) {
    state.put(courses_key(org), courses);
}

pub(crate) fn policy_in(state: &BlockState<'_>, org: &OrgId) -> Result<TrainingPolicy, StateError> {
    Ok(state.get(&policy_key(org))?.unwrap_or_default())
}

pub(crate) fn put_policy(state: &mut BlockState<'_>, org: &OrgId, policy: &TrainingPolicy) {
    state.put(policy_key(org), policy);
}

pub(crate) fn credential_in(
    state: &BlockState<'_>,
    holder: &IdentityId,
    course: &str,
) -> Result<Option<Credential>, StateError> {
    state.get(&credential_key(holder, course))
}

pub(crate) fn held_in(state: &BlockState<'_>, holder: &IdentityId) -> Result<Vec<String>, StateError> {
    Ok(state.get(&held_key(holder))?.unwrap_or_default())
}

pub(crate) fn put_credential(state: &mut BlockState<'_>, credential: &Credential, held: &Vec<String>) {
    state.put(credential_key(&credential.holder, &credential.course), credential);
    state.put(held_key(&credential.holder), held);
}

/// An organisation's training catalogue, from committed state.
pub fn courses<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<Vec<Course>, StateError> {
    Ok(read(store, &courses_key(org))?.unwrap_or_default())
}

/// An organisation's training policy (empty if it set none), from committed state.
pub fn policy<S: Store + ?Sized>(store: &S, org: &OrgId) -> Result<TrainingPolicy, StateError> {
    Ok(read(store, &policy_key(org))?.unwrap_or_default())
}

/// A holder's credential for a course, from committed state.
pub fn credential<S: Store + ?Sized>(
    store: &S,
    holder: &IdentityId,
    course: &str,
) -> Result<Option<Credential>, StateError> {
    read(store, &credential_key(holder, course))
}

/// Every credential a holder has (one per course: the latest), from committed state.
pub fn credentials<S: Store + ?Sized>(store: &S, holder: &IdentityId) -> Result<Vec<Credential>, StateError> {
    let courses: Vec<String> = read(store, &held_key(holder))?.unwrap_or_default();
    let mut out = Vec::with_capacity(courses.len());
    for course in courses {
        if let Some(found) = credential(store, holder, &course)? {
            out.push(found);
        }
    }
    Ok(out)
}
