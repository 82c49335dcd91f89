//! Synthetic hospitals for tests, samples and benchmarks (seeded, deterministic, no external randomness).
//!
//! A hospital has five LANs (`dmz`, `clinical`, `imaging`, `admin`, `iot`) behind one firewall, devices with
//! ports and CVEs from a small catalogue (real CVE ids, metrics simplified: synthetic data), staff in seven
//! departments with rooms (about ten people a room) and a shared cafeteria, work relations, survey
//! answers, credentials, and a business model of clinical services (directory, EHR, PACS, radiology,
//! laboratory and pharmacy in an explicit cycle, emergency, billing, web portal).

use crate::Inputs;
use crate::input::*;

/// SplitMix64, a small seeded generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

const ENV: &str = "synthetic-hospital";

struct Cve {
    id: &'static str,
    v: AttackVector,
    ac: f64,
    pr: f64,
    cm: f64,
    rc: f64,
    pre: NetPriv,
    post: NetPriv,
}

const fn cve(id: &'static str, v: AttackVector, ac: f64, pr: f64, cm: f64, pre: NetPriv, post: NetPriv) -> Cve {
    Cve { id, v, ac, pr, cm, rc: 1.0, pre, post }
}

use AttackVector::{Adjacent as A, Local as L, Network as N, Physical as P};
use NetPriv::{None as NO, Root as RT, User as US};

const CATALOGUE: [Cve; 18] = [
    cve("CVE-2019-0708", N, 0.77, 0.85, 1.0, NO, RT),
    cve("CVE-2017-0144", N, 0.44, 0.85, 1.0, NO, RT),
    cve("CVE-2021-44228", N, 0.77, 0.85, 1.0, NO, US),
    cve("CVE-2014-0160", N, 0.77, 0.85, 1.0, NO, US),
    cve("CVE-2023-38408", N, 0.44, 0.85, 0.94, NO, US),
    cve("CVE-2020-0796", N, 0.77, 0.85, 0.97, NO, RT),
    cve("CVE-2019-10964", A, 0.77, 0.85, 0.94, NO, RT),
    cve("CVE-2018-10115", N, 0.44, 0.62, 0.94, US, US),
    cve("CVE-2020-1472", N, 0.77, 0.85, 1.0, NO, RT),
    cve("CVE-2022-26925", N, 0.44, 0.85, 0.97, NO, US),
    cve("CVE-2021-34527", N, 0.77, 0.62, 1.0, US, RT),
    cve("CVE-2019-12255", N, 0.44, 0.85, 0.91, NO, RT),
    cve("CVE-2012-1823", N, 0.77, 0.85, 1.0, NO, US),
    cve("CVE-2021-4034", L, 0.77, 0.62, 1.0, US, RT),
    cve("CVE-2021-3156", L, 0.77, 0.62, 1.0, US, RT),
    cve("CVE-2021-36934", L, 0.77, 0.62, 0.97, US, RT),
    cve("CVE-2016-5195", L, 0.44, 0.62, 1.0, US, RT),
    cve("CVE-2019-18256", P, 0.77, 0.85, 0.94, NO, RT),
];

fn av_score(v: AttackVector) -> f64 {
    match v {
        N => 0.85,
        A => 0.62,
        L => 0.55,
        P => 0.2,
    }
}

fn catalogue() -> VulnerabilityCatalogue {
    let mut vulnerabilities: Vec<Vulnerability> = CATALOGUE
        .iter()
        .map(|c| Vulnerability {
            id: c.id.to_owned(),
            cwe: Vec::new(),
            cvss3: Some(Cvss3 {
                attack_vector: c.v,
                attack_vector_score: av_score(c.v),
                attack_complexity_score: c.ac,
                privileges_required_score: c.pr,
                user_interaction: false,
                scope_changed: false,
                base_score: 0.0,
                exploitability_score: 0.0,
                impact_score: 0.0,
                code_maturity_score: c.cm,
                report_confidence_score: c.rc,
            }),
            cvss2: None,
            pre: c.pre,
            post: c.post,
        })
        .collect();
    vulnerabilities.push(Vulnerability {
        id: "CVE-2008-4250".into(),
        cwe: vec!["CWE-94".into()],
        cvss3: None,
        cvss2: Some(Cvss2 {
            access_vector: N,
            access_vector_score: 1.0,
            access_complexity_score: 0.71,
            authentication_score: 0.704,
            base_score: 10.0,
            code_maturity_score: 1.0,
            report_confidence_score: 1.0,
        }),
        pre: NO,
        post: RT,
    });
    VulnerabilityCatalogue { environment: ENV.into(), snapshot_id: String::new(), vulnerabilities }
}

/// (LAN, subnet second octet, share of the devices in per mille).
const LANS: [(&str, u32, usize); 5] =
    [("dmz", 0, 50), ("clinical", 1, 350), ("imaging", 2, 100), ("admin", 3, 250), ("iot", 4, 250)];

fn ip(lan: u32, k: usize) -> String {
    let host = (k % 65_000) as u32 + 1;
    format!("10.{lan}.{}.{}", host >> 8, host & 255)
}

fn port(rng: &mut Rng, number: u16, transport: Transport, name: &str, cves: &[(&str, f64)]) -> Port {
    let cves = cves.iter().filter(|(_, p)| rng.chance(*p)).map(|(c, _)| (*c).to_owned()).collect();
    Port {
        number,
        transport,
        state: PortState::Open,
        service: Some(Service { name: name.into(), cpe: Vec::new(), version: String::new(), cves }),
    }
}

/// Kinds of devices, by LAN.
fn device(rng: &mut Rng, lan: usize, k: usize, first: bool) -> (Device, &'static str) {
    let (lname, octet, _) = LANS[lan];
    let tcp = Transport::Tcp;
    let (kind, ports, family, local): (&str, Vec<Port>, &str, &[(&str, f64)]) = match lname {
        "dmz" => (
            "web_server",
            vec![
                port(rng, 80, tcp, "http", &[("CVE-2012-1823", 0.3)]),
                port(rng, 443, tcp, "https", &[("CVE-2021-44228", 0.3), ("CVE-2014-0160", 0.2)]),
                port(rng, 22, tcp, "ssh", &[("CVE-2023-38408", 0.3)]),
            ],
            "linux",
            &[("CVE-2021-4034", 0.4), ("CVE-2016-5195", 0.2)],
        ),
        "clinical" if first || rng.chance(0.1) => (
            "ehr_server",
            vec![
                port(rng, 443, tcp, "https", &[("CVE-2021-44228", 0.3)]),
                port(rng, 1433, tcp, "mssql", &[("CVE-2008-4250", 0.1)]),
                port(rng, 22, tcp, "ssh", &[("CVE-2023-38408", 0.3)]),
            ],
            "linux",
            &[("CVE-2021-3156", 0.4)],
        ),
        "clinical" | "admin" if !(lname == "admin" && first) => (
            "workstation",
            vec![
                port(rng, 445, tcp, "smb", &[("CVE-2017-0144", 0.15), ("CVE-2020-0796", 0.1), ("CVE-2021-34527", 0.2)]),
                port(rng, 3389, tcp, "rdp", &[("CVE-2019-0708", 0.1)]),
            ],
            "windows",
            &[("CVE-2021-36934", 0.5)],
        ),
        "admin" => (
            "domain_controller",
            vec![
                port(rng, 88, tcp, "kerberos", &[]),
                port(rng, 389, tcp, "ldap", &[("CVE-2022-26925", 0.7)]),
                port(rng, 445, tcp, "smb", &[("CVE-2020-1472", 0.7)]),
            ],
            "windows",
            &[],
        ),
        "imaging" if first || rng.chance(0.2) => (
            "pacs",
            vec![
                port(rng, 104, tcp, "dicom", &[("CVE-2018-10115", 0.5)]),
                port(rng, 443, tcp, "https", &[("CVE-2014-0160", 0.2)]),
            ],
            "linux",
            &[("CVE-2021-4034", 0.5)],
        ),
        "imaging" => (
            "modality",
            vec![port(rng, 104, tcp, "dicom", &[("CVE-2018-10115", 0.5)])],
            "windows",
            &[("CVE-2021-36934", 0.3)],
        ),
        _ if rng.chance(0.5) => (
            "infusion_pump",
            vec![port(rng, 23, tcp, "telnet", &[("CVE-2019-10964", 0.6)]), port(rng, 80, tcp, "http", &[])],
            "rtos",
            &[("CVE-2019-18256", 0.3)],
        ),
        _ => (
            "patient_monitor",
            vec![port(rng, 80, tcp, "http", &[("CVE-2019-12255", 0.3)]), port(rng, 161, Transport::Udp, "snmp", &[])],
            "rtos",
            &[("CVE-2019-18256", 0.3)],
        ),
    };
    let cves = local.iter().filter(|(_, p)| rng.chance(*p)).map(|(c, _)| (*c).to_owned()).collect();
    let id = format!("dev-{lname}-{k:06}");
    let d = Device {
        hostname: format!("{lname}-{kind}-{k}"),
        id,
        device_type: kind.into(),
        interfaces: vec![Interface {
            name: "eth0".into(),
            ip: ip(octet, k),
            mac: format!("02:00:{:02x}:{:02x}:{:02x}:{:02x}", octet, (k >> 16) & 255, (k >> 8) & 255, k & 255),
            mask: 16,
            lan: lname.into(),
            ports,
        }],
        os: Some(OperatingSystem {
            family: family.into(),
            vendor: String::new(),
            cves,
            local_services: Vec::new(),
            users: Vec::new(),
        }),
    };
    (d, kind)
}

#[allow(clippy::too_many_arguments)]
fn rule(
    index: u32,
    action: Action,
    src: &str,
    sm: u8,
    dst: &str,
    dm: u8,
    ports: Option<(u16, u16)>,
    i: Option<&str>,
    o: Option<&str>,
) -> FirewallRule {
    FirewallRule {
        index,
        action,
        source: src.into(),
        source_mask: sm,
        destination: dst.into(),
        destination_mask: dm,
        ports: ports.map(|(from, to)| PortRange { from, to }),
        protocol: Protocol::Tcp,
        in_interface: i.map(Into::into),
        out_interface: o.map(Into::into),
    }
}

fn network(dc_ip: &str) -> NetworkPolicy {
    use Action::{Allow as Y, Deny as X};
    let lans =
        LANS.iter().map(|(id, o, _)| Lan { id: (*id).into(), subnet: format!("10.{o}.0.0"), mask: 16 }).collect();
    let mut routes: Vec<Route> = LANS
        .iter()
        .map(|(id, o, _)| Route {
            lan: (*id).into(),
            destination: "10.0.0.0".into(),
            mask: 8,
            gateway: format!("10.{o}.255.254"),
            interface: "fw0".into(),
            metric: 1,
        })
        .collect();
    routes.push(Route {
        lan: "internet".into(),
        destination: "10.0.0.0".into(),
        mask: 16,
        gateway: "203.0.113.1".into(),
        interface: "wan0".into(),
        metric: 1,
    });
    let rules = vec![
        rule(10, Y, "0.0.0.0", 0, "10.0.0.0", 16, Some((80, 443)), Some("internet"), Some("dmz")),
        rule(20, Y, "10.0.0.0", 16, "10.1.0.0", 16, Some((443, 443)), Some("dmz"), Some("clinical")),
        rule(30, Y, "10.0.0.0", 16, "10.1.0.0", 16, Some((1433, 1433)), Some("dmz"), Some("clinical")),
        rule(40, Y, "10.3.0.2", 32, "10.0.0.0", 8, Some((3389, 3389)), Some("admin"), None),
        rule(50, Y, "10.3.0.0", 16, "10.1.0.0", 16, Some((443, 443)), Some("admin"), Some("clinical")),
        rule(60, Y, "10.1.0.0", 16, "10.2.0.0", 16, Some((104, 104)), Some("clinical"), Some("imaging")),
        rule(70, Y, "10.1.0.0", 16, "10.2.0.0", 16, Some((443, 443)), Some("clinical"), Some("imaging")),
        rule(80, X, "10.4.0.0", 16, "0.0.0.0", 0, None, Some("iot"), None),
        rule(90, Y, "10.1.0.0", 16, "10.4.0.0", 16, Some((23, 23)), Some("clinical"), Some("iot")),
        rule(100, Y, "10.1.0.0", 16, "10.4.0.0", 16, Some((80, 80)), Some("clinical"), Some("iot")),
        rule(110, Y, "10.0.0.0", 8, dc_ip, 32, Some((80, 500)), None, Some("admin")),
        rule(120, Y, "10.2.0.0", 16, "10.1.0.0", 16, Some((443, 443)), Some("imaging"), Some("clinical")),
    ];
    NetworkPolicy {
        environment: ENV.into(),
        snapshot_id: String::new(),
        lans,
        routes,
        firewall: Firewall { default_action: X, rules },
    }
}

const DEPTS: [(&str, usize); 7] = [
    ("radiology", 2),
    ("laboratory", 1),
    ("emergency", 4),
    ("pharmacy", 1),
    ("administration", 3),
    ("it", 3),
    ("nursing", 1),
];

fn score(rng: &mut Rng) -> f64 {
    (rng.unit() * 100.0).round() / 10.0
}

/// A synthetic hospital with about `devices` devices (at least one per LAN) and `staff` employees (at least
/// one), the same for the same arguments.
pub fn hospital(seed: u64, devices: usize, staff: usize) -> Inputs {
    let mut rng = Rng::new(seed);
    let snap = format!("seed-{seed}-{devices}-{staff}");
    // Devices.
    let mut devs = Vec::new();
    let mut by_kind: std::collections::BTreeMap<&'static str, Vec<usize>> = std::collections::BTreeMap::new();
    let mut by_lan: Vec<Vec<usize>> = vec![Vec::new(); LANS.len()];
    for (l, (_, _, share)) in LANS.iter().enumerate() {
        let n = (devices * share / 1000).max(1);
        for k in 0..n {
            let (d, kind) = device(&mut rng, l, k, k == 0);
            by_kind.entry(kind).or_default().push(devs.len());
            by_lan[l].push(devs.len());
            devs.push(d);
        }
    }
    let dc_ip = by_kind
        .get("domain_controller")
        .and_then(|v| v.first())
        .map_or("10.3.0.1".to_owned(), |&i| devs[i].interfaces[0].ip.clone());
    // Staff.
    let staff = staff.max(1);
    let mut employees = Vec::with_capacity(staff);
    let mut dept_members: Vec<Vec<usize>> = vec![Vec::new(); DEPTS.len()];
    let cafeteria =
        Location { building: "A".into(), floor: "0".into(), corridor: "main".into(), room: "cafeteria".into() };
    for e in 0..staff {
        let dept = rng.below(DEPTS.len());
        let (dname, _) = DEPTS[dept];
        let room = dept_members[dept].len() / 10;
        dept_members[dept].push(e);
        let mut locations = vec![Location {
            building: if dept.is_multiple_of(2) { "A" } else { "B" }.into(),
            floor: format!("{}", dept % 4),
            corridor: dname.into(),
            room: format!("{dname}-{room}"),
        }];
        if rng.chance(0.3) {
            locations.push(cafeteria.clone());
        }
        employees.push(Employee {
            id: format!("emp-{e:06}"),
            roles: vec![Role {
                department: dname.into(),
                position: "staff".into(),
                from: "2020-01-01".into(),
                to: String::new(),
            }],
            locations,
        });
    }
    let mut relations = Vec::new();
    for members in &dept_members {
        for (i, &e) in members.iter().enumerate() {
            for _ in 0..2 {
                let j = rng.below(members.len());
                if j != i {
                    relations.push(WorkRelation {
                        source: employees[e].id.clone(),
                        target: employees[members[j]].id.clone(),
                        relation_type: "colleague".into(),
                        directed: false,
                    });
                }
            }
        }
    }
    let profiles = employees
        .iter()
        .filter(|_| rng.chance(0.9))
        .map(|e| e.id.clone())
        .collect::<Vec<_>>()
        .into_iter()
        .map(|employee| SecurityProfile {
            employee,
            attitude: score(&mut rng),
            behaviour: score(&mut rng),
            culture: score(&mut rng),
            training: score(&mut rng),
            trust_building: score(&mut rng),
            trust_colleagues: score(&mut rng),
        })
        .collect();
    // Credentials.
    let mut credentials = Vec::new();
    let pool = |kinds: &[&str]| -> Vec<usize> {
        kinds.iter().flat_map(|k| by_kind.get(k).into_iter().flatten().copied()).collect()
    };
    let (servers, pacs, physical) = (
        pool(&["ehr_server", "domain_controller", "pacs", "web_server"]),
        pool(&["pacs"]),
        pool(&["infusion_pump", "patient_monitor", "workstation"]),
    );
    let pick =
        |rng: &mut Rng, pool: &[usize]| -> Option<usize> { (!pool.is_empty()).then(|| pool[rng.below(pool.len())]) };
    for (e, emp) in employees.iter().enumerate() {
        let dept = DEPTS.iter().position(|d| emp.roles[0].department == d.0).unwrap_or(0);
        let lan = DEPTS[dept].1;
        let mut dst = Vec::new();
        if !by_lan[lan].is_empty() {
            let d = by_lan[lan][rng.below(by_lan[lan].len())];
            dst.push(CredentialDestination {
                device: devs[d].id.clone(),
                service: "login".into(),
                privilege: NetPriv::User,
            });
        }
        if DEPTS[dept].0 == "it" {
            for _ in 0..2 {
                if let Some(d) = pick(&mut rng, &servers) {
                    dst.push(CredentialDestination {
                        device: devs[d].id.clone(),
                        service: "admin".into(),
                        privilege: NetPriv::Root,
                    });
                }
            }
        }
        if DEPTS[dept].0 == "radiology"
            && let Some(d) = pick(&mut rng, &pacs)
        {
            dst.push(CredentialDestination {
                device: devs[d].id.clone(),
                service: "pacs".into(),
                privilege: NetPriv::User,
            });
        }
        credentials.push(Credential {
            id: format!("cred-{e:06}-p"),
            employee: emp.id.clone(),
            kind: CredentialKind::Password,
            robustness: ((rng.unit() * 0.7 + 0.2) * 100.0).round() / 100.0,
            destinations: dst,
        });
        if rng.chance(0.3)
            && let Some(d) = pick(&mut rng, &physical)
        {
            credentials.push(Credential {
                id: format!("cred-{e:06}-b"),
                employee: emp.id.clone(),
                kind: CredentialKind::Badge,
                robustness: 0.5,
                destinations: vec![CredentialDestination {
                    device: devs[d].id.clone(),
                    service: "room".into(),
                    privilege: NetPriv::None,
                }],
            });
        }
    }
    let hv = |id: &str, v: HumanVector, av: f64, ac: f64, post: HumanPriv| HumanVulnerability {
        id: id.into(),
        name: id.replace('_', " "),
        access_vector: v,
        access_vector_score: av,
        attack_complexity_score: ac,
        pre: HumanPriv::Own,
        post,
    };
    let human = vec![
        hv("sharing_credential", HumanVector::Coworking, 0.85, 0.77, HumanPriv::Own),
        hv("no_logout", HumanVector::Proximity, 0.62, 0.77, HumanPriv::Use),
        hv("unprotected_credential", HumanVector::Proximity, 0.62, 0.44, HumanPriv::Own),
    ];
    let business = business(&mut rng, &devs, &by_kind);
    let mut inp = Inputs {
        devices: DevicesDoc { environment: ENV.into(), snapshot_id: snap.clone(), devices: devs },
        vulnerabilities: catalogue(),
        network: network(&dc_ip),
        employees: EmployeesDoc { environment: ENV.into(), snapshot_id: snap.clone(), employees },
        relations: WorkRelationsDoc { environment: ENV.into(), snapshot_id: snap.clone(), relations },
        profiles: SecurityProfilesDoc { environment: ENV.into(), snapshot_id: snap.clone(), profiles },
        human_vulnerabilities: HumanVulnerabilityCatalogue {
            environment: ENV.into(),
            snapshot_id: snap.clone(),
            vulnerabilities: human,
        },
        credentials: CredentialsDoc { environment: ENV.into(), snapshot_id: snap.clone(), credentials },
        business,
        config: config(),
    };
    inp.vulnerabilities.snapshot_id.clone_from(&snap);
    inp.network.snapshot_id.clone_from(&snap);
    inp.business.snapshot_id.clone_from(&snap);
    inp.config.snapshot_id = snap;
    inp
}

fn business(
    rng: &mut Rng,
    devs: &[Device],
    by_kind: &std::collections::BTreeMap<&'static str, Vec<usize>>,
) -> BusinessModel {
    use DepNode::{All, Any, Cycle, ServiceLevel as S};
    let s = |x: &str| S(x.into());
    // (id, C, I, A, impact, depends_on, device kinds, half)
    let levels: Vec<(&str, u64, Option<DepNode>, &[&str])> = vec![
        ("directory", 3, None, &["domain_controller"]),
        ("ehr", 10, Some(All(vec![s("directory")])), &["ehr_server"]),
        ("pacs-primary", 2, None, &["pacs"]),
        ("pacs-backup", 2, None, &["pacs"]),
        (
            "radiology",
            6,
            Some(All(vec![Any(vec![s("pacs-primary"), s("pacs-backup")]), s("directory")])),
            &["modality"],
        ),
        ("laboratory", 5, Some(All(vec![s("directory"), Cycle(vec![s("pharmacy")])])), &["workstation"]),
        ("pharmacy", 5, Some(All(vec![s("ehr"), Cycle(vec![s("laboratory")])])), &["workstation"]),
        (
            "emergency",
            9,
            Some(All(vec![s("ehr"), s("laboratory"), s("radiology")])),
            &["patient_monitor", "infusion_pump"],
        ),
        ("billing", 4, Some(All(vec![s("ehr")])), &["workstation"]),
        ("web-portal", 3, Some(All(vec![s("ehr")])), &["web_server"]),
    ];
    let mut entities = vec![Entity { id: "hospital".into(), kind: EntityKind::Business, name: "Hospital".into() }];
    let mut service_levels = Vec::new();
    let mut mappings = Vec::new();
    for (id, impact, dep, kinds) in levels {
        entities.push(Entity { id: format!("svc-{id}"), kind: EntityKind::Service, name: id.into() });
        let lv = |i: u64| {
            if i >= 8 {
                Level::High
            } else if i >= 4 {
                Level::Medium
            } else {
                Level::Low
            }
        };
        service_levels.push(ServiceLevel {
            id: id.into(),
            entity: format!("svc-{id}"),
            confidentiality: lv(impact),
            integrity: lv(impact),
            availability: lv(impact + 2),
            impact,
            depends_on: dep,
        });
        let pool: Vec<usize> = kinds.iter().flat_map(|k| by_kind.get(k).into_iter().flatten().copied()).collect();
        let mut devices: Vec<String> =
            (0..pool.len().min(4)).map(|_| devs[pool[rng.below(pool.len())]].id.clone()).collect();
        devices.sort();
        devices.dedup();
        mappings.push(Mapping { service_level: id.into(), devices });
    }
    BusinessModel { environment: ENV.into(), snapshot_id: String::new(), entities, service_levels, mappings }
}

fn config() -> Configuration {
    let a = |kind, entries: &[Entry], t: [f64; 5]| AttackerProfile {
        kind,
        entries: entries.to_vec(),
        attack_complexity: t[0],
        attack_vector: t[1],
        privileges_required: t[2],
        code_maturity: t[3],
        report_confidence: t[4],
    };
    Configuration {
        environment: ENV.into(),
        snapshot_id: String::new(),
        attackers: vec![
            a(AttackerKind::Naive, &[Entry::External], [0.77, 0.85, 0.85, 0.97, 0.96]),
            a(AttackerKind::Advanced, &[Entry::External, Entry::Internal], [0.44, 0.55, 0.62, 0.94, 0.92]),
            a(AttackerKind::Professional, &[Entry::External, Entry::Internal], [0.0; 5]),
        ],
        impact_thresholds: Thresholds { low: 5, medium: 15, high: 30 },
        likelihood_thresholds: Thresholds { low: 1000, medium: 2500, high: 5000 },
    }
}
