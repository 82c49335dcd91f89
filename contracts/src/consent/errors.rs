use crate::error::{CallError, ErrorCode, ExecError};
use crate::ids::{ConsentId, OrgId, PatientRef};

/// Why a consent or patient-key call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// The signer may not record consents for this patient.
    #[error(
        "only the patient's own key, or a physician, nurse or administrative staff member with the signed form, may record this patient's consents"
    )]
    NotAuthorised,
    /// Staff of an organisation other than the one that recorded the consent.
    #[error(
        "only the patient, or a physician, nurse or administrative staff member of {0}, which recorded this consent, may amend or revoke it"
    )]
    NotRecordingCustodian(OrgId),
    /// Staff tried to change a consent the patient recorded.
    #[error("the patient recorded this consent with their own key; only the patient may amend or revoke it")]
    RecordedByPatient,
    /// A custodian recorded a consent without the hash of the signed form.
    #[error("a custodian must attach the SHA-256 of the form the patient signed (form_hash)")]
    FormHashRequired,
    /// A patient sent a form hash where only staff attach one.
    #[error("a patient acts on their own key: leave form_hash out")]
    FormHashFromPatient,
    /// The consent does not exist.
    #[error("consent {0} does not exist")]
    Unknown(ConsentId),
    /// An amendment names another patient.
    #[error("an amendment cannot change the patient")]
    PatientChanged,
    /// Already revoked or otherwise final.
    #[error("consent {0} is already inactive")]
    AlreadyInactive(ConsentId),
    /// The patient has too many consents in force.
    #[error(
        "a patient may have at most {max} consents that are not revoked; revoke one that is no longer wanted, or amend it"
    )]
    TooManyConsents {
        /// The limit.
        max: usize,
    },
    /// The consent has as many versions as an amendment may make.
    #[error("a consent may be amended up to version {max}; its last version is kept for its revocation")]
    TooManyVersions {
        /// The last version an amendment may make.
        max: u32,
    },
    /// The patient has too many keys in force.
    #[error("a patient may have at most {max} keys in force; revoke or replace one first")]
    TooManyKeys {
        /// The limit.
        max: usize,
    },
    /// The provision tree or lists break a limit or rule.
    #[error("invalid consent: {0}")]
    Invalid(String),
    /// A key already bound, or used before by anyone.
    #[error("this key is, or was, registered on the chain; use a fresh key")]
    KeyInUse,
    /// A patient reference that could identify a person.
    #[error("patient {0} is not a valid pseudonymous reference")]
    BadPatient(PatientRef),
    /// The organisation has no record of the patient on chain.
    #[error(
        "{0} is not a custodian of this patient: it must first record one of the patient's consents or register a document about them"
    )]
    NotCustodian(OrgId),
    /// The key is not bound to a patient.
    #[error("this key is not bound to a patient")]
    UnknownKey,
    /// The key was replaced or revoked.
    #[error("this patient key was replaced or revoked, which is final; bind a new key")]
    KeyRetired,
    /// The signer may not replace this key.
    #[error(
        "only a physician, nurse or administrative staff member of {0}, which bound this key, or the patient signing with this very key, may replace it"
    )]
    NotBindingCustodian(OrgId),
    /// The signer may not revoke this key.
    #[error(
        "only the patient, or a physician, nurse or administrative staff member of {0} (which bound this key) or of another custodian of the patient, may revoke it"
    )]
    MayNotRevokeKey(OrgId),
    /// A provision names an actor, or the consent a custodian, unknown to the chain: a
    /// rule that could never match, so a typo would silently lift a restriction.
    #[error("{path}: {reference} {what}")]
    UnknownParty {
        /// Where, as a FHIR path (`provision.provision[0].actor[1]`, `organization[0]`).
        path: String,
        /// The reference as FHIR writes it (`Organization/clinic-nrth`).
        reference: String,
        /// What it should have been.
        what: &'static str,
    },
}

impl From<ConsentError> for ExecError {
    fn from(e: ConsentError) -> ExecError {
        let code = match e {
            ConsentError::NotAuthorised
            | ConsentError::NotRecordingCustodian(_)
            | ConsentError::RecordedByPatient
            | ConsentError::NotCustodian(_)
            | ConsentError::NotBindingCustodian(_)
            | ConsentError::MayNotRevokeKey(_) => ErrorCode::Unauthorized,
            ConsentError::Unknown(_) | ConsentError::UnknownKey => ErrorCode::NotFound,
            ConsentError::AlreadyInactive(_) | ConsentError::KeyInUse | ConsentError::KeyRetired => ErrorCode::Conflict,
            ConsentError::TooManyConsents { .. }
            | ConsentError::TooManyVersions { .. }
            | ConsentError::TooManyKeys { .. } => ErrorCode::LimitExceeded,
            ConsentError::FormHashRequired
            | ConsentError::FormHashFromPatient
            | ConsentError::PatientChanged
            | ConsentError::Invalid(_)
            | ConsentError::UnknownParty { .. }
            | ConsentError::BadPatient(_) => ErrorCode::InvalidArgument,
        };
        ExecError::Call(CallError::new(code, e.to_string()))
    }
}
