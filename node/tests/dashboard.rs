//! The auditor dashboard, end to end: a consortium of real nodes, the records an auditor
//! looks at (consents with versions, a permitted access, break-glass accesses with open
//! reviews), keystores for three people, and the dashboard driven in Debian's Chromium by
//! `testnet/integrations/dashboard_test.py` (Playwright). Also the review list's
//! authorisation through the API itself.
//!
//! Needs `testnet/setup-integrations.sh` (Chromium and the Python environment). With
//! `PANACEA_SCREENSHOTS=docs/dashboard` the screenshots go to `docs/dashboard/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Consortium, commit};
use panacea_client_sdk::{Client, RequestSigner};
use panacea_contracts::Call;
use panacea_contracts::access::AccessCall;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::ConsentCall;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{ConsentId, DocumentHash, OrgId, PatientRef};
use panacea_primitives::{Hash, Keypair};

const PASSPHRASE: &str = "correct horse battery staple";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The Python of the integration environment, or a panic that says how to make it.
fn python() -> PathBuf {
    let venv = std::env::var_os("PANACEA_VENV").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/panacea-venv"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    let chromium =
        std::env::var_os("PANACEA_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        python.exists() && chromium.exists(),
        "the dashboard test needs Chromium ({}) and the integration Python environment ({}): run testnet/setup-integrations.sh",
        chromium.display(),
        python.display()
    );
    python
}

fn staff(role: StaffRole) -> IdentityKind {
    IdentityKind::Staff { role }
}

/// A signed GET's HTTP status.
async fn status_of(client: &Client, signer: &RequestSigner, path: &str) -> u16 {
    client.signed_get_request(signer, path).await.unwrap().send().await.unwrap().status().as_u16()
}

/// A signed GET's JSON answer.
async fn signed_json(client: &Client, signer: &RequestSigner, path: &str) -> serde_json::Value {
    client.signed_get_request(signer, path).await.unwrap().send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_real_browser() {
    let python = python();
    // hospital-0..3 validate; health-authority-0 (node 4) observes and audits.
    let mut net = Consortium::generate(4, 1);
    for i in 0..5 {
        net.start(i);
    }
    let client = net.client(0);
    let served = reqwest::get(format!("{}/dashboard/", net.api_url(0))).await.unwrap().status();
    assert_eq!(
        served,
        200,
        "{} does not serve the dashboard: another worktree's build replaced it in the shared target folder; set PANACEA_NODE_BIN to this worktree's build",
        common::node_binary().display()
    );
    let chain = net.chain_id();
    let register = |key: &Keypair, kind| Call::Identity(IdentityCall::Register { key: key.public(), kind });

    // hospital-0: a physician and its privacy officer (role auditor); hospital-1: a
    // physician; the health authority: an auditor.
    let physician0 = Keypair::from_seed([61; 32]);
    let officer0 = Keypair::from_seed([62; 32]);
    let physician1 = Keypair::from_seed([63; 32]);
    let authority_auditor = Keypair::from_seed([64; 32]);
    let admin = |i: usize| net.nodes[i].admin.clone();
    commit(&client, &chain, &admin(0), register(&physician0, staff(StaffRole::Physician))).await;
    commit(&client, &chain, &admin(0), register(&officer0, staff(StaffRole::Auditor))).await;
    commit(&client, &chain, &admin(1), register(&physician1, staff(StaffRole::Physician))).await;
    commit(&client, &chain, &admin(4), register(&authority_auditor, staff(StaffRole::Auditor))).await;

    // A consent recorded and amended (two versions), and a permitted access under it.
    let fhir = include_str!("../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    let imported = panacea_contracts::fhir::consent::import(fhir).expect("fixture");
    let patient: PatientRef = imported.terms.patient;
    let form = Some(DocumentHash(Hash([7; 32])));
    let recorded = commit(
        &client,
        &chain,
        &physician0,
        Call::Consent(ConsentCall::Record { terms: imported.terms.clone(), form_hash: form }),
    )
    .await;
    let consent = ConsentId(recorded);
    let mut amended = imported.terms.clone();
    amended.categories.push("amended".into());
    commit(
        &client,
        &chain,
        &physician0,
        Call::Consent(ConsentCall::Amend { consent, terms: amended, form_hash: Some(DocumentHash(Hash([8; 32]))) }),
    )
    .await;
    let custodian = OrgId::new("hospital-0").unwrap();
    let ask = |patient, purpose, data_class, justification| {
        Call::Access(AccessCall::Request {
            patient,
            data_class,
            resource_type: None,
            purpose,
            custodian: custodian.clone(),
            document: None,
            data_time: None,
            justification,
        })
    };
    commit(&client, &chain, &physician0, ask(patient, Purpose::Treatment, DataClass::LabResults, None)).await;

    // Another patient, with no consent: hospital-1's physician breaks the glass twice,
    // which opens two reviews for hospital-0's auditors.
    let emergency = PatientRef(Hash::digest(b"dashboard emergency patient"));
    let why = Some(DocumentHash(Hash::digest(b"unconscious, allergies unknown")));
    for class in [DataClass::Medications, DataClass::LabResults] {
        commit(&client, &chain, &physician1, ask(emergency, Purpose::EmergencyTreatment, class, why)).await;
    }

    // The review list answers as the audit trail does: the health authority's auditor and
    // the custodian's own staff; not another hospital, not a service of the authority.
    let signer = |key: &Keypair| RequestSigner::new(key.clone(), chain.clone());
    let open = "/v1/organisations/hospital-0/reviews?status=open";
    let page: serde_json::Value = client
        .signed_get_request(&signer(&authority_auditor), open)
        .await
        .unwrap()
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["reviews"].as_array().map(Vec::len), Some(2), "{page}");
    assert_eq!(page["reviews"][0]["decision"]["requester_org"], "hospital-1");
    assert_eq!(status_of(&client, &signer(&officer0), open).await, 200);
    assert_eq!(status_of(&client, &signer(&admin(0)), open).await, 200);
    assert_eq!(status_of(&client, &signer(&physician1), open).await, 403, "another hospital");
    assert_eq!(status_of(&client, &signer(&admin(1)), open).await, 403, "another hospital's operator");
    assert_eq!(status_of(&client, &signer(&admin(4)), open).await, 403, "an authority's admin is no auditor");
    let first = signed_json(&client, &signer(&officer0), &format!("{open}&limit=1")).await;
    let cursor = first["next"].as_str().expect("a next page").to_string();
    let second = signed_json(&client, &signer(&officer0), &format!("{open}&limit=1&after={cursor}")).await;
    assert_eq!(second["reviews"].as_array().map(Vec::len), Some(1));
    assert_ne!(first["reviews"][0]["review"]["decision"], second["reviews"][0]["review"]["decision"]);
    assert_eq!(status_of(&client, &signer(&officer0), "/v1/organisations/hospital-0/reviews?status=maybe").await, 400);

    // The keystores, as `panacea keys export` writes them (a cheap scrypt for the test).
    let keys = tempfile::tempdir().unwrap();
    let keystore = |name: &str, purpose: &str, key: &Keypair| {
        let path = keys.path().join(format!("{name}.keystore"));
        panacea_node::keys::export_encrypted(&path, purpose, key, PASSPHRASE, 10).unwrap();
        path
    };
    let auditor_file = keystore("auditor", "health-authority-0 auditor", &authority_auditor);
    let officer_file = keystore("officer", "hospital-0 privacy officer", &officer0);
    let staff_file = keystore("staff", "hospital-1 physician", &physician1);

    let shots_temp = tempfile::tempdir().unwrap();
    let shots = match std::env::var_os("PANACEA_SCREENSHOTS") {
        Some(dir) => repo().join(dir),
        None => shots_temp.path().to_path_buf(),
    };
    let output = Command::new(&python)
        .arg(repo().join("testnet/integrations/dashboard_test.py"))
        .arg("--url")
        .arg(net.api_url(0))
        .args(["--passphrase", PASSPHRASE])
        .arg("--auditor")
        .arg(&auditor_file)
        .arg("--officer")
        .arg(&officer_file)
        .arg("--staff")
        .arg(&staff_file)
        .args(["--patient", &patient.to_string(), "--emergency-patient", &emergency.to_string()])
        .args(["--custodian", "hospital-0"])
        .arg("--screenshots")
        .arg(&shots)
        .output()
        .expect("run the browser test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("dashboard: every check passed"), "{stdout}");

    // The review the officer closed in the browser is closed on chain, by them.
    let closed: serde_json::Value = client
        .signed_get_request(&signer(&authority_auditor), "/v1/organisations/hospital-0/reviews?status=closed")
        .await
        .unwrap()
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let officer_id = panacea_contracts::identity::Identity::id_for(&custodian, &officer0.public());
    assert_eq!(closed["reviews"].as_array().map(Vec::len), Some(1), "{closed}");
    let status = &closed["reviews"][0]["review"]["status"]["closed"];
    assert_eq!(status["outcome"], "justified");
    assert_eq!(status["auditor"], officer_id.to_string());
    assert!(status["notes"].is_string(), "the notes' hash is on chain");
}
