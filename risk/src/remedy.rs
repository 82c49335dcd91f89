//! Remediation what-if: try single changes and rank them by the new likelihood of a service level.
//!
//! Candidates (bounded by [`MAX_CANDIDATES`] in all, in this order):
//! - fixing one CVE everywhere: the CVEs of the devices on the attacker's best path to the service level's
//!   critical device;
//! - removing one `allow` firewall rule (in index order);
//! - adding one `deny` rule in front of the chain (every existing index shifted by one) for each LAN
//!   crossing of the best path: from the crossing's source LAN (or the internet) to the reached interface.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Inputs;
use crate::assess::{canonical, risk_level, run_profile};
use crate::error::RiskError;
use crate::graph::Model;
use crate::impact::Dependencies;
use crate::input::{Action, AttackerKind, FirewallRule, Level, NetPriv, Protocol};
use crate::reach::INTERNET;

/// Most candidates tried by [`what_if`].
pub(crate) const MAX_CANDIDATES: usize = 48;

/// A single change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemedyKind {
    /// Remove this CVE from every device.
    FixCve(String),
    /// Remove the firewall rule with this index.
    RemoveRule(u32),
    /// Put this rule first in the chain.
    AddDenyRule(FirewallRule),
}

/// A change and its effect on the chosen service level and attacker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remedy {
    /// The change.
    pub kind: RemedyKind,
    /// Likelihood before, in thousandths.
    pub before_milli: u32,
    /// Likelihood after, in thousandths.
    pub likelihood_milli: u32,
    /// Risk level after.
    pub risk_level: Level,
}

fn apply(inp: &Inputs, kind: &RemedyKind) -> Inputs {
    let mut c = inp.clone();
    match kind {
        RemedyKind::FixCve(id) => {
            for d in &mut c.devices.devices {
                for i in &mut d.interfaces {
                    for p in &mut i.ports {
                        if let Some(s) = &mut p.service {
                            s.cves.retain(|x| x != id);
                        }
                    }
                }
                if let Some(os) = &mut d.os {
                    os.cves.retain(|x| x != id);
                    for s in &mut os.local_services {
                        s.cves.retain(|x| x != id);
                    }
                }
            }
        }
        RemedyKind::RemoveRule(ix) => c.network.firewall.rules.retain(|r| r.index != *ix),
        RemedyKind::AddDenyRule(rule) => {
            for r in &mut c.network.firewall.rules {
                r.index = r.index.saturating_add(1);
            }
            c.network.firewall.rules.insert(0, rule.clone());
        }
    }
    c
}

/// Tries each candidate change (see the module docs) for `service_level` against `attacker` and returns the
/// `max` best, lowest new likelihood first (ties: candidate order).
pub fn what_if(
    inputs: &Inputs,
    service_level: &str,
    attacker: AttackerKind,
    max: usize,
) -> Result<Vec<Remedy>, RiskError> {
    inputs.validate()?;
    let inp = canonical(inputs);
    let unknown_sl = || RiskError::Unknown { kind: "service level", id: service_level.to_owned() };
    let s = inp.business.service_levels.iter().position(|x| x.id == service_level).ok_or_else(unknown_sl)?;
    let a = inp
        .config
        .attackers
        .iter()
        .find(|x| x.kind == attacker)
        .ok_or_else(|| RiskError::Unknown { kind: "attacker", id: format!("{attacker:?}") })?;
    let deps = Dependencies::new(&inp.business);
    let impacts = deps.impacts(&inp.business.service_levels.iter().map(|x| x.impact).collect::<Vec<_>>());
    let il = inp.config.impact_thresholds.level(impacts.get(s).copied().unwrap_or(0));
    let model = Model::build(&inp);
    let (run, g) = run_profile(&model, &deps, a);
    let (before, crit) = run.service.get(s).copied().unwrap_or((0, None));
    let mut cands: Vec<RemedyKind> = Vec::new();
    if let Some(d) = crit {
        let sp = g.shortest(&model.entries(a));
        let u = model.dev_node(d, NetPriv::User);
        let path = sp.path_to(u);
        let mut cves = BTreeSet::new();
        for &n in &path {
            if n >= model.dev_base && n < model.emp_base {
                let dev = &inp.devices.devices[((n - model.dev_base) / 3) as usize];
                for i in &dev.interfaces {
                    for p in &i.ports {
                        if let Some(sv) = &p.service {
                            cves.extend(sv.cves.iter().cloned());
                        }
                    }
                }
                if let Some(os) = &dev.os {
                    cves.extend(os.cves.iter().cloned());
                    cves.extend(os.local_services.iter().flat_map(|x| x.cves.iter().cloned()));
                }
            }
        }
        cands.extend(cves.into_iter().map(RemedyKind::FixCve));
        for r in &inp.network.firewall.rules {
            if r.action == Action::Allow {
                cands.push(RemedyKind::RemoveRule(r.index));
            }
        }
        for w in path.windows(2) {
            let (h, v) = (w[0], w[1]);
            if h < model.group_base || h >= model.loc_base || v < model.dev_base || v >= model.emp_base {
                continue;
            }
            let Some(grp) = model.reach.groups.get((h - model.group_base) as usize) else { continue };
            let dev = &inp.devices.devices[((v - model.dev_base) / 3) as usize];
            let (src_id, src, smask) = match grp.lan.and_then(|l| inp.network.lans.get(l as usize)) {
                Some(l) => (l.id.clone(), l.subnet.clone(), l.mask),
                None => (INTERNET.to_owned(), "0.0.0.0".to_owned(), 0),
            };
            for itf in &dev.interfaces {
                if itf.lan == src_id {
                    continue;
                }
                cands.push(RemedyKind::AddDenyRule(FirewallRule {
                    index: 0,
                    action: Action::Deny,
                    source: src.clone(),
                    source_mask: smask,
                    destination: itf.ip.clone(),
                    destination_mask: 32,
                    ports: None,
                    protocol: Protocol::Any,
                    in_interface: Some(src_id.clone()),
                    out_interface: Some(itf.lan.clone()),
                }));
            }
        }
    }
    cands.truncate(MAX_CANDIDATES);
    let mut out: Vec<(u32, usize, Remedy)> = Vec::new();
    for (i, kind) in cands.into_iter().enumerate() {
        let changed = apply(&inp, &kind);
        let m = Model::build(&changed);
        let (r, _) = run_profile(&m, &deps, a);
        let l = r.service.get(s).map_or(0, |x| x.0);
        let ll = inp.config.likelihood_thresholds.level(u64::from(l));
        out.push((l, i, Remedy { kind, before_milli: before, likelihood_milli: l, risk_level: risk_level(il, ll) }));
    }
    out.sort_by_key(|x| (x.0, x.1));
    Ok(out.into_iter().take(max).map(|x| x.2).collect())
}
