//! The access decision rule: a pure function of the patient's consents and the request.
//!
//! 1. Only consents in force count: status `active`, scope `patient-privacy` (or
//!    `research`, for requests whose purpose is research), and the block time inside the
//!    root provision's period. Draft, proposed, rejected, inactive (revoked),
//!    entered-in-error and expired consents never grant.
//! 2. In each consent, a provision matches a request when each of its non-empty lists
//!    contains the request's value (actor: the requester's organisation, identity or
//!    role; action; purpose; data class), the block time is in its period and the data's
//!    time is in its data period. When the request gives no data time, a provision with a
//!    data period matches if it denies and not if it permits: an unknown date can neither
//!    escape a deny nor earn a permit. A provision that does not match is skipped with all
//!    its exceptions.
//! 3. Within a matching provision, matching exceptions (nested provisions) override it:
//!    the result of a consent is the deepest matching provision, its *specificity* being
//!    its depth (the root is 1).
//! 4. Across consents, the most specific result wins; at equal specificity **deny
//!    overrides permit**.
//! 5. If nothing matches, the request is denied: no applicable consent, no access.
//!
//! Break-glass (emergency access) is decided by the caller, after this rule.

use panacea_primitives::Timestamp;
use serde::{Deserialize, Serialize};

use crate::codes::{ConsentAction, DataClass, Purpose, StaffRole};
use crate::consent::{ActorRef, Consent, ConsentScope, ConsentStatus, Provision, ProvisionType};
use crate::ids::{ConsentId, IdentityId, OrgId};

/// What is asked, by whom, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The requesting identity.
    pub requester: IdentityId,
    /// Its organisation.
    pub requester_org: OrgId,
    /// Its role, for staff.
    pub requester_role: Option<StaffRole>,
    /// What the requester will do with the data.
    pub action: ConsentAction,
    /// Why.
    pub purpose: Purpose,
    /// Which data.
    pub data_class: DataClass,
    /// The data's own date, when known.
    pub data_time: Option<Timestamp>,
    /// Block time.
    pub at: Timestamp,
}

/// Why a request was denied.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
#[serde(rename_all = "kebab-case")]
pub enum DenyReason {
    /// No consent in force matches the request.
    NoApplicableConsent,
    /// A consent denies it.
    DeniedByConsent,
}

/// The verdict and the consents that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by these consents.
    Permit {
        /// The deciding consents.
        consents: Vec<ConsentId>,
    },
    /// Refused.
    Deny {
        /// Why.
        reason: DenyReason,
        /// The deciding consents (empty for no applicable consent).
        consents: Vec<ConsentId>,
    },
}

impl Decision {
    /// True for a permit.
    pub fn permits(&self) -> bool {
        matches!(self, Decision::Permit { .. })
    }
}

fn in_force(consent: &Consent, request: &Request) -> bool {
    let scope_applies = match consent.terms.scope {
        ConsentScope::PatientPrivacy => true,
        ConsentScope::Research => request.purpose == Purpose::Research,
        ConsentScope::Treatment | ConsentScope::Adr => false,
    };
    consent.terms.status == ConsentStatus::Active
        && scope_applies
        && consent.terms.provision.period.is_none_or(|p| p.contains(request.at))
}

fn actor_matches(actor: &ActorRef, request: &Request) -> bool {
    match actor {
        ActorRef::Organisation(org) => *org == request.requester_org,
        ActorRef::Identity(id) => *id == request.requester,
        ActorRef::Role(role) => Some(*role) == request.requester_role,
    }
}

fn matches(provision: &Provision, request: &Request) -> bool {
    (provision.actors.is_empty() || provision.actors.iter().any(|a| actor_matches(a, request)))
        && (provision.actions.is_empty() || provision.actions.contains(&request.action))
        && (provision.purposes.is_empty() || provision.purposes.contains(&request.purpose))
        && (provision.data_classes.is_empty() || provision.data_classes.contains(&request.data_class))
        && provision.period.is_none_or(|p| p.contains(request.at))
        && match (provision.data_period, request.data_time) {
            (None, _) => true,
            (Some(period), Some(time)) => period.contains(time),
            // An unknown data date cannot escape a deny, and cannot earn a permit.
            (Some(_), None) => provision.kind == ProvisionType::Deny,
        }
}

/// The more specific of two results; deny wins a tie.
fn stronger(a: (ProvisionType, usize), b: (ProvisionType, usize)) -> (ProvisionType, usize) {
    match a.1.cmp(&b.1) {
        core::cmp::Ordering::Greater => a,
        core::cmp::Ordering::Less => b,
        core::cmp::Ordering::Equal => {
            if a.0 == ProvisionType::Deny {
                a
            } else {
                b
            }
        }
    }
}

/// The result of one provision tree: the deepest matching provision.
fn evaluate(provision: &Provision, request: &Request, depth: usize) -> Option<(ProvisionType, usize)> {
    if !matches(provision, request) {
        return None;
    }
    let mut result = (provision.kind, depth);
    for exception in &provision.exceptions {
        if let Some(inner) = evaluate(exception, request, depth + 1) {
            // An exception is deeper than its parent, so it always overrides it.
            result = if result.1 == depth { inner } else { stronger(result, inner) };
        }
    }
    Some(result)
}

/// Decides `request` against the patient's `consents` (latest versions).
pub fn decide(consents: &[Consent], request: &Request) -> Decision {
    let mut best: Option<(ProvisionType, usize)> = None;
    let mut deciding: Vec<(ProvisionType, usize, ConsentId)> = Vec::new();
    for consent in consents.iter().filter(|c| in_force(c, request)) {
        if let Some(result) = evaluate(&consent.terms.provision, request, 1) {
            best = Some(best.map_or(result, |b| stronger(b, result)));
            deciding.push((result.0, result.1, consent.id));
        }
    }
    match best {
        None => Decision::Deny { reason: DenyReason::NoApplicableConsent, consents: Vec::new() },
        Some((kind, depth)) => {
            let mut consents: Vec<ConsentId> =
                deciding.iter().filter(|(k, d, _)| *k == kind && *d == depth).map(|(_, _, id)| *id).collect();
            consents.sort();
            consents.dedup();
            match kind {
                ProvisionType::Permit => Decision::Permit { consents },
                ProvisionType::Deny => Decision::Deny { reason: DenyReason::DeniedByConsent, consents },
            }
        }
    }
}
