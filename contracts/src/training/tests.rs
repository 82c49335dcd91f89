use panacea_primitives::{Hash, Keypair};

use super::*;
use crate::ErrorCode;
use crate::access::{AccessCall, AccessDecision, DecisionOutcome, DenyReason};
use crate::audit::AuditKind;
use crate::codes::{DataClass, Purpose, StaffRole};
use crate::consent::{ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType};
use crate::identity::{Identity, IdentityCall, IdentityKind};
use crate::ids::{DocumentHash, IdentityId};
use crate::testing::{Chain, error_code, key, org, patient};
use crate::tx::Call;

const DAY: u64 = 24 * 60 * 60 * 1000;

/// hospital-b with a course, a training service named as issuer, and a policy of
/// `requirements`; returns the service's key.
fn setup(chain: &mut Chain, requirements: Vec<Requirement>) -> Keypair {
    let admin = chain.admin("hospital-b");
    for course in ["emergency-access", "privacy-basics"] {
        chain.ok(
            &admin,
            Call::Training(TrainingCall::DefineCourse {
                course: course.into(),
                title: format!("{course} course"),
                version: 1,
                minimum_version: 1,
                validity_days: 365,
            }),
        );
    }
    let service = key("hospital-b/training");
    chain.ok(
        &admin,
        Call::Identity(IdentityCall::Register {
            key: service.public(),
            kind: IdentityKind::Service { name: "training service".into() },
        }),
    );
    let issuers = vec![Identity::id_for(&org("hospital-b"), &service.public())];
    chain.ok(&admin, Call::Training(TrainingCall::SetPolicy { policy: TrainingPolicy { issuers, requirements } }));
    service
}

fn issue(chain: &mut Chain, issuer: &Keypair, holder: IdentityId, course: &str, version: u32) -> crate::Receipt {
    let completed = chain.time;
    chain.submit(issuer, Call::Training(TrainingCall::Issue { holder, course: course.into(), version, completed }))
}

/// Records a consent of patient p1 at hospital-a that permits or denies everything.
fn consent_for_all(chain: &mut Chain, kind: ProvisionType) {
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, &format!("clerk-{kind:?}"));
    let terms = ConsentTerms {
        patient: patient("p1"),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec!["59284-0".into()],
        policy_rule: PolicyRule::OptIn,
        verification: vec![],
        provision: Provision::all(kind),
    };
    chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms, form_hash: Some(DocumentHash(Hash([9; 32]))) }));
}

fn ask(chain: &mut Chain, who: &Keypair, break_glass: bool) -> AccessDecision {
    let call = Call::Access(AccessCall::Request {
        patient: patient("p1"),
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose: if break_glass { Purpose::EmergencyTreatment } else { Purpose::Treatment },
        custodian: org("hospital-a"),
        document: None,
        data_time: None,
        justification: break_glass.then_some(DocumentHash(Hash([3; 32]))),
    });
    let events = chain.ok(who, call);
    assert_eq!(events.len(), 1, "one audit event per decision");
    crate::access::access_decision(&chain.store, &events[0].entity.decision.unwrap()).unwrap().unwrap()
}

#[test]
fn break_glass_needs_the_emergency_access_training_the_policy_requires() {
    let mut chain = Chain::new();
    let service =
        setup(&mut chain, vec![Requirement { action: GuardedAction::BreakGlass, course: "emergency-access".into() }]);
    consent_for_all(&mut chain, ProvisionType::Deny);
    let (nurse, nurse_id) = chain.staff("hospital-b", StaffRole::Nurse, "nurse-b");
    let decision = ask(&mut chain, &nurse, true);
    assert_eq!(decision.outcome, DecisionOutcome::Deny(DenyReason::TrainingMissing));
    assert_eq!(decision.missing_training.as_deref(), Some("emergency-access"), "the decision names the course");
    // An ordinary request is not guarded by this policy: the consent decides.
    assert_eq!(ask(&mut chain, &nurse, false).outcome, DecisionOutcome::Deny(DenyReason::DeniedByConsent));
    // Trained: break-glass is granted.
    let events = match issue(&mut chain, &service, nurse_id, "emergency-access", 1).outcome {
        crate::Outcome::Ok { events } => events,
        failed => panic!("{failed:?}"),
    };
    assert_eq!(events[0].kind, AuditKind::TrainingIssued);
    let decision = ask(&mut chain, &nurse, true);
    assert_eq!(decision.outcome, DecisionOutcome::BreakGlass);
    assert_eq!(decision.missing_training, None);
    // Expired a year later: refused again.
    chain.advance(366 * DAY);
    assert_eq!(ask(&mut chain, &nurse, true).outcome, DecisionOutcome::Deny(DenyReason::TrainingMissing));
    // Retrained, then the course is rewritten and old versions stop counting.
    assert!(issue(&mut chain, &service, nurse_id, "emergency-access", 1).is_ok());
    assert_eq!(ask(&mut chain, &nurse, true).outcome, DecisionOutcome::BreakGlass);
    let admin = chain.admin("hospital-b");
    chain.ok(
        &admin,
        Call::Training(TrainingCall::DefineCourse {
            course: "emergency-access".into(),
            title: "Emergency access, 2027 edition".into(),
            version: 2,
            minimum_version: 2,
            validity_days: 365,
        }),
    );
    assert_eq!(ask(&mut chain, &nurse, true).outcome, DecisionOutcome::Deny(DenyReason::TrainingMissing));
    // Revoked credentials do not count either.
    assert!(issue(&mut chain, &service, nurse_id, "emergency-access", 2).is_ok());
    assert_eq!(ask(&mut chain, &nurse, true).outcome, DecisionOutcome::BreakGlass);
    chain.ok(&admin, Call::Training(TrainingCall::Revoke { holder: nurse_id, course: "emergency-access".into() }));
    assert_eq!(ask(&mut chain, &nurse, true).outcome, DecisionOutcome::Deny(DenyReason::TrainingMissing));
}

#[test]
fn a_policy_on_every_request_denies_even_what_consent_permits_and_spares_devices() {
    let mut chain = Chain::new();
    let service =
        setup(&mut chain, vec![Requirement { action: GuardedAction::AccessRequest, course: "privacy-basics".into() }]);
    consent_for_all(&mut chain, ProvisionType::Permit);
    let (doctor, doctor_id) = chain.staff("hospital-b", StaffRole::Physician, "doctor-b");
    let decision = ask(&mut chain, &doctor, false);
    assert_eq!(decision.outcome, DecisionOutcome::Deny(DenyReason::TrainingMissing));
    assert_eq!(decision.missing_training.as_deref(), Some("privacy-basics"));
    // Break-glass cannot bypass a missing training: it overrides consents only.
    assert_eq!(ask(&mut chain, &doctor, true).outcome, DecisionOutcome::Deny(DenyReason::TrainingMissing));
    assert!(issue(&mut chain, &service, doctor_id, "privacy-basics", 1).is_ok());
    assert_eq!(ask(&mut chain, &doctor, false).outcome, DecisionOutcome::Permit);
    // Another organisation's staff are held to their own organisation's policy (none).
    let (other, _) = chain.staff("hospital-a", StaffRole::Physician, "doctor-a");
    assert_eq!(ask(&mut chain, &other, false).outcome, DecisionOutcome::Permit);
}

#[test]
fn only_the_policys_issuers_issue_and_only_to_their_own_staff() {
    let mut chain = Chain::new();
    let service = setup(&mut chain, Vec::new());
    let (nurse_b, nurse_b_id) = chain.staff("hospital-b", StaffRole::Nurse, "nurse-b");
    let (_, nurse_a_id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse-a");
    // A staff member cannot issue to themself; another service is not an issuer.
    assert_eq!(
        error_code(&issue(&mut chain, &nurse_b, nurse_b_id, "privacy-basics", 1).outcome),
        Some(ErrorCode::Unauthorized)
    );
    let admin = chain.admin("hospital-b");
    let rogue = key("hospital-b/rogue");
    chain.ok(
        &admin,
        Call::Identity(IdentityCall::Register {
            key: rogue.public(),
            kind: IdentityKind::Service { name: "rogue".into() },
        }),
    );
    assert_eq!(
        error_code(&issue(&mut chain, &rogue, nurse_b_id, "privacy-basics", 1).outcome),
        Some(ErrorCode::Unauthorized)
    );
    // Not to another organisation's staff; not an unknown course or version.
    assert_eq!(
        error_code(&issue(&mut chain, &service, nurse_a_id, "privacy-basics", 1).outcome),
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(
        error_code(&issue(&mut chain, &service, nurse_b_id, "fire-safety", 1).outcome),
        Some(ErrorCode::NotFound)
    );
    assert_eq!(
        error_code(&issue(&mut chain, &service, nurse_b_id, "privacy-basics", 2).outcome),
        Some(ErrorCode::InvalidArgument)
    );
    // Not dated in the future.
    let completed = chain.time.plus_millis(DAY);
    let future = chain.submit(
        &service,
        Call::Training(TrainingCall::Issue {
            holder: nurse_b_id,
            course: "privacy-basics".into(),
            version: 1,
            completed,
        }),
    );
    assert_eq!(error_code(&future.outcome), Some(ErrorCode::InvalidArgument));
    assert!(issue(&mut chain, &service, nurse_b_id, "privacy-basics", 1).is_ok());
    let held = credentials(&chain.store, &nurse_b_id).unwrap();
    assert_eq!(held.len(), 1);
    assert!(held[0].current(chain.time, 1));
    // A policy naming an unknown course or a non-service issuer is refused.
    let bad = TrainingPolicy {
        issuers: Vec::new(),
        requirements: vec![Requirement { action: GuardedAction::BreakGlass, course: "nope".into() }],
    };
    let receipt = chain.submit(&admin, Call::Training(TrainingCall::SetPolicy { policy: bad }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::NotFound));
    let bad = TrainingPolicy { issuers: vec![nurse_b_id], requirements: Vec::new() };
    let receipt = chain.submit(&admin, Call::Training(TrainingCall::SetPolicy { policy: bad }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument));
    // Versions never go down.
    let down = Call::Training(TrainingCall::DefineCourse {
        course: "privacy-basics".into(),
        title: "x".into(),
        version: 1,
        minimum_version: 1,
        validity_days: 0,
    });
    assert_eq!(error_code(&chain.submit(&admin, down).outcome), Some(ErrorCode::InvalidArgument));
    assert_eq!(courses(&chain.store, &org("hospital-b")).unwrap().len(), 2);
}
