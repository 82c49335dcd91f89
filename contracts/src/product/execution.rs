use panacea_primitives::{Hash, Timestamp};

use super::errors::ProductError;
use super::messages::{
    ATTESTATION_MS_MAX, DEVICES_PER_FIRMWARE_MAX, PRODUCT_TEXT_BYTES_MAX, Product, ProductAttestation, ProductCall,
    Revocation, SBOM_COMPONENTS_MAX, STANDARD_CLAIMS_MAX, Sbom,
};
use super::state::{add_device, device_count, devices_in, get_product, list_product, put_product};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditKind, new_event};
use crate::codes::StaffRole;
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::state::{get_identity, put_identity};
use crate::identity::{IdentityStatus, Principal};
use crate::ids::{IdentityId, OrgId};
use crate::state::BlockState;

fn check_text(value: &str, field: &str) -> Result<(), ProductError> {
    if value.is_empty() || value.len() > PRODUCT_TEXT_BYTES_MAX || value.chars().any(char::is_control) {
        return Err(ProductError::Invalid(format!(
            "{field} must be 1 to {PRODUCT_TEXT_BYTES_MAX} bytes without control characters"
        )));
    }
    Ok(())
}

fn check_sbom(sbom: &Sbom) -> Result<(), ProductError> {
    if sbom.components.len() > SBOM_COMPONENTS_MAX {
        return Err(ProductError::Invalid(format!("at most {SBOM_COMPONENTS_MAX} SBOM components")));
    }
    for component in &sbom.components {
        check_text(&component.name, "a component's name")?;
        check_text(&component.version, "a component's version")?;
        if let Some(purl) = &component.purl {
            check_text(purl, "a component's purl")?;
        }
    }
    // Sorted and unique: one encoding per SBOM, and lookups by binary search.
    if !sbom.components.windows(2).all(|w| w[0] < w[1]) {
        return Err(ProductError::Invalid("SBOM components must be sorted and unique".into()));
    }
    Ok(())
}

/// The organisation an assessor acts for.
fn assessor(who: &Principal) -> Result<(IdentityId, OrgId), ProductError> {
    match who {
        Principal::Member { identity } if identity.kind.role() == Some(StaffRole::Assessor) => {
            Ok((identity.id, identity.org.clone()))
        }
        _ => Err(ProductError::NotAssessor),
    }
}

fn entity(product: Hash) -> AuditEntity {
    AuditEntity { record: Some(product), ..AuditEntity::default() }
}

/// The product gate of device identities: a device on firmware `firmware` with SBOM
/// `sbom` may be registered or reactivated at `at` only if the product is attested, in
/// force and names that SBOM.
pub(crate) fn device_gate(
    state: &BlockState<'_>,
    firmware: &Hash,
    sbom: &Hash,
    at: Timestamp,
) -> Result<(), ExecError> {
    let Some(product) = get_product(state, firmware)? else {
        return Err(ProductError::DeviceNotAttested(*firmware).into());
    };
    if !product.in_force(at) {
        return Err(ProductError::DeviceNotAttested(*firmware).into());
    }
    if product.sbom.hash != *sbom {
        return Err(ProductError::SbomMismatch(*firmware).into());
    }
    Ok(())
}

/// Records a newly registered device in its firmware's index (checked by
/// [`device_gate`] before), so that a revocation finds it.
pub(crate) fn record_device(state: &mut BlockState<'_>, firmware: &Hash, device: IdentityId) -> Result<(), ExecError> {
    if device_count(state, firmware)? >= DEVICES_PER_FIRMWARE_MAX as u64 {
        return Err(ProductError::TooManyDevices(*firmware).into());
    }
    add_device(state, firmware, device)?;
    Ok(())
}

/// Executes a product call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: ProductCall,
) -> Result<(), ExecError> {
    match call {
        ProductCall::Register { manufacturer, model, firmware_version, firmware_hash, sbom, claims } => {
            let org = match who {
                Principal::Admin { org, .. } => org.clone(),
                Principal::Member { identity } if identity.kind.role() == Some(StaffRole::SecurityOfficer) => {
                    identity.org.clone()
                }
                _ => return Err(ProductError::NotRegistrar.into()),
            };
            check_text(&manufacturer, "manufacturer")?;
            check_text(&model, "model")?;
            check_text(&firmware_version, "firmware_version")?;
            check_sbom(&sbom)?;
            if claims.is_empty() || claims.len() > STANDARD_CLAIMS_MAX {
                return Err(ProductError::Invalid(format!("1 to {STANDARD_CLAIMS_MAX} standards claimed")).into());
            }
            for claim in &claims {
                check_text(&claim.standard, "a standard")?;
            }
            let mut names: Vec<&str> = claims.iter().map(|c| c.standard.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            if names.len() != claims.len() {
                return Err(ProductError::Invalid("a standard is claimed twice".into()).into());
            }
            if get_product(state, &firmware_hash)?.is_some() {
                return Err(ProductError::Exists(firmware_hash).into());
            }
            let product = Product {
                firmware_hash,
                manufacturer,
                model,
                firmware_version,
                sbom,
                claims,
                registered_by: org,
                registered_at: ctx.block.time,
                attestation: None,
                revoked: None,
            };
            put_product(state, &product);
            list_product(state, firmware_hash)?;
            state.emit(new_event(
                ctx,
                AuditKind::ProductRegistered,
                AuditAction::Create,
                vec![who.agent()],
                entity(firmware_hash),
                None,
            ));
            Ok(())
        }
        ProductCall::Attest { product, standards, report, expires } => {
            let (assessor, assessor_org) = assessor(who)?;
            let mut found = get_product(state, &product)?.ok_or(ProductError::Unknown(product))?;
            if found.revoked.is_some() {
                return Err(ProductError::Revoked(product).into());
            }
            if found.registered_by == assessor_org {
                return Err(ProductError::OwnProduct(assessor_org).into());
            }
            if standards.is_empty() || standards.len() > STANDARD_CLAIMS_MAX {
                return Err(ProductError::Invalid(format!("1 to {STANDARD_CLAIMS_MAX} standards attested")).into());
            }
            let mut sorted = standards.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() != standards.len() {
                return Err(ProductError::Invalid("a standard is attested twice".into()).into());
            }
            if let Some(unclaimed) = standards.iter().find(|s| !found.claims.iter().any(|c| &c.standard == *s)) {
                return Err(ProductError::Invalid(format!("the product does not claim {unclaimed}")).into());
            }
            if expires <= ctx.block.time || expires.as_millis() - ctx.block.time.as_millis() > ATTESTATION_MS_MAX {
                return Err(ProductError::Invalid(
                    "an attestation expires after this block and within five years".into(),
                )
                .into());
            }
            found.attestation = Some(ProductAttestation {
                assessor,
                assessor_org: assessor_org.clone(),
                standards,
                report,
                attested_at: ctx.block.time,
                expires,
            });
            let registrant = found.registered_by.clone();
            put_product(state, &found);
            let mut entity = entity(product);
            entity.attachment = Some(crate::ids::DocumentHash(report));
            state.emit(new_event(
                ctx,
                AuditKind::ProductAttested,
                AuditAction::Update,
                vec![who.agent(), org_agent(registrant)],
                entity,
                None,
            ));
            Ok(())
        }
        ProductCall::Revoke { product, reason, record } => {
            let mut found = get_product(state, &product)?.ok_or(ProductError::Unknown(product))?;
            let by = match who {
                Principal::Admin { org, .. } if *org == found.registered_by => org.clone(),
                Principal::Member { identity } if identity.kind.role() == Some(StaffRole::Assessor) => {
                    identity.org.clone()
                }
                _ => return Err(ProductError::NotRevoker(found.registered_by).into()),
            };
            if found.revoked.is_some() {
                return Err(ProductError::Revoked(product).into());
            }
            if found.attestation.is_none() {
                return Err(ProductError::NotAttested(product).into());
            }
            found.revoked = Some(Revocation { reason, record, by, at: ctx.block.time });
            put_product(state, &found);
            let mut revoked = entity(product);
            revoked.attachment = Some(crate::ids::DocumentHash(record));
            state.emit(new_event(
                ctx,
                AuditKind::ProductRevoked,
                AuditAction::Update,
                vec![who.agent(), org_agent(found.registered_by.clone())],
                revoked,
                None,
            ));
            suspend_devices(state, ctx, who, &product)?;
            Ok(())
        }
    }
}

fn org_agent(org: OrgId) -> AuditAgent {
    AuditAgent { identity: None, key: None, org: Some(org), role: None, requestor: false }
}

/// Suspends, from the next block, every device on firmware `product` that would be active
/// then; one `IdentitySuspended` event each, naming the product.
fn suspend_devices(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    product: &Hash,
) -> Result<(), ExecError> {
    let next = ctx.block.height.next();
    for device in devices_in(state, product)? {
        let Some(mut identity) = get_identity(state, &device)? else { continue };
        if identity.status_at(next) != IdentityStatus::Active {
            continue;
        }
        identity.previous = identity.status_at(ctx.block.height);
        identity.status = IdentityStatus::Suspended;
        identity.effective = next;
        put_identity(state, &identity);
        let subject = AuditAgent {
            identity: Some(identity.id),
            key: Some(identity.key),
            org: Some(identity.org.clone()),
            role: None,
            requestor: false,
        };
        let entity = AuditEntity { identity: Some(identity.id), record: Some(*product), ..AuditEntity::default() };
        state.emit(new_event(
            ctx,
            AuditKind::IdentitySuspended,
            AuditAction::Update,
            vec![who.agent(), subject],
            entity,
            None,
        ));
    }
    Ok(())
}
