//! Access decisions people can read: `access request`'s verdict, `decision show`,
//! `consent evaluate`; patients' references derived at the edge (`pseudonym`); an
//! organisation's risk (`risk show`).

use std::path::Path;

use panacea_client_sdk::types::{DecisionView, EvaluateQuery, EvaluationView};
use panacea_client_sdk::{Client, RequestSigner};
use panacea_contracts::access::DecisionOutcome;
use panacea_contracts::fhir::{DateBound, format_instant, parse_date_time};
use panacea_contracts::ids::{ConsentId, DecisionId, PatientRef};
use panacea_primitives::{Hash, Timestamp};

use crate::output::{Failure, print_json, say};

/// Exit code of an access request the consents denied.
pub(crate) const DENIED: u8 = 7;

/// A patient reference from the command line: 64 hex digits as is; with the custodian's
/// pseudonymisation key, also `Patient/<id>` or `<system>|<value>`, derived here so that
/// the local reference never leaves this machine.
pub(crate) fn patient_ref(text: &str, pseudonym_key: Option<&Path>) -> Result<PatientRef, Failure> {
    if let Ok(hash) = Hash::from_hex(text)
        && text.len() == 64
        && !text.bytes().any(|b| b.is_ascii_uppercase())
    {
        return Ok(PatientRef(hash));
    }
    let Some(path) = pseudonym_key else {
        return Err(Failure::local(
            "--patient is a 64-hex pseudonymous reference; to name the patient as your records do (Patient/<id> or <system>|<value>), give --pseudonym-key",
        ));
    };
    let key = panacea_node::keys::load_pseudonym_key(path).map_err(Failure::local)?;
    // The error never repeats the value: it may be a record number.
    key.derive_text(text).map(PatientRef).map_err(|e| Failure::local(format!("--patient: {e}")))
}

/// A data date: a FHIR date or dateTime; a date alone is the start of that UTC day.
pub(crate) fn data_date(text: &str) -> Result<Timestamp, Failure> {
    parse_date_time(text, DateBound::Start).map_err(|e| Failure::local(format!("--data-date {text:?}: {e}")))
}

fn versions(list: &[(ConsentId, u32)]) -> String {
    list.iter().map(|(id, v)| format!("{id} v{v}")).collect::<Vec<_>>().join(", ")
}

/// Prints a decision for people; returns the exit code its verdict means.
pub(crate) fn print_decision(view: &DecisionView) -> Result<u8, Failure> {
    let d = &view.decision;
    let verdict = match d.outcome {
        DecisionOutcome::Permit => "permit",
        DecisionOutcome::BreakGlass => "break-glass",
        DecisionOutcome::Deny(_) => "deny",
    };
    say!("decision {}: {verdict} ({})", d.id, view.reason);
    if !d.consents.is_empty() {
        let what = match d.outcome {
            DecisionOutcome::BreakGlass => "overriding consents",
            _ => "deciding consents",
        };
        say!("  {what}: {}", versions(&d.consents));
    }
    if !d.overridden.is_empty() {
        say!("  exclusions overridden by a more specific permit: {}", versions(&d.overridden));
    }
    let kind = d.resource_type.map(|t| format!(" ({t})")).unwrap_or_default();
    say!("  {} data{kind} of patient {} held by {}, for {}", d.data_class, d.patient, d.custodian, d.purpose);
    if let Some(time) = d.data_time {
        say!("  data date: {}", format_instant(time));
    }
    say!("  decided at {}", format_instant(d.decided_at));
    if let Some(end) = d.expires_at {
        say!("  valid until {}", format_instant(end));
    }
    if let Some(event) = &view.event {
        say!("  audit event {} at height {}", event.seq, event.height);
    }
    Ok(match d.outcome {
        DecisionOutcome::Deny(_) => DENIED,
        DecisionOutcome::Permit | DecisionOutcome::BreakGlass => 0,
    })
}

/// `panacea decision show ID`.
pub(crate) async fn show(client: &Client, signer: &RequestSigner, id: &str, json: bool) -> Result<u8, Failure> {
    let id = DecisionId(Hash::from_hex(id).map_err(|_| Failure::local("a decision id is 64 hex digits"))?);
    let view = client.decision(signer, &id).await?;
    if json {
        print_json(&view)?;
        return Ok(match view.decision.outcome {
            DecisionOutcome::Deny(_) => DENIED,
            _ => 0,
        });
    }
    print_decision(&view)
}

/// `panacea consent evaluate`: prints the verdict; exit 0 for permit, 7 for deny.
pub(crate) async fn evaluate(
    client: &Client,
    signer: &RequestSigner,
    patient: &PatientRef,
    query: &EvaluateQuery,
    json: bool,
) -> Result<u8, Failure> {
    let view: EvaluationView = client.evaluate(signer, patient, query).await?;
    let code = if view.decision == "permit" { 0 } else { DENIED };
    if json {
        print_json(&view)?;
        return Ok(code);
    }
    say!(
        "{} ({}) at {}, {} consent(s) considered",
        view.decision,
        view.reason,
        format_instant(view.at),
        view.considered
    );
    if !view.consents.is_empty() {
        say!("  deciding consents: {}", versions(&view.consents));
    }
    if !view.overridden.is_empty() {
        say!("  exclusions overridden by a more specific permit: {}", versions(&view.overridden));
    }
    Ok(code)
}

/// Prints an organisation's risk for people.
pub(crate) fn print_risk(view: &panacea_client_sdk::types::RiskView) -> Result<u8, Failure> {
    say!(
        "risk of {}: {} assessment(s) listed, {} device(s) in quarantine",
        view.org,
        view.assessments.len(),
        view.quarantined.len()
    );
    for q in &view.quarantined {
        let state = match &q.mitigation {
            Some((record, at)) => format!("mitigation {record} recorded at {}", format_instant(*at)),
            None => "no mitigation recorded".into(),
        };
        say!("  quarantined device {} since assessment {}: {state}", q.device, q.since);
    }
    if let Some(latest) = view.assessments.first() {
        let attested: Vec<&str> = latest.attestations.iter().map(|a| a.org.as_str()).collect();
        say!(
            "latest assessment {} at {}: output {}, attested by {}",
            latest.id,
            format_instant(latest.submitted_at),
            latest.output,
            if attested.is_empty() { "nobody yet".to_owned() } else { attested.join(", ") }
        );
        for row in &latest.table {
            let likelihood = f64::from(row.likelihood_milli) / 1_000.0;
            say!(
                "  {:<40} {:<13} L {likelihood:>8.3}  impact {:>4}  {:?}",
                row.service_level,
                format!("{:?}", row.attacker),
                row.impact,
                row.level
            );
        }
    }
    Ok(0)
}
