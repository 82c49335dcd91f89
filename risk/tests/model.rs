//! Hand-computed cases on the tiny hospital of `common` and on the formulas.
#![allow(clippy::cast_possible_truncation, reason = "small test graphs and synthetic sizes")]

mod common;

use panacea_risk::graph::{cve_rate, survey_vulnerabilities};
use panacea_risk::likelihood::{L_MAX, likelihood, step_cost, to_milli};
use panacea_risk::reach::Reachability;
use panacea_risk::{AttackerKind, Level, Transport, assess};

#[test]
fn likelihood_formula() {
    // M = 2: L = -20 log10(1/2) = 6.0206
    assert_eq!(to_milli(likelihood(2.0)), 6021);
    // M = 10: L = -20 log10(0.9) = 0.91515
    assert_eq!(to_milli(likelihood(10.0)), 915);
    // M = 6: L = -20 log10(5/6) = 1.58362
    assert_eq!(to_milli(likelihood(6.0)), 1584);
    // M = 1 would be infinite, M < 1 NaN: clamped to L_MAX; no path: 0.
    assert_eq!(likelihood(1.0), L_MAX);
    assert_eq!(likelihood(0.5), L_MAX);
    assert_eq!(likelihood(0.0), L_MAX);
    assert_eq!(likelihood(f64::INFINITY), 0.0);
    assert_eq!(likelihood(f64::NAN), 0.0);
    assert_eq!(to_milli(likelihood(1.0 + 1e-12)), 100_000);
    // rate 0 gives no edge
    assert_eq!(step_cost(0.0), None);
    assert_eq!(step_cost(0.25), Some(4.0));
}

#[test]
fn cve_rate_is_product_or_zero_below_a_threshold() {
    let inp = common::tiny();
    let v = &inp.vulnerabilities.vulnerabilities;
    let adj = v.iter().find(|x| x.id == "CVE-ADJ").unwrap();
    let pro = inp.config.attackers.iter().find(|a| a.kind == AttackerKind::Professional).unwrap();
    let naive = inp.config.attackers.iter().find(|a| a.kind == AttackerKind::Naive).unwrap();
    // 0.5 (AC) x 0.5 (AV) x 1 (PR) x 1 (code maturity default) x 1 (report confidence default) = 0.25
    assert_eq!(cve_rate(adj, pro).1, 0.25);
    // naive needs AC >= 0.9: 0.5 is below, rate 0
    assert_eq!(cve_rate(adj, naive).1, 0.0);
}

fn profile(a: f64, b: f64, c: f64, t: f64, tb: f64, tc: f64) -> panacea_risk::SecurityProfile {
    panacea_risk::SecurityProfile {
        employee: "x".into(),
        attitude: a,
        behaviour: b,
        culture: c,
        training: t,
        trust_building: tb,
        trust_colleagues: tc,
    }
}

#[test]
fn survey_rules() {
    // sharing_credential: behaviour < 5 and training < 5 and trust in colleagues > 5
    assert_eq!(survey_vulnerabilities(&profile(9.0, 4.9, 9.0, 4.9, 0.0, 5.1)), vec!["sharing_credential"]);
    assert!(survey_vulnerabilities(&profile(9.0, 5.0, 9.0, 4.0, 0.0, 9.0)).is_empty());
    assert!(survey_vulnerabilities(&profile(9.0, 4.0, 9.0, 4.0, 0.0, 5.0)).is_empty());
    // no_logout: culture < 5 and trust in building > 5
    assert_eq!(survey_vulnerabilities(&profile(9.0, 9.0, 4.0, 9.0, 6.0, 0.0)), vec!["no_logout"]);
    assert!(survey_vulnerabilities(&profile(9.0, 9.0, 5.0, 9.0, 6.0, 0.0)).is_empty());
    // unprotected_credential: training < 5, trust colleagues > 5, trust building > 5, attitude < 5
    // (culture 9 so no no_logout; behaviour 9 so no sharing_credential)
    assert_eq!(survey_vulnerabilities(&profile(4.0, 9.0, 9.0, 4.0, 6.0, 6.0)), vec!["unprotected_credential"]);
    assert!(survey_vulnerabilities(&profile(5.0, 9.0, 9.0, 4.0, 6.0, 6.0)).is_empty());
    // all three
    assert_eq!(survey_vulnerabilities(&profile(1.0, 1.0, 1.0, 1.0, 9.0, 9.0)).len(), 3);
}

#[test]
fn reachability_follows_routes_and_first_matching_rule() {
    let inp = common::tiny();
    let r = Reachability::compute(&inp);
    let ix = |id: &str| inp.devices.devices.iter().position(|d| d.id == id).unwrap();
    let (web, ehr, pc) = (ix("web"), ix("ehr"), ix("pc"));
    // internet -> web:443 by rule 1; the internet has no route to clinical.
    assert!(r.internet_reaches(&inp, web, 443));
    assert!(!r.internet_reaches(&inp, ehr, 443));
    // dmz -> clinical: rule 2 denies ehr:22 before rule 3 allows the rest.
    assert!(r.reaches(&inp, web, ehr, 443, Transport::Tcp));
    assert!(!r.reaches(&inp, web, ehr, 22, Transport::Tcp));
    assert!(r.reaches(&inp, web, pc, 445, Transport::Tcp));
    // same LAN: no firewall.
    assert!(r.reaches(&inp, pc, ehr, 22, Transport::Tcp));
    // clinical -> dmz: no rule, default deny.
    assert!(!r.reaches(&inp, pc, web, 443, Transport::Tcp));
}

#[test]
fn tiny_hospital_by_hand() {
    let a = assess(&common::tiny()).unwrap();
    let row =
        |sl: &str, k: AttackerKind| a.risk.iter().find(|r| r.service_level == sl && r.attacker == k).unwrap().clone();
    // Professional (all rates = product of scores):
    // external -> user@web: CVE-NET-1 rate 0.5, M = 2, L = 6.021
    // user@web -> root@ehr (dmz -> clinical 443, CVE-NET-2 rate 0.25): M = 2 + 4 = 6, L = 1.584
    // internal -> use@alice (no_logout, 0.5 x 0.5 x (1 - 0.5 robustness) = 0.125): 8; -> c-alice: +1;
    //   -> user@pc: M = 9, L = 1.023 (better than the external route: ehr -> pc by CVE-ADJ, M = 10)
    // portal = max(web 6021, records) = 6021; records = ehr = 1584;
    // desk = max(pc 1023, min(records 1584, portal 6021)) = 1584 (critical device: ehr).
    let p = AttackerKind::Professional;
    assert_eq!(row("portal", p).likelihood_milli, 6021);
    assert_eq!(row("portal", p).critical_device.as_deref(), Some("web"));
    assert_eq!(row("records", p).likelihood_milli, 1584);
    assert_eq!(row("desk", p).likelihood_milli, 1584);
    assert_eq!(row("desk", p).critical_device.as_deref(), Some("ehr"));
    // Impact: portal's token (2) goes whole to records (All); desk's token (1) splits over records and
    // portal (Any), portal passes its fragment on to records, where both fragments merge: whole.
    // records = 10 + 2 + 1 = 13 (HIGH >= 10), portal = 2 (LOW), desk = 1 (LOW).
    assert_eq!((row("records", p).impact, row("records", p).impact_level), (13, Level::High));
    assert_eq!((row("portal", p).impact, row("portal", p).impact_level), (2, Level::Low));
    assert_eq!(row("desk", p).impact, 1);
    // Risk: records HIGH x MEDIUM (1584 in [1500, 3000)) = 3 x 2 = 6 -> HIGH;
    // portal LOW x HIGH = 3 -> MEDIUM; desk LOW x MEDIUM = 2 -> LOW.
    assert_eq!(row("records", p).risk_level, Level::High);
    assert_eq!(row("portal", p).risk_level, Level::Medium);
    assert_eq!(row("desk", p).risk_level, Level::Low);
    // Naive: AC >= 0.9 only, external only: CVE-ADJ and CVE-LOCAL out, no human layer: pc unreachable.
    let n = AttackerKind::Naive;
    assert_eq!(row("portal", n).likelihood_milli, 6021);
    assert_eq!(row("records", n).likelihood_milli, 1584);
    assert_eq!(row("desk", n).likelihood_milli, 1584);
    // High risk devices: professional, USER reached with L >= 3000: only web.
    assert_eq!(a.high_risk_devices, vec!["web".to_owned()]);
    // Top-3 paths to ehr (USER or ROOT): M = 6, then internal via alice's password to pc, then across the
    // clinical LAN: ssh CVE-NET-1 to user@ehr (M = 8 + 1 + 2 = 11, L = 0.828), https CVE-NET-2 to root@ehr
    // (M = 13, L = 0.695).
    let paths = &a.paths.iter().find(|s| s.service_level == "records").unwrap().paths;
    let got: Vec<(u64, u32, Vec<&str>)> = paths
        .iter()
        .map(|p| (p.cost_micro, p.likelihood_milli, p.nodes.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        got,
        vec![
            (6_000_000, 1584, vec!["external", "user@web", "root@ehr"]),
            (
                11_000_000,
                828,
                vec!["internal", "use@alice", "execute@alice", "credential:c-alice", "user@pc", "user@ehr"]
            ),
            (
                13_000_000,
                695,
                vec!["internal", "use@alice", "execute@alice", "credential:c-alice", "user@pc", "root@ehr"]
            ),
        ]
    );
}

#[test]
fn human_step_takes_the_easiest_vulnerability() {
    // alice gets both no_logout (0.5 x 0.5) and a second proximity vulnerability with post USE and
    // rate 1.0 x 0.5: the step takes the maximum, 0.5 x (1 - 0.5) = 0.25 -> M = 4 + 1 = 5 to user@pc.
    let mut docs = common::docs();
    let hv = common::doc_mut(&mut docs, "human_vulnerabilities.json");
    hv["vulnerabilities"][2]["post"] = "use".into();
    hv["vulnerabilities"][2]["attack_complexity_score"] = 1.0.into();
    let p = common::doc_mut(&mut docs, "profiles.json");
    // alice: culture 2 < 5 & trust_building 8 > 5 (no_logout); training 2, colleagues 8, attitude 2 (unprotected)
    p["profiles"][0] = serde_json::json!({"employee": "alice", "attitude": 2, "behaviour": 8, "culture": 2, "training": 2, "trust_building": 8, "trust_colleagues": 8});
    let a = assess(&common::parse(&docs).unwrap()).unwrap();
    // pc: M = 5 -> L = -20 log10(4/5) = 1.938
    let row = a.risk.iter().find(|r| r.service_level == "desk" && r.attacker == AttackerKind::Professional).unwrap();
    // desk = max(pc 1938, min(1584, 6021)) = 1938
    assert_eq!(row.likelihood_milli, 1938);
    assert_eq!(row.critical_device.as_deref(), Some("pc"));
}

#[test]
fn what_if_ranks_single_changes() {
    let inp = common::tiny();
    let r = panacea_risk::what_if(&inp, "portal", AttackerKind::Professional, 3).unwrap();
    assert!(!r.is_empty());
    // Fixing CVE-NET-1 (the only way into web) or removing rule 1 or denying internet -> web cuts portal's own
    // device; portal then depends on records (1584).
    assert_eq!(r[0].before_milli, 6021);
    // Best: fix CVE-NET-1 (web and ehr:22): only internal -> alice -> pc -> root@ehr (M = 13, 695) is left.
    assert_eq!(r[0].kind, panacea_risk::RemedyKind::FixCve("CVE-NET-1".into()));
    assert_eq!(r[0].likelihood_milli, 695);
    assert!(panacea_risk::what_if(&inp, "nope", AttackerKind::Professional, 3).is_err());
}

#[test]
fn host_specific_rule_splits_a_lan_into_groups() {
    // Generated hospital: rule 40 allows only 10.3.0.2/32 (the admin jump host, dev-admin-000001) to RDP
    // (3389) into other LANs; other admin workstations cannot. The internet reaches only the DMZ.
    let inp = panacea_risk::generate::hospital(2, 200, 50);
    let r = Reachability::compute(&inp);
    let ix = |id: &str| inp.devices.devices.iter().position(|d| d.id == id).unwrap();
    let ws = (0..inp.devices.devices.len())
        .find(|&i| {
            inp.devices.devices[i].id.starts_with("dev-clinical") && inp.devices.devices[i].device_type == "workstation"
        })
        .unwrap();
    assert!(r.reaches(&inp, ix("dev-admin-000001"), ws, 3389, Transport::Tcp));
    assert!(!r.reaches(&inp, ix("dev-admin-000002"), ws, 3389, Transport::Tcp));
    // both reach the domain controller's LDAP (rule 110) and each other (same LAN)
    assert!(r.reaches(&inp, ix("dev-admin-000002"), ix("dev-admin-000000"), 389, Transport::Tcp));
    assert!(r.reaches(&inp, ix("dev-clinical-000001"), ix("dev-admin-000000"), 389, Transport::Tcp));
    // iot is denied everything outward (rule 80)
    assert!(!r.reaches(&inp, ix("dev-iot-000000"), ix("dev-admin-000000"), 389, Transport::Tcp));
    let admin_groups = r
        .groups
        .iter()
        .filter(|g| g.lan == inp.network.lans.iter().position(|l| l.id == "admin").map(|x| x as u32))
        .count();
    assert_eq!(admin_groups, 2);
    for d in 0..inp.devices.devices.len() {
        for p in [80, 443] {
            if r.internet_reaches(&inp, d, p) {
                assert!(inp.devices.devices[d].id.starts_with("dev-dmz"));
            }
        }
    }
    assert!(r.internet_reaches(&inp, ix("dev-dmz-000000"), 443));
}
