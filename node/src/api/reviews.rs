//! `GET /v1/organisations/{org}/reviews`: the reviews of break-glass accesses to an
//! organisation's data, open or closed, with the decisions they review.
//!
//! Open reviews come from the contracts' open-review index (in decision-id order, the
//! cursor is the last decision id); closed ones from the audit log's `review-closed`
//! events with an agent of the organisation (only the custodian's auditors close its
//! reviews), in log order, the cursor being the audit sequence number. Both are paged
//! and bounded like every list of the API.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use panacea_contracts::access::{AccessDecision, Review};
use panacea_contracts::audit::{AuditFilter, AuditKind};
use panacea_contracts::ids::{DecisionId, OrgId};
use serde::{Deserialize, Serialize};

use super::*;

/// Reviews in one page unless the client asks for fewer or more.
const REVIEWS_PAGE_DEFAULT: usize = 50;

/// Which reviews.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum ReviewFilter {
    /// Waiting for an auditor of the custodian.
    #[default]
    Open,
    /// Closed, with the auditor's finding.
    Closed,
}

/// `GET /v1/organisations/{org}/reviews` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewsQuery {
    /// `open` (default) or `closed`.
    pub status: Option<ReviewFilter>,
    /// The previous page's `next`: a decision id (open) or an audit sequence number (closed).
    pub after: Option<String>,
    /// Most reviews (default 50, capped by the node).
    pub limit: Option<usize>,
}

/// One review and the break-glass decision it is about.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ReviewView {
    /// The review (its decision, custodian and status).
    pub review: Review,
    /// The decision reviewed: who asked, for which organisation, about whom, why, when.
    pub decision: Option<AccessDecision>,
    /// For a closed review, the audit event that closed it.
    pub closed_by_event: Option<u64>,
}

/// A page of reviews.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ReviewsPage {
    /// The reviews.
    pub reviews: Vec<ReviewView>,
    /// The `after` of the next page, when there may be one.
    pub next: Option<String>,
}

/// `GET /v1/organisations/{org}/reviews?status=open|closed&after=&limit=`: the reviews of
/// break-glass accesses to the organisation's data. Read as the audit trail is: health
/// authorities' auditors (while the consortium lets them read audit), the organisation's
/// own operators and staff (its privacy officers close the reviews); nobody else.
#[utoipa::path(get, path = "/v1/organisations/{org}/reviews", tag = "audit",
    params(("org" = String, Path, description = "the custodian organisation"), ("status" = Option<String>, Query, description = "open (default) or closed"), ("after" = Option<String>, Query, description = "cursor: the previous page's next"), ("limit" = Option<usize>, Query, description = "page size (default 50)"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`{\"reviews\": [{\"review\", \"decision\", \"closed_by_event\"}], \"next\"}`"), (status = 400, description = "bad organisation, status or cursor"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not this organisation, not an auditor"), (status = 429, description = "rate limited")))]
pub(super) async fn reviews(
    State(api): State<ApiState>,
    signed: Signed,
    org: Result<Path<String>, PathRejection>,
    query: Result<Query<ReviewsQuery>, QueryRejection>,
) -> Result<Json<ReviewsPage>, ApiError> {
    let Path(org) = org.map_err(|e| bad_request("bad_path", e))?;
    let org = OrgId::new(org).map_err(|e| bad_request("bad_org", e))?;
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let principal = &signed.principal;
    // As the audit routes decide: auditors any organisation, members their own only.
    if !(principal.is_auditor() || principal.reading_org() == Some(&org)) {
        return Err(signed.forbidden(&api));
    }
    let limit = query.limit.unwrap_or(REVIEWS_PAGE_DEFAULT).clamp(1, PAGE_MAX);
    let store = api.shared.storage.state();
    let decision_of = |id: &DecisionId| panacea_contracts::access::access_decision(&store, id);
    let mut reviews = Vec::new();
    let next = match query.status.unwrap_or_default() {
        ReviewFilter::Open => {
            let after = match query.after.as_deref() {
                Some(text) => Some(DecisionId(
                    panacea_primitives::Hash::from_hex(text)
                        .map_err(|_| bad_request("bad_query", "after must be a decision id, 64 hex digits"))?,
                )),
                None => None,
            };
            let open = panacea_contracts::access::open_reviews_after(&store, &org, after.as_ref(), limit)
                .map_err(ApiError::internal)?;
            let next = if open.len() == limit { open.last().map(|r| r.decision.to_string()) } else { None };
            for review in open {
                let decision = decision_of(&review.decision).map_err(ApiError::internal)?;
                reviews.push(ReviewView { review, decision, closed_by_event: None });
            }
            next
        }
        ReviewFilter::Closed => {
            let after = match query.after.as_deref() {
                Some(text) => Some(
                    text.parse::<u64>()
                        .map_err(|_| bad_request("bad_query", "after must be an audit sequence number"))?,
                ),
                None => None,
            };
            let filter =
                AuditFilter { org: Some(org.clone()), kind: Some(AuditKind::ReviewClosed), ..AuditFilter::default() };
            let page = panacea_contracts::audit::events(&store, &filter, after, limit).map_err(ApiError::internal)?;
            for event in &page.events {
                let Some(id) = event.entity.decision else { continue };
                let Some(review) = panacea_contracts::access::review(&store, &id).map_err(ApiError::internal)? else {
                    continue;
                };
                // Only the custodian's auditors close its reviews; the check keeps another
                // organisation's review out should an agent ever act for two.
                if review.custodian != org {
                    continue;
                }
                let decision = decision_of(&id).map_err(ApiError::internal)?;
                reviews.push(ReviewView { review, decision, closed_by_event: Some(event.seq) });
            }
            page.next.map(|seq| seq.to_string())
        }
    };
    // Every record returned is one the signer may read (the patient's, through the
    // organisations involved).
    let allowed = |view: &ReviewView| match &view.decision {
        Some(d) => principal.may_read(&d.patient, &[&d.custodian, &d.requester_org]),
        None => principal.is_auditor() || principal.reading_org() == Some(&view.review.custodian),
    };
    reviews.retain(allowed);
    Ok(Json(ReviewsPage { reviews, next }))
}
