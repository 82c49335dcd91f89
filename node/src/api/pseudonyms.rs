//! `POST /v1/pseudonyms`: the node's organisation derives a patient's pseudonymous
//! reference from its own record of the patient, with the pseudonymisation key the node
//! holds for it (`api.pseudonym_key_file`). The key and the local reference never leave the
//! node; the local reference travels in the body (never a URL, which proxies log).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use panacea_client_sdk::types::{PseudonymRequest, PseudonymView};
use panacea_contracts::ids::PatientRef;
use panacea_primitives::LocalPatient;

use super::*;
use crate::auth::{MemberRole, Principal};

/// Largest body of a derivation request.
const PSEUDONYM_BODY_BYTES_MAX: usize = 4 * 1024;

/// `POST /v1/pseudonyms`: the reference this node's organisation derives for a patient
/// named as in its records, for its operators and staff only (a member of another
/// organisation, a device or a patient gets 403: the derivation is the custodian's
/// secret). The body's SHA-256 is named in `x-panacea-content-sha256` and signed.
#[utoipa::path(post, path = "/v1/pseudonyms", tag = "consent",
    params(("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-content-sha256" = String, Header, description = "the body's SHA-256, hex, which the signature covers"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    request_body(content = String, description = "`{\"patient\": \"Patient/<id>\"}` or `{\"identifier\": {\"system\": ..., \"value\": ...}}`", content_type = "application/json"),
    responses((status = 200, description = "`{\"patient_ref\": hex}`"), (status = 400, description = "not one valid patient form, or a body other than the signed one"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not an operator or staff member of this node's organisation"), (status = 404, description = "this node holds no pseudonymisation key (`no_pseudonym_key`)"), (status = 429, description = "rate limited")))]
pub(super) async fn derive(
    State(api): State<ApiState>,
    signed: Signed,
    body: Bytes,
) -> Result<Json<PseudonymView>, ApiError> {
    let Some((org, pseudonymiser)) = api.pseudonyms.as_deref() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_pseudonym_key",
            "this node holds no pseudonymisation key (api.pseudonym_key_file); derive references with `panacea pseudonym derive`",
        ));
    };
    match &signed.principal {
        Principal::Member { org: own, role: MemberRole::Operator | MemberRole::Staff(_) } if own == org => {}
        _ => return Err(signed.forbidden(&api)),
    }
    if body.len() > PSEUDONYM_BODY_BYTES_MAX {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the body is at most 4 KiB"));
    }
    if signed.content_sha256 != Some(Hash::digest(&body)) {
        return Err(bad_request(
            "content_mismatch",
            format!("name the body's SHA-256 in {} and sign the request over it", crate::auth::HEADER_CONTENT_SHA256),
        ));
    }
    // The error never repeats the body: it names a patient.
    let request: PseudonymRequest = serde_json::from_slice(&body).map_err(|_| {
        bad_request("bad_body", "expected {\"patient\": \"Patient/<id>\"} or {\"identifier\": {\"system\", \"value\"}}")
    })?;
    let local = match (&request.patient, &request.identifier) {
        (Some(text), None) => match text.strip_prefix("Patient/") {
            Some(id) => LocalPatient::FhirId(id),
            None => return Err(bad_request("bad_patient", "a patient is named Patient/<FHIR id>")),
        },
        (None, Some(identifier)) => LocalPatient::Identifier { system: &identifier.system, value: &identifier.value },
        _ => return Err(bad_request("bad_body", "give exactly one of patient and identifier")),
    };
    let patient_ref = pseudonymiser.derive(local).map_err(|e| bad_request("bad_patient", e))?;
    Ok(Json(PseudonymView { patient_ref: PatientRef(patient_ref) }))
}
