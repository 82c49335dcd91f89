use panacea_primitives::PublicKey;

use super::errors::IdentityError;
use super::messages::{DEVICE_TEXT_BYTES_MAX, Identity, IdentityCall, IdentityKind, IdentityStatus};
use super::state::{get_identity, put_identity};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditKind, new_event};
use crate::context::TxContext;
use crate::error::{ErrorCode, ExecError, fail};
use crate::ids::{IdentityId, OrgId, PatientRef};
use crate::membership::{KeyOwner, OrgStatus, key_used, owner_key, put_key_owner, retire_key};
use crate::state::BlockState;

/// Who signed a transaction, resolved against state at the block's height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Principal {
    /// An administrator of an active organisation.
    Admin { org: OrgId, key: PublicKey },
    /// An active identity of an active organisation.
    Member { identity: Identity },
    /// A patient through a bound key.
    Patient { patient: PatientRef, key: PublicKey },
}

impl Principal {
    /// The audit agent for this principal, as the requestor.
    pub(crate) fn agent(&self) -> AuditAgent {
        match self {
            Principal::Admin { org, key } => {
                AuditAgent { identity: None, key: Some(*key), org: Some(org.clone()), role: None, requestor: true }
            }
            Principal::Member { identity } => AuditAgent {
                identity: Some(identity.id),
                key: Some(identity.key),
                org: Some(identity.org.clone()),
                role: identity.kind.role(),
                requestor: true,
            },
            Principal::Patient { key, .. } => {
                AuditAgent { identity: None, key: Some(*key), org: None, role: None, requestor: true }
            }
        }
    }
}

/// Resolves the signer: unknown keys, inactive identities and identities of inactive
/// organisations cannot act.
pub(crate) fn principal(state: &BlockState<'_>, ctx: &TxContext) -> Result<Principal, ExecError> {
    let Some(owner) = state.get::<KeyOwner>(&owner_key(&ctx.signer))? else {
        return fail(ErrorCode::UnknownSigner, "the signing key is not registered on this chain");
    };
    let active_org = |org: &OrgId| -> Result<(), ExecError> {
        match crate::membership::organisation_in(state, org)? {
            Some(o) if o.status == OrgStatus::Active => Ok(()),
            _ => Err(IdentityError::OrgInactive(org.clone()).into()),
        }
    };
    match owner {
        KeyOwner::Admin(org) => {
            active_org(&org)?;
            Ok(Principal::Admin { org, key: ctx.signer })
        }
        KeyOwner::Identity(id) => {
            let Some(identity) = get_identity(state, &id)? else { return Err(IdentityError::Unknown(id).into()) };
            if identity.key != ctx.signer {
                return fail(ErrorCode::Unauthorized, "this key was rotated out; sign with the identity's current key");
            }
            if identity.status_at(ctx.block.height) != IdentityStatus::Active {
                return fail(ErrorCode::Unauthorized, format!("identity {id} is not active"));
            }
            active_org(&identity.org)?;
            Ok(Principal::Member { identity })
        }
        KeyOwner::Patient(patient) => {
            // Only a binding in force acts: the rule the API's reads follow too.
            if crate::consent::bound_patient_in(state, &ctx.signer)? != Some(patient) {
                return fail(
                    ErrorCode::Unauthorized,
                    "this patient key is not bound in force; ask a custodian to bind a new key",
                );
            }
            Ok(Principal::Patient { patient, key: ctx.signer })
        }
    }
}

fn check_text(value: &str, field: &'static str) -> Result<(), IdentityError> {
    if value.is_empty() || value.len() > DEVICE_TEXT_BYTES_MAX { Err(IdentityError::BadText(field)) } else { Ok(()) }
}

fn check_kind(kind: &IdentityKind) -> Result<(), IdentityError> {
    match kind {
        IdentityKind::Staff { .. } => Ok(()),
        IdentityKind::Device { device_type, manufacturer, model, .. } => {
            check_text(device_type, "device_type")?;
            check_text(manufacturer, "manufacturer")?;
            check_text(model, "model")
        }
        IdentityKind::Service { name } => check_text(name, "name"),
    }
}

/// Loads an identity of the admin's own organisation.
fn own_identity(state: &BlockState<'_>, admin_org: &OrgId, id: IdentityId) -> Result<Identity, ExecError> {
    let Some(identity) = get_identity(state, &id)? else { return Err(IdentityError::Unknown(id).into()) };
    if &identity.org != admin_org {
        // Same answer as for an identity of one's own organisation one may not manage.
        return Err(IdentityError::NotAdmin(identity.org).into());
    }
    Ok(identity)
}

/// Executes an identity call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: IdentityCall,
) -> Result<(), ExecError> {
    let next_height = ctx.block.height.next();
    let (kind, identity) = match (who, call) {
        (Principal::Admin { org, .. }, IdentityCall::Register { key, kind }) => {
            check_kind(&kind)?;
            if key_used(state, &key)? {
                return Err(IdentityError::KeyInUse.into());
            }
            let id = Identity::id_for(org, &key);
            // The id is the hash of the organisation and the first key: an identity whose
            // first key was rotated out must not be registered over, revoked or not.
            if get_identity(state, &id)?.is_some() {
                return Err(IdentityError::Exists(id).into());
            }
            let identity = Identity {
                id,
                org: org.clone(),
                kind,
                key,
                status: IdentityStatus::Active,
                effective: ctx.block.height,
                previous: IdentityStatus::Active,
                registered_at: ctx.block.time,
            };
            // Security by design: a device runs a firmware build with an attestation in force.
            if let IdentityKind::Device { firmware_hash, sbom_hash, .. } = &identity.kind {
                crate::product::device_gate(state, firmware_hash, sbom_hash, ctx.block.time)?;
                crate::product::record_device(state, firmware_hash, identity.id)?;
            }
            put_key_owner(state, &key, &KeyOwner::Identity(identity.id));
            (AuditKind::IdentityRegistered, identity)
        }
        (Principal::Admin { org, .. }, IdentityCall::Suspend { identity }) => {
            let status = IdentityStatus::Suspended;
            let identity = change_status(own_identity(state, org, identity)?, status, ctx)?;
            (AuditKind::IdentitySuspended, identity)
        }
        (Principal::Admin { org, .. }, IdentityCall::Reactivate { identity }) => {
            let identity = own_identity(state, org, identity)?;
            if let IdentityKind::Device { firmware_hash, sbom_hash, .. } = &identity.kind {
                crate::product::device_gate(state, firmware_hash, sbom_hash, ctx.block.time)?;
            }
            let identity = change_status(identity, IdentityStatus::Active, ctx)?;
            (AuditKind::IdentityReactivated, identity)
        }
        (Principal::Admin { org, .. }, IdentityCall::Revoke { identity }) => {
            let identity = change_status(own_identity(state, org, identity)?, IdentityStatus::Revoked, ctx)?;
            (AuditKind::IdentityRevoked, identity)
        }
        (who, IdentityCall::RotateKey { identity, new_key }) => {
            let mut identity = match who {
                Principal::Admin { org, .. } => own_identity(state, org, identity)?,
                Principal::Member { identity: me } if me.id == identity => me.clone(),
                _ => {
                    return fail(
                        ErrorCode::Unauthorized,
                        "only the identity or an admin of its organisation may rotate its key",
                    );
                }
            };
            if identity.status_at(next_height) == IdentityStatus::Revoked {
                return Err(IdentityError::Revoked(identity.id).into());
            }
            if key_used(state, &new_key)? {
                return Err(IdentityError::KeyInUse.into());
            }
            retire_key(state, &identity.key, &KeyOwner::Identity(identity.id));
            put_key_owner(state, &new_key, &KeyOwner::Identity(identity.id));
            identity.key = new_key;
            (AuditKind::IdentityKeyRotated, identity)
        }
        (_, _) => return fail(ErrorCode::Unauthorized, "identities are managed by their organisation's admins"),
    };
    put_identity(state, &identity);
    let action = if kind == AuditKind::IdentityRegistered { AuditAction::Create } else { AuditAction::Update };
    let entity = AuditEntity { identity: Some(identity.id), ..AuditEntity::default() };
    let subject = AuditAgent {
        identity: Some(identity.id),
        key: Some(identity.key),
        org: Some(identity.org.clone()),
        role: identity.kind.role(),
        requestor: false,
    };
    state.emit(new_event(ctx, kind, action, vec![who.agent(), subject], entity, None));
    Ok(())
}

/// A status change from the next block; revoked is final.
fn change_status(mut identity: Identity, status: IdentityStatus, ctx: &TxContext) -> Result<Identity, ExecError> {
    let next = ctx.block.height.next();
    let current = identity.status_at(next);
    if current == IdentityStatus::Revoked {
        return Err(IdentityError::Revoked(identity.id).into());
    }
    if current == status {
        return Err(IdentityError::SameStatus(identity.id).into());
    }
    identity.previous = identity.status_at(ctx.block.height);
    identity.status = status;
    identity.effective = next;
    Ok(identity)
}
