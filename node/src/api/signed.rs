//! The `Signed` extractor: a request's verified signer, resolved against committed
//! state, rate limited per key, and recorded when refused.

use std::time::Instant;

use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use panacea_primitives::{Hash, PublicKey};

use super::{ApiError, ApiState, rate_limited};
use crate::auth::{self, AuthError, Principal, SignedHeaders};

/// The authenticated signer of a request (401 before the handler runs otherwise), with
/// what a refusal logs.
pub struct Signed {
    /// Who the signer acts for.
    pub(super) principal: Principal,
    /// The signing key, verified.
    pub(super) key: PublicKey,
    /// The SHA-256 the signature covers for a streamed body (a document upload), which the
    /// route must check against the body it reads; `None` for a request without a body.
    pub(super) content_sha256: Option<Hash>,
    pub(super) uri: Uri,
}

impl Signed {
    /// A 403 for this signer, counted and logged.
    pub(super) fn forbidden(&self, api: &ApiState) -> ApiError {
        api.refused(Some(&self.key), self.uri.path(), "forbidden");
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the signer may not read this record: organisations read their own records, health authorities' auditors all, patients their own",
        )
    }
}

/// True if the request carries a body (a signed route without a streamed body takes none:
/// a body nobody signed is refused before it is read).
fn has_body(headers: &HeaderMap) -> bool {
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    headers.contains_key(header::TRANSFER_ENCODING) || length.is_some_and(|l| l.trim() != "0")
}

impl ApiState {
    /// Authenticates a signed request (401 on failure), counting and logging refusals
    /// without naming any patient.
    fn principal(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<Signed, ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let signed = SignedHeaders {
            key: header(auth::HEADER_KEY),
            timestamp: header(auth::HEADER_TIMESTAMP),
            nonce: header(auth::HEADER_NONCE),
            signature: header(auth::HEADER_SIGNATURE),
        };
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let unauthenticated = |e: AuthError, key: Option<&PublicKey>| {
            self.refused(key, uri.path(), "unauthenticated");
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
        };
        // What the signature covers for the body: a streamed body's announced hash, or the
        // empty body. A body on any other signed request is refused unread.
        let content_sha256 = match header(auth::HEADER_CONTENT_SHA256) {
            Some(text) => Some(Hash::from_hex(text.trim()).map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_content_hash",
                    format!("{} must be the body's SHA-256, 64 hex digits", auth::HEADER_CONTENT_SHA256),
                )
            })?),
            None if has_body(headers) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unexpected_body",
                    format!(
                        "this signed request carries a body its signature does not cover; send none, or name its SHA-256 in {}",
                        auth::HEADER_CONTENT_SHA256
                    ),
                ));
            }
            None => None,
        };
        let body_sha256 = content_sha256.unwrap_or_else(|| Hash::digest(b""));
        let now = crate::shell::Clock::now(&crate::shell::SystemClock);
        let shared = &self.shared;
        let audience = shared.peer_id.to_string();
        let request =
            auth::RequestLine { method: method.as_str(), path_and_query: path, body_sha256, audience: &audience };
        let verified =
            auth::verify(shared.chain.chain_id(), now, request, signed).map_err(|e| unauthenticated(e, None))?;
        // Resolved before anything is remembered for the key: an unregistered key takes no
        // room in the rate limiter or the replay cache.
        let principal = auth::resolve(&shared.storage.state(), &verified.key)
            .map_err(ApiError::internal)?
            .map_err(|e| unauthenticated(e, Some(&verified.key)))?;
        // Keyed on the key's bytes, not the header's text (whose case a client chooses).
        if !self.per_key.allow(&hex::encode(verified.key.to_bytes()), Instant::now()) {
            self.refused(Some(&verified.key), uri.path(), "rate limited");
            return Err(rate_limited("signed by this key"));
        }
        verified.remember(&shared.replay, Instant::now()).map_err(|e| unauthenticated(e, Some(&verified.key)))?;
        Ok(Signed { principal, key: verified.key, content_sha256, uri: uri.clone() })
    }

    /// Counts and logs a refused request and records it for auditors. `key` is a key whose
    /// signature verified, or none: an unverified header is attacker-chosen text and is
    /// never recorded as if it had signed. Refusals without a verified key are recorded
    /// only within a budget, so anonymous floods cannot push out the record of refused
    /// registered keys (they are still counted in the metrics).
    pub(super) fn refused(&self, key: Option<&PublicKey>, path: &str, why: &str) {
        self.shared.metrics.api_refusals.inc();
        // The path may hold a patient reference: log only the route's first segments.
        let route: String = path.split('/').take(3).collect::<Vec<_>>().join("/");
        let key = key.map(|k| hex::encode(k.to_bytes()));
        tracing::warn!(key = key.as_deref().unwrap_or("-"), route, why, "API request refused");
        if key.is_none() && !self.anonymous_refusals.allow("anonymous", Instant::now()) {
            return;
        }
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let refusal = crate::storage::Refusal { at_ms, key, route, reason: why.to_string() };
        if let Err(e) = self.shared.storage.record_refusal(&refusal) {
            tracing::error!(error = %e, "could not record a refusal");
        }
    }
}

impl axum::extract::FromRequestParts<ApiState> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, api: &ApiState) -> Result<Signed, ApiError> {
        api.principal(&parts.method, &parts.uri, &parts.headers)
    }
}

/// An optional signer: routes that answer everyone, but more to a signer who may read more
/// (blocks, transactions). A request without signature headers is anonymous; one with
/// them must authenticate like any signed request.
pub struct MaybeSigned(pub(super) Option<Signed>);

impl axum::extract::FromRequestParts<ApiState> for MaybeSigned {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        api: &ApiState,
    ) -> Result<MaybeSigned, ApiError> {
        if parts.headers.contains_key(auth::HEADER_KEY) || parts.headers.contains_key(auth::HEADER_SIGNATURE) {
            api.principal(&parts.method, &parts.uri, &parts.headers).map(|signed| MaybeSigned(Some(signed)))
        } else {
            Ok(MaybeSigned(None))
        }
    }
}
