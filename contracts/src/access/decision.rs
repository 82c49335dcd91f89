//! The access decision rule: a pure function of the patient's consents and the request.
//!
//! 1. **Consents in force.** Only these count: status `active`; scope `patient-privacy`
//!    (or `research`, for requests whose purpose is research); the block time inside the
//!    root provision's period; and, when the consent names custodians
//!    (`Consent.organization`), the request's custodian among them. Draft, proposed,
//!    rejected, inactive (revoked), entered-in-error and expired consents never decide, nor
//!    does a consent scoped to other custodians.
//! 2. **Matching.** A provision matches a request when its parent matches and each of its
//!    non-empty lists contains the request's value: actor (the requester's organisation,
//!    identity or role), action, purpose and class (a data class, a FHIR resource type, or
//!    a MIME type covering the request's resource type; see [`class_matches`]); and the
//!    block time is in its period and the data's time in its data period. When the request
//!    gives no data time, a provision with a data period matches if it denies and not if it
//!    permits; when it gives no resource type, a provision naming resource or MIME types
//!    matches likewise only if it denies (and one of those types may hold the request's
//!    data class): an unknown date or type can neither escape a deny nor earn a permit.
//! 3. **Facets.** A matching provision *names* some facets of the request ([`Facets`]):
//!    organisation, role or identity (naming the requester's identity names all three: a
//!    person named is more specific than their organisation or role), action, purpose,
//!    class, period, data period, and custodian when its consent names custodians. A
//!    nested provision names what its ancestors name and what it names itself.
//! 4. **Exceptions.** Within one consent a matching nested provision overrides its parent
//!    (FHIR's nesting). The results of sibling provisions, like those of different
//!    consents, are combined by rule 5, never by depth.
//! 5. **Combining.** Among the results, if none denies, the request is permitted. If some
//!    deny, it is permitted only by a permit whose facets *strictly include* the facets
//!    of every one of those denies (a more specific permit), and the denies it overrode are
//!    reported; otherwise it is denied and the denies are reported. So an exclusion naming
//!    an actor, purpose or class holds across all of the patient's consents in force: a
//!    separate permit that is broader, equal, or specific in other ways does not reopen it.
//!    At equal facets deny wins.
//! 6. **Nothing matches:** denied, no applicable consent.
//!
//! Break-glass (emergency access) is decided by the caller, after this rule; so is the
//! risk quarantine (`crate::risk`), before it: a device identity in quarantine is denied
//! with [`DenyReason::DeviceQuarantined`] without consulting the consents.
//!
//! Worked cases: `docs/consent-and-access.md` section 4, checked by
//! `contracts/tests/it/decisions.rs` against `tests/fixtures/fhir/decisions.json`.

use panacea_primitives::Timestamp;
use serde::{Deserialize, Serialize};

use crate::codes::{ConsentAction, DataClass, Purpose, ResourceType, StaffRole};
use crate::consent::{ActorRef, Consent, ConsentScope, ConsentStatus, Provision, ProvisionType};
use crate::ids::{ConsentId, IdentityId, OrgId};

/// What is asked, by whom, of whom, when.
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
    /// The FHIR resource type of the data, when the request names one.
    pub resource_type: Option<ResourceType>,
    /// The organisation holding the data.
    pub custodian: OrgId,
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
    /// A consent denies it, and no more specific permit overrides the denial.
    DeniedByConsent,
    /// The requester is a device in risk quarantine (`crate::risk`): denied whatever the
    /// consents say, until a mitigation is recorded and a later assessment clears it.
    DeviceQuarantined,
    /// The requester's organisation requires a current training credential for this
    /// request that the requester does not hold (`crate::training`); the decision names
    /// the course.
    TrainingMissing,
}

impl DenyReason {
    /// The reason code shown by the API, the CLI and audit exports.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::NoApplicableConsent => "no-applicable-consent",
            DenyReason::DeniedByConsent => "denied-by-consent",
            DenyReason::DeviceQuarantined => "device-quarantined",
            DenyReason::TrainingMissing => "training-missing",
        }
    }
}

/// The facets of a request a provision names (rule 3 of the [module](self)), as a set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Facets(u16);

impl Facets {
    /// The requester's organisation.
    pub const ORGANISATION: Facets = Facets(1);
    /// The requester's role.
    pub const ROLE: Facets = Facets(1 << 1);
    /// The requester in person.
    pub const IDENTITY: Facets = Facets(1 << 2);
    /// The action.
    pub const ACTION: Facets = Facets(1 << 3);
    /// The purpose.
    pub const PURPOSE: Facets = Facets(1 << 4);
    /// The class of data.
    pub const CLASS: Facets = Facets(1 << 5);
    /// The time of the request.
    pub const PERIOD: Facets = Facets(1 << 6);
    /// The data's own date.
    pub const DATA_PERIOD: Facets = Facets(1 << 7);
    /// The custodian.
    pub const CUSTODIAN: Facets = Facets(1 << 8);
    /// No facet: a provision that matches everything.
    pub const NONE: Facets = Facets(0);

    const NAMES: [(Facets, &'static str); 9] = [
        (Facets::ORGANISATION, "organisation"),
        (Facets::ROLE, "role"),
        (Facets::IDENTITY, "identity"),
        (Facets::ACTION, "action"),
        (Facets::PURPOSE, "purpose"),
        (Facets::CLASS, "class"),
        (Facets::PERIOD, "period"),
        (Facets::DATA_PERIOD, "data-period"),
        (Facets::CUSTODIAN, "custodian"),
    ];

    /// Both sets together.
    #[must_use]
    pub fn with(self, other: Facets) -> Facets {
        Facets(self.0 | other.0)
    }

    /// True if every facet of `self` is in `other` and `other` has at least one more:
    /// a provision naming `other` is more specific than one naming `self`.
    pub fn strictly_within(self, other: Facets) -> bool {
        self.0 & !other.0 == 0 && self != other
    }

    /// The names of the facets, in a fixed order.
    pub fn names(self) -> Vec<&'static str> {
        Facets::NAMES.iter().filter(|(f, _)| self.0 & f.0 != 0).map(|(_, name)| *name).collect()
    }
}

/// The verdict and the consents that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by these consents.
    Permit {
        /// The deciding consents: those whose permits won.
        consents: Vec<ConsentId>,
        /// The consents whose denials a more specific permit overrode (empty when no deny
        /// matched).
        overridden: Vec<ConsentId>,
    },
    /// Refused.
    Deny {
        /// Why.
        reason: DenyReason,
        /// The deciding consents: those whose denials hold (empty for no applicable
        /// consent).
        consents: Vec<ConsentId>,
    },
}

impl Decision {
    /// True for a permit.
    pub fn permits(&self) -> bool {
        matches!(self, Decision::Permit { .. })
    }

    /// The reason code: `permitted-by-consent`, `exclusion-overridden`,
    /// `no-applicable-consent` or `denied-by-consent`.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Decision::Permit { overridden, .. } if overridden.is_empty() => "permitted-by-consent",
            Decision::Permit { .. } => "exclusion-overridden",
            Decision::Deny { reason, .. } => reason.code(),
        }
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
        && (consent.terms.custodians.is_empty() || consent.terms.custodians.contains(&request.custodian))
}

/// The facets an actor names if it matches the request.
fn actor_facets(actor: &ActorRef, request: &Request) -> Option<Facets> {
    match actor {
        ActorRef::Organisation(org) => (*org == request.requester_org).then_some(Facets::ORGANISATION),
        ActorRef::Identity(id) => {
            (*id == request.requester).then_some(Facets::IDENTITY.with(Facets::ORGANISATION).with(Facets::ROLE))
        }
        ActorRef::Role(role) => (Some(*role) == request.requester_role).then_some(Facets::ROLE),
    }
}

/// True if the provision's class lists cover the request's data (rule 2): its data class,
/// its resource type, or a MIME type the resource type is shared as. A request naming no
/// resource type meets a provision naming resource or MIME types only if the provision
/// denies and one of the types may hold the request's data class.
pub fn class_matches(provision: &Provision, request: &Request) -> bool {
    if provision.data_classes.is_empty() && provision.resource_types.is_empty() && provision.mime_types.is_empty() {
        return true;
    }
    if provision.data_classes.contains(&request.data_class) {
        return true;
    }
    let mut types = provision
        .resource_types
        .iter()
        .copied()
        .chain(provision.mime_types.iter().flat_map(|m| m.resource_types().iter().copied()));
    match request.resource_type {
        Some(asked) => types.any(|t| t == asked),
        None => provision.kind == ProvisionType::Deny && types.any(|t| t.may_hold(request.data_class)),
    }
}

/// The facets the provision names of the request if it matches it, by its own lists
/// (not its parent's).
fn matches(provision: &Provision, request: &Request) -> Option<Facets> {
    let mut facets = Facets::NONE;
    if !provision.actors.is_empty() {
        let named = provision.actors.iter().filter_map(|a| actor_facets(a, request)).reduce(Facets::with)?;
        facets = facets.with(named);
    }
    if !provision.actions.is_empty() {
        if !provision.actions.contains(&request.action) {
            return None;
        }
        facets = facets.with(Facets::ACTION);
    }
    if !provision.purposes.is_empty() {
        if !provision.purposes.contains(&request.purpose) {
            return None;
        }
        facets = facets.with(Facets::PURPOSE);
    }
    if !class_matches(provision, request) {
        return None;
    }
    if !(provision.data_classes.is_empty() && provision.resource_types.is_empty() && provision.mime_types.is_empty()) {
        facets = facets.with(Facets::CLASS);
    }
    if let Some(period) = provision.period {
        if !period.contains(request.at) {
            return None;
        }
        facets = facets.with(Facets::PERIOD);
    }
    if let Some(period) = provision.data_period {
        let inside = match request.data_time {
            Some(time) => period.contains(time),
            // An unknown data date cannot escape a deny, and cannot earn a permit.
            None => provision.kind == ProvisionType::Deny,
        };
        if !inside {
            return None;
        }
        facets = facets.with(Facets::DATA_PERIOD);
    }
    Some(facets)
}

/// One deciding provision: its type, the facets it names, its consent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Leaf {
    kind: ProvisionType,
    facets: Facets,
    consent: ConsentId,
}

/// Combines results by rule 5, returning the winning leaves; denies a permit overrode go
/// to `overridden`.
fn combine(leaves: Vec<Leaf>, overridden: &mut Vec<Leaf>) -> Vec<Leaf> {
    let (denies, permits): (Vec<Leaf>, Vec<Leaf>) = leaves.into_iter().partition(|l| l.kind == ProvisionType::Deny);
    if denies.is_empty() {
        return permits;
    }
    let overriding: Vec<Leaf> =
        permits.into_iter().filter(|p| denies.iter().all(|d| d.facets.strictly_within(p.facets))).collect();
    if overriding.is_empty() {
        denies
    } else {
        overridden.extend(denies);
        overriding
    }
}

/// The result of one provision tree, pushed to `out`: the provision itself, or, when
/// exceptions match, their combined result. False if the provision does not match.
fn evaluate(
    provision: &Provision,
    request: &Request,
    inherited: Facets,
    consent: ConsentId,
    out: &mut Vec<Leaf>,
    overridden: &mut Vec<Leaf>,
) -> bool {
    let Some(own) = matches(provision, request) else { return false };
    let facets = inherited.with(own);
    let mut inner = Vec::new();
    for exception in &provision.exceptions {
        evaluate(exception, request, facets, consent, &mut inner, overridden);
    }
    if inner.is_empty() {
        out.push(Leaf { kind: provision.kind, facets, consent });
    } else {
        out.extend(combine(inner, overridden));
    }
    true
}

fn ids(leaves: &[Leaf]) -> Vec<ConsentId> {
    let mut ids: Vec<ConsentId> = leaves.iter().map(|l| l.consent).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Decides `request` against the patient's `consents` (latest versions).
pub fn decide(consents: &[Consent], request: &Request) -> Decision {
    let mut leaves = Vec::new();
    let mut overridden = Vec::new();
    for consent in consents.iter().filter(|c| in_force(c, request)) {
        let scoped = if consent.terms.custodians.is_empty() { Facets::NONE } else { Facets::CUSTODIAN };
        let mut results = Vec::new();
        if evaluate(&consent.terms.provision, request, scoped, consent.id, &mut results, &mut overridden) {
            leaves.extend(results);
        }
    }
    if leaves.is_empty() {
        return Decision::Deny { reason: DenyReason::NoApplicableConsent, consents: Vec::new() };
    }
    let winners = combine(leaves, &mut overridden);
    let consents = ids(&winners);
    match winners.first().map(|l| l.kind) {
        Some(ProvisionType::Permit) => {
            let mut overridden = ids(&overridden);
            // A consent both permitting and (elsewhere in its tree) overridden is reported
            // as deciding only.
            overridden.retain(|id| !consents.contains(id));
            Decision::Permit { consents, overridden }
        }
        _ => Decision::Deny { reason: DenyReason::DeniedByConsent, consents },
    }
}
