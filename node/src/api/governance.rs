//! Governance reads: the rules, parameters and epochs (public: they reveal nothing of
//! patients or estates), proposals and misbehaviour records (for members and auditors:
//! the consortium's deliberation), and the proofs of validator-set changes that light
//! clients follow from genesis. Proposals and votes are submitted as transactions.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use panacea_client_sdk::types::{EpochChangesView, GovernanceView};
use panacea_contracts::governance::{Misbehaviour, Proposal, ProposalId, ProposalStatus};
use panacea_contracts::ids::OrgId;
use panacea_primitives::{Epoch, Hash};
use serde::Deserialize;

use super::*;

/// Most proposals one listing returns.
const PROPOSALS_PAGE_MAX: usize = 200;
/// Most epoch changes one answer carries.
const EPOCHS_PAGE_MAX: usize = 64;

/// `GET /v1/governance`: the rules, the chain parameters in force, the current epoch, a
/// pending validator set and the open proposals' ids (public).
#[utoipa::path(get, path = "/v1/governance", tag = "governance", responses((status = 200, description = "`{\"rules\", \"parameters\", \"epoch\", \"pending\", \"open\"}`")))]
pub(super) async fn governance(State(api): State<ApiState>) -> Result<Json<GovernanceView>, ApiError> {
    let store = api.shared.storage.state();
    let g = ApiError::internal;
    Ok(Json(GovernanceView {
        rules: panacea_contracts::governance::rules(&store).map_err(g)?,
        parameters: panacea_contracts::governance::parameters(&store).map_err(g)?,
        epoch: panacea_contracts::governance::epoch(&store).map_err(g)?,
        pending: panacea_contracts::governance::pending_validators(&store).map_err(g)?,
        open: panacea_contracts::governance::open_proposals(&store).map_err(g)?,
    }))
}

/// Query of `GET /v1/governance/proposals`.
#[derive(Debug, Deserialize)]
pub(super) struct ProposalsQuery {
    /// Only open proposals.
    #[serde(default)]
    open: bool,
    /// Most proposals returned (newest first).
    limit: Option<usize>,
}

fn members_only(signed: &Signed, api: &ApiState) -> Result<(), ApiError> {
    if signed.principal.is_member() { Ok(()) } else { Err(signed.forbidden(api)) }
}

/// `GET /v1/governance/proposals`: proposals, newest first, with their ballots and
/// outcomes; for members' signed requests (auditors included), not patients.
#[utoipa::path(get, path = "/v1/governance/proposals", tag = "governance",
    params(("open" = Option<bool>, Query, description = "only open proposals"), ("limit" = Option<usize>, Query, description = "at most this many (200)"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the proposals"), (status = 400, description = "bad query"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a member"), (status = 429, description = "rate limited")))]
pub(super) async fn proposals(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<ProposalsQuery>, QueryRejection>,
) -> Result<Json<Vec<Proposal>>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    members_only(&signed, &api)?;
    let limit = query.limit.unwrap_or(50).clamp(1, PROPOSALS_PAGE_MAX);
    let store = api.shared.storage.state();
    let mut list =
        panacea_contracts::governance::proposals(&store, panacea_contracts::governance::PROPOSALS_LISTED_MAX)
            .map_err(ApiError::internal)?;
    if query.open {
        list.retain(|p| p.status == ProposalStatus::Open);
    }
    list.truncate(limit);
    Ok(Json(list))
}

/// `GET /v1/governance/proposals/{id}`: one proposal (members and auditors).
#[utoipa::path(get, path = "/v1/governance/proposals/{id}", tag = "governance",
    params(("id" = String, Path, description = "proposal id (the proposing transaction's id), hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the proposal"), (status = 400, description = "bad id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a member"), (status = 404, description = "no such proposal"), (status = 429, description = "rate limited")))]
pub(super) async fn proposal(
    State(api): State<ApiState>,
    signed: Signed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Proposal>, ApiError> {
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let id = ProposalId(Hash::from_hex(&id).map_err(|e| bad_request("bad_id", e))?);
    members_only(&signed, &api)?;
    match panacea_contracts::governance::proposal(&api.shared.storage.state(), &id).map_err(ApiError::internal)? {
        Some(proposal) => Ok(Json(proposal)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such proposal")),
    }
}

/// Query of `GET /v1/governance/epochs`.
#[derive(Debug, Deserialize)]
pub(super) struct EpochsQuery {
    /// The first epoch whose starting change is wanted (default 1).
    from: Option<u64>,
}

/// `GET /v1/governance/epochs`: the proofs of the validator-set changes from epoch `from`
/// (public: headers, certificates and validator keys). A light client holding the genesis
/// file follows them to trust the current set.
#[utoipa::path(get, path = "/v1/governance/epochs", tag = "governance",
    params(("from" = Option<u64>, Query, description = "first epoch (default 1)")),
    responses((status = 200, description = "`{\"changes\": [hex EpochChange]}`"), (status = 400, description = "bad query")))]
pub(super) async fn epochs(
    State(api): State<ApiState>,
    query: Result<Query<EpochsQuery>, QueryRejection>,
) -> Result<Json<EpochChangesView>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let current = api.shared.validator_set().epoch().0;
    let from = query.from.unwrap_or(1).max(1);
    let mut changes = Vec::new();
    for epoch in (from..=current).take(EPOCHS_PAGE_MAX) {
        match api.shared.storage.epoch_change(Epoch(epoch)).map_err(ApiError::internal)? {
            Some(bytes) => changes.push(hex::encode(bytes)),
            None => break,
        }
    }
    Ok(Json(EpochChangesView { changes }))
}

/// `GET /v1/organisations/{org}/misbehaviour`: proved misbehaviour of the organisation's
/// validator (members and auditors).
#[utoipa::path(get, path = "/v1/organisations/{org}/misbehaviour", tag = "governance",
    params(("org" = String, Path, description = "organisation id"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the records, oldest first"), (status = 400, description = "bad organisation id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a member"), (status = 429, description = "rate limited")))]
pub(super) async fn misbehaviour(
    State(api): State<ApiState>,
    signed: Signed,
    org: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<Misbehaviour>>, ApiError> {
    let Path(org) = org.map_err(|e| bad_request("bad_path", e))?;
    let org = OrgId::new(org).map_err(|e| bad_request("bad_org", e))?;
    members_only(&signed, &api)?;
    let records = panacea_contracts::governance::misbehaviour_of(&api.shared.storage.state(), &org)
        .map_err(ApiError::internal)?;
    Ok(Json(records))
}
