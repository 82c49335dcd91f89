//! Security governance reads: an organisation's NIST CSF self-assessments (its own
//! operators and staff, and health authorities' auditors while the consortium lets them
//! read security governance), and the regional view (auditors only). Evidence never leaves
//! the organisations: only its hashes are on chain.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use panacea_client_sdk::types::{MemberPosture, RegionView, SelfAssessmentView};
use panacea_contracts::csf::SelfAssessment;
use panacea_contracts::ids::OrgId;

use super::*;
use crate::auth::{MemberRole, Principal};

fn may_read(principal: &Principal, org: &OrgId) -> bool {
    principal.audits_security_governance()
        || matches!(principal, Principal::Member { org: own, role: MemberRole::Operator | MemberRole::Staff(_) } if own == org)
}

fn max_age_ms(api: &ApiState) -> Result<u64, ApiError> {
    Ok(panacea_contracts::governance::parameters(&api.shared.storage.state())
        .map_err(ApiError::internal)?
        .self_assessment_max_age_ms)
}

/// `GET /v1/organisations/{org}/self-assessment`: the latest self-assessment, how many
/// versions there are, whether it is overdue, and its gaps.
#[utoipa::path(get, path = "/v1/organisations/{org}/self-assessment", tag = "registries",
    params(("org" = String, Path, description = "organisation id"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`SelfAssessmentView`"), (status = 400, description = "bad organisation id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not this organisation's operator or staff, not an auditor"), (status = 429, description = "rate limited")))]
pub(super) async fn self_assessment(
    State(api): State<ApiState>,
    signed: Signed,
    org: Result<Path<String>, PathRejection>,
) -> Result<Json<SelfAssessmentView>, ApiError> {
    let Path(org) = org.map_err(|e| bad_request("bad_path", e))?;
    let org = OrgId::new(org).map_err(|e| bad_request("bad_org", e))?;
    if !may_read(&signed.principal, &org) {
        return Err(signed.forbidden(&api));
    }
    let store = api.shared.storage.state();
    let max_age_ms = max_age_ms(&api)?;
    let latest = panacea_contracts::csf::latest(&store, &org).map_err(ApiError::internal)?;
    let versions = latest.as_ref().map_or(0, |a| a.version);
    let overdue = latest.as_ref().is_none_or(|a| a.overdue(crate::shell::now(), max_age_ms));
    let gaps = latest.as_ref().map(SelfAssessment::gaps).unwrap_or_default();
    Ok(Json(SelfAssessmentView { org, latest, versions, overdue, gaps, max_age_ms }))
}

/// `GET /v1/organisations/{org}/self-assessment/{version}`: one version.
#[utoipa::path(get, path = "/v1/organisations/{org}/self-assessment/{version}", tag = "registries",
    params(("org" = String, Path, description = "organisation id"), ("version" = u32, Path, description = "version, from 1"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the `SelfAssessment`"), (status = 400, description = "bad organisation id or version"), (status = 404, description = "no such version (`no_self_assessment`)"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not this organisation's operator or staff, not an auditor"), (status = 429, description = "rate limited")))]
pub(super) async fn self_assessment_version(
    State(api): State<ApiState>,
    signed: Signed,
    path: Result<Path<(String, u32)>, PathRejection>,
) -> Result<Json<SelfAssessment>, ApiError> {
    let Path((org, version)) = path.map_err(|e| bad_request("bad_path", e))?;
    let org = OrgId::new(org).map_err(|e| bad_request("bad_org", e))?;
    if !may_read(&signed.principal, &org) {
        return Err(signed.forbidden(&api));
    }
    match panacea_contracts::csf::self_assessment(&api.shared.storage.state(), &org, version)
        .map_err(ApiError::internal)?
    {
        Some(found) => Ok(Json(found)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "no_self_assessment", "no such version")),
    }
}

/// `GET /v1/security-governance/region`: every active member's posture (version, date,
/// overdue) and the distribution of whole-organisation tiers per CSF category, for health
/// authorities' auditors.
#[utoipa::path(get, path = "/v1/security-governance/region", tag = "registries",
    params(("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`RegionView`"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a health authority's auditor, or the consortium does not let authorities read security governance"), (status = 429, description = "rate limited")))]
pub(super) async fn region(State(api): State<ApiState>, signed: Signed) -> Result<Json<RegionView>, ApiError> {
    if !signed.principal.audits_security_governance() {
        return Err(signed.forbidden(&api));
    }
    let store = api.shared.storage.state();
    let max_age_ms = max_age_ms(&api)?;
    let now = crate::shell::now();
    let mut members = Vec::new();
    let mut latest = Vec::new();
    for org in panacea_contracts::membership::organisations(&store).map_err(ApiError::internal)? {
        if org.status != panacea_contracts::membership::OrgStatus::Active {
            continue;
        }
        let found = panacea_contracts::csf::latest(&store, &org.id).map_err(ApiError::internal)?;
        members.push(MemberPosture {
            org: org.id.clone(),
            version: found.as_ref().map_or(0, |a| a.version),
            submitted_at: found.as_ref().map(|a| a.submitted_at),
            overdue: found.as_ref().is_none_or(|a| a.overdue(now, max_age_ms)),
        });
        latest.extend(found);
    }
    let catalogue = panacea_contracts::csf::catalogue(panacea_contracts::csf::CURRENT)
        .ok_or_else(|| ApiError::internal("the shipped CSF catalogue does not parse"))?;
    let categories = panacea_contracts::csf::regional(catalogue, &latest);
    Ok(Json(RegionView { catalogue: catalogue.version.clone(), max_age_ms, members, categories }))
}
