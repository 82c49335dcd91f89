//! Unexpected connections as edges of the attack graph.
//!
//! A gateway reports on chain a connection that no rule allowed
//! (`connection::ConnectionCall::ReportUnexpected`). Such a connection happened: the
//! source reached the destination whatever the firewall document says. For an
//! organisation's assessment, every report involving it before a cutoff in the audit log
//! whose source and destination are both mapped in `identities.json` becomes an allow rule
//! at the head of the firewall chain, from each of the source's addresses to each of the
//! destination's, on any port: a new edge in the attack graph. The assessment names the
//! cutoff (`RiskCall::Submit::observed_until`), so an attesting worker uses the same
//! reports.

use std::collections::BTreeMap;

use panacea_contracts::audit::{AuditEvent, AuditFilter, AuditKind};
use panacea_contracts::ids::{IdentityId, OrgId};
use panacea_contracts::state::{StateError, Store};
use panacea_risk::{Action, DevicesDoc, FirewallRule, NetworkPolicy, Protocol};

/// Reports read per assessment (the newest beyond are left for the next).
pub const REPORTS_MAX: usize = 10_000;
/// Edges added to one assessment's firewall.
pub const EDGES_MAX: usize = 1_024;

/// One observed path, as inventory device ids: source, destination.
pub type Edge = (String, String);

/// The source and destination identities of an unexpected-connection report.
pub fn edge_of(event: &AuditEvent) -> Option<(IdentityId, IdentityId)> {
    if event.kind != AuditKind::UnexpectedConnection {
        return None;
    }
    // The agents are the reporting gateway, the destination, then the source.
    let source = event.entity.identity?;
    let destination = event.agents.get(1)?.identity?;
    Some((source, destination))
}

/// The reports' identity pairs as inventory device ids (both ends mapped), sorted, once.
pub fn edges(pairs: &[(IdentityId, IdentityId)], identities: &BTreeMap<String, IdentityId>) -> Vec<Edge> {
    let device_of: BTreeMap<&IdentityId, &String> = identities.iter().map(|(device, id)| (id, device)).collect();
    let mut out: Vec<Edge> = pairs
        .iter()
        .filter_map(|(s, d)| Some(((*device_of.get(s)?).clone(), (*device_of.get(d)?).clone())))
        .filter(|(s, d)| s != d)
        .collect();
    out.sort();
    out.dedup();
    out.truncate(EDGES_MAX);
    out
}

/// The unexpected-connection reports involving `org` before audit position `until` (all
/// of them when `None`), from committed state; and the position after the last one read
/// (what an assessment names as its cutoff; 0 when there is none).
pub fn reports<S: Store + ?Sized>(
    store: &S,
    org: &OrgId,
    until: Option<u64>,
) -> Result<(Vec<(IdentityId, IdentityId)>, u64), StateError> {
    let filter =
        AuditFilter { org: Some(org.clone()), kind: Some(AuditKind::UnexpectedConnection), ..Default::default() };
    let mut out = Vec::new();
    let mut cutoff = 0;
    let mut after = None;
    'pages: loop {
        let page = panacea_contracts::audit::events(store, &filter, after, 500)?;
        for event in &page.events {
            if until.is_some_and(|u| event.seq >= u) || out.len() >= REPORTS_MAX {
                break 'pages;
            }
            cutoff = event.seq.saturating_add(1);
            out.extend(edge_of(event));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok((out, until.unwrap_or(cutoff)))
}

/// Puts an allow rule for each edge at the head of `network`'s firewall, from every
/// address of the source device to every address of the destination device on another
/// LAN (a connection within a LAN never crosses the firewall). Returns how many rules it
/// added.
pub fn add_edges(network: &mut NetworkPolicy, devices: &DevicesDoc, edges: &[Edge]) -> usize {
    let by_id: BTreeMap<&str, &panacea_risk::Device> = devices.devices.iter().map(|d| (d.id.as_str(), d)).collect();
    let mut rules = Vec::new();
    for (source, destination) in edges {
        let (Some(from), Some(to)) = (by_id.get(source.as_str()), by_id.get(destination.as_str())) else { continue };
        for a in &from.interfaces {
            for b in to.interfaces.iter().filter(|b| b.lan != a.lan) {
                rules.push(FirewallRule {
                    index: 0,
                    action: Action::Allow,
                    source: a.ip.clone(),
                    source_mask: 32,
                    destination: b.ip.clone(),
                    destination_mask: 32,
                    ports: None,
                    protocol: Protocol::Any,
                    in_interface: Some(a.lan.clone()),
                    out_interface: Some(b.lan.clone()),
                });
            }
        }
    }
    rules.truncate(EDGES_MAX);
    let added = u32::try_from(rules.len()).unwrap_or(u32::MAX);
    if added == 0 {
        return 0;
    }
    for rule in &mut network.firewall.rules {
        rule.index = rule.index.saturating_add(added);
    }
    for (index, mut rule) in (0..added).zip(rules) {
        rule.index = index;
        network
            .firewall
            .rules
            .insert(usize::try_from(index).unwrap_or(usize::MAX).min(network.firewall.rules.len()), rule);
    }
    usize::try_from(added).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use panacea_primitives::Hash;

    use super::*;

    #[test]
    fn an_observed_connection_opens_the_firewall_between_its_devices() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/sample-hospital/hospital-a");
        let devices: DevicesDoc = serde_json::from_slice(&std::fs::read(sample.join("devices.json")).unwrap()).unwrap();
        let mut network: NetworkPolicy =
            serde_json::from_slice(&std::fs::read(sample.join("network.json")).unwrap()).unwrap();
        let before = network.firewall.rules.clone();
        // Two devices on different LANs.
        let a = &devices.devices[0];
        let b = devices.devices.iter().find(|d| d.interfaces[0].lan != a.interfaces[0].lan).unwrap();
        let (ida, idb) = (IdentityId(Hash([1; 32])), IdentityId(Hash([2; 32])));
        let map = BTreeMap::from([(a.id.clone(), ida), (b.id.clone(), idb)]);
        let unmapped = IdentityId(Hash([3; 32]));
        let found = edges(&[(ida, idb), (ida, idb), (ida, unmapped)], &map);
        assert_eq!(found, vec![(a.id.clone(), b.id.clone())], "mapped pairs only, once");
        let added = add_edges(&mut network, &devices, &found);
        assert!(added >= 1);
        let first = &network.firewall.rules[0];
        assert_eq!(
            (first.index, first.action, &first.source, first.ports),
            (0, Action::Allow, &a.interfaces[0].ip, None)
        );
        // The existing chain keeps its order behind the new rules.
        let shifted: Vec<u32> = network.firewall.rules[added..].iter().map(|r| r.index).collect();
        let expected: Vec<u32> = before.iter().map(|r| r.index + u32::try_from(added).unwrap()).collect();
        assert_eq!(shifted, expected);
    }
}
