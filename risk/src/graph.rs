//! The multi-layer attack graph.
//!
//! Nodes: `external` (the external attacker, ROOT on a host of the pseudo-LAN `internet`), `internal` (the
//! internal attacker), `NONE|USER|ROOT@device`, `EXECUTE|USE|OWN@employee`, one node per credential, one
//! hub per reachability source group and one hub per location.
//!
//! Edges (cost `1/rate` for a step, 0 for a structural edge):
//! - implication (0): `ROOT@d -> USER@d -> NONE@d`, `OWN@e -> USE@e -> EXECUTE@e`; so the model's edges from
//!   ROOT@src are implied by those from USER@src;
//! - network: `USER@src -> hub(group)` (0) for each member of a reachability group, `hub -> post@dst` for
//!   each reached open port of dst and each post-condition, at the rate of the easiest CVE of the port with
//!   vector NETWORK, or ADJACENT when the group's LAN is the port's LAN; `external -> hub(internet)` (0);
//! - local: `pre@d -> post@d` for each CVE of the OS, of a local service, or of a port with a LOCAL vector;
//!   `NONE@d -> post@d` for a PHYSICAL vector;
//! - human: `OWN@e -> hub(location)` (0) and `hub(location) -> post@f` for each employee f at the location
//!   (PROXIMITY, equal path costs to the all-pairs edges without their quadratic count), `OWN@e -> post@f`
//!   and `OWN@f -> post@e` for each work relation (COWORKING), `internal -> post@f` for every employee f
//!   (PROXIMITY); the rate is that of f's easiest human vulnerability of the link's vector and that post;
//! - inter-layer: `OWN@e -> credential`, and `USE@e`, `EXECUTE@e -> credential` for non-physical ones,
//!   each a credential step of rate 1 (cost 1), built as the single edge from the lowest of these
//!   privileges (the others reach it through the 0-cost implication edges, so paths do not come in
//!   equal-cost duplicates); `credential -> PRIV@device` (0) per destination.

use std::collections::BTreeMap;

use crate::Inputs;
use crate::input::{AttackVector, AttackerProfile, CredentialKind, Entry, HumanPriv, HumanVector, Location, NetPriv};
use crate::likelihood::{Graph, step_cost};
use crate::reach::Reachability;

pub(crate) const EXTERNAL: u32 = 0;
pub(crate) const INTERNAL: u32 = 1;

fn np(p: NetPriv) -> u32 {
    match p {
        NetPriv::None => 0,
        NetPriv::User => 1,
        NetPriv::Root => 2,
    }
}

fn hp(p: HumanPriv) -> u32 {
    match p {
        HumanPriv::Execute => 0,
        HumanPriv::Use => 1,
        HumanPriv::Own => 2,
    }
}

/// Survey rules: which of `sharing_credential`, `no_logout`, `unprotected_credential` an employee has.
pub fn survey_vulnerabilities(p: &crate::input::SecurityProfile) -> Vec<&'static str> {
    let mut v = Vec::new();
    if p.behaviour < 5.0 && p.training < 5.0 && p.trust_colleagues > 5.0 {
        v.push("sharing_credential");
    }
    if p.culture < 5.0 && p.trust_building > 5.0 {
        v.push("no_logout");
    }
    if p.training < 5.0 && p.trust_colleagues > 5.0 && p.trust_building > 5.0 && p.attitude < 5.0 {
        v.push("unprotected_credential");
    }
    v
}

/// The rate of a CVE for an attacker: 0 if any of the five metrics is below the attacker's threshold,
/// else their product; CVSS v3, else v2. Returns the vector too.
pub fn cve_rate(v: &crate::input::Vulnerability, a: &AttackerProfile) -> (AttackVector, f64) {
    let (vector, m) = match (&v.cvss3, &v.cvss2) {
        (Some(c), _) => (
            c.attack_vector,
            [
                c.attack_complexity_score,
                c.attack_vector_score,
                c.privileges_required_score,
                c.code_maturity_score,
                c.report_confidence_score,
            ],
        ),
        (None, Some(c)) => (
            c.access_vector,
            [
                c.access_complexity_score,
                c.access_vector_score,
                c.authentication_score,
                c.code_maturity_score,
                c.report_confidence_score,
            ],
        ),
        (None, None) => return (AttackVector::Physical, 0.0),
    };
    let t = [a.attack_complexity, a.attack_vector, a.privileges_required, a.code_maturity, a.report_confidence];
    if m.iter().zip(t).any(|(x, t)| *x < t || x.is_nan()) {
        return (vector, 0.0);
    }
    (vector, m.iter().product())
}

/// Profile-independent structure of the attack graph of (canonical, validated) inputs.
pub(crate) struct Model<'a> {
    pub inp: &'a Inputs,
    pub reach: Reachability,
    pub dev_base: u32,
    pub emp_base: u32,
    pub cred_base: u32,
    pub group_base: u32,
    pub loc_base: u32,
    pub nodes: u32,
    /// Edges that do not depend on the attacker.
    pub fixed: Vec<(u32, u32, f64)>,
    /// Per global port: CVE indices of its service.
    pub port_cves: Vec<Vec<usize>>,
    /// Local CVEs: (device, CVE index).
    pub local: Vec<(u32, usize)>,
}

impl<'a> Model<'a> {
    pub(crate) fn build(inp: &'a Inputs) -> Self {
        let reach = Reachability::compute(inp);
        let cve_ix: BTreeMap<&str, usize> =
            inp.vulnerabilities.vulnerabilities.iter().enumerate().map(|(i, v)| (v.id.as_str(), i)).collect();
        let nd = inp.devices.devices.len() as u32;
        let ne = inp.employees.employees.len() as u32;
        let nc = inp.credentials.credentials.len() as u32;
        let all_locs: std::collections::BTreeSet<&Location> =
            inp.employees.employees.iter().flat_map(|e| e.locations.iter()).collect();
        let loc_ix: BTreeMap<&Location, u32> = all_locs.into_iter().enumerate().map(|(i, l)| (l, i as u32)).collect();
        let dev_base = 2;
        let emp_base = dev_base + 3 * nd;
        let cred_base = emp_base + 3 * ne;
        let group_base = cred_base + nc;
        let loc_base = group_base + reach.groups.len() as u32;
        let nodes = loc_base + loc_ix.len() as u32;
        let mut fixed = Vec::new();
        for d in 0..nd {
            let b = dev_base + 3 * d;
            fixed.push((b + 2, b + 1, 0.0));
            fixed.push((b + 1, b, 0.0));
        }
        for e in 0..ne {
            let b = emp_base + 3 * e;
            fixed.push((b + 2, b + 1, 0.0));
            fixed.push((b + 1, b, 0.0));
        }
        for (g, grp) in reach.groups.iter().enumerate() {
            let hub = group_base + g as u32;
            if grp.lan.is_none() {
                fixed.push((EXTERNAL, hub, 0.0));
            }
            for &m in &grp.members {
                fixed.push((dev_base + 3 * m + 1, hub, 0.0));
            }
        }
        // Human layer.
        let emp_ix: BTreeMap<&str, u32> =
            inp.employees.employees.iter().enumerate().map(|(i, e)| (e.id.as_str(), i as u32)).collect();
        let hv: BTreeMap<&str, &crate::input::HumanVulnerability> =
            inp.human_vulnerabilities.vulnerabilities.iter().map(|h| (h.id.as_str(), h)).collect();
        let mut robust = vec![f64::INFINITY; ne as usize];
        for c in &inp.credentials.credentials {
            if let Some(&e) = emp_ix.get(c.employee.as_str()) {
                robust[e as usize] = robust[e as usize].min(c.robustness);
            }
        }
        // rates[e][vector][post]
        let mut rates = vec![[[0f64; 3]; 2]; ne as usize];
        for p in &inp.profiles.profiles {
            let Some(&e) = emp_ix.get(p.employee.as_str()) else { continue };
            let r = if robust[e as usize].is_finite() { robust[e as usize] } else { 0.0 };
            for id in survey_vulnerabilities(p) {
                if let Some(h) = hv.get(id) {
                    let v = usize::from(h.access_vector == HumanVector::Coworking);
                    let rate = h.attack_complexity_score * h.access_vector_score * (1.0 - r);
                    let slot = &mut rates[e as usize][v][hp(h.post) as usize];
                    *slot = slot.max(rate);
                }
            }
        }
        let human_edges = |fixed: &mut Vec<(u32, u32, f64)>, from: u32, to: u32, v: usize| {
            for (post, &rate) in rates[to as usize][v].iter().enumerate() {
                if let Some(c) = step_cost(rate) {
                    fixed.push((from, emp_base + 3 * to + post as u32, c));
                }
            }
        };
        for (e, emp) in inp.employees.employees.iter().enumerate() {
            let e = e as u32;
            human_edges(&mut fixed, INTERNAL, e, 0);
            for l in &emp.locations {
                if let Some(&li) = loc_ix.get(l) {
                    fixed.push((emp_base + 3 * e + 2, loc_base + li, 0.0));
                    human_edges(&mut fixed, loc_base + li, e, 0);
                }
            }
        }
        for r in &inp.relations.relations {
            if let (Some(&s), Some(&t)) = (emp_ix.get(r.source.as_str()), emp_ix.get(r.target.as_str()))
                && s != t
            {
                human_edges(&mut fixed, emp_base + 3 * s + 2, t, 1);
                human_edges(&mut fixed, emp_base + 3 * t + 2, s, 1);
            }
        }
        let dev_ix: BTreeMap<&str, u32> =
            inp.devices.devices.iter().enumerate().map(|(i, d)| (d.id.as_str(), i as u32)).collect();
        for (c, cred) in inp.credentials.credentials.iter().enumerate() {
            let node = cred_base + c as u32;
            if let Some(&e) = emp_ix.get(cred.employee.as_str()) {
                // OWN implies USE implies EXECUTE (0-cost edges), so the lowest privilege that gives the
                // credential is enough: EXECUTE for non-physical ones, OWN for badges and tokens.
                let b = emp_base + 3 * e;
                let from = if CredentialKind::is_physical(cred.kind) { b + 2 } else { b };
                fixed.push((from, node, 1.0));
            }
            for dst in &cred.destinations {
                if let Some(&d) = dev_ix.get(dst.device.as_str()) {
                    fixed.push((node, dev_base + 3 * d + np(dst.privilege), 0.0));
                }
            }
        }
        // CVE lookups.
        let mut port_cves = vec![Vec::new(); reach.ports.len()];
        let mut local = Vec::new();
        for (gp, &(d, i, k)) in reach.ports.iter().enumerate() {
            let port = inp
                .devices
                .devices
                .get(d as usize)
                .and_then(|x| x.interfaces.get(i as usize))
                .and_then(|x| x.ports.get(k as usize));
            if let Some(s) = port.and_then(|p| p.service.as_ref()) {
                for cve in &s.cves {
                    if let Some(&ci) = cve_ix.get(cve.as_str()) {
                        port_cves[gp].push(ci);
                    }
                }
            }
        }
        for (d, dev) in inp.devices.devices.iter().enumerate() {
            if let Some(os) = &dev.os {
                for cve in os.cves.iter().chain(os.local_services.iter().flat_map(|s| s.cves.iter())) {
                    if let Some(&ci) = cve_ix.get(cve.as_str()) {
                        local.push((d as u32, ci));
                    }
                }
            }
        }
        Self { inp, reach, dev_base, emp_base, cred_base, group_base, loc_base, nodes, fixed, port_cves, local }
    }

    /// Node of a device privilege.
    pub(crate) fn dev_node(&self, d: u32, p: NetPriv) -> u32 {
        self.dev_base + 3 * d + np(p)
    }

    /// Entry nodes of an attacker.
    pub(crate) fn entries(&self, a: &AttackerProfile) -> Vec<u32> {
        let mut v: Vec<u32> =
            a.entries.iter().map(|e| if *e == Entry::External { EXTERNAL } else { INTERNAL }).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The full graph for one attacker profile.
    pub(crate) fn graph(&self, a: &AttackerProfile) -> Graph {
        let vulns = &self.inp.vulnerabilities.vulnerabilities;
        let rates: Vec<(AttackVector, f64)> = vulns.iter().map(|v| cve_rate(v, a)).collect();
        let mut edges = self.fixed.clone();
        // best rate per port: [remote (network) | adjacent][post], and local ones as local edges.
        let mut best = vec![[[0f64; 3]; 2]; self.port_cves.len()];
        for (gp, cves) in self.port_cves.iter().enumerate() {
            for &ci in cves {
                let (Some(&(vector, rate)), Some(v)) = (rates.get(ci), vulns.get(ci)) else { continue };
                let post = np(v.post) as usize;
                match vector {
                    AttackVector::Network => best[gp][0][post] = best[gp][0][post].max(rate),
                    AttackVector::Adjacent => best[gp][1][post] = best[gp][1][post].max(rate),
                    AttackVector::Local | AttackVector::Physical => {
                        let d = self.reach.ports[gp].0;
                        let pre = if vector == AttackVector::Physical { NetPriv::None } else { v.pre };
                        if let Some(c) = step_cost(rate) {
                            edges.push((self.dev_node(d, pre), self.dev_node(d, v.post), c));
                        }
                    }
                }
            }
        }
        for &(d, ci) in &self.local {
            let (Some(&(vector, rate)), Some(v)) = (rates.get(ci), vulns.get(ci)) else { continue };
            let pre = if vector == AttackVector::Physical { NetPriv::None } else { v.pre };
            if let Some(c) = step_cost(rate) {
                edges.push((self.dev_node(d, pre), self.dev_node(d, v.post), c));
            }
        }
        for (g, grp) in self.reach.groups.iter().enumerate() {
            let hub = self.group_base + g as u32;
            for t in &grp.targets {
                let Some(b) = best.get(t.port as usize) else { continue };
                let same_lan = grp.lan == Some(t.lan);
                for (post, (&net, &adj)) in b[0].iter().zip(&b[1]).enumerate() {
                    let rate = if same_lan { net.max(adj) } else { net };
                    if let Some(c) = step_cost(rate) {
                        edges.push((hub, self.dev_base + 3 * t.device + post as u32, c));
                    }
                }
            }
        }
        Graph::from_edges(self.nodes as usize, &edges)
    }

    /// Human-readable label of a node; hubs give `None`.
    pub(crate) fn label(&self, n: u32) -> Option<String> {
        const NP: [&str; 3] = ["none", "user", "root"];
        const HP: [&str; 3] = ["execute", "use", "own"];
        if n == EXTERNAL {
            return Some("external".into());
        }
        if n == INTERNAL {
            return Some("internal".into());
        }
        if n < self.emp_base {
            let d = (n - self.dev_base) / 3;
            let dev = self.inp.devices.devices.get(d as usize)?;
            return Some(format!("{}@{}", NP[((n - self.dev_base) % 3) as usize], dev.id));
        }
        if n < self.cred_base {
            let e = (n - self.emp_base) / 3;
            let emp = self.inp.employees.employees.get(e as usize)?;
            return Some(format!("{}@{}", HP[((n - self.emp_base) % 3) as usize], emp.id));
        }
        if n < self.group_base {
            let c = self.inp.credentials.credentials.get((n - self.cred_base) as usize)?;
            return Some(format!("credential:{}", c.id));
        }
        None
    }
}
