//! Validation of references, bounds and the dependency graph.

use std::collections::{BTreeMap, BTreeSet};

use crate::Inputs;
use crate::error::RiskError;
use crate::input::DepNode;
use crate::{MAX_DEPTH, MAX_ID_LEN, MAX_ITEMS, MAX_SERVICE_LEVELS, mask_of, parse_ip};

fn count(path: &str, n: usize, max: usize) -> Result<(), RiskError> {
    if n > max { Err(RiskError::invalid(path, format!("{n} items, more than the limit of {max}"))) } else { Ok(()) }
}

fn id_str(path: &str, s: &str) -> Result<(), RiskError> {
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(RiskError::invalid(path, format!("id length {} not in 1..={MAX_ID_LEN}", s.len())));
    }
    Ok(())
}

fn unit(path: &str, v: f64) -> Result<(), RiskError> {
    if !(0.0..=1.0).contains(&v) {
        return Err(RiskError::invalid(path, format!("score {v} not in [0, 1]")));
    }
    Ok(())
}

fn finite(path: &str, v: f64) -> Result<(), RiskError> {
    if !v.is_finite() {
        return Err(RiskError::invalid(path, "not a finite number"));
    }
    Ok(())
}

fn ip(path: &str, s: &str) -> Result<u32, RiskError> {
    parse_ip(s).ok_or_else(|| RiskError::invalid(path, format!("not a dotted IPv4 address: {s:?}")))
}

fn prefix(path: &str, p: u8) -> Result<(), RiskError> {
    if p > 32 { Err(RiskError::invalid(path, format!("prefix length {p} > 32"))) } else { Ok(()) }
}

/// Builds an id -> index map, rejecting bad and duplicate ids.
pub(crate) fn index<'a>(path: &str, ids: impl Iterator<Item = &'a str>) -> Result<BTreeMap<&'a str, usize>, RiskError> {
    let mut map = BTreeMap::new();
    for (i, id) in ids.enumerate() {
        let p = format!("{path}[{i}].id");
        id_str(&p, id)?;
        if map.insert(id, i).is_some() {
            return Err(RiskError::invalid(p, format!("duplicate id {id:?}")));
        }
    }
    Ok(map)
}

fn known(map: &BTreeMap<&str, usize>, path: String, kind: &'static str, id: &str) -> Result<usize, RiskError> {
    map.get(id).copied().ok_or(RiskError::Dangling { path, kind, id: id.to_owned() })
}

/// Validates every document and the references between them.
pub(crate) fn validate(inp: &Inputs) -> Result<(), RiskError> {
    let d = &inp.devices.devices;
    count("devices.json:devices", d.len(), MAX_ITEMS)?;
    let cves = index(
        "vulnerabilities.json:vulnerabilities",
        inp.vulnerabilities.vulnerabilities.iter().map(|v| v.id.as_str()),
    )?;
    for (i, v) in inp.vulnerabilities.vulnerabilities.iter().enumerate() {
        let p = format!("vulnerabilities.json:vulnerabilities[{i}]");
        match (&v.cvss3, &v.cvss2) {
            (Some(c), _) => {
                for (n, s) in [
                    ("attack_vector_score", c.attack_vector_score),
                    ("attack_complexity_score", c.attack_complexity_score),
                    ("privileges_required_score", c.privileges_required_score),
                    ("code_maturity_score", c.code_maturity_score),
                    ("report_confidence_score", c.report_confidence_score),
                ] {
                    unit(&format!("{p}.cvss3.{n}"), s)?;
                }
            }
            (None, Some(c)) => {
                for (n, s) in [
                    ("access_vector_score", c.access_vector_score),
                    ("access_complexity_score", c.access_complexity_score),
                    ("authentication_score", c.authentication_score),
                    ("code_maturity_score", c.code_maturity_score),
                    ("report_confidence_score", c.report_confidence_score),
                ] {
                    unit(&format!("{p}.cvss2.{n}"), s)?;
                }
            }
            (None, None) => return Err(RiskError::invalid(p, "neither cvss3 nor cvss2")),
        }
    }
    let net = &inp.network;
    let lans = index("network.json:lans", net.lans.iter().map(|l| l.id.as_str()))?;
    for (i, l) in net.lans.iter().enumerate() {
        let p = format!("network.json:lans[{i}]");
        if l.id == crate::reach::INTERNET {
            return Err(RiskError::invalid(format!("{p}.id"), "the LAN id \"internet\" is reserved"));
        }
        prefix(&format!("{p}.mask"), l.mask)?;
        let a = ip(&format!("{p}.subnet"), &l.subnet)?;
        if a & !mask_of(l.mask) != 0 {
            return Err(RiskError::invalid(format!("{p}.subnet"), "host bits set in the network address"));
        }
    }
    let lan_or_internet = |path: String, id: &str| -> Result<(), RiskError> {
        if id == crate::reach::INTERNET { Ok(()) } else { known(&lans, path, "LAN", id).map(|_| ()) }
    };
    count("network.json:routes", net.routes.len(), MAX_ITEMS)?;
    for (i, r) in net.routes.iter().enumerate() {
        let p = format!("network.json:routes[{i}]");
        lan_or_internet(format!("{p}.lan"), &r.lan)?;
        ip(&format!("{p}.destination"), &r.destination)?;
        prefix(&format!("{p}.mask"), r.mask)?;
    }
    count("network.json:firewall.rules", net.firewall.rules.len(), MAX_ITEMS)?;
    let mut indices = BTreeSet::new();
    for (i, r) in net.firewall.rules.iter().enumerate() {
        let p = format!("network.json:firewall.rules[{i}]");
        if !indices.insert(r.index) {
            return Err(RiskError::invalid(format!("{p}.index"), format!("duplicate rule index {}", r.index)));
        }
        ip(&format!("{p}.source"), &r.source)?;
        ip(&format!("{p}.destination"), &r.destination)?;
        prefix(&format!("{p}.source_mask"), r.source_mask)?;
        prefix(&format!("{p}.destination_mask"), r.destination_mask)?;
        if let Some(pr) = r.ports
            && pr.from > pr.to
        {
            return Err(RiskError::invalid(format!("{p}.ports"), "from > to"));
        }
        if let Some(x) = &r.in_interface {
            lan_or_internet(format!("{p}.in_interface"), x)?;
        }
        if let Some(x) = &r.out_interface {
            lan_or_internet(format!("{p}.out_interface"), x)?;
        }
    }
    let devs = index("devices.json:devices", d.iter().map(|x| x.id.as_str()))?;
    for (i, dev) in d.iter().enumerate() {
        let p = format!("devices.json:devices[{i}]");
        count(&format!("{p}.interfaces"), dev.interfaces.len(), 64)?;
        for (j, itf) in dev.interfaces.iter().enumerate() {
            let p = format!("{p}.interfaces[{j}]");
            ip(&format!("{p}.ip"), &itf.ip)?;
            prefix(&format!("{p}.mask"), itf.mask)?;
            known(&lans, format!("{p}.lan"), "LAN", &itf.lan)?;
            count(&format!("{p}.ports"), itf.ports.len(), 65536)?;
            for (k, port) in itf.ports.iter().enumerate() {
                if let Some(s) = &port.service {
                    for (c, cve) in s.cves.iter().enumerate() {
                        known(&cves, format!("{p}.ports[{k}].service.cves[{c}]"), "CVE", cve)?;
                    }
                }
            }
        }
        if let Some(os) = &dev.os {
            for (c, cve) in os.cves.iter().enumerate() {
                known(&cves, format!("{p}.os.cves[{c}]"), "CVE", cve)?;
            }
            for (s, ls) in os.local_services.iter().enumerate() {
                for (c, cve) in ls.cves.iter().enumerate() {
                    known(&cves, format!("{p}.os.local_services[{s}].cves[{c}]"), "CVE", cve)?;
                }
            }
        }
    }
    let emps = index("employees.json:employees", inp.employees.employees.iter().map(|e| e.id.as_str()))?;
    for (i, r) in inp.relations.relations.iter().enumerate() {
        let p = format!("relations.json:relations[{i}]");
        known(&emps, format!("{p}.source"), "employee", &r.source)?;
        known(&emps, format!("{p}.target"), "employee", &r.target)?;
    }
    let mut surveyed = BTreeSet::new();
    for (i, s) in inp.profiles.profiles.iter().enumerate() {
        let p = format!("profiles.json:profiles[{i}]");
        known(&emps, format!("{p}.employee"), "employee", &s.employee)?;
        if !surveyed.insert(s.employee.as_str()) {
            return Err(RiskError::invalid(format!("{p}.employee"), format!("second profile of {:?}", s.employee)));
        }
        for (n, v) in [
            ("attitude", s.attitude),
            ("behaviour", s.behaviour),
            ("culture", s.culture),
            ("training", s.training),
            ("trust_building", s.trust_building),
            ("trust_colleagues", s.trust_colleagues),
        ] {
            finite(&format!("{p}.{n}"), v)?;
        }
    }
    index(
        "human_vulnerabilities.json:vulnerabilities",
        inp.human_vulnerabilities.vulnerabilities.iter().map(|h| h.id.as_str()),
    )?;
    for (i, h) in inp.human_vulnerabilities.vulnerabilities.iter().enumerate() {
        let p = format!("human_vulnerabilities.json:vulnerabilities[{i}]");
        unit(&format!("{p}.access_vector_score"), h.access_vector_score)?;
        unit(&format!("{p}.attack_complexity_score"), h.attack_complexity_score)?;
    }
    index("credentials.json:credentials", inp.credentials.credentials.iter().map(|c| c.id.as_str()))?;
    for (i, c) in inp.credentials.credentials.iter().enumerate() {
        let p = format!("credentials.json:credentials[{i}]");
        known(&emps, format!("{p}.employee"), "employee", &c.employee)?;
        unit(&format!("{p}.robustness"), c.robustness)?;
        for (j, dst) in c.destinations.iter().enumerate() {
            known(&devs, format!("{p}.destinations[{j}].device"), "device", &dst.device)?;
        }
    }
    validate_business(inp, &devs)?;
    let mut kinds = BTreeSet::new();
    for (i, a) in inp.config.attackers.iter().enumerate() {
        let p = format!("config.json:attackers[{i}]");
        if !kinds.insert(a.kind) {
            return Err(RiskError::invalid(format!("{p}.kind"), "attacker kind given twice"));
        }
        for (n, v) in [
            ("attack_complexity", a.attack_complexity),
            ("attack_vector", a.attack_vector),
            ("privileges_required", a.privileges_required),
            ("code_maturity", a.code_maturity),
            ("report_confidence", a.report_confidence),
        ] {
            finite(&format!("{p}.{n}"), v)?;
        }
    }
    Ok(())
}

/// References found in a dependency tree: (target index, path, under a cycle node).
fn collect_refs(
    node: &DepNode,
    path: String,
    depth: usize,
    in_cycle: bool,
    sls: &BTreeMap<&str, usize>,
    out: &mut Vec<(usize, String, bool)>,
) -> Result<(), RiskError> {
    if depth > MAX_DEPTH {
        return Err(RiskError::invalid(path, format!("dependency tree deeper than {MAX_DEPTH}")));
    }
    let (children, tag, cyc) = match node {
        DepNode::ServiceLevel(id) => {
            let p = format!("{path}.service_level");
            let t = known(sls, p.clone(), "service level", id)?;
            out.push((t, p, in_cycle));
            return Ok(());
        }
        DepNode::All(c) => (c, "all", in_cycle),
        DepNode::Any(c) => (c, "any", in_cycle),
        DepNode::Cycle(c) => (c, "cycle", true),
    };
    if children.is_empty() {
        return Err(RiskError::invalid(format!("{path}.{tag}"), "empty dependency node"));
    }
    for (i, c) in children.iter().enumerate() {
        collect_refs(c, format!("{path}.{tag}[{i}]"), depth + 1, cyc, sls, out)?;
    }
    Ok(())
}

fn validate_business(inp: &Inputs, devs: &BTreeMap<&str, usize>) -> Result<(), RiskError> {
    let b = &inp.business;
    let ents = index("business.json:entities", b.entities.iter().map(|e| e.id.as_str()))?;
    count("business.json:service_levels", b.service_levels.len(), MAX_SERVICE_LEVELS)?;
    let sls = index("business.json:service_levels", b.service_levels.iter().map(|s| s.id.as_str()))?;
    let mut refs = Vec::with_capacity(b.service_levels.len());
    for (i, sl) in b.service_levels.iter().enumerate() {
        let p = format!("business.json:service_levels[{i}]");
        known(&ents, format!("{p}.entity"), "entity", &sl.entity)?;
        let mut r = Vec::new();
        if let Some(root) = &sl.depends_on {
            collect_refs(root, format!("{p}.depends_on"), 0, false, &sls, &mut r)?;
        }
        refs.push(r);
    }
    for (i, m) in b.mappings.iter().enumerate() {
        let p = format!("business.json:mappings[{i}]");
        known(&sls, format!("{p}.service_level"), "service level", &m.service_level)?;
        for (j, dev) in m.devices.iter().enumerate() {
            known(devs, format!("{p}.devices[{j}]"), "device", dev)?;
        }
    }
    let adj: Vec<Vec<usize>> = refs.iter().map(|r| r.iter().map(|x| x.0).collect()).collect();
    let comp = crate::impact::scc(&adj).0;
    for (u, r) in refs.iter().enumerate() {
        for (v, path, in_cycle) in r {
            if comp[u] == comp[*v] && !in_cycle {
                let ids =
                    (0..adj.len()).filter(|&w| comp[w] == comp[u]).map(|w| b.service_levels[w].id.clone()).collect();
                return Err(RiskError::Cycle { path: path.clone(), ids });
            }
        }
    }
    Ok(())
}
