use super::errors::ConnectionError;
use super::messages::{CONNECTION_TEXT_BYTES_MAX, ConnectionCall, ConnectionRule, RULE_MS_MAX, RULES_MAX};
use super::state::{get_rule, put_rules, rule_key, rules_in};
use crate::audit::{AuditAction, AuditAgent, AuditEntity, AuditKind, AuditOutcome, new_event, new_event_with_outcome};
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::state::get_identity;
use crate::identity::{Identity, IdentityKind, IdentityStatus, Principal};
use crate::ids::{IdentityId, OrgId};
use crate::state::BlockState;

fn check_text(value: &str, field: &str) -> Result<(), ConnectionError> {
    let fine = !value.is_empty()
        && value.len() <= CONNECTION_TEXT_BYTES_MAX
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if fine {
        Ok(())
    } else {
        Err(ConnectionError::Invalid(format!(
            "{field} is 1 to {CONNECTION_TEXT_BYTES_MAX} letters, digits, '-', '_', '.' or ':'"
        )))
    }
}

fn is_machine(identity: &Identity) -> bool {
    matches!(identity.kind, IdentityKind::Device { .. } | IdentityKind::Service { .. })
}

fn machine_agent(identity: &Identity) -> AuditAgent {
    AuditAgent {
        identity: Some(identity.id),
        key: Some(identity.key),
        org: Some(identity.org.clone()),
        role: None,
        requestor: false,
    }
}

fn org_agent(org: OrgId) -> AuditAgent {
    AuditAgent { identity: None, key: None, org: Some(org), role: None, requestor: false }
}

/// A machine identity not revoked, for rules: the source of `org`, or any destination.
fn machine(
    state: &BlockState<'_>,
    id: &IdentityId,
    of: Option<&OrgId>,
    ctx: &TxContext,
    what: &'static str,
) -> Result<Identity, ExecError> {
    let found = get_identity(state, id)?
        .filter(|i| is_machine(i) && i.status_at(ctx.block.height.next()) != IdentityStatus::Revoked)
        .filter(|i| of.is_none_or(|org| &i.org == org));
    found.ok_or_else(|| ConnectionError::NotMachine(*id, what).into())
}

/// Executes a connection call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: ConnectionCall,
) -> Result<(), ExecError> {
    match call {
        ConnectionCall::Allow { source, destination, protocol, purpose, expires } => {
            let Principal::Admin { org, .. } = who else { return Err(ConnectionError::AdminOnly.into()) };
            check_text(&protocol, "a protocol")?;
            check_text(&purpose, "a purpose")?;
            let from = machine(state, &source, Some(org), ctx, "of this organisation")?;
            let to = machine(state, &destination, None, ctx, "of a member")?;
            if source == destination {
                return Err(ConnectionError::Invalid("a machine does not connect to itself".into()).into());
            }
            if expires <= ctx.block.time || expires.as_millis() - ctx.block.time.as_millis() > RULE_MS_MAX {
                return Err(
                    ConnectionError::Invalid("a rule expires after this block and within three years".into()).into()
                );
            }
            let id = ConnectionRule::id_for(&source, &destination, &protocol);
            let mut rules = rules_in(state, org)?;
            if !rules.contains(&id) {
                if rules.len() >= RULES_MAX {
                    return Err(ConnectionError::Invalid(format!("at most {RULES_MAX} connection rules")).into());
                }
                rules.push(id);
                put_rules(state, org, &rules);
            }
            let rule = ConnectionRule {
                id,
                org: org.clone(),
                source,
                destination,
                protocol,
                purpose,
                expires,
                allowed_at: ctx.block.time,
            };
            state.put(rule_key(&id), &rule);
            let entity = AuditEntity { identity: Some(source), record: Some(id), ..AuditEntity::default() };
            state.emit(new_event(
                ctx,
                AuditKind::ConnectionAllowed,
                AuditAction::Update,
                vec![who.agent(), machine_agent(&from), machine_agent(&to)],
                entity,
                None,
            ));
            Ok(())
        }
        ConnectionCall::Remove { rule } => {
            let Principal::Admin { org, .. } = who else { return Err(ConnectionError::AdminOnly.into()) };
            let found = get_rule(state, &rule)?.ok_or(ConnectionError::Unknown(rule))?;
            if &found.org != org {
                return Err(ConnectionError::AdminOnly.into());
            }
            state.delete(rule_key(&rule));
            let mut rules = rules_in(state, org)?;
            rules.retain(|r| *r != rule);
            put_rules(state, org, &rules);
            let entity = AuditEntity { identity: Some(found.source), record: Some(rule), ..AuditEntity::default() };
            state.emit(new_event(
                ctx,
                AuditKind::ConnectionRemoved,
                AuditAction::Delete,
                vec![who.agent()],
                entity,
                None,
            ));
            Ok(())
        }
        ConnectionCall::ReportUnexpected { source, destination, protocol, record } => {
            let Principal::Member { identity: gateway } = who else {
                return Err(ConnectionError::NotGateway.into());
            };
            if !is_machine(gateway) {
                return Err(ConnectionError::NotGateway.into());
            }
            check_text(&protocol, "a protocol")?;
            let to = machine(state, &destination, Some(&gateway.org), ctx, "of the gateway's organisation")?;
            let mut agents = vec![who.agent(), machine_agent(&to)];
            if let Some(source) = source {
                match get_identity(state, &source)? {
                    Some(from) => agents.push(machine_agent(&from)),
                    None => return Err(ConnectionError::NotMachine(source, "of a member").into()),
                }
                if let Some(from) = get_identity(state, &source)?
                    && from.org != gateway.org
                {
                    agents.push(org_agent(from.org));
                }
            }
            let entity = AuditEntity {
                identity: source,
                attachment: Some(crate::ids::DocumentHash(record)),
                ..AuditEntity::default()
            };
            state.emit(new_event_with_outcome(
                ctx,
                AuditKind::UnexpectedConnection,
                AuditAction::Execute,
                AuditOutcome::Denied,
                agents,
                entity,
                None,
            ));
            Ok(())
        }
    }
}
