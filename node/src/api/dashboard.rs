//! The auditor dashboard: `GET /dashboard/` and its assets, compiled into the binary.
//!
//! The dashboard is plain ES modules and CSS (`node/assets/dashboard/`); the browser
//! decrypts the signer's keystore and signs every read itself, so the node serves only
//! static files here and answers the dashboard's requests through the ordinary signed
//! routes. Every answer carries a strict Content-Security-Policy (scripts and styles from
//! this origin only, no inline script, no framing), `nosniff` and `no-referrer`, and is
//! revalidated by its ETag (`no-cache`), so a node upgrade is seen at the next load.
//!
//! Development only: with `PANACEA_DASHBOARD_DIR` set to a folder holding the same files,
//! the node reads them from there at each request (the same names, never another path),
//! so the JavaScript can be edited without rebuilding. Production nodes leave it unset.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::*;

/// The Content-Security-Policy of every dashboard answer.
pub(super) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Environment variable naming a folder to serve the assets from (development only).
pub(super) const DASHBOARD_DIR_ENV: &str = "PANACEA_DASHBOARD_DIR";

macro_rules! assets {
    ($(($name:literal, $type:literal)),* $(,)?) => {
        /// The dashboard's files: name under `/dashboard/`, content type, bytes.
        const ASSETS: &[(&str, &str, &[u8])] = &[
            $(($name, $type, include_bytes!(concat!("../../assets/dashboard/", $name)))),*
        ];
    };
}

assets!(
    ("index.html", "text/html; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
    ("js/main.js", "text/javascript; charset=utf-8"),
    ("js/api.js", "text/javascript; charset=utf-8"),
    ("js/keystore.js", "text/javascript; charset=utf-8"),
    ("js/tx.js", "text/javascript; charset=utf-8"),
    ("js/bytes.js", "text/javascript; charset=utf-8"),
    ("js/export.js", "text/javascript; charset=utf-8"),
    ("js/views.js", "text/javascript; charset=utf-8"),
    ("vendor/crypto.js", "text/javascript; charset=utf-8"),
);

/// `GET /dashboard`: to `/dashboard/`, so relative asset paths resolve.
pub(super) async fn redirect() -> Redirect {
    Redirect::permanent("/dashboard/")
}

/// `GET /dashboard/`: the page.
pub(super) async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /dashboard/{*asset}`: a script, style sheet or the page.
pub(super) async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

/// The bytes of asset `name`: embedded, or from the development folder when set.
fn content(name: &str) -> Option<(&'static str, std::borrow::Cow<'static, [u8]>)> {
    let (name, content_type, embedded) = ASSETS.iter().find(|(n, _, _)| *n == name)?;
    if let Some(dir) = std::env::var_os(DASHBOARD_DIR_ENV) {
        // Only the listed names are read, so no request reaches another file.
        if let Ok(bytes) = std::fs::read(std::path::Path::new(&dir).join(name)) {
            return Some((content_type, bytes.into()));
        }
    }
    Some((content_type, std::borrow::Cow::Borrowed(*embedded)))
}

/// The answer for asset `name`, with the security and caching headers (304 when the
/// client's copy is current).
fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some((content_type, bytes)) = content(name) else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such dashboard file; open /dashboard/")
            .into_response();
    };
    let etag = format!("\"{}\"", &Hash::digest(&bytes).to_string()[..32]);
    let fresh = request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v == etag);
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, bytes.into_owned()).into_response()
    };
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, header::CONTENT_TYPE, content_type);
    set(headers, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::CACHE_CONTROL, "no-cache");
    set(headers, header::ETAG, &etag);
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use panacea_contracts::access::{AccessCall, ReviewOutcome};
    use panacea_contracts::ids::{DecisionId, DocumentHash};
    use panacea_contracts::{Call, Transaction};
    use panacea_primitives::{ChainId, Keypair};

    #[test]
    fn every_asset_is_served_with_its_type_and_a_strict_policy() {
        for (name, content_type, bytes) in ASSETS {
            let response = serve(name, &HeaderMap::new());
            assert_eq!(response.status(), StatusCode::OK, "{name}");
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_TYPE], *content_type);
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
            assert!(!bytes.is_empty(), "{name} is empty");
            // Revalidation answers 304 without the body.
            let mut request = HeaderMap::new();
            request.insert(header::IF_NONE_MATCH, headers[header::ETAG].clone());
            assert_eq!(serve(name, &request).status(), StatusCode::NOT_MODIFIED);
        }
        assert_eq!(serve("../Cargo.toml", &HeaderMap::new()).status(), StatusCode::NOT_FOUND);
        assert_eq!(serve("js/missing.js", &HeaderMap::new()).status(), StatusCode::NOT_FOUND);
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"), "no inline script or eval");
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let page = std::str::from_utf8(ASSETS[0].2).unwrap();
        for (at, _) in page.match_indices("<script") {
            let tag = &page[at..at + page[at..].find('>').unwrap()];
            assert!(tag.contains("src="), "an inline script: {tag}");
        }
        assert!(!page.contains("<style"), "styles come from app.css");
        assert!(!page.contains(" onclick=") && !page.contains(" onload="), "no inline handlers");
    }

    /// The test vector the dashboard's JavaScript encoder (`js/tx.js`) is checked against
    /// in the browser test: both sides must produce these bytes.
    #[test]
    fn the_close_review_vector_matches_the_javascript_fixture() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../assets/dashboard/test/close-review-vector.json")).unwrap();
        let text = |field: &str| fixture[field].as_str().unwrap().to_string();
        let seed: [u8; 32] = hex::decode(text("seed")).unwrap().try_into().unwrap();
        let key = Keypair::from_seed(seed);
        let decision: [u8; 32] = hex::decode(text("decision")).unwrap().try_into().unwrap();
        let notes: [u8; 32] = hex::decode(text("notes")).unwrap().try_into().unwrap();
        let outcome = match text("outcome").as_str() {
            "justified" => ReviewOutcome::Justified,
            _ => ReviewOutcome::Unjustified,
        };
        let call = Call::Access(AccessCall::CloseReview {
            decision: DecisionId(Hash(decision)),
            outcome,
            notes: Some(DocumentHash(Hash(notes))),
        });
        let tx = Transaction {
            chain_id: ChainId::new(text("chain_id")).unwrap(),
            signer: key.public(),
            nonce: fixture["nonce"].as_u64().unwrap(),
            call,
        }
        .sign(&key);
        assert_eq!(hex::encode(key.public().to_bytes()), text("public_key"));
        assert_eq!(tx.tx.signing_hash().to_string(), text("signing_hash"));
        assert_eq!(hex::encode(tx.encode()), text("signed_transaction"));
        assert_eq!(tx.id().to_string(), text("id"));
    }
}
