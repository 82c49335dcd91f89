use axum::extract::rejection::{PathRejection, QueryRejection};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use panacea_client_sdk::types::{DeliveryView, StoredDocumentView};
use panacea_primitives::Hash;
use serde::Deserialize;

use crate::auth::Principal;

use super::*;

/// Largest document accepted for upload: 16 GiB.
pub(super) const DOCUMENT_BYTES_MAX: usize = 16 * 1024 * 1024 * 1024;

/// `POST /v1/documents?patient=&data_class=` query.
#[derive(Debug, Deserialize)]
pub(super) struct UploadQuery {
    /// The patient reference, hex.
    pub patient: String,
    /// The data class code (e.g. `imaging`).
    pub data_class: String,
}

impl ApiState {
    /// The sharing worker, when the signer acts for this node's organisation.
    fn own_org_sharing(&self, signed: &Signed) -> Result<&crate::workers::sharing::SharingWorker, ApiError> {
        let sharing = self.sharing.as_ref().ok_or_else(|| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_document_store", "this node runs no document store")
        })?;
        match &signed.principal {
            Principal::Member { org, .. } if Some(org) == sharing.org() => Ok(sharing),
            _ => Err(signed.forbidden(self)),
        }
    }
}

/// `POST /v1/documents?patient=&data_class=`: stores a document (the request body, streamed
/// in chunks) in this node's encrypted document store, for a signer of this node's
/// organisation. Answers its commitment, which the signer then registers on chain
/// (`DocumentCall::Register`). The request names the body's SHA-256 in
/// `x-panacea-content-sha256`, which the signature covers.
#[utoipa::path(post, path = "/v1/documents", tag = "documents",
    params(("patient" = String, Query, description = "patient reference, hex"), ("data_class" = String, Query, description = "data class code"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-signature" = String, Header, description = "ed25519 signature over the request and the body's SHA-256"), ("x-panacea-content-sha256" = String, Header, description = "the body's SHA-256, hex")),
    request_body(content = String, description = "the document's bytes", content_type = "application/octet-stream"),
    responses((status = 200, description = "`{\"document\", \"bytes\", \"chunks\"}`"), (status = 400, description = "bad patient or class"), (status = 401, description = "unsigned"), (status = 403, description = "not this node's organisation"), (status = 413, description = "too large")))]
pub(super) async fn upload_document(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<UploadQuery>, QueryRejection>,
    body: axum::body::Body,
) -> Result<Json<StoredDocumentView>, ApiError> {
    let sharing = api.own_org_sharing(&signed)?;
    // The signature covers the body through the hash the client names; a body nobody
    // signed is not stored.
    if signed.content_sha256.is_none() {
        return Err(bad_request(
            "content_hash_required",
            format!(
                "name the document's SHA-256 in {} and sign the request over it",
                crate::auth::HEADER_CONTENT_SHA256
            ),
        ));
    }
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let patient = patient_ref(&query.patient)?;
    let data_class = panacea_contracts::codes::DataClass::from_code(&query.data_class)
        .ok_or_else(|| bad_request("bad_data_class", format!("{:?} is not a data class code", query.data_class)))?;
    // The body streams through a small bounded channel into the blocking writer, so a
    // large document never sits in memory.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let store = sharing.store().clone();
    let writer = tokio::task::spawn_blocking(move || {
        store.put(patient, data_class, ChannelReader { rx, current: Vec::new(), at: 0 })
    });
    let mut stream = body.into_data_stream();
    use futures::StreamExt as _;
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|e| bad_request("bad_body", e))?;
        let tx = tx.clone();
        let sent = tokio::task::spawn_blocking(move || tx.send(frame.to_vec())).await;
        if !matches!(sent, Ok(Ok(()))) {
            break;
        }
    }
    drop(tx);
    let stored = writer.await.map_err(ApiError::internal)?.map_err(|e| match e {
        crate::workers::sharing::docstore::DocStoreError::TooLarge(_) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
        }
        e => ApiError::internal(e),
    })?;
    tracing::info!(document = %stored.document, bytes = stored.bytes, "document stored");
    Ok(Json(StoredDocumentView { document: stored.document, bytes: stored.bytes, chunks: stored.chunks }))
}

/// Reads the chunks a channel delivers, as a blocking reader.
pub(super) struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.current.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.current = next;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The deliveries held for the signer's identity.
pub(super) fn own_deliveries(
    api: &ApiState,
    signed: &Signed,
) -> Result<Vec<crate::workers::sharing::docstore::InboxEntry>, ApiError> {
    let sharing = api.own_org_sharing(signed)?;
    let key = hex::encode(signed.key.to_bytes());
    let store = api.shared.storage.state();
    let entries = sharing.store().inbox_entries(10_000).map_err(ApiError::internal)?;
    let mut out = Vec::new();
    for entry in entries {
        let recipient = panacea_contracts::identity::identity(&store, &entry.recipient).map_err(ApiError::internal)?;
        if recipient.is_some_and(|r| hex::encode(r.key.to_bytes()) == key) {
            out.push(entry);
        }
    }
    Ok(out)
}

pub(super) fn delivery_view(entry: &crate::workers::sharing::docstore::InboxEntry) -> DeliveryView {
    let state = match &entry.state {
        crate::workers::sharing::docstore::InboxState::Fetching => "fetching".to_string(),
        crate::workers::sharing::docstore::InboxState::Received => "received".to_string(),
        crate::workers::sharing::docstore::InboxState::Confirmed => "confirmed".to_string(),
        crate::workers::sharing::docstore::InboxState::Refused(why) => format!("refused: {why}"),
        crate::workers::sharing::docstore::InboxState::Erased => "erased".to_string(),
    };
    DeliveryView {
        decision: entry.decision,
        document: entry.document,
        custodian: entry.custodian.clone(),
        bytes: entry.bytes,
        chunks: entry.chunks,
        received: entry.received,
        state,
        envelope: entry.envelope.clone(),
    }
}

/// `GET /v1/deliveries`: documents delivered (or being delivered) to the signer.
#[utoipa::path(get, path = "/v1/deliveries", tag = "documents", responses((status = 200, description = "the signer's deliveries"), (status = 401, description = "unsigned"), (status = 403, description = "not this node's organisation")))]
pub(super) async fn deliveries(
    State(api): State<ApiState>,
    signed: Signed,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    Ok(Json(own_deliveries(&api, &signed)?.iter().map(delivery_view).collect()))
}

pub(super) fn find_delivery(
    api: &ApiState,
    signed: &Signed,
    decision: &str,
    document: &str,
) -> Result<crate::workers::sharing::docstore::InboxEntry, ApiError> {
    let decision = Hash::from_hex(decision).map_err(|_| bad_request("bad_id", "a decision id is 64 hex digits"))?;
    let document = Hash::from_hex(document).map_err(|_| bad_request("bad_id", "a document is 64 hex digits"))?;
    own_deliveries(api, signed)?
        .into_iter()
        .find(|e| e.decision.0 == decision && e.document.0 == document)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no_delivery", "no such delivery for this signer"))
}

/// `GET /v1/deliveries/{decision}/{document}`: one delivery: its envelope and progress.
#[utoipa::path(get, path = "/v1/deliveries/{decision}/{document}", tag = "documents", responses((status = 200, description = "the delivery"), (status = 404, description = "none for this signer")))]
pub(super) async fn delivery(
    State(api): State<ApiState>,
    signed: Signed,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<DeliveryView>, ApiError> {
    let Path((decision, document)) = path.map_err(|e| bad_request("bad_path", e))?;
    Ok(Json(delivery_view(&find_delivery(&api, &signed, &decision, &document)?)))
}

/// `GET /v1/deliveries/{decision}/{document}/chunks/{index}`: one chunk, sealed for the
/// signer (`application/octet-stream`).
#[utoipa::path(get, path = "/v1/deliveries/{decision}/{document}/chunks/{index}", tag = "documents", responses((status = 200, description = "the sealed chunk"), (status = 404, description = "not here")))]
pub(super) async fn delivery_chunk(
    State(api): State<ApiState>,
    signed: Signed,
    path: Result<Path<(String, String, u32)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((decision, document, index)) = path.map_err(|e| bad_request("bad_path", e))?;
    let entry = find_delivery(&api, &signed, &decision, &document)?;
    let complete = matches!(
        entry.state,
        crate::workers::sharing::docstore::InboxState::Received
            | crate::workers::sharing::docstore::InboxState::Confirmed
    );
    if !complete || index >= entry.received {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_chunk", "the delivery is not complete"));
    }
    let sharing = api.own_org_sharing(&signed)?;
    let chunk = sharing.store().delivered_chunk(&entry.decision, &entry.document, index).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], chunk).into_response())
}
