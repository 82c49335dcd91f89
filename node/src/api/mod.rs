//! The node's HTTP API (minimal, for the node issue; the full query API is versioned
//! beside it): submit a signed transaction and optionally wait for its commit, read a
//! transaction's status and receipt, a block with its certificate, the node's status,
//! `/metrics` and `/health`.
//!
//! Every error is JSON `{"code": ..., "message": ...}` with a stable code and a message
//! that says what to do.

mod audit;
mod audit_fhir;
mod chain;
mod connections;
mod consent;
mod dashboard;
mod documents;
mod fhir;
mod governance;
mod nudges;
mod products;
mod pseudonyms;
mod records;
mod reviews;
mod risk;
mod security;
mod signed;
mod training;
mod transactions;

pub use signed::{MaybeSigned, Signed};
pub use transactions::SubmitQuery;

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use panacea_client_sdk::types::ErrorBody;
use panacea_primitives::Hash;
use serde::Deserialize;

use panacea_contracts::ids::PatientRef;

use crate::config::ApiConfig;
use crate::mempool::AdmitError;
use crate::ratelimit::RateLimiter;
use crate::shared::Shared;

/// The API's state.
#[derive(Debug, Clone)]
pub struct ApiState {
    shared: Arc<Shared>,
    sharing: Option<crate::workers::sharing::SharingWorker>,
    config: ApiConfig,
    role: &'static str,
    per_address: Arc<RateLimiter>,
    per_key: Arc<RateLimiter>,
    /// The budget for recording refusals without a verified key (see `refused`).
    anonymous_refusals: Arc<RateLimiter>,
    /// Live audit streams open, per key and in all.
    streams: Arc<audit::StreamSlots>,
    /// The node's organisation and its pseudonymisation key, when it holds one.
    pseudonyms: Option<Arc<(panacea_contracts::ids::OrgId, panacea_primitives::Pseudonymiser)>>,
    /// The nudging worker, on a node of an organisation.
    nudges: Option<crate::workers::nudging::NudgingWorker>,
    /// Live nudge streams left.
    nudge_streams: Arc<tokio::sync::Semaphore>,
}

/// An error answer: an HTTP status and a JSON [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// For a 429: seconds after which a retry is likely to succeed (1 if not set).
    retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { code: code.into(), message: message.into() }, retry_after_secs: None }
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "API request failed on a storage error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the node could not read its storage")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        // Every "too many" answer tells the client when to come back.
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            let secs = self.retry_after_secs.unwrap_or(1).max(1);
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

impl From<crate::admission::Overloaded> for ApiError {
    fn from(e: crate::admission::Overloaded) -> ApiError {
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "overloaded", e.to_string());
        error.retry_after_secs = Some(e.retry_after_secs);
        error
    }
}

impl From<AdmitError> for ApiError {
    fn from(e: AdmitError) -> ApiError {
        let (status, code) = match &e {
            AdmitError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "transaction_too_large"),
            AdmitError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_transaction"),
            AdmitError::WrongChain { .. } => (StatusCode::BAD_REQUEST, "wrong_chain"),
            AdmitError::BadSignature => (StatusCode::BAD_REQUEST, "bad_signature"),
            AdmitError::NonceUsed { .. } => (StatusCode::CONFLICT, "nonce_used"),
            AdmitError::NonceTooFar { .. } => (StatusCode::BAD_REQUEST, "nonce_too_far"),
            AdmitError::NonceTaken(_) => (StatusCode::CONFLICT, "nonce_taken"),
            AdmitError::Duplicate => (StatusCode::CONFLICT, "duplicate"),
            AdmitError::Full => (StatusCode::TOO_MANY_REQUESTS, "mempool_full"),
            AdmitError::UnknownSigner { .. } => (StatusCode::FORBIDDEN, "unknown_signer"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// Refusals without a verified key recorded per second, all clients together; past it
/// they are only counted in the metrics.
const ANONYMOUS_REFUSALS_PER_SECOND: u32 = 20;

/// Most items in one page of any list.
const PAGE_MAX: usize = 1_000;

fn bad_request(code: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string())
}

/// The routes.
pub fn router(
    shared: Arc<Shared>,
    config: ApiConfig,
    role: &'static str,
    sharing: Option<crate::workers::sharing::SharingWorker>,
    pseudonyms: Option<(panacea_contracts::ids::OrgId, panacea_primitives::Pseudonymiser)>,
    nudges: Option<crate::workers::nudging::NudgingWorker>,
) -> Router {
    let body_limit = config.body_bytes_max;
    let per_address = config.requests_per_second_per_address;
    let per_key = config.signed_reads_per_second_per_key;
    let state = ApiState {
        shared,
        sharing,
        role,
        per_address: Arc::new(RateLimiter::new(per_address, per_address.saturating_mul(2))),
        per_key: Arc::new(RateLimiter::new(per_key, per_key.saturating_mul(2))),
        anonymous_refusals: Arc::new(RateLimiter::new(
            ANONYMOUS_REFUSALS_PER_SECOND,
            ANONYMOUS_REFUSALS_PER_SECOND * 10,
        )),
        streams: Arc::default(),
        pseudonyms: pseudonyms.map(Arc::new),
        nudges,
        nudge_streams: Arc::new(tokio::sync::Semaphore::new(nudges::NUDGE_STREAMS_MAX)),
        config,
    };
    Router::new()
        .route("/v1/transactions", post(transactions::submit))
        .route("/v1/transactions/batch", post(transactions::submit_batch))
        .route("/v1/transactions/{id}", get(transactions::transaction))
        .route(
            "/v1/ordering/batches",
            post(transactions::submit_opaque_batch)
                .layer(DefaultBodyLimit::max(panacea_primitives::OPAQUE_BATCH_BYTES_MAX)),
        )
        .route("/v1/blocks/{height}", get(chain::block))
        .route("/v1/accounts/{key}/nonce", get(transactions::nonce))
        .route("/v1/patients/{patient}/consents", get(consent::patient_consents))
        .route("/v1/patients/{patient}/accounting", get(audit::patient_accounting))
        .route("/v1/patients/{patient}/evaluate", get(consent::evaluate))
        .route("/v1/pseudonyms", post(pseudonyms::derive))
        .route("/v1/decisions/{id}", get(consent::decision))
        .route("/v1/audit/events", get(audit::audit_events))
        .route("/v1/audit/stream", get(audit::audit_stream))
        .route("/v1/audit/events/fhir", get(audit_fhir::audit_bundle))
        .route("/v1/organisations", get(chain::organisations))
        .route("/v1/organisations/{org}/risk", get(risk::organisation_risk))
        .route("/v1/organisations/{org}/risk/parameters", get(risk::organisation_risk_parameters))
        .route("/v1/organisations/{org}/self-assessment", get(security::self_assessment))
        .route("/v1/organisations/{org}/self-assessment/{version}", get(security::self_assessment_version))
        .route("/v1/security-governance/region", get(security::region))
        .route("/v1/organisations/{org}/connections", get(connections::connections))
        .route("/v1/connections/verify", post(connections::verify))
        .route("/v1/organisations/{org}/training", get(training::training))
        .route("/v1/identities/{id}/credentials", get(training::credentials))
        .route("/v1/nudges", get(nudges::nudges))
        .route("/v1/nudges/stream", get(nudges::stream))
        .route("/v1/nudges/{id}/ack", post(nudges::acknowledge))
        .route("/v1/nudges/rates", get(nudges::rates))
        .route("/v1/products", get(products::products))
        .route("/v1/products/{firmware}", get(products::product))
        .route("/v1/validators", get(chain::validators))
        .route("/v1/governance", get(governance::governance))
        .route("/v1/governance/proposals", get(governance::proposals))
        .route("/v1/governance/proposals/{id}", get(governance::proposal))
        .route("/v1/governance/epochs", get(governance::epochs))
        .route("/v1/organisations/{org}/misbehaviour", get(governance::misbehaviour))
        .route("/v1/organisations/{org}/reviews", get(reviews::reviews))
        .route("/v1/identities/{id}", get(records::identity))
        .route("/v1/proofs/{kind}/{id}", get(records::proof))
        .route("/v1/consents/{id}", get(consent::consent_history))
        .route("/v1/refusals", get(audit::refusals))
        .route(
            "/v1/documents",
            post(documents::upload_document).layer(DefaultBodyLimit::max(documents::DOCUMENT_BYTES_MAX)),
        )
        .route("/v1/deliveries", get(documents::deliveries))
        .route("/v1/deliveries/{decision}/{document}", get(documents::delivery))
        .route("/v1/deliveries/{decision}/{document}/chunks/{index}", get(documents::delivery_chunk))
        .route("/v1/status", get(chain::status))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(chain::metrics))
        .route("/health", get(chain::health))
        .merge(fhir::routes())
        .route("/dashboard", get(dashboard::redirect))
        .route("/dashboard/", get(dashboard::index))
        .route("/dashboard/{*asset}", get(dashboard::asset))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), limits))
        // Outermost: every error on a /fhir path, whichever layer made it, becomes an
        // OperationOutcome.
        .layer(middleware::from_fn(fhir::outcomes))
        .with_state(state)
}

fn rate_limited(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests {what}; slow down and retry"),
    )
}

/// Per-address rate limit and a time limit on every request (submit-and-wait gets its
/// own wait on top).
async fn limits(
    State(api): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !api.per_address.allow(&peer.ip().to_string(), Instant::now()) {
        api.shared.metrics.api_refusals.inc();
        return rate_limited("from this address").into_response();
    }
    let mut limit = Duration::from_millis(api.config.request_timeout_ms);
    if request.uri().path().starts_with("/v1/documents") || request.uri().path().starts_with("/v1/deliveries") {
        // Documents stream in and out at the client's pace; their size is capped instead.
        limit = Duration::from_secs(3_600);
    } else if request.method() == Method::POST {
        limit += Duration::from_millis(api.config.wait_timeout_ms_max);
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the node took too long; retry later")
            .into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see docs/node.md for the API")
}

fn patient_ref(text: &str) -> Result<PatientRef, ApiError> {
    Hash::from_hex(text).map(PatientRef).map_err(|_| bad_request("bad_patient", "a patient reference is 64 hex digits"))
}

/// `GET /v1/patients/{patient}/accounting?after=SEQ&limit=N` query.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Continue after this audit sequence number (the previous page's `next`).
    pub after: Option<u64>,
    /// Most items (capped by the node).
    pub limit: Option<usize>,
}

/// The OpenAPI document of this API, generated from the handlers' annotations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Panacea node API",
        version = "1",
        description = "Consents, access decisions and audit of a Panacea health-information consortium. Signed reads: see docs/node.md."
    ),
    paths(
        transactions::submit,
        transactions::submit_batch,
        transactions::submit_opaque_batch,
        transactions::transaction,
        chain::block,
        transactions::nonce,
        chain::status,
        chain::organisations,
        chain::validators,
        records::identity,
        records::proof,
        consent::consent_history,
        audit::refusals,
        documents::upload_document,
        documents::deliveries,
        documents::delivery,
        documents::delivery_chunk,
        consent::patient_consents,
        audit::patient_accounting,
        consent::decision,
        consent::evaluate,
        pseudonyms::derive,
        risk::organisation_risk,
        risk::organisation_risk_parameters,
        products::products,
        products::product,
        nudges::nudges,
        nudges::stream,
        nudges::acknowledge,
        nudges::rates,
        security::self_assessment,
        security::self_assessment_version,
        security::region,
        connections::connections,
        connections::verify,
        training::training,
        training::credentials,
        governance::governance,
        governance::proposals,
        governance::proposal,
        governance::epochs,
        governance::misbehaviour,
        reviews::reviews,
        audit::audit_events,
        audit::audit_stream,
        audit_fhir::audit_bundle,
        chain::metrics,
        chain::health
    )
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<ApiDoc as utoipa::OpenApi>::openapi())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc = <super::ApiDoc as utoipa::OpenApi>::openapi();
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        for route in [
            "/v1/transactions",
            "/v1/transactions/{id}",
            "/v1/blocks/{height}",
            "/v1/accounts/{key}/nonce",
            "/v1/status",
            "/v1/organisations",
            "/v1/identities/{id}",
            "/v1/patients/{patient}/consents",
            "/v1/patients/{patient}/accounting",
            "/v1/decisions/{id}",
            "/v1/audit/events",
            "/v1/audit/stream",
            "/v1/audit/events/fhir",
            "/v1/organisations/{org}/reviews",
            "/v1/products",
            "/v1/products/{firmware}",
            "/v1/nudges",
            "/v1/nudges/stream",
            "/v1/nudges/{id}/ack",
            "/v1/nudges/rates",
            "/v1/organisations/{org}/self-assessment",
            "/v1/organisations/{org}/self-assessment/{version}",
            "/v1/security-governance/region",
            "/v1/organisations/{org}/connections",
            "/v1/connections/verify",
            "/v1/organisations/{org}/training",
            "/v1/identities/{id}/credentials",
            "/metrics",
            "/health",
        ] {
            assert!(paths.contains(&route), "{route} is missing from {paths:?}");
        }
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    }
}
