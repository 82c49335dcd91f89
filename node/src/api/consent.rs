use axum::extract::Query;
use axum::extract::rejection::{PathRejection, QueryRejection};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use panacea_primitives::Hash;

use panacea_client_sdk::types::{DecisionView, EvaluateQuery, EvaluationView};
use panacea_contracts::access::{Decision, Request};
use panacea_contracts::audit::{AUDIT_PAGE_MAX, AuditFilter, AuditKind};
use panacea_contracts::codes::{ConsentAction, DataClass, Purpose, ResourceType, StaffRole};
use panacea_contracts::consent::{Consent, Recorder};
use panacea_contracts::ids::{ConsentId, DecisionId, IdentityId, PatientRef};
use panacea_primitives::Timestamp;

use super::*;

/// `GET /v1/patients/{patient}/consents`: the consents of a patient the signer may see
/// (a member organisation those it recorded; an auditor or the patient all).
#[utoipa::path(get, path = "/v1/patients/{patient}/consents", tag = "consent",
    params(("patient" = String, Path, description = "patient reference, hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the consents the signer may read"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn patient_consents(
    State(api): State<ApiState>,
    signed: Signed,
    patient: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<Consent>>, ApiError> {
    let principal = &signed.principal;
    let Path(patient) = patient.map_err(|e| bad_request("bad_path", e))?;
    let patient = patient_ref(&patient)?;
    let consents = panacea_contracts::consent::consents_of_patient(&api.shared.storage.state(), &patient)
        .map_err(ApiError::internal)?;
    let visible = consents
        .into_iter()
        .filter(|c| {
            let org = match &c.recorder {
                Recorder::Custodian { org, .. } => Some(org),
                Recorder::Patient { .. } => None,
            };
            principal.may_read(&patient, org.as_slice())
        })
        .collect();
    Ok(Json(visible))
}

/// `GET /v1/decisions/{id}`: an access decision with its reason code and the audit event it
/// logged, for the requesting and custodian organisations, health authorities, the patient,
/// and the requesting identity itself (a device reads the verdict on its own request).
#[utoipa::path(get, path = "/v1/decisions/{id}", tag = "access",
    params(("id" = String, Path, description = "decision id (the request's transaction id), hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the access decision, its reason code and its audit event"), (status = 404, description = "no such decision"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn decision(
    State(api): State<ApiState>,
    signed: Signed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<DecisionView>, ApiError> {
    let principal = &signed.principal;
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let id = Hash::from_hex(&id).map_err(|_| bad_request("bad_id", "a decision id is 64 hex digits"))?;
    let found = panacea_contracts::access::access_decision(&api.shared.storage.state(), &DecisionId(id))
        .map_err(ApiError::internal)?;
    // Unknown and forbidden look the same to a signer who may not read it.
    let requester_signed = |d: &panacea_contracts::access::AccessDecision| -> Result<bool, ApiError> {
        let identity = panacea_contracts::identity::identity(&api.shared.storage.state(), &d.requester)
            .map_err(ApiError::internal)?;
        Ok(identity.is_some_and(|i| i.key == signed.key))
    };
    match found {
        Some(d) if principal.may_read(&d.patient, &[&d.requester_org, &d.custodian]) || requester_signed(&d)? => {
            // The decision's own event, from the receipt of the request that made it.
            let receipt = api.shared.storage.receipt(&d.id.0).map_err(ApiError::internal)?;
            let event = receipt.and_then(|(_, receipt)| match receipt.outcome {
                panacea_contracts::Outcome::Ok { events } => {
                    events.into_iter().find(|e| e.entity.decision == Some(d.id))
                }
                panacea_contracts::Outcome::Failed { .. } => None,
            });
            Ok(Json(DecisionView { reason: d.reason_code().to_owned(), decision: d, event }))
        }
        Some(_) => Err(signed.forbidden(&api)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "no_decision", "no such decision")),
    }
}

/// `GET /v1/consents/{id}`: every version of a consent, oldest first, for the
/// organisation that recorded it, health authorities and the patient.
#[utoipa::path(get, path = "/v1/consents/{id}", tag = "consent",
    params(("id" = String, Path, description = "consent id, hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the versions, oldest first"), (status = 400, description = "bad id"), (status = 404, description = "no such consent"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn consent_history(
    State(api): State<ApiState>,
    signed: Signed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<Consent>>, ApiError> {
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let id = ConsentId(Hash::from_hex(&id).map_err(|_| bad_request("bad_id", "a consent id is 64 hex digits"))?);
    let history =
        panacea_contracts::consent::consent_history(&api.shared.storage.state(), &id).map_err(ApiError::internal)?;
    let Some(latest) = history.last() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_consent", "no such consent"));
    };
    let org = match &latest.recorder {
        Recorder::Custodian { org, .. } => Some(org),
        Recorder::Patient { .. } => None,
    };
    if !signed.principal.may_read(&latest.terms.patient, org.as_slice()) {
        return Err(signed.forbidden(&api));
    }
    Ok(Json(history))
}

/// Most consents an evaluation reconstructs for one patient (the list in force is bounded
/// by `PATIENT_CONSENTS_MAX`; revoked ones add to it over the years).
const EVALUATED_CONSENTS_MAX: usize = 1_000;

fn code<T>(what: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(text).ok_or_else(|| bad_request("bad_code", format!("unknown {what} code {text:?}")))
}

/// The patient's consents as they stood at `at`: for every consent recorded for the
/// patient at or before `at` (revoked since or not), its latest version recorded at or
/// before `at`. Found through the patient's `consent-recorded` audit events.
fn consents_as_of(
    store: &dyn panacea_contracts::state::Store,
    patient: &PatientRef,
    at: Timestamp,
) -> Result<Vec<Consent>, ApiError> {
    let filter = AuditFilter {
        patient: Some(*patient),
        kind: Some(AuditKind::ConsentRecorded),
        to: Some(at),
        ..AuditFilter::default()
    };
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page =
            panacea_contracts::audit::events(store, &filter, after, AUDIT_PAGE_MAX).map_err(ApiError::internal)?;
        ids.extend(page.events.iter().filter_map(|e| e.entity.consent.map(|(id, _)| id)));
        if ids.len() > EVALUATED_CONSENTS_MAX {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_consents",
                format!(
                    "the patient has more than {EVALUATED_CONSENTS_MAX} consents recorded; evaluate on a node export"
                ),
            ));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut out = Vec::new();
    for id in ids {
        if let Some(version) = panacea_contracts::consent::consent_as_of(store, &id, at).map_err(ApiError::internal)? {
            out.push(version);
        }
    }
    Ok(out)
}

/// `GET /v1/patients/{patient}/evaluate?purpose=&data_class=&custodian=&requester=|org=&role=&resource_type=&data_time=&at=`:
/// decides a hypothetical access request against the patient's consents as they stood at
/// `at` (default now), recording nothing. Signed; for the patient, auditors, and members
/// who may read every consent the evaluation considers (an evaluation then reveals
/// nothing they could not read).
#[utoipa::path(get, path = "/v1/patients/{patient}/evaluate", tag = "consent",
    params(("patient" = String, Path, description = "patient reference, hex"), ("purpose" = String, Query, description = "purpose code"), ("data_class" = String, Query, description = "data class code"), ("custodian" = String, Query, description = "the organisation holding the data"), ("requester" = Option<String>, Query, description = "requesting identity id, hex"), ("org" = Option<String>, Query, description = "requesting organisation, without requester"), ("role" = Option<String>, Query, description = "requester's staff role, without requester"), ("resource_type" = Option<String>, Query, description = "FHIR resource type"), ("data_time" = Option<u64>, Query, description = "the data's date, ms since the Unix epoch"), ("at" = Option<u64>, Query, description = "when to evaluate, ms since the Unix epoch"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the decision, its reason and the deciding consents"), (status = 400, description = "bad query"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read every consent considered"), (status = 422, description = "too many consents to reconstruct"), (status = 429, description = "rate limited")))]
pub(super) async fn evaluate(
    State(api): State<ApiState>,
    signed: Signed,
    patient: Result<Path<String>, PathRejection>,
    query: Result<Query<EvaluateQuery>, QueryRejection>,
) -> Result<Json<EvaluationView>, ApiError> {
    let Path(patient) = patient.map_err(|e| bad_request("bad_path", e))?;
    let patient = patient_ref(&patient)?;
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let purpose = code("purpose", &query.purpose, Purpose::from_code)?;
    let data_class = code("data class", &query.data_class, DataClass::from_code)?;
    let resource_type =
        query.resource_type.as_deref().map(|t| code("resource type", t, ResourceType::from_code)).transpose()?;
    if let Some(kind) = resource_type
        && !kind.may_hold(data_class)
    {
        return Err(bad_request("bad_resource_type", format!("a {kind} does not hold {data_class} data")));
    }
    let store = api.shared.storage.state();
    let (requester, requester_org, requester_role) = match (query.requester, query.org) {
        (Some(id), None) if query.role.is_none() => {
            let identity = panacea_contracts::identity::identity(&store, &id)
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no_identity", "no such identity"))?;
            (id, identity.org.clone(), identity.kind.role())
        }
        (None, Some(org)) => {
            let role = query.role.as_deref().map(|r| code("role", r, StaffRole::from_code)).transpose()?;
            // A hypothetical requester: no identity, so no rule naming a person matches.
            (IdentityId(Hash::ZERO), org, role)
        }
        _ => {
            return Err(bad_request(
                "bad_requester",
                "name the requester by identity (requester=) or by organisation and optional role (org=, role=), not both",
            ));
        }
    };
    let at = Timestamp(query.at.unwrap_or_else(|| crate::shell::now().0));
    let consents = consents_as_of(&store, &patient, at)?;
    // Authorised for what the answer reveals: the consents it considers.
    let principal = &signed.principal;
    let readable = |c: &Consent| {
        let org = match &c.recorder {
            Recorder::Custodian { org, .. } => Some(org),
            Recorder::Patient { .. } => None,
        };
        principal.may_read(&patient, org.as_slice())
    };
    // An empty answer ("no consent then") is about every organisation's consents: a
    // member who is not an auditor gets it only as a custodian, one that recorded a
    // consent of the patient in force now.
    let audits = principal.is_auditor() || matches!(principal, crate::auth::Principal::Patient(_));
    let custodian = || -> Result<bool, ApiError> {
        let now = panacea_contracts::consent::consents_of_patient(&store, &patient).map_err(ApiError::internal)?;
        Ok(now.iter().any(|c| matches!(&c.recorder, Recorder::Custodian { .. }) && readable(c)))
    };
    if !consents.iter().all(readable) || (consents.is_empty() && !audits && !custodian()?) {
        return Err(signed.forbidden(&api));
    }
    let request = Request {
        requester,
        requester_org,
        requester_role,
        action: ConsentAction::Access,
        purpose,
        data_class,
        resource_type,
        custodian: query.custodian,
        data_time: query.data_time.map(Timestamp),
        at,
    };
    let decision = panacea_contracts::access::decide(&consents, &request);
    let versions = |ids: &[ConsentId]| -> Vec<(ConsentId, u32)> {
        ids.iter().filter_map(|id| consents.iter().find(|c| c.id == *id).map(|c| (c.id, c.version))).collect()
    };
    let (verdict, deciding, overridden) = match &decision {
        Decision::Permit { consents, overridden } => ("permit", versions(consents), versions(overridden)),
        Decision::Deny { consents, .. } => ("deny", versions(consents), Vec::new()),
    };
    Ok(Json(EvaluationView {
        decision: verdict.to_owned(),
        reason: decision.reason_code().to_owned(),
        consents: deciding,
        overridden,
        at,
        considered: consents.len(),
    }))
}
