//! The FHIR R4 REST facade: the chain's consents and audit log as FHIR resources, for
//! the FHIR servers and clients hospitals already run.
//!
//! - `GET /fhir/metadata`: the CapabilityStatement (unsigned, as FHIR expects).
//! - `GET /fhir/Consent/{id}`, `GET /fhir/Consent/{id}/_history/{version}`,
//!   `GET /fhir/Consent?patient=&status=&_count=&_offset=`: signed reads, authorised
//!   exactly as `/v1/consents/{id}` and `/v1/patients/{patient}/consents`.
//! - `GET /fhir/AuditEvent?patient=&date=&agent=&subtype=&_count=&_cursor=`: signed,
//!   authorised as `/v1/audit/events`.
//! - `POST /fhir/Consent/$prepare` then `POST /fhir/Consent`: recording a consent from a
//!   FHIR Consent, signed by the recorder as the CLI's `consent record` is (see
//!   [`consent`]).
//!
//! Every answer is `application/fhir+json`; every error, including those of the shared
//! layers (rate limits, time limits, unknown routes, signed-request refusals), is an
//! OperationOutcome: [`outcomes`] rewrites the API's JSON errors on `/fhir` paths.

mod audit;
mod consent;
mod search;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use super::{ApiError, ApiState};

/// The media type of every answer.
pub(crate) const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
/// The FHIR version served.
pub(crate) const FHIR_VERSION: &str = "4.0.1";
/// Largest error body the translation reads (the API's errors are small).
const ERROR_BODY_BYTES_MAX: usize = 64 * 1024;

/// The facade's routes.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/fhir/metadata", get(metadata))
        .route("/fhir/Consent", get(consent::search).post(consent::create))
        .route("/fhir/Consent/$prepare", post(consent::prepare))
        .route("/fhir/Consent/{id}", get(consent::read))
        .route("/fhir/Consent/{id}/_history/{version}", get(consent::vread))
        .route("/fhir/AuditEvent", get(audit::search))
        .route("/fhir", any(unsupported))
        .route("/fhir/{*rest}", any(unsupported))
}

/// A FHIR JSON answer.
fn resource(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))], body.to_string()).into_response()
}

/// The OperationOutcome issue type of an HTTP status.
fn issue_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 406 | 415 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 | 405 => "not-supported",
        409 => "conflict",
        410 => "deleted",
        413 => "too-long",
        422 => "processing",
        429 => "throttled",
        503 => "transient",
        _ => "exception",
    }
}

/// An OperationOutcome of one issue: `severity`, Panacea's error `code` (also in
/// `details.coding`, system `https://panacea.example/fhir/error`) and a message saying
/// what to do.
pub(crate) fn operation_outcome(status: StatusCode, severity: &str, code: &str, message: &str) -> Value {
    let issue_code = if status.is_success() { "informational" } else { issue_type(status) };
    let issue_code = if code == "not_found" || code.starts_with("no_") { "not-found" } else { issue_code };
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": severity,
            "code": issue_code,
            "details": {
                "coding": [{ "system": "https://panacea.example/fhir/error", "code": code }],
                "text": message,
            },
            "diagnostics": message,
        }],
    })
}

/// An error answer as an OperationOutcome.
fn outcome_response(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = resource(status, &operation_outcome(status, "error", code, message));
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

async fn unsupported() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_supported",
        "this FHIR server serves Consent (read, vread, search, create) and AuditEvent (search); see GET /fhir/metadata",
    )
}

/// Rewrites every error answer on a `/fhir` path that is not FHIR already (the API's
/// JSON errors, axum's plain-text rejections) into an OperationOutcome with the same
/// status, keeping the error code and message.
pub(super) async fn outcomes(request: Request, next: Next) -> Response {
    let fhir = request.uri().path() == "/fhir" || request.uri().path().starts_with("/fhir/");
    let response = next.run(request).await;
    let status = response.status();
    if !fhir || !(status.is_client_error() || status.is_server_error()) || is_fhir(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, ERROR_BODY_BYTES_MAX).await.unwrap_or_default();
    let (code, message) = match serde_json::from_slice::<panacea_client_sdk::types::ErrorBody>(&bytes) {
        Ok(error) => (error.code, error.message),
        Err(_) => {
            let text = String::from_utf8_lossy(&bytes).trim().chars().take(500).collect::<String>();
            let reason = status.canonical_reason().unwrap_or("error").to_lowercase().replace(' ', "_");
            let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
            (reason, message)
        }
    };
    let mut rewritten = outcome_response(status, &code, &message);
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

fn is_fhir(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/fhir+json"))
}

/// Refuses `_format` values other than JSON (406): this server writes JSON only.
fn check_format(pairs: &[(String, String)]) -> Result<(), ApiError> {
    match pairs.iter().find(|(name, _)| name == "_format") {
        Some((_, value)) if !value.contains("json") => {
            Err(ApiError::new(StatusCode::NOT_ACCEPTABLE, "json_only", "this server writes application/fhir+json only"))
        }
        _ => Ok(()),
    }
}

/// True if the client asked for strict handling of unknown search parameters.
fn strict(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.replace(' ', "").contains("handling=strict"))
}

/// The absolute base of links in Bundles (`http://HOST/fhir`), from the request's Host
/// header; relative links when it has none.
fn base(headers: &HeaderMap) -> String {
    match headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
        Some(host) if host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) => {
            format!("http://{host}/fhir")
        }
        _ => "/fhir".to_owned(),
    }
}

/// A searchset Bundle: `entries` are the page's resources with their `fullUrl`, `self`
/// the link that reproduces the page, `next` the following page's link if any.
fn searchset(entries: Vec<(String, Value)>, total: Option<usize>, self_link: String, next: Option<String>) -> Value {
    let mut links = vec![json!({ "relation": "self", "url": self_link })];
    if let Some(next) = next {
        links.push(json!({ "relation": "next", "url": next }));
    }
    let mut bundle = json!({ "resourceType": "Bundle", "type": "searchset", "link": links });
    if let Some(total) = total {
        bundle["total"] = json!(total);
    }
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(
            entries
                .into_iter()
                .map(|(url, resource)| json!({ "fullUrl": url, "resource": resource, "search": { "mode": "match" } }))
                .collect(),
        );
    }
    bundle
}

/// A query string of the given parameters, URL-encoded.
fn query_string(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// `GET /fhir/metadata`: what this server does, as a CapabilityStatement.
async fn metadata() -> Response {
    resource(StatusCode::OK, &capability_statement())
}

/// The CapabilityStatement.
pub(crate) fn capability_statement() -> Value {
    let signed = "Every read and $prepare is a signed request: headers x-panacea-key, x-panacea-timestamp, \
        x-panacea-nonce and x-panacea-signature (ed25519 over the request line, the body's SHA-256, the time, \
        the nonce and this node's id; see docs/node.md, Signed reads). A create carries the recorder's \
        transaction signature in x-panacea-key, x-panacea-tx-nonce and x-panacea-tx-signature.";
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "publisher": "Panacea",
        "kind": "instance",
        "software": { "name": "Panacea", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Panacea node: consents and audit of a health-information consortium, from its ledger" },
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Consents and the audit log of the consortium's ledger. Patients are named by pseudonymous references (Patient/<64 hex>).",
            "security": {
                "service": [{
                    "coding": [{ "system": "https://panacea.example/fhir/CodeSystem/security-service", "code": "signed-request" }],
                    "text": "Panacea signed requests",
                }],
                "description": signed,
            },
            "resource": [
                {
                    "type": "Consent",
                    "interaction": [{ "code": "read" }, { "code": "vread" }, { "code": "search-type" }, { "code": "create" }],
                    "versioning": "versioned",
                    "readHistory": false,
                    "updateCreate": false,
                    "searchParam": [
                        { "name": "patient", "type": "reference", "documentation": "required: Patient/<pseudonymous reference>" },
                        { "name": "status", "type": "token", "documentation": "consent-state-codes; a,b for either" },
                        { "name": "_count", "type": "number", "documentation": "page size, at most 1000" },
                        { "name": "_offset", "type": "number", "documentation": "paging: set by the next link" },
                    ],
                    "operation": [{
                        "name": "prepare",
                        "definition": "https://panacea.example/fhir/OperationDefinition/Consent-prepare",
                        "documentation": "POST a Consent: the exact bytes the recorder signs to create it (signingBytes), with the nonce, the call and the elements not represented",
                    }],
                },
                {
                    "type": "AuditEvent",
                    "interaction": [{ "code": "search-type" }],
                    "searchParam": [
                        { "name": "patient", "type": "reference", "documentation": "Patient/<pseudonymous reference>" },
                        { "name": "date", "type": "date", "documentation": "recorded; prefixes ge, gt, le, lt, eq; repeat for a range" },
                        { "name": "agent", "type": "reference", "documentation": "Practitioner/<identity>, Device/<identity> or Organization/<id>" },
                        { "name": "subtype", "type": "token", "documentation": "the Panacea audit kind, e.g. break-glass" },
                        { "name": "_count", "type": "number", "documentation": "page size, at most 1000" },
                        { "name": "_cursor", "type": "number", "documentation": "paging: set by the next link" },
                    ],
                },
            ],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_carry_the_status_issue_type_and_code() {
        let outcome = operation_outcome(StatusCode::FORBIDDEN, "error", "forbidden", "no");
        assert_eq!(outcome["issue"][0]["code"], "forbidden");
        assert_eq!(outcome["issue"][0]["details"]["coding"][0]["code"], "forbidden");
        let outcome = operation_outcome(StatusCode::NOT_FOUND, "error", "no_consent", "none");
        assert_eq!(outcome["issue"][0]["code"], "not-found");
        let outcome = operation_outcome(StatusCode::TOO_MANY_REQUESTS, "error", "rate_limited", "slow");
        assert_eq!(outcome["issue"][0]["code"], "throttled");
    }

    #[test]
    fn links_use_only_a_plain_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8645"));
        assert_eq!(base(&headers), "http://127.0.0.1:8645/fhir");
        headers.insert(header::HOST, HeaderValue::from_static("evil.example/x?"));
        assert_eq!(base(&headers), "/fhir");
    }

    #[test]
    fn the_capability_statement_names_r4_and_both_resources() {
        let statement = capability_statement();
        assert_eq!(statement["fhirVersion"], "4.0.1");
        let types: Vec<&str> =
            statement["rest"][0]["resource"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["Consent", "AuditEvent"]);
    }
}
