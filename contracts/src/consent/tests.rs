use super::*;
use crate::ErrorCode;
use crate::codes::StaffRole;
use crate::ids::{DocumentHash, IdentityId};
use crate::testing::{Chain, error_code, key, patient};
use crate::tx::Call;

pub(crate) fn terms(label: &str) -> ConsentTerms {
    ConsentTerms {
        patient: patient(label),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec!["59284-0".into()],
        policy_rule: PolicyRule::OptIn,
        verification: vec![Verification { verified: true, date: None }],
        provision: Provision::all(ProvisionType::Permit),
    }
}

pub(crate) fn form() -> Option<DocumentHash> {
    Some(DocumentHash(panacea_primitives::Hash([3; 32])))
}

/// SHA-256 of an identity-verification form.
pub(crate) fn identity_form() -> DocumentHash {
    DocumentHash(panacea_primitives::Hash([4; 32]))
}

/// A custodian's call binding `key` to the patient `patient_label`.
pub(crate) fn bind(patient_label: &str, key: &panacea_primitives::Keypair) -> Call {
    Call::Consent(ConsentCall::BindPatientKey {
        patient: patient(patient_label),
        key: key.public(),
        form_hash: identity_form(),
    })
}

/// hospital-a's clerk records an active permit-all consent for `label` (making hospital-a
/// the patient's custodian); returns the clerk and the consent.
fn recorded_at_hospital_a(chain: &mut Chain, label: &str) -> (panacea_primitives::Keypair, crate::ids::ConsentId) {
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let receipt = chain.submit(&clerk, Call::Consent(ConsentCall::Record { terms: terms(label), form_hash: form() }));
    assert!(receipt.is_ok(), "{receipt:?}");
    (clerk, crate::ids::ConsentId(receipt.tx))
}

#[test]
fn custodian_records_with_the_signed_form_and_every_version_is_kept() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let receipt = chain.submit(&clerk, Call::Consent(ConsentCall::Record { terms: terms("p"), form_hash: None }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument), "form hash required");
    let receipt = chain.submit(&clerk, Call::Consent(ConsentCall::Record { terms: terms("p"), form_hash: form() }));
    assert!(receipt.is_ok());
    let id = crate::ids::ConsentId(receipt.tx);
    let mut amended = terms("p");
    amended.provision = Provision::all(ProvisionType::Deny);
    chain.ok(&clerk, Call::Consent(ConsentCall::Amend { consent: id, terms: amended, form_hash: form() }));
    let history = consent_history(&chain.store, &id).unwrap();
    assert_eq!(history.iter().map(|c| c.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(consent(&chain.store, &id).unwrap().unwrap().version, 2);
    assert_eq!(consents_of_patient(&chain.store, &patient("p")).unwrap().len(), 1);
    // An amendment may not move a consent to another patient.
    let receipt =
        chain.submit(&clerk, Call::Consent(ConsentCall::Amend { consent: id, terms: terms("q"), form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument));
}

#[test]
fn patients_record_and_revoke_their_own_consents_only() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    // hospital-a becomes alice's custodian by recording her consent from a signed form.
    chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: form() }));
    let alice = key("alice");
    chain.ok(&clerk, bind("alice", &alice));
    let receipt = chain.submit(&alice, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: None }));
    assert!(receipt.is_ok());
    let id = crate::ids::ConsentId(receipt.tx);
    // Not for someone else.
    let receipt = chain.submit(&alice, Call::Consent(ConsentCall::Record { terms: terms("bob"), form_hash: None }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    chain.ok(&alice, Call::Consent(ConsentCall::Revoke { consent: id, form_hash: None }));
    let receipt = chain.submit(&alice, Call::Consent(ConsentCall::Revoke { consent: id, form_hash: None }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    // Revocation is final: amending cannot bring the consent back.
    let receipt =
        chain.submit(&alice, Call::Consent(ConsentCall::Amend { consent: id, terms: terms("alice"), form_hash: None }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    // Staff who do not take consent forms cannot record consents.
    let (it, _) = chain.staff("hospital-a", StaffRole::It, "it");
    let receipt = chain.submit(&it, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    // Admin keys cannot record consents.
    let admin = chain.admin("hospital-a");
    let receipt = chain.submit(&admin, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
}

#[test]
fn provision_limits_are_enforced() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let mut deep = Provision::all(ProvisionType::Permit);
    for _ in 0..PROVISION_DEPTH_MAX {
        deep = Provision { exceptions: vec![deep], ..Provision::all(ProvisionType::Deny) };
    }
    let mut t = terms("p");
    t.provision = deep;
    let receipt = chain.submit(&clerk, Call::Consent(ConsentCall::Record { terms: t, form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument));
    let mut t = terms("p");
    t.provision.period =
        Some(Period { start: Some(panacea_primitives::Timestamp(10)), end: Some(panacea_primitives::Timestamp(5)) });
    let receipt = chain.submit(&clerk, Call::Consent(ConsentCall::Record { terms: t, form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument));
}

#[test]
fn a_patient_has_a_bounded_number_of_consents() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let txs: Vec<_> = (0..PATIENT_CONSENTS_MAX + 1)
        .map(|_| chain.sign(&clerk, Call::Consent(ConsentCall::Record { terms: terms("p"), form_hash: form() })))
        .collect();
    let outcome = chain.block(&txs);
    assert!(outcome.receipts[..PATIENT_CONSENTS_MAX].iter().all(|r| r.is_ok()));
    assert_eq!(error_code(&outcome.receipts[PATIENT_CONSENTS_MAX].outcome), Some(ErrorCode::LimitExceeded));
}

#[test]
fn a_clinician_of_another_organisation_cannot_bind_a_patient_key() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: form() }));
    // A physician of hospital-b, which has no record of alice, binds a key of its own.
    let (intruder, _) = chain.staff("hospital-b", StaffRole::Physician, "intruder");
    let stolen = key("intruder-as-alice");
    let receipt = chain.submit(&intruder, bind("alice", &stolen));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    assert_eq!(crate::membership::key_owner(&chain.store, &stolen.public()).unwrap(), None);
    // The key cannot act for alice.
    let receipt = chain.submit(&stolen, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: None }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::UnknownSigner));
    // Her custodian can bind her key.
    let alice = key("alice");
    chain.ok(&clerk, bind("alice", &alice));
}

#[test]
fn revocation_succeeds_at_the_version_cap() {
    let mut chain = Chain::new();
    let (clerk, id) = recorded_at_hospital_a(&mut chain, "p");
    // Amend as often as the chain lets anyone.
    let amendments: Vec<_> = (1..CONSENT_VERSIONS_MAX)
        .map(|_| {
            chain.sign(&clerk, Call::Consent(ConsentCall::Amend { consent: id, terms: terms("p"), form_hash: form() }))
        })
        .collect();
    let outcome = chain.block(&amendments);
    let last = consent(&chain.store, &id).unwrap().unwrap().version;
    assert!(outcome.receipts.iter().any(|r| r.is_ok()));
    // The consent can still be revoked.
    let events = chain.ok(&clerk, Call::Consent(ConsentCall::Revoke { consent: id, form_hash: form() }));
    assert_eq!(events[0].entity.consent, Some((id, last + 1)));
    let revoked = consent(&chain.store, &id).unwrap().unwrap();
    assert_eq!((revoked.version, revoked.terms.status), (CONSENT_VERSIONS_MAX, ConsentStatus::Inactive));
}

#[test]
fn only_the_recording_custodian_or_the_patient_amends_or_revokes_a_consent() {
    let mut chain = Chain::new();
    let (clerk, id) = recorded_at_hospital_a(&mut chain, "alice");
    // Staff of another organisation can neither amend nor revoke it.
    let (other, _) = chain.staff("hospital-b", StaffRole::Physician, "other");
    let mut deny = terms("alice");
    deny.provision = Provision::all(ProvisionType::Deny);
    let receipt =
        chain.submit(&other, Call::Consent(ConsentCall::Amend { consent: id, terms: deny.clone(), form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    let receipt = chain.submit(&other, Call::Consent(ConsentCall::Revoke { consent: id, form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    assert_eq!(consent(&chain.store, &id).unwrap().unwrap().version, 1);
    // Other staff of the recording organisation may.
    let (nurse, _) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    chain.ok(&nurse, Call::Consent(ConsentCall::Amend { consent: id, terms: deny, form_hash: form() }));
    // And the patient may always revoke.
    let alice = key("alice");
    chain.ok(&clerk, bind("alice", &alice));
    chain.ok(&alice, Call::Consent(ConsentCall::Revoke { consent: id, form_hash: None }));
    // A consent the patient recorded is the patient's alone to change.
    let receipt = chain.submit(&alice, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: None }));
    let own = crate::ids::ConsentId(receipt.tx);
    let receipt = chain.submit(&clerk, Call::Consent(ConsentCall::Revoke { consent: own, form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    chain.ok(&alice, Call::Consent(ConsentCall::Revoke { consent: own, form_hash: None }));
}

#[test]
fn revoked_consents_leave_the_patient_list_and_free_their_place() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let txs: Vec<_> = (0..PATIENT_CONSENTS_MAX)
        .map(|_| chain.sign(&clerk, Call::Consent(ConsentCall::Record { terms: terms("p"), form_hash: form() })))
        .collect();
    let outcome = chain.block(&txs);
    assert!(outcome.receipts.iter().all(|r| r.is_ok()));
    let first = crate::ids::ConsentId(outcome.receipts[0].tx);
    chain.ok(&clerk, Call::Consent(ConsentCall::Revoke { consent: first, form_hash: form() }));
    // The revoked consent no longer counts: a new one can be recorded.
    chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms: terms("p"), form_hash: form() }));
    let listed = consents_of_patient(&chain.store, &patient("p")).unwrap();
    assert_eq!(listed.len(), PATIENT_CONSENTS_MAX, "the list holds the consents in force, and stays bounded");
    assert!(listed.iter().all(|c| c.id != first && c.terms.status == ConsentStatus::Active));
    // The revoked consent is still there, by its id.
    assert_eq!(consent(&chain.store, &first).unwrap().unwrap().terms.status, ConsentStatus::Inactive);
    let receipt = chain.submit(&clerk, Call::Consent(ConsentCall::Record { terms: terms("p"), form_hash: form() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::LimitExceeded));
}

/// Whether `signer` can still act for alice: record a consent and revoke `consent`.
fn acts_for_alice(
    chain: &mut Chain,
    signer: &panacea_primitives::Keypair,
    consent: crate::ids::ConsentId,
) -> [bool; 2] {
    let record = chain.submit(signer, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: None }));
    let revoke = chain.submit(signer, Call::Consent(ConsentCall::Revoke { consent, form_hash: None }));
    [record.is_ok(), revoke.is_ok()]
}

#[test]
fn a_custodian_binds_a_patient_key_verifiably() {
    let mut chain = Chain::new();
    let (clerk, _) = recorded_at_hospital_a(&mut chain, "alice");
    let clerk_id = crate::identity::Identity::id_for(&crate::testing::org("hospital-a"), &clerk.public());
    let alice = key("alice");
    // Not without the identity-verification form... (the form is part of the call), and
    // not by staff who do not verify patients.
    let (it, _) = chain.staff("hospital-a", StaffRole::It, "it");
    assert_eq!(error_code(&chain.submit(&it, bind("alice", &alice)).outcome), Some(ErrorCode::Unauthorized));
    let events = chain.ok(&clerk, bind("alice", &alice));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, crate::audit::AuditKind::PatientKeyBound);
    assert_eq!(events[0].entity.patient, Some(patient("alice")));
    assert_eq!(events[0].entity.attachment, Some(identity_form()));
    assert_eq!(events[0].agents[1].key, Some(alice.public()));
    let binding = patient_key_binding(&chain.store, &alice.public()).unwrap().unwrap();
    assert_eq!(binding.custodian, crate::testing::org("hospital-a"));
    assert_eq!(binding.identity, clerk_id);
    assert_eq!(binding.form_hash, identity_form());
    assert_eq!(binding.status, BindingStatus::InForce);
    assert_eq!(bound_patient(&chain.store, &alice.public()).unwrap(), Some(patient("alice")));
    // A key is bound once.
    assert_eq!(error_code(&chain.submit(&clerk, bind("alice", &alice)).outcome), Some(ErrorCode::Conflict));
    // An organisation that registered a document about the patient is a custodian too.
    let admin_b = chain.admin("hospital-b");
    let document = crate::document::DocumentCall::Register {
        document: DocumentHash(panacea_primitives::Hash([8; 32])),
        patient: patient("alice"),
        data_class: crate::codes::DataClass::LabResults,
        resource_type: None,
    };
    let (clerk_b, _) = chain.staff("hospital-b", StaffRole::Administrative, "clerk-b");
    let before = key("alice-tablet");
    assert_eq!(error_code(&chain.submit(&clerk_b, bind("alice", &before)).outcome), Some(ErrorCode::Unauthorized));
    chain.ok(&admin_b, Call::Document(document));
    chain.ok(&clerk_b, bind("alice", &before));
}

#[test]
fn a_patient_has_a_bounded_number_of_keys() {
    let mut chain = Chain::new();
    let (clerk, _) = recorded_at_hospital_a(&mut chain, "alice");
    let keys: Vec<_> = (0..=PATIENT_KEYS_MAX).map(|i| key(&format!("alice-{i}"))).collect();
    for k in &keys[..PATIENT_KEYS_MAX] {
        chain.ok(&clerk, bind("alice", k));
    }
    let receipt = chain.submit(&clerk, bind("alice", &keys[PATIENT_KEYS_MAX]));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::LimitExceeded));
    // A revoked key frees its place.
    chain.ok(&keys[0], Call::Consent(ConsentCall::RevokePatientKey { key: keys[0].public(), form_hash: None }));
    chain.ok(&clerk, bind("alice", &keys[PATIENT_KEYS_MAX]));
    assert_eq!(
        patient_keys(&chain.store, &patient("alice")).unwrap(),
        keys[1..].iter().map(|k| k.public()).collect::<Vec<_>>()
    );
}

#[test]
fn a_replaced_key_can_no_longer_record_or_revoke_consents() {
    let mut chain = Chain::new();
    let (clerk, consent_id) = recorded_at_hospital_a(&mut chain, "alice");
    let (phone, laptop, tablet) = (key("alice-phone"), key("alice-laptop"), key("alice-tablet"));
    chain.ok(&clerk, bind("alice", &phone));
    // The patient replaces her key with her current key; no form needed, none taken.
    let replace = |old: &panacea_primitives::Keypair, new: &panacea_primitives::Keypair, form_hash| {
        Call::Consent(ConsentCall::ReplacePatientKey { key: old.public(), new_key: new.public(), form_hash })
    };
    let receipt = chain.submit(&phone, replace(&phone, &laptop, Some(identity_form())));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument));
    let events = chain.ok(&phone, replace(&phone, &laptop, None));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, crate::audit::AuditKind::PatientKeyReplaced);
    assert_eq!(acts_for_alice(&mut chain, &phone, consent_id), [false, false]);
    assert_eq!(bound_patient(&chain.store, &phone.public()).unwrap(), None);
    assert_eq!(bound_patient(&chain.store, &laptop.public()).unwrap(), Some(patient("alice")));
    let old = patient_key_binding(&chain.store, &phone.public()).unwrap().unwrap();
    assert!(matches!(old.status, BindingStatus::Replaced { by, .. } if by == laptop.public()));
    let new = patient_key_binding(&chain.store, &laptop.public()).unwrap().unwrap();
    assert_eq!((new.custodian, new.replaces), (old.custodian, Some(phone.public())));
    // A replaced key cannot be replaced again, nor come back.
    let receipt = chain.submit(&clerk, replace(&phone, &tablet, Some(identity_form())));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    let receipt = chain.submit(&laptop, replace(&laptop, &phone, None));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    // Another custodian's staff may not replace it; the binding custodian's may, with a new form.
    let (clerk_b, _) = chain.staff("hospital-b", StaffRole::Administrative, "clerk-b");
    chain.ok(&clerk_b, Call::Consent(ConsentCall::Record { terms: terms("alice"), form_hash: form() }));
    let receipt = chain.submit(&clerk_b, replace(&laptop, &tablet, Some(identity_form())));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    let receipt = chain.submit(&clerk, replace(&laptop, &tablet, None));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument), "staff attach the new form");
    chain.ok(&clerk, replace(&laptop, &tablet, Some(identity_form())));
    assert_eq!(acts_for_alice(&mut chain, &laptop, consent_id), [false, false]);
    assert_eq!(acts_for_alice(&mut chain, &tablet, consent_id), [true, true]);
}

#[test]
fn a_revoked_key_can_no_longer_record_or_revoke_consents() {
    let mut chain = Chain::new();
    let (clerk, consent_id) = recorded_at_hospital_a(&mut chain, "alice");
    let (phone, laptop) = (key("alice-phone"), key("alice-laptop"));
    chain.ok(&clerk, bind("alice", &phone));
    chain.ok(&clerk, bind("alice", &laptop));
    let revoke = |k: &panacea_primitives::Keypair, form_hash| {
        Call::Consent(ConsentCall::RevokePatientKey { key: k.public(), form_hash })
    };
    // The patient revokes her own key (here, with that key).
    let events = chain.ok(&phone, revoke(&phone, None));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, crate::audit::AuditKind::PatientKeyRevoked);
    assert_eq!(events[0].agents[1].key, Some(phone.public()));
    assert_eq!(acts_for_alice(&mut chain, &phone, consent_id), [false, false]);
    assert_eq!(bound_patient(&chain.store, &phone.public()).unwrap(), None);
    assert!(matches!(
        patient_key_binding(&chain.store, &phone.public()).unwrap().unwrap().status,
        BindingStatus::Revoked { .. }
    ));
    // Revocation is final for that key: it is never bound again, nor registered as anyone.
    assert_eq!(error_code(&chain.submit(&clerk, bind("alice", &phone)).outcome), Some(ErrorCode::Conflict));
    let register = crate::identity::IdentityCall::Register {
        key: phone.public(),
        kind: crate::identity::IdentityKind::Staff { role: StaffRole::Nurse },
    };
    let receipt = chain.submit(&chain.admin("hospital-b"), Call::Identity(register));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    assert_eq!(error_code(&chain.submit(&clerk, revoke(&phone, form())).outcome), Some(ErrorCode::Conflict));
    // Staff of another organisation with no record of alice may not revoke her keys; staff
    // of a custodian may, with the record of the request.
    let (other, _) = chain.staff("hospital-b", StaffRole::Physician, "other");
    assert_eq!(error_code(&chain.submit(&other, revoke(&laptop, form())).outcome), Some(ErrorCode::Unauthorized));
    assert_eq!(error_code(&chain.submit(&clerk, revoke(&laptop, None)).outcome), Some(ErrorCode::InvalidArgument));
    chain.ok(&clerk, revoke(&laptop, form()));
    assert_eq!(acts_for_alice(&mut chain, &laptop, consent_id), [false, false]);
    assert!(patient_keys(&chain.store, &patient("alice")).unwrap().is_empty());
}

#[test]
fn a_patient_key_without_a_binding_in_force_cannot_act() {
    let mut chain = Chain::new();
    let (_, consent_id) = recorded_at_hospital_a(&mut chain, "alice");
    // A key owned as alice's with no binding record, as on a chain from before bindings
    // were recorded: it acts for nobody.
    let legacy = key("alice-legacy");
    let owner = crate::membership::KeyOwner::Patient(patient("alice"));
    let mut batch = crate::state::WriteBatch::new();
    batch.insert(crate::membership::owner_key(&legacy.public()), Some(panacea_primitives::codec::encode(&owner)));
    chain.store.apply(&batch);
    assert_eq!(bound_patient(&chain.store, &legacy.public()).unwrap(), None);
    assert_eq!(acts_for_alice(&mut chain, &legacy, consent_id), [false, false]);
}

/// A rule naming a party the chain does not know could never match: for a deny, a typo
/// would silently lift the patient's restriction. Recording and amending refuse it, naming
/// the provision's path and the reference.
#[test]
fn unknown_actors_and_custodians_are_refused_at_recording() {
    let mut chain = Chain::new();
    let (clerk, clerk_id) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let with = |edit: &dyn Fn(&mut ConsentTerms)| {
        let mut t = terms("p");
        edit(&mut t);
        Call::Consent(ConsentCall::Record { terms: t, form_hash: form() })
    };
    let deny_actor = |actor: ActorRef| {
        move |t: &mut ConsentTerms| {
            let mut deny = Provision::all(ProvisionType::Deny);
            deny.actors = vec![ActorRef::Role(StaffRole::Nurse), actor.clone()];
            t.provision.exceptions = vec![Provision::all(ProvisionType::Deny), deny];
        }
    };
    let typo = chain.submit(&clerk, with(&deny_actor(ActorRef::Organisation(crate::testing::org("hospital-bb")))));
    assert_eq!(error_code(&typo.outcome), Some(ErrorCode::InvalidArgument));
    let message = format!("{:?}", typo.outcome);
    assert!(
        message.contains("provision.provision[1].actor[1]") && message.contains("Organization/hospital-bb"),
        "{message}"
    );
    let stranger = IdentityId(panacea_primitives::Hash([77; 32]));
    let unknown = chain.submit(&clerk, with(&deny_actor(ActorRef::Identity(stranger))));
    assert_eq!(error_code(&unknown.outcome), Some(ErrorCode::InvalidArgument));
    assert!(format!("{:?}", unknown.outcome).contains("is not a registered identity"));
    let custodian =
        chain.submit(&clerk, with(&|t: &mut ConsentTerms| t.custodians = vec![crate::testing::org("hospital-z")]));
    assert_eq!(error_code(&custodian.outcome), Some(ErrorCode::InvalidArgument));
    assert!(format!("{:?}", custodian.outcome).contains("organization[0]"));
    // Known parties record; an amendment is checked the same way.
    let known = chain.submit(
        &clerk,
        with(&|t: &mut ConsentTerms| {
            deny_actor(ActorRef::Identity(clerk_id))(t);
            t.custodians = vec![crate::testing::org("hospital-a")];
        }),
    );
    assert!(known.is_ok(), "{known:?}");
    let id = crate::ids::ConsentId(known.tx);
    let mut amended = terms("p");
    deny_actor(ActorRef::Organisation(crate::testing::org("hospital-q")))(&mut amended);
    let amend =
        chain.submit(&clerk, Call::Consent(ConsentCall::Amend { consent: id, terms: amended, form_hash: form() }));
    assert_eq!(error_code(&amend.outcome), Some(ErrorCode::InvalidArgument));
}

/// The version in force at a time: the latest recorded at or before it, found by binary
/// search over the versions (what an as-of evaluation reads).
#[test]
fn the_version_as_of_a_time_is_the_latest_recorded_by_then() {
    let mut chain = Chain::new();
    let (clerk, id) = recorded_at_hospital_a(&mut chain, "p");
    let mut times = vec![chain.time];
    for _ in 0..4 {
        chain.advance(1_000);
        let mut amended = terms("p");
        amended.provision = Provision::all(ProvisionType::Deny);
        chain.ok(&clerk, Call::Consent(ConsentCall::Amend { consent: id, terms: amended, form_hash: form() }));
        times.push(chain.time);
    }
    let before = panacea_primitives::Timestamp(times[0].0 - 1);
    assert_eq!(consent_as_of(&chain.store, &id, before).unwrap(), None);
    for (i, time) in times.iter().enumerate() {
        let expected = u32::try_from(i + 1).unwrap();
        assert_eq!(consent_as_of(&chain.store, &id, *time).unwrap().map(|c| c.version), Some(expected));
        let between = panacea_primitives::Timestamp(time.0 + 500);
        assert_eq!(consent_as_of(&chain.store, &id, between).unwrap().map(|c| c.version), Some(expected));
    }
    let unknown = crate::ids::ConsentId(panacea_primitives::Hash([1; 32]));
    assert_eq!(consent_as_of(&chain.store, &unknown, times[4]).unwrap(), None);
}
