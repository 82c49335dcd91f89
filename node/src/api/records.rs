use axum::extract::rejection::PathRejection;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use panacea_client_sdk::types::ProofView;
use panacea_primitives::Hash;

use panacea_contracts::consent::Recorder;
use panacea_contracts::ids::{ConsentId, DecisionId, IdentityId, OrgId};
use panacea_contracts::provable::Record;

use crate::proofs::ProofError;

use super::*;

/// `GET /v1/identities/{id}`: a registered identity (staff, device, service), for any
/// member organisation's signer.
#[utoipa::path(get, path = "/v1/identities/{id}", tag = "membership",
    params(("id" = String, Path, description = "identity id, hex"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the identity"), (status = 404, description = "no such identity"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn identity(
    State(api): State<ApiState>,
    signed: Signed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<panacea_contracts::identity::Identity>, ApiError> {
    let principal = &signed.principal;
    // Members' operators, staff and auditors read identities; patients, devices and
    // services do not.
    if principal.reading_org().is_none() && !principal.is_auditor() {
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

/// `GET /v1/proofs/{kind}/{id}`: a record (or its absence) with a proof against a state
/// root that a certified block attests. Kinds: `organisation`, `identity` (any member's
/// signer), `consent` (its head and latest version), `decision`, `patient-consents` (the
/// same readers as the records themselves). Check it with the SDK's `TrustAnchor`.
#[utoipa::path(get, path = "/v1/proofs/{kind}/{id}", tag = "proofs",
    params(("kind" = String, Path, description = "organisation | identity | consent | decision | patient-consents | product | self-assessment | connection-rule | credential"), ("id" = String, Path, description = "the organisation id, or the record's 64-hex-digit id or patient reference"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`ProofView`: the attested height and root, the certified state (hex) and one entry per key"), (status = 400, description = "bad id"), (status = 404, description = "unknown kind"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited"), (status = 503, description = "the chain is too young to attest a state")))]
pub(super) async fn proof(
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
        "organisation" | "identity" if principal.reading_org().is_none() && !principal.is_auditor() => {
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
        "product" | "credential" | "self-assessment" | "connection-rule" if !principal.is_member() => {
            return Err(signed.forbidden(&api));
        }
        "product" => vec![Record::Product(hash("product")?).key()],
        "credential" => {
            let (holder, course) =
                id.split_once(':').ok_or_else(|| bad_request("bad_id", "a credential is named <holder>:<course>"))?;
            let holder = Hash::from_hex(holder).map_err(|_| bad_request("bad_id", "a holder is 64 hex digits"))?;
            vec![Record::Credential(IdentityId(holder), course.to_string()).key()]
        }
        "self-assessment" => {
            let (org, version) = id
                .split_once(':')
                .ok_or_else(|| bad_request("bad_id", "a self-assessment is named <org>:<version>"))?;
            let org = OrgId::new(org.to_string()).map_err(|e| bad_request("bad_id", e))?;
            let version: u32 = version.parse().map_err(|_| bad_request("bad_id", "a version is a number"))?;
            let own = matches!(principal, crate::auth::Principal::Member { org: mine, role: crate::auth::MemberRole::Operator | crate::auth::MemberRole::Staff(_) } if *mine == org);
            if !own && !principal.audits_security_governance() {
                return Err(signed.forbidden(&api));
            }
            vec![Record::SelfAssessment(org, version).key()]
        }
        "connection-rule" => {
            let id = hash("connection rule")?;
            // A rule maps its organisation's network: its own members and auditors read it.
            if let Some(rule) = panacea_contracts::connection::rule(&store, &id).map_err(ApiError::internal)? {
                let own = principal.reading_org() == Some(&rule.org);
                if !own && !principal.is_auditor() {
                    return Err(signed.forbidden(&api));
                }
            }
            vec![Record::ConnectionRule(id).key()]
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_record_kind",
                "provable kinds: organisation, identity, consent, decision, patient-consents, product, self-assessment, connection-rule, credential",
            ));
        }
    };
    proof_answer(crate::proofs::prove(&api.shared.storage, &keys))
}

pub(super) fn proof_answer(proved: Result<ProofView, ProofError>) -> Result<Json<ProofView>, ApiError> {
    match proved {
        Ok(view) => Ok(Json(view)),
        Err(e @ ProofError::NotYet) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_yet", e.to_string())),
        Err(e @ ProofError::Storage(_)) => Err(ApiError::internal(e)),
    }
}
