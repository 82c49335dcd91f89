//! Machine-to-machine connections: an organisation's allow-list (its operators, staff and
//! auditors read it: it maps the organisation's network), and the check a gateway runs
//! when a machine connects (`POST /v1/connections/verify`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use panacea_client_sdk::types::{ConnectionVerdictView, ConnectionsView, VerifyConnectionRequest};
use panacea_contracts::connection::{ConnectionRule, Verdict};
use panacea_contracts::ids::OrgId;
use panacea_contracts::provable::Record;

use super::*;
use crate::auth::{MemberRole, Principal};

/// Largest body of a verification request.
const VERIFY_BODY_BYTES_MAX: usize = 4 * 1024;

/// `GET /v1/organisations/{org}/connections`: the connections the organisation allows.
#[utoipa::path(get, path = "/v1/organisations/{org}/connections", tag = "registries",
    params(("org" = String, Path, description = "organisation id"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`ConnectionsView`"), (status = 400, description = "bad organisation id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not this organisation's operator or staff, not an auditor"), (status = 429, description = "rate limited")))]
pub(super) async fn connections(
    State(api): State<ApiState>,
    signed: Signed,
    org: Result<Path<String>, PathRejection>,
) -> Result<Json<ConnectionsView>, ApiError> {
    let Path(org) = org.map_err(|e| bad_request("bad_path", e))?;
    let org = OrgId::new(org).map_err(|e| bad_request("bad_org", e))?;
    let allowed = signed.principal.is_auditor()
        || matches!(&signed.principal, Principal::Member { org: own, role: MemberRole::Operator | MemberRole::Staff(_) } if *own == org);
    if !allowed {
        return Err(signed.forbidden(&api));
    }
    let rules = panacea_contracts::connection::rules(&api.shared.storage.state(), &org).map_err(ApiError::internal)?;
    Ok(Json(ConnectionsView { org, rules }))
}

/// `POST /v1/connections/verify`: is this connection expected? The body carries the
/// challenge the source machine signed (the destination's fresh nonce, source,
/// destination, protocol, time) and its signature. The answer says whether a rule in
/// force allows it, why not otherwise, and proves the rule (or its absence) against a
/// certified state root. For a machine, staff member or operator of the source's or the
/// destination's organisation (the gateway); the body's SHA-256 is signed.
#[utoipa::path(post, path = "/v1/connections/verify", tag = "registries",
    params(("x-panacea-content-sha256" = String, Header, description = "the body's SHA-256, hex, which the signature covers"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    request_body(content = String, description = "`VerifyConnectionRequest`: `{\"challenge\": {\"source\", \"destination\", \"protocol\", \"nonce\", \"time\"}, \"signature\"}`", content_type = "application/json"),
    responses((status = 200, description = "`ConnectionVerdictView`: `{\"expected\", \"reason\", \"rule\", \"proof\"}`"), (status = 400, description = "a malformed body, or a body other than the signed one"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not of the source's or the destination's organisation"), (status = 413, description = "body over 4 KiB"), (status = 429, description = "rate limited")))]
pub(super) async fn verify(
    State(api): State<ApiState>,
    signed: Signed,
    body: Bytes,
) -> Result<Json<ConnectionVerdictView>, ApiError> {
    if body.len() > VERIFY_BODY_BYTES_MAX {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the body is at most 4 KiB"));
    }
    if signed.content_sha256 != Some(Hash::digest(&body)) {
        return Err(bad_request(
            "content_mismatch",
            format!("name the body's SHA-256 in {} and sign the request over it", crate::auth::HEADER_CONTENT_SHA256),
        ));
    }
    let request: VerifyConnectionRequest = serde_json::from_slice(&body).map_err(|e| bad_request("bad_body", e))?;
    let store = api.shared.storage.state();
    let org_of = |id| -> Result<Option<OrgId>, ApiError> {
        Ok(panacea_contracts::identity::identity(&store, id).map_err(ApiError::internal)?.map(|i| i.org))
    };
    let orgs = [org_of(&request.challenge.source)?, org_of(&request.challenge.destination)?];
    let allowed = match &signed.principal {
        Principal::Member { org, .. } => orgs.iter().flatten().any(|o| o == org),
        Principal::Patient(_) => false,
    };
    if !allowed {
        return Err(signed.forbidden(&api));
    }
    let height = api.shared.storage.committed_height().map_err(ApiError::internal)?.unwrap_or_default();
    let verdict = panacea_contracts::connection::check_connection(
        &store,
        api.shared.chain.chain_id(),
        &request.challenge,
        &request.signature,
        height,
        crate::shell::now(),
    )
    .map_err(ApiError::internal)?;
    let id =
        ConnectionRule::id_for(&request.challenge.source, &request.challenge.destination, &request.challenge.protocol);
    // The proof: of the rule, or of its absence. Too young a chain proves nothing yet.
    let proof = crate::proofs::prove(&api.shared.storage, &[Record::ConnectionRule(id).key()]).ok();
    let view = match verdict {
        Verdict::Expected(rule) => ConnectionVerdictView { expected: true, reason: None, rule: Some(rule), proof },
        Verdict::Unexpected(why, rule) => {
            ConnectionVerdictView { expected: false, reason: Some(why.code().to_string()), rule, proof }
        }
    };
    Ok(Json(view))
}
