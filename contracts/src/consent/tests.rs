use super::*;
use crate::ErrorCode;
use crate::codes::StaffRole;
use crate::ids::DocumentHash;
use crate::testing::{Chain, error_code, key, patient};
use crate::tx::Call;

fn terms(label: &str) -> ConsentTerms {
    ConsentTerms {
        patient: patient(label),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        categories: vec!["59284-0".into()],
        policy_rule: PolicyRule::OptIn,
        verification: vec![Verification { verified: true, date: None }],
        provision: Provision::all(ProvisionType::Permit),
    }
}

fn form() -> Option<DocumentHash> {
    Some(DocumentHash(panacea_primitives::Hash([3; 32])))
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
    let alice = key("alice");
    chain.ok(&clerk, Call::Consent(ConsentCall::BindPatientKey { patient: patient("alice"), key: alice.public() }));
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
