//! FHIR Consent: read, vread, search, and create in two steps.
//!
//! Creating a consent puts a transaction on the ledger, which the recorder signs, never the
//! node. A client that cannot encode Panacea transactions itself asks the node first:
//!
//! 1. `POST /fhir/Consent/$prepare` (a signed request whose `x-panacea-content-sha256`
//!    names the body's SHA-256) with the Consent: the node reads it exactly as
//!    `panacea consent record` does (with its organisation's pseudonymisation key when the
//!    signer is an operator or staff member of it) and answers a Parameters resource:
//!    `signingBytes` (hex: what the recorder signs with ed25519), `signingHash`, `nonce`,
//!    `call` (the transaction's call as JSON, to check), `patient` and one `unsupported`
//!    per element the chain does not represent.
//! 2. `POST /fhir/Consent` with the same body and `x-panacea-key`, `x-panacea-tx-nonce`
//!    and `x-panacea-tx-signature`: the node reads the body again the same way, rebuilds
//!    the transaction, checks the signature and submits it, waiting for the commit: 201
//!    with the recorded Consent and its `Location`, 202 if it is still pending, 422 if
//!    the chain refused it.
//!
//! The second step needs no signed-request headers: the transaction's signature
//! authenticates it, and its nonce makes it usable once.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use panacea_contracts::consent::{Consent, ConsentCall, Recorder};
use panacea_contracts::fhir::consent::{ImportedConsent, export, import_with};
use panacea_contracts::ids::ConsentId;
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{Hash, PublicKey, Signature};
use serde_json::{Value, json};

use super::search::{self, SearchError};
use super::{base, check_format, query_string, resource, searchset, strict};
use crate::api::signed::Signed;
use crate::api::transactions::{committed_status, submit_one};
use crate::api::{ApiError, ApiState, bad_request};
use crate::auth::{MemberRole, Principal};

/// The recorder's transaction nonce.
pub(crate) const HEADER_TX_NONCE: &str = "x-panacea-tx-nonce";
/// The recorder's ed25519 signature over the transaction (hex).
pub(crate) const HEADER_TX_SIGNATURE: &str = "x-panacea-tx-signature";

fn search_error(e: SearchError) -> ApiError {
    bad_request("bad_search", e)
}

/// The organisation recording a consent version, if a custodian did.
fn recording_org(consent: &Consent) -> Option<&panacea_contracts::ids::OrgId> {
    match &consent.recorder {
        Recorder::Custodian { org, .. } => Some(org),
        Recorder::Patient { .. } => None,
    }
}

/// Every version of a consent the signer may read (404 for none, 403 if not theirs).
fn readable_history(api: &ApiState, signed: &Signed, id: &str) -> Result<Vec<Consent>, ApiError> {
    let id = ConsentId(Hash::from_hex(id).map_err(|_| bad_request("bad_id", "a Consent id is 64 hex digits"))?);
    let history =
        panacea_contracts::consent::consent_history(&api.shared.storage.state(), &id).map_err(ApiError::internal)?;
    let Some(latest) = history.last() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_consent", "no such Consent"));
    };
    if !signed.principal.may_read(&latest.terms.patient, recording_org(latest).as_slice()) {
        return Err(signed.forbidden(api));
    }
    Ok(history)
}

/// One version as a FHIR answer with its ETag and Content-Location.
fn version_response(status: StatusCode, consent: &Consent, base: &str) -> Response {
    let mut response = resource(status, &export(consent));
    let location = format!("{base}/Consent/{}/_history/{}", consent.id.0, consent.version);
    if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{}\"", consent.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if let Ok(location) = HeaderValue::from_str(&location) {
        let name = if status == StatusCode::CREATED { header::LOCATION } else { header::CONTENT_LOCATION };
        response.headers_mut().insert(name, location);
    }
    response
}

/// `GET /fhir/Consent/{id}`: the consent's latest version.
pub(super) async fn read(
    axum::extract::State(api): State<ApiState>,
    signed: Signed,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let history = readable_history(&api, &signed, &id)?;
    let latest = history.last().ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no_consent", "no such Consent"))?;
    Ok(version_response(StatusCode::OK, latest, &base(&headers)))
}

/// `GET /fhir/Consent/{id}/_history/{version}`: one version.
pub(super) async fn vread(
    State(api): State<ApiState>,
    signed: Signed,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((id, version)) = path.map_err(|e| bad_request("bad_path", e))?;
    let version: u32 = version.parse().map_err(|_| bad_request("bad_version", "a version is a positive integer"))?;
    let history = readable_history(&api, &signed, &id)?;
    let found = history.iter().find(|c| c.version == version).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_version", format!("this Consent has versions 1 to {}", history.len()))
    })?;
    Ok(version_response(StatusCode::OK, found, &base(&headers)))
}

/// `GET /fhir/Consent?patient=&status=&_count=&_offset=`: a patient's consents (each at
/// its latest version) that the signer may read, as a searchset Bundle.
pub(super) async fn search(
    State(api): State<ApiState>,
    signed: Signed,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = search::pairs(query.as_deref()).map_err(search_error)?;
    check_format(&pairs)?;
    search::check_known(&pairs, &["patient", "status", "_count", "_offset", "_format"], strict(&headers))
        .map_err(search_error)?;
    let patient = search::single(&pairs, "patient").map_err(search_error)?.ok_or_else(|| {
        bad_request("bad_search", "search parameter patient is required: patient=Patient/<reference>")
    })?;
    let patient = search::patient(patient).map_err(search_error)?;
    let statuses = search::statuses(&pairs).map_err(search_error)?;
    let count = search::count(&pairs).map_err(search_error)?;
    let offset =
        usize::try_from(search::number(&pairs, "_offset").map_err(search_error)?.unwrap_or(0)).unwrap_or(usize::MAX);
    let consents = panacea_contracts::consent::consents_of_patient(&api.shared.storage.state(), &patient)
        .map_err(ApiError::internal)?;
    let matching: Vec<Value> = consents
        .iter()
        .filter(|c| signed.principal.may_read(&patient, recording_org(c).as_slice()))
        .map(export)
        .filter(|r| statuses.is_empty() || r["status"].as_str().is_some_and(|s| statuses.iter().any(|w| w == s)))
        .collect();
    let base = base(&headers);
    let total = matching.len();
    let page: Vec<(String, Value)> = matching
        .into_iter()
        .skip(offset)
        .take(count)
        .map(|r| (format!("{base}/Consent/{}", r["id"].as_str().unwrap_or_default()), r))
        .collect();
    let mut used = vec![("patient", format!("Patient/{}", patient.0))];
    if !statuses.is_empty() {
        used.push(("status", statuses.join(",")));
    }
    used.push(("_count", count.to_string()));
    let link = |offset: usize| {
        let mut pairs = used.clone();
        pairs.push(("_offset", offset.to_string()));
        format!("{base}/Consent?{}", query_string(&pairs))
    };
    let next = (offset.saturating_add(count) < total).then(|| link(offset + count));
    Ok(resource(StatusCode::OK, &searchset(page, Some(total), link(offset), next)))
}

/// Reads a posted Consent as the recorder with `key` would have it recorded: with this
/// node's pseudonymisation key when the key is an operator's or staff member's of this
/// node's organisation (the custodian's records name the patient), else as it stands.
fn import_for(api: &ApiState, key: &PublicKey, body: &[u8]) -> Result<ImportedConsent, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| bad_request("bad_body", "the Consent is not UTF-8 JSON"))?;
    let principal = crate::auth::resolve(&api.shared.storage.state(), key).map_err(ApiError::internal)?;
    let pseudonymiser = match (api.pseudonyms.as_deref(), principal) {
        (
            Some((org, pseudonymiser)),
            Ok(Principal::Member { org: own, role: MemberRole::Operator | MemberRole::Staff(_) }),
        ) if own == *org => Some(pseudonymiser),
        _ => None,
    };
    // The error may quote the resource, which the caller sent: it is never logged.
    import_with(text, pseudonymiser).map_err(|e| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unusable_consent", format!("not a usable FHIR Consent: {e}"))
    })
}

/// The call a posted Consent makes.
fn record_call(imported: &ImportedConsent) -> Call {
    Call::Consent(ConsentCall::Record { terms: imported.terms.clone(), form_hash: imported.form_hash })
}

/// `POST /fhir/Consent/$prepare`: what the recorder signs to create this Consent.
pub(super) async fn prepare(
    State(api): State<ApiState>,
    signed: Signed,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    if signed.content_sha256 != Some(Hash::digest(&body)) {
        return Err(bad_request(
            "content_mismatch",
            format!("name the body's SHA-256 in {} and sign the request over it", crate::auth::HEADER_CONTENT_SHA256),
        ));
    }
    let pairs = search::pairs(query.as_deref()).map_err(search_error)?;
    let imported = import_for(&api, &signed.key, &body)?;
    let nonce = match search::number(&pairs, "nonce").map_err(search_error)? {
        Some(nonce) => nonce,
        None => {
            let committed =
                panacea_contracts::next_nonce(&api.shared.storage.state(), &signed.key).map_err(ApiError::internal)?;
            api.shared.mempool.lock().map(|pool| pool.next_free_nonce(&signed.key, committed)).unwrap_or(committed)
        }
    };
    let call = record_call(&imported);
    let chain_id = api.shared.chain.chain_id().clone();
    let tx = Transaction { chain_id: chain_id.clone(), signer: signed.key, nonce, call };
    let signing_hash = tx.signing_hash();
    let signing_bytes = Transaction::domain(&chain_id).signing_bytes(signing_hash.as_bytes());
    let string = |name: &str, value: String| json!({ "name": name, "valueString": value });
    let mut parameters = vec![
        string("signingBytes", hex::encode(&signing_bytes)),
        string("signingHash", signing_hash.to_string()),
        string("nonce", nonce.to_string()),
        string("patient", format!("Patient/{}", imported.terms.patient.0)),
        string("call", serde_json::to_string(&tx.call).map_err(ApiError::internal)?),
    ];
    parameters.extend(imported.unsupported.iter().map(|path| string("unsupported", path.clone())));
    Ok(resource(StatusCode::OK, &json!({ "resourceType": "Parameters", "parameter": parameters })))
}

/// `POST /fhir/Consent`: records the Consent with the recorder's transaction signature.
pub(super) async fn create(State(api): State<ApiState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let missing = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unsigned",
            format!(
                "a create carries {}, {HEADER_TX_NONCE} and {HEADER_TX_SIGNATURE}: POST the Consent to /fhir/Consent/$prepare for what to sign",
                crate::auth::HEADER_KEY
            ),
        )
    };
    let (Some(key), Some(nonce), Some(signature)) =
        (header(crate::auth::HEADER_KEY), header(HEADER_TX_NONCE), header(HEADER_TX_SIGNATURE))
    else {
        return Err(missing());
    };
    let mut key_bytes = [0u8; 32];
    hex::decode_to_slice(key, &mut key_bytes).map_err(|_| bad_request("bad_key", "a public key is 64 hex digits"))?;
    let key = PublicKey::from_bytes(key_bytes).map_err(|e| bad_request("bad_key", e))?;
    let nonce: u64 = nonce.parse().map_err(|_| bad_request("bad_nonce", format!("{HEADER_TX_NONCE} is an integer")))?;
    let mut signature_bytes = [0u8; 64];
    hex::decode_to_slice(signature, &mut signature_bytes)
        .map_err(|_| bad_request("bad_signature", "a signature is 128 hex digits"))?;
    let imported = import_for(&api, &key, &body)?;
    let chain_id = api.shared.chain.chain_id().clone();
    let tx = Transaction { chain_id: chain_id.clone(), signer: key, nonce, call: record_call(&imported) };
    let signed_tx = panacea_contracts::SignedTransaction { tx, signature: Signature(signature_bytes) };
    let bytes = panacea_primitives::codec::encode(&signed_tx);
    let shared = api.shared.clone();
    let checked = tokio::task::spawn_blocking(move || {
        crate::mempool::Mempool::check_stateless(&bytes, &chain_id).map(|tx| (tx, bytes))
    })
    .await
    .map_err(ApiError::internal)?;
    let (tx, bytes) = checked?;
    let id = tx.id();
    if committed_status(&shared, id)?.is_none() {
        crate::admission::room_for(&shared, 1)?;
    }
    let (_, waiter) = submit_one(&shared, tx, bytes, true)?;
    if let Some(waiter) = waiter
        && committed_status(&shared, id)?.is_none()
    {
        let _ = tokio::time::timeout(std::time::Duration::from_millis(api.config.wait_timeout_ms_max), waiter).await;
    }
    let base = base(&headers);
    let Some(status) = committed_status(&shared, id)? else {
        let message = format!("transaction {id} is pending; GET /v1/transactions/{id} tells when it commits");
        let mut response = resource(
            StatusCode::ACCEPTED,
            &super::operation_outcome(StatusCode::ACCEPTED, "information", "pending", &message),
        );
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/transactions/{id}")) {
            response.headers_mut().insert(header::CONTENT_LOCATION, location);
        }
        return Ok(response);
    };
    match status.receipt.map(|r| r.outcome) {
        Some(panacea_contracts::Outcome::Ok { events }) => {
            let recorded = events
                .iter()
                .find_map(|e| e.entity.consent)
                .ok_or_else(|| ApiError::internal(format!("transaction {id} recorded no consent")))?;
            let history = panacea_contracts::consent::consent_history(&shared.storage.state(), &recorded.0)
                .map_err(ApiError::internal)?;
            let version = history
                .iter()
                .find(|c| c.version == recorded.1)
                .ok_or_else(|| ApiError::internal(format!("consent {} is not in state", recorded.0.0)))?;
            Ok(version_response(StatusCode::CREATED, version, &base))
        }
        Some(panacea_contracts::Outcome::Failed { code, message }) => {
            let code = serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                &code,
                format!("the chain refused the Consent: {message}"),
            ))
        }
        None => Err(ApiError::internal(format!("transaction {id} committed without a receipt"))),
    }
}
