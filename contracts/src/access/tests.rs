use panacea_primitives::Timestamp;
use proptest::prelude::*;

use super::*;
use crate::codes::{ConsentAction, DataClass, Purpose, StaffRole};
use crate::consent::{
    ActorRef, Consent, ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, Period, PolicyRule, Provision,
    ProvisionType, Recorder,
};
use crate::ids::{ConsentId, DecisionId, DocumentHash, IdentityId, OrgId};
use crate::testing::{Chain, key, org, patient};
use crate::tx::{Call, Outcome};

fn request() -> Request {
    Request {
        requester: IdentityId(panacea_primitives::Hash([1; 32])),
        requester_org: org("hospital-b"),
        requester_role: Some(StaffRole::Physician),
        action: ConsentAction::Access,
        purpose: Purpose::Treatment,
        data_class: DataClass::LabResults,
        resource_type: None,
        custodian: org("hospital-a"),
        data_time: Some(Timestamp(500)),
        at: Timestamp(1_000),
    }
}

fn consent(n: u8, status: ConsentStatus, provision: Provision) -> Consent {
    Consent {
        id: ConsentId(panacea_primitives::Hash([n; 32])),
        version: 1,
        terms: ConsentTerms {
            patient: patient("p"),
            status,
            scope: ConsentScope::PatientPrivacy,
            custodians: Vec::new(),
            categories: vec![],
            policy_rule: PolicyRule::OptIn,
            verification: vec![],
            provision,
        },
        recorder: Recorder::Patient { key: key("p").public() },
        recorded_at: Timestamp(0),
    }
}

fn permit_all() -> Provision {
    Provision::all(ProvisionType::Permit)
}

fn deny_org(id: &str) -> Provision {
    Provision { actors: vec![ActorRef::Organisation(org(id))], ..Provision::all(ProvisionType::Deny) }
}

/// The decision rule as a table: (name, consents, request change, expected permit).
#[test]
fn decision_rule_table() {
    let with_exception = |exception: Provision| Provision { exceptions: vec![exception], ..permit_all() };
    let period = |start: u64, end: u64| Some(Period { start: Some(Timestamp(start)), end: Some(Timestamp(end)) });
    type Case = (&'static str, Vec<Consent>, fn(&mut Request), bool);
    let cases: Vec<Case> = vec![
        ("no consent denies", vec![], |_| {}, false),
        ("opt-in to share with all", vec![consent(1, ConsentStatus::Active, permit_all())], |_| {}, true),
        ("a draft never grants", vec![consent(1, ConsentStatus::Draft, permit_all())], |_| {}, false),
        ("a revoked consent never grants", vec![consent(1, ConsentStatus::Inactive, permit_all())], |_| {}, false),
        ("entered in error never grants", vec![consent(1, ConsentStatus::EnteredInError, permit_all())], |_| {}, false),
        (
            "an expired consent never grants",
            vec![consent(1, ConsentStatus::Active, Provision { period: period(0, 999), ..permit_all() })],
            |_| {},
            false,
        ),
        (
            "a consent not yet in force never grants",
            vec![consent(1, ConsentStatus::Active, Provision { period: period(1_001, 9_999), ..permit_all() })],
            |_| {},
            false,
        ),
        (
            "deny one organisation: that organisation is refused",
            vec![consent(1, ConsentStatus::Active, with_exception(deny_org("hospital-b")))],
            |_| {},
            false,
        ),
        (
            "deny one organisation: another is allowed",
            vec![consent(1, ConsentStatus::Active, with_exception(deny_org("hospital-c")))],
            |_| {},
            true,
        ),
        (
            "deny overrides permit at equal specificity (two consents)",
            vec![
                consent(1, ConsentStatus::Active, permit_all()),
                consent(2, ConsentStatus::Active, deny_org("hospital-b")),
            ],
            |_| {},
            false,
        ),
        (
            "a more specific permit beats a general deny",
            vec![consent(
                1,
                ConsentStatus::Active,
                Provision {
                    exceptions: vec![Provision { purposes: vec![Purpose::Treatment], ..permit_all() }],
                    ..Provision::all(ProvisionType::Deny)
                },
            )],
            |_| {},
            true,
        ),
        (
            "deny one author (practitioner)",
            vec![consent(
                1,
                ConsentStatus::Active,
                with_exception(Provision {
                    actors: vec![ActorRef::Identity(IdentityId(panacea_primitives::Hash([1; 32])))],
                    ..Provision::all(ProvisionType::Deny)
                }),
            )],
            |_| {},
            false,
        ),
        (
            "emergency only: treatment is refused",
            vec![consent(
                1,
                ConsentStatus::Active,
                Provision { purposes: vec![Purpose::EmergencyTreatment], ..permit_all() },
            )],
            |_| {},
            false,
        ),
        (
            "emergency only: emergency treatment is allowed",
            vec![consent(
                1,
                ConsentStatus::Active,
                Provision { purposes: vec![Purpose::EmergencyTreatment], ..permit_all() },
            )],
            |r| r.purpose = Purpose::EmergencyTreatment,
            true,
        ),
        (
            "data period: data outside it is refused",
            vec![consent(1, ConsentStatus::Active, Provision { data_period: period(600, 900), ..permit_all() })],
            |_| {},
            false,
        ),
        (
            "data period: a request without a data time does not match",
            vec![consent(1, ConsentStatus::Active, Provision { data_period: period(0, 900), ..permit_all() })],
            |r| r.data_time = None,
            false,
        ),
        (
            "mental health withheld from a permit-all",
            vec![consent(
                1,
                ConsentStatus::Active,
                with_exception(Provision {
                    data_classes: vec![DataClass::MentalHealth],
                    resource_types: Vec::new(),
                    mime_types: Vec::new(),
                    ..Provision::all(ProvisionType::Deny)
                }),
            )],
            |r| r.data_class = DataClass::MentalHealth,
            false,
        ),
        (
            "an unknown data date cannot escape a deny",
            vec![consent(
                1,
                ConsentStatus::Active,
                with_exception(Provision { data_period: period(0, 900), ..Provision::all(ProvisionType::Deny) }),
            )],
            |r| r.data_time = None,
            false,
        ),
        (
            "a research consent does not govern treatment",
            vec![{
                let mut c = consent(1, ConsentStatus::Active, permit_all());
                c.terms.scope = ConsentScope::Research;
                c
            }],
            |_| {},
            false,
        ),
        (
            "a research consent governs research",
            vec![{
                let mut c = consent(1, ConsentStatus::Active, permit_all());
                c.terms.scope = ConsentScope::Research;
                c
            }],
            |r| r.purpose = Purpose::Research,
            true,
        ),
        (
            "role-based permit: nurses only",
            vec![consent(
                1,
                ConsentStatus::Active,
                Provision { actors: vec![ActorRef::Role(StaffRole::Nurse)], ..permit_all() },
            )],
            |_| {},
            false,
        ),
    ];
    for (name, consents, change, expected) in cases {
        let mut req = request();
        change(&mut req);
        assert_eq!(decide(&consents, &req).permits(), expected, "{name}");
    }
}

fn arb_provision() -> impl Strategy<Value = Provision> {
    let leaf = (
        prop::bool::ANY,
        prop::option::of((0u64..2_000, 0u64..2_000)),
        prop::collection::vec(prop::sample::select(vec!["hospital-a", "hospital-b", "hospital-c"]), 0..2),
        prop::collection::vec(prop::sample::select(Purpose::ALL.to_vec()), 0..2),
        prop::collection::vec(prop::sample::select(DataClass::ALL.to_vec()), 0..2),
    )
        .prop_map(|(permit, period, orgs, purposes, classes)| Provision {
            kind: if permit { ProvisionType::Permit } else { ProvisionType::Deny },
            period: period.map(|(a, b)| Period { start: Some(Timestamp(a.min(b))), end: Some(Timestamp(a.max(b))) }),
            actors: orgs.into_iter().map(|o| ActorRef::Organisation(org(o))).collect(),
            actions: vec![],
            purposes,
            data_classes: classes,
            resource_types: Vec::new(),
            mime_types: Vec::new(),
            data_period: None,
            exceptions: vec![],
        });
    leaf.prop_recursive(3, 12, 3, |inner| {
        (inner.clone(), prop::collection::vec(inner, 0..3)).prop_map(|(mut p, exceptions)| {
            p.exceptions = exceptions;
            p
        })
    })
}

fn arb_status() -> impl Strategy<Value = ConsentStatus> {
    prop::sample::select(ConsentStatus::ALL.to_vec())
}

fn arb_request() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(vec!["hospital-a", "hospital-b", "hospital-c"]),
        prop::sample::select(Purpose::ALL.to_vec()),
        prop::sample::select(DataClass::ALL.to_vec()),
        0u64..2_000,
    )
        .prop_map(|(o, purpose, data_class, at)| Request {
            requester_org: org(o),
            purpose,
            data_class,
            at: Timestamp(at),
            ..request()
        })
}

proptest! {
    /// Consents that are not active, or whose period has passed, never change a decision:
    /// adding them to any set of consents gives the same verdict.
    #[test]
    fn inactive_or_expired_consents_never_grant(
        active in prop::collection::vec(arb_provision(), 0..3),
        others in prop::collection::vec((arb_status(), arb_provision()), 0..3),
        req in arb_request(),
    ) {
        let base: Vec<Consent> = active.into_iter().enumerate().map(|(i, p)| consent(u8::try_from(i).unwrap(), ConsentStatus::Active, p)).collect();
        let mut with_others = base.clone();
        for (i, (status, provision)) in others.into_iter().enumerate() {
            let mut provision = provision;
            if status == ConsentStatus::Active {
                // Active but expired before the request.
                provision.period = Some(Period { start: None, end: Some(Timestamp(req.at.0.saturating_sub(1))) });
                if req.at.0 == 0 { continue; }
            }
            with_others.push(consent(100 + u8::try_from(i).unwrap(), status, provision));
        }
        prop_assert_eq!(decide(&base, &req).permits(), decide(&with_others, &req).permits());
    }

    /// A deny that matches everything, added as a separate consent, is never weaker than
    /// a root permit: with a permit-all and a deny-all, the request is denied.
    #[test]
    fn deny_overrides_permit_at_equal_specificity(req in arb_request()) {
        let consents = vec![
            consent(1, ConsentStatus::Active, Provision::all(ProvisionType::Permit)),
            consent(2, ConsentStatus::Active, Provision::all(ProvisionType::Deny)),
        ];
        prop_assert!(!decide(&consents, &req).permits());
    }

    /// A permit is always backed by an active consent in force that permits.
    #[test]
    fn permits_cite_their_consents(
        consents in prop::collection::vec((arb_status(), arb_provision()), 0..4),
        req in arb_request(),
    ) {
        let consents: Vec<Consent> = consents.into_iter().enumerate().map(|(i, (s, p))| consent(u8::try_from(i).unwrap(), s, p)).collect();
        if let Decision::Permit { consents: ids, .. } = decide(&consents, &req) {
            prop_assert!(!ids.is_empty());
            for id in ids {
                let c = consents.iter().find(|c| c.id == id).unwrap();
                prop_assert_eq!(c.terms.status, ConsentStatus::Active);
            }
        }
    }
}

fn grant_all(chain: &mut Chain, patient_label: &str, provision: Provision) -> ConsentId {
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, &format!("clerk-{patient_label}"));
    let terms = ConsentTerms {
        patient: patient(patient_label),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec!["59284-0".into()],
        policy_rule: PolicyRule::OptIn,
        verification: vec![],
        provision,
    };
    let receipt = chain.submit(
        &clerk,
        Call::Consent(ConsentCall::Record { terms, form_hash: Some(DocumentHash(panacea_primitives::Hash([9; 32]))) }),
    );
    assert!(receipt.is_ok(), "{receipt:?}");
    ConsentId(receipt.tx)
}

fn ask(patient_label: &str, purpose: Purpose, justification: Option<DocumentHash>) -> Call {
    Call::Access(AccessCall::Request {
        patient: patient(patient_label),
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose,
        custodian: org("hospital-a"),
        document: Some(DocumentHash(panacea_primitives::Hash([4; 32]))),
        data_time: None,
        justification,
    })
}

#[test]
fn every_decision_appends_exactly_one_audit_event() {
    let mut chain = Chain::new();
    grant_all(&mut chain, "p1", permit_all());
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doctor");
    for (label, permitted) in [("p1", true), ("p2", false)] {
        let before = chain.meta().audit_count;
        let events = chain.ok(&doctor, ask(label, Purpose::Treatment, None));
        assert_eq!(events.len(), 1, "one event per decision");
        assert_eq!(chain.meta().audit_count, before + 1);
        let event = &events[0];
        assert_eq!(event.kind, crate::audit::AuditKind::AccessDecision);
        assert_eq!(event.outcome == crate::audit::AuditOutcome::Success, permitted);
        let decision = access_decision(&chain.store, &event.entity.decision.unwrap()).unwrap().unwrap();
        assert_eq!(decision.grants_at(chain.time), permitted);
        assert!(!decision.grants_at(chain.time.plus_millis(PERMIT_MS + 1)), "permits expire");
        if permitted {
            assert_eq!(decision.consents.len(), 1);
            assert_eq!(decision.consents[0].1, 1, "the deciding version is recorded");
        }
    }
}

#[test]
fn revoked_consent_stops_granting() {
    let mut chain = Chain::new();
    let id = grant_all(&mut chain, "p1", permit_all());
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doctor");
    let patient_key = key("patient-p1");
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk2");
    chain.ok(&clerk, crate::consent::tests::bind("p1", &patient_key));
    chain.ok(&patient_key, Call::Consent(ConsentCall::Revoke { consent: id, form_hash: None }));
    let events = chain.ok(&doctor, ask("p1", Purpose::Treatment, None));
    assert_eq!(events[0].outcome, crate::audit::AuditOutcome::Denied);
    let history = crate::consent::consent_history(&chain.store, &id).unwrap();
    assert_eq!(history.len(), 2, "every version is kept");
    assert_eq!(history[1].terms.status, ConsentStatus::Inactive);
}

#[test]
fn break_glass_is_granted_time_boxed_flagged_and_reviewed_by_the_custodian_auditor() {
    let mut chain = Chain::new();
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "er-doctor");
    let justification = Some(DocumentHash(panacea_primitives::Hash([5; 32])));
    let events = chain.ok(&doctor, ask("p9", Purpose::EmergencyTreatment, justification));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, crate::audit::AuditKind::BreakGlass);
    let decision_id = events[0].entity.decision.unwrap();
    let decision = access_decision(&chain.store, &decision_id).unwrap().unwrap();
    assert_eq!(decision.outcome, DecisionOutcome::BreakGlass);
    assert!(decision.grants_at(chain.time));
    assert!(!decision.grants_at(chain.time.plus_millis(BREAK_GLASS_MS + 1)), "time-boxed");
    assert_eq!(decision.justification, justification, "the justification's hash is kept");
    assert_eq!(events[0].entity.attachment, justification);
    assert_eq!(open_reviews(&chain.store, &org("hospital-a"), 10).unwrap().len(), 1);
    // Only the custodian's auditor may close it.
    let (other_auditor, _) = chain.staff("hospital-b", StaffRole::Auditor, "auditor-b");
    let close =
        Call::Access(AccessCall::CloseReview { decision: decision_id, outcome: ReviewOutcome::Justified, notes: None });
    assert!(!chain.submit(&other_auditor, close.clone()).is_ok());
    let (auditor, _) = chain.staff("hospital-a", StaffRole::Auditor, "auditor-a");
    let closed = chain.ok(&auditor, close.clone());
    assert_eq!(closed[0].entity.finding, Some(ReviewOutcome::Justified));
    assert!(open_reviews(&chain.store, &org("hospital-a"), 10).unwrap().is_empty());
    assert!(matches!(review(&chain.store, &decision_id).unwrap().unwrap().status, ReviewStatus::Closed { .. }));
    assert!(!chain.submit(&auditor, close).is_ok(), "closed once");
    // The patient's accounting shows the emergency disclosure.
    let (disclosures, _) = crate::audit::accounting_of_disclosures(&chain.store, &patient("p9"), None, 10).unwrap();
    assert_eq!(disclosures.len(), 1);
    assert!(disclosures[0].emergency);
    assert_eq!(disclosures[0].recipient_org, Some(org("hospital-b")));
}

#[test]
fn break_glass_needs_a_clinician_and_the_emergency_purpose() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-b", StaffRole::Administrative, "clerk");
    let justification = Some(DocumentHash(panacea_primitives::Hash([5; 32])));
    let receipt = chain.submit(&clerk, ask("p", Purpose::EmergencyTreatment, justification));
    assert!(matches!(receipt.outcome, Outcome::Failed { code: crate::ErrorCode::Unauthorized, .. }));
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doc");
    let receipt = chain.submit(&doctor, ask("p", Purpose::Treatment, justification));
    assert!(matches!(receipt.outcome, Outcome::Failed { code: crate::ErrorCode::InvalidArgument, .. }));
}

#[test]
fn admins_and_patients_cannot_request_access() {
    let mut chain = Chain::new();
    let admin = chain.admin("hospital-b");
    let receipt = chain.submit(&admin, ask("p", Purpose::Treatment, None));
    assert!(matches!(receipt.outcome, Outcome::Failed { code: crate::ErrorCode::Unauthorized, .. }));
    // Nor does a service identity (a node's sharing identity), whatever the consent.
    let grant = Call::Consent(ConsentCall::Record {
        terms: consent(1, ConsentStatus::Active, permit_all()).terms,
        form_hash: Some(DocumentHash(panacea_primitives::Hash([6; 32]))),
    });
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk-a");
    chain.ok(&clerk, grant);
    let service = key("sharing-b");
    let kind = crate::identity::IdentityKind::Service { name: "sharing worker".into() };
    chain.ok(&admin, Call::Identity(crate::identity::IdentityCall::Register { key: service.public(), kind }));
    match chain.submit(&service, ask("p", Purpose::Treatment, None)).outcome {
        Outcome::Failed { code: crate::ErrorCode::Unauthorized, message } => assert!(message.contains("service")),
        other => panic!("a service identity asked for patient data: {other:?}"),
    }
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doc-b");
    assert!(matches!(chain.submit(&doctor, ask("p", Purpose::Treatment, None)).outcome, Outcome::Ok { .. }));
    let _ = OrgId::new("x");
}

/// The audit event of a decision names the deciding consent: for a denial by an exclusion,
/// the excluding consent; the decision records the reason and, for a permit that overrode
/// an exclusion, the overridden consent.
#[test]
fn a_denial_names_the_excluding_consent_and_an_override_the_overridden_one() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let record = |chain: &mut Chain, provision: Provision| {
        let terms = ConsentTerms {
            patient: patient("p1"),
            status: ConsentStatus::Active,
            scope: ConsentScope::PatientPrivacy,
            custodians: Vec::new(),
            categories: vec![],
            policy_rule: PolicyRule::OptIn,
            verification: vec![],
            provision,
        };
        let form_hash = Some(DocumentHash(panacea_primitives::Hash([9; 32])));
        let receipt = chain.submit(&clerk, Call::Consent(ConsentCall::Record { terms, form_hash }));
        assert!(receipt.is_ok(), "{receipt:?}");
        ConsentId(receipt.tx)
    };
    record(&mut chain, permit_all());
    let mut excluding = permit_all();
    let mut deny = Provision::all(ProvisionType::Deny);
    deny.actors = vec![ActorRef::Organisation(org("hospital-b"))];
    excluding.exceptions = vec![deny];
    let exclusion = record(&mut chain, excluding);
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doctor");
    let receipt = chain.submit(&doctor, ask("p1", Purpose::Treatment, None));
    let Outcome::Ok { events } = &receipt.outcome else { panic!("{receipt:?}") };
    assert_eq!(events[0].outcome, crate::audit::AuditOutcome::Denied);
    assert_eq!(events[0].entity.consent, Some((exclusion, 1)), "the event names the exclusion");
    let decided = crate::access::access_decision(&chain.store, &DecisionId(receipt.tx)).unwrap().unwrap();
    assert_eq!(decided.reason_code(), "denied-by-consent");
    assert_eq!(decided.consents, vec![(exclusion, 1)], "the broader permit-all does not reopen it");
    // A permit naming hospital-b and emergencies is more specific: it overrides.
    let mut emergency = Provision::all(ProvisionType::Permit);
    emergency.actors = vec![ActorRef::Organisation(org("hospital-b"))];
    emergency.purposes = vec![Purpose::EmergencyTreatment];
    let specific = record(&mut chain, emergency);
    let receipt = chain.submit(&doctor, ask("p1", Purpose::EmergencyTreatment, None));
    let Outcome::Ok { events } = &receipt.outcome else { panic!("{receipt:?}") };
    assert_eq!(events[0].entity.consent, Some((specific, 1)));
    let decided = crate::access::access_decision(&chain.store, &DecisionId(receipt.tx)).unwrap().unwrap();
    assert_eq!(decided.reason_code(), "exclusion-overridden");
    assert_eq!(decided.consents, vec![(specific, 1)]);
    assert_eq!(decided.overridden, vec![(exclusion, 1)]);
}

#[test]
fn open_reviews_page_in_decision_order() {
    let mut chain = Chain::new();
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "er-doctor");
    let justification = Some(DocumentHash(panacea_primitives::Hash([5; 32])));
    for label in ["p1", "p2", "p3"] {
        chain.ok(&doctor, ask(label, Purpose::EmergencyTreatment, justification));
    }
    let custodian = org("hospital-a");
    let all = open_reviews(&chain.store, &custodian, 10).unwrap();
    assert_eq!(all.len(), 3);
    let first = open_reviews_after(&chain.store, &custodian, None, 2).unwrap();
    assert_eq!(first.len(), 2);
    let rest = open_reviews_after(&chain.store, &custodian, Some(&first[1].decision), 2).unwrap();
    assert_eq!([first, rest].concat(), all, "the second page continues after the first");
    assert!(open_reviews_after(&chain.store, &org("hospital-b"), None, 10).unwrap().is_empty());
}
