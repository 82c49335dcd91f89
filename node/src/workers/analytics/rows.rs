//! Chain data as the rows of the analytics tables: a pure mapping, with no IO.
//!
//! [`ChainBlock`] is what the worker reads for one committed block (from storage and
//! committed state); [`BlockRows`] is what it writes for it. Every value that goes to
//! PostgreSQL is on chain already: pseudonymous patient references, organisation ids,
//! identity ids, hashes and codes. Names are never on chain, so never here.

use panacea_contracts::access::{AccessDecision, DecisionOutcome};
use panacea_contracts::audit::{AuditEvent, AuditKind};
use panacea_contracts::consent::{Consent, Recorder};
use panacea_contracts::ids::{ConsentId, DecisionId};
use panacea_contracts::{Outcome, Receipt, SignedTransaction};
use panacea_primitives::{Hash, Height, Timestamp};
use serde::Serialize;

/// One committed block with everything the analytics tables hold about it.
#[derive(Debug, Clone)]
pub struct ChainBlock {
    /// Its height.
    pub height: Height,
    /// Its id.
    pub id: Hash,
    /// Its parent's id (`None` for genesis).
    pub parent: Option<Hash>,
    /// The epoch whose validators ordered it.
    pub epoch: u64,
    /// The round it was proposed in.
    pub round: u64,
    /// The proposer's validator index.
    pub author: u16,
    /// Block time.
    pub time: Timestamp,
    /// The state root after it.
    pub state_root: Hash,
    /// The audit log's length before the block (the first event it logged has this seq).
    pub audit_from: u64,
    /// The transactions, in order, with their receipts.
    pub transactions: Vec<(SignedTransaction, Receipt)>,
    /// The audit events the block logged, in order: its own (proposals expiring, epoch
    /// changes) and its transactions'.
    pub events: Vec<AuditEvent>,
    /// The access decisions its events name.
    pub decisions: Vec<AccessDecision>,
    /// The consent versions its events name.
    pub consents: Vec<Consent>,
}

/// A block that does not hang together: a broken local invariant, never skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// A receipt that is not its transaction's.
    #[error("block {height}: receipt {position} is for transaction {receipt}, not {tx}")]
    ReceiptMismatch {
        /// The block.
        height: Height,
        /// The transaction's position.
        position: usize,
        /// The receipt's transaction.
        receipt: Hash,
        /// The transaction.
        tx: Hash,
    },
    /// An audit event out of place.
    #[error("block {height}: audit event {seq} is not the block's next ({expected}, at height {at})")]
    EventOutOfPlace {
        /// The block.
        height: Height,
        /// The event's seq.
        seq: u64,
        /// The seq expected.
        expected: u64,
        /// The event's height.
        at: Height,
    },
    /// A transaction's receipt logged an event the block's range does not hold.
    #[error("block {height}: transaction {tx} logged audit event {seq}, outside the block's events")]
    StrayEvent {
        /// The block.
        height: Height,
        /// The transaction.
        tx: Hash,
        /// The event's seq.
        seq: u64,
    },
    /// A decision or consent version an event names was not read.
    #[error("block {height}: {what} named by audit event {seq} is missing from committed state")]
    MissingRecord {
        /// The block.
        height: Height,
        /// The record.
        what: String,
        /// The event.
        seq: u64,
    },
}

/// Every row of one block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRows {
    /// `panacea_blocks`.
    pub block: BlockRow,
    /// `panacea_transactions`.
    pub transactions: Vec<TransactionRow>,
    /// `panacea_audit_events`.
    pub events: Vec<EventRow>,
    /// `panacea_decisions`.
    pub decisions: Vec<DecisionRow>,
    /// `panacea_consent_versions`.
    pub consents: Vec<ConsentRow>,
}

/// A row of `panacea_blocks`.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    /// `height`.
    pub height: i64,
    /// `id` (hex).
    pub id: String,
    /// `parent` (hex).
    pub parent: Option<String>,
    /// `epoch`.
    pub epoch: i64,
    /// `round`.
    pub round: i64,
    /// `author`.
    pub author: i32,
    /// `time_ms`.
    pub time_ms: i64,
    /// `state_root` (hex).
    pub state_root: String,
    /// `transaction_count`.
    pub transaction_count: i32,
    /// `audit_from`.
    pub audit_from: i64,
    /// `audit_count`.
    pub audit_count: i32,
}

/// A row of `panacea_transactions`.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionRow {
    /// `id` (hex).
    pub id: String,
    /// `height`.
    pub height: i64,
    /// `position` in the block, from 0.
    pub position: i32,
    /// `signer` (hex public key).
    pub signer: String,
    /// `nonce`.
    pub nonce: i64,
    /// `module`, e.g. `consent`.
    pub module: String,
    /// `call`, e.g. `record`.
    pub call: String,
    /// `ok`.
    pub ok: bool,
    /// `error_code`, for a failed call.
    pub error_code: Option<String>,
    /// `error_message`, for a failed call.
    pub error_message: Option<String>,
    /// `body`: the call as the API shows it.
    pub body: serde_json::Value,
}

/// A row of `panacea_audit_events`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// `seq`.
    pub seq: i64,
    /// `height`.
    pub height: i64,
    /// `tx` (hex), `None` for the block's own events.
    pub tx: Option<String>,
    /// `kind`.
    pub kind: String,
    /// `action`.
    pub action: String,
    /// `outcome`.
    pub outcome: String,
    /// `time_ms`.
    pub time_ms: i64,
    /// `patient` (pseudonymous reference).
    pub patient: Option<String>,
    /// `requester_org`: the organisation of the agent that initiated the event.
    pub requester_org: Option<String>,
    /// `requester`: the identity that initiated the event.
    pub requester: Option<String>,
    /// `consent_id`.
    pub consent_id: Option<String>,
    /// `consent_version`.
    pub consent_version: Option<i32>,
    /// `decision`.
    pub decision: Option<String>,
    /// `purpose`.
    pub purpose: Option<String>,
    /// `data_class`.
    pub data_class: Option<String>,
    /// `agents`.
    pub agents: serde_json::Value,
    /// `entity`.
    pub entity: serde_json::Value,
    /// `hash` (hex).
    pub hash: String,
    /// `prev` (hex).
    pub prev: String,
}

/// A row of `panacea_decisions`.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// `id` (hex; the request's transaction id).
    pub id: String,
    /// `height`.
    pub height: i64,
    /// `event_seq`.
    pub event_seq: i64,
    /// `requester` (identity id).
    pub requester: String,
    /// `requester_org`.
    pub requester_org: String,
    /// `custodian`.
    pub custodian: String,
    /// `patient` (pseudonymous reference).
    pub patient: String,
    /// `data_class`.
    pub data_class: String,
    /// `resource_type`.
    pub resource_type: Option<String>,
    /// `purpose`.
    pub purpose: String,
    /// `outcome`: `permit`, `break-glass` or `deny`.
    pub outcome: String,
    /// `reason`: the decision's reason code.
    pub reason: String,
    /// `decided_at_ms`.
    pub decided_at_ms: i64,
    /// `expires_at_ms`.
    pub expires_at_ms: Option<i64>,
    /// `document` (hex).
    pub document: Option<String>,
    /// `justification` (hex SHA-256 of the off-chain justification).
    pub justification: Option<String>,
    /// `consents`: `[[id, version], …]`.
    pub consents: serde_json::Value,
    /// `overridden`: `[[id, version], …]`.
    pub overridden: serde_json::Value,
}

/// A row of `panacea_consent_versions`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRow {
    /// `consent_id` (hex).
    pub consent_id: String,
    /// `version`.
    pub version: i32,
    /// `height`.
    pub height: i64,
    /// `event_seq`.
    pub event_seq: i64,
    /// `change`: `recorded`, `amended` or `revoked`.
    pub change: String,
    /// `patient` (pseudonymous reference).
    pub patient: String,
    /// `status`.
    pub status: String,
    /// `scope`.
    pub scope: String,
    /// `policy_rule`.
    pub policy_rule: String,
    /// `recorder_org`, for a version a custodian recorded.
    pub recorder_org: Option<String>,
    /// `recorder_identity`, for a version a custodian recorded.
    pub recorder_identity: Option<String>,
    /// `recorder_key`, for a version the patient recorded.
    pub recorder_key: Option<String>,
    /// `recorded_at_ms`.
    pub recorded_at_ms: i64,
    /// `terms`: the version's terms as the API shows them.
    pub terms: serde_json::Value,
}

/// The decisions and consent versions `events` name, which the worker reads from
/// committed state (both are immutable once written).
pub fn records_named(events: &[AuditEvent]) -> (Vec<DecisionId>, Vec<(ConsentId, u32)>) {
    let mut decisions = Vec::new();
    let mut consents = Vec::new();
    for event in events {
        match event.kind {
            AuditKind::AccessDecision | AuditKind::BreakGlass => decisions.extend(event.entity.decision),
            AuditKind::ConsentRecorded | AuditKind::ConsentAmended | AuditKind::ConsentRevoked => {
                consents.extend(event.entity.consent)
            }
            _ => {}
        }
    }
    (decisions, consents)
}

/// The rows of `block`, after checking that it hangs together: receipts match their
/// transactions, events are the block's and contiguous from `audit_from`, every event a
/// receipt lists is among them, and every decision and consent version they name is there.
pub fn rows(block: &ChainBlock) -> Result<BlockRows, RowError> {
    let height = block.height;
    let h = int(height.0);
    let mut events_of_tx = std::collections::BTreeMap::new();
    let mut transactions = Vec::with_capacity(block.transactions.len());
    for (position, (tx, receipt)) in block.transactions.iter().enumerate() {
        let id = tx.id();
        if receipt.tx != id {
            return Err(RowError::ReceiptMismatch { height, position, receipt: receipt.tx, tx: id });
        }
        let (module, call) = call_name(&tx.tx.call);
        let (ok, error_code, error_message) = match &receipt.outcome {
            Outcome::Ok { events } => {
                for event in events {
                    events_of_tx.insert(event.seq, id);
                }
                (true, None, None)
            }
            Outcome::Failed { code, message } => (false, Some(text(code)), Some(message.clone())),
        };
        transactions.push(TransactionRow {
            id: id.to_string(),
            height: h,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            signer: hex(&tx.tx.signer.to_bytes()),
            nonce: int(tx.tx.nonce),
            module,
            call,
            ok,
            error_code,
            error_message,
            body: json(&tx.tx.call),
        });
    }
    let mut events = Vec::with_capacity(block.events.len());
    for (offset, event) in block.events.iter().enumerate() {
        let expected = block.audit_from + offset as u64;
        if event.seq != expected || event.height != height {
            return Err(RowError::EventOutOfPlace { height, seq: event.seq, expected, at: event.height });
        }
        let requester = event.agents.iter().find(|a| a.requestor);
        events.push(EventRow {
            seq: int(event.seq),
            height: h,
            tx: events_of_tx.remove(&event.seq).map(|tx| tx.to_string()),
            kind: text(&event.kind),
            action: text(&event.action),
            outcome: text(&event.outcome),
            time_ms: int(event.recorded.as_millis()),
            patient: event.entity.patient.map(|p| p.to_string()),
            requester_org: requester.and_then(|a| a.org.as_ref()).map(ToString::to_string),
            requester: requester.and_then(|a| a.identity).map(|i| i.to_string()),
            consent_id: event.entity.consent.map(|(id, _)| id.to_string()),
            consent_version: event.entity.consent.map(|(_, v)| i32::try_from(v).unwrap_or(i32::MAX)),
            decision: event.entity.decision.map(|d| d.to_string()),
            purpose: event.purpose.map(|p| p.code().to_string()),
            data_class: event.entity.data_class.map(|c| c.code().to_string()),
            agents: json(&event.agents),
            entity: json(&event.entity),
            hash: event.hash().to_string(),
            prev: event.prev.to_string(),
        });
    }
    if let Some((seq, tx)) = events_of_tx.into_iter().next() {
        return Err(RowError::StrayEvent { height, tx, seq });
    }
    let mut decisions = Vec::new();
    let mut consents = Vec::new();
    for event in &block.events {
        let missing = |what: String| RowError::MissingRecord { height, what, seq: event.seq };
        match event.kind {
            AuditKind::AccessDecision | AuditKind::BreakGlass => {
                let Some(id) = event.entity.decision else { continue };
                let decision =
                    block.decisions.iter().find(|d| d.id == id).ok_or_else(|| missing(format!("decision {id}")))?;
                decisions.push(decision_row(decision, h, event.seq));
            }
            AuditKind::ConsentRecorded | AuditKind::ConsentAmended | AuditKind::ConsentRevoked => {
                let Some((id, version)) = event.entity.consent else { continue };
                let consent = block
                    .consents
                    .iter()
                    .find(|c| c.id == id && c.version == version)
                    .ok_or_else(|| missing(format!("consent {id} version {version}")))?;
                consents.push(consent_row(consent, event.kind, h, event.seq));
            }
            _ => {}
        }
    }
    let block_row = BlockRow {
        height: h,
        id: block.id.to_string(),
        parent: block.parent.map(|p| p.to_string()),
        epoch: int(block.epoch),
        round: int(block.round),
        author: i32::from(block.author),
        time_ms: int(block.time.as_millis()),
        state_root: block.state_root.to_string(),
        transaction_count: i32::try_from(transactions.len()).unwrap_or(i32::MAX),
        audit_from: int(block.audit_from),
        audit_count: i32::try_from(events.len()).unwrap_or(i32::MAX),
    };
    Ok(BlockRows { block: block_row, transactions, events, decisions, consents })
}

fn decision_row(d: &AccessDecision, height: i64, seq: u64) -> DecisionRow {
    let outcome = match d.outcome {
        DecisionOutcome::Permit => "permit",
        DecisionOutcome::BreakGlass => "break-glass",
        DecisionOutcome::Deny(_) => "deny",
    };
    DecisionRow {
        id: d.id.to_string(),
        height,
        event_seq: int(seq),
        requester: d.requester.to_string(),
        requester_org: d.requester_org.to_string(),
        custodian: d.custodian.to_string(),
        patient: d.patient.to_string(),
        data_class: d.data_class.code().to_string(),
        resource_type: d.resource_type.map(|r| text(&r)),
        purpose: d.purpose.code().to_string(),
        outcome: outcome.to_string(),
        reason: d.reason_code().to_string(),
        decided_at_ms: int(d.decided_at.as_millis()),
        expires_at_ms: d.expires_at.map(|t| int(t.as_millis())),
        document: d.document.map(|x| x.to_string()),
        justification: d.justification.map(|x| x.to_string()),
        consents: versions(&d.consents),
        overridden: versions(&d.overridden),
    }
}

fn consent_row(c: &Consent, kind: AuditKind, height: i64, seq: u64) -> ConsentRow {
    let change = match kind {
        AuditKind::ConsentRecorded => "recorded",
        AuditKind::ConsentAmended => "amended",
        _ => "revoked",
    };
    let (recorder_org, recorder_identity, recorder_key) = match &c.recorder {
        Recorder::Custodian { org, identity, .. } => (Some(org.to_string()), Some(identity.to_string()), None),
        Recorder::Patient { key } => (None, None, Some(hex(&key.to_bytes()))),
    };
    ConsentRow {
        consent_id: c.id.to_string(),
        version: i32::try_from(c.version).unwrap_or(i32::MAX),
        height,
        event_seq: int(seq),
        change: change.to_string(),
        patient: c.terms.patient.to_string(),
        status: c.terms.status.code().to_string(),
        scope: text(&c.terms.scope),
        policy_rule: text(&c.terms.policy_rule),
        recorder_org,
        recorder_identity,
        recorder_key,
        recorded_at_ms: int(c.recorded_at.as_millis()),
        terms: json(&c.terms),
    }
}

fn versions(list: &[(ConsentId, u32)]) -> serde_json::Value {
    serde_json::Value::Array(
        list.iter().map(|(id, v)| serde_json::json!([id.to_string(), v])).collect::<Vec<serde_json::Value>>(),
    )
}

/// `(module, call)` of a call, in the API's names: `("consent", "record")`.
pub fn call_name(call: &panacea_contracts::Call) -> (String, String) {
    let value = json(call);
    let Some((module, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return (text_of(&value), String::new());
    };
    let name = match inner {
        serde_json::Value::Object(o) => o.keys().next().cloned().unwrap_or_default(),
        other => text_of(other),
    };
    (module.clone(), name)
}

/// A value as the API shows it (serde's JSON); `null` if it cannot be shown.
fn json<T: Serialize + ?Sized>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A code as the API names it (`break-glass`, `TREAT`, `C`).
fn text<T: Serialize + ?Sized>(value: &T) -> String {
    text_of(&json(value))
}

fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// A chain integer as PostgreSQL's `bigint`. Heights, seqs, nonces and milliseconds stay
/// far below 2^63; one that did not would be a corrupt record, so it is clamped visibly.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
