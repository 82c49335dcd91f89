//! The FHIR R4 facade on a real node, read and written by clients nobody here wrote:
//! fhirclient (SMART on FHIR) with every resource validated against fhir.resources' R4
//! models (testnet/integrations/fhir_client_test.py), plus the authorisation and
//! OperationOutcome checks from Rust.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::Consortium;
use panacea_client_sdk::Client;
use panacea_client_sdk::types::TxState;
use panacea_contracts::access::AccessCall;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::ConsentCall;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::OrgId;
use panacea_contracts::{Call, SignedTransaction, Transaction};
use panacea_primitives::Keypair;

async fn commit(client: &Client, tx: &SignedTransaction) -> panacea_contracts::Receipt {
    let status = client.submit_and_wait(tx, Duration::from_secs(60)).await.expect("submit");
    assert_eq!(status.status, TxState::Committed);
    let receipt = status.receipt.expect("receipt");
    assert!(receipt.is_ok(), "{receipt:?}");
    receipt
}

/// The Python of the integration tests, prepared by testnet/setup-integrations.sh.
fn python() -> PathBuf {
    let venv = std::env::var_os("PANACEA_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/panacea-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run testnet/setup-integrations.sh (the README's test command does)",
        python.display()
    );
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhir_clients_read_search_and_create_consents_and_audit_events() {
    let mut net = Consortium::generate(2, 1);
    net.start(0);
    net.start(1);
    let client = net.client(0);
    let chain = net.chain_id();
    let tx = |signer: &Keypair, nonce: u64, call: Call| {
        Transaction { chain_id: chain.clone(), signer: signer.public(), nonce, call }.sign(signer)
    };

    // hospital-0 registers a physician (who records consents and asks for access);
    // health-authority-0 an auditor.
    let physician = Keypair::from_seed([52; 32]);
    let auditor = Keypair::from_seed([53; 32]);
    let register = |key: &Keypair, role| {
        Call::Identity(IdentityCall::Register { key: key.public(), kind: IdentityKind::Staff { role } })
    };
    commit(&client, &tx(&net.nodes[0].admin, 1, register(&physician, StaffRole::Physician))).await;
    commit(&client, &tx(&net.nodes[2].admin, 1, register(&auditor, StaffRole::Auditor))).await;

    let fixture = include_str!("../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    let imported = panacea_contracts::fhir::consent::import(fixture).expect("fixture");
    let patient = imported.terms.patient;
    let form_hash = Some(panacea_contracts::ids::DocumentHash(panacea_primitives::Hash([7; 32])));
    let record = Call::Consent(ConsentCall::Record { terms: imported.terms, form_hash });
    let receipt = commit(&client, &tx(&physician, 1, record)).await;
    let consent_id = match receipt.outcome {
        panacea_contracts::Outcome::Ok { events } => events[0].entity.consent.expect("a consent event").0,
        panacea_contracts::Outcome::Failed { .. } => panic!("recording failed"),
    };
    let request = Call::Access(AccessCall::Request {
        patient,
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose: Purpose::Treatment,
        custodian: OrgId::new("hospital-0").unwrap(),
        document: None,
        data_time: None,
        justification: None,
    });
    commit(&client, &tx(&physician, 2, request)).await;

    // A consent to create through the facade: the fixture for another patient, with the
    // signed form's SHA-256 (which a custodian's recording needs).
    let dir = tempfile::tempdir().unwrap();
    let new_consent = dir.path().join("new-consent.json");
    let mut resource: serde_json::Value = serde_json::from_str(fixture).unwrap();
    resource["patient"] = serde_json::json!({ "reference": format!("Patient/{}", "d".repeat(64)) });
    resource["sourceAttachment"] = serde_json::json!({ "extension": [{
        "url": panacea_contracts::fhir::system::FORM_SHA256,
        "valueString": "e".repeat(64),
    }] });
    std::fs::write(&new_consent, serde_json::to_vec_pretty(&resource).unwrap()).unwrap();

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testnet/integrations/fhir_client_test.py");
    let seed = |key: &Keypair| hex::encode(key.seed());
    let output = Command::new(python())
        .arg(&script)
        .args(["--url", &net.api_url(0)])
        .args(["--auditor-seed", &seed(&auditor)])
        .args(["--recorder-seed", &seed(&physician)])
        .args(["--outsider-seed", &seed(&net.nodes[1].admin)])
        .args(["--patient", &patient.0.to_string()])
        .args(["--consent", &consent_id.0.to_string()])
        .arg("--new-consent")
        .arg(&new_consent)
        .output()
        .expect("run the FHIR client test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "fhir_client_test.py failed:\n{stdout}\n{stderr}\nnode log:\n{}", net.log_tail(0));
    let summary: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or("{}")).expect("summary");
    assert_eq!(summary["checks"], 7, "{summary}");
    assert!(summary["audit_events_paged"].as_u64().unwrap() >= 2, "{summary}");
}
