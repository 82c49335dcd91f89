use super::errors::ConsentError;
use super::messages::{
    ActorRef, CONSENT_LIST_MAX, CONSENT_VERSIONS_MAX, Consent, ConsentCall, ConsentStatus, ConsentTerms,
    PROVISION_DEPTH_MAX, PROVISION_LIST_MAX, PROVISIONS_MAX, Period, Provision, Recorder,
};
use super::state::{
    PATIENT_CONSENTS_MAX, get_consent, get_version, patient_consent_ids, put_patient_consent_ids, put_version,
};
use crate::audit::{AuditAction, AuditEntity, AuditKind, new_event};
use crate::codes::StaffRole;
use crate::context::TxContext;
use crate::error::ExecError;
use crate::identity::state::get_identity;
use crate::identity::{IdentityKind, Principal};
use crate::ids::{ConsentId, DocumentHash, PatientRef};
use crate::membership::organisation_in;
use crate::state::{BlockState, StateError};

/// Longest category code, in bytes.
const CATEGORY_BYTES_MAX: usize = 64;

fn check_period(period: &Option<Period>, what: &str) -> Result<(), ConsentError> {
    if let Some(Period { start: Some(start), end: Some(end) }) = period
        && start > end
    {
        return Err(ConsentError::Invalid(format!("{what} ends before it starts")));
    }
    Ok(())
}

fn check_provision(provision: &Provision) -> Result<(), ConsentError> {
    let lists = [
        provision.actors.len(),
        provision.actions.len(),
        provision.purposes.len(),
        provision.data_classes.len(),
        provision.resource_types.len(),
        provision.mime_types.len(),
        provision.exceptions.len(),
    ];
    if lists.iter().any(|len| *len > PROVISION_LIST_MAX) {
        return Err(ConsentError::Invalid(format!("a provision list has more than {PROVISION_LIST_MAX} entries")));
    }
    check_period(&provision.period, "a provision period")?;
    check_period(&provision.data_period, "a provision data period")?;
    provision.exceptions.iter().try_for_each(check_provision)
}

/// Checks the limits and rules of a consent's terms.
pub(crate) fn validate(terms: &ConsentTerms) -> Result<(), ConsentError> {
    if terms.categories.len() > CONSENT_LIST_MAX
        || terms.verification.len() > CONSENT_LIST_MAX
        || terms.custodians.len() > CONSENT_LIST_MAX
    {
        return Err(ConsentError::Invalid(format!(
            "at most {CONSENT_LIST_MAX} categories, verifications and custodians"
        )));
    }
    if terms.categories.iter().any(|c| c.is_empty() || c.len() > CATEGORY_BYTES_MAX) {
        return Err(ConsentError::Invalid("a category code must be 1 to 64 bytes".into()));
    }
    if terms.patient.0 == panacea_primitives::Hash::ZERO {
        return Err(ConsentError::BadPatient(terms.patient));
    }
    // Depth first (bounded by the decoder's size limit), so a deep tree is refused
    // before it is walked in full.
    let (size, depth) = terms.provision.size_and_depth();
    if depth > PROVISION_DEPTH_MAX || size > PROVISIONS_MAX {
        return Err(ConsentError::Invalid(format!(
            "the provision tree has {size} provisions over {depth} levels; the limits are {PROVISIONS_MAX} and {PROVISION_DEPTH_MAX}"
        )));
    }
    check_provision(&terms.provision)
}

/// Checks that every organisation and identity the terms name is known to the chain: the
/// custodians must be member organisations, an organisation actor a member organisation
/// and an identity actor a registered identity (of any status: a suspended practitioner
/// may be reactivated, and a rule about them must hold then). A rule naming a party the
/// chain does not know could never match; for a deny, a typo would lift the restriction.
fn check_parties(state: &BlockState<'_>, terms: &ConsentTerms) -> Result<(), ExecError> {
    for (i, org) in terms.custodians.iter().enumerate() {
        if organisation_in(state, org)?.is_none() {
            return Err(ConsentError::UnknownParty {
                path: format!("organization[{i}]"),
                reference: format!("Organization/{org}"),
                what: "is not a member organisation",
            }
            .into());
        }
    }
    check_actors(state, &terms.provision, "provision".into())
}

fn check_actors(state: &BlockState<'_>, provision: &Provision, path: String) -> Result<(), ExecError> {
    for (i, actor) in provision.actors.iter().enumerate() {
        let unknown = |reference: String, what| ConsentError::UnknownParty {
            path: format!("{path}.actor[{i}]"),
            reference,
            what,
        };
        match actor {
            ActorRef::Organisation(org) => {
                if organisation_in(state, org)?.is_none() {
                    return Err(unknown(format!("Organization/{org}"), "is not a member organisation").into());
                }
            }
            ActorRef::Identity(id) => {
                if get_identity(state, id)?.is_none() {
                    return Err(unknown(format!("Practitioner/{id}"), "is not a registered identity").into());
                }
            }
            ActorRef::Role(_) => {}
        }
    }
    for (i, exception) in provision.exceptions.iter().enumerate() {
        check_actors(state, exception, format!("{path}.provision[{i}]"))?;
    }
    Ok(())
}

/// Staff who take patients' consent forms and verify their identity: clinicians and
/// administrative staff.
pub(super) fn may_record(kind: &IdentityKind) -> bool {
    matches!(kind.role(), Some(StaffRole::Physician | StaffRole::Nurse | StaffRole::Administrative))
}

/// Who records a new consent: the patient themself, or any custodian's staff with the form.
fn recorder(who: &Principal, patient: &PatientRef, form_hash: Option<DocumentHash>) -> Result<Recorder, ConsentError> {
    match who {
        Principal::Patient { patient: own, key } if own == patient => Ok(Recorder::Patient { key: *key }),
        Principal::Member { identity } if may_record(&identity.kind) => {
            let form_hash = form_hash.ok_or(ConsentError::FormHashRequired)?;
            Ok(Recorder::Custodian { org: identity.org.clone(), identity: identity.id, form_hash })
        }
        _ => Err(ConsentError::NotAuthorised),
    }
}

/// Who records a new version of an existing consent: the patient, or staff of the
/// organisation that recorded its first version, with the form. Nobody else: an
/// organisation cannot rewrite or withdraw what another recorded, and staff cannot change
/// what the patient recorded with their own key.
fn changer(
    state: &BlockState<'_>,
    who: &Principal,
    existing: &Consent,
    form_hash: Option<DocumentHash>,
) -> Result<Recorder, ExecError> {
    if let Principal::Member { identity } = who
        && may_record(&identity.kind)
    {
        let first = match existing.version {
            1 => existing.recorder.clone(),
            // Every version is kept, so a missing first version is broken storage.
            _ => match get_version(state, &existing.id, 1)? {
                Some(first) => first.recorder,
                None => {
                    return Err(StateError::Corrupt {
                        key: format!("consent {} version 1", existing.id),
                        reason: "a later version exists without the first".into(),
                    }
                    .into());
                }
            },
        };
        match first {
            Recorder::Custodian { org, .. } if org != identity.org => {
                return Err(ConsentError::NotRecordingCustodian(org).into());
            }
            Recorder::Patient { .. } => return Err(ConsentError::RecordedByPatient.into()),
            Recorder::Custodian { .. } => {}
        }
    }
    Ok(recorder(who, &existing.terms.patient, form_hash)?)
}

fn entity(consent: &Consent) -> AuditEntity {
    AuditEntity {
        patient: Some(consent.terms.patient),
        consent: Some((consent.id, consent.version)),
        attachment: match &consent.recorder {
            Recorder::Custodian { form_hash, .. } => Some(*form_hash),
            Recorder::Patient { .. } => None,
        },
        ..AuditEntity::default()
    }
}

/// Executes a consent or patient-key call.
pub(crate) fn execute(
    state: &mut BlockState<'_>,
    ctx: &TxContext,
    who: &Principal,
    call: ConsentCall,
) -> Result<(), ExecError> {
    let (kind, action, consent) = match call {
        ConsentCall::Record { terms, form_hash } => {
            validate(&terms)?;
            check_parties(state, &terms)?;
            let recorder = recorder(who, &terms.patient, form_hash)?;
            let mut ids = patient_consent_ids(state, &terms.patient)?;
            let max =
                (crate::governance::parameters_in(state)?.patient_consents_max as usize).min(PATIENT_CONSENTS_MAX);
            if ids.len() >= max {
                return Err(ConsentError::TooManyConsents { max }.into());
            }
            let consent = Consent { id: ConsentId(ctx.tx), version: 1, terms, recorder, recorded_at: ctx.block.time };
            // A consent recorded inactive is final at once: it never enters the list.
            if consent.terms.status != ConsentStatus::Inactive {
                ids.push(consent.id);
                put_patient_consent_ids(state, &consent.terms.patient, &ids);
            }
            (AuditKind::ConsentRecorded, AuditAction::Create, consent)
        }
        ConsentCall::Amend { consent, terms, form_hash } => {
            let existing = get_consent(state, &consent)?.ok_or(ConsentError::Unknown(consent))?;
            // Revocation is final: a patient who consents again gets a new consent.
            if existing.terms.status == ConsentStatus::Inactive {
                return Err(ConsentError::AlreadyInactive(consent).into());
            }
            if terms.patient != existing.terms.patient {
                return Err(ConsentError::PatientChanged.into());
            }
            validate(&terms)?;
            check_parties(state, &terms)?;
            let recorder = changer(state, who, &existing, form_hash)?;
            // The last version is kept for the revocation, so that no run of amendments can
            // make a consent impossible to revoke.
            let amended = next_version(existing, terms, recorder, ctx, CONSENT_VERSIONS_MAX - 1)?;
            (AuditKind::ConsentAmended, AuditAction::Update, amended)
        }
        ConsentCall::Revoke { consent, form_hash } => {
            let existing = get_consent(state, &consent)?.ok_or(ConsentError::Unknown(consent))?;
            if existing.terms.status == ConsentStatus::Inactive {
                return Err(ConsentError::AlreadyInactive(consent).into());
            }
            let recorder = changer(state, who, &existing, form_hash)?;
            let mut terms = existing.terms.clone();
            terms.status = ConsentStatus::Inactive;
            (
                AuditKind::ConsentRevoked,
                AuditAction::Update,
                next_version(existing, terms, recorder, ctx, CONSENT_VERSIONS_MAX)?,
            )
        }
        ConsentCall::BindPatientKey { patient, key, form_hash } => {
            return super::binding::bind(state, ctx, who, patient, key, form_hash);
        }
        ConsentCall::ReplacePatientKey { key, new_key, form_hash } => {
            return super::binding::replace(state, ctx, who, key, new_key, form_hash);
        }
        ConsentCall::RevokePatientKey { key, form_hash } => {
            return super::binding::revoke(state, ctx, who, key, form_hash);
        }
    };
    // A consent that became inactive leaves the patient's list: it can never grant again,
    // so it no longer counts towards the limit, and the list stays bounded by consents in
    // force.
    if consent.version > 1 && consent.terms.status == ConsentStatus::Inactive {
        let mut ids = patient_consent_ids(state, &consent.terms.patient)?;
        ids.retain(|id| *id != consent.id);
        put_patient_consent_ids(state, &consent.terms.patient, &ids);
    }
    put_version(state, &consent)?;
    state.emit(new_event(ctx, kind, action, vec![who.agent()], entity(&consent), None));
    Ok(())
}

/// The next version of `existing`, if it stays within `last` versions.
fn next_version(
    existing: Consent,
    terms: ConsentTerms,
    recorder: Recorder,
    ctx: &TxContext,
    last: u32,
) -> Result<Consent, ConsentError> {
    if existing.version >= last {
        return Err(ConsentError::TooManyVersions { max: CONSENT_VERSIONS_MAX - 1 });
    }
    Ok(Consent { id: existing.id, version: existing.version + 1, terms, recorder, recorded_at: ctx.block.time })
}
