//! `GET /v1/organisations/{org}/risk`: an organisation's risk on chain.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use panacea_client_sdk::types::RiskView;
use panacea_contracts::ids::OrgId;
use panacea_contracts::risk::RiskParameters;

use super::*;
use crate::auth::{MemberRole, Principal};

/// `GET /v1/organisations/{org}/risk`: the organisation's risk parameters, its latest
/// assessments (risk table, input and output hashes, attestations) and its devices in
/// quarantine. For the organisation's operators and staff, and health authorities'
/// auditors; a table says which services of a hospital are exposed, so no one else.
#[utoipa::path(get, path = "/v1/organisations/{org}/risk", tag = "risk",
    params(("org" = String, Path, description = "organisation id"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`{\"org\", \"parameters\", \"assessments\", \"quarantined\"}`"), (status = 400, description = "bad organisation id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not this organisation, not an auditor"), (status = 429, description = "rate limited")))]
pub(super) async fn organisation_risk(
    State(api): State<ApiState>,
    signed: Signed,
    org: Result<Path<String>, PathRejection>,
) -> Result<Json<RiskView>, ApiError> {
    let Path(org) = org.map_err(|e| bad_request("bad_path", e))?;
    let org = OrgId::new(org).map_err(|e| bad_request("bad_org", e))?;
    let allowed = signed.principal.audits_risk()
        || matches!(&signed.principal, Principal::Member { org: own, role: MemberRole::Operator | MemberRole::Staff(_) } if *own == org);
    if !allowed {
        return Err(signed.forbidden(&api));
    }
    let store = api.shared.storage.state();
    let parameters = panacea_contracts::risk::parameters(&store, &org).map_err(ApiError::internal)?;
    let assessments = panacea_contracts::risk::assessments_of(&store, &org).map_err(ApiError::internal)?;
    let quarantined = panacea_contracts::risk::quarantined(&store, &org).map_err(ApiError::internal)?;
    Ok(Json(RiskView { org, parameters, assessments, quarantined }))
}

/// `GET /v1/organisations/{org}/risk/parameters`: the risk parameters the organisation's
/// assessments are computed with (its own, else the consortium's default; attacker
/// thresholds, impact and likelihood thresholds), for any signed member and auditors:
/// another organisation's worker applies them to recompute an assessment it attests. They
/// describe the model, not the estate.
#[utoipa::path(get, path = "/v1/organisations/{org}/risk/parameters", tag = "risk",
    params(("org" = String, Path, description = "organisation id"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the parameters in force for it (its own, else the consortium default), or null for the model's own"), (status = 400, description = "bad organisation id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "a patient key"), (status = 429, description = "rate limited")))]
pub(super) async fn organisation_risk_parameters(
    State(api): State<ApiState>,
    signed: Signed,
    org: Result<Path<String>, PathRejection>,
) -> Result<Json<Option<RiskParameters>>, ApiError> {
    let Path(org) = org.map_err(|e| bad_request("bad_path", e))?;
    let org = OrgId::new(org).map_err(|e| bad_request("bad_org", e))?;
    if !matches!(signed.principal, Principal::Member { .. }) {
        return Err(signed.forbidden(&api));
    }
    let parameters =
        panacea_contracts::risk::effective_parameters(&api.shared.storage.state(), &org).map_err(ApiError::internal)?;
    Ok(Json(parameters))
}
