//! Reading the audit log from committed state: filtered pages, a patient's accounting of
//! disclosures, inclusion proofs, and a check of the hash chain.

use panacea_primitives::{Hash, Timestamp};
use serde::{Deserialize, Serialize};

use super::messages::{AuditEvent, AuditKind};
use super::{BY_IDENTITY, BY_ORG, BY_PATIENT, DISCLOSURES};
use crate::codes::{DataClass, Purpose};
use crate::ids::{DocumentHash, IdentityId, OrgId, PatientRef};
use crate::state::audit_log::{self, AuditProof};
use crate::state::{AUDIT_EVENT_PREFIX, Meta, StateError, Store, read};

/// Most events in one page.
pub const AUDIT_PAGE_MAX: usize = 500;

/// Which events to read. At most one subject (patient, organisation or identity) picks
/// the index; the other criteria filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Events about this patient.
    pub patient: Option<PatientRef>,
    /// Events with an agent of this organisation.
    pub org: Option<OrgId>,
    /// Events with this identity as agent or subject.
    pub identity: Option<IdentityId>,
    /// Events of this kind.
    pub kind: Option<AuditKind>,
    /// Events recorded at or after.
    pub from: Option<Timestamp>,
    /// Events recorded at or before.
    pub to: Option<Timestamp>,
}

/// One page of events and the cursor of the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Events in log order.
    pub events: Vec<AuditEvent>,
    /// Pass as `after` to read on; `None` at the end.
    pub next: Option<u64>,
}

/// The event at `seq`.
pub fn event<S: Store + ?Sized>(store: &S, seq: u64) -> Result<Option<AuditEvent>, StateError> {
    let mut key = AUDIT_EVENT_PREFIX.to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    read(store, &key)
}

fn seq_of(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// Events matching `filter` after sequence number `after`, at most `limit` (capped at
/// [`AUDIT_PAGE_MAX`]). Reads through an index when a subject is given.
pub fn events<S: Store + ?Sized>(
    store: &S,
    filter: &AuditFilter,
    after: Option<u64>,
    limit: usize,
) -> Result<AuditPage, StateError> {
    let limit = limit.clamp(1, AUDIT_PAGE_MAX);
    let prefix: Vec<u8> = match (&filter.patient, &filter.org, &filter.identity) {
        (Some(patient), _, _) => [BY_PATIENT, patient.0.as_bytes(), b"/"].concat(),
        (None, Some(org), _) => [BY_ORG, org.as_str().as_bytes(), b"/"].concat(),
        (None, None, Some(identity)) => [BY_IDENTITY, identity.0.as_bytes(), b"/"].concat(),
        (None, None, None) => AUDIT_EVENT_PREFIX.to_vec(),
    };
    // The log is in time order (each block's time is after its parent's): a window's start
    // is found by binary search rather than scanned to, and the scan ends at its end, so a
    // page deep in a long log costs what the first costs.
    let after = match filter.from {
        Some(from) => match first_recorded_at_or_after(store, from)?.checked_sub(1) {
            Some(before) => Some(after.map_or(before, |after| after.max(before))),
            None => after,
        },
        None => after,
    };
    let mut cursor: Option<Vec<u8>> = after.map(|seq| [prefix.as_slice(), &seq.to_be_bytes()].concat());
    let mut out = Vec::new();
    // Scan in chunks; stop after a bounded amount of work even if few events match.
    let mut scanned = 0usize;
    loop {
        let chunk = store.scan(&prefix, cursor.as_deref(), limit)?;
        let exhausted = chunk.len() < limit;
        for (key, _) in &chunk {
            scanned += 1;
            let Some(seq) = seq_of(key) else { continue };
            let Some(event) = event(store, seq)? else { continue };
            if filter.to.is_some_and(|to| event.recorded > to) {
                return Ok(AuditPage { events: out, next: None });
            }
            if matches(filter, &event) {
                out.push(event);
                if out.len() == limit {
                    return Ok(AuditPage { events: out, next: Some(seq) });
                }
            }
        }
        match chunk.last() {
            Some((key, _)) if !exhausted && scanned < 20 * AUDIT_PAGE_MAX => cursor = Some(key.clone()),
            Some((key, _)) if !exhausted => {
                // Bounded work per page: hand back a cursor to continue from.
                return Ok(AuditPage { events: out, next: seq_of(key) });
            }
            _ => return Ok(AuditPage { events: out, next: None }),
        }
    }
}

/// The sequence number of the first event recorded at or after `time` (the log's length
/// if none is), by binary search: recording times never decrease along the log.
fn first_recorded_at_or_after<S: Store + ?Sized>(store: &S, time: Timestamp) -> Result<u64, StateError> {
    let (mut low, mut high) = (0u64, Meta::load(store)?.audit_count);
    while low < high {
        let middle = low + (high - low) / 2;
        match event(store, middle)? {
            Some(event) if event.recorded < time => low = middle + 1,
            _ => high = middle,
        }
    }
    Ok(low)
}

impl AuditFilter {
    /// True if `event` passes every filter that is set.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        matches(self, event)
    }
}

fn matches(filter: &AuditFilter, event: &AuditEvent) -> bool {
    filter.patient.is_none_or(|p| event.entity.patient == Some(p))
        && filter.org.as_ref().is_none_or(|o| event.agents.iter().any(|a| a.org.as_ref() == Some(o)))
        && filter
            .identity
            .is_none_or(|i| event.entity.identity == Some(i) || event.agents.iter().any(|a| a.identity == Some(i)))
        && filter.kind.is_none_or(|k| event.kind == k)
        && filter.from.is_none_or(|t| event.recorded >= t)
        && filter.to.is_none_or(|t| event.recorded <= t)
}

/// One disclosure of a patient's data (HIPAA 164.528): when, to whom, what, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// Block time.
    pub date: Timestamp,
    /// The recipient organisation.
    pub recipient_org: Option<OrgId>,
    /// The recipient identity.
    pub recipient: Option<IdentityId>,
    /// What was disclosed: the data class and the document.
    pub data_class: Option<DataClass>,
    /// The document, when known.
    pub document: Option<DocumentHash>,
    /// Why.
    pub purpose: Option<Purpose>,
    /// True for emergency (break-glass) access.
    pub emergency: bool,
    /// The audit event it comes from.
    pub seq: u64,
}

/// The accounting of disclosures of `patient`: every permitted access and delivery, in
/// order, `limit` at a time after `after`.
pub fn accounting_of_disclosures<S: Store + ?Sized>(
    store: &S,
    patient: &PatientRef,
    after: Option<u64>,
    limit: usize,
) -> Result<(Vec<Disclosure>, Option<u64>), StateError> {
    let limit = limit.clamp(1, AUDIT_PAGE_MAX);
    let prefix = [DISCLOSURES, patient.0.as_bytes(), b"/"].concat();
    let cursor = after.map(|seq| [prefix.as_slice(), &seq.to_be_bytes()].concat());
    let chunk = store.scan(&prefix, cursor.as_deref(), limit)?;
    let mut out = Vec::with_capacity(chunk.len());
    for (key, _) in &chunk {
        let Some(seq) = seq_of(key) else { continue };
        let Some(event) = event(store, seq)? else { continue };
        let recipient = event.agents.iter().find(|a| a.requestor);
        out.push(Disclosure {
            date: event.recorded,
            recipient_org: recipient.and_then(|a| a.org.clone()),
            recipient: recipient.and_then(|a| a.identity),
            data_class: event.entity.data_class,
            document: event.entity.document,
            purpose: event.purpose,
            emergency: event.kind == AuditKind::BreakGlass,
            seq,
        });
    }
    let next = if chunk.len() == limit { out.last().map(|d| d.seq) } else { None };
    Ok((out, next))
}

/// Proves that the event at `seq` is in the log committed by the current state root.
pub fn prove_event<S: Store + ?Sized>(store: &S, seq: u64) -> Result<Option<(AuditEvent, AuditProof)>, StateError> {
    let meta = Meta::load(store)?;
    if seq >= meta.audit_count {
        return Ok(None);
    }
    let Some(event) = event(store, seq)? else { return Ok(None) };
    let proof = audit_log::prove(store, meta.audit_mmr_size, seq)?;
    Ok(Some((event, proof)))
}

/// Checks the whole log: sequence numbers in order, each event linked to the previous
/// one's hash, the last hash and the accumulator root as the bookkeeping says.
/// Returns the number of events checked, or the first sequence number that is wrong.
pub fn verify_chain<S: Store + ?Sized>(store: &S) -> Result<Result<u64, u64>, StateError> {
    let meta = Meta::load(store)?;
    let mut prev = Hash::ZERO;
    let mut leaves = Vec::new();
    for seq in 0..meta.audit_count {
        let Some(event) = event(store, seq)? else { return Ok(Err(seq)) };
        if event.seq != seq || event.prev != prev {
            return Ok(Err(seq));
        }
        prev = event.hash();
        leaves.push(prev);
    }
    if prev != meta.audit_last {
        return Ok(Err(meta.audit_count));
    }
    // Recompute the accumulator from scratch and compare roots.
    let scratch = crate::state::MemoryStore::new();
    let mut batch = crate::state::WriteBatch::new();
    let (_, root) = audit_log::append(&scratch, 0, &leaves, &mut batch)?;
    if meta.audit_count > 0 && root != meta.audit_root {
        return Ok(Err(meta.audit_count));
    }
    Ok(Ok(meta.audit_count))
}
