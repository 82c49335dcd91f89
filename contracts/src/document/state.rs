use panacea_primitives::{Height, Timestamp};

use super::messages::DocumentRecord;
use crate::access::{AccessDecision, Decision, DecisionOutcome, decide};
use crate::codes::DataClass;
use crate::identity::IdentityStatus;
use crate::ids::{DecisionId, DocumentHash, OrgId, PatientRef};
use crate::state::{BlockState, StateError, Store, key, read};

pub(crate) fn document_key(document: &DocumentHash) -> Vec<u8> {
    key("document", &[document.0.as_bytes()])
}

pub(crate) fn class_key(custodian: &OrgId, patient: &PatientRef, class: DataClass) -> Vec<u8> {
    let org = custodian.as_str().as_bytes();
    key(
        "documents-of",
        &[&[u8::try_from(org.len()).unwrap_or(u8::MAX)], org, patient.0.as_bytes(), class.code().as_bytes()],
    )
}

pub(crate) fn delivery_key(decision: &DecisionId, document: &DocumentHash) -> Vec<u8> {
    key("delivery", &[decision.0.as_bytes(), document.0.as_bytes()])
}

pub(crate) fn get_document(
    state: &BlockState<'_>,
    document: &DocumentHash,
) -> Result<Option<DocumentRecord>, StateError> {
    state.get(&document_key(document))
}

/// A registered document, from committed state.
pub fn document<S: Store + ?Sized>(store: &S, document: &DocumentHash) -> Result<Option<DocumentRecord>, StateError> {
    read(store, &document_key(document))
}

/// When the delivery of `document` under `decision` was confirmed, if it was.
pub fn delivered<S: Store + ?Sized>(
    store: &S,
    decision: &DecisionId,
    document: &DocumentHash,
) -> Result<Option<Timestamp>, StateError> {
    read(store, &delivery_key(decision, document))
}

/// Why a grant does not allow a transfer now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantRefused {
    /// No such decision.
    #[error("no such decision")]
    NoDecision,
    /// The decision denied access.
    #[error("the request was denied")]
    Denied,
    /// The permit ran out.
    #[error("the grant has expired")]
    Expired,
    /// The consents no longer permit it (revoked, amended or run out).
    #[error("the patient's consents no longer permit it")]
    ConsentWithdrawn,
    /// The requesting identity is no longer active.
    #[error("the requesting identity is no longer active")]
    RequesterInactive,
    /// The requesting device is in risk quarantine.
    #[error("the requesting device is in risk quarantine")]
    RequesterQuarantined,
    /// The document is unknown, erased, or not covered by the decision.
    #[error("the document is not covered by the grant, or erased")]
    NotCovered,
}

/// Checks, against committed state at `height` and block time `now`, that `decision`
/// still allows `document` to be transferred: the decision granted access and has not
/// expired; for a permit, the patient's current consents still permit the same request
/// (for the same data date, when the request stated one) and the requesting identity is
/// still active; the document is registered by the
/// decision's custodian for its patient and data class (and is the one named, if one was),
/// and is not erased. A break-glass grant is not re-decided: it overrode the consents.
pub fn grant_in_force<S: Store + ?Sized>(
    store: &S,
    decision: &DecisionId,
    document: &DocumentHash,
    height: Height,
    now: Timestamp,
) -> Result<Result<(AccessDecision, DocumentRecord), GrantRefused>, StateError> {
    let Some(grant) = crate::access::access_decision(store, decision)? else {
        return Ok(Err(GrantRefused::NoDecision));
    };
    if matches!(grant.outcome, DecisionOutcome::Deny(_)) {
        return Ok(Err(GrantRefused::Denied));
    }
    if !grant.grants_at(now) {
        return Ok(Err(GrantRefused::Expired));
    }
    let Some(record) = read::<DocumentRecord, S>(store, &document_key(document))? else {
        return Ok(Err(GrantRefused::NotCovered));
    };
    let covered = record.erased_at.is_none()
        && record.custodian == grant.custodian
        && record.patient == grant.patient
        && record.of_kind(grant.data_class, grant.resource_type)
        && grant.document.is_none_or(|named| named == *document);
    if !covered {
        return Ok(Err(GrantRefused::NotCovered));
    }
    let Some(identity) = crate::identity::identity(store, &grant.requester)? else {
        return Ok(Err(GrantRefused::RequesterInactive));
    };
    if identity.status_at(height) != IdentityStatus::Active {
        return Ok(Err(GrantRefused::RequesterInactive));
    }
    if crate::risk::quarantine(store, &grant.requester)?.is_some() {
        return Ok(Err(GrantRefused::RequesterQuarantined));
    }
    if grant.outcome == DecisionOutcome::Permit {
        let consents = crate::consent::consents_of_patient(store, &grant.patient)?;
        let request = grant.request_at(identity.kind.role(), now);
        if !matches!(decide(&consents, &request), Decision::Permit { .. }) {
            return Ok(Err(GrantRefused::ConsentWithdrawn));
        }
    }
    Ok(Ok((grant, record)))
}

/// The documents a decision covers, from committed state: the one it names, or every
/// document its custodian registered for its patient and data class.
pub fn covered_documents<S: Store + ?Sized>(
    store: &S,
    grant: &AccessDecision,
) -> Result<Vec<DocumentHash>, StateError> {
    if let Some(named) = grant.document {
        return Ok(vec![named]);
    }
    let listed: Vec<DocumentHash> =
        read(store, &class_key(&grant.custodian, &grant.patient, grant.data_class))?.unwrap_or_default();
    if grant.resource_type.is_none() {
        return Ok(listed);
    }
    let mut out = Vec::new();
    for document in listed {
        if let Some(record) = read::<DocumentRecord, S>(store, &document_key(&document))?
            && record.of_kind(grant.data_class, grant.resource_type)
        {
            out.push(document);
        }
    }
    Ok(out)
}
