//! A consent, shaped like a FHIR R4 Consent, and the calls that record and change it.

use bincode::{Decode, Encode};
use panacea_primitives::{PublicKey, Timestamp};
use serde::{Deserialize, Serialize};

use crate::codes::{ConsentAction, DataClass, MimeType, Purpose, ResourceType, StaffRole};
use crate::ids::{ConsentId, DocumentHash, IdentityId, OrgId, PatientRef};

/// Most nested levels in a provision tree (the root is level 1).
pub const PROVISION_DEPTH_MAX: usize = 4;
/// Most provisions in one tree.
pub const PROVISIONS_MAX: usize = 64;
/// Most entries in any one list of a provision (actors, actions, purposes, classes).
pub const PROVISION_LIST_MAX: usize = 16;
/// Most categories or verifications on one consent.
pub const CONSENT_LIST_MAX: usize = 8;
/// Most versions one consent may have. Amendments stop one short, so that the last version
/// is always free for the consent's revocation.
pub const CONSENT_VERSIONS_MAX: u32 = 1_000;
/// Most patient keys in force for one patient (a phone, a computer, a spare).
pub const PATIENT_KEYS_MAX: usize = 4;

/// FHIR Consent.status.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentStatus {
    /// Being prepared; grants nothing.
    Draft,
    /// Offered to the patient; grants nothing.
    Proposed,
    /// In force.
    Active,
    /// Declined by the patient; grants nothing.
    Rejected,
    /// No longer in force (revoked or superseded); grants nothing.
    Inactive,
    /// Recorded by mistake; grants nothing.
    EnteredInError,
}

impl ConsentStatus {
    /// Every status, in FHIR's order.
    pub const ALL: [ConsentStatus; 6] = [
        ConsentStatus::Draft,
        ConsentStatus::Proposed,
        ConsentStatus::Active,
        ConsentStatus::Rejected,
        ConsentStatus::Inactive,
        ConsentStatus::EnteredInError,
    ];

    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            ConsentStatus::Draft => "draft",
            ConsentStatus::Proposed => "proposed",
            ConsentStatus::Active => "active",
            ConsentStatus::Rejected => "rejected",
            ConsentStatus::Inactive => "inactive",
            ConsentStatus::EnteredInError => "entered-in-error",
        }
    }
}

/// FHIR Consent.scope (http://terminology.hl7.org/CodeSystem/consentscope).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentScope {
    /// Privacy consent: who may access and share the patient's data.
    PatientPrivacy,
    /// Consent to take part in research.
    Research,
    /// Consent to treatment.
    Treatment,
    /// Advance directive.
    Adr,
}

/// FHIR Consent.policyRule (http://terminology.hl7.org/CodeSystem/v3-ActCode).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
pub enum PolicyRule {
    /// Opt-in: nothing is shared unless a provision permits it.
    #[serde(rename = "OPTIN")]
    OptIn,
    /// Opt-in with restrictions.
    #[serde(rename = "OPTINR")]
    OptInRestricted,
    /// Opt-out: the patient refuses sharing except where a provision permits it.
    #[serde(rename = "OPTOUT")]
    OptOut,
    /// Opt-out with exceptions.
    #[serde(rename = "OPTOUTE")]
    OptOutExceptions,
}

/// A span of block time; either end may be open. Inclusive at both ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Period {
    /// First instant covered.
    pub start: Option<Timestamp>,
    /// Last instant covered.
    pub end: Option<Timestamp>,
}

impl Period {
    /// True if `time` falls inside.
    pub fn contains(&self, time: Timestamp) -> bool {
        self.start.is_none_or(|s| time >= s) && self.end.is_none_or(|e| time <= e)
    }
}

/// Who a provision is about (FHIR Consent.provision.actor.reference).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorRef {
    /// Everyone acting for this organisation.
    Organisation(OrgId),
    /// One registered practitioner, device or service.
    Identity(IdentityId),
    /// Everyone with this role, in any organisation.
    Role(StaffRole),
}

/// Permit or deny (FHIR Consent.provision.type).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProvisionType {
    /// The matching requests are refused.
    Deny,
    /// The matching requests are allowed.
    Permit,
}

/// A rule and its exceptions (FHIR Consent.provision). A provision matches a request when
/// every list it has contains the request's value (an empty list matches everything) and
/// the block time and the data's time fall in its periods. Nested provisions are
/// exceptions: more specific rules that override their parent where they match.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Provision {
    /// Permit or deny.
    #[serde(rename = "type")]
    pub kind: ProvisionType,
    /// When the rule is in force (block time).
    pub period: Option<Period>,
    /// Who it is about; empty: everyone.
    pub actors: Vec<ActorRef>,
    /// What may be done; empty: any action.
    pub actions: Vec<ConsentAction>,
    /// Why; empty: any purpose.
    pub purposes: Vec<Purpose>,
    /// Which data, by Panacea data class. The three class lists together are FHIR's
    /// `provision.class`: the provision covers data named by any entry of any of them, and
    /// all three empty cover every class.
    pub data_classes: Vec<DataClass>,
    /// Which data, by FHIR resource type.
    pub resource_types: Vec<ResourceType>,
    /// Which data, by MIME type (covering the resource types it is shared as).
    pub mime_types: Vec<MimeType>,
    /// Which data by its own date; absent: data of any date.
    pub data_period: Option<Period>,
    /// Exceptions.
    pub exceptions: Vec<Provision>,
}

impl Provision {
    /// A provision of `kind` that matches everything, with no exceptions.
    pub fn all(kind: ProvisionType) -> Provision {
        Provision {
            kind,
            period: None,
            actors: Vec::new(),
            actions: Vec::new(),
            purposes: Vec::new(),
            data_classes: Vec::new(),
            resource_types: Vec::new(),
            mime_types: Vec::new(),
            data_period: None,
            exceptions: Vec::new(),
        }
    }

    /// Number of provisions in the tree and its depth.
    pub fn size_and_depth(&self) -> (usize, usize) {
        let mut size = 1;
        let mut depth = 0;
        for exception in &self.exceptions {
            let (s, d) = exception.size_and_depth();
            size += s;
            depth = depth.max(d);
        }
        (size, depth + 1)
    }
}

/// FHIR Consent.verification: was the consent confirmed with the patient.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Verification {
    /// Confirmed or not.
    pub verified: bool,
    /// When.
    pub date: Option<Timestamp>,
}

/// The content of a consent version, as recorded by a call.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ConsentTerms {
    /// The patient.
    pub patient: PatientRef,
    /// Status of this version.
    pub status: ConsentStatus,
    /// Kind of consent.
    pub scope: ConsentScope,
    /// The custodians whose data the consent governs (FHIR `Consent.organization`); empty:
    /// every custodian's data for the patient. A consent naming custodians neither permits
    /// nor denies a request for another custodian's data.
    pub custodians: Vec<OrgId>,
    /// Categories (LOINC or HL7 ActCode, for example `59284-0` patient consent).
    pub categories: Vec<String>,
    /// The base policy.
    pub policy_rule: PolicyRule,
    /// Confirmations with the patient.
    pub verification: Vec<Verification>,
    /// The rules.
    pub provision: Provision,
}

/// Who recorded a consent version.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recorder {
    /// The patient, with a key bound to the patient reference.
    Patient {
        /// The key that signed.
        key: PublicKey,
    },
    /// A custodian organisation, attesting a form the patient signed.
    Custodian {
        /// The organisation.
        org: OrgId,
        /// The identity that recorded it.
        identity: IdentityId,
        /// SHA-256 of the signed form, kept off chain by the custodian.
        form_hash: DocumentHash,
    },
}

/// One stored version of a consent.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Consent {
    /// Stable id (hash of the recording transaction of version 1).
    pub id: ConsentId,
    /// 1 for the first version.
    pub version: u32,
    /// The terms.
    pub terms: ConsentTerms,
    /// Who recorded this version.
    pub recorder: Recorder,
    /// Block time of this version.
    pub recorded_at: Timestamp,
}

/// Calls of the consent module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentCall {
    /// Record a new consent. Signed by a key bound to the patient (then `form_hash` is
    /// absent), or by a custodian's staff identity with the hash of the signed form.
    Record {
        /// The terms.
        terms: ConsentTerms,
        /// SHA-256 of the signed form, when a custodian records it.
        form_hash: Option<DocumentHash>,
    },
    /// Record a new version of an existing consent (same patient). The old version stays.
    /// Signed by the patient, or by staff of the organisation that recorded the consent,
    /// with the signed form.
    Amend {
        /// The consent.
        consent: ConsentId,
        /// The new terms.
        terms: ConsentTerms,
        /// SHA-256 of the signed form, when a custodian records it.
        form_hash: Option<DocumentHash>,
    },
    /// Revoke a consent: a new version with status `inactive`. Signed by the patient, or by
    /// staff of the organisation that recorded the consent, with the signed form.
    Revoke {
        /// The consent.
        consent: ConsentId,
        /// SHA-256 of the signed revocation form, when a custodian records it.
        form_hash: Option<DocumentHash>,
    },
    /// Bind a patient's own key to their reference, so the patient can record and revoke
    /// consents themselves. Signed by a physician, nurse or administrative staff member of
    /// a custodian of the patient, who verified the patient's identity.
    BindPatientKey {
        /// The patient.
        patient: PatientRef,
        /// The patient's key: one never used on the chain.
        key: PublicKey,
        /// SHA-256 of the identity-verification form the custodian keeps off chain.
        form_hash: DocumentHash,
    },
    /// Replace a patient key in force by a fresh one; the old key stops at once, for good.
    /// Signed by the patient with the key being replaced, or by staff of the custodian that
    /// bound it, with a new identity-verification form.
    ReplacePatientKey {
        /// The key in force.
        key: PublicKey,
        /// Its replacement: a key never used on the chain.
        new_key: PublicKey,
        /// SHA-256 of the new identity-verification form, when staff replace the key.
        form_hash: Option<DocumentHash>,
    },
    /// Revoke a patient key in force, for good. Signed by the patient (with any of their
    /// keys in force), or by staff of the custodian that bound it or of another custodian of
    /// the patient, with the record of the request.
    RevokePatientKey {
        /// The key.
        key: PublicKey,
        /// SHA-256 of the signed request or incident record, when staff revoke the key.
        form_hash: Option<DocumentHash>,
    },
}

/// Where a patient key binding stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindingStatus {
    /// The key signs and reads for the patient.
    InForce,
    /// Replaced by another key: final.
    Replaced {
        /// The key that replaced it.
        by: PublicKey,
        /// Block time of the replacement.
        at: Timestamp,
    },
    /// Revoked: final.
    Revoked {
        /// Block time of the revocation.
        at: Timestamp,
    },
}

/// A patient's key bound to their reference by a custodian that verified the patient's
/// identity off chain and keeps the record of that check. Kept for good, by key: a key
/// whose binding ended can be looked up, and never bound again.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct PatientKeyBinding {
    /// The patient.
    pub patient: PatientRef,
    /// The bound key.
    pub key: PublicKey,
    /// The custodian organisation that verified the patient's identity; a replacement keeps
    /// it, so the same custodian answers for the whole chain of replacements.
    pub custodian: OrgId,
    /// The staff member who bound this key (for a key the patient replaced themself, the
    /// one who bound the key it replaced).
    pub identity: IdentityId,
    /// SHA-256 of the identity-verification form the custodian keeps off chain.
    pub form_hash: DocumentHash,
    /// The key this one replaced, if any.
    pub replaces: Option<PublicKey>,
    /// Block time of the binding.
    pub bound_at: Timestamp,
    /// Its status.
    pub status: BindingStatus,
}
