use axum::extract::rejection::PathRejection;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use panacea_client_sdk::types::{BlockView, StatusView, ValidatorSetView, ValidatorView};
use panacea_primitives::{Height, codec};

use crate::payload::BlockBody;

use super::*;

#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain",
    params(("height" = String, Path, description = "a height or `latest`")),
    responses((status = 200, description = "the block, its state root and its commit certificate"), (status = 404, description = "no such block")))]
pub(super) async fn block(
    State(api): State<ApiState>,
    signed: MaybeSigned,
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
    // The transactions are the records: only a reader of the whole ledger gets them.
    let whole = signed.0.as_ref().is_some_and(|s| s.principal.may_read_ledger());
    Ok(Json(BlockView {
        height,
        id: block.id(),
        parent: block.header.parent(),
        epoch: block.header.epoch.0,
        round: block.header.round.0,
        author: block.header.author.0,
        time,
        state_root: storage.state_root(height).map_err(ApiError::internal)?,
        transaction_count: transactions.len(),
        transactions: whole.then_some(transactions),
        certificate: certificate.map(|c| hex::encode(codec::encode(&c))),
        header: hex::encode(codec::encode(&block.header)),
        block: whole.then(|| hex::encode(codec::encode(&block))),
    }))
}

#[utoipa::path(get, path = "/v1/status", tag = "chain", responses((status = 200, description = "the node's view of the chain")))]
pub(super) async fn status(State(api): State<ApiState>) -> Result<Json<StatusView>, ApiError> {
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
        validators_reachable: status.validators_reachable,
        quorum_reachable: status.validators_reachable >= status.quorum,
        mempool_transactions: pool.transactions,
        mempool_bytes: pool.bytes,
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text")))]
pub(super) async fn metrics(State(api): State<ApiState>) -> Response {
    let pool = api.shared.mempool.lock().map(|p| p.stats()).unwrap_or_default();
    api.shared.metrics.mempool_transactions.set(i64::try_from(pool.transactions).unwrap_or(i64::MAX));
    api.shared.metrics.mempool_bytes.set(i64::try_from(pool.bytes).unwrap_or(i64::MAX));
    // Read from RocksDB's properties: no scan, a few microseconds.
    if let Ok(usage) = api.shared.storage.usage() {
        for column in usage {
            for (place, bytes) in [("tables", column.table_bytes), ("memtables", column.memtable_bytes)] {
                let gauge = api
                    .shared
                    .metrics
                    .storage_bytes
                    .get_or_create(&vec![("column_family", column.name), ("place", place)]);
                gauge.set(i64::try_from(bytes).unwrap_or(i64::MAX));
            }
        }
    }
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        api.shared.metrics.render(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "`{\"status\": \"ok\", \"height\"}`")))]
pub(super) async fn health(State(api): State<ApiState>) -> Response {
    match api.shared.status() {
        Some(status) => {
            (StatusCode::OK, Json(serde_json::json!({"status": "ok", "height": status.height}))).into_response()
        }
        None => ApiError::internal("status lock poisoned").into_response(),
    }
}

/// `GET /v1/validators`: the validator set of the current epoch (public): each index,
/// key and organisation, and the quorum.
#[utoipa::path(get, path = "/v1/validators", tag = "chain", responses((status = 200, description = "`{\"epoch\", \"quorum\", \"validators\": [{\"index\", \"key\", \"org\"}]}`")))]
pub(super) async fn validators(State(api): State<ApiState>) -> Json<ValidatorSetView> {
    let set = &api.shared.validator_set();
    let organisations = panacea_contracts::membership::organisations(&api.shared.storage.state()).unwrap_or_default();
    let validators = set
        .indices()
        .filter_map(|index| {
            let key = *set.key(index)?;
            let org = organisations.iter().find(|o| o.validator_key == Some(key)).map(|o| o.id.clone());
            Some(ValidatorView { index: index.0, key: hex::encode(key.to_bytes()), org })
        })
        .collect();
    Json(ValidatorSetView { epoch: set.epoch().0, quorum: set.quorum(), validators })
}

/// `GET /v1/organisations`: the consortium's members (public: names, kinds, keys, status).
#[utoipa::path(get, path = "/v1/organisations", tag = "membership", responses((status = 200, description = "the consortium's members")))]
pub(super) async fn organisations(
    State(api): State<ApiState>,
) -> Result<Json<Vec<panacea_contracts::membership::Organisation>>, ApiError> {
    let orgs = panacea_contracts::membership::organisations(&api.shared.storage.state()).map_err(ApiError::internal)?;
    Ok(Json(orgs))
}
