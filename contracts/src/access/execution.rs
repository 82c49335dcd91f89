use super::decision::{Decision, DenyReason, Request, decide};
use super::errors::AccessError;
use super::messages::{AccessCall, AccessDecision, DecisionOutcome, Review, ReviewStatus};
use super::state::{get_decision, get_review, put_decision, put_review};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditKind, AuditOutcome, new_event_with_outcome};
use crate::codes::{ConsentAction, Purpose, StaffRole};
use crate::consent::current_consents;
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::{IdentityKind, Principal};
use crate::ids::DecisionId;
use crate::membership::{OrgStatus, organisation_in};
use crate::state::BlockState;
use crate::training::{GuardedAction, missing_training};

/// Executes an access call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: AccessCall,
) -> Result<(), ExecError> {
    match call {
        AccessCall::Request {
            patient,
            data_class,
            resource_type,
            purpose,
            custodian,
            document,
            data_time,
            justification,
        } => {
            let Principal::Member { identity } = who else { return Err(AccessError::NotAnIdentity.into()) };
            // A service identity (a node's sharing identity among them) never asks for
            // patient data: a stolen service key must not pull documents sealed to it.
            if let IdentityKind::Service { .. } = &identity.kind {
                return Err(AccessError::ServiceIdentity.into());
            }
            match organisation_in(state, &custodian)? {
                Some(org) if org.status == OrgStatus::Active => {}
                _ => return Err(AccessError::UnknownCustodian(custodian).into()),
            }
            if let Some(kind) = resource_type
                && !kind.may_hold(data_class)
            {
                return Err(AccessError::ResourceTypeClass(kind, data_class).into());
            }
            let break_glass = justification.is_some();
            if break_glass && purpose != Purpose::EmergencyTreatment {
                return Err(AccessError::JustificationWithoutEmergency.into());
            }
            if break_glass && !matches!(identity.kind.role(), Some(StaffRole::Physician | StaffRole::Nurse)) {
                return Err(AccessError::NotAClinician.into());
            }
            let request = Request {
                requester: identity.id,
                requester_org: identity.org.clone(),
                requester_role: identity.kind.role(),
                action: ConsentAction::Access,
                purpose,
                data_class,
                resource_type,
                custodian: custodian.clone(),
                data_time,
                at: ctx.block.time,
            };
            let consents = current_consents(state, &patient)?;
            // A device in risk quarantine is refused whatever the consents say.
            let quarantined = matches!(identity.kind, IdentityKind::Device { .. })
                && crate::risk::state::get_quarantine(state, &identity.id)?.is_some();
            // The organisation's training policy: a staff member without a current
            // credential the policy requires for this request is refused, whatever the
            // consents say; break-glass may need one more (checked where it would apply).
            let mut guarded = vec![GuardedAction::AccessRequest];
            if purpose == Purpose::Research {
                guarded.push(GuardedAction::ResearchAccess);
            }
            let mut missing_training = missing_training(state, identity, &guarded, ctx.block.time)?;
            let decision = if quarantined {
                Decision::Deny { reason: DenyReason::DeviceQuarantined, consents: Vec::new() }
            } else if missing_training.is_some() {
                Decision::Deny { reason: DenyReason::TrainingMissing, consents: Vec::new() }
            } else {
                decide(&consents, &request)
            };
            let consent_denied = matches!(
                decision,
                Decision::Deny { reason: DenyReason::NoApplicableConsent | DenyReason::DeniedByConsent, .. }
            );
            if break_glass && consent_denied {
                missing_training =
                    crate::training::missing_training(state, identity, &[GuardedAction::BreakGlass], ctx.block.time)?;
            }
            let (outcome, deciding, overridden, expires_at) = match decision {
                Decision::Deny { .. } if consent_denied && break_glass && missing_training.is_some() => {
                    (DecisionOutcome::Deny(DenyReason::TrainingMissing), Vec::new(), Vec::new(), None)
                }
                Decision::Permit { consents, overridden } => (
                    DecisionOutcome::Permit,
                    consents,
                    overridden,
                    Some(ctx.block.time.plus_millis(crate::governance::parameters_in(state)?.permit_ms)),
                ),
                Decision::Deny { consents: overridden, .. } if break_glass && consent_denied => (
                    DecisionOutcome::BreakGlass,
                    overridden,
                    Vec::new(),
                    Some(ctx.block.time.plus_millis(crate::governance::parameters_in(state)?.break_glass_ms)),
                ),
                Decision::Deny { reason, consents } => (DecisionOutcome::Deny(reason), consents, Vec::new(), None),
            };
            let versions = |ids: Vec<crate::ids::ConsentId>| -> Vec<(crate::ids::ConsentId, u32)> {
                ids.into_iter()
                    .filter_map(|id| consents.iter().find(|c| c.id == id).map(|c| (c.id, c.version)))
                    .collect()
            };
            let record = AccessDecision {
                id: DecisionId(ctx.tx),
                requester: identity.id,
                requester_org: identity.org.clone(),
                patient,
                data_class,
                resource_type,
                purpose,
                custodian: custodian.clone(),
                document,
                data_time,
                decided_at: ctx.block.time,
                outcome,
                consents: versions(deciding),
                overridden: versions(overridden),
                expires_at,
                justification,
                missing_training,
            };
            put_decision(state, &record);
            if outcome == DecisionOutcome::BreakGlass {
                put_review(
                    state,
                    &Review { decision: record.id, custodian: custodian.clone(), status: ReviewStatus::Open },
                );
            }
            // Exactly one audit event per decision.
            let kind =
                if outcome == DecisionOutcome::BreakGlass { AuditKind::BreakGlass } else { AuditKind::AccessDecision };
            let event_outcome =
                if matches!(outcome, DecisionOutcome::Deny(_)) { AuditOutcome::Denied } else { AuditOutcome::Success };
            let custodian_agent =
                AuditAgent { identity: None, key: None, org: Some(custodian), role: None, requestor: false };
            // The event names the first deciding consent: the one that permitted, the
            // exclusion that denied, or the first one break-glass overrode.
            let entity = AuditEntity {
                patient: Some(patient),
                consent: record.consents.first().copied(),
                decision: Some(record.id),
                document,
                data_class: Some(data_class),
                attachment: justification,
                ..AuditEntity::default()
            };
            state.emit(new_event_with_outcome(
                ctx,
                kind,
                AuditAction::Execute,
                event_outcome,
                vec![who.agent(), custodian_agent],
                entity,
                Some(purpose),
            ));
            Ok(())
        }
        AccessCall::CloseReview { decision, outcome, notes } => {
            let mut review = get_review(state, &decision)?.ok_or(AccessError::UnknownReview(decision))?;
            let auditor = match who {
                Principal::Member { identity }
                    if identity.org == review.custodian && identity.kind.role() == Some(StaffRole::Auditor) =>
                {
                    identity.id
                }
                _ => return Err(AccessError::NotCustodianAuditor(review.custodian).into()),
            };
            if review.status != ReviewStatus::Open {
                return Err(AccessError::AlreadyClosed(decision).into());
            }
            review.status = ReviewStatus::Closed { outcome, auditor, at: ctx.block.time, notes };
            put_review(state, &review);
            let decided: Option<AccessDecision> = get_decision(state, &decision)?;
            let entity = AuditEntity {
                patient: decided.as_ref().map(|d| d.patient),
                decision: Some(decision),
                attachment: notes,
                finding: Some(outcome),
                ..AuditEntity::default()
            };
            state.emit(new_event_with_outcome(
                ctx,
                AuditKind::ReviewClosed,
                AuditAction::Update,
                AuditOutcome::Success,
                vec![who.agent()],
                entity,
                None,
            ));
            Ok(())
        }
    }
}
