use panacea_primitives::Hash;

use super::*;
use crate::ErrorCode;
use crate::access::AccessCall;
use crate::audit::AuditKind;
use crate::codes::{DataClass, Purpose, StaffRole};
use crate::consent::{ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType};
use crate::identity::IdentityCall;
use crate::ids::{DecisionId, DocumentHash};
use crate::testing::{Chain, error_code, key, org, patient};
use crate::tx::Call;

fn doc(n: u8) -> DocumentHash {
    DocumentHash(Hash([n; 32]))
}

fn register(n: u8, class: DataClass) -> Call {
    Call::Document(DocumentCall::Register {
        document: doc(n),
        patient: patient("p1"),
        data_class: class,
        resource_type: None,
    })
}

/// p1's active opt-in consent with `provision`.
fn opt_in(provision: Provision) -> ConsentTerms {
    ConsentTerms {
        patient: patient("p1"),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec![],
        policy_rule: PolicyRule::OptIn,
        verification: vec![],
        provision,
    }
}

/// hospital-a records an opt-in consent for p1; hospital-b's doctor asks for lab results.
fn granted(chain: &mut Chain) -> (panacea_primitives::Keypair, DecisionId) {
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let terms = opt_in(Provision::all(ProvisionType::Permit));
    chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms, form_hash: Some(DocumentHash(Hash([9; 32]))) }));
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doctor");
    let ask = Call::Access(AccessCall::Request {
        patient: patient("p1"),
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose: Purpose::Treatment,
        custodian: org("hospital-a"),
        document: None,
        data_time: None,
        justification: None,
    });
    let events = chain.ok(&doctor, ask);
    (doctor, events[0].entity.decision.unwrap())
}

#[test]
fn custodian_registers_and_a_grant_covers_the_class() {
    let mut chain = Chain::new();
    let admin_a = chain.admin("hospital-a");
    let events = chain.ok(&admin_a, register(1, DataClass::LabResults));
    assert_eq!(events[0].kind, AuditKind::DocumentRegistered);
    chain.ok(&admin_a, register(2, DataClass::Imaging));
    let again = chain.submit(&admin_a, register(1, DataClass::LabResults));
    assert_eq!(error_code(&again.outcome), Some(ErrorCode::Conflict));
    let (_, decision) = granted(&mut chain);
    let grant = crate::access::access_decision(&chain.store, &decision).unwrap().unwrap();
    assert_eq!(covered_documents(&chain.store, &grant).unwrap(), vec![doc(1)], "only the granted class");
    let now = (chain.height, chain.time);
    assert!(grant_in_force(&chain.store, &decision, &doc(1), now.0, now.1).unwrap().is_ok());
    assert_eq!(
        grant_in_force(&chain.store, &decision, &doc(2), now.0, now.1).unwrap().unwrap_err(),
        GrantRefused::NotCovered
    );
    let late = now.1.plus_millis(crate::access::PERMIT_MS + 1);
    assert_eq!(
        grant_in_force(&chain.store, &decision, &doc(1), now.0, late).unwrap().unwrap_err(),
        GrantRefused::Expired
    );
}

#[test]
fn revocation_suspension_and_erasure_end_the_grant() {
    let mut chain = Chain::new();
    let admin_a = chain.admin("hospital-a");
    chain.ok(&admin_a, register(1, DataClass::LabResults));
    let (_, decision) = granted(&mut chain);
    // The requester is suspended: no transfer.
    let admin_b = chain.admin("hospital-b");
    let grant = crate::access::access_decision(&chain.store, &decision).unwrap().unwrap();
    chain.ok(&admin_b, Call::Identity(IdentityCall::Suspend { identity: grant.requester }));
    chain.advance(1_000);
    let (h, t) = (chain.height.next(), chain.time);
    assert_eq!(
        grant_in_force(&chain.store, &decision, &doc(1), h, t).unwrap().unwrap_err(),
        GrantRefused::RequesterInactive
    );
    chain.ok(&admin_b, Call::Identity(IdentityCall::Reactivate { identity: grant.requester }));
    chain.advance(1_000);
    let (h, t) = (chain.height.next(), chain.time);
    assert!(grant_in_force(&chain.store, &decision, &doc(1), h, t).unwrap().is_ok());
    // The consent is revoked: no transfer.
    let consent = crate::consent::consents_of_patient(&chain.store, &patient("p1")).unwrap()[0].id;
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk-2");
    chain.ok(&clerk, Call::Consent(ConsentCall::Revoke { consent, form_hash: Some(DocumentHash(Hash([8; 32]))) }));
    assert_eq!(
        grant_in_force(&chain.store, &decision, &doc(1), h, t).unwrap().unwrap_err(),
        GrantRefused::ConsentWithdrawn
    );
    // Erasure: only the custodian, once; an erased document is covered by nothing.
    let not_custodian = chain.submit(&admin_b, Call::Document(DocumentCall::Erase { document: doc(1) }));
    assert_eq!(error_code(&not_custodian.outcome), Some(ErrorCode::Unauthorized));
    let events = chain.ok(&admin_a, Call::Document(DocumentCall::Erase { document: doc(1) }));
    assert_eq!(events[0].kind, AuditKind::DocumentErased);
    assert!(document(&chain.store, &doc(1)).unwrap().unwrap().erased_at.is_some());
    let twice = chain.submit(&admin_a, Call::Document(DocumentCall::Erase { document: doc(1) }));
    assert_eq!(error_code(&twice.outcome), Some(ErrorCode::Conflict));
}

#[test]
fn the_requester_confirms_a_delivery_once_and_the_accounting_shows_it() {
    let mut chain = Chain::new();
    let admin_a = chain.admin("hospital-a");
    chain.ok(&admin_a, register(1, DataClass::LabResults));
    chain.ok(&admin_a, register(2, DataClass::Imaging));
    let (doctor, decision) = granted(&mut chain);
    let confirm = |document| Call::Document(DocumentCall::ConfirmDelivery { decision, document });
    let by_custodian = chain.submit(&admin_a, confirm(doc(1)));
    assert_eq!(error_code(&by_custodian.outcome), Some(ErrorCode::Unauthorized), "only the requester confirms");
    let other_class = chain.submit(&doctor, confirm(doc(2)));
    assert_eq!(error_code(&other_class.outcome), Some(ErrorCode::InvalidArgument));
    let events = chain.ok(&doctor, confirm(doc(1)));
    assert_eq!(events[0].kind, AuditKind::DocumentDelivered);
    assert!(delivered(&chain.store, &decision, &doc(1)).unwrap().is_some());
    let twice = chain.submit(&doctor, confirm(doc(1)));
    assert_eq!(error_code(&twice.outcome), Some(ErrorCode::Conflict), "exactly once");
    let (disclosures, _) = crate::audit::accounting_of_disclosures(&chain.store, &patient("p1"), None, 100).unwrap();
    assert!(disclosures.iter().any(|d| d.document == Some(doc(1))), "{disclosures:?}");
    // Patients do not act on documents.
    let patient_key = key("patient-p1");
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk-3");
    chain.ok(&clerk, crate::consent::tests::bind("p1", &patient_key));
    let by_patient = chain.submit(&patient_key, register(3, DataClass::LabResults));
    assert_eq!(error_code(&by_patient.outcome), Some(ErrorCode::Unauthorized));
}

/// A consent limited by a data period permits a request that states a data date inside
/// it; the re-check before each transfer decides for that same date, so the grant stays
/// in force (it used to re-decide without a date, which never permits).
#[test]
fn a_grant_for_a_data_date_stays_in_force() {
    let mut chain = Chain::new();
    let admin_a = chain.admin("hospital-a");
    chain.ok(&admin_a, register(1, DataClass::LabResults));
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let period = crate::consent::Period {
        start: Some(panacea_primitives::Timestamp(1_000)),
        end: Some(panacea_primitives::Timestamp(2_000)),
    };
    let terms = opt_in(Provision { data_period: Some(period), ..Provision::all(ProvisionType::Permit) });
    chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms, form_hash: Some(DocumentHash(Hash([9; 32]))) }));
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doctor");
    let ask = |data_time| {
        Call::Access(AccessCall::Request {
            patient: patient("p1"),
            data_class: DataClass::LabResults,
            resource_type: None,
            purpose: Purpose::Treatment,
            custodian: org("hospital-a"),
            document: None,
            data_time: Some(panacea_primitives::Timestamp(data_time)),
            justification: None,
        })
    };
    let inside = chain.ok(&doctor, ask(1_500))[0].entity.decision.unwrap();
    let outside = chain.ok(&doctor, ask(3_000))[0].entity.decision.unwrap();
    let (h, t) = (chain.height.next(), chain.time);
    assert!(grant_in_force(&chain.store, &inside, &doc(1), h, t).unwrap().is_ok(), "inside the data period");
    assert_eq!(grant_in_force(&chain.store, &outside, &doc(1), h, t).unwrap().unwrap_err(), GrantRefused::Denied);
}

/// A grant for a resource type covers only the documents registered with that type, and a
/// resource type that cannot hold the class named is refused, at registration and request.
#[test]
fn a_resource_type_grant_covers_only_documents_of_that_type() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let terms = opt_in(Provision::all(ProvisionType::Permit));
    chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms, form_hash: Some(DocumentHash(Hash([9; 32]))) }));
    let admin = chain.admin("hospital-a");
    let typed = |n: u8, kind: Option<crate::codes::ResourceType>| {
        Call::Document(DocumentCall::Register {
            document: doc(n),
            patient: patient("p1"),
            data_class: DataClass::LabResults,
            resource_type: kind,
        })
    };
    chain.ok(&admin, typed(1, Some(crate::codes::ResourceType::Observation)));
    chain.ok(&admin, typed(2, Some(crate::codes::ResourceType::DiagnosticReport)));
    chain.ok(&admin, typed(3, None));
    let wrong = chain.submit(&admin, typed(4, Some(crate::codes::ResourceType::ImagingStudy)));
    assert_eq!(error_code(&wrong.outcome), Some(ErrorCode::InvalidArgument), "an ImagingStudy holds no lab results");
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doctor");
    let ask = |kind| {
        Call::Access(AccessCall::Request {
            patient: patient("p1"),
            data_class: DataClass::LabResults,
            resource_type: kind,
            purpose: Purpose::Treatment,
            custodian: org("hospital-a"),
            document: None,
            data_time: None,
            justification: None,
        })
    };
    let receipt = chain.submit(&doctor, ask(Some(crate::codes::ResourceType::Observation)));
    assert!(receipt.is_ok());
    let grant = crate::access::access_decision(&chain.store, &DecisionId(receipt.tx)).unwrap().unwrap();
    assert_eq!(covered_documents(&chain.store, &grant).unwrap(), vec![doc(1)]);
    let (height, now) = (chain.height, chain.time);
    assert!(grant_in_force(&chain.store, &grant.id, &doc(1), height, now).unwrap().is_ok());
    for other in [doc(2), doc(3)] {
        assert_eq!(
            grant_in_force(&chain.store, &grant.id, &other, height, now).unwrap().unwrap_err(),
            GrantRefused::NotCovered
        );
    }
    // Without a resource type the grant covers the class, as before.
    let receipt = chain.submit(&doctor, ask(None));
    let grant = crate::access::access_decision(&chain.store, &DecisionId(receipt.tx)).unwrap().unwrap();
    assert_eq!(covered_documents(&chain.store, &grant).unwrap().len(), 3);
    let mismatch = chain.submit(&doctor, ask(Some(crate::codes::ResourceType::AllergyIntolerance)));
    assert_eq!(error_code(&mismatch.outcome), Some(ErrorCode::InvalidArgument));
}
