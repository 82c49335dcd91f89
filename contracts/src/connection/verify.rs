//! Checking a connection against the chain: what a gateway asks the node (through the
//! API) when a machine connects. Pure over committed state.

use panacea_primitives::{ChainId, Height, Signature, Timestamp};
use serde::{Deserialize, Serialize};

use super::messages::{CHALLENGE_FRESHNESS_MS, ConnectionChallenge, ConnectionRule};
use super::state::rule;
use crate::identity::{IdentityKind, IdentityStatus, identity};
use crate::state::{StateError, Store};

/// Why a connection is not expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unexpected {
    /// The source is not a registered device or service.
    UnknownSource,
    /// The source is suspended or revoked (or its organisation is not active).
    SourceInactive,
    /// The signature is not the source's current key's over the challenge.
    BadSignature,
    /// The challenge was signed too long ago (or in the future).
    Stale,
    /// The destination is not an active device or service.
    UnknownDestination,
    /// No rule allows source → destination over this protocol.
    NoRule,
    /// The rule expired.
    RuleExpired,
}

impl Unexpected {
    /// The code shown by the API.
    pub fn code(self) -> &'static str {
        match self {
            Unexpected::UnknownSource => "unknown-source",
            Unexpected::SourceInactive => "source-inactive",
            Unexpected::BadSignature => "bad-signature",
            Unexpected::Stale => "stale-challenge",
            Unexpected::UnknownDestination => "unknown-destination",
            Unexpected::NoRule => "no-rule",
            Unexpected::RuleExpired => "rule-expired",
        }
    }
}

/// The verdict on a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A rule in force allows it and the source proved its identity.
    Expected(ConnectionRule),
    /// It is not expected.
    Unexpected(Unexpected, Option<ConnectionRule>),
}

/// Checks `challenge`, signed by `signature`, against committed state at `height`
/// (whose block time is `now`): the source is an active machine whose current key
/// signed, the challenge is fresh, the destination is an active machine, and a rule in
/// force allows the connection.
pub fn check_connection<S: Store + ?Sized>(
    store: &S,
    chain_id: &ChainId,
    challenge: &ConnectionChallenge,
    signature: &Signature,
    height: Height,
    now: Timestamp,
) -> Result<Verdict, StateError> {
    let machine = |kind: &IdentityKind| matches!(kind, IdentityKind::Device { .. } | IdentityKind::Service { .. });
    let next = height.next();
    let Some(source) = identity(store, &challenge.source)?.filter(|i| machine(&i.kind)) else {
        return Ok(Verdict::Unexpected(Unexpected::UnknownSource, None));
    };
    let org_active = |org| -> Result<bool, StateError> {
        Ok(crate::membership::organisation(store, org)?
            .is_some_and(|o| o.status == crate::membership::OrgStatus::Active))
    };
    if source.status_at(next) != IdentityStatus::Active || !org_active(&source.org)? {
        return Ok(Verdict::Unexpected(Unexpected::SourceInactive, None));
    }
    if !challenge.verify(chain_id, &source.key, signature) {
        return Ok(Verdict::Unexpected(Unexpected::BadSignature, None));
    }
    if challenge.time.as_millis().abs_diff(now.as_millis()) > CHALLENGE_FRESHNESS_MS {
        return Ok(Verdict::Unexpected(Unexpected::Stale, None));
    }
    let destination_ok = identity(store, &challenge.destination)?
        .is_some_and(|d| machine(&d.kind) && d.status_at(next) == IdentityStatus::Active);
    if !destination_ok {
        return Ok(Verdict::Unexpected(Unexpected::UnknownDestination, None));
    }
    let id = ConnectionRule::id_for(&challenge.source, &challenge.destination, &challenge.protocol);
    match rule(store, &id)? {
        None => Ok(Verdict::Unexpected(Unexpected::NoRule, None)),
        Some(found) if now >= found.expires => Ok(Verdict::Unexpected(Unexpected::RuleExpired, Some(found))),
        Some(found) => Ok(Verdict::Expected(found)),
    }
}
