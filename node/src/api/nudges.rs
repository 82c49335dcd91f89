//! Nudges for the node's organisation's staff (`workers::nudging`): a staff member's
//! inbox, its live stream and acknowledgements; the organisation's acknowledgement rates.
//! Nudges are staff data: only the node of the staff member's own organisation serves
//! them, and only to the identity (or role) they are for.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use panacea_client_sdk::types::{NudgePage, NudgeRatesView, NudgeRecipient, NudgeView};
use panacea_contracts::codes::StaffRole;
use panacea_contracts::ids::IdentityId;
use panacea_contracts::membership::KeyOwner;
use serde::Deserialize;

use super::*;
use crate::auth::{MemberRole, Principal};
use crate::workers::nudging::NudgingWorker;

/// Most nudges one page returns.
const NUDGE_PAGE_MAX: usize = 200;
/// Live nudge streams a node serves at once.
pub(super) const NUDGE_STREAMS_MAX: usize = 256;

/// Query of `GET /v1/nudges`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NudgesQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

/// Query of `GET /v1/nudges/rates`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RatesQuery {
    weeks: Option<u64>,
}

/// The worker, or 404 on a node that makes no nudges.
fn worker(api: &ApiState) -> Result<&NudgingWorker, ApiError> {
    api.nudges.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_nudges", "this node makes no nudges (it acts for no organisation)")
    })
}

/// The signer as a staff member of the worker's organisation: its identity and role.
fn staff_of(api: &ApiState, signed: &Signed, worker: &NudgingWorker) -> Result<(IdentityId, StaffRole), ApiError> {
    let (org, role) = match &signed.principal {
        Principal::Member { org, role: MemberRole::Staff(role) } => (org, *role),
        // A health authority's auditor identity is staff of its own organisation too.
        Principal::Member { org, role: MemberRole::Auditor(_) } => (org, StaffRole::Auditor),
        _ => return Err(signed.forbidden(api)),
    };
    if org != worker.org() {
        return Err(signed.forbidden(api));
    }
    let owner = panacea_contracts::membership::key_owner(&api.shared.storage.state(), &signed.key)
        .map_err(ApiError::internal)?;
    let Some(KeyOwner::Identity(id)) = owner else { return Err(signed.forbidden(api)) };
    Ok((id, role))
}

fn for_me(nudge: &NudgeView, id: IdentityId, role: StaffRole) -> bool {
    nudge.recipient == NudgeRecipient::Identity(id) || nudge.recipient == NudgeRecipient::Role(role)
}

/// `GET /v1/nudges`: the signer's unacknowledged nudges (to it or to its role), oldest first.
#[utoipa::path(get, path = "/v1/nudges", tag = "nudges",
    params(("after" = Option<u64>, Query, description = "read on after this nudge id"), ("limit" = Option<usize>, Query, description = "at most 200 (default 50)"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`NudgePage`"), (status = 400, description = "bad query"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a staff identity of this node's organisation"), (status = 404, description = "this node makes no nudges"), (status = 429, description = "rate limited")))]
pub(super) async fn nudges(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<NudgesQuery>, QueryRejection>,
) -> Result<Json<NudgePage>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let worker = worker(&api)?;
    let (id, role) = staff_of(&api, &signed, worker)?;
    let limit = query.limit.unwrap_or(50).clamp(1, NUDGE_PAGE_MAX);
    let recipients = [NudgeRecipient::Identity(id), NudgeRecipient::Role(role)];
    let nudges = worker.store().pending(&recipients, query.after, limit).map_err(ApiError::internal)?;
    let next = (nudges.len() == limit).then(|| nudges.last().map(|n| n.id)).flatten();
    Ok(Json(NudgePage { nudges, next }))
}

/// `GET /v1/nudges/stream`: Server-Sent Events (`event: nudge`, `id`: the nudge id) of
/// the signer's unacknowledged nudges, then new ones as they are made.
#[utoipa::path(get, path = "/v1/nudges/stream", tag = "nudges",
    params(("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`text/event-stream` of `NudgeView`s"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a staff identity of this node's organisation"), (status = 404, description = "this node makes no nudges"), (status = 429, description = "rate limited, or too many streams")))]
pub(super) async fn stream(
    State(api): State<ApiState>,
    signed: Signed,
) -> Result<Sse<impl futures::Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let worker = worker(&api)?.clone();
    let (id, role) = staff_of(&api, &signed, &worker)?;
    let Ok(permit) = api.nudge_streams.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            "too many nudge streams; retry later",
        ));
    };
    // Subscribe before reading the backlog, so nothing made in between is missed.
    let mut live = worker.subscribe();
    let recipients = [NudgeRecipient::Identity(id), NudgeRecipient::Role(role)];
    let backlog = worker.store().pending(&recipients, None, NUDGE_PAGE_MAX).map_err(ApiError::internal)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<SseEvent>(64);
    let shared = api.shared.clone();
    let key = signed.key;
    tokio::spawn(async move {
        let _permit = permit;
        let event = |nudge: &NudgeView| {
            serde_json::to_string(nudge)
                .ok()
                .map(|json| SseEvent::default().event("nudge").id(nudge.id.to_string()).data(json))
        };
        let mut last = 0;
        for nudge in &backlog {
            let Some(message) = event(nudge) else { continue };
            if tx.send(message).await.is_err() {
                return;
            }
            last = nudge.id;
        }
        loop {
            let nudge: Arc<NudgeView> = tokio::select! {
                nudge = live.recv() => match nudge {
                    Ok(nudge) => nudge,
                    // Too slow: the app reconnects and reads its inbox again.
                    Err(_) => return,
                },
                () = tx.closed() => return,
            };
            if nudge.id <= last || !for_me(&nudge, id, role) {
                continue;
            }
            // The signer's standing is checked again for every nudge.
            if !matches!(crate::auth::resolve(&shared.storage.state(), &key), Ok(Ok(Principal::Member { .. }))) {
                return;
            }
            let Some(message) = event(&nudge) else { continue };
            if tx.try_send(message).is_err() {
                return;
            }
            last = nudge.id;
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|event| (Ok(event), rx)) });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `POST /v1/nudges/{id}/ack`: acknowledges a nudge to the signer (or its role).
#[utoipa::path(post, path = "/v1/nudges/{id}/ack", tag = "nudges",
    params(("id" = u64, Path, description = "nudge id"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "the acknowledged `NudgeView`"), (status = 400, description = "bad id"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not a staff identity of this node's organisation, or not for the signer"), (status = 404, description = "no such nudge"), (status = 409, description = "acknowledged already (`already_acknowledged`)"), (status = 429, description = "rate limited")))]
pub(super) async fn acknowledge(
    State(api): State<ApiState>,
    signed: Signed,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<NudgeView>, ApiError> {
    let Path(id) = id.map_err(|e| bad_request("bad_path", e))?;
    let worker = worker(&api)?;
    let (me, role) = staff_of(&api, &signed, worker)?;
    let store = worker.store();
    let Some(nudge) = store.nudge(id).map_err(ApiError::internal)? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_nudge", "no such nudge"));
    };
    if !for_me(&nudge, me, role) {
        return Err(signed.forbidden(&api));
    }
    if !store.acknowledge(id, me, crate::shell::now()).map_err(ApiError::internal)? {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_acknowledged", "this nudge was acknowledged already"));
    }
    let nudge = store.nudge(id).map_err(ApiError::internal)?.unwrap_or(nudge);
    Ok(Json(nudge))
}

/// `GET /v1/nudges/rates`: the organisation's nudges sent and acknowledged per kind and
/// week (the measure PANACEA used), for its operators and security officers.
#[utoipa::path(get, path = "/v1/nudges/rates", tag = "nudges",
    params(("weeks" = Option<u64>, Query, description = "weeks back from the newest (default 12, at most 520)"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`NudgeRatesView`"), (status = 400, description = "bad query"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not this organisation's operator or security officer"), (status = 404, description = "this node makes no nudges"), (status = 429, description = "rate limited")))]
pub(super) async fn rates(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<RatesQuery>, QueryRejection>,
) -> Result<Json<NudgeRatesView>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let worker = worker(&api)?;
    let allowed = matches!(&signed.principal, Principal::Member { org, role: MemberRole::Operator | MemberRole::Staff(StaffRole::SecurityOfficer) } if org == worker.org());
    if !allowed {
        return Err(signed.forbidden(&api));
    }
    let weeks = query.weeks.unwrap_or(12).clamp(1, 520);
    let rates = worker.store().rates(weeks).map_err(ApiError::internal)?;
    Ok(Json(NudgeRatesView { org: worker.org().clone(), rates }))
}
