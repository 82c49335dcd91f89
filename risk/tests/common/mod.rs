//! A tiny hand-built hospital, as JSON documents, for hand-computed tests.
#![allow(dead_code, reason = "each test binary uses a part of the shared fixtures")]

use serde_json::{Value, json};

pub(crate) fn docs() -> Vec<(String, Value)> {
    let env = |extra: Value| -> Value {
        let mut v = json!({"environment": "test", "snapshot_id": "s1"});
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    };
    let v3 = |vector: &str, av: f64, ac: f64, pr: f64| json!({"attack_vector": vector, "attack_vector_score": av, "attack_complexity_score": ac, "privileges_required_score": pr});
    vec![
        (
            "devices.json".into(),
            env(json!({"devices": [
                {"id": "web", "hostname": "web", "device_type": "web_server", "interfaces": [
                    {"name": "eth0", "ip": "10.0.0.5", "mac": "m", "mask": 24, "lan": "dmz", "ports": [
                        {"number": 443, "transport": "tcp", "state": "open", "service": {"name": "https", "cves": ["CVE-NET-1"]}}]}]},
                {"id": "ehr", "hostname": "ehr", "device_type": "server", "interfaces": [
                    {"name": "eth0", "ip": "10.1.0.5", "mac": "m", "mask": 24, "lan": "clinical", "ports": [
                        {"number": 443, "transport": "tcp", "state": "open", "service": {"name": "https", "cves": ["CVE-NET-2"]}},
                        {"number": 22, "transport": "tcp", "state": "open", "service": {"name": "ssh", "cves": ["CVE-NET-1"]}}]}],
                 "os": {"family": "linux", "vendor": "x", "cves": ["CVE-LOCAL"]}},
                {"id": "pc", "hostname": "pc", "device_type": "workstation", "interfaces": [
                    {"name": "eth0", "ip": "10.1.0.9", "mac": "m", "mask": 24, "lan": "clinical", "ports": [
                        {"number": 445, "transport": "tcp", "state": "open", "service": {"name": "smb", "cves": ["CVE-ADJ"]}}]}]}
            ]})),
        ),
        (
            "vulnerabilities.json".into(),
            env(json!({"vulnerabilities": [
                {"id": "CVE-NET-1", "cvss3": v3("network", 0.5, 1.0, 1.0), "pre": "none", "post": "user"},
                {"id": "CVE-NET-2", "cvss3": v3("network", 0.25, 1.0, 1.0), "pre": "none", "post": "root"},
                {"id": "CVE-ADJ", "cvss3": v3("adjacent", 0.5, 0.5, 1.0), "pre": "none", "post": "root"},
                {"id": "CVE-LOCAL", "cvss3": v3("local", 0.5, 0.5, 1.0), "pre": "user", "post": "root"}
            ]})),
        ),
        (
            "network.json".into(),
            env(json!({
                "lans": [{"id": "dmz", "subnet": "10.0.0.0", "mask": 24}, {"id": "clinical", "subnet": "10.1.0.0", "mask": 24}],
                "routes": [
                    {"lan": "internet", "destination": "10.0.0.0", "mask": 24, "gateway": "g", "interface": "wan"},
                    {"lan": "dmz", "destination": "10.0.0.0", "mask": 8, "gateway": "g", "interface": "fw"},
                    {"lan": "clinical", "destination": "10.0.0.0", "mask": 8, "gateway": "g", "interface": "fw"}],
                "firewall": {"default_action": "deny", "rules": [
                    {"index": 1, "action": "allow", "source": "0.0.0.0", "source_mask": 0, "destination": "10.0.0.0", "destination_mask": 24,
                     "ports": {"from": 443, "to": 443}, "protocol": "tcp", "in_interface": "internet"},
                    {"index": 2, "action": "deny", "source": "10.0.0.0", "source_mask": 24, "destination": "10.1.0.5", "destination_mask": 32,
                     "ports": {"from": 22, "to": 22}, "protocol": "tcp"},
                    {"index": 3, "action": "allow", "source": "10.0.0.0", "source_mask": 24, "destination": "10.1.0.0", "destination_mask": 24,
                     "protocol": "any", "in_interface": "dmz", "out_interface": "clinical"}]}
            })),
        ),
        (
            "employees.json".into(),
            env(json!({"employees": [
                {"id": "alice", "locations": [{"building": "A", "floor": "1", "corridor": "c", "room": "101"}]},
                {"id": "bob", "locations": [{"building": "A", "floor": "1", "corridor": "c", "room": "101"}]},
                {"id": "carol", "locations": [{"building": "B", "floor": "2", "corridor": "c", "room": "201"}]}
            ]})),
        ),
        (
            "relations.json".into(),
            env(json!({"relations": [
            {"source": "alice", "target": "carol", "relation_type": "colleague"}]})),
        ),
        (
            "profiles.json".into(),
            env(json!({"profiles": [
                // alice: no_logout only (culture 2 < 5, trust_building 8 > 5; training 8 blocks the other two)
                {"employee": "alice", "attitude": 8, "behaviour": 8, "culture": 2, "training": 8, "trust_building": 8, "trust_colleagues": 2},
                // carol: sharing_credential only (behaviour 2, training 2, trust_colleagues 8; trust_building 2)
                {"employee": "carol", "attitude": 8, "behaviour": 2, "culture": 8, "training": 2, "trust_building": 2, "trust_colleagues": 8}
            ]})),
        ),
        (
            "human_vulnerabilities.json".into(),
            env(json!({"vulnerabilities": [
                {"id": "sharing_credential", "name": "s", "access_vector": "coworking", "access_vector_score": 0.5, "attack_complexity_score": 1.0, "pre": "own", "post": "own"},
                {"id": "no_logout", "name": "n", "access_vector": "proximity", "access_vector_score": 0.5, "attack_complexity_score": 0.5, "pre": "own", "post": "use"},
                {"id": "unprotected_credential", "name": "u", "access_vector": "proximity", "access_vector_score": 0.5, "attack_complexity_score": 0.5, "pre": "own", "post": "own"}
            ]})),
        ),
        (
            "credentials.json".into(),
            env(json!({"credentials": [
                {"id": "c-alice", "employee": "alice", "kind": "password", "robustness": 0.5,
                 "destinations": [{"device": "pc", "privilege": "user"}]},
                {"id": "c-carol", "employee": "carol", "kind": "badge", "robustness": 0.0,
                 "destinations": [{"device": "ehr", "privilege": "root"}]}
            ]})),
        ),
        (
            "business.json".into(),
            env(json!({
                "entities": [{"id": "h", "kind": "business", "name": "H"}],
                "service_levels": [
                    {"id": "portal", "entity": "h", "confidentiality": "low", "integrity": "low", "availability": "low", "impact": 2,
                     "depends_on": {"all": [{"service_level": "records"}]}},
                    {"id": "records", "entity": "h", "confidentiality": "high", "integrity": "high", "availability": "high", "impact": 10},
                    {"id": "desk", "entity": "h", "confidentiality": "low", "integrity": "low", "availability": "low", "impact": 1,
                     "depends_on": {"any": [{"service_level": "records"}, {"service_level": "portal"}]}}],
                "mappings": [
                    {"service_level": "portal", "devices": ["web"]},
                    {"service_level": "records", "devices": ["ehr"]},
                    {"service_level": "desk", "devices": ["pc"]}]
            })),
        ),
        (
            "config.json".into(),
            env(json!({
                "attackers": [
                    {"kind": "naive", "entries": ["external"], "attack_complexity": 0.9, "attack_vector": 0.0, "privileges_required": 0.0, "code_maturity": 0.0, "report_confidence": 0.0},
                    {"kind": "professional", "entries": ["external", "internal"], "attack_complexity": 0.0, "attack_vector": 0.0, "privileges_required": 0.0, "code_maturity": 0.0, "report_confidence": 0.0}],
                "impact_thresholds": {"low": 1, "medium": 5, "high": 10},
                "likelihood_thresholds": {"low": 500, "medium": 1500, "high": 3000}
            })),
        ),
    ]
}

pub(crate) fn bytes(docs: &[(String, Value)]) -> Vec<(String, Vec<u8>)> {
    docs.iter().map(|(n, v)| (n.clone(), serde_json::to_vec(v).unwrap())).collect()
}

pub(crate) fn parse(docs: &[(String, Value)]) -> Result<panacea_risk::Inputs, panacea_risk::RiskError> {
    let b = bytes(docs);
    let refs: Vec<(&str, &[u8])> = b.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    panacea_risk::Inputs::from_json_documents(&refs)
}

pub(crate) fn tiny() -> panacea_risk::Inputs {
    parse(&docs()).unwrap()
}

pub(crate) fn doc_mut<'a>(docs: &'a mut [(String, Value)], name: &str) -> &'a mut Value {
    &mut docs.iter_mut().find(|(n, _)| n == name).unwrap().1
}
