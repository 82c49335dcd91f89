//! Bad inputs give errors naming the JSON path.
#![allow(clippy::cast_possible_truncation, reason = "small test graphs and synthetic sizes")]

mod common;

use panacea_risk::{Inputs, RiskError};
use serde_json::json;

fn err(docs: &[(String, serde_json::Value)]) -> RiskError {
    common::parse(docs).unwrap_err()
}

#[test]
fn dangling_credential_device() {
    let mut d = common::docs();
    common::doc_mut(&mut d, "credentials.json")["credentials"][1]["destinations"][0]["device"] = "ghost".into();
    let e = err(&d);
    assert_eq!(
        e,
        RiskError::Dangling {
            path: "credentials.json:credentials[1].destinations[0].device".into(),
            kind: "device",
            id: "ghost".into()
        }
    );
    assert!(e.to_string().contains("credentials.json:credentials[1].destinations[0].device"));
    assert!(e.to_string().contains("ghost"));
}

#[test]
fn dangling_relation_employee() {
    let mut d = common::docs();
    common::doc_mut(&mut d, "relations.json")["relations"][0]["target"] = "mallory".into();
    assert_eq!(err(&d).path(), Some("relations.json:relations[0].target"));
}

#[test]
fn dangling_mapping_device() {
    let mut d = common::docs();
    common::doc_mut(&mut d, "business.json")["mappings"][2]["devices"][0] = "nowhere".into();
    let e = err(&d);
    assert_eq!(e.path(), Some("business.json:mappings[2].devices[0]"));
    assert!(matches!(e, RiskError::Dangling { kind: "device", .. }));
}

#[test]
fn unknown_cve_on_a_port() {
    let mut d = common::docs();
    common::doc_mut(&mut d, "devices.json")["devices"][1]["interfaces"][0]["ports"][1]["service"]["cves"][0] =
        "CVE-0000-0".into();
    let e = err(&d);
    assert_eq!(
        e,
        RiskError::Dangling {
            path: "devices.json:devices[1].interfaces[0].ports[1].service.cves[0]".into(),
            kind: "CVE",
            id: "CVE-0000-0".into()
        }
    );
}

#[test]
fn unknown_dependency() {
    let mut d = common::docs();
    common::doc_mut(&mut d, "business.json")["service_levels"][2]["depends_on"]["any"][1] =
        json!({"service_level": "zzz"});
    assert_eq!(err(&d).path(), Some("business.json:service_levels[2].depends_on.any[1].service_level"));
}

#[test]
fn cycle_outside_a_cycle_node_is_an_error() {
    let mut d = common::docs();
    // records -> portal -> records, not through a cycle node
    common::doc_mut(&mut d, "business.json")["service_levels"][1]["depends_on"] =
        json!({"all": [{"service_level": "portal"}]});
    let e = err(&d);
    match &e {
        RiskError::Cycle { path, ids } => {
            assert!(path.starts_with("business.json:service_levels["), "{path}");
            assert_eq!(ids, &vec!["portal".to_owned(), "records".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
    // a self-dependency too
    let mut d = common::docs();
    common::doc_mut(&mut d, "business.json")["service_levels"][1]["depends_on"] = json!({"service_level": "records"});
    assert_eq!(err(&d).path(), Some("business.json:service_levels[1].depends_on.service_level"));
}

#[test]
fn cycle_through_cycle_nodes_is_accepted_and_collapsed() {
    let mut d = common::docs();
    let b = common::doc_mut(&mut d, "business.json");
    b["service_levels"][0]["depends_on"] = json!({"all": [{"cycle": [{"service_level": "records"}]}]});
    b["service_levels"][1]["depends_on"] = json!({"cycle": [{"service_level": "portal"}]});
    let a = panacea_risk::assess(&common::parse(&d).unwrap()).unwrap();
    // portal and records collapse: both receive both tokens (2 + 10) and desk's (1, whole: both fragments
    // end in the collapsed node) = 13; both have likelihood max(6021, 1584) = 6021.
    for sl in ["portal", "records"] {
        let r = a
            .risk
            .iter()
            .find(|r| r.service_level == sl && r.attacker == panacea_risk::AttackerKind::Professional)
            .unwrap();
        assert_eq!((r.impact, r.likelihood_milli), (13, 6021), "{sl}");
    }
}

#[test]
fn unknown_field_and_wrong_type_name_the_path() {
    let mut d = common::docs();
    common::doc_mut(&mut d, "devices.json")["devices"][2]["interfaces"][0]["colour"] = "red".into();
    let e = err(&d);
    assert!(matches!(e, RiskError::Parse { .. }));
    assert_eq!(e.path(), Some("devices.json:devices[2].interfaces[0].colour"));
    let mut d = common::docs();
    common::doc_mut(&mut d, "credentials.json")["credentials"][0]["kind"] = "smoke_signal".into();
    assert_eq!(err(&d).path(), Some("credentials.json:credentials[0].kind"));
}

#[test]
fn out_of_range_values() {
    let mut d = common::docs();
    common::doc_mut(&mut d, "vulnerabilities.json")["vulnerabilities"][0]["cvss3"]["attack_vector_score"] = 1.5.into();
    assert_eq!(err(&d).path(), Some("vulnerabilities.json:vulnerabilities[0].cvss3.attack_vector_score"));
    let mut d = common::docs();
    common::doc_mut(&mut d, "network.json")["lans"][1]["subnet"] = "10.1.0.300".into();
    assert_eq!(err(&d).path(), Some("network.json:lans[1].subnet"));
    let mut d = common::docs();
    common::doc_mut(&mut d, "employees.json")["employees"][1]["id"] = "alice".into();
    assert_eq!(err(&d).path(), Some("employees.json:employees[1].id"));
}

#[test]
fn oversized_missing_and_unknown_documents() {
    let docs = common::bytes(&common::docs());
    let big = vec![b' '; panacea_risk::MAX_DOCUMENT_BYTES + 1];
    let mut refs: Vec<(&str, &[u8])> = docs.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    refs[0].1 = &big;
    let e = Inputs::from_json_documents(&refs).unwrap_err();
    assert!(matches!(e, RiskError::TooLarge { .. }));
    assert_eq!(e.path(), Some("devices.json"));
    let refs: Vec<(&str, &[u8])> = docs.iter().skip(1).map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    assert_eq!(Inputs::from_json_documents(&refs).unwrap_err().path(), Some("devices.json"));
    let mut refs: Vec<(&str, &[u8])> = docs.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    refs.push(("extra.json", b"{}"));
    assert_eq!(Inputs::from_json_documents(&refs).unwrap_err().path(), Some("extra.json"));
}
