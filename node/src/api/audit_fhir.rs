//! `GET /v1/audit/events/fhir`: a page of the audit trail as a FHIR R4 Bundle of
//! AuditEvent resources, for auditors' tools and the dashboard's export.
//!
//! The same filters, cursor and authorisation as `/v1/audit/events`; the mapping is the
//! contracts' (`panacea_contracts::fhir::audit_event`), so there is one mapping in the
//! code base. The next page is a Bundle `link` with relation `next`, as FHIR pages.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use panacea_client_sdk::types::AuditQuery;

use super::*;

/// `GET /v1/audit/events/fhir?patient=&org=&identity=&kind=&from=&to=&after=&limit=`.
#[utoipa::path(get, path = "/v1/audit/events/fhir", tag = "audit",
    params(("patient" = Option<String>, Query, description = "patient reference"), ("org" = Option<String>, Query, description = "organisation"), ("identity" = Option<String>, Query, description = "identity id"), ("kind" = Option<String>, Query, description = "event kind"), ("from" = Option<u64>, Query, description = "recorded at or after (ms)"), ("to" = Option<u64>, Query, description = "recorded at or before (ms)"), ("after" = Option<u64>, Query, description = "cursor"), ("limit" = Option<usize>, Query, description = "page size"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "a FHIR R4 Bundle (collection) of AuditEvent, with a `next` link while more may follow", content_type = "application/fhir+json"), (status = 400, description = "bad filter or cursor"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn audit_bundle(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let filter = api.audit_filter(&signed, &query)?;
    let limit = query.limit.unwrap_or(100).clamp(1, PAGE_MAX);
    let page = panacea_contracts::audit::events(&api.shared.storage.state(), &filter, query.after, limit)
        .map_err(ApiError::internal)?;
    let mut bundle = panacea_contracts::fhir::audit_event::bundle(&page.events);
    if let Some(next) = page.next {
        let next = AuditQuery { after: Some(next), limit: Some(limit), ..query };
        bundle["link"] = serde_json::json!([
            { "relation": "next", "url": format!("/v1/audit/events/fhir?{}", next.to_query_string()) }
        ]);
    }
    let body = serde_json::to_vec(&bundle).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/fhir+json")], body).into_response())
}
