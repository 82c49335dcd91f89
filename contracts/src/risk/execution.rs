use super::errors::RiskError;
use super::messages::{
    ASSESSMENTS_LISTED_MAX, ATTESTATIONS_MAX, Assessment, Attestation, HIGH_DEVICES_MAX, QUARANTINED_MAX, Quarantine,
    RISK_INPUTS_MAX, RISK_TABLE_MAX, RiskCall, RiskParameters, SERVICE_LEVEL_BYTES_MAX,
};
use super::state::{
    get_assessment, get_quarantine, listed_in, put_assessment, put_listed, put_parameters, put_quarantined,
    quarantine_key, quarantined_in,
};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditKind, new_event};
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::state::get_identity;
use crate::identity::{IdentityKind, Principal};
use crate::ids::{DocumentHash, IdentityId, OrgId};
use crate::state::BlockState;

/// The organisation a risk service acts for: its admin, or one of its service identities.
fn risk_service(who: &Principal) -> Result<OrgId, RiskError> {
    match who {
        Principal::Admin { org, .. } => Ok(org.clone()),
        Principal::Member { identity } if matches!(identity.kind, IdentityKind::Service { .. }) => {
            Ok(identity.org.clone())
        }
        _ => Err(RiskError::NotARiskService),
    }
}

fn admin_of(who: &Principal, org: &OrgId) -> Result<(), RiskError> {
    match who {
        Principal::Admin { org: own, .. } if own == org => Ok(()),
        _ => Err(RiskError::NotAdmin(org.clone())),
    }
}

fn org_agent(org: OrgId) -> AuditAgent {
    AuditAgent { identity: None, key: None, org: Some(org), role: None, requestor: false }
}

fn validate(call_table: &[super::messages::RiskRow], inputs: usize, devices: &[IdentityId]) -> Result<(), RiskError> {
    if call_table.len() > RISK_TABLE_MAX || inputs > RISK_INPUTS_MAX || devices.len() > HIGH_DEVICES_MAX {
        return Err(RiskError::Invalid(format!(
            "at most {RISK_TABLE_MAX} rows, {RISK_INPUTS_MAX} inputs and {HIGH_DEVICES_MAX} high-risk devices"
        )));
    }
    for row in call_table {
        let id = &row.service_level;
        let fine = !id.is_empty()
            && id.len() <= SERVICE_LEVEL_BYTES_MAX
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if !fine {
            return Err(RiskError::Invalid(format!(
                "a service level id is 1 to {SERVICE_LEVEL_BYTES_MAX} letters, digits, '-', '_', '.' or ':'"
            )));
        }
    }
    let mut sorted = devices.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != devices.len() {
        return Err(RiskError::Invalid("a device is listed twice".into()));
    }
    Ok(())
}

pub(crate) fn check_parameters(parameters: &RiskParameters) -> Result<(), RiskError> {
    let mut profiles: Vec<_> = parameters.attackers.iter().map(|(p, _)| *p).collect();
    profiles.sort();
    profiles.dedup();
    if profiles.len() != parameters.attackers.len() {
        return Err(RiskError::Invalid("an attacker profile is given twice".into()));
    }
    if parameters.attackers.iter().any(|(_, t)| t.iter().any(|v| *v > 1_000)) {
        return Err(RiskError::Invalid("a metric threshold is a score in [0, 1]: at most 1000 thousandths".into()));
    }
    let ordered = |[low, medium, high]: [u64; 3]| low <= medium && medium <= high;
    if !ordered(parameters.impact_thresholds) || !ordered(parameters.likelihood_thresholds) {
        return Err(RiskError::Invalid("thresholds go low, medium, high, each at least the one before".into()));
    }
    Ok(())
}

/// Executes a risk call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: RiskCall,
) -> Result<(), ExecError> {
    match call {
        RiskCall::Submit { inputs, output, table, high_devices, observed_until } => {
            let org = risk_service(who)?;
            validate(&table, inputs.len(), &high_devices)?;
            for device in &high_devices {
                let owned = get_identity(state, device)?
                    .is_some_and(|d| d.org == org && matches!(d.kind, IdentityKind::Device { .. }));
                if !owned {
                    return Err(RiskError::NotOwnDevice(*device).into());
                }
            }
            let id = ctx.tx;
            let assessment = Assessment {
                id,
                org: org.clone(),
                inputs,
                output,
                table,
                high_devices: high_devices.clone(),
                observed_until,
                submitted_at: ctx.block.time,
                attestations: Vec::new(),
            };
            put_assessment(state, &assessment);
            let mut listed = listed_in(state, &org)?;
            listed.push(id);
            if listed.len() > ASSESSMENTS_LISTED_MAX {
                listed.remove(0);
            }
            put_listed(state, &org, &listed);
            let entity = AuditEntity { attachment: Some(DocumentHash(output)), ..AuditEntity::default() };
            state.emit(new_event(ctx, AuditKind::RiskAssessed, AuditAction::Create, vec![who.agent()], entity, None));
            // Quarantine: devices found at high risk enter it (a mitigation recorded for one
            // that is still at high risk did not work: it is cleared); devices in it that
            // are no longer at high risk leave it once a mitigation was recorded.
            let mut quarantined = quarantined_in(state, &org)?;
            for device in &high_devices {
                let entry = match get_quarantine(state, device)? {
                    Some(mut q) => {
                        q.mitigation = None;
                        q
                    }
                    None => {
                        if quarantined.len() >= QUARANTINED_MAX {
                            return Err(
                                RiskError::Invalid(format!("at most {QUARANTINED_MAX} devices in quarantine")).into()
                            );
                        }
                        quarantined.push(*device);
                        let entity = AuditEntity { identity: Some(*device), ..AuditEntity::default() };
                        state.emit(new_event(
                            ctx,
                            AuditKind::DeviceQuarantined,
                            AuditAction::Update,
                            vec![who.agent(), org_agent(org.clone())],
                            entity,
                            None,
                        ));
                        Quarantine { device: *device, org: org.clone(), since: id, mitigation: None }
                    }
                };
                state.put(quarantine_key(device), &entry);
            }
            let mut kept = Vec::with_capacity(quarantined.len());
            for device in quarantined {
                let released = !high_devices.contains(&device)
                    && get_quarantine(state, &device)?.is_some_and(|q| q.mitigation.is_some());
                if released {
                    state.delete(quarantine_key(&device));
                    let entity = AuditEntity { identity: Some(device), ..AuditEntity::default() };
                    state.emit(new_event(
                        ctx,
                        AuditKind::DeviceReleased,
                        AuditAction::Update,
                        vec![who.agent(), org_agent(org.clone())],
                        entity,
                        None,
                    ));
                } else {
                    kept.push(device);
                }
            }
            put_quarantined(state, &org, &kept);
            Ok(())
        }
        RiskCall::Attest { assessment, output } => {
            let org = risk_service(who)?;
            let mut found = get_assessment(state, &assessment)?.ok_or(RiskError::UnknownAssessment)?;
            if found.org == org {
                return Err(RiskError::OwnAssessment.into());
            }
            if found.output != output {
                return Err(RiskError::OutputMismatch.into());
            }
            if found.attestations.iter().any(|a| a.org == org) {
                return Err(RiskError::AlreadyAttested(org).into());
            }
            if found.attestations.len() >= ATTESTATIONS_MAX {
                return Err(RiskError::Invalid(format!("at most {ATTESTATIONS_MAX} attestations")).into());
            }
            found.attestations.push(Attestation { org: org.clone(), at: ctx.block.time });
            let assessed = found.org.clone();
            put_assessment(state, &found);
            let entity = AuditEntity { attachment: Some(DocumentHash(output)), ..AuditEntity::default() };
            state.emit(new_event(
                ctx,
                AuditKind::RiskAttested,
                AuditAction::Create,
                vec![who.agent(), org_agent(assessed)],
                entity,
                None,
            ));
            Ok(())
        }
        RiskCall::SetParameters { parameters } => {
            let Principal::Admin { org, .. } = who else { return Err(RiskError::AdminOnly.into()) };
            check_parameters(&parameters)?;
            let org = org.clone();
            put_parameters(state, &org, &parameters);
            state.emit(new_event(
                ctx,
                AuditKind::RiskParametersChanged,
                AuditAction::Update,
                vec![who.agent()],
                AuditEntity::default(),
                None,
            ));
            Ok(())
        }
        RiskCall::Mitigate { device, record } => {
            let mut quarantine = get_quarantine(state, &device)?.ok_or(RiskError::NotQuarantined(device))?;
            admin_of(who, &quarantine.org)?;
            quarantine.mitigation = Some((record, ctx.block.time));
            state.put(quarantine_key(&device), &quarantine);
            let entity = AuditEntity { identity: Some(device), attachment: Some(record), ..AuditEntity::default() };
            state.emit(new_event(
                ctx,
                AuditKind::DeviceMitigated,
                AuditAction::Update,
                vec![who.agent()],
                entity,
                None,
            ));
            Ok(())
        }
    }
}
