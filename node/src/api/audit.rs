use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use panacea_client_sdk::types::{AccountingPage, AuditQuery, RefusalPage, RefusalView};
use serde::Deserialize;

use panacea_contracts::ids::PatientRef;

use crate::auth::Principal;
use crate::shared::Shared;

use std::collections::BTreeMap;

use panacea_primitives::PublicKey;

use super::*;

/// `GET /v1/patients/{patient}/accounting`: the accounting of disclosures, for the patient
/// and health authorities.
#[utoipa::path(get, path = "/v1/patients/{patient}/accounting", tag = "audit",
    params(("patient" = String, Path, description = "patient reference, hex"), ("after" = Option<u64>, Query, description = "cursor"), ("limit" = Option<usize>, Query, description = "page size"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`{\"disclosures\", \"next\"}`"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn patient_accounting(
    State(api): State<ApiState>,
    signed: Signed,
    patient: Result<Path<String>, PathRejection>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<AccountingPage>, ApiError> {
    let principal = &signed.principal;
    let Path(patient) = patient.map_err(|e| bad_request("bad_path", e))?;
    let Query(page) = page.map_err(|e| bad_request("bad_query", e))?;
    let patient = patient_ref(&patient)?;
    if !principal.may_read(&patient, &[]) {
        return Err(signed.forbidden(&api));
    }
    let limit = page.limit.unwrap_or(100).clamp(1, PAGE_MAX);
    let (disclosures, next) =
        panacea_contracts::audit::accounting_of_disclosures(&api.shared.storage.state(), &patient, page.after, limit)
            .map_err(ApiError::internal)?;
    Ok(Json(AccountingPage { disclosures, next }))
}

/// `GET /v1/audit/events?patient=&org=&identity=&kind=&from=&to=&after=&limit=`: audit
/// events in log order. Auditors read any; a member organisation reads events with an
/// agent of its own (its `org` filter is set to itself); a patient reads events about
/// themselves.
#[utoipa::path(get, path = "/v1/audit/events", tag = "audit",
    params(("patient" = Option<String>, Query, description = "patient reference"), ("org" = Option<String>, Query, description = "organisation"), ("identity" = Option<String>, Query, description = "identity id"), ("kind" = Option<String>, Query, description = "event kind, e.g. access-permitted"), ("from" = Option<u64>, Query, description = "recorded at or after (ms)"), ("to" = Option<u64>, Query, description = "recorded at or before (ms)"), ("after" = Option<u64>, Query, description = "cursor"), ("limit" = Option<usize>, Query, description = "page size"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`{\"events\", \"next\"}`"), (status = 400, description = "bad filter or cursor"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn audit_events(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<panacea_contracts::audit::AuditPage>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let filter = api.audit_filter(&signed, &query)?;
    let limit = query.limit.unwrap_or(100).clamp(1, PAGE_MAX);
    let page = panacea_contracts::audit::events(&api.shared.storage.state(), &filter, query.after, limit)
        .map_err(ApiError::internal)?;
    Ok(Json(page))
}

impl ApiState {
    /// The filter a principal may apply: auditors any, members through their own
    /// organisation, patients about themselves (403 otherwise, and for devices and
    /// services, which read no records).
    pub(super) fn audit_filter(
        &self,
        signed: &Signed,
        query: &AuditQuery,
    ) -> Result<panacea_contracts::audit::AuditFilter, ApiError> {
        let mut filter = panacea_contracts::audit::AuditFilter {
            patient: query.patient,
            org: query.org.clone(),
            identity: query.identity,
            kind: query.kind,
            from: query.from,
            to: query.to,
        };
        match &signed.principal {
            principal if principal.is_auditor() => {}
            Principal::Patient(own) => match &filter.patient {
                Some(asked) if asked == own => {}
                _ => return Err(signed.forbidden(self)),
            },
            principal => match (principal.reading_org(), &filter.org) {
                (None, _) => return Err(signed.forbidden(self)),
                (Some(org), Some(asked)) if asked != org => return Err(signed.forbidden(self)),
                (Some(org), _) => filter.org = Some(org.clone()),
            },
        }
        Ok(filter)
    }
}

/// Most events queued for one live subscriber before it is dropped as too slow.
pub(super) const STREAM_QUEUE: usize = 1_024;
/// Most live audit streams one key may hold open.
pub(super) const STREAMS_PER_KEY_MAX: u32 = 4;
/// Most live audit streams open on this node.
pub(super) const STREAMS_MAX: u32 = 256;

/// The live audit streams open, per key and in all. A slot is held by a [`StreamSlot`]
/// and given back when the stream's task ends.
#[derive(Debug, Default)]
pub(super) struct StreamSlots {
    open: std::sync::Mutex<(u32, BTreeMap<[u8; 32], u32>)>,
}

/// One open stream's slot, given back on drop.
pub(super) struct StreamSlot {
    slots: Arc<StreamSlots>,
    key: [u8; 32],
}

impl StreamSlots {
    /// Takes a slot for `key`, or `None` if it or the node has no more.
    pub(super) fn take(slots: &Arc<StreamSlots>, key: &PublicKey) -> Option<StreamSlot> {
        let key = key.to_bytes();
        let mut open = slots.open.lock().ok()?;
        let (total, per_key) = &mut *open;
        let mine = per_key.get(&key).copied().unwrap_or(0);
        if *total >= STREAMS_MAX || mine >= STREAMS_PER_KEY_MAX {
            return None;
        }
        per_key.insert(key, mine + 1);
        *total += 1;
        Some(StreamSlot { slots: slots.clone(), key })
    }

    /// Streams open now.
    pub(super) fn open(&self) -> u32 {
        self.open.lock().map_or(0, |open| open.0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock() {
            let (total, per_key) = &mut *open;
            *total = total.saturating_sub(1);
            if let Some(mine) = per_key.get_mut(&self.key) {
                *mine = mine.saturating_sub(1);
                if *mine == 0 {
                    per_key.remove(&self.key);
                }
            }
        }
    }
}

/// The sequence number of the first audit event committed at or above `height` (the
/// log's length if none is), by binary search over the log: heights never decrease
/// along it.
fn first_seq_at(store: &dyn panacea_contracts::state::Store, height: u64) -> Result<u64, ApiError> {
    let count = panacea_contracts::state::Meta::load(store).map_err(ApiError::internal)?.audit_count;
    let (mut low, mut high) = (0u64, count);
    while low < high {
        let middle = low + (high - low) / 2;
        let event = panacea_contracts::audit::event(store, middle).map_err(ApiError::internal)?;
        match event {
            Some(event) if event.height.0 < height => low = middle + 1,
            _ => high = middle,
        }
    }
    Ok(low)
}

/// `GET /v1/audit/stream?from_height=H&patient=&org=&kind=...`: Server-Sent Events of
/// committed audit events (`event: audit`, `id: <seq>`, JSON data), with the same filters
/// and authorisation as `/v1/audit/events`. Events already committed at or above
/// `from_height` come first (read from the first of them, not from the start of the
/// log), then live ones, each once, in log order; a client resumes by reconnecting with
/// the height of the last event it saw. The signer's standing is checked again at every
/// committed block: a key revoked, suspended or unbound meanwhile ends the stream. A key
/// holds at most [`STREAMS_PER_KEY_MAX`] streams, the node [`STREAMS_MAX`]; a stream
/// whose client went away ends at once, even if nothing matches its filter.
#[utoipa::path(get, path = "/v1/audit/stream", tag = "audit",
    params(("from_height" = Option<u64>, Query, description = "start with events committed at or above"), ("patient" = Option<String>, Query, description = "patient reference"), ("org" = Option<String>, Query, description = "organisation"), ("identity" = Option<String>, Query, description = "identity id"), ("kind" = Option<String>, Query, description = "event kind"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "Server-Sent Events: `event: audit`, `id: <seq>`, the event as JSON", content_type = "text/event-stream"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "the signer may not read this"), (status = 429, description = "rate limited")))]
pub(super) async fn audit_stream(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl futures::Stream<Item = Result<SseEvent, std::convert::Infallible>>>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let from_height = query.from_height.unwrap_or(0);
    let filters = AuditQuery {
        patient: query.patient,
        org: query.org,
        identity: query.identity,
        kind: query.kind,
        from: None,
        to: None,
        after: None,
        limit: None,
    };
    let filter = api.audit_filter(&signed, &filters)?;
    let Some(slot) = StreamSlots::take(&api.streams, &signed.key) else {
        api.refused(Some(&signed.key), signed.uri.path(), "too many streams");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "at most {STREAMS_PER_KEY_MAX} live audit streams per key and {STREAMS_MAX} per node; close one and retry"
            ),
        ));
    };
    // Subscribe before reading history, so that nothing commits unseen in between.
    let mut live = api.shared.committed_events.subscribe();
    let start = first_seq_at(&api.shared.storage.state(), from_height)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<SseEvent>(STREAM_QUEUE);
    let shared = api.shared.clone();
    let (key, principal) = (signed.key, signed.principal.clone());
    let streams = api.streams.clone();
    shared.metrics.audit_streams.set(i64::from(streams.open()));
    tokio::spawn(async move {
        stream_events(&shared, &tx, &mut live, &filter, start, &key, &principal).await;
        drop(slot);
        shared.metrics.audit_streams.set(i64::from(streams.open()));
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|event| (Ok(event), rx)) });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Feeds one stream: history from `start`, then live blocks, until the client goes away,
/// falls too far behind, or the signer may no longer read.
async fn stream_events(
    shared: &Shared,
    tx: &tokio::sync::mpsc::Sender<SseEvent>,
    live: &mut tokio::sync::broadcast::Receiver<Arc<crate::shared::CommittedEvents>>,
    filter: &panacea_contracts::audit::AuditFilter,
    start: u64,
    key: &PublicKey,
    principal: &Principal,
) {
    let sse = |event: &panacea_contracts::audit::AuditEvent| {
        serde_json::to_string(event)
            .ok()
            .map(|json| SseEvent::default().event("audit").id(event.seq.to_string()).data(json))
    };
    // History, page by page, from the first event at or above the asked height.
    let mut last_seq: Option<u64> = start.checked_sub(1);
    let mut after = last_seq;
    loop {
        let page = match panacea_contracts::audit::events(&shared.storage.state(), filter, after, 500) {
            Ok(page) => page,
            Err(_) => return,
        };
        for event in page.events.iter().filter(|e| principal.may_read_event(e)) {
            let Some(message) = sse(event) else { continue };
            if tx.send(message).await.is_err() {
                return;
            }
            last_seq = Some(event.seq);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    // Live, until the client goes away (noticed even when nothing matches the filter).
    loop {
        let block = tokio::select! {
            block = live.recv() => match block {
                Ok(block) => block,
                // Too slow for the live queue: the client reconnects and resumes.
                Err(_) => return,
            },
            () = tx.closed() => return,
        };
        // The signer's standing is checked again at every block.
        match crate::auth::resolve(&shared.storage.state(), key) {
            Ok(Ok(now)) if &now == principal => {}
            _ => return,
        }
        for event in block.events.iter().filter(|e| filter.matches(e) && principal.may_read_event(e)) {
            if last_seq.is_some_and(|s| event.seq <= s) {
                continue;
            }
            let Some(message) = sse(event) else { continue };
            if tx.try_send(message).is_err() {
                return;
            }
            last_seq = Some(event.seq);
        }
    }
}

/// `GET /v1/audit/stream` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StreamQuery {
    /// Start with committed events at or above this height.
    pub from_height: Option<u64>,
    /// Events about this patient.
    pub patient: Option<PatientRef>,
    /// Events with an agent of this organisation.
    pub org: Option<panacea_contracts::ids::OrgId>,
    /// Events with this identity as agent or subject.
    pub identity: Option<panacea_contracts::ids::IdentityId>,
    /// Events of this kind.
    pub kind: Option<panacea_contracts::audit::AuditKind>,
}

/// `GET /v1/refusals?after=SEQ&limit=N`: the requests this node's API refused (401, 403,
/// 429 on signed reads), oldest first, for health authorities' auditors.
#[utoipa::path(get, path = "/v1/refusals", tag = "audit",
    params(("after" = Option<u64>, Query, description = "cursor"), ("limit" = Option<usize>, Query, description = "page size"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature, hex (see docs/node.md)")),
    responses((status = 200, description = "`{\"refusals\", \"next\"}`"), (status = 400, description = "bad cursor"), (status = 401, description = "unsigned, stale, replayed or badly signed"), (status = 403, description = "not an auditor"), (status = 429, description = "rate limited")))]
pub(super) async fn refusals(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<RefusalPage>, ApiError> {
    if !signed.principal.is_auditor() {
        return Err(signed.forbidden(&api));
    }
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let limit = query.limit.unwrap_or(100).clamp(1, PAGE_MAX);
    let found = api.shared.storage.refusals(query.after, limit).map_err(ApiError::internal)?;
    let next = if found.len() == limit { found.last().map(|(seq, _)| *seq) } else { None };
    let refusals = found
        .into_iter()
        .map(|(seq, r)| RefusalView { seq, at_ms: r.at_ms, key: r.key, route: r.route, reason: r.reason })
        .collect();
    Ok(Json(RefusalPage { refusals, next }))
}
