//! Signed API requests and who may read what.
//!
//! A request that reads consent or audit data carries four headers: the signer's public
//! key, a timestamp (ms), a random nonce and an ed25519 signature, in the chain's
//! `ApiRequest` signing domain, over
//! `METHOD \n PATH_AND_QUERY \n SHA-256(body) hex \n TIMESTAMP \n NONCE`
//! (see [`signing_bytes`]). A request older or newer than [`FRESHNESS_MS`], or whose
//! `(key, nonce)` was seen within that window, is refused.
//!
//! The signer is then resolved against committed state: an organisation's admin or one of
//! its active identities acts for that organisation (a health authority's for every
//! organisation: it audits); a key bound to a patient acts for that patient.

use std::collections::BTreeMap;
use std::sync::Mutex;

use panacea_contracts::codes::OrgKind;
use panacea_contracts::identity::IdentityStatus;
use panacea_contracts::ids::{OrgId, PatientRef};
use panacea_contracts::membership::{KeyOwner, OrgStatus};
use panacea_contracts::state::{StateError, Store};
use panacea_primitives::{ChainId, PublicKey, Signature, Timestamp};

pub use panacea_client_sdk::types::signed::{
    FRESHNESS_MS, HEADER_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, domain, signing_bytes,
};

/// Most `(key, nonce)` pairs remembered against replay.
pub const REPLAY_CACHE_MAX: usize = 200_000;

/// Why a request is not authenticated (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A header is missing or malformed.
    #[error("missing or malformed {0} header; sign the request (see docs/node.md)")]
    Header(&'static str),
    /// The time is outside the window.
    #[error("the request time is more than 60 s from the node's clock; check the client's clock")]
    Stale,
    /// Seen before.
    #[error("this request was already received (replayed nonce); sign each request with a fresh nonce")]
    Replayed,
    /// The signature does not verify.
    #[error("the signature does not verify for this key and request")]
    BadSignature,
    /// The key is not registered.
    #[error("the signing key is not registered on chain, or its owner is not active")]
    Unknown,
    /// Too many requests in the window to remember them all.
    #[error("too many signed requests at once; try again shortly")]
    Busy,
}

/// Who signed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Acts for an organisation (its admin or an active identity).
    Member {
        /// The organisation.
        org: OrgId,
        /// True if the organisation is a health authority: it audits every record.
        auditor: bool,
    },
    /// A patient, through a bound key.
    Patient(PatientRef),
}

impl Principal {
    /// True if the principal may read records of `patient` that involve `orgs`.
    pub fn may_read(&self, patient: &PatientRef, orgs: &[&OrgId]) -> bool {
        match self {
            Principal::Member { auditor: true, .. } => true,
            Principal::Member { org, auditor: false } => orgs.contains(&org),
            Principal::Patient(own) => own == patient,
        }
    }
}

/// Requests seen recently, bounded.
#[derive(Debug, Default)]
pub struct ReplayCache {
    seen: Mutex<BTreeMap<([u8; 32], String), u64>>,
}

impl ReplayCache {
    /// Remembers `(key, nonce)` at `timestamp`; false if it was seen already.
    fn check_and_insert(&self, key: &PublicKey, nonce: &str, timestamp: u64, now: u64) -> Result<(), AuthError> {
        let mut seen = self.seen.lock().map_err(|_| AuthError::Busy)?;
        if seen.len() >= REPLAY_CACHE_MAX {
            seen.retain(|_, at| now.abs_diff(*at) <= FRESHNESS_MS);
            if seen.len() >= REPLAY_CACHE_MAX {
                return Err(AuthError::Busy);
            }
        }
        match seen.insert((key.to_bytes(), nonce.to_string()), timestamp) {
            Some(_) => Err(AuthError::Replayed),
            None => Ok(()),
        }
    }
}

/// The headers of a signed request, as read.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    /// Public key, hex.
    pub key: Option<&'a str>,
    /// Timestamp, decimal ms.
    pub timestamp: Option<&'a str>,
    /// Nonce, hex.
    pub nonce: Option<&'a str>,
    /// Signature, hex.
    pub signature: Option<&'a str>,
}

/// What a signature covers besides its headers.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path and query, as sent.
    pub path_and_query: &'a str,
    /// The body.
    pub body: &'a [u8],
}

/// Checks a signed request and resolves its signer against committed state.
pub fn authenticate(
    store: &dyn Store,
    chain_id: &ChainId,
    replay: &ReplayCache,
    now: Timestamp,
    request: RequestLine<'_>,
    headers: SignedHeaders<'_>,
) -> Result<Result<Principal, AuthError>, StateError> {
    let parsed = (|| {
        let mut key = [0u8; 32];
        hex::decode_to_slice(headers.key.ok_or(AuthError::Header(HEADER_KEY))?, &mut key)
            .map_err(|_| AuthError::Header(HEADER_KEY))?;
        let key = PublicKey::from_bytes(key).map_err(|_| AuthError::Header(HEADER_KEY))?;
        let timestamp: u64 = headers
            .timestamp
            .ok_or(AuthError::Header(HEADER_TIMESTAMP))?
            .parse()
            .map_err(|_| AuthError::Header(HEADER_TIMESTAMP))?;
        let nonce = headers.nonce.ok_or(AuthError::Header(HEADER_NONCE))?;
        if !(16..=64).contains(&nonce.len()) || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuthError::Header(HEADER_NONCE));
        }
        let mut signature = [0u8; 64];
        hex::decode_to_slice(headers.signature.ok_or(AuthError::Header(HEADER_SIGNATURE))?, &mut signature)
            .map_err(|_| AuthError::Header(HEADER_SIGNATURE))?;
        Ok((key, timestamp, nonce, Signature(signature)))
    })();
    let (key, timestamp, nonce, signature) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return Ok(Err(e)),
    };
    if now.as_millis().abs_diff(timestamp) > FRESHNESS_MS {
        return Ok(Err(AuthError::Stale));
    }
    let message = signing_bytes(request.method, request.path_and_query, request.body, timestamp, nonce);
    if key.verify(&domain(chain_id), &message, &signature).is_err() {
        return Ok(Err(AuthError::BadSignature));
    }
    if let Err(e) = replay.check_and_insert(&key, nonce, timestamp, now.as_millis()) {
        return Ok(Err(e));
    }
    resolve(store, &key)
}

fn resolve(store: &dyn Store, key: &PublicKey) -> Result<Result<Principal, AuthError>, StateError> {
    let org = match panacea_contracts::membership::key_owner(store, key)? {
        Some(KeyOwner::Admin(org)) => org,
        Some(KeyOwner::Identity(id)) => match panacea_contracts::identity::identity(store, &id)? {
            Some(identity) if identity.status == IdentityStatus::Active => identity.org,
            _ => return Ok(Err(AuthError::Unknown)),
        },
        Some(KeyOwner::Patient(patient)) => return Ok(Ok(Principal::Patient(patient))),
        None => return Ok(Err(AuthError::Unknown)),
    };
    match panacea_contracts::membership::organisation(store, &org)? {
        Some(record) if record.status == OrgStatus::Active => {
            Ok(Ok(Principal::Member { auditor: record.kind == OrgKind::HealthAuthority, org }))
        }
        _ => Ok(Err(AuthError::Unknown)),
    }
}
