use axum::extract::rejection::PathRejection;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use panacea_primitives::Hash;

use panacea_contracts::access::AccessDecision;
use panacea_contracts::consent::{Consent, Recorder};
use panacea_contracts::ids::{ConsentId, DecisionId};

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

/// `GET /v1/decisions/{id}`: an access decision, for the requesting and custodian
/// organisations, health authorities and the patient.
#[utoipa::path(get, path = "/v1/decisions/{id}", tag = "access",
    params(("id" = String, Path, description = "decision id (the request's transaction id), hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the access decision"), (status = 404, description = "no such decision"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn decision(
    State(api): State<ApiState>,
    signed: Signed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<AccessDecision>, ApiError> {
    let principal = &signed.principal;
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let id = Hash::from_hex(&id).map_err(|_| bad_request("bad_id", "a decision id is 64 hex digits"))?;
    let found = panacea_contracts::access::access_decision(&api.shared.storage.state(), &DecisionId(id))
        .map_err(ApiError::internal)?;
    // Unknown and forbidden look the same to a signer who may not read it.
    match found {
        Some(d) if principal.may_read(&d.patient, &[&d.requester_org, &d.custodian]) => Ok(Json(d)),
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
