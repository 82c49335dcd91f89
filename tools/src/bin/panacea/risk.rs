//! `panacea risk assess | submit | attest | show`: printing an organisation's assessment.
//! The folder is read and assessed by `panacea_node::workers::risk::inventory`, the same
//! code the node's risk worker runs.

use panacea_node::workers::risk::inventory::Assessed;

use crate::output::{Failure, print_json, say};

/// `panacea risk assess DIR`: the table, the high-risk devices and the top paths.
pub(crate) fn print_assessment(assessed: &Assessed, json: bool) -> Result<u8, Failure> {
    let a = &assessed.assessment;
    if json {
        print_json(&serde_json::json!({ "output": a.hash(), "assessment": a }))?;
        return Ok(0);
    }
    say!("output {}", a.hash());
    say!("{:<40} {:<13} {:>10} {:>8} {:>7}", "service level", "attacker", "likelihood", "impact", "risk");
    for row in &a.risk {
        let likelihood = f64::from(row.likelihood_milli) / 1_000.0;
        say!(
            "{:<40} {:<13} {:>10.3} {:>8} {:>7}",
            row.service_level,
            format!("{:?}", row.attacker),
            likelihood,
            row.impact,
            format!("{:?}", row.risk_level)
        );
    }
    say!(
        "devices at high risk: {}",
        if a.high_risk_devices.is_empty() { "none".into() } else { a.high_risk_devices.join(", ") }
    );
    for service in &a.paths {
        say!("most likely paths to {} ({}, {:?}):", service.service_level, service.device, service.attacker);
        for path in &service.paths {
            say!("  L {:.3}: {}", f64::from(path.likelihood_milli) / 1_000.0, path.nodes.join(" -> "));
        }
    }
    Ok(0)
}

/// `panacea risk what-if`: the remedies, best first.
pub(crate) fn print_remedies(
    service_level: &str,
    remedies: &[panacea_risk::Remedy],
    json: bool,
) -> Result<u8, Failure> {
    if json {
        print_json(&remedies)?;
        return Ok(0);
    }
    if remedies.is_empty() {
        say!("no single CVE fix or firewall change lowers the likelihood of {service_level}");
    }
    for remedy in remedies {
        let change = match &remedy.kind {
            panacea_risk::RemedyKind::FixCve(cve) => format!("fix {cve} everywhere"),
            panacea_risk::RemedyKind::RemoveRule(index) => format!("remove firewall rule {index}"),
            panacea_risk::RemedyKind::AddDenyRule(rule) => {
                format!("add, first, the deny rule {}", serde_json::to_string(rule).unwrap_or_default())
            }
        };
        say!(
            "{change}: L {:.3} -> {:.3}, risk {:?}",
            f64::from(remedy.before_milli) / 1_000.0,
            f64::from(remedy.likelihood_milli) / 1_000.0,
            remedy.risk_level
        );
    }
    Ok(0)
}

/// What the chain adds to `org`'s inventory in `dir`, read through the API as the node's
/// risk worker reads it from its state: the firmware components of the mapped devices
/// (when the folder holds a feed of vulnerable components) and the connections observed
/// between them in unexpected-connection reports before `until` (all so far when `None`);
/// and the audit cutoff used.
pub(crate) async fn facts(
    client: &panacea_client_sdk::Client,
    key: &std::path::Path,
    dir: &std::path::Path,
    org: &panacea_contracts::ids::OrgId,
    until: Option<u64>,
) -> Result<(panacea_node::workers::risk::inventory::ChainFacts, u64), Failure> {
    use panacea_node::workers::risk::firmware::FEED_NAME;
    use panacea_node::workers::risk::inventory::ChainFacts;
    use panacea_node::workers::risk::observed;
    let mut facts = ChainFacts::default();
    let identities = panacea_node::workers::risk::inventory::identity_map(dir).map_err(Failure::local)?;
    if identities.is_empty() {
        return Ok((facts, until.unwrap_or(0)));
    }
    let signer = crate::request_signer(client, key).await?;
    if dir.join(FEED_NAME).exists() {
        for (device, id) in &identities {
            let identity = client.identity(&signer, id).await.map_err(|e| {
                Failure::local(format!(
                    "reading identity {id} (mapped from {device}): {e}; sign with an admin or staff key"
                ))
            })?;
            let panacea_contracts::identity::IdentityKind::Device { firmware_hash, .. } = identity.kind else {
                continue;
            };
            match client.product(&signer, &firmware_hash).await {
                Ok(view) => {
                    facts.firmware.insert(device.clone(), view.product.sbom.components);
                }
                Err(panacea_client_sdk::ClientError::Api { status: 404, .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let query = panacea_client_sdk::types::AuditQuery {
        org: Some(org.clone()),
        kind: Some(panacea_contracts::audit::AuditKind::UnexpectedConnection),
        ..Default::default()
    };
    let events = client.audit_events_all(&signer, &query, observed::REPORTS_MAX).await?;
    let mut cutoff = 0;
    let mut pairs = Vec::new();
    for event in events.iter().filter(|e| until.is_none_or(|u| e.seq < u)) {
        cutoff = event.seq.saturating_add(1);
        pairs.extend(observed::edge_of(event));
    }
    facts.edges = observed::edges(&pairs, &identities);
    Ok((facts, until.unwrap_or(cutoff)))
}
