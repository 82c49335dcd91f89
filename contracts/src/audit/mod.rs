//! The append-only audit log: every consent change, identity change and access decision
//! appends one event shaped like a FHIR AuditEvent. Events form a hash chain and are
//! accumulated in a Merkle Mountain Range whose root is part of the state root.

mod messages;
mod queries;
#[cfg(test)]
mod tests;

pub use messages::{AuditAction, AuditAgent, AuditEntity, AuditEvent, AuditKind, AuditOutcome};
pub use queries::{
    AUDIT_PAGE_MAX, AuditFilter, AuditPage, Disclosure, accounting_of_disclosures, event, events, prove_event,
    verify_chain,
};

use panacea_primitives::Hash;

use crate::codes::Purpose;
use crate::context::TxContext;
use crate::state::INDEX_PREFIX;

/// An event for the current transaction; `seq` and `prev` are filled in when the
/// transaction commits.
pub(crate) fn new_event(
    ctx: &TxContext,
    kind: AuditKind,
    action: AuditAction,
    agents: Vec<AuditAgent>,
    entity: AuditEntity,
    purpose: Option<Purpose>,
) -> AuditEvent {
    new_event_with_outcome(ctx, kind, action, AuditOutcome::Success, agents, entity, purpose)
}

/// As [`new_event`], with an explicit outcome.
pub(crate) fn new_event_with_outcome(
    ctx: &TxContext,
    kind: AuditKind,
    action: AuditAction,
    outcome: AuditOutcome,
    agents: Vec<AuditAgent>,
    entity: AuditEntity,
    purpose: Option<Purpose>,
) -> AuditEvent {
    block_event(&ctx.block, kind, action, outcome, agents, entity, purpose)
}

/// An event of `block` that no transaction's signer caused (a proposal expiring, an
/// epoch ending), or the common part of every event.
pub(crate) fn block_event(
    block: &crate::context::BlockContext,
    kind: AuditKind,
    action: AuditAction,
    outcome: AuditOutcome,
    agents: Vec<AuditAgent>,
    entity: AuditEntity,
    purpose: Option<Purpose>,
) -> AuditEvent {
    AuditEvent {
        seq: 0,
        kind,
        action,
        outcome,
        recorded: block.time,
        height: block.height,
        agents,
        entity,
        purpose,
        prev: Hash::ZERO,
    }
}

/// Index namespaces.
pub(crate) const BY_PATIENT: &[u8] = b"i/audit/patient/";
pub(crate) const BY_ORG: &[u8] = b"i/audit/org/";
pub(crate) const BY_IDENTITY: &[u8] = b"i/audit/identity/";
pub(crate) const DISCLOSURES: &[u8] = b"i/audit/disclosure/";

fn index_key(space: &[u8], subject: &[u8], seq: u64) -> Vec<u8> {
    debug_assert!(space.starts_with(INDEX_PREFIX));
    let mut key = space.to_vec();
    key.extend_from_slice(subject);
    key.push(b'/');
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The index entries of an event: by patient, by every organisation and identity among
/// its agents and entity, and (for permitted accesses) the patient's disclosures.
pub fn index_keys(event: &AuditEvent) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    if let Some(patient) = &event.entity.patient {
        keys.push(index_key(BY_PATIENT, patient.0.as_bytes(), event.seq));
        let disclosure =
            matches!(event.kind, AuditKind::AccessDecision | AuditKind::BreakGlass | AuditKind::DocumentDelivered)
                && event.outcome == AuditOutcome::Success;
        if disclosure {
            keys.push(index_key(DISCLOSURES, patient.0.as_bytes(), event.seq));
        }
    }
    let mut orgs: Vec<&str> = event.agents.iter().filter_map(|a| a.org.as_ref().map(|o| o.as_str())).collect();
    orgs.sort_unstable();
    orgs.dedup();
    for org in orgs {
        keys.push(index_key(BY_ORG, org.as_bytes(), event.seq));
    }
    let mut identities: Vec<Hash> = event.agents.iter().filter_map(|a| a.identity.map(|i| i.0)).collect();
    identities.extend(event.entity.identity.map(|i| i.0));
    identities.sort_unstable();
    identities.dedup();
    for identity in identities {
        keys.push(index_key(BY_IDENTITY, identity.as_bytes(), event.seq));
    }
    keys
}
