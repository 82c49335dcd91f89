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
