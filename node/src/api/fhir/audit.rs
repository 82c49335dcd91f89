//! FHIR AuditEvent search over the ledger's audit log.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use panacea_client_sdk::types::AuditQuery;

use super::search::{self, Agent};
use super::{base, check_format, query_string, resource, searchset, strict};
use crate::api::signed::Signed;
use crate::api::{ApiError, ApiState, bad_request};

/// `GET /fhir/AuditEvent?patient=&date=&agent=&subtype=&_count=&_cursor=`: audit events
/// in log order as a searchset Bundle, filtered on the server, with the authorisation of
/// `/v1/audit/events` (auditors any; a member through its own organisation; a patient
/// about themselves). `next` continues after the page's last event.
pub(super) async fn search(
    State(api): State<ApiState>,
    signed: Signed,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let bad = |e: search::SearchError| bad_request("bad_search", e);
    let pairs = search::pairs(query.as_deref()).map_err(bad)?;
    check_format(&pairs)?;
    search::check_known(
        &pairs,
        &["patient", "date", "agent", "subtype", "_count", "_cursor", "_format"],
        strict(&headers),
    )
    .map_err(bad)?;
    let patient = search::single(&pairs, "patient").map_err(bad)?.map(search::patient).transpose().map_err(bad)?;
    let agent = search::single(&pairs, "agent").map_err(bad)?.map(search::agent).transpose().map_err(bad)?;
    let kind = search::single(&pairs, "subtype").map_err(bad)?.map(search::audit_kind).transpose().map_err(bad)?;
    let window = search::date_window(&pairs).map_err(bad)?;
    let count = search::count(&pairs).map_err(bad)?;
    let cursor = search::number(&pairs, "_cursor").map_err(bad)?;
    let (identity, org) = match &agent {
        Some(Agent::Identity(id)) => (Some(*id), None),
        Some(Agent::Organisation(org)) => (None, Some(org.clone())),
        None => (None, None),
    };
    let query = AuditQuery { patient, org, identity, kind, from: window.from, to: window.to, after: None, limit: None };
    let filter = api.audit_filter(&signed, &query)?;
    let page = panacea_contracts::audit::events(&api.shared.storage.state(), &filter, cursor, count)
        .map_err(ApiError::internal)?;
    let base = base(&headers);
    let entries = page
        .events
        .iter()
        .map(|event| {
            let resource = panacea_contracts::fhir::audit_event::export(event);
            (format!("{base}/AuditEvent/{}", event.hash()), resource)
        })
        .collect();
    let raw: Vec<(&str, String)> = pairs
        .iter()
        .filter(|(name, _)| ["patient", "date", "agent", "subtype"].contains(&name.as_str()))
        .map(|(name, value)| (name.as_str(), value.clone()))
        .collect();
    let link = |cursor: Option<u64>| {
        let mut pairs = raw.clone();
        pairs.push(("_count", count.to_string()));
        if let Some(cursor) = cursor {
            pairs.push(("_cursor", cursor.to_string()));
        }
        format!("{base}/AuditEvent?{}", query_string(&pairs))
    };
    let next = page.next.map(|next| link(Some(next)));
    Ok(resource(StatusCode::OK, &searchset(entries, None, link(cursor), next)))
}
