//! The assessment: risk table, devices at high risk, top-k attack paths.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Inputs;
use crate::error::RiskError;
use crate::graph::Model;
use crate::impact::Dependencies;
use crate::input::{AttackerKind, AttackerProfile, Level, NetPriv};
use crate::likelihood::{likelihood, to_milli};

/// Number of attack paths kept per service level.
pub(crate) const TOP_K: usize = 3;

/// One row of the risk table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RiskRow {
    /// Service level id.
    pub service_level: String,
    /// Attacker profile.
    pub attacker: AttackerKind,
    /// Likelihood in thousandths (0..=100_000).
    pub likelihood_milli: u32,
    /// Likelihood level (configured likelihood thresholds, in thousandths).
    pub likelihood_level: Level,
    /// Impact: the sum of the whole tokens reaching the service level.
    pub impact: u64,
    /// Impact level (configured impact thresholds).
    pub impact_level: Level,
    /// Risk level: from the product of the ranks (NONE 0 .. HIGH 3) of impact and likelihood levels:
    /// >= 6 HIGH, >= 3 MEDIUM, >= 1 LOW, 0 NONE.
    pub risk_level: Level,
    /// The device whose compromise sets the likelihood, if any.
    pub critical_device: Option<String>,
}

/// An attack path (hub nodes left out).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AttackPath {
    /// `M = Σ 1/λ` in millionths.
    pub cost_micro: u64,
    /// Likelihood in thousandths.
    pub likelihood_milli: u32,
    /// Nodes: `external`, `internal`, `user@dev`, `own@emp`, `credential:id` ...
    pub nodes: Vec<String>,
}

/// The best paths towards one service level's critical device.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServicePaths {
    /// Service level id.
    pub service_level: String,
    /// Attacker profile the paths are for (the most capable one configured).
    pub attacker: AttackerKind,
    /// Target device.
    pub device: String,
    /// Up to [`TOP_K`] paths, best first.
    pub paths: Vec<AttackPath>,
}

/// The result of [`assess`]: integers and strings only, deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// Rows sorted by (service level, attacker).
    pub risk: Vec<RiskRow>,
    /// Devices (sorted ids) whose USER node (so USER or ROOT, ROOT implying USER) is reached with a
    /// likelihood at or above the HIGH likelihood threshold by the PROFESSIONAL attacker (or the most capable
    /// profile configured when PROFESSIONAL is absent).
    pub high_risk_devices: Vec<String>,
    /// Top-k paths per service level with a critical device, sorted by service level.
    pub paths: Vec<ServicePaths>,
}

impl Assessment {
    /// Canonical JSON: object keys sorted, no whitespace, integers and strings only.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Going through Value sorts the keys (serde_json's map is ordered by key).
        serde_json::to_value(self).and_then(|v| serde_json::to_vec(&v)).unwrap_or_default()
    }

    /// SHA-256 of [`Self::canonical_json`], lowercase hex.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json()))
    }
}

/// Levels a risk from impact and likelihood levels (see [`RiskRow::risk_level`]).
pub(crate) fn risk_level(impact: Level, likelihood: Level) -> Level {
    match impact.rank() * likelihood.rank() {
        0 => Level::None,
        1..=2 => Level::Low,
        3..=5 => Level::Medium,
        _ => Level::High,
    }
}

/// A copy of the inputs with every list sorted by its key, so that the assessment does not depend on the
/// order of the documents' lists (dependency trees keep their order: it does not change the result).
pub(crate) fn canonical(inp: &Inputs) -> Inputs {
    let mut c = inp.clone();
    let sort_str = |v: &mut Vec<String>| {
        v.sort();
        v.dedup();
    };
    c.devices.devices.sort_by(|a, b| a.id.cmp(&b.id));
    for d in &mut c.devices.devices {
        d.interfaces.sort_by(|a, b| (&a.lan, &a.ip, &a.name).cmp(&(&b.lan, &b.ip, &b.name)));
        for i in &mut d.interfaces {
            i.ports.sort_by_key(|p| (p.number, p.transport));
            for p in &mut i.ports {
                if let Some(s) = &mut p.service {
                    sort_str(&mut s.cves);
                }
            }
        }
        if let Some(os) = &mut d.os {
            sort_str(&mut os.cves);
            os.local_services.sort_by(|a, b| a.name.cmp(&b.name));
            for s in &mut os.local_services {
                sort_str(&mut s.cves);
            }
        }
    }
    c.vulnerabilities.vulnerabilities.sort_by(|a, b| a.id.cmp(&b.id));
    c.network.lans.sort_by(|a, b| a.id.cmp(&b.id));
    c.network.routes.sort_by(|a, b| {
        (&a.lan, &a.destination, a.mask, a.metric, &a.gateway, &a.interface).cmp(&(
            &b.lan,
            &b.destination,
            b.mask,
            b.metric,
            &b.gateway,
            &b.interface,
        ))
    });
    c.network.firewall.rules.sort_by_key(|r| r.index);
    c.employees.employees.sort_by(|a, b| a.id.cmp(&b.id));
    for e in &mut c.employees.employees {
        e.locations.sort();
        e.locations.dedup();
    }
    c.relations
        .relations
        .sort_by(|a, b| (&a.source, &a.target, &a.relation_type).cmp(&(&b.source, &b.target, &b.relation_type)));
    c.profiles.profiles.sort_by(|a, b| a.employee.cmp(&b.employee));
    c.human_vulnerabilities.vulnerabilities.sort_by(|a, b| a.id.cmp(&b.id));
    c.credentials.credentials.sort_by(|a, b| a.id.cmp(&b.id));
    for cr in &mut c.credentials.credentials {
        cr.destinations.sort_by(|a, b| (&a.device, a.privilege, &a.service).cmp(&(&b.device, b.privilege, &b.service)));
    }
    c.business.entities.sort_by(|a, b| a.id.cmp(&b.id));
    c.business.service_levels.sort_by(|a, b| a.id.cmp(&b.id));
    c.business.mappings.sort_by(|a, b| a.service_level.cmp(&b.service_level));
    for m in &mut c.business.mappings {
        sort_str(&mut m.devices);
    }
    c.config.attackers.sort_by_key(|a| a.kind);
    c
}

/// Per-attacker results shared by [`assess`] and the what-if analysis.
pub(crate) struct Run {
    pub device_milli: Vec<u32>,
    pub service: Vec<(u32, Option<u32>)>,
}

pub(crate) fn run_profile(
    model: &Model<'_>,
    deps: &Dependencies,
    a: &AttackerProfile,
) -> (Run, crate::likelihood::Graph) {
    let inp = model.inp;
    let g = model.graph(a);
    let sp = g.shortest(&model.entries(a));
    let nd = inp.devices.devices.len() as u32;
    let device_milli: Vec<u32> = (0..nd)
        .map(|d| {
            to_milli(likelihood(
                sp.cost.get(model.dev_node(d, NetPriv::User) as usize).copied().unwrap_or(f64::INFINITY),
            ))
        })
        .collect();
    let dev_ix: BTreeMap<&str, u32> =
        inp.devices.devices.iter().enumerate().map(|(i, d)| (d.id.as_str(), i as u32)).collect();
    let sl_ix: BTreeMap<&str, usize> =
        inp.business.service_levels.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut base: Vec<(u32, Option<u32>)> = vec![(0, None); sl_ix.len()];
    for m in &inp.business.mappings {
        let Some(&s) = sl_ix.get(m.service_level.as_str()) else { continue };
        for dev in &m.devices {
            if let Some(&d) = dev_ix.get(dev.as_str()) {
                let v = (device_milli.get(d as usize).copied().unwrap_or(0), Some(d));
                if v.0 == 0 {
                    continue;
                }
                let cur = base[s];
                if v.0 > cur.0 || (v.0 == cur.0 && (cur.1.is_none() || v.1 < cur.1)) {
                    base[s] = v;
                }
            }
        }
    }
    let service = deps.likelihoods(&base);
    (Run { device_milli, service }, g)
}

/// Assesses the inputs: validates them, builds the graphs and computes the risk table, the devices at high
/// risk and the top-k paths. The result does not depend on the order of the inputs' lists.
pub fn assess(inputs: &Inputs) -> Result<Assessment, RiskError> {
    inputs.validate()?;
    let inp = canonical(inputs);
    let model = Model::build(&inp);
    let deps = Dependencies::new(&inp.business);
    let impacts = deps.impacts(&inp.business.service_levels.iter().map(|s| s.impact).collect::<Vec<_>>());
    let cfg = &inp.config;
    let mut risk = Vec::new();
    let mut high_risk_devices = Vec::new();
    let mut paths = Vec::new();
    let top = cfg.attackers.iter().find(|a| a.kind == AttackerKind::Professional).or(cfg.attackers.last());
    for a in &cfg.attackers {
        let (run, g) = run_profile(&model, &deps, a);
        for (s, sl) in inp.business.service_levels.iter().enumerate() {
            let (l, crit) = run.service.get(s).copied().unwrap_or((0, None));
            let ll = cfg.likelihood_thresholds.level(u64::from(l));
            let imp = impacts.get(s).copied().unwrap_or(0);
            let il = cfg.impact_thresholds.level(imp);
            risk.push(RiskRow {
                service_level: sl.id.clone(),
                attacker: a.kind,
                likelihood_milli: l,
                likelihood_level: ll,
                impact: imp,
                impact_level: il,
                risk_level: risk_level(il, ll),
                critical_device: crit.and_then(|d| inp.devices.devices.get(d as usize)).map(|d| d.id.clone()),
            });
        }
        if top.is_some_and(|t| t.kind == a.kind) {
            for (d, &m) in run.device_milli.iter().enumerate() {
                if u64::from(m) >= cfg.likelihood_thresholds.high
                    && let Some(dev) = inp.devices.devices.get(d)
                {
                    high_risk_devices.push(dev.id.clone());
                }
            }
            let entries = model.entries(a);
            let mut cache: BTreeMap<u32, Vec<AttackPath>> = BTreeMap::new();
            for (s, sl) in inp.business.service_levels.iter().enumerate() {
                let Some((l, Some(d))) = run.service.get(s).copied() else { continue };
                if l == 0 {
                    continue;
                }
                let found = cache.entry(d).or_insert_with(|| {
                    let targets = [model.dev_node(d, NetPriv::User), model.dev_node(d, NetPriv::Root)];
                    let mut out: Vec<AttackPath> = Vec::new();
                    for (cost, nodes) in g.k_shortest(&entries, &targets, TOP_K) {
                        let nodes: Vec<String> = nodes.iter().filter_map(|&n| model.label(n)).collect();
                        if out.iter().any(|p| p.nodes == nodes) {
                            continue;
                        }
                        out.push(AttackPath {
                            cost_micro: (cost * 1e6).round().clamp(0.0, 1e18) as u64,
                            likelihood_milli: to_milli(likelihood(cost)),
                            nodes,
                        });
                    }
                    out
                });
                if let Some(dev) = inp.devices.devices.get(d as usize) {
                    paths.push(ServicePaths {
                        service_level: sl.id.clone(),
                        attacker: a.kind,
                        device: dev.id.clone(),
                        paths: found.clone(),
                    });
                }
            }
        }
    }
    risk.sort();
    high_risk_devices.sort();
    paths.sort();
    Ok(Assessment { risk, high_risk_devices, paths })
}
