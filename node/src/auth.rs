//! Signed API requests and who may read what.
//!
//! A request that reads consent or audit data carries four headers: the signer's public
//! key, a timestamp (ms), a random nonce and an ed25519 signature, in the chain's
//! `ApiRequest` signing domain, over [`signing_bytes`]: the method, the path and query,
//! the SHA-256 of the body, the timestamp, the nonce, and the node id of the node it is
//! sent to (its *audience*: a request signed for one node is refused by every other). A
//! request whose body is streamed (a document upload) names its SHA-256 in the
//! [`HEADER_CONTENT_SHA256`] header, which the signature covers and the route checks
//! against the body it receives; every other signed route takes no body at all.
//!
//! The order of the checks matters for what an outsider can make the node do: headers,
//! freshness and the signature first (CPU only); then the key is resolved against
//! committed state, so a key that is not registered is refused before it can take any
//! room in the per-key rate limiter or the replay cache; then the per-key rate limit;
//! only then is the nonce remembered. The replay cache is bounded in total and per key,
//! and its entries expire in arrival order, so expiry is amortised O(1).
//!
//! Who a key acts for, and what it may read, is [`Principal`] and its `may_*` methods:
//! every route asks them with the records it is about to return.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use panacea_contracts::audit::AuditEvent;
use panacea_contracts::codes::{OrgKind, StaffRole};
use panacea_contracts::identity::{IdentityKind, IdentityStatus};
use panacea_contracts::ids::{OrgId, PatientRef};
use panacea_contracts::membership::{KeyOwner, OrgStatus};
use panacea_contracts::state::{StateError, Store};
use panacea_primitives::{ChainId, Hash, PublicKey, Signature, Timestamp};

pub use panacea_client_sdk::types::signed::{
    FRESHNESS_MS, HEADER_CONTENT_SHA256, HEADER_KEY, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, domain,
    signing_bytes,
};

/// Most `(key, nonce)` pairs remembered against replay, all keys together.
pub const REPLAY_CACHE_MAX: usize = 200_000;
/// Most `(key, nonce)` pairs remembered for one key. The per-key rate limit comes first,
/// so an honest client never reaches it; it bounds what one key can take of the cache.
pub const REPLAY_PER_KEY_MAX: u32 = 20_000;
/// How long a nonce is remembered: a request is fresh for [`FRESHNESS_MS`] either side of
/// the node's clock, so a nonce seen now cannot be replayed fresh after twice that.
pub const REPLAY_WINDOW: Duration = Duration::from_millis(2 * FRESHNESS_MS);

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
    #[error(
        "the signature does not verify for this key, request and node (a request is signed for one node: the node id in /v1/status)"
    )]
    BadSignature,
    /// The key is not registered.
    #[error("the signing key is not registered on chain, or its owner is not active")]
    Unknown,
    /// Too many requests in the window to remember them all.
    #[error("too many signed requests at once; try again shortly")]
    Busy,
}

/// What an organisation's key is for. Read rights follow the role, not the organisation:
/// a health authority's sharing service or IT staff are not auditors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    /// The organisation's admin key: operates its node, which replicates every block.
    Operator,
    /// An auditor identity (staff role `auditor`) of a health authority: audits every
    /// organisation's records, within what the consortium lets health authorities read
    /// (`governance::AuthorityReads`, changed by vote).
    Auditor(panacea_contracts::governance::AuthorityReads),
    /// Any other staff identity: reads its own organisation's records.
    Staff(StaffRole),
    /// A device or software service identity: submits transactions, reads no records.
    Machine,
}

/// Who signed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Acts for an organisation (its admin or an active identity).
    Member {
        /// The organisation.
        org: OrgId,
        /// What the key may do.
        role: MemberRole,
    },
    /// A patient, through a bound key.
    Patient(PatientRef),
}

impl Principal {
    /// True if the principal audits every organisation's records (audit events,
    /// accountings, decisions, consents): a health authority's auditor, while the
    /// consortium lets authorities read the audit trail.
    pub fn is_auditor(&self) -> bool {
        matches!(self, Principal::Member { role: MemberRole::Auditor(reads), .. } if reads.audit)
    }

    /// True if the principal reads every organisation's risk assessments: an auditor, while
    /// the consortium lets authorities read risk.
    pub fn audits_risk(&self) -> bool {
        matches!(self, Principal::Member { role: MemberRole::Auditor(reads), .. } if reads.risk)
    }

    /// True if the principal reads every organisation's security-governance
    /// self-assessments and the regional view: an auditor, while the consortium lets
    /// authorities read them.
    pub fn audits_security_governance(&self) -> bool {
        matches!(self, Principal::Member { role: MemberRole::Auditor(reads), .. } if reads.security_governance)
    }

    /// True if the principal may read whole blocks and every receipt: what its own node
    /// replicates (an organisation's operator) or what it audits (an auditor, while the
    /// consortium lets authorities read the ledger).
    pub fn may_read_ledger(&self) -> bool {
        match self {
            Principal::Member { role: MemberRole::Operator, .. } => true,
            Principal::Member { role: MemberRole::Auditor(reads), .. } => reads.ledger,
            _ => false,
        }
    }

    /// True if the principal is a member's key (any role): governance is the whole
    /// consortium's business.
    pub fn is_member(&self) -> bool {
        matches!(self, Principal::Member { .. })
    }

    /// The organisation whose records the principal reads, if it reads any as a member
    /// (operators and staff; not devices or services).
    pub fn reading_org(&self) -> Option<&OrgId> {
        match self {
            Principal::Member { org, role: MemberRole::Operator | MemberRole::Staff(_) } => Some(org),
            _ => None,
        }
    }

    /// True if the principal may read records of `patient` that involve `orgs`.
    pub fn may_read(&self, patient: &PatientRef, orgs: &[&OrgId]) -> bool {
        match self {
            Principal::Patient(own) => own == patient,
            _ if self.is_auditor() => true,
            _ => self.reading_org().is_some_and(|org| orgs.contains(&org)),
        }
    }

    /// True if the principal may read an audit event: an auditor any, a member those with
    /// an agent of its own organisation and every governance event (proposals, votes,
    /// outcomes, epochs, misbehaviour: the consortium's own business, with no patient in
    /// them), a patient those about themselves.
    pub fn may_read_event(&self, event: &AuditEvent) -> bool {
        use panacea_contracts::audit::AuditKind;
        let governance = matches!(
            event.kind,
            AuditKind::GovernanceProposed
                | AuditKind::GovernanceVoted
                | AuditKind::GovernanceDecided
                | AuditKind::EpochChanged
                | AuditKind::MisbehaviourReported
        );
        match self {
            Principal::Patient(own) => event.entity.patient.as_ref() == Some(own),
            _ if self.is_auditor() => true,
            Principal::Member {
                role: MemberRole::Operator | MemberRole::Staff(_) | MemberRole::Auditor(_), ..
            } if governance => true,
            _ => self.reading_org().is_some_and(|org| event.agents.iter().any(|a| a.org.as_ref() == Some(org))),
        }
    }
}

/// Requests seen recently: bounded in total and per key, expiring in arrival order.
#[derive(Debug, Default)]
pub struct ReplayCache {
    inner: Mutex<ReplayInner>,
}

#[derive(Debug, Default)]
struct ReplayInner {
    seen: BTreeSet<([u8; 32], String)>,
    /// Arrival order: each entry forgotten at `Instant`, which never decreases.
    order: VecDeque<(Instant, [u8; 32], String)>,
    per_key: BTreeMap<[u8; 32], u32>,
}

impl ReplayCache {
    /// Remembers `(key, nonce)` at `now`; an error if it was seen within the window, or if
    /// the cache (or this key's share of it) is full.
    pub fn check_and_insert(&self, key: &PublicKey, nonce: &str, now: Instant) -> Result<(), AuthError> {
        let mut inner = self.inner.lock().map_err(|_| AuthError::Busy)?;
        inner.expire(now);
        let key = key.to_bytes();
        let entry = (key, nonce.to_ascii_lowercase());
        if inner.seen.contains(&entry) {
            return Err(AuthError::Replayed);
        }
        let count = inner.per_key.get(&key).copied().unwrap_or(0);
        if inner.seen.len() >= REPLAY_CACHE_MAX || count >= REPLAY_PER_KEY_MAX {
            return Err(AuthError::Busy);
        }
        inner.per_key.insert(key, count + 1);
        inner.order.push_back((now + REPLAY_WINDOW, key, entry.1.clone()));
        inner.seen.insert(entry);
        Ok(())
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.seen.len())
    }

    /// True if none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayInner {
    fn expire(&mut self, now: Instant) {
        while let Some((until, key, nonce)) = self.order.front() {
            if *until > now {
                break;
            }
            let (key, nonce) = (*key, nonce.clone());
            self.order.pop_front();
            self.seen.remove(&(key, nonce));
            if let Some(count) = self.per_key.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    self.per_key.remove(&key);
                }
            }
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
    /// SHA-256 of the body (of the empty body for a request without one).
    pub body_sha256: Hash,
    /// The node the request must be signed for: this node's id.
    pub audience: &'a str,
}

/// A request whose signature verified, before its key is resolved.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The signing key.
    pub key: PublicKey,
    nonce: String,
}

/// Checks a signed request's headers, freshness and signature (no state, no memory).
pub fn verify(
    chain_id: &ChainId,
    now: Timestamp,
    request: RequestLine<'_>,
    headers: SignedHeaders<'_>,
) -> Result<Verified, AuthError> {
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
    if now.as_millis().abs_diff(timestamp) > FRESHNESS_MS {
        return Err(AuthError::Stale);
    }
    let message =
        signing_bytes(request.method, request.path_and_query, &request.body_sha256, timestamp, nonce, request.audience);
    if key.verify(&domain(chain_id), &message, &Signature(signature)).is_err() {
        return Err(AuthError::BadSignature);
    }
    Ok(Verified { key, nonce: nonce.to_string() })
}

impl Verified {
    /// Remembers the nonce; refused if it was seen (call after the key resolved and the
    /// per-key rate limit allowed it).
    pub fn remember(&self, replay: &ReplayCache, now: Instant) -> Result<(), AuthError> {
        replay.check_and_insert(&self.key, &self.nonce, now)
    }
}

/// Who `key` acts for in committed state: an admin of an active organisation, an active
/// identity of an active organisation, or a patient through a binding in force.
pub fn resolve(store: &dyn Store, key: &PublicKey) -> Result<Result<Principal, AuthError>, StateError> {
    let (org, role) = match panacea_contracts::membership::key_owner(store, key)? {
        Some(KeyOwner::Admin(org)) => (org, MemberRole::Operator),
        Some(KeyOwner::Identity(id)) => match panacea_contracts::identity::identity(store, &id)? {
            Some(identity) if identity.status == IdentityStatus::Active && identity.key == *key => {
                let role = match identity.kind {
                    IdentityKind::Staff { role } => MemberRole::Staff(role),
                    IdentityKind::Device { .. } | IdentityKind::Service { .. } => MemberRole::Machine,
                };
                (identity.org, role)
            }
            _ => return Ok(Err(AuthError::Unknown)),
        },
        // A patient's key reads only while its binding is in force.
        Some(KeyOwner::Patient(_)) => {
            return Ok(panacea_contracts::consent::bound_patient(store, key)?
                .map(Principal::Patient)
                .ok_or(AuthError::Unknown));
        }
        None => return Ok(Err(AuthError::Unknown)),
    };
    match panacea_contracts::membership::organisation(store, &org)? {
        Some(record) if record.status == OrgStatus::Active => {
            let role = match role {
                MemberRole::Staff(StaffRole::Auditor) if record.kind == OrgKind::HealthAuthority => {
                    MemberRole::Auditor(panacea_contracts::governance::parameters(store)?.authority_reads)
                }
                role => role,
            };
            Ok(Ok(Principal::Member { org, role }))
        }
        _ => Ok(Err(AuthError::Unknown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PublicKey {
        panacea_primitives::Keypair::from_seed([seed; 32]).public()
    }

    #[test]
    fn a_nonce_is_refused_while_remembered_and_forgotten_after_the_window() {
        let cache = ReplayCache::default();
        let t0 = Instant::now();
        cache.check_and_insert(&key(1), "00112233445566778899", t0).unwrap();
        assert_eq!(cache.check_and_insert(&key(1), "00112233445566778899", t0), Err(AuthError::Replayed));
        assert_eq!(
            cache.check_and_insert(&key(1), "00112233445566778899".to_uppercase().as_str(), t0),
            Err(AuthError::Replayed)
        );
        cache.check_and_insert(&key(2), "00112233445566778899", t0).unwrap();
        let later = t0 + REPLAY_WINDOW + Duration::from_millis(1);
        cache.check_and_insert(&key(3), "aabbccddeeff00112233", later).unwrap();
        assert_eq!(cache.len(), 1, "the first two expired on the next insert");
    }

    #[test]
    fn a_patient_key_reads_and_signs_only_while_its_binding_is_in_force() {
        use panacea_contracts::Call;
        use panacea_contracts::codes::StaffRole;
        use panacea_contracts::consent::{
            ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType,
        };
        use panacea_contracts::ids::DocumentHash;
        use panacea_contracts::testing::{Chain, patient};

        let mut chain = Chain::new();
        let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
        let terms = ConsentTerms {
            patient: patient("alice"),
            status: ConsentStatus::Active,
            scope: ConsentScope::PatientPrivacy,
            custodians: Vec::new(),
            categories: vec![],
            policy_rule: PolicyRule::OptIn,
            verification: vec![],
            provision: Provision::all(ProvisionType::Permit),
        };
        let form = DocumentHash(Hash([1; 32]));
        chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms, form_hash: Some(form) }));
        let alice = panacea_primitives::Keypair::from_seed([7; 32]);
        let bind = ConsentCall::BindPatientKey { patient: patient("alice"), key: alice.public(), form_hash: form };
        chain.ok(&clerk, Call::Consent(bind));
        assert_eq!(resolve(&chain.store, &alice.public()).unwrap(), Ok(Principal::Patient(patient("alice"))));
        assert_eq!(crate::admission::signer_standing(&chain.store, &alice.public()), Ok(()));
        chain.ok(&alice, Call::Consent(ConsentCall::RevokePatientKey { key: alice.public(), form_hash: None }));
        assert_eq!(resolve(&chain.store, &alice.public()).unwrap(), Err(AuthError::Unknown), "reads stop");
        assert!(crate::admission::signer_standing(&chain.store, &alice.public()).is_err(), "and so does signing");
    }

    #[test]
    fn one_key_cannot_take_more_than_its_share_of_the_cache() {
        let cache = ReplayCache::default();
        let t0 = Instant::now();
        for i in 0..REPLAY_PER_KEY_MAX {
            cache.check_and_insert(&key(1), &format!("{i:032x}"), t0).unwrap();
        }
        assert_eq!(cache.check_and_insert(&key(1), &format!("{:032x}", u32::MAX), t0), Err(AuthError::Busy));
        cache.check_and_insert(&key(2), &format!("{:032x}", 0), t0).expect("another key is unaffected");
        let later = t0 + REPLAY_WINDOW;
        cache.check_and_insert(&key(1), &format!("{:032x}", u32::MAX), later).expect("its share frees up");
    }
}
