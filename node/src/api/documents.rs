use axum::extract::rejection::{PathRejection, QueryRejection};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use panacea_client_sdk::types::{DeliveryView, StoredDocumentView};
use panacea_primitives::Hash;
use serde::Deserialize;

use panacea_client_sdk::sharing::DOCUMENT_CHUNKS_MAX;
use panacea_contracts::ids::{DecisionId, DocumentHash, IdentityId};

use crate::auth::Principal;
use crate::workers::sharing::docstore::{DocStoreError, InboxEntry, InboxState, Upload};

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
/// `x-panacea-content-sha256` and the signature covers it; a body that is not that content,
/// or that breaks off, is not stored. The store holds at most `sharing.store_bytes_max`
/// bytes, and at most `sharing.uploads_max` uploads run at once.
#[utoipa::path(post, path = "/v1/documents", tag = "documents",
    params(("patient" = String, Query, description = "patient reference, hex"), ("data_class" = String, Query, description = "data class code"), ("x-panacea-key" = String, Header, description = "signer's public key, hex"), ("x-panacea-timestamp" = u64, Header, description = "ms since the Unix epoch"), ("x-panacea-nonce" = String, Header, description = "16-64 fresh hex digits"), ("x-panacea-content-sha256" = String, Header, description = "the body's SHA-256, hex, which the signature covers"), ("x-panacea-signature" = String, Header, description = "ed25519 signature over the request and the content's SHA-256")),
    request_body(content = String, description = "the document's bytes", content_type = "application/octet-stream"),
    responses((status = 200, description = "`{\"document\", \"bytes\", \"chunks\"}`"), (status = 400, description = "bad patient or class, no content hash (`content_hash_required`), an empty document (`empty_document`), a body other than the signed content (`content_mismatch`) or cut off (`bad_body`)"), (status = 401, description = "unsigned"), (status = 403, description = "not this node's organisation"), (status = 413, description = "too large"), (status = 429, description = "too many uploads at once (`uploads_busy`)"), (status = 507, description = "the store holds its limit (`store_full`)")))]
pub(super) async fn upload_document(
    State(api): State<ApiState>,
    signed: Signed,
    headers: axum::http::HeaderMap,
    query: Result<Query<UploadQuery>, QueryRejection>,
    body: axum::body::Body,
) -> Result<Json<StoredDocumentView>, ApiError> {
    let sharing = api.own_org_sharing(&signed)?;
    // The signature covers the body through the hash the client names; a body nobody
    // signed is not stored.
    let Some(content_sha256) = signed.content_sha256 else {
        return Err(bad_request(
            "content_hash_required",
            format!(
                "name the document's SHA-256 in {} and sign the request over it",
                crate::auth::HEADER_CONTENT_SHA256
            ),
        ));
    };
    // A clinical document of no bytes is a mistake (a client that lost its file), never
    // something to share: refused before anything is read, however it is signed.
    if content_sha256 == panacea_primitives::Hash::digest(&[]) {
        return Err(bad_request("empty_document", "the document is empty; nothing was stored"));
    }
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let patient = patient_ref(&query.patient)?;
    let data_class = panacea_contracts::codes::DataClass::from_code(&query.data_class)
        .ok_or_else(|| bad_request("bad_data_class", format!("{:?} is not a data class code", query.data_class)))?;
    // Held until the writer has finished (stored, or cleaned up).
    let _permit = sharing.upload_permit().ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "uploads_busy",
            format!("this node takes {} uploads at once; retry when one has finished", sharing.config().uploads_max),
        )
    })?;
    let store_bytes_max = sharing.config().store_bytes_max;
    // Refused before a byte is read when the announced length cannot fit; the store
    // checks again as the body streams, whatever was announced.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if announced > DOCUMENT_BYTES_MAX as u64 {
        return Err(too_large());
    }
    if !sharing.store().has_room(announced.max(1), store_bytes_max) {
        return Err(store_full(store_bytes_max));
    }
    // The body streams through a small bounded channel into the blocking writer, so a
    // large document never sits in memory. Only a body read to its end is followed by
    // `Frame::End`; a writer that sees the channel close without it stores nothing.
    let (tx, rx) = tokio::sync::mpsc::channel::<Frame>(4);
    let store = sharing.store().clone();
    let upload = Upload { patient, data_class, content_sha256, store_bytes_max };
    let writer = tokio::task::spawn_blocking(move || store.put(&upload, ChannelReader::new(rx)));
    let mut stream = body.into_data_stream();
    use futures::StreamExt as _;
    let mut broken = None;
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(frame) => {
                // A closed channel: the writer stopped early (too large, store full).
                if tx.send(Frame::Data(frame)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                broken = Some(bad_request("bad_body", format!("the body broke off: {e}; nothing was stored")));
                break;
            }
        }
    }
    if broken.is_none() {
        let _ = tx.send(Frame::End).await;
    }
    drop(tx);
    let stored = writer.await.map_err(ApiError::internal)?;
    if let Some(broken) = broken {
        return Err(broken);
    }
    let stored = stored.map_err(|e| match e {
        DocStoreError::TooLarge(_) => too_large(),
        DocStoreError::StoreFull { bytes_max } => store_full(bytes_max),
        DocStoreError::ContentMismatch { .. } => bad_request("content_mismatch", e),
        DocStoreError::Aborted(_) => bad_request("bad_body", e),
        e => ApiError::internal(e),
    })?;
    tracing::info!(document = %stored.document, bytes = stored.bytes, "document stored");
    Ok(Json(StoredDocumentView { document: stored.document, bytes: stored.bytes, chunks: stored.chunks }))
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("a document holds at most {DOCUMENT_BYTES_MAX} bytes ({DOCUMENT_CHUNKS_MAX} chunks)"),
    )
}

fn store_full(bytes_max: u64) -> ApiError {
    ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        "store_full",
        format!(
            "this node's document store would pass its limit of {bytes_max} bytes ([sharing] store_bytes_max); erase documents or ask the operator to raise it"
        ),
    )
}

/// What the upload route hands the blocking writer.
pub(super) enum Frame {
    /// The next bytes of the body.
    Data(axum::body::Bytes),
    /// The body was read to its end.
    End,
}

/// Reads the frames a channel delivers, as a blocking reader. The channel closing before
/// `Frame::End` (the request was dropped, the client went away) is an error, never the
/// end of a shorter document.
pub(super) struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Frame>,
    current: axum::body::Bytes,
    at: usize,
    ended: bool,
}

impl ChannelReader {
    fn new(rx: tokio::sync::mpsc::Receiver<Frame>) -> ChannelReader {
        ChannelReader { rx, current: axum::body::Bytes::new(), at: 0, ended: false }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.current.len() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Frame::Data(next)) => {
                    self.current = next;
                    self.at = 0;
                }
                Some(Frame::End) => self.ended = true,
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "the request body ended before its end",
                    ));
                }
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The identity the signer is, if any: an identity of its organisation with its key.
fn signer_identity(signed: &Signed) -> Option<IdentityId> {
    match &signed.principal {
        Principal::Member { org, .. } => Some(panacea_contracts::identity::Identity::id_for(org, &signed.key)),
        Principal::Patient(_) => None,
    }
}

/// `GET /v1/deliveries?after_decision=&after_document=&limit=` query: a page of the
/// signer's deliveries, in id order, after the one named.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DeliveriesQuery {
    /// With `after_document`, the delivery to continue after (the last of the previous page).
    pub after_decision: Option<String>,
    /// With `after_decision`.
    pub after_document: Option<String>,
    /// Most deliveries (at most 1,000, the default).
    pub limit: Option<usize>,
}

/// The deliveries held for the signer's identity (a page: see [`DeliveriesQuery`]),
/// found through the store's recipient index.
pub(super) fn own_deliveries(
    api: &ApiState,
    signed: &Signed,
    after: Option<(DecisionId, DocumentHash)>,
    limit: usize,
) -> Result<Vec<InboxEntry>, ApiError> {
    let sharing = api.own_org_sharing(signed)?;
    let Some(me) = signer_identity(signed) else { return Ok(Vec::new()) };
    sharing.store().deliveries_of(&me, after, limit.min(PAGE_MAX)).map_err(ApiError::internal)
}

pub(super) fn delivery_view(entry: &InboxEntry) -> DeliveryView {
    let state = match &entry.state {
        InboxState::Fetching => "fetching".to_string(),
        InboxState::Received => "received".to_string(),
        InboxState::Confirmed => "confirmed".to_string(),
        InboxState::Refused(why) => format!("refused: {why}"),
        InboxState::Erased => "erased".to_string(),
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

/// `GET /v1/deliveries?after_decision=&after_document=&limit=`: documents delivered (or
/// being delivered) to the signer, a page at a time (continue after the last one).
#[utoipa::path(get, path = "/v1/deliveries", tag = "documents", params(("after_decision" = Option<String>, Query, description = "with after_document: continue after this delivery"), ("after_document" = Option<String>, Query, description = "with after_decision"), ("limit" = Option<usize>, Query, description = "most deliveries, at most 1000")), responses((status = 200, description = "the signer's deliveries"), (status = 401, description = "unsigned"), (status = 403, description = "not this node's organisation")))]
pub(super) async fn deliveries(
    State(api): State<ApiState>,
    signed: Signed,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let Query(query) = query.map_err(|e| bad_request("bad_query", e))?;
    let after = match (&query.after_decision, &query.after_document) {
        (Some(decision), Some(document)) => Some(parse_delivery(decision, document)?),
        (None, None) => None,
        _ => return Err(bad_request("bad_query", "name both after_decision and after_document, or neither")),
    };
    let page = own_deliveries(&api, &signed, after, query.limit.unwrap_or(PAGE_MAX))?;
    Ok(Json(page.iter().map(delivery_view).collect()))
}

fn parse_delivery(decision: &str, document: &str) -> Result<(DecisionId, DocumentHash), ApiError> {
    let decision = Hash::from_hex(decision).map_err(|_| bad_request("bad_id", "a decision id is 64 hex digits"))?;
    let document = Hash::from_hex(document).map_err(|_| bad_request("bad_id", "a document is 64 hex digits"))?;
    Ok((DecisionId(decision), DocumentHash(document)))
}

/// The delivery of `document` under `decision`, if it is for the signer.
pub(super) fn find_delivery(
    api: &ApiState,
    signed: &Signed,
    decision: &str,
    document: &str,
) -> Result<InboxEntry, ApiError> {
    let (decision, document) = parse_delivery(decision, document)?;
    let sharing = api.own_org_sharing(signed)?;
    let entry = sharing.store().inbox(&decision, &document).map_err(ApiError::internal)?;
    entry
        .filter(|e| Some(e.recipient) == signer_identity(signed))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no_delivery", "no such delivery for this signer"))
}

/// `GET /v1/deliveries/{decision}/{document}`: one delivery: its envelope and progress.
#[utoipa::path(get, path = "/v1/deliveries/{decision}/{document}", tag = "documents",
    params(("decision" = String, Path, description = "the access decision that granted it, hex"),
        ("document" = String, Path, description = "the document's SHA-256, hex")),
    responses((status = 200, description = "the delivery"), (status = 400, description = "bad path (`bad_path`)"),
        (status = 401, description = "unsigned"), (status = 403, description = "not this node's organisation"),
        (status = 404, description = "none for this signer (`no_delivery`)")))]
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
#[utoipa::path(get, path = "/v1/deliveries/{decision}/{document}/chunks/{index}", tag = "documents",
    params(("decision" = String, Path, description = "the access decision that granted it, hex"),
        ("document" = String, Path, description = "the document's SHA-256, hex"),
        ("index" = u32, Path, description = "the chunk, from 0")),
    responses((status = 200, description = "the sealed chunk (`application/octet-stream`)"),
        (status = 400, description = "bad path (`bad_path`)"), (status = 401, description = "unsigned"),
        (status = 403, description = "not this node's organisation"),
        (status = 404, description = "no such delivery for this signer (`no_delivery`), or not complete (`no_chunk`)")))]
pub(super) async fn delivery_chunk(
    State(api): State<ApiState>,
    signed: Signed,
    path: Result<Path<(String, String, u32)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((decision, document, index)) = path.map_err(|e| bad_request("bad_path", e))?;
    let entry = find_delivery(&api, &signed, &decision, &document)?;
    let complete = matches!(entry.state, InboxState::Received | InboxState::Confirmed);
    if !complete || index >= entry.received {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_chunk", "the delivery is not complete"));
    }
    let sharing = api.own_org_sharing(&signed)?;
    let chunk = sharing.store().delivered_chunk(&entry.decision, &entry.document, index).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], chunk).into_response())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::{ChannelReader, Frame};

    /// A body cut off (the client went away: the sender is dropped before the end) reads
    /// as an error, never as the end of a shorter document; a body read to its end reads
    /// whole.
    #[test]
    fn a_body_cut_off_reads_as_an_error_not_as_its_end() {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.try_send(Frame::Data(vec![1u8; 10].into())).unwrap();
        drop(tx);
        let mut out = Vec::new();
        assert!(ChannelReader::new(rx).read_to_end(&mut out).is_err(), "read {} bytes as a whole document", out.len());
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.try_send(Frame::Data(vec![1u8; 10].into())).unwrap();
        tx.try_send(Frame::End).unwrap();
        drop(tx);
        let mut out = Vec::new();
        assert_eq!(ChannelReader::new(rx).read_to_end(&mut out).unwrap(), 10);
    }
}
