//! The decision rule as privacy officers read it: the FHIR fixtures and the expected
//! decisions of `tests/fixtures/fhir/decisions.json`, the worked-cases table of
//! `docs/consent-and-access.md` (which must say the same), and properties of the
//! precedence rule over any combination of consents.

use std::collections::BTreeSet;

use panacea_contracts::access::{Decision, Request, decide};
use panacea_contracts::codes::{ConsentAction, DataClass, Purpose, ResourceType, StaffRole};
use panacea_contracts::consent::{
    ActorRef, Consent, ConsentScope, ConsentStatus, ConsentTerms, Period, PolicyRule, Provision, ProvisionType,
    Recorder,
};
use panacea_contracts::fhir::{DateBound, parse_date_time};
use panacea_contracts::ids::{ConsentId, DocumentHash, IdentityId, OrgId, PatientRef};
use panacea_primitives::{Hash, Pseudonymiser, Timestamp};
use proptest::prelude::*;
use serde_json::Value;

/// The test custodian's pseudonymisation key.
fn custodian_key() -> Pseudonymiser {
    Pseudonymiser::from_bytes([42; 32])
}

/// A fixture, imported with the custodian's key, as version 1 of a consent whose id is
/// the hash of the file name.
fn fixture(name: &str) -> Consent {
    let text = std::fs::read_to_string(crate_dir().join("tests/fixtures/fhir").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let imported = panacea_contracts::fhir::consent::import_with(&text, Some(&custodian_key()))
        .unwrap_or_else(|e| panic!("{name} does not import: {e}"));
    Consent {
        id: ConsentId(Hash::digest(name.as_bytes())),
        version: 1,
        terms: imported.terms,
        recorder: Recorder::Custodian {
            org: OrgId::new("hospital-a").unwrap(),
            identity: IdentityId(Hash([9; 32])),
            form_hash: DocumentHash(Hash([8; 32])),
        },
        recorded_at: Timestamp(0),
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn names(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn request(value: &Value) -> Request {
    let time = |key| text(value, key).map(|t| parse_date_time(t, DateBound::Start).unwrap());
    Request {
        requester: text(value, "identity")
            .map_or(IdentityId(Hash([1; 32])), |h| IdentityId(Hash::from_hex(h).unwrap())),
        requester_org: OrgId::new(text(value, "org").unwrap()).unwrap(),
        requester_role: text(value, "role").map(|r| StaffRole::from_code(r).unwrap()),
        action: ConsentAction::Access,
        purpose: Purpose::from_code(text(value, "purpose").unwrap()).unwrap(),
        data_class: DataClass::from_code(text(value, "data_class").unwrap()).unwrap(),
        resource_type: text(value, "resource_type").map(|t| ResourceType::from_code(t).unwrap()),
        custodian: OrgId::new(text(value, "custodian").unwrap()).unwrap(),
        data_time: time("data_date"),
        at: time("at").unwrap(),
    }
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(crate_dir().join("tests/fixtures/fhir/decisions.json")).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    document["cases"].as_array().unwrap().clone()
}

#[test]
fn every_worked_case_is_decided_as_the_privacy_officer_expects() {
    let cases = cases();
    assert!(cases.len() >= 25, "the worked cases cover the rule");
    let mut failures = Vec::new();
    for case in &cases {
        let name = text(case, "name").unwrap();
        let files: Vec<String> = names(case.get("consents")).into_iter().collect();
        let consents: Vec<Consent> = files.iter().map(|f| fixture(f)).collect();
        let by_id = |ids: &[ConsentId]| -> BTreeSet<String> {
            ids.iter().map(|id| files.iter().find(|f| Hash::digest(f.as_bytes()) == id.0).unwrap().clone()).collect()
        };
        let decision = decide(&consents, &request(&case["request"]));
        let (verdict, deciding, overridden) = match &decision {
            Decision::Permit { consents, overridden } => ("permit", by_id(consents), by_id(overridden)),
            Decision::Deny { consents, .. } => ("deny", by_id(consents), BTreeSet::new()),
        };
        let expect = &case["expect"];
        let got = (verdict, decision.reason_code(), deciding, overridden);
        let want = (
            text(expect, "decision").unwrap(),
            text(expect, "reason").unwrap(),
            names(expect.get("consents")),
            names(expect.get("overridden")),
        );
        if got != want {
            failures.push(format!("{name}: expected {want:?}, decided {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_guides_worked_cases_table_says_what_the_cases_say() {
    let guide = std::fs::read_to_string(crate_dir().join("../docs/consent-and-access.md")).unwrap();
    let header = "| case | consents | request | decision | reason |";
    let start = guide.lines().position(|l| l.trim() == header).expect("the guide has the worked-cases table");
    let rows: Vec<Vec<String>> = guide
        .lines()
        .skip(start + 2)
        .take_while(|l| l.trim_start().starts_with('|'))
        .map(|l| l.trim().trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect())
        .collect();
    let cases = cases();
    assert_eq!(rows.len(), cases.len(), "one row per case of decisions.json");
    for (row, case) in rows.iter().zip(&cases) {
        let name = text(case, "name").unwrap();
        assert_eq!(row[0], name);
        let listed: BTreeSet<String> = row[1].split(',').map(|s| s.trim().trim_matches('`').to_owned()).collect();
        assert_eq!(listed, names(case.get("consents")), "{name}: consents");
        assert_eq!(row[3], text(&case["expect"], "decision").unwrap(), "{name}: decision");
        assert_eq!(row[4], text(&case["expect"], "reason").unwrap(), "{name}: reason");
    }
}

// The precedence rule over any combination of consents.

const ORGS: [&str; 3] = ["hospital-a", "hospital-b", "clinic-north"];
const PURPOSES: [Purpose; 3] = [Purpose::Treatment, Purpose::EmergencyTreatment, Purpose::Research];
const CLASSES: [DataClass; 3] = [DataClass::LabResults, DataClass::MentalHealth, DataClass::Imaging];
const ROLES: [StaffRole; 2] = [StaffRole::Physician, StaffRole::Nurse];

fn org(name: &str) -> OrgId {
    OrgId::new(name).unwrap()
}

fn person(n: u8) -> IdentityId {
    IdentityId(Hash([n; 32]))
}

fn arb_actor() -> impl Strategy<Value = ActorRef> {
    prop_oneof![
        prop::sample::select(ORGS.to_vec()).prop_map(|o| ActorRef::Organisation(org(o))),
        (1u8..3).prop_map(|n| ActorRef::Identity(person(n))),
        prop::sample::select(ROLES.to_vec()).prop_map(ActorRef::Role),
    ]
}

fn arb_leaf() -> impl Strategy<Value = Provision> {
    (
        any::<bool>(),
        prop::collection::vec(arb_actor(), 0..2),
        prop::collection::vec(prop::sample::select(PURPOSES.to_vec()), 0..2),
        prop::collection::vec(prop::sample::select(CLASSES.to_vec()), 0..2),
        prop::collection::vec(prop::sample::select(vec![ResourceType::Observation, ResourceType::ImagingStudy]), 0..2),
        prop::option::of((0u64..3_000, 0u64..3_000)),
    )
        .prop_map(|(permit, actors, purposes, data_classes, resource_types, data_period)| Provision {
            kind: if permit { ProvisionType::Permit } else { ProvisionType::Deny },
            period: None,
            actors,
            actions: Vec::new(),
            purposes,
            data_classes,
            resource_types,
            mime_types: Vec::new(),
            data_period: data_period
                .map(|(a, b)| Period { start: Some(Timestamp(a.min(b))), end: Some(Timestamp(a.max(b))) }),
            exceptions: Vec::new(),
        })
}

fn arb_tree() -> impl Strategy<Value = Provision> {
    arb_leaf().prop_recursive(3, 12, 3, |inner| {
        (arb_leaf(), prop::collection::vec(inner, 0..3)).prop_map(|(mut p, exceptions)| {
            p.exceptions = exceptions;
            p
        })
    })
}

fn arb_custodians() -> impl Strategy<Value = Vec<OrgId>> {
    prop::collection::btree_set(prop::sample::select(ORGS.to_vec()), 0..2)
        .prop_map(|set| set.into_iter().map(org).collect())
}

fn arb_request() -> impl Strategy<Value = Request> {
    (
        (1u8..4),
        prop::sample::select(ORGS.to_vec()),
        prop::sample::select(ROLES.to_vec()),
        prop::sample::select(PURPOSES.to_vec()),
        prop::sample::select(CLASSES.to_vec()),
        prop::option::of(prop::sample::select(vec![ResourceType::Observation, ResourceType::DocumentReference])),
        prop::sample::select(ORGS.to_vec()),
        prop::option::of(0u64..3_000),
    )
        .prop_map(|(n, o, role, purpose, data_class, resource_type, custodian, data_time)| Request {
            requester: person(n),
            requester_org: org(o),
            requester_role: Some(role),
            action: ConsentAction::Access,
            purpose,
            data_class,
            resource_type,
            custodian: org(custodian),
            data_time: data_time.map(Timestamp),
            at: Timestamp(1_000),
        })
}

fn consent(n: usize, custodians: Vec<OrgId>, provision: Provision) -> Consent {
    Consent {
        id: ConsentId(Hash::digest(&n.to_be_bytes())),
        version: 1,
        terms: ConsentTerms {
            patient: PatientRef(Hash([7; 32])),
            status: ConsentStatus::Active,
            scope: ConsentScope::PatientPrivacy,
            custodians,
            categories: Vec::new(),
            policy_rule: PolicyRule::OptIn,
            verification: Vec::new(),
            provision,
        },
        recorder: Recorder::Patient { key: panacea_primitives::Keypair::from_seed([5; 32]).public() },
        recorded_at: Timestamp(0),
    }
}

/// What a provision names of the request, written out independently of the rule's code:
/// `None` if it does not match. Bits: organisation 1, role 2, identity 4, purpose 16,
/// class 32, data period 128, custodian 256.
fn oracle_names(p: &Provision, r: &Request) -> Option<u16> {
    let mut names = 0u16;
    if !p.actors.is_empty() {
        let mut hit = false;
        for actor in &p.actors {
            match actor {
                ActorRef::Organisation(o) if *o == r.requester_org => {
                    hit = true;
                    names |= 1;
                }
                ActorRef::Role(role) if Some(*role) == r.requester_role => {
                    hit = true;
                    names |= 2;
                }
                ActorRef::Identity(id) if *id == r.requester => {
                    hit = true;
                    names |= 1 | 2 | 4;
                }
                _ => {}
            }
        }
        if !hit {
            return None;
        }
    }
    if !p.purposes.is_empty() {
        if !p.purposes.contains(&r.purpose) {
            return None;
        }
        names |= 16;
    }
    if !(p.data_classes.is_empty() && p.resource_types.is_empty()) {
        let by_class = p.data_classes.contains(&r.data_class);
        let by_type = match r.resource_type {
            Some(t) => p.resource_types.contains(&t),
            None => p.kind == ProvisionType::Deny && p.resource_types.iter().any(|t| t.may_hold(r.data_class)),
        };
        if !(by_class || by_type) {
            return None;
        }
        names |= 32;
    }
    if let Some(period) = p.data_period {
        let inside = r.data_time.map_or(p.kind == ProvisionType::Deny, |t| period.contains(t));
        if !inside {
            return None;
        }
        names |= 128;
    }
    Some(names)
}

/// Every path from the root whose provisions all match, as (type of its last provision,
/// names along it, has a matching exception below).
fn matching_paths(p: &Provision, r: &Request, above: u16, out: &mut Vec<(ProvisionType, u16, bool)>) -> bool {
    let Some(own) = oracle_names(p, r) else { return false };
    let names = above | own;
    let mut below = false;
    for e in &p.exceptions {
        below |= matching_paths(e, r, names, out);
    }
    out.push((p.kind, names, below));
    true
}

/// The exclusion: a root permit with one deny naming the request's organisation, and its
/// purpose and class when asked.
fn exclusion(r: &Request, purpose: bool, class: bool) -> Provision {
    let mut deny = Provision::all(ProvisionType::Deny);
    deny.actors = vec![ActorRef::Organisation(r.requester_org.clone())];
    if purpose {
        deny.purposes = vec![r.purpose];
    }
    if class {
        deny.data_classes = vec![r.data_class];
    }
    let mut root = Provision::all(ProvisionType::Permit);
    root.exceptions = vec![deny];
    root
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// No combination of consents lets through a request that an exclusion in force
    /// covers, unless some consent in force has a permit, matching the request, that
    /// names strictly more than the exclusion (the documented override).
    #[test]
    fn an_exclusion_holds_against_every_broader_permit(
        others in prop::collection::vec((arb_custodians(), arb_tree()), 0..4),
        r in arb_request(),
        purpose in any::<bool>(),
        class in any::<bool>(),
    ) {
        let excluded = 1u16 | if purpose { 16 } else { 0 } | if class { 32 } else { 0 };
        let mut consents: Vec<Consent> = others.into_iter().enumerate().map(|(i, (c, p))| consent(i, c, p)).collect();
        consents.push(consent(99, Vec::new(), exclusion(&r, purpose, class)));
        if decide(&consents, &r).permits() {
            let overriding = consents.iter().any(|c| {
                let in_scope = c.terms.custodians.is_empty() || c.terms.custodians.contains(&r.custodian);
                let scoped = if c.terms.custodians.is_empty() { 0 } else { 256 };
                let mut paths = Vec::new();
                in_scope && matching_paths(&c.terms.provision, &r, scoped, &mut paths)
                    && paths.iter().any(|(kind, names, below)| {
                        *kind == ProvisionType::Permit && !below && names & excluded == excluded && *names != excluded
                    })
            });
            prop_assert!(overriding, "permitted without a permit more specific than the exclusion");
        }
    }

    /// A consent that only denies never turns a denial into a permit, and a consent that
    /// only permits never turns a permit into a denial.
    #[test]
    fn denies_only_restrict_and_permits_only_widen(
        base in prop::collection::vec((arb_custodians(), arb_tree()), 0..4),
        extra in (arb_custodians(), arb_tree()),
        r in arb_request(),
    ) {
        let base: Vec<Consent> = base.into_iter().enumerate().map(|(i, (c, p))| consent(i, c, p)).collect();
        let before = decide(&base, &r).permits();
        let only = |kind: ProvisionType| {
            fn set(p: &mut Provision, kind: ProvisionType) {
                p.kind = kind;
                p.exceptions.iter_mut().for_each(|e| set(e, kind));
            }
            let mut p = extra.1.clone();
            set(&mut p, kind);
            let mut with = base.clone();
            with.push(consent(50, extra.0.clone(), p));
            decide(&with, &r).permits()
        };
        if !before {
            prop_assert!(!only(ProvisionType::Deny));
        } else {
            prop_assert!(only(ProvisionType::Permit));
        }
    }

    /// A consent scoped to other custodians never changes a decision.
    #[test]
    fn a_consent_scoped_to_another_custodian_decides_nothing(
        base in prop::collection::vec((arb_custodians(), arb_tree()), 0..3),
        extra in arb_tree(),
        r in arb_request(),
    ) {
        let base: Vec<Consent> = base.into_iter().enumerate().map(|(i, (c, p))| consent(i, c, p)).collect();
        let elsewhere: Vec<OrgId> = ORGS.iter().map(|o| org(o)).filter(|o| *o != r.custodian).collect();
        let mut with = base.clone();
        with.push(consent(60, elsewhere, extra));
        prop_assert_eq!(decide(&base, &r), decide(&with, &r));
    }
}

/// This crate's folder, as the test runner says at run time (a path baked in at compile time
/// goes stale when another clone sharing the target folder built the binary last).
fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}
