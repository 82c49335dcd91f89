use panacea_primitives::Timestamp;

use super::errors::TrainingError;
use super::messages::{
    COURSE_ID_BYTES_MAX, COURSE_TITLE_BYTES_MAX, COURSES_MAX, CREDENTIALS_PER_HOLDER_MAX, Course, Credential,
    GuardedAction, ISSUERS_MAX, REQUIREMENTS_MAX, TrainingCall,
};
use super::state::{courses_in, credential_in, held_in, policy_in, put_courses, put_credential, put_policy};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditKind, new_event};
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::state::get_identity;
use crate::identity::{Identity, IdentityKind, IdentityStatus, Principal};
use crate::ids::OrgId;
use crate::state::{BlockState, StateError};

fn check_course_id(id: &str) -> Result<(), TrainingError> {
    let fine = !id.is_empty()
        && id.len() <= COURSE_ID_BYTES_MAX
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if fine {
        Ok(())
    } else {
        Err(TrainingError::Invalid(format!(
            "a course id is 1 to {COURSE_ID_BYTES_MAX} letters, digits, '-', '_' or '.'"
        )))
    }
}

fn admin(who: &Principal) -> Result<OrgId, TrainingError> {
    match who {
        Principal::Admin { org, .. } => Ok(org.clone()),
        _ => Err(TrainingError::AdminOnly),
    }
}

fn holder_agent(holder: &Identity) -> AuditAgent {
    AuditAgent {
        identity: Some(holder.id),
        key: Some(holder.key),
        org: Some(holder.org.clone()),
        role: holder.kind.role(),
        requestor: false,
    }
}

/// The first course the organisation's policy requires of `identity` for any of
/// `actions` that it holds no current credential for, at `at`. Only staff are held to
/// training: devices and services do not take courses.
pub(crate) fn missing_training(
    state: &BlockState<'_>,
    identity: &Identity,
    actions: &[GuardedAction],
    at: Timestamp,
) -> Result<Option<String>, StateError> {
    if !matches!(identity.kind, IdentityKind::Staff { .. }) {
        return Ok(None);
    }
    let policy = policy_in(state, &identity.org)?;
    if policy.requirements.is_empty() {
        return Ok(None);
    }
    let courses = courses_in(state, &identity.org)?;
    for requirement in policy.requirements.iter().filter(|r| actions.contains(&r.action)) {
        let minimum = courses.iter().find(|c| c.id == requirement.course).map_or(1, |c| c.minimum_version);
        let current = credential_in(state, &identity.id, &requirement.course)?.is_some_and(|c| c.current(at, minimum));
        if !current {
            return Ok(Some(requirement.course.clone()));
        }
    }
    Ok(None)
}

/// Executes a training call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: TrainingCall,
) -> Result<(), ExecError> {
    match call {
        TrainingCall::DefineCourse { course, title, version, minimum_version, validity_days } => {
            let org = admin(who)?;
            check_course_id(&course)?;
            if title.is_empty() || title.len() > COURSE_TITLE_BYTES_MAX || title.chars().any(char::is_control) {
                return Err(TrainingError::Invalid(format!(
                    "a course title is 1 to {COURSE_TITLE_BYTES_MAX} bytes without control characters"
                ))
                .into());
            }
            if version == 0 || minimum_version == 0 || minimum_version > version {
                return Err(TrainingError::Invalid(
                    "versions start at 1, and the minimum is at most the version".into(),
                )
                .into());
            }
            if validity_days == 0 || validity_days > super::messages::VALIDITY_DAYS_MAX {
                return Err(TrainingError::Invalid(format!(
                    "a course is valid 1 to {} days",
                    super::messages::VALIDITY_DAYS_MAX
                ))
                .into());
            }
            let mut courses = courses_in(state, &org)?;
            let defined = Course {
                id: course.clone(),
                title,
                version,
                minimum_version,
                validity_days,
                changed_at: ctx.block.time,
            };
            match courses.iter_mut().find(|c| c.id == course) {
                Some(existing) => {
                    if version < existing.version || minimum_version < existing.minimum_version {
                        return Err(TrainingError::Invalid(format!(
                            "course {course} is at version {} (minimum {}): versions never go down",
                            existing.version, existing.minimum_version
                        ))
                        .into());
                    }
                    *existing = defined;
                }
                None => {
                    if courses.len() >= COURSES_MAX {
                        return Err(TrainingError::Invalid(format!("at most {COURSES_MAX} courses")).into());
                    }
                    courses.push(defined);
                }
            }
            put_courses(state, &org, &courses);
            state.emit(new_event(
                ctx,
                AuditKind::CourseDefined,
                AuditAction::Update,
                vec![who.agent()],
                AuditEntity::default(),
                None,
            ));
            Ok(())
        }
        TrainingCall::SetPolicy { policy } => {
            let org = admin(who)?;
            if policy.issuers.len() > ISSUERS_MAX || policy.requirements.len() > REQUIREMENTS_MAX {
                return Err(TrainingError::Invalid(format!(
                    "at most {ISSUERS_MAX} issuers and {REQUIREMENTS_MAX} requirements"
                ))
                .into());
            }
            let mut issuers = policy.issuers.clone();
            issuers.sort();
            issuers.dedup();
            if issuers.len() != policy.issuers.len() {
                return Err(TrainingError::Invalid("an issuer is named twice".into()).into());
            }
            for issuer in &policy.issuers {
                let service = get_identity(state, issuer)?
                    .is_some_and(|i| i.org == org && matches!(i.kind, IdentityKind::Service { .. }));
                if !service {
                    return Err(
                        TrainingError::Invalid(format!("issuer {issuer} is not a service identity of {org}")).into()
                    );
                }
            }
            let courses = courses_in(state, &org)?;
            for (i, requirement) in policy.requirements.iter().enumerate() {
                if !courses.iter().any(|c| c.id == requirement.course) {
                    return Err(TrainingError::UnknownCourse(requirement.course.clone()).into());
                }
                if policy.requirements[..i].contains(requirement) {
                    return Err(TrainingError::Invalid("a requirement is given twice".into()).into());
                }
            }
            put_policy(state, &org, &policy);
            state.emit(new_event(
                ctx,
                AuditKind::TrainingPolicyChanged,
                AuditAction::Update,
                vec![who.agent()],
                AuditEntity::default(),
                None,
            ));
            Ok(())
        }
        TrainingCall::Issue { holder, course, version, completed } => {
            let Principal::Member { identity: issuer } = who else { return Err(TrainingError::NotIssuer.into()) };
            let org = issuer.org.clone();
            if !policy_in(state, &org)?.issuers.contains(&issuer.id) {
                return Err(TrainingError::NotIssuer.into());
            }
            let courses = courses_in(state, &org)?;
            let found =
                courses.iter().find(|c| c.id == course).ok_or_else(|| TrainingError::UnknownCourse(course.clone()))?;
            if version == 0 || version > found.version {
                return Err(
                    TrainingError::Invalid(format!("course {course} has versions 1 to {}", found.version)).into()
                );
            }
            let Some(person) = get_identity(state, &holder)? else { return Err(TrainingError::NotOwnStaff.into()) };
            let staff = person.org == org
                && matches!(person.kind, IdentityKind::Staff { .. })
                && person.status_at(ctx.block.height) != IdentityStatus::Revoked;
            if !staff {
                return Err(TrainingError::NotOwnStaff.into());
            }
            let expires = completed.plus_millis(found.validity_ms());
            if completed > ctx.block.time || expires <= ctx.block.time {
                return Err(TrainingError::Invalid(
                    "a completion is dated at most at this block, and not so long ago that it has expired".into(),
                )
                .into());
            }
            let mut held = held_in(state, &holder)?;
            if !held.contains(&course) {
                if held.len() >= CREDENTIALS_PER_HOLDER_MAX {
                    return Err(TrainingError::Invalid(format!(
                        "an identity holds credentials for at most {CREDENTIALS_PER_HOLDER_MAX} courses"
                    ))
                    .into());
                }
                held.push(course.clone());
            }
            let credential = Credential {
                id: Credential::id_for(&holder, &course, version, completed),
                holder,
                org,
                course,
                version,
                completed,
                expires,
                issuer: issuer.id,
                issued_at: ctx.block.time,
                revoked_at: None,
            };
            put_credential(state, &credential, &held);
            let entity = AuditEntity { identity: Some(holder), record: Some(credential.id), ..AuditEntity::default() };
            state.emit(new_event(
                ctx,
                AuditKind::TrainingIssued,
                AuditAction::Create,
                vec![who.agent(), holder_agent(&person)],
                entity,
                None,
            ));
            Ok(())
        }
        TrainingCall::Revoke { holder, course } => {
            let mut credential =
                credential_in(state, &holder, &course)?.ok_or_else(|| TrainingError::NoCredential(course.clone()))?;
            let allowed = match who {
                Principal::Admin { org, .. } => *org == credential.org,
                Principal::Member { identity } => {
                    identity.org == credential.org && policy_in(state, &identity.org)?.issuers.contains(&identity.id)
                }
                Principal::Patient { .. } => false,
            };
            if !allowed {
                return Err(TrainingError::NotIssuer.into());
            }
            if credential.revoked_at.is_some() {
                return Err(TrainingError::NoCredential(course).into());
            }
            credential.revoked_at = Some(ctx.block.time);
            let held = held_in(state, &holder)?;
            put_credential(state, &credential, &held);
            let mut agents = vec![who.agent()];
            if let Some(person) = get_identity(state, &holder)? {
                agents.push(holder_agent(&person));
            }
            let entity = AuditEntity { identity: Some(holder), record: Some(credential.id), ..AuditEntity::default() };
            state.emit(new_event(ctx, AuditKind::TrainingRevoked, AuditAction::Update, agents, entity, None));
            Ok(())
        }
    }
}
