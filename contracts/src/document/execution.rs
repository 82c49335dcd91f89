use super::errors::DocumentError;
use super::messages::{DOCUMENTS_PER_CLASS_MAX, DocumentCall, DocumentRecord};
use super::state::{class_key, delivery_key, document_key, get_document};
use crate::access::{AccessDecision, DecisionOutcome};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditKind, AuditOutcome, new_event_with_outcome};
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::Principal;
use crate::ids::{DocumentHash, OrgId};
use crate::state::BlockState;

/// The organisation a principal acts for (patients do not act on documents).
fn acting_org(who: &Principal) -> Result<OrgId, DocumentError> {
    match who {
        Principal::Admin { org, .. } => Ok(org.clone()),
        Principal::Member { identity } => Ok(identity.org.clone()),
        Principal::Patient { .. } => Err(DocumentError::NotAnOrganisation),
    }
}

fn org_agent(org: OrgId) -> AuditAgent {
    AuditAgent { identity: None, key: None, org: Some(org), role: None, requestor: false }
}

/// Executes a document call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: DocumentCall,
) -> Result<(), ExecError> {
    match call {
        DocumentCall::Register { document, patient, data_class, resource_type } => {
            let custodian = acting_org(who)?;
            if let Some(kind) = resource_type
                && !kind.may_hold(data_class)
            {
                return Err(DocumentError::ResourceTypeClass(kind, data_class).into());
            }
            if get_document(state, &document)?.is_some() {
                return Err(DocumentError::AlreadyRegistered(document).into());
            }
            let index = class_key(&custodian, &patient, data_class);
            let mut listed: Vec<DocumentHash> = state.get(&index)?.unwrap_or_default();
            if listed.len() >= DOCUMENTS_PER_CLASS_MAX {
                return Err(DocumentError::TooMany(DOCUMENTS_PER_CLASS_MAX).into());
            }
            listed.push(document);
            state.put(index, &listed);
            let record = DocumentRecord {
                document,
                custodian,
                patient,
                data_class,
                resource_type,
                registered_at: ctx.block.time,
                erased_at: None,
            };
            state.put(document_key(&document), &record);
            let entity = AuditEntity {
                patient: Some(patient),
                document: Some(document),
                data_class: Some(data_class),
                ..AuditEntity::default()
            };
            state.emit(new_event_with_outcome(
                ctx,
                AuditKind::DocumentRegistered,
                AuditAction::Create,
                AuditOutcome::Success,
                vec![who.agent()],
                entity,
                None,
            ));
            Ok(())
        }
        DocumentCall::Erase { document } => {
            let org = acting_org(who)?;
            let mut record = get_document(state, &document)?.ok_or(DocumentError::Unknown(document))?;
            if record.custodian != org {
                return Err(DocumentError::NotCustodian(record.custodian).into());
            }
            if record.erased_at.is_some() {
                return Err(DocumentError::Erased(document).into());
            }
            record.erased_at = Some(ctx.block.time);
            state.put(document_key(&document), &record);
            let entity = AuditEntity {
                patient: Some(record.patient),
                document: Some(document),
                data_class: Some(record.data_class),
                ..AuditEntity::default()
            };
            state.emit(new_event_with_outcome(
                ctx,
                AuditKind::DocumentErased,
                AuditAction::Delete,
                AuditOutcome::Success,
                vec![who.agent()],
                entity,
                None,
            ));
            Ok(())
        }
        DocumentCall::ConfirmDelivery { decision, document } => {
            let org = acting_org(who)?;
            let grant: AccessDecision = crate::access::state::get_decision(state, &decision)?
                .ok_or(DocumentError::UnknownDecision(decision))?;
            if grant.requester_org != org {
                return Err(DocumentError::NotRequester(grant.requester_org).into());
            }
            let record = get_document(state, &document)?.ok_or(DocumentError::Unknown(document))?;
            let covered = !matches!(grant.outcome, DecisionOutcome::Deny(_))
                && record.custodian == grant.custodian
                && record.patient == grant.patient
                && record.of_kind(grant.data_class, grant.resource_type)
                && grant.document.is_none_or(|named| named == document);
            if !covered {
                return Err(DocumentError::NotGranted(decision, document).into());
            }
            let key = delivery_key(&decision, &document);
            if state.get::<panacea_primitives::Timestamp>(&key)?.is_some() {
                return Err(DocumentError::AlreadyConfirmed(decision, document).into());
            }
            state.put(key, &ctx.block.time);
            let entity = AuditEntity {
                patient: Some(grant.patient),
                decision: Some(decision),
                document: Some(document),
                data_class: Some(grant.data_class),
                ..AuditEntity::default()
            };
            state.emit(new_event_with_outcome(
                ctx,
                AuditKind::DocumentDelivered,
                AuditAction::Read,
                AuditOutcome::Success,
                vec![who.agent(), org_agent(grant.custodian)],
                entity,
                Some(grant.purpose),
            ));
            Ok(())
        }
    }
}
