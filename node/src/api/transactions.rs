use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use panacea_client_sdk::types::{
    BATCH_TRANSACTIONS_MAX, BatchItem, BatchSubmitRequest, NonceView, OpaqueBatchStatus, SubmitRequest, TxState,
    TxStatus,
};
use panacea_contracts::SignedTransaction;
use panacea_contracts::membership::ChainMode;
use panacea_primitives::{Hash, Height, OpaqueBatch};

use crate::payload::BlockBody;
use serde::Deserialize;

use crate::mempool::{AdmitError, Mempool};
use crate::ordering::BatchAdmitError;
use crate::shared::Shared;

use super::*;

/// `POST /v1/transactions` query.
#[derive(Debug, Default, Deserialize)]
pub struct SubmitQuery {
    /// Wait until the transaction commits (or `timeout_ms` passes).
    #[serde(default)]
    pub wait: bool,
    /// How long to wait, in milliseconds (capped by the node's configuration).
    pub timeout_ms: Option<u64>,
}

pub(super) fn committed_status(shared: &Shared, id: Hash) -> Result<Option<TxStatus>, ApiError> {
    Ok(shared.storage.receipt(&id).map_err(ApiError::internal)?.map(|(height, receipt)| TxStatus {
        id,
        status: TxState::Committed,
        height: Some(height),
        receipt: Some(receipt),
    }))
}

pub(super) fn pending(id: Hash) -> TxStatus {
    TxStatus { id, status: TxState::Pending, height: None, receipt: None }
}

#[utoipa::path(post, path = "/v1/transactions", tag = "transactions",
    params(("wait" = Option<bool>, Query, description = "wait for the commit"), ("timeout_ms" = Option<u64>, Query, description = "how long to wait")),
    request_body(content = String, description = "`{\"tx\": \"<hex of the signed transaction>\"}`", content_type = "application/json"),
    responses((status = 200, description = "committed, with the receipt"), (status = 202, description = "pending"),
        (status = 400, description = "malformed, wrong chain or bad signature"), (status = 409, description = "nonce used or taken"),
        (status = 413, description = "too large"), (status = 429, description = "overloaded (admission control), pool full or rate limited: retry after the `Retry-After` header's seconds")))]
pub(super) async fn submit(
    State(api): State<ApiState>,
    query: Result<Query<SubmitQuery>, QueryRejection>,
    body: Result<Json<SubmitRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let Json(body) = body.map_err(|e| bad_request("bad_json", e.body_text()))?;
    let bytes = hex::decode(body.tx.trim()).map_err(|e| bad_request("bad_hex", format!("tx must be hex: {e}")))?;
    let shared = api.shared.clone();
    let chain_id = shared.chain.chain_id().clone();
    // Refused before its signature is checked: past saturation, refusals must cost little.
    crate::admission::room_for(&shared, 1)?;
    // Signature checks are CPU work: keep them off the async workers.
    let checked = tokio::task::spawn_blocking(move || {
        let tx = Mempool::check_stateless(&bytes, &chain_id)?;
        Ok::<_, AdmitError>((tx, bytes))
    })
    .await
    .map_err(ApiError::internal)?;
    let (tx, bytes) = checked?;
    let id = tx.id();
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

/// With `wait`, a waiter woken when `id` commits (registered before admission, so that a
/// commit in between is not missed); 429 when too many clients wait already.
fn commit_waiter(
    shared: &Shared,
    id: Hash,
    wait: bool,
) -> Result<Option<tokio::sync::oneshot::Receiver<()>>, ApiError> {
    if !wait {
        return Ok(None);
    }
    let waiter = shared.waiters.register(id);
    waiter.map(Some).map_err(|e| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", e.to_string()))
}

/// Admits one checked transaction, idempotently: its status now (committed, or pending)
/// and, with `wait`, a pending one's commit waiter, registered before admission so that a
/// commit in between is not missed.
pub(super) fn submit_one(
    shared: &Shared,
    tx: SignedTransaction,
    bytes: Vec<u8>,
    wait: bool,
) -> Result<(TxStatus, Option<tokio::sync::oneshot::Receiver<()>>), ApiError> {
    let id = tx.id();
    if let Some(done) = committed_status(shared, id)? {
        return Ok((done, None));
    }
    let waiter = commit_waiter(shared, id, wait)?;
    match crate::admission::admit(shared, tx, bytes) {
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
        (status = 400, description = "malformed body"), (status = 413, description = "too many transactions or too large"),
        (status = 429, description = "overloaded (admission control): the whole batch is refused; retry after the `Retry-After` header's seconds")))]
pub(super) async fn submit_batch(
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
    // Taken or refused whole (429 overloaded, with Retry-After), before its signatures are
    // checked: past saturation, refusals must cost little. The client resends it.
    crate::admission::room_for(&shared, body.txs.len() as u64)?;
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
        (status = 413, description = "too large"), (status = 429, description = "overloaded (admission control) or pool full: retry after the `Retry-After` header's seconds")))]
/// The consensus-only benchmark's submission: an ordering-only chain orders opaque
/// transactions without signatures or execution. A contracts chain refuses them.
pub(super) async fn submit_opaque_batch(
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
    // Refused before it is copied or hashed: past saturation, refusals must cost little.
    let transactions = OpaqueBatch::check_framed(&body).map_err(|e| bad_request("bad_batch", e))? as u64;
    crate::admission::room_for_opaque(&shared, transactions)?;
    // Hashing up to 1 MiB is CPU work: off the async workers.
    let (batch, id) = tokio::task::spawn_blocking(move || {
        let batch = OpaqueBatch::from_framed(body.to_vec())?;
        let id = batch.id();
        Ok::<_, panacea_primitives::OpaqueBatchError>((batch, id))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| bad_request("bad_batch", e))?;
    let waiter = commit_waiter(&shared, id, query.wait)?;
    // Every validator holds it, so whichever leads next can propose it.
    let gossip = batch.as_bytes().to_vec();
    let admitted =
        shared.batches.lock().map_err(|_| ApiError::internal("batch pool lock poisoned"))?.admit_with_id(batch, id);
    match admitted {
        Ok(_) => {
            if shared.gossip.try_send(gossip).is_err() {
                shared.metrics.dropped_events.inc();
            }
            shared.mempool_notify.notify_one();
        }
        // A batch already pending is simply waited for.
        Err(BatchAdmitError::Duplicate) => {}
        Err(BatchAdmitError::Committed) => {
            let status = OpaqueBatchStatus { batch: id, transactions, status: TxState::Committed };
            return Ok((StatusCode::OK, Json(status)).into_response());
        }
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
    responses((status = 200, description = "`{\"next_nonce\", \"next_free_nonce\"}`: from committed state, and after the key's transactions pending in this node's pool"), (status = 400, description = "bad key")))]
pub(super) async fn nonce(
    State(api): State<ApiState>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Json<NonceView>, ApiError> {
    let Path(key) = key.map_err(|e| bad_request("bad_path", e))?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(key.trim(), &mut bytes)
        .map_err(|e| bad_request("bad_key", format!("a public key is 64 hex digits: {e}")))?;
    let key = panacea_primitives::PublicKey::from_bytes(bytes).map_err(|e| bad_request("bad_key", e))?;
    let next_nonce = panacea_contracts::next_nonce(&api.shared.storage.state(), &key).map_err(ApiError::internal)?;
    let next_free_nonce =
        api.shared.mempool.lock().map(|pool| pool.next_free_nonce(&key, next_nonce)).unwrap_or(next_nonce);
    Ok(Json(NonceView { next_nonce, next_free_nonce }))
}

#[utoipa::path(get, path = "/v1/transactions/{id}", tag = "transactions",
    params(("id" = String, Path, description = "transaction id, hex")),
    responses((status = 200, description = "committed (with receipt), pending or unknown"), (status = 400, description = "bad id")))]
pub(super) async fn transaction(
    State(api): State<ApiState>,
    signed: MaybeSigned,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<TxStatus>, ApiError> {
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let id =
        Hash::from_hex(&id).map_err(|e| bad_request("bad_id", format!("a transaction id is 64 hex digits: {e}")))?;
    if let Some(mut done) = committed_status(&api.shared, id)? {
        // The receipt holds audit events: it is read under their authorisation.
        let readable = match (&signed.0, &done.receipt) {
            (Some(signed), Some(receipt)) => may_read_receipt(&api, signed, done.height, receipt)?,
            _ => false,
        };
        if !readable {
            done.receipt = None;
        }
        return Ok(Json(done));
    }
    let held = api.shared.mempool.lock().is_ok_and(|p| p.contains(&id));
    if held {
        Ok(Json(pending(id)))
    } else {
        Ok(Json(TxStatus { id, status: TxState::Unknown, height: None, receipt: None }))
    }
}

/// True if `signed` may read `receipt`, committed at `height`: a reader of the whole
/// ledger, the transaction's own signer, or a signer who may read every event in it.
fn may_read_receipt(
    api: &ApiState,
    signed: &Signed,
    height: Option<Height>,
    receipt: &panacea_contracts::Receipt,
) -> Result<bool, ApiError> {
    if signed.principal.may_read_ledger() {
        return Ok(true);
    }
    if let panacea_contracts::tx::Outcome::Ok { events } = &receipt.outcome
        && !events.is_empty()
        && events.iter().all(|e| signed.principal.may_read_event(e))
    {
        return Ok(true);
    }
    let Some(height) = height else { return Ok(false) };
    let Some(block) = api.shared.storage.block(height).map_err(ApiError::internal)? else { return Ok(false) };
    let body = BlockBody::decode_in::<{ 16 * 1024 * 1024 }>(api.shared.chain.genesis.mode, &block.payload, usize::MAX)
        .map_err(ApiError::internal)?;
    Ok(body.transactions.iter().any(|t| t.tx.signer == signed.key && t.id() == receipt.tx))
}
