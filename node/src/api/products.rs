//! `/v1/products`: medical products (security by design), for any member's signer.
//! Products are manufacturers' public facts and assessors' verdicts: every member checks
//! them before buying or registering a device.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use panacea_client_sdk::types::{ProductView, ProductsPage};
use panacea_contracts::product::PRODUCTS_PAGE_MAX;
use serde::Deserialize;

use super::*;
use crate::auth::Principal;

/// Query of `GET /v1/products`.
#[derive(Debug, Deserialize)]
pub(super) struct ProductsQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

fn member(signed: &Signed, api: &ApiState) -> Result<(), ApiError> {
    if matches!(signed.principal, Principal::Member { .. }) { Ok(()) } else { Err(signed.forbidden(api)) }
}

/// `GET /v1/products`: registered products in registration order, paged (`from`, `limit`
/// up to 256).
#[utoipa::path(get, path = "/v1/products", tag = "registries",
    params(("from" = Option<u64>, Query, description = "index of the first product (0)"), ("limit" = Option<usize>, Query, description = "at most 256 (default 100)"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`ProductsPage`: `{\"products\", \"total\", \"next\"}`"), (status = 400, description = "bad query"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a member's key"), (status = 429, description = "rate limited")))]
pub(super) async fn products(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<ProductsQuery>, QueryRejection>,
) -> Result<Json<ProductsPage>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    member(&signed, &api)?;
    let from = query.from.unwrap_or(0);
    let limit = query.limit.unwrap_or(100).clamp(1, PRODUCTS_PAGE_MAX);
    let (products, total) =
        panacea_contracts::product::products(&api.shared.storage.state(), from, limit).map_err(ApiError::internal)?;
    let end = from.saturating_add(products.len() as u64);
    let next = (end < total && !products.is_empty()).then_some(end);
    Ok(Json(ProductsPage { products, total, next }))
}

/// `GET /v1/products/{firmware}`: one product by its firmware hash, whether an
/// attestation is in force, and how many devices were registered on it.
#[utoipa::path(get, path = "/v1/products/{firmware}", tag = "registries",
    params(("firmware" = String, Path, description = "the firmware image's SHA-256, hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`ProductView`"), (status = 400, description = "bad hash"), (status = 404, description = "no such product (`no_product`)"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a member's key"), (status = 429, description = "rate limited")))]
pub(super) async fn product(
    State(api): State<ApiState>,
    signed: Signed,
    firmware: Result<Path<String>, PathRejection>,
) -> Result<Json<ProductView>, ApiError> {
    let Path(firmware) = firmware.map_err(|e| bad_request("bad_path", e))?;
    let firmware = Hash::from_hex(&firmware).map_err(|_| bad_request("bad_id", "a firmware hash is 64 hex digits"))?;
    member(&signed, &api)?;
    let store = api.shared.storage.state();
    let Some(product) = panacea_contracts::product::product(&store, &firmware).map_err(ApiError::internal)? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_product", "no product has this firmware hash"));
    };
    let (_, devices) =
        panacea_contracts::product::product_devices(&store, &firmware, 0, 0).map_err(ApiError::internal)?;
    let in_force = product.in_force(crate::shell::now());
    Ok(Json(ProductView { product, in_force, devices }))
}
