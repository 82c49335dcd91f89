//! The node's HTTP API (minimal, for the node issue; the full query API is versioned
//! beside it): submit a signed transaction and optionally wait for its commit, read a
//! transaction's status and receipt, a block with its certificate, the node's status,
//! `/metrics` and `/health`.
//!
//! Every error is JSON `{"code": ..., "message": ...}` with a stable code and a message
//! that says what to do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use libp2p::PeerId;
use panacea_client_sdk::types::{
    AccountingPage, AuditQuery, BATCH_TRANSACTIONS_MAX, BatchItem, BatchSubmitRequest, BlockView, DeliveryView,
    ErrorBody, NonceView, OpaqueBatchStatus, ProofView, RefusalPage, RefusalView, StatusView, StoredDocumentView,
    SubmitRequest, TxState, TxStatus, ValidatorSetView, ValidatorView,
};
use panacea_contracts::SignedTransaction;
use panacea_contracts::membership::ChainMode;
use panacea_primitives::{Hash, Height, OpaqueBatch, codec};
use serde::Deserialize;

use panacea_contracts::access::AccessDecision;
use panacea_contracts::consent::{Consent, Recorder};
use panacea_contracts::ids::{ConsentId, DecisionId, IdentityId, OrgId, PatientRef};
use panacea_contracts::provable::Record;

use crate::auth::{self, Principal, SignedHeaders};
use crate::config::ApiConfig;
use crate::mempool::{AdmitError, Mempool};
use crate::ordering::BatchAdmitError;
use crate::payload::BlockBody;
use crate::proofs::ProofError;
use crate::ratelimit::RateLimiter;
use crate::shared::Shared;

/// The API's state.
#[derive(Debug, Clone)]
pub struct ApiState {
    shared: Arc<Shared>,
    sharing: Option<crate::sharing::SharingWorker>,
    config: ApiConfig,
    role: &'static str,
    per_address: Arc<RateLimiter>,
    per_key: Arc<RateLimiter>,
}

/// An error answer: an HTTP status and a JSON [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { code: code.into(), message: message.into() } }
    }

    fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "API request failed on a storage error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the node could not read its storage")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
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
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// Most items in one page of any list.
const PAGE_MAX: usize = 1_000;

fn bad_request(code: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string())
}

/// `POST /v1/transactions` query.
#[derive(Debug, Default, Deserialize)]
pub struct SubmitQuery {
    /// Wait until the transaction commits (or `timeout_ms` passes).
    #[serde(default)]
    pub wait: bool,
    /// How long to wait, in milliseconds (capped by the node's configuration).
    pub timeout_ms: Option<u64>,
}

/// The routes.
pub fn router(
    shared: Arc<Shared>,
    config: ApiConfig,
    role: &'static str,
    sharing: Option<crate::sharing::SharingWorker>,
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
        config,
    };
    Router::new()
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/batch", post(submit_batch))
        .route("/v1/transactions/{id}", get(transaction))
        .route(
            "/v1/ordering/batches",
            post(submit_opaque_batch).layer(DefaultBodyLimit::max(panacea_primitives::OPAQUE_BATCH_BYTES_MAX)),
        )
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/accounts/{key}/nonce", get(nonce))
        .route("/v1/patients/{patient}/consents", get(patient_consents))
        .route("/v1/patients/{patient}/accounting", get(patient_accounting))
        .route("/v1/decisions/{id}", get(decision))
        .route("/v1/audit/events", get(audit_events))
        .route("/v1/audit/stream", get(audit_stream))
        .route("/v1/organisations", get(organisations))
        .route("/v1/validators", get(validators))
        .route("/v1/identities/{id}", get(identity))
        .route("/v1/proofs/{kind}/{id}", get(proof))
        .route("/v1/consents/{id}", get(consent_history))
        .route("/v1/refusals", get(refusals))
        .route("/v1/documents", post(upload_document).layer(DefaultBodyLimit::max(DOCUMENT_BYTES_MAX)))
        .route("/v1/deliveries", get(deliveries))
        .route("/v1/deliveries/{decision}/{document}", get(delivery))
        .route("/v1/deliveries/{decision}/{document}/chunks/{index}", get(delivery_chunk))
        .route("/v1/status", get(status))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), limits))
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

fn committed_status(shared: &Shared, id: Hash) -> Result<Option<TxStatus>, ApiError> {
    Ok(shared.storage.receipt(&id).map_err(ApiError::internal)?.map(|(height, receipt)| TxStatus {
        id,
        status: TxState::Committed,
        height: Some(height),
        receipt: Some(receipt),
    }))
}

fn pending(id: Hash) -> TxStatus {
    TxStatus { id, status: TxState::Pending, height: None, receipt: None }
}

/// Admits a checked transaction to the pool and queues it for gossip. Already pending
/// is not an error: submission is idempotent.
pub(crate) fn admit(shared: &Shared, tx: SignedTransaction, bytes: Vec<u8>) -> Result<Hash, AdmitError> {
    let next = panacea_contracts::next_nonce(&shared.storage.state(), &tx.tx.signer).map_err(|e| {
        tracing::error!(error = %e, "cannot read a nonce");
        AdmitError::Full
    })?;
    let size = bytes.len();
    let result = match shared.mempool.lock() {
        Ok(mut pool) => pool.insert(tx, size, next, Instant::now()),
        Err(_) => Err(AdmitError::Full),
    };
    match result {
        Ok((id, _)) => {
            shared.mempool_notify.notify_one();
            if shared.gossip.try_send(bytes).is_err() {
                tracing::debug!("gossip queue full; the transaction stays in this node's pool");
            }
            Ok(id)
        }
        Err(AdmitError::Full) => {
            shared.metrics.mempool_full.inc();
            Err(AdmitError::Full)
        }
        Err(e) => Err(e),
    }
}

/// Admits transactions gossiped by `from` (on the admission task).
pub fn admit_gossiped(shared: &Shared, from: PeerId, transactions: Vec<Vec<u8>>) {
    if shared.chain.genesis.mode == ChainMode::OrderingOnly {
        return admit_gossiped_batches(shared, from, transactions);
    }
    let chain_id = shared.chain.chain_id();
    let checked = Mempool::check_stateless_batch(&transactions, chain_id);
    for (bytes, checked) in transactions.iter().zip(checked) {
        let tx = match checked {
            Ok(tx) => tx,
            Err(e) => {
                tracing::debug!(peer = %from, error = %e, "gossiped transaction refused");
                continue;
            }
        };
        let next = match panacea_contracts::next_nonce(&shared.storage.state(), &tx.tx.signer) {
            Ok(next) => next,
            Err(_) => continue,
        };
        if let Ok(mut pool) = shared.mempool.lock()
            && pool.insert(tx, bytes.len(), next, Instant::now()).is_ok()
        {
            shared.mempool_notify.notify_one();
        }
    }
}

/// [`admit_gossiped`] on an ordering-only chain, where each gossiped item is a framed
/// opaque batch.
fn admit_gossiped_batches(shared: &Shared, from: PeerId, batches: Vec<Vec<u8>>) {
    for bytes in batches {
        let batch = match OpaqueBatch::from_framed(bytes) {
            Ok(batch) => batch,
            Err(e) => {
                tracing::debug!(peer = %from, error = %e, "gossiped batch refused");
                continue;
            }
        };
        if let Ok(mut pool) = shared.batches.lock()
            && pool.admit(batch).is_ok()
        {
            shared.mempool_notify.notify_one();
        }
    }
}

#[utoipa::path(post, path = "/v1/transactions", tag = "transactions",
    params(("wait" = Option<bool>, Query, description = "wait for the commit"), ("timeout_ms" = Option<u64>, Query, description = "how long to wait")),
    request_body(content = String, description = "`{\"tx\": \"<hex of the signed transaction>\"}`", content_type = "application/json"),
    responses((status = 200, description = "committed, with the receipt"), (status = 202, description = "pending"),
        (status = 400, description = "malformed, wrong chain or bad signature"), (status = 409, description = "nonce used or taken"),
        (status = 413, description = "too large"), (status = 429, description = "pool full or rate limited: try later")))]
async fn submit(
    State(api): State<ApiState>,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    body: Result<Json<SubmitRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let Json(body) = body.map_err(|e| bad_request("bad_json", e.body_text()))?;
    let bytes = hex::decode(body.tx.trim()).map_err(|e| bad_request("bad_hex", format!("tx must be hex: {e}")))?;
    let shared = api.shared.clone();
    let chain_id = shared.chain.chain_id().clone();
    // Signature checks are CPU work: keep them off the async workers.
    let checked = tokio::task::spawn_blocking(move || {
        let tx = Mempool::check_stateless(&bytes, &chain_id)?;
        Ok::<_, AdmitError>((tx, bytes))
    })
    .await
    .map_err(ApiError::internal)?;
    let (tx, bytes) = checked?;
    let id = tx.tx.id();
    let (status, waiter) = submit_one(&shared, tx, bytes, query.wait)?;
    let Some(waiter) = waiter else {
        let code = if status.status == TxState::Committed { StatusCode::OK } else { StatusCode::ACCEPTED };
        return Ok((code, Json(status)).into_response());
    };
    let cap = api.config.wait_timeout_ms_max;
    let timeout = Duration::from_millis(query.timeout_ms.unwrap_or(cap).min(cap));
    if committed_status(&shared, id)?.is_none() {
        let _ = tokio::time::timeout(timeout, waiter).await;
    }
    match committed_status(&shared, id)? {
        Some(done) => Ok((StatusCode::OK, Json(done)).into_response()),
        None => Ok((StatusCode::ACCEPTED, Json(pending(id))).into_response()),
    }
}

/// Admits one checked transaction, idempotently: its status now (committed, or pending)
/// and, with `wait`, a pending one's commit waiter, registered before admission so that a
/// commit in between is not missed.
fn submit_one(
    shared: &Shared,
    tx: SignedTransaction,
    bytes: Vec<u8>,
    wait: bool,
) -> Result<(TxStatus, Option<tokio::sync::oneshot::Receiver<()>>), ApiError> {
    let id = tx.tx.id();
    if let Some(done) = committed_status(shared, id)? {
        return Ok((done, None));
    }
    let waiter = if wait {
        Some(
            shared
                .waiters
                .register(id)
                .map_err(|e| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", e.to_string()))?,
        )
    } else {
        None
    };
    match admit(shared, tx, bytes) {
        // A transaction already pending is simply waited for.
        Ok(_) | Err(AdmitError::Duplicate) => Ok((pending(id), waiter)),
        // It may have committed between the first check and admission.
        Err(e @ AdmitError::NonceUsed { .. }) => match committed_status(shared, id)? {
            Some(done) => Ok((done, None)),
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(post, path = "/v1/transactions/batch", tag = "transactions",
    params(("wait" = Option<bool>, Query, description = "wait until all commit"), ("timeout_ms" = Option<u64>, Query, description = "how long to wait")),
    request_body(content = String, description = "`{\"txs\": [\"<hex>\", ...]}`, at most 1,000", content_type = "application/json"),
    responses((status = 200, description = "one item per transaction, in order: `{\"status\"}` (committed or pending) or `{\"error\"}`"),
        (status = 400, description = "malformed body"), (status = 413, description = "too many transactions or too large")))]
async fn submit_batch(
    State(api): State<ApiState>,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    body: Result<Json<BatchSubmitRequest>, JsonRejection>,
) -> Result<Json<Vec<BatchItem>>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let Json(body) = body.map_err(|e| bad_request("bad_json", e.body_text()))?;
    if body.txs.len() > BATCH_TRANSACTIONS_MAX {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("at most {BATCH_TRANSACTIONS_MAX} transactions per batch"),
        ));
    }
    let shared = api.shared.clone();
    let chain_id = shared.chain.chain_id().clone();
    // Hex decoding and signature checks are CPU work: off the async workers, in one go,
    // with one batch signature check.
    let checked = tokio::task::spawn_blocking(move || {
        let decoded: Vec<Result<Vec<u8>, ApiError>> = body
            .txs
            .iter()
            .map(|text| {
                hex::decode(text.trim()).map_err(|e| bad_request("bad_hex", format!("a transaction must be hex: {e}")))
            })
            .collect();
        let valid: Vec<&Vec<u8>> = decoded.iter().flatten().collect();
        let mut verdicts = Mempool::check_stateless_batch(&valid, &chain_id).into_iter();
        decoded
            .into_iter()
            .map(|bytes| {
                let bytes = bytes?;
                let tx = verdicts.next().unwrap_or(Err(AdmitError::Malformed("unchecked".into())))?;
                Ok::<_, ApiError>((tx, bytes))
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(ApiError::internal)?;
    let refused = |e: ApiError| BatchItem { status: None, error: Some(e.body) };
    let mut items = Vec::with_capacity(checked.len());
    let mut waiters = Vec::new();
    for result in checked {
        match result.and_then(|(tx, bytes)| submit_one(&shared, tx, bytes, query.wait)) {
            Ok((status, waiter)) => {
                waiters.extend(waiter);
                items.push(BatchItem { status: Some(status), error: None });
            }
            Err(e) => items.push(refused(e)),
        }
    }
    if !waiters.is_empty() {
        let cap = api.config.wait_timeout_ms_max;
        let timeout = Duration::from_millis(query.timeout_ms.unwrap_or(cap).min(cap));
        let _ = tokio::time::timeout(timeout, futures::future::join_all(waiters)).await;
        for item in &mut items {
            if let Some(status) = &item.status
                && status.status == TxState::Pending
                && let Some(done) = committed_status(&shared, status.id)?
            {
                item.status = Some(done);
            }
        }
    }
    Ok(Json(items))
}

#[utoipa::path(post, path = "/v1/ordering/batches", tag = "transactions",
    params(("wait" = Option<bool>, Query, description = "wait for the commit"), ("timeout_ms" = Option<u64>, Query, description = "how long to wait")),
    request_body(content = Vec<u8>, description = "opaque transactions, each framed as a little-endian u32 length and its bytes (at most 1 MiB)", content_type = "application/octet-stream"),
    responses((status = 200, description = "committed: `{\"batch\", \"transactions\", \"status\"}`"), (status = 202, description = "pending"),
        (status = 400, description = "malformed framing"), (status = 409, description = "not a validator of an ordering-only chain"),
        (status = 413, description = "too large"), (status = 429, description = "pool full: try later")))]
/// The consensus-only benchmark's submission: an ordering-only chain orders opaque
/// transactions without signatures or execution. A contracts chain refuses them.
async fn submit_opaque_batch(
    State(api): State<ApiState>,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let shared = api.shared.clone();
    if shared.chain.genesis.mode != ChainMode::OrderingOnly {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_ordering_only",
            "this chain executes signed transactions; opaque batches go to an ordering-only benchmark chain",
        ));
    }
    if api.role != "validator" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_a_validator",
            "only validators propose opaque batches; submit to a validator",
        ));
    }
    // Hashing up to 1 MiB is CPU work: off the async workers.
    let (batch, id) = tokio::task::spawn_blocking(move || {
        let batch = OpaqueBatch::from_framed(body.to_vec())?;
        let id = batch.id();
        Ok::<_, panacea_primitives::OpaqueBatchError>((batch, id))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| bad_request("bad_batch", e))?;
    let transactions = batch.count() as u64;
    let waiter = if query.wait {
        Some(
            shared
                .waiters
                .register(id)
                .map_err(|e| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", e.to_string()))?,
        )
    } else {
        None
    };
    // Every validator holds it, so whichever leads next can propose it.
    let gossip = batch.as_bytes().to_vec();
    let admitted = shared.batches.lock().map_err(|_| ApiError::internal("batch pool lock poisoned"))?.admit(batch);
    match admitted {
        Ok(_) => {
            if shared.gossip.try_send(gossip).is_err() {
                shared.metrics.dropped_events.inc();
            }
            shared.mempool_notify.notify_one();
        }
        // A batch already pending is simply waited for.
        Err(BatchAdmitError::Duplicate) => {}
        Err(BatchAdmitError::Full) => {
            return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "pool_full", BatchAdmitError::Full.to_string()));
        }
    }
    let mut status = OpaqueBatchStatus { batch: id, transactions, status: TxState::Pending };
    if let Some(waiter) = waiter {
        let cap = api.config.wait_timeout_ms_max;
        let timeout = Duration::from_millis(query.timeout_ms.unwrap_or(cap).min(cap));
        if let Ok(Ok(())) = tokio::time::timeout(timeout, waiter).await {
            status.status = TxState::Committed;
        }
    }
    let code = if status.status == TxState::Committed { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((code, Json(status)).into_response())
}

#[utoipa::path(get, path = "/v1/accounts/{key}/nonce", tag = "transactions",
    params(("key" = String, Path, description = "public key, hex")),
    responses((status = 200, description = "`{\"next_nonce\"}`"), (status = 400, description = "bad key")))]
async fn nonce(
    State(api): State<ApiState>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Json<NonceView>, ApiError> {
    let Path(key) = key.map_err(|e| bad_request("bad_path", e))?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(key.trim(), &mut bytes)
        .map_err(|e| bad_request("bad_key", format!("a public key is 64 hex digits: {e}")))?;
    let key = panacea_primitives::PublicKey::from_bytes(bytes).map_err(|e| bad_request("bad_key", e))?;
    let next_nonce = panacea_contracts::next_nonce(&api.shared.storage.state(), &key).map_err(ApiError::internal)?;
    Ok(Json(NonceView { next_nonce }))
}

#[utoipa::path(get, path = "/v1/transactions/{id}", tag = "transactions",
    params(("id" = String, Path, description = "transaction id, hex")),
    responses((status = 200, description = "committed (with receipt), pending or unknown"), (status = 400, description = "bad id")))]
async fn transaction(
    State(api): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<TxStatus>, ApiError> {
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let id =
        Hash::from_hex(&id).map_err(|e| bad_request("bad_id", format!("a transaction id is 64 hex digits: {e}")))?;
    if let Some(done) = committed_status(&api.shared, id)? {
        return Ok(Json(done));
    }
    let held = api.shared.mempool.lock().is_ok_and(|p| p.contains(&id));
    if held {
        Ok(Json(pending(id)))
    } else {
        Ok(Json(TxStatus { id, status: TxState::Unknown, height: None, receipt: None }))
    }
}

#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain",
    params(("height" = String, Path, description = "a height or `latest`")),
    responses((status = 200, description = "the block, its state root and its commit certificate"), (status = 404, description = "no such block")))]
async fn block(
    State(api): State<ApiState>,
    height: Result<Path<String>, PathRejection>,
) -> Result<Json<BlockView>, ApiError> {
    let Path(height) = height.map_err(|e| bad_request("bad_path", e))?;
    let storage = &api.shared.storage;
    let height = if height == "latest" {
        storage.committed_height().map_err(ApiError::internal)?.unwrap_or(Height::ZERO)
    } else {
        Height(height.parse::<u64>().map_err(|_| bad_request("bad_height", "height must be a number or `latest`"))?)
    };
    let Some(block) = storage.block(height).map_err(ApiError::internal)? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_block", format!("no committed block at height {height}")));
    };
    let certificate = storage.certificate(height).map_err(ApiError::internal)?;
    let (time, transactions) = if height == Height::ZERO {
        (api.shared.chain.genesis.time.as_millis(), Vec::new())
    } else {
        let body =
            BlockBody::decode_in::<{ 16 * 1024 * 1024 }>(api.shared.chain.genesis.mode, &block.payload, usize::MAX)
                .map_err(ApiError::internal)?;
        (body.time().as_millis(), body.item_ids())
    };
    Ok(Json(BlockView {
        height,
        id: block.id(),
        parent: block.header.parent(),
        epoch: block.header.epoch.0,
        round: block.header.round.0,
        author: block.header.author.0,
        time,
        state_root: storage.state_root(height).map_err(ApiError::internal)?,
        transactions,
        certificate: certificate.map(|c| hex::encode(codec::encode(&c))),
        block: hex::encode(codec::encode(&block)),
    }))
}

#[utoipa::path(get, path = "/v1/status", tag = "chain", responses((status = 200, description = "the node's view of the chain")))]
async fn status(State(api): State<ApiState>) -> Result<Json<StatusView>, ApiError> {
    let shared = &api.shared;
    let status = shared.status().ok_or_else(|| ApiError::internal("status lock poisoned"))?;
    let pool = shared.mempool.lock().map(|p| p.stats()).unwrap_or_default();
    Ok(Json(StatusView {
        chain_id: shared.chain.chain_id().to_string(),
        moniker: shared.moniker.clone(),
        node_id: shared.peer_id.to_string(),
        role: api.role.into(),
        validator_index: status.validator_index.map(|i| i.0),
        height: status.height,
        block_id: status.block_id,
        block_time: status.block_time.as_millis(),
        state_root: status.state_root,
        round: status.round.0,
        best_seen_height: status.best_seen_height,
        catching_up: status.catching_up,
        peers: shared.peers().iter().map(ToString::to_string).collect(),
        mempool_transactions: pool.transactions,
        mempool_bytes: pool.bytes,
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text")))]
async fn metrics(State(api): State<ApiState>) -> Response {
    let pool = api.shared.mempool.lock().map(|p| p.stats()).unwrap_or_default();
    api.shared.metrics.mempool_transactions.set(i64::try_from(pool.transactions).unwrap_or(i64::MAX));
    api.shared.metrics.mempool_bytes.set(i64::try_from(pool.bytes).unwrap_or(i64::MAX));
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        api.shared.metrics.render(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "`{\"status\": \"ok\", \"height\"}`")))]
async fn health(State(api): State<ApiState>) -> Response {
    match api.shared.status() {
        Some(status) => {
            (StatusCode::OK, Json(serde_json::json!({"status": "ok", "height": status.height}))).into_response()
        }
        None => ApiError::internal("status lock poisoned").into_response(),
    }
}

// ------------------------------------------------------------------ signed reads

impl ApiState {
    /// Authenticates a signed request (401 on failure), counting and logging refusals
    /// without naming any patient.
    fn principal(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Principal, ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let signed = SignedHeaders {
            key: header(auth::HEADER_KEY),
            timestamp: header(auth::HEADER_TIMESTAMP),
            nonce: header(auth::HEADER_NONCE),
            signature: header(auth::HEADER_SIGNATURE),
        };
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let now = crate::shell::Clock::now(&crate::shell::SystemClock);
        let shared = &self.shared;
        let result = auth::authenticate(
            &shared.storage.state(),
            shared.chain.chain_id(),
            &shared.replay,
            now,
            auth::RequestLine { method: method.as_str(), path_and_query: path, body },
            signed,
        )
        .map_err(ApiError::internal)?;
        let principal = result.map_err(|e| {
            self.refused(signed.key, uri.path(), "unauthenticated");
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
        })?;
        if !self.per_key.allow(signed.key.unwrap_or_default(), Instant::now()) {
            self.refused(signed.key, uri.path(), "rate limited");
            return Err(rate_limited("signed by this key"));
        }
        Ok(principal)
    }

    fn refused(&self, key: Option<&str>, path: &str, why: &str) {
        self.shared.metrics.api_refusals.inc();
        // The path may hold a patient reference: log only the route's first segments.
        let route: String = path.split('/').take(3).collect::<Vec<_>>().join("/");
        tracing::warn!(key = key.unwrap_or("-"), route, why, "API request refused");
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        // Only a well-formed key is kept: the header is attacker-chosen text.
        let key = key.filter(|k| k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit())).map(str::to_string);
        let refusal = crate::storage::Refusal { at_ms, key, route, reason: why.to_string() };
        if let Err(e) = self.shared.storage.record_refusal(&refusal) {
            tracing::error!(error = %e, "could not record a refusal");
        }
    }

    fn forbidden(&self, signed: &Signed) -> ApiError {
        let key = signed.headers.get(auth::HEADER_KEY).and_then(|v| v.to_str().ok());
        self.refused(key, signed.uri.path(), "forbidden");
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the signer may not read this record: organisations read their own records, health authorities all, patients their own",
        )
    }
}

/// The authenticated signer of a request (401 before the handler runs otherwise), with
/// what a refusal logs.
pub struct Signed {
    principal: Principal,
    headers: HeaderMap,
    uri: Uri,
}

impl Signed {
    /// A 403 for this signer, counted and logged.
    fn forbidden(&self, api: &ApiState) -> ApiError {
        api.forbidden(self)
    }
}

impl axum::extract::FromRequestParts<ApiState> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, api: &ApiState) -> Result<Signed, ApiError> {
        let principal = api.principal(&parts.method, &parts.uri, &parts.headers, b"")?;
        Ok(Signed { principal, headers: parts.headers.clone(), uri: parts.uri.clone() })
    }
}

fn patient_ref(text: &str) -> Result<PatientRef, ApiError> {
    Hash::from_hex(text).map(PatientRef).map_err(|_| bad_request("bad_patient", "a patient reference is 64 hex digits"))
}

/// `GET /v1/patients/{patient}/consents`: the consents of a patient the signer may see
/// (a member organisation those it recorded; an auditor or the patient all).
#[utoipa::path(get, path = "/v1/patients/{patient}/consents", tag = "consent",
    params(("patient" = String, Path, description = "patient reference, hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the consents the signer may read"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
async fn patient_consents(
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

/// `GET /v1/patients/{patient}/accounting?after=SEQ&limit=N` query.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Continue after this audit sequence number (the previous page's `next`).
    pub after: Option<u64>,
    /// Most items (capped by the node).
    pub limit: Option<usize>,
}

/// `GET /v1/patients/{patient}/accounting`: the accounting of disclosures, for the patient
/// and health authorities.
#[utoipa::path(get, path = "/v1/patients/{patient}/accounting", tag = "audit",
    params(("patient" = String, Path, description = "patient reference, hex"), ("after" = Option<u64>, Query, description = "cursor"), ("limit" = Option<usize>, Query, description = "page size"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`{\"disclosures\", \"next\"}`"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
async fn patient_accounting(
    State(api): State<ApiState>,
    signed: Signed,
    patient: Result<Path<String>, PathRejection>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<AccountingPage>, ApiError> {
    let principal = &signed.principal;
    let Path(patient) = patient.map_err(|e| bad_request("bad_path", e))?;
    let Query(page) = page.map_err(|e| bad_request("bad_query", e))?;
    let patient = patient_ref(&patient)?;
    if !principal.may_read(&patient, &[]) {
        return Err(signed.forbidden(&api));
    }
    let limit = page.limit.unwrap_or(100).clamp(1, PAGE_MAX);
    let (disclosures, next) =
        panacea_contracts::audit::accounting_of_disclosures(&api.shared.storage.state(), &patient, page.after, limit)
            .map_err(ApiError::internal)?;
    Ok(Json(AccountingPage { disclosures, next }))
}

/// `GET /v1/decisions/{id}`: an access decision, for the requesting and custodian
/// organisations, health authorities and the patient.
#[utoipa::path(get, path = "/v1/decisions/{id}", tag = "access",
    params(("id" = String, Path, description = "decision id (the request's transaction id), hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the access decision"), (status = 404, description = "no such decision"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
async fn decision(
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

/// `GET /v1/audit/events?patient=&org=&identity=&kind=&from=&to=&after=&limit=`: audit
/// events in log order. Auditors read any; a member organisation reads events with an
/// agent of its own (its `org` filter is set to itself); a patient reads events about
/// themselves.
#[utoipa::path(get, path = "/v1/audit/events", tag = "audit",
    params(("patient" = Option<String>, Query, description = "patient reference"), ("org" = Option<String>, Query, description = "organisation"), ("identity" = Option<String>, Query, description = "identity id"), ("kind" = Option<String>, Query, description = "event kind, e.g. access-permitted"), ("from" = Option<u64>, Query, description = "recorded at or after (ms)"), ("to" = Option<u64>, Query, description = "recorded at or before (ms)"), ("after" = Option<u64>, Query, description = "cursor"), ("limit" = Option<usize>, Query, description = "page size"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`{\"events\", \"next\"}`"), (status = 400, description = "bad filter or cursor"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
async fn audit_events(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<panacea_contracts::audit::AuditPage>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let filter = api.audit_filter(&signed, &query)?;
    let limit = query.limit.unwrap_or(100).clamp(1, PAGE_MAX);
    let page = panacea_contracts::audit::events(&api.shared.storage.state(), &filter, query.after, limit)
        .map_err(ApiError::internal)?;
    Ok(Json(page))
}

impl ApiState {
    /// The filter a principal may apply: auditors any, members through their own
    /// organisation, patients about themselves (403 otherwise).
    fn audit_filter(
        &self,
        signed: &Signed,
        query: &AuditQuery,
    ) -> Result<panacea_contracts::audit::AuditFilter, ApiError> {
        let mut filter = panacea_contracts::audit::AuditFilter {
            patient: query.patient,
            org: query.org.clone(),
            identity: query.identity,
            kind: query.kind,
            from: query.from,
            to: query.to,
        };
        match &signed.principal {
            Principal::Member { auditor: true, .. } => {}
            Principal::Member { org, auditor: false } => match &filter.org {
                Some(asked) if asked != org => return Err(signed.forbidden(self)),
                _ => filter.org = Some(org.clone()),
            },
            Principal::Patient(own) => match &filter.patient {
                Some(asked) if asked == own => {}
                _ => return Err(signed.forbidden(self)),
            },
        }
        Ok(filter)
    }
}

/// Most events queued for one live subscriber before it is dropped as too slow.
const STREAM_QUEUE: usize = 1_024;

/// `GET /v1/audit/stream?from_height=H&patient=&org=&kind=...`: Server-Sent Events of
/// committed audit events (`event: audit`, `id: <seq>`, JSON data), with the same filters
/// and authorisation as `/v1/audit/events`. Events already committed at or above
/// `from_height` come first, then live ones, each once, in log order; a client resumes
/// by reconnecting with the height of the last event it saw.
#[utoipa::path(get, path = "/v1/audit/stream", tag = "audit",
    params(("from_height" = Option<u64>, Query, description = "start with events committed at or above"), ("patient" = Option<String>, Query, description = "patient reference"), ("org" = Option<String>, Query, description = "organisation"), ("identity" = Option<String>, Query, description = "identity id"), ("kind" = Option<String>, Query, description = "event kind"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "Server-Sent Events: `event: audit`, `id: <seq>`, the event as JSON", content_type = "text/event-stream"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
async fn audit_stream(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl futures::Stream<Item = Result<SseEvent, std::convert::Infallible>>>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let from_height = query.from_height;
    let filters = AuditQuery {
        patient: query.patient,
        org: query.org,
        identity: query.identity,
        kind: query.kind,
        from: None,
        to: None,
        after: None,
        limit: None,
    };
    let filter = api.audit_filter(&signed, &filters)?;
    // Subscribe before reading history, so that nothing commits unseen in between.
    let mut live = api.shared.committed_events.subscribe();
    let (tx, rx) = tokio::sync::mpsc::channel::<SseEvent>(STREAM_QUEUE);
    let shared = api.shared.clone();
    tokio::spawn(async move {
        let mut last_seq: Option<u64> = None;
        let send = |event: &panacea_contracts::audit::AuditEvent| {
            serde_json::to_string(event)
                .ok()
                .map(|json| SseEvent::default().event("audit").id(event.seq.to_string()).data(json))
        };
        // History, page by page.
        let mut after = None;
        loop {
            let page = match panacea_contracts::audit::events(&shared.storage.state(), &filter, after, 500) {
                Ok(page) => page,
                Err(_) => return,
            };
            for event in page.events.iter().filter(|e| from_height.is_none_or(|h| e.height.0 >= h)) {
                let Some(sse) = send(event) else { continue };
                if tx.send(sse).await.is_err() {
                    return;
                }
                last_seq = Some(event.seq);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        // Live.
        loop {
            let block = match live.recv().await {
                Ok(block) => block,
                // Too slow for the live queue: the client reconnects and resumes.
                Err(_) => return,
            };
            for event in block.events.iter().filter(|e| filter.matches(e)) {
                if last_seq.is_some_and(|s| event.seq <= s) {
                    continue;
                }
                let Some(sse) = send(event) else { continue };
                if tx.try_send(sse).is_err() {
                    return;
                }
                last_seq = Some(event.seq);
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|event| (Ok(event), rx)) });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `GET /v1/audit/stream` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Start with committed events at or above this height.
    pub from_height: Option<u64>,
    /// Events about this patient.
    pub patient: Option<PatientRef>,
    /// Events with an agent of this organisation.
    pub org: Option<panacea_contracts::ids::OrgId>,
    /// Events with this identity as agent or subject.
    pub identity: Option<panacea_contracts::ids::IdentityId>,
    /// Events of this kind.
    pub kind: Option<panacea_contracts::audit::AuditKind>,
}

/// `GET /v1/validators`: the validator set of the current epoch (public): each index,
/// key and organisation, and the quorum.
#[utoipa::path(get, path = "/v1/validators", tag = "chain", responses((status = 200, description = "`{\"epoch\", \"quorum\", \"validators\": [{\"index\", \"key\", \"org\"}]}`")))]
async fn validators(State(api): State<ApiState>) -> Json<ValidatorSetView> {
    let chain = &api.shared.chain;
    let set = &chain.validators;
    let validators = set
        .indices()
        .filter_map(|index| {
            let key = *set.key(index)?;
            let org = chain.genesis.organisations.iter().find(|o| o.validator_key == Some(key)).map(|o| o.id.clone());
            Some(ValidatorView { index: index.0, key: hex::encode(key.to_bytes()), org })
        })
        .collect();
    Json(ValidatorSetView { epoch: set.epoch().0, quorum: set.quorum(), validators })
}

/// `GET /v1/organisations`: the consortium's members (public: names, kinds, keys, status).
#[utoipa::path(get, path = "/v1/organisations", tag = "membership", responses((status = 200, description = "the consortium's members")))]
async fn organisations(
    State(api): State<ApiState>,
) -> Result<Json<Vec<panacea_contracts::membership::Organisation>>, ApiError> {
    let orgs = panacea_contracts::membership::organisations(&api.shared.storage.state()).map_err(ApiError::internal)?;
    Ok(Json(orgs))
}

/// `GET /v1/identities/{id}`: a registered identity (staff, device, service), for any
/// member organisation's signer.
#[utoipa::path(get, path = "/v1/identities/{id}", tag = "membership",
    params(("id" = String, Path, description = "identity id, hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the identity"), (status = 404, description = "no such identity"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
async fn identity(
    State(api): State<ApiState>,
    signed: Signed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<panacea_contracts::identity::Identity>, ApiError> {
    let principal = &signed.principal;
    if matches!(principal, Principal::Patient(_)) {
        return Err(signed.forbidden(&api));
    }
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let id = Hash::from_hex(&id).map_err(|_| bad_request("bad_id", "an identity id is 64 hex digits"))?;
    match panacea_contracts::identity::identity(&api.shared.storage.state(), &panacea_contracts::ids::IdentityId(id))
        .map_err(ApiError::internal)?
    {
        Some(identity) => Ok(Json(identity)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "no_identity", "no such identity")),
    }
}

/// `GET /v1/refusals?after=SEQ&limit=N`: the requests this node's API refused (401, 403,
/// 429 on signed reads), oldest first, for health authorities' auditors.
#[utoipa::path(get, path = "/v1/refusals", tag = "audit",
    params(("after" = Option<u64>, Query, description = "cursor"), ("limit" = Option<usize>, Query, description = "page size"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`{\"refusals\", \"next\"}`"), (status = 400, description = "bad cursor"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not an auditor"), (status = 429, description = "rate limited")))]
async fn refusals(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<RefusalPage>, ApiError> {
    if !matches!(signed.principal, Principal::Member { auditor: true, .. }) {
        return Err(signed.forbidden(&api));
    }
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let limit = query.limit.unwrap_or(100).clamp(1, PAGE_MAX);
    let found = api.shared.storage.refusals(query.after, limit).map_err(ApiError::internal)?;
    let next = if found.len() == limit { found.last().map(|(seq, _)| *seq) } else { None };
    let refusals = found
        .into_iter()
        .map(|(seq, r)| RefusalView { seq, at_ms: r.at_ms, key: r.key, route: r.route, reason: r.reason })
        .collect();
    Ok(Json(RefusalPage { refusals, next }))
}

/// Largest document accepted for upload: 16 GiB.
const DOCUMENT_BYTES_MAX: usize = 16 * 1024 * 1024 * 1024;

/// `POST /v1/documents?patient=&data_class=` query.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// The patient reference, hex.
    pub patient: String,
    /// The data class code (e.g. `imaging`).
    pub data_class: String,
}

impl ApiState {
    /// The sharing worker, when the signer acts for this node's organisation.
    fn own_org_sharing(&self, signed: &Signed) -> Result<&crate::sharing::SharingWorker, ApiError> {
        let sharing = self.sharing.as_ref().ok_or_else(|| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_document_store", "this node runs no document store")
        })?;
        match &signed.principal {
            Principal::Member { org, .. } if Some(org) == sharing.org() => Ok(sharing),
            _ => Err(signed.forbidden(self)),
        }
    }
}

/// `POST /v1/documents?patient=&data_class=`: stores a document (the request body, streamed
/// in chunks) in this node's encrypted document store, for a signer of this node's
/// organisation. Answers its commitment, which the signer then registers on chain
/// (`DocumentCall::Register`). The body is not covered by the request signature; the
/// commitment the node answers is what the custodian registers.
#[utoipa::path(post, path = "/v1/documents", tag = "documents",
    params(("patient" = String, Query, description = "patient reference, hex"), ("data_class" = String, Query, description = "data class code"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature over an empty body hash")),
    request_body(content = String, description = "the document's bytes", content_type = "application/octet-stream"),
    responses((status = 200, description = "`{\"document\", \"bytes\", \"chunks\"}`"), (status = 400, description = "bad patient or class"), (status = 401, description = "unsigned"), (status = 403, description = "not this node's organisation"), (status = 413, description = "too large")))]
async fn upload_document(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<UploadQuery>, QueryRejection>,
    body: axum::body::Body,
) -> Result<Json<StoredDocumentView>, ApiError> {
    let sharing = api.own_org_sharing(&signed)?;
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let patient = patient_ref(&query.patient)?;
    let data_class = panacea_contracts::codes::DataClass::from_code(&query.data_class)
        .ok_or_else(|| bad_request("bad_data_class", format!("{:?} is not a data class code", query.data_class)))?;
    // The body streams through a small bounded channel into the blocking writer, so a
    // large document never sits in memory.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let store = sharing.store().clone();
    let writer = tokio::task::spawn_blocking(move || {
        store.put(patient, data_class, ChannelReader { rx, current: Vec::new(), at: 0 })
    });
    let mut stream = body.into_data_stream();
    use futures::StreamExt as _;
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|e| bad_request("bad_body", e))?;
        let tx = tx.clone();
        let sent = tokio::task::spawn_blocking(move || tx.send(frame.to_vec())).await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
    }
    drop(tx);
    let stored = writer.await.map_err(ApiError::internal)?.map_err(|e| match e {
        crate::docstore::DocStoreError::TooLarge(_) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
        }
        e => ApiError::internal(e),
    })?;
    tracing::info!(document = %stored.document, bytes = stored.bytes, "document stored");
    Ok(Json(StoredDocumentView { document: stored.document, bytes: stored.bytes, chunks: stored.chunks }))
}

/// Reads the chunks a channel delivers, as a blocking reader.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.current.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.current = next;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The deliveries held for the signer's identity.
fn own_deliveries(api: &ApiState, signed: &Signed) -> Result<Vec<crate::docstore::InboxEntry>, ApiError> {
    let sharing = api.own_org_sharing(signed)?;
    let key = signed.headers.get(auth::HEADER_KEY).and_then(|v| v.to_str().ok()).unwrap_or_default().to_lowercase();
    let store = api.shared.storage.state();
    let entries = sharing.store().inbox_entries(10_000).map_err(ApiError::internal)?;
    let mut out = Vec::new();
    for entry in entries {
        let recipient = panacea_contracts::identity::identity(&store, &entry.recipient).map_err(ApiError::internal)?;
        if recipient.is_some_and(|r| hex::encode(r.key.to_bytes()) == key) {
            out.push(entry);
        }
    }
    Ok(out)
}

fn delivery_view(entry: &crate::docstore::InboxEntry) -> DeliveryView {
    let state = match &entry.state {
        crate::docstore::InboxState::Fetching => "fetching".to_string(),
        crate::docstore::InboxState::Received => "received".to_string(),
        crate::docstore::InboxState::Confirmed => "confirmed".to_string(),
        crate::docstore::InboxState::Refused(why) => format!("refused: {why}"),
        crate::docstore::InboxState::Erased => "erased".to_string(),
    };
    DeliveryView {
        decision: entry.decision,
        document: entry.document,
        custodian: entry.custodian.clone(),
        bytes: entry.bytes,
        chunks: entry.chunks,
        received: entry.received,
        state,
        envelope: entry.envelope.clone(),
    }
}

/// `GET /v1/deliveries`: documents delivered (or being delivered) to the signer.
#[utoipa::path(get, path = "/v1/deliveries", tag = "documents", responses((status = 200, description = "the signer's deliveries"), (status = 401, description = "unsigned"), (status = 403, description = "not this node's organisation")))]
async fn deliveries(State(api): State<ApiState>, signed: Signed) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    Ok(Json(own_deliveries(&api, &signed)?.iter().map(delivery_view).collect()))
}

fn find_delivery(
    api: &ApiState,
    signed: &Signed,
    decision: &str,
    document: &str,
) -> Result<crate::docstore::InboxEntry, ApiError> {
    let decision = Hash::from_hex(decision).map_err(|_| bad_request("bad_id", "a decision id is 64 hex digits"))?;
    let document = Hash::from_hex(document).map_err(|_| bad_request("bad_id", "a document is 64 hex digits"))?;
    own_deliveries(api, signed)?
        .into_iter()
        .find(|e| e.decision.0 == decision && e.document.0 == document)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no_delivery", "no such delivery for this signer"))
}

/// `GET /v1/deliveries/{decision}/{document}`: one delivery: its envelope and progress.
#[utoipa::path(get, path = "/v1/deliveries/{decision}/{document}", tag = "documents", responses((status = 200, description = "the delivery"), (status = 404, description = "none for this signer")))]
async fn delivery(
    State(api): State<ApiState>,
    signed: Signed,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<DeliveryView>, ApiError> {
    let Path((decision, document)) = path.map_err(|e| bad_request("bad_path", e))?;
    Ok(Json(delivery_view(&find_delivery(&api, &signed, &decision, &document)?)))
}

/// `GET /v1/deliveries/{decision}/{document}/chunks/{index}`: one chunk, sealed for the
/// signer (`application/octet-stream`).
#[utoipa::path(get, path = "/v1/deliveries/{decision}/{document}/chunks/{index}", tag = "documents", responses((status = 200, description = "the sealed chunk"), (status = 404, description = "not here")))]
async fn delivery_chunk(
    State(api): State<ApiState>,
    signed: Signed,
    path: Result<Path<(String, String, u32)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((decision, document, index)) = path.map_err(|e| bad_request("bad_path", e))?;
    let entry = find_delivery(&api, &signed, &decision, &document)?;
    let complete =
        matches!(entry.state, crate::docstore::InboxState::Received | crate::docstore::InboxState::Confirmed);
    if !complete || index >= entry.received {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_chunk", "the delivery is not complete"));
    }
    let sharing = api.own_org_sharing(&signed)?;
    let chunk = sharing.store().delivered_chunk(&entry.decision, &entry.document, index).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], chunk).into_response())
}

/// `GET /v1/consents/{id}`: every version of a consent, oldest first, for the
/// organisation that recorded it, health authorities and the patient.
#[utoipa::path(get, path = "/v1/consents/{id}", tag = "consent",
    params(("id" = String, Path, description = "consent id, hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the versions, oldest first"), (status = 400, description = "bad id"), (status = 404, description = "no such consent"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
async fn consent_history(
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

/// `GET /v1/proofs/{kind}/{id}`: a record (or its absence) with a proof against a state
/// root that a certified block attests. Kinds: `organisation`, `identity` (any member's
/// signer), `consent` (its head and latest version), `decision`, `patient-consents` (the
/// same readers as the records themselves). Check it with the SDK's `TrustAnchor`.
#[utoipa::path(get, path = "/v1/proofs/{kind}/{id}", tag = "proofs",
    params(("kind" = String, Path, description = "organisation | identity | consent | decision | patient-consents"), ("id" = String, Path, description = "the organisation id, or the record's 64-hex-digit id or patient reference"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`ProofView`: the attested height and root, the certified state (hex) and one entry per key"), (status = 400, description = "bad id"), (status = 404, description = "unknown kind"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited"), (status = 503, description = "the chain is too young to attest a state")))]
async fn proof(
    State(api): State<ApiState>,
    signed: Signed,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ProofView>, ApiError> {
    let principal = &signed.principal;
    let Path((kind, id)) = path.map_err(|e| bad_request("bad_path", e))?;
    let store = api.shared.storage.state();
    let hash =
        |what: &str| Hash::from_hex(&id).map_err(|_| bad_request("bad_id", format!("a {what} id is 64 hex digits")));
    let keys = match kind.as_str() {
        "organisation" | "identity" if matches!(principal, Principal::Patient(_)) => {
            return Err(signed.forbidden(&api));
        }
        "organisation" => {
            let org = OrgId::new(id.clone()).map_err(|e| bad_request("bad_id", e))?;
            vec![Record::Organisation(org).key()]
        }
        "identity" => vec![Record::Identity(IdentityId(hash("identity")?)).key()],
        "consent" => {
            let id = ConsentId(hash("consent")?);
            let found = panacea_contracts::consent::consent(&store, &id).map_err(ApiError::internal)?;
            if let Some(c) = found {
                let org = match &c.recorder {
                    Recorder::Custodian { org, .. } => Some(org),
                    Recorder::Patient { .. } => None,
                };
                if !principal.may_read(&c.terms.patient, org.as_slice()) {
                    return Err(signed.forbidden(&api));
                }
            }
            return proof_answer(crate::proofs::prove_consent(&api.shared.storage, id));
        }
        "decision" => {
            let id = DecisionId(hash("decision")?);
            let found = panacea_contracts::access::access_decision(&store, &id).map_err(ApiError::internal)?;
            if let Some(d) = found
                && !principal.may_read(&d.patient, &[&d.requester_org, &d.custodian])
            {
                return Err(signed.forbidden(&api));
            }
            vec![Record::Decision(id).key()]
        }
        "patient-consents" => {
            let patient = patient_ref(&id)?;
            if !principal.may_read(&patient, &[]) {
                return Err(signed.forbidden(&api));
            }
            vec![Record::PatientConsents(patient).key()]
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_record_kind",
                "provable kinds: organisation, identity, consent, decision, patient-consents",
            ));
        }
    };
    proof_answer(crate::proofs::prove(&api.shared.storage, &keys))
}

fn proof_answer(proved: Result<ProofView, ProofError>) -> Result<Json<ProofView>, ApiError> {
    match proved {
        Ok(view) => Ok(Json(view)),
        Err(e @ ProofError::NotYet) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_yet", e.to_string())),
        Err(e @ ProofError::Storage(_)) => Err(ApiError::internal(e)),
    }
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
        submit,
        submit_batch,
        submit_opaque_batch,
        transaction,
        block,
        nonce,
        status,
        organisations,
        validators,
        identity,
        proof,
        consent_history,
        refusals,
        upload_document,
        deliveries,
        delivery,
        delivery_chunk,
        patient_consents,
        patient_accounting,
        decision,
        audit_events,
        audit_stream,
        metrics,
        health
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
            "/metrics",
            "/health",
        ] {
            assert!(paths.contains(&route), "{route} is missing from {paths:?}");
        }
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    }
}
