//! Reachability from routing and firewall rules.
//!
//! Model (deliberately simple, one firewall joining all LANs):
//! - interfaces on the same LAN reach every open port of each other, without the firewall;
//! - from LAN A to an interface on LAN B != A, traffic is forwarded only if a route of A's routing table
//!   (routes with `lan == A`) covers B's whole subnet; it then goes through the firewall chain: rules in
//!   increasing `index`, the first rule matching (ingress LAN, egress LAN, source address, destination
//!   address, protocol, destination port) decides; no match gives `default_action`;
//! - the pseudo-LAN `internet` is a source only: its traffic matches a rule's source only if the rule's
//!   source prefix is 0 (the internet is every address outside the LANs);
//! - only `open` ports are reachable.
//!
//! Efficiency: sources are grouped by (LAN, signature), where the signature is the set of rules whose source
//! network lies strictly inside the LAN and contains the source address. Every member of a group reaches the
//! same targets, so the decision is made per (group, destination port) with the rules pre-filtered per LAN
//! pair: O(groups x ports x rules) instead of O(devices x ports x rules). The attack graph then uses one hub
//! node per group instead of device-to-device edges.

use std::collections::BTreeMap;

use crate::Inputs;
use crate::input::{Action, PortState, Protocol, Transport};
use crate::{mask_of, parse_ip};

/// The reserved id of the outside world.
pub const INTERNET: &str = "internet";

/// A reachable port: device index, LAN index of the interface, global port index (see [`Reachability::ports`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRef {
    /// Device index in `inputs.devices.devices`.
    pub device: u32,
    /// LAN index (in `inputs.network.lans`) of the interface holding the port.
    pub lan: u32,
    /// Index in [`Reachability::ports`].
    pub port: u32,
}

/// Sources that reach the same targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGroup {
    /// LAN index, `None` for the internet.
    pub lan: Option<u32>,
    /// Member devices (sorted, unique).
    pub members: Vec<u32>,
    /// What the group reaches.
    pub targets: Vec<PortRef>,
}

/// Result of the reachability analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reachability {
    /// Every port: (device, interface, port) indices.
    pub ports: Vec<(u32, u32, u32)>,
    /// The source groups; the internet group, always present, is the last.
    pub groups: Vec<SourceGroup>,
}

/// An interface on a LAN: device, address, open ports as (global port index, number, transport).
type LanIface = (u32, u32, Vec<(u32, u16, Transport)>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Cover {
    Full,
    Partial,
    Disjoint,
}

struct Rule {
    action: Action,
    src: u32,
    smask: u32,
    sprefix: u8,
    dst: u32,
    dmask: u32,
    ports: (u16, u16),
    proto: Protocol,
    in_lan: Option<Option<u32>>,
    out_lan: Option<Option<u32>>,
}

fn lan_ref(id: &Option<String>, lans: &BTreeMap<&str, u32>) -> Option<Option<u32>> {
    id.as_ref().map(|s| if s == INTERNET { None } else { Some(lans.get(s.as_str()).copied().unwrap_or(u32::MAX)) })
}

impl Reachability {
    /// Computes reachability for validated inputs (unparsable addresses count as 0.0.0.0).
    pub fn compute(inp: &Inputs) -> Self {
        let net = &inp.network;
        let lan_ix: BTreeMap<&str, u32> = net.lans.iter().enumerate().map(|(i, l)| (l.id.as_str(), i as u32)).collect();
        let lans: Vec<(u32, u8)> =
            net.lans.iter().map(|l| (parse_ip(&l.subnet).unwrap_or(0), l.mask.min(32))).collect();
        let mut rules: Vec<(u32, Rule)> = net
            .firewall
            .rules
            .iter()
            .map(|r| {
                let sprefix = r.source_mask.min(32);
                let dm = mask_of(r.destination_mask);
                let sm = mask_of(sprefix);
                (
                    r.index,
                    Rule {
                        action: r.action,
                        src: parse_ip(&r.source).unwrap_or(0) & sm,
                        smask: sm,
                        sprefix,
                        dst: parse_ip(&r.destination).unwrap_or(0) & dm,
                        dmask: dm,
                        ports: r.ports.map_or((0, u16::MAX), |p| (p.from, p.to)),
                        proto: r.protocol,
                        in_lan: lan_ref(&r.in_interface, &lan_ix),
                        out_lan: lan_ref(&r.out_interface, &lan_ix),
                    },
                )
            })
            .collect();
        rules.sort_by_key(|r| r.0);
        let rules: Vec<Rule> = rules.into_iter().map(|r| r.1).collect();

        // Ports and interfaces per LAN.
        let mut ports = Vec::new();
        // per LAN: (device, ip, [(global port, number, transport)])
        let mut by_lan: Vec<Vec<LanIface>> = vec![Vec::new(); lans.len()];
        // source interfaces: (lan, device, ip)
        let mut sources: Vec<(u32, u32, u32)> = Vec::new();
        for (d, dev) in inp.devices.devices.iter().enumerate() {
            for (i, itf) in dev.interfaces.iter().enumerate() {
                let Some(&l) = lan_ix.get(itf.lan.as_str()) else { continue };
                let ip = parse_ip(&itf.ip).unwrap_or(0);
                let mut open = Vec::new();
                for (k, p) in itf.ports.iter().enumerate() {
                    if p.state == PortState::Open {
                        open.push((ports.len() as u32, p.number, p.transport));
                    }
                    ports.push((d as u32, i as u32, k as u32));
                }
                by_lan[l as usize].push((d as u32, ip, open));
                sources.push((l, d as u32, ip));
            }
        }
        let routed = |a: Option<u32>, b: u32| -> bool {
            let (bnet, bpre) = lans[b as usize];
            net.routes.iter().any(|r| {
                let from = if r.lan == INTERNET { None } else { lan_ix.get(r.lan.as_str()).copied() };
                let m = mask_of(r.mask);
                from == a && r.mask <= bpre && (bnet & m) == (parse_ip(&r.destination).unwrap_or(0) & m)
            })
        };
        let cover = |rule: &Rule, lan: Option<u32>| -> Cover {
            let Some(l) = lan else { return if rule.sprefix == 0 { Cover::Full } else { Cover::Disjoint } };
            let (lnet, lpre) = lans[l as usize];
            if rule.sprefix <= lpre {
                if lnet & rule.smask == rule.src { Cover::Full } else { Cover::Disjoint }
            } else if rule.src & mask_of(lpre) == lnet & mask_of(lpre) {
                Cover::Partial
            } else {
                Cover::Disjoint
            }
        };
        // Group sources by (lan, signature).
        let mut keys: BTreeMap<(u32, Vec<u32>), Vec<u32>> = BTreeMap::new();
        for &(l, d, ip) in &sources {
            let sig: Vec<u32> = rules
                .iter()
                .enumerate()
                .filter(|(_, r)| cover(r, Some(l)) == Cover::Partial && ip & r.smask == r.src)
                .map(|(i, _)| i as u32)
                .collect();
            keys.entry((l, sig)).or_default().push(d);
        }
        let mut groups: Vec<(Option<u32>, Vec<u32>, Vec<u32>)> = keys
            .into_iter()
            .map(|((l, sig), mut m)| {
                m.sort_unstable();
                m.dedup();
                (Some(l), sig, m)
            })
            .collect();
        groups.push((None, Vec::new(), Vec::new()));
        let default_allow = net.firewall.default_action == Action::Allow;
        let groups = groups
            .into_iter()
            .map(|(src_lan, sig, members)| {
                let mut targets = Vec::new();
                for (b, ifaces) in by_lan.iter().enumerate() {
                    let b = b as u32;
                    if src_lan == Some(b) {
                        for (d, _, open) in ifaces {
                            targets.extend(open.iter().map(|&(p, _, _)| PortRef { device: *d, lan: b, port: p }));
                        }
                        continue;
                    }
                    if !routed(src_lan, b) {
                        continue;
                    }
                    let (bnet, bpre) = lans[b as usize];
                    let cand: Vec<&Rule> = rules
                        .iter()
                        .enumerate()
                        .filter(|(i, r)| {
                            r.in_lan.is_none_or(|x| x == src_lan)
                                && r.out_lan.is_none_or(|x| x == Some(b))
                                && match cover(r, src_lan) {
                                    Cover::Full => true,
                                    Cover::Partial => sig.contains(&(*i as u32)),
                                    Cover::Disjoint => false,
                                }
                                && {
                                    let m = r.dmask & mask_of(bpre);
                                    r.dst & m == bnet & m
                                }
                        })
                        .map(|(_, r)| r)
                        .collect();
                    for (d, ip, open) in ifaces {
                        for &(p, number, transport) in open {
                            let hit = cand.iter().find(|r| {
                                ip & r.dmask == r.dst
                                    && (r.ports.0..=r.ports.1).contains(&number)
                                    && match r.proto {
                                        Protocol::Any => true,
                                        Protocol::Tcp => transport == Transport::Tcp,
                                        Protocol::Udp => transport == Transport::Udp,
                                    }
                            });
                            let allow = hit.map_or(default_allow, |r| r.action == Action::Allow);
                            if allow {
                                targets.push(PortRef { device: *d, lan: b, port: p });
                            }
                        }
                    }
                }
                SourceGroup { lan: src_lan, members, targets }
            })
            .collect();
        Self { ports, groups }
    }

    /// The port behind a global port index, looked up in `inp` (the inputs the reachability was computed on).
    pub fn port<'a>(&self, inp: &'a Inputs, index: u32) -> Option<&'a crate::input::Port> {
        let &(d, i, k) = self.ports.get(index as usize)?;
        inp.devices.devices.get(d as usize)?.interfaces.get(i as usize)?.ports.get(k as usize)
    }

    /// Whether device `src` reaches device `dst` on some open port numbered `number` with `transport`.
    pub fn reaches(&self, inp: &Inputs, src: usize, dst: usize, number: u16, transport: Transport) -> bool {
        self.groups.iter().filter(|g| g.members.binary_search(&(src as u32)).is_ok()).any(|g| {
            g.targets.iter().any(|t| {
                t.device as usize == dst
                    && self.port(inp, t.port).is_some_and(|p| p.number == number && p.transport == transport)
            })
        })
    }

    /// Whether the internet reaches device `dst` on an open port numbered `number`.
    pub fn internet_reaches(&self, inp: &Inputs, dst: usize, number: u16) -> bool {
        self.groups.iter().filter(|g| g.lan.is_none()).any(|g| {
            g.targets
                .iter()
                .any(|t| t.device as usize == dst && self.port(inp, t.port).is_some_and(|p| p.number == number))
        })
    }
}
