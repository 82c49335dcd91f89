//! Training records: an organisation's catalogue and policy, and an identity's
//! credentials, for any member's signer (credentials are verifiable by every member; a
//! policy says what a member's staff need before they act on shared data).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use panacea_client_sdk::types::{CredentialView, CredentialsView, TrainingView};
use panacea_contracts::ids::{IdentityId, OrgId};

use super::*;
use crate::auth::Principal;

fn member(signed: &Signed, api: &ApiState) -> Result<(), ApiError> {
    if matches!(signed.principal, Principal::Member { .. }) { Ok(()) } else { Err(signed.forbidden(api)) }
}

/// `GET /v1/organisations/{org}/training`: the organisation's courses and policy.
#[utoipa::path(get, path = "/v1/organisations/{org}/training", tag = "registries",
    params(("org" = String, Path, description = "organisation id"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`TrainingView`"), (status = 400, description = "bad organisation id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a member's key"), (status = 429, description = "rate limited")))]
pub(super) async fn training(
    State(api): State<ApiState>,
    signed: Signed,
    org: Result<Path<String>, PathRejection>,
) -> Result<Json<TrainingView>, ApiError> {
    let Path(org) = org.map_err(|e| bad_request("bad_path", e))?;
    let org = OrgId::new(org).map_err(|e| bad_request("bad_org", e))?;
    member(&signed, &api)?;
    let store = api.shared.storage.state();
    let courses = panacea_contracts::training::courses(&store, &org).map_err(ApiError::internal)?;
    let policy = panacea_contracts::training::policy(&store, &org).map_err(ApiError::internal)?;
    Ok(Json(TrainingView { org, courses, policy }))
}

/// `GET /v1/identities/{id}/credentials`: the identity's credentials, one per course, each
/// with whether it counts now. Prove one with `/v1/proofs/credential/{holder}:{course}`.
#[utoipa::path(get, path = "/v1/identities/{id}/credentials", tag = "registries",
    params(("id" = String, Path, description = "identity id, hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`CredentialsView`"), (status = 400, description = "bad id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a member's key"), (status = 429, description = "rate limited")))]
pub(super) async fn credentials(
    State(api): State<ApiState>,
    signed: Signed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<CredentialsView>, ApiError> {
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let holder = IdentityId(Hash::from_hex(&id).map_err(|_| bad_request("bad_id", "an identity id is 64 hex digits"))?);
    member(&signed, &api)?;
    let store = api.shared.storage.state();
    let courses = match panacea_contracts::identity::identity(&store, &holder).map_err(ApiError::internal)? {
        Some(identity) => panacea_contracts::training::courses(&store, &identity.org).map_err(ApiError::internal)?,
        None => Vec::new(),
    };
    let now = crate::shell::now();
    let credentials = panacea_contracts::training::credentials(&store, &holder)
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|credential| {
            let minimum = courses.iter().find(|c| c.id == credential.course).map_or(1, |c| c.minimum_version);
            let current = credential.current(now, minimum);
            CredentialView { credential, current }
        })
        .collect();
    Ok(Json(CredentialsView { holder, credentials }))
}
