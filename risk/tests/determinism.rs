//! Determinism: identical runs, order-independent results, round trips through JSON.
#![allow(clippy::cast_possible_truncation, reason = "small test graphs and synthetic sizes")]

mod common;

use panacea_risk::{AttackerKind, Inputs, assess, generate};

#[test]
fn two_runs_are_byte_identical() {
    let inp = generate::hospital(42, 400, 300);
    let a = assess(&inp).unwrap();
    let b = assess(&generate::hospital(42, 400, 300)).unwrap();
    assert_eq!(a.canonical_json(), b.canonical_json());
    assert_eq!(a.hash(), b.hash());
    assert_eq!(a.hash().len(), 64);
    // integers only: every number of the canonical JSON is an unsigned integer
    fn ints_only(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => n.is_u64(),
            serde_json::Value::Array(a) => a.iter().all(ints_only),
            serde_json::Value::Object(o) => o.values().all(ints_only),
            _ => true,
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&a.canonical_json()).unwrap();
    assert!(ints_only(&v));
    // keys sorted: re-serialising the parsed value gives the same bytes
    assert_eq!(serde_json::to_vec(&v).unwrap(), a.canonical_json());
    assert!(!a.risk.is_empty() && !a.paths.is_empty());
}

fn rotate<T>(v: &mut [T], by: usize) {
    if !v.is_empty() {
        let n = v.len();
        v.rotate_left(by % n);
        v.reverse();
    }
}

#[test]
fn input_order_does_not_change_the_hash() {
    let inp = generate::hospital(5, 300, 200);
    let h = assess(&inp).unwrap().hash();
    let mut p = inp.clone();
    rotate(&mut p.devices.devices, 17);
    for d in &mut p.devices.devices {
        for i in &mut d.interfaces {
            rotate(&mut i.ports, 1);
        }
    }
    rotate(&mut p.vulnerabilities.vulnerabilities, 3);
    rotate(&mut p.network.lans, 2);
    rotate(&mut p.network.routes, 2);
    rotate(&mut p.network.firewall.rules, 5);
    rotate(&mut p.employees.employees, 11);
    rotate(&mut p.relations.relations, 7);
    rotate(&mut p.profiles.profiles, 13);
    rotate(&mut p.human_vulnerabilities.vulnerabilities, 1);
    rotate(&mut p.credentials.credentials, 23);
    rotate(&mut p.business.entities, 2);
    rotate(&mut p.business.service_levels, 3);
    rotate(&mut p.business.mappings, 4);
    rotate(&mut p.config.attackers, 1);
    assert_ne!(p, inp);
    assert_eq!(assess(&p).unwrap().hash(), h);
}

#[test]
fn documents_round_trip() {
    let inp = generate::hospital(9, 120, 80);
    let docs = inp.to_documents().unwrap();
    let refs: Vec<(&str, &[u8])> = docs.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    let back = Inputs::from_json_documents(&refs).unwrap();
    assert_eq!(back, inp);
    assert_eq!(assess(&back).unwrap(), assess(&inp).unwrap());
    assert_eq!(panacea_risk::input_hash(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

#[test]
fn committed_sample_parses_and_matches_the_generator() {
    let dir = crate_dir().join("../testnet/sample-hospital/hospital-a");
    let docs: Vec<(String, Vec<u8>)> =
        panacea_risk::DOCUMENT_NAMES.iter().map(|n| (n.to_string(), std::fs::read(dir.join(n)).unwrap())).collect();
    let refs: Vec<(&str, &[u8])> = docs.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    let inp = Inputs::from_json_documents(&refs).unwrap();
    assert_eq!(inp, generate::hospital(1, 300, 250));
    let a = assess(&inp).unwrap();
    let stored: panacea_risk::Assessment =
        serde_json::from_slice(&std::fs::read(dir.join("assessment.json")).unwrap()).unwrap();
    assert_eq!(a, stored);
}

#[test]
fn generated_business_impacts_by_hand() {
    // directory receives every whole token: 3 + ehr 10 + radiology 6 + laboratory 5 + pharmacy 5
    // + emergency 9 + billing 4 + web-portal 3 = 45; laboratory and pharmacy form a declared cycle and share
    // 5 + 5 + emergency 9 = 19; pacs-primary only its own 2 (radiology's token is split by the Any node).
    let a = assess(&generate::hospital(3, 200, 100)).unwrap();
    let imp =
        |sl: &str| a.risk.iter().find(|r| r.service_level == sl && r.attacker == AttackerKind::Naive).unwrap().impact;
    assert_eq!(imp("directory"), 45);
    assert_eq!(imp("laboratory"), 19);
    assert_eq!(imp("pharmacy"), 19);
    assert_eq!(imp("pacs-primary"), 2);
    // ehr: own 10 + pharmacy 5 + laboratory 5 (through the cycle with pharmacy) + emergency 9 + billing 4
    // + web-portal 3 = 36
    assert_eq!(imp("ehr"), 36);
}

#[test]
fn attackers_are_ordered_by_capability() {
    let a = assess(&generate::hospital(11, 500, 400)).unwrap();
    for sl in ["ehr", "emergency", "radiology"] {
        let l = |k| a.risk.iter().find(|r| r.service_level == sl && r.attacker == k).unwrap().likelihood_milli;
        assert!(l(AttackerKind::Naive) <= l(AttackerKind::Advanced));
        assert!(l(AttackerKind::Advanced) <= l(AttackerKind::Professional));
    }
}

/// This crate's folder, as the test runner says at run time (a path baked in at compile time
/// goes stale when another clone sharing the target folder built the binary last).
fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}
