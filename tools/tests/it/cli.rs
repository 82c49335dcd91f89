//! The `panacea` CLI against a real single-validator node process on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use panacea_contracts::membership::ChainMode;
use panacea_node::run::Addresses;
use panacea_node::testnet::{TestnetPlan, generate};
use panacea_primitives::Timestamp;

/// A node process, killed when dropped.
pub(crate) struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The node binary, built beside this test by `cargo test --workspace`.
fn node_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let node = exe.parent().and_then(Path::parent).unwrap().join("panacea-node");
    assert!(node.exists(), "{} is missing: run the tests with `cargo test --workspace`", node.display());
    node
}

pub(crate) fn start_node(home: &Path) -> (Node, String) {
    let log = std::fs::File::create(home.join("node.log")).unwrap();
    let child = Command::new(node_binary())
        .arg("start")
        .arg("--home")
        .arg(home)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let node = Node(child);
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(home.join("addresses.json"))
            && let Ok(addresses) = serde_json::from_str::<Addresses>(&text)
        {
            return (node, addresses.api);
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the node did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A one-validator contracts chain under `dir`, on ports the system chooses.
pub(crate) fn single_node(dir: &Path, chain_id: &str) -> TestnetPlan {
    TestnetPlan {
        out: dir.join("net"),
        validators: 1,
        observers: 0,
        chain_id: chain_id.into(),
        host: "127.0.0.1".into(),
        p2p_port: 0,
        api_port: 0,
        time: Timestamp(1_700_000_000_000),
        mode: ChainMode::Contracts,
    }
}

pub(crate) fn panacea(node: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panacea")).arg("--node").arg(node).args(args).output().unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_cli_registers_staff_records_a_consent_and_requests_access_with_exit_codes_scripts_rely_on() {
    let dir = tempfile::tempdir().unwrap();
    let plan = single_node(dir.path(), "panacea-cli");
    let layout = generate(&plan).unwrap();
    let home = &layout[0].home;
    let (_node, url) = start_node(home);
    let admin = home.join("keys/admin_key.json");
    let admin = admin.to_str().unwrap();

    // A new staff key, registered by the organisation's admin.
    let staff_file = dir.path().join("staff.json");
    let staff_path = staff_file.to_str().unwrap();
    let created = panacea(&url, &["--json", "keys", "new", "--out", staff_path]);
    assert!(created.status.success(), "{}", stderr(&created));
    let created: serde_json::Value = serde_json::from_str(&stdout(&created)).unwrap();
    let staff_key = created["public_key"].as_str().unwrap().to_string();
    let shown = panacea(&url, &["keys", "show", "--key", staff_path]);
    assert_eq!(stdout(&shown).trim(), staff_key);
    let registered = panacea(
        &url,
        &["identity", "register-staff", "--key", admin, "--public-key", &staff_key, "--role", "physician"],
    );
    assert_eq!(registered.status.code(), Some(0), "{}{}", stdout(&registered), stderr(&registered));
    assert!(stdout(&registered).contains("committed at height"), "{}", stdout(&registered));

    // The physician records a consent from a FHIR file, with the hash of the signed form.
    let fixture_path = crate_dir().join("../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    let fixture = fixture_path.to_str().unwrap();
    let form = "ab".repeat(32);
    let recorded =
        panacea(&url, &["--json", "consent", "record", "--key", staff_path, "--fhir", fixture, "--form-hash", &form]);
    assert_eq!(recorded.status.code(), Some(0), "{}{}", stdout(&recorded), stderr(&recorded));
    let recorded: serde_json::Value = serde_json::from_str(&stdout(&recorded)).unwrap();
    assert_eq!(recorded["status"], "committed");
    let id = recorded["id"].as_str().unwrap().to_string();
    let looked_up = panacea(&url, &["--json", "tx", &id]);
    assert_eq!(looked_up.status.code(), Some(0));
    let unsigned: serde_json::Value = serde_json::from_str(&stdout(&looked_up)).unwrap();
    assert!(unsigned["receipt"].is_null(), "an unsigned lookup shows no receipt: {unsigned}");
    let signed = panacea(&url, &["--json", "tx", &id, "--key", staff_path]);
    assert_eq!(signed.status.code(), Some(0), "{}{}", stdout(&signed), stderr(&signed));
    let signed: serde_json::Value = serde_json::from_str(&stdout(&signed)).unwrap();
    assert!(signed["receipt"].is_object(), "its signer reads the receipt: {signed}");

    // An access request is decided and logged (exit 0 whatever the decision).
    let patient = "cb1ac7aefbcbd74882a4d5f4f99da0a63ae94801d8dd27b0a9bb149fe6b6f274";
    let requested = panacea(
        &url,
        &[
            "access",
            "request",
            "--key",
            staff_path,
            "--patient",
            patient,
            "--data-class",
            "lab-results",
            "--purpose",
            "TREAT",
            "--custodian",
            "hospital-0",
        ],
    );
    assert_eq!(requested.status.code(), Some(0), "{}{}", stdout(&requested), stderr(&requested));
    assert!(stdout(&requested).contains("audit event"), "{}", stdout(&requested));

    // The audit trail, as the custodian's admin: events as a FHIR Bundle and as CSV, the
    // patient's consents; the accounting of disclosures is for patients and auditors (3).
    let bundle = panacea(&url, &["audit", "events", "--key", admin, "--patient", patient, "--format", "fhir"]);
    assert_eq!(bundle.status.code(), Some(0), "{}", stderr(&bundle));
    let bundle: serde_json::Value = serde_json::from_str(&stdout(&bundle)).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert!(bundle["entry"].as_array().is_some_and(|e| e.len() >= 2), "{bundle}");
    let csv = panacea(&url, &["audit", "events", "--key", admin, "--format", "csv"]);
    assert!(stdout(&csv).lines().count() >= 3, "{}", stdout(&csv));
    let consents = panacea(&url, &["--json", "audit", "consents", "--key", admin, "--patient", patient]);
    let consents: serde_json::Value = serde_json::from_str(&stdout(&consents)).unwrap();
    assert_eq!(consents.as_array().map(Vec::len), Some(1));
    let accounting = panacea(&url, &["audit", "accounting", "--key", admin, "--patient", patient]);
    assert_eq!(accounting.status.code(), Some(3));
    assert!(stderr(&accounting).contains("forbidden"), "{}", stderr(&accounting));

    // Exit codes: 4 committed but refused (staff cannot register identities), 2 a bad
    // argument (with the valid values), 1 a missing file, 3 an unreachable node.
    let refused = panacea(
        &url,
        &["identity", "register-staff", "--key", staff_path, "--public-key", &staff_key, "--role", "nurse"],
    );
    assert_eq!(refused.status.code(), Some(4), "{}{}", stdout(&refused), stderr(&refused));
    let bad_role =
        panacea(&url, &["identity", "register-staff", "--key", admin, "--public-key", &staff_key, "--role", "wizard"]);
    assert_eq!(bad_role.status.code(), Some(2));
    assert!(stderr(&bad_role).contains("physician"), "{}", stderr(&bad_role));
    let missing = panacea(&url, &["consent", "record", "--key", "/nonexistent/key.json", "--fhir", fixture]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("/nonexistent/key.json"), "{}", stderr(&missing));
    let unreachable = panacea("http://127.0.0.1:1", &["status"]);
    assert_eq!(unreachable.status.code(), Some(3), "{}", stderr(&unreachable));
    let status = panacea(&url, &["status"]);
    assert!(stdout(&status).contains("panacea-cli"), "{}", stdout(&status));

    // Consent history, organisations, and a record proved against genesis (6 when the
    // proof does not verify: here, against another consortium's genesis).
    let consent_id = consents[0]["id"].as_str().unwrap().to_string();
    let history = panacea(&url, &["--json", "consent", "history", "--key", admin, "--consent", &consent_id]);
    assert_eq!(history.status.code(), Some(0), "{}", stderr(&history));
    let history: serde_json::Value = serde_json::from_str(&stdout(&history)).unwrap();
    assert_eq!(history[0]["version"], 1);
    let orgs = panacea(&url, &["org", "list"]);
    assert!(stdout(&orgs).contains("hospital-0"), "{}", stdout(&orgs));
    let genesis = home.join("genesis.json");
    let genesis = genesis.to_str().unwrap();
    let proved = panacea(&url, &["--json", "proof", "--key", admin, "--genesis", genesis, "consent", &consent_id]);
    assert_eq!(proved.status.code(), Some(0), "{}{}", stdout(&proved), stderr(&proved));
    let proved: serde_json::Value = serde_json::from_str(&stdout(&proved)).unwrap();
    assert_eq!((&proved["verified"], &proved["present"]), (&serde_json::json!(true), &serde_json::json!(true)));
    let shown = panacea(&url, &["org", "show", "--key", admin, "--genesis", genesis, "hospital-0"]);
    assert!(stdout(&shown).contains("verified against the genesis validator set"), "{}", stdout(&shown));
    let other = tempfile::tempdir().unwrap();
    let other_layout = generate(&TestnetPlan { out: other.path().join("net"), ..plan.clone() }).unwrap();
    let other_genesis = other_layout[0].home.join("genesis.json");
    let forged = panacea(
        &url,
        &["proof", "--key", admin, "--genesis", other_genesis.to_str().unwrap(), "organisation", "hospital-0"],
    );
    assert_eq!(forged.status.code(), Some(6), "{}{}", stdout(&forged), stderr(&forged));

    // The physician's organisation recorded the patient's consent, so it is the patient's
    // custodian: it binds the patient's key; the patient reads their consents with it,
    // revokes it, and can no longer read; the key can never be bound again (4).
    let patient_file = dir.path().join("patient.json");
    let patient_path = patient_file.to_str().unwrap();
    assert!(panacea(&url, &["keys", "new", "--out", patient_path]).status.success());
    let patient_key = stdout(&panacea(&url, &["keys", "show", "--key", patient_path])).trim().to_string();
    let id_check = "cd".repeat(32);
    let bind = ["patient-key", "bind", "--key", staff_path, "--patient", patient, "--public-key", &patient_key];
    let bound = panacea(&url, &[&bind[..], &["--form-hash", &id_check]].concat());
    assert_eq!(bound.status.code(), Some(0), "{}{}", stdout(&bound), stderr(&bound));
    let own = panacea(&url, &["--json", "audit", "consents", "--key", patient_path, "--patient", patient]);
    assert_eq!(own.status.code(), Some(0), "{}", stderr(&own));
    let revoked = panacea(&url, &["patient-key", "revoke", "--key", patient_path, "--public-key", &patient_key]);
    assert_eq!(revoked.status.code(), Some(0), "{}{}", stdout(&revoked), stderr(&revoked));
    let own = panacea(&url, &["audit", "consents", "--key", patient_path, "--patient", patient]);
    assert_eq!(own.status.code(), Some(3), "{}", stdout(&own));
    let again = panacea(&url, &[&bind[..], &["--form-hash", &id_check]].concat());
    assert_eq!(again.status.code(), Some(4), "{}{}", stdout(&again), stderr(&again));

    // Keystores: export under a passphrase, import back; a wrong passphrase is exit 1.
    let passphrase = dir.path().join("passphrase");
    std::fs::write(&passphrase, "a long enough passphrase\n").unwrap();
    let keystore = dir.path().join("staff.keystore");
    let exported = panacea(
        &url,
        &[
            "keys",
            "export",
            "--key",
            staff_path,
            "--out",
            keystore.to_str().unwrap(),
            "--passphrase-file",
            passphrase.to_str().unwrap(),
        ],
    );
    assert_eq!(exported.status.code(), Some(0), "{}", stderr(&exported));
    let plain: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(staff_path).unwrap()).unwrap();
    let seed = plain["secret_seed"].as_str().unwrap();
    assert!(!std::fs::read_to_string(&keystore).unwrap().contains(seed), "the keystore holds no plain seed");
    let imported_file = dir.path().join("staff-again.json");
    let import = |passphrase: &Path, out: &Path| {
        panacea(
            &url,
            &[
                "keys",
                "import",
                "--keystore",
                keystore.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--passphrase-file",
                passphrase.to_str().unwrap(),
            ],
        )
    };
    assert_eq!(import(&passphrase, &imported_file).status.code(), Some(0));
    let shown = panacea(&url, &["keys", "show", "--key", imported_file.to_str().unwrap()]);
    assert_eq!(stdout(&shown).trim(), staff_key);
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not the passphrase at all").unwrap();
    let refused = import(&wrong, &dir.path().join("never.json"));
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("wrong passphrase"), "{}", stderr(&refused));

    // Identity administration: the admin suspends the physician, whose reads then fail.
    let org = panacea_contracts::ids::OrgId::new("hospital-0").unwrap();
    let staff_public =
        panacea_primitives::PublicKey::from_bytes(hex::decode(&staff_key).unwrap().try_into().unwrap()).unwrap();
    let identity = panacea_contracts::identity::Identity::id_for(&org, &staff_public).to_string();
    let shown = panacea(&url, &["--json", "identity", "show", "--key", admin, "--identity", &identity]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let suspended = panacea(&url, &["identity", "suspend", "--key", admin, "--identity", &identity]);
    assert_eq!(suspended.status.code(), Some(0), "{}{}", stdout(&suspended), stderr(&suspended));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read = panacea(&url, &["audit", "consents", "--key", staff_path, "--patient", patient]);
        if read.status.code() == Some(3) {
            assert!(stderr(&read).contains("unauthenticated"), "{}", stderr(&read));
            break;
        }
        assert!(Instant::now() < deadline, "the suspension never took effect");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A hospital's day with FHIR consents: references derived at the edge with the
/// organisation's pseudonymisation key (the CLI and the node's API agree), a typo in an
/// actor refused at recording, an exclusion that denies with a readable reason and exit 7,
/// `decision show`, an as-of evaluation, and output piped into a reader that stops early.
#[test]
fn the_cli_pseudonymises_at_the_edge_and_explains_every_decision() {
    let dir = tempfile::tempdir().unwrap();
    let plan = single_node(dir.path(), "panacea-consent");
    let layout = generate(&plan).unwrap();
    let home = &layout[0].home;
    // The organisation's key, created by the CLI and held by its node for the API.
    let key_file = home.join("pseudonym.key");
    let key_path = key_file.to_str().unwrap();
    let created = panacea("http://127.0.0.1:1", &["pseudonym", "new-key", "--out", key_path]);
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let again = panacea("http://127.0.0.1:1", &["pseudonym", "new-key", "--out", key_path]);
    assert_eq!(again.status.code(), Some(1), "an existing key is never overwritten");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    let config = config.replacen(
        "[api]\n",
        "[api]\npseudonym_key_file = \"pseudonym.key\"\npseudonym_org = \"hospital-0\"\n",
        1,
    );
    std::fs::write(home.join("config.toml"), config).unwrap();
    let (_node, url) = start_node(home);
    let admin = home.join("keys/admin_key.json");
    let admin = admin.to_str().unwrap();
    let staff_file = dir.path().join("staff.json");
    let staff_path = staff_file.to_str().unwrap();
    assert!(panacea(&url, &["keys", "new", "--out", staff_path]).status.success());
    let staff_key = stdout(&panacea(&url, &["keys", "show", "--key", staff_path])).trim().to_string();
    let registered = panacea(
        &url,
        &["identity", "register-staff", "--key", admin, "--public-key", &staff_key, "--role", "physician"],
    );
    assert_eq!(registered.status.code(), Some(0), "{}{}", stdout(&registered), stderr(&registered));

    // The same patient, the same reference: from the CLI here, and from the node's API.
    let derived = panacea(&url, &["pseudonym", "derive", "--pseudonym-key", key_path, "Patient/pat-001"]);
    assert_eq!(derived.status.code(), Some(0), "{}", stderr(&derived));
    let patient = stdout(&derived).trim().to_string();
    assert_eq!(patient.len(), 64);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = panacea_client_sdk::Client::new(&url).unwrap();
    let chain_id = panacea_primitives::ChainId::new("panacea-consent").unwrap();
    let signer =
        panacea_client_sdk::RequestSigner::new(panacea_node::keys::load(Path::new(staff_path)).unwrap(), chain_id);
    let request =
        panacea_client_sdk::types::PseudonymRequest { patient: Some("Patient/pat-001".into()), identifier: None };
    let from_node = runtime.block_on(client.pseudonym(&signer, &request)).unwrap();
    assert_eq!(from_node.to_string(), patient, "the node derives with the organisation's key");
    let bad =
        panacea_client_sdk::types::PseudonymRequest { patient: Some("Patient/MRN 0012345".into()), identifier: None };
    let refused = runtime.block_on(client.pseudonym(&signer, &bad)).unwrap_err();
    assert_eq!(refused.code(), Some("bad_patient"));
    assert!(!refused.to_string().contains("0012345"), "{refused}");

    // A consent as the hospital's FHIR server writes it: Patient/pat-001, a typo in an
    // organisation, refused at recording with the provision's path.
    let consent = |deny_org: &str| {
        serde_json::json!({
            "resourceType": "Consent",
            "status": "active",
            "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy" }] },
            "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
            "patient": { "reference": "Patient/pat-001" },
            "dateTime": "2026-01-10",
            "policyRule": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN" }] },
            "provision": {
                "type": "permit",
                "purpose": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT" }],
                "provision": [
                    { "type": "deny", "class": [{ "system": "https://panacea.example/fhir/CodeSystem/data-class", "code": "mental-health" }] },
                    { "type": "deny", "actor": [{ "role": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP" }] }, "reference": { "reference": format!("Organization/{deny_org}") } }] }
                ]
            }
        })
        .to_string()
    };
    let form = "ab".repeat(32);
    let typo_file = dir.path().join("typo.json");
    std::fs::write(&typo_file, consent("hospital-00")).unwrap();
    let record = |file: &Path, json: bool| {
        let mut args = vec!["consent", "record", "--key", staff_path, "--fhir", file.to_str().unwrap()];
        args.extend(["--pseudonym-key", key_path, "--form-hash", &form]);
        if json {
            args.insert(0, "--json");
        }
        panacea(&url, &args)
    };
    let typo = record(&typo_file, false);
    assert_eq!(typo.status.code(), Some(4), "{}{}", stdout(&typo), stderr(&typo));
    assert!(
        stdout(&typo)
            .contains("provision.provision[1].actor[0]: Organization/hospital-00 is not a member organisation"),
        "{}",
        stdout(&typo)
    );
    let without_key = panacea(
        &url,
        &["consent", "record", "--key", staff_path, "--fhir", typo_file.to_str().unwrap(), "--form-hash", &form],
    );
    assert_eq!(without_key.status.code(), Some(1));
    assert!(stderr(&without_key).contains("--pseudonym-key"), "{}", stderr(&without_key));
    // The real one (its other clinic is a made-up member-free rule: none here, so deny only
    // mental health); --json lists what the chain does not hold.
    let good_file = dir.path().join("consent.json");
    let mut good: serde_json::Value = serde_json::from_str(&consent("hospital-0")).unwrap();
    good["provision"]["provision"].as_array_mut().unwrap().pop();
    std::fs::write(&good_file, good.to_string()).unwrap();
    let recorded = record(&good_file, true);
    assert_eq!(recorded.status.code(), Some(0), "{}{}", stdout(&recorded), stderr(&recorded));
    let recorded: serde_json::Value = serde_json::from_str(&stdout(&recorded)).unwrap();
    assert_eq!(recorded["not_represented"], serde_json::json!(["Consent.dateTime"]));
    assert!(
        !stdout(&panacea(&url, &["--json", "tx", recorded["id"].as_str().unwrap(), "--key", staff_path]))
            .contains("pat-001")
    );

    // The exclusion denies, with its reason and consent, and exit 7; lab results pass.
    let ask = |class: &str, extra: &[&str]| {
        let mut args = vec!["access", "request", "--key", staff_path, "--patient", &patient, "--data-class", class];
        args.extend(["--purpose", "TREAT", "--custodian", "hospital-0"]);
        args.extend(extra);
        panacea(&url, &args)
    };
    let denied = ask("mental-health", &[]);
    assert_eq!(denied.status.code(), Some(7), "{}{}", stdout(&denied), stderr(&denied));
    let text = stdout(&denied);
    assert!(
        text.contains(": deny (denied-by-consent)") && text.contains("deciding consents:") && text.contains(" v1"),
        "{text}"
    );
    let decision_id =
        text.lines().find_map(|l| l.strip_prefix("decision ")).and_then(|l| l.split(':').next()).unwrap().to_string();
    let permitted = ask("lab-results", &["--resource-type", "Observation", "--data-date", "2019-05-01"]);
    assert_eq!(permitted.status.code(), Some(0), "{}{}", stdout(&permitted), stderr(&permitted));
    assert!(
        stdout(&permitted).contains("permit (permitted-by-consent)") && stdout(&permitted).contains("(Observation)"),
        "{}",
        stdout(&permitted)
    );
    assert!(stdout(&permitted).contains("data date: 2019-05-01T00:00:00.000Z"), "{}", stdout(&permitted));
    let mismatch = ask("lab-results", &["--resource-type", "ImagingStudy"]);
    assert_eq!(mismatch.status.code(), Some(4), "an ImagingStudy holds no lab results: {}", stdout(&mismatch));
    let bad_date = ask("lab-results", &["--data-date", "yesterday"]);
    assert_eq!(bad_date.status.code(), Some(1), "{}", stderr(&bad_date));

    // decision show: the same reason, the audit event, exit 7 for the denial.
    let shown = panacea(&url, &["decision", "show", "--key", staff_path, &decision_id]);
    assert_eq!(shown.status.code(), Some(7), "{}{}", stdout(&shown), stderr(&shown));
    assert!(
        stdout(&shown).contains("deny (denied-by-consent)") && stdout(&shown).contains("audit event"),
        "{}",
        stdout(&shown)
    );
    let shown = panacea(&url, &["--json", "decision", "show", "--key", admin, &decision_id]);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["reason"], "denied-by-consent");
    assert_eq!(shown["event"]["entity"]["consent"][0], recorded["id"], "the event names the excluding consent");

    // As of now the exclusion holds; as of before the consent, nothing applied.
    let evaluate = |at: Option<&str>| {
        let mut args =
            vec!["consent", "evaluate", "--key", admin, "--patient", "Patient/pat-001", "--pseudonym-key", key_path];
        args.extend([
            "--org",
            "hospital-0",
            "--role",
            "physician",
            "--purpose",
            "TREAT",
            "--data-class",
            "mental-health",
        ]);
        args.extend(["--custodian", "hospital-0"]);
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        panacea(&url, &args)
    };
    let now = evaluate(None);
    assert_eq!(now.status.code(), Some(7), "{}{}", stdout(&now), stderr(&now));
    assert!(stdout(&now).starts_with("deny (denied-by-consent)"), "{}", stdout(&now));
    let before = evaluate(Some("2000-01-01"));
    assert_eq!(before.status.code(), Some(7), "{}{}", stdout(&before), stderr(&before));
    assert!(stdout(&before).starts_with("deny (no-applicable-consent)"), "{}", stdout(&before));

    // A reader that stops early: the CLI exits 0, without a panic.
    let mut child = Command::new(env!("CARGO_BIN_EXE_panacea"))
        .args(["--node", &url, "audit", "events", "--key", admin, "--format", "csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// The sample hospital assessed end to end on a node: `risk assess` locally, `risk submit`
/// by the organisation's admin, the table and the quarantine at `risk show`, and a device
/// found at high risk refused access (exit 7, `device-quarantined`) until mitigated.
#[test]
fn the_sample_hospital_is_assessed_and_a_high_risk_device_is_quarantined() {
    let sample = &crate_dir().join("../testnet/sample-hospital/hospital-a");
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory");
    std::fs::create_dir(&inventory).unwrap();
    for entry in std::fs::read_dir(sample).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), inventory.join(entry.file_name())).unwrap();
    }
    let inventory_path = inventory.to_str().unwrap();
    // Locally, without a node: deterministic output, devices at high risk.
    let assessed = panacea("http://127.0.0.1:1", &["--json", "risk", "assess", inventory_path]);
    assert_eq!(assessed.status.code(), Some(0), "{}", stderr(&assessed));
    let assessed: serde_json::Value = serde_json::from_str(&stdout(&assessed)).unwrap();
    let again = panacea("http://127.0.0.1:1", &["--json", "risk", "assess", inventory_path]);
    let again: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(assessed["output"], again["output"], "two assessments of the same inputs agree");
    let high = assessed["assessment"]["high_risk_devices"].as_array().unwrap();
    assert!(!high.is_empty(), "the sample hospital has a device at high risk");
    let high_device = high[0].as_str().unwrap().to_string();
    let text = panacea("http://127.0.0.1:1", &["risk", "assess", inventory_path]);
    assert!(stdout(&text).contains("most likely paths to"), "{}", stdout(&text));
    // What-if for the EHR: the best single fixes, with the new likelihood.
    let remedies =
        panacea("http://127.0.0.1:1", &["risk", "what-if", inventory_path, "--service-level", "ehr", "--max", "3"]);
    assert_eq!(remedies.status.code(), Some(0), "{}", stderr(&remedies));
    assert!(stdout(&remedies).contains(" -> "), "{}", stdout(&remedies));
    let unknown = panacea("http://127.0.0.1:1", &["risk", "what-if", inventory_path, "--service-level", "nope"]);
    assert_eq!(unknown.status.code(), Some(1), "an unknown service level is a clear error");

    // One validator, and a health authority (its node not started) whose assessor attests
    // the pump's firmware: no device is registered on firmware without an attestation.
    let plan = TestnetPlan { observers: 1, ..single_node(dir.path(), "panacea-risk") };
    let layout = generate(&plan).unwrap();
    let home = &layout[0].home;
    let (_node, url) = start_node(home);
    let admin_file = home.join("keys/admin_key.json");
    let admin = admin_file.to_str().unwrap();
    let authority_admin = layout[1].home.join("keys/admin_key.json");
    let assessor = panacea_primitives::Keypair::from_seed([22; 32]);
    let assessor_file = dir.path().join("assessor.json");
    panacea_node::keys::save(&assessor_file, "signing", &assessor).unwrap();
    let assessor_key = hex::encode(assessor.public().to_bytes());
    let staff = panacea(
        &url,
        &[
            "identity",
            "register-staff",
            "--key",
            authority_admin.to_str().unwrap(),
            "--public-key",
            &assessor_key,
            "--role",
            "assessor",
        ],
    );
    assert_eq!(staff.status.code(), Some(0), "{}{}", stdout(&staff), stderr(&staff));
    let sbom_file = dir.path().join("pump.cdx.json");
    let sbom_doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"busybox","version":"1.36.1"}]}"#;
    std::fs::write(&sbom_file, sbom_doc).unwrap();
    let firmware = "01".repeat(32);
    let sbom = panacea_primitives::Hash::digest(sbom_doc).to_string();
    let evidence = "03".repeat(32);
    let claim = format!("IEC 81001-5-1={evidence}");
    let product = panacea(
        &url,
        &[
            "product",
            "register",
            "--key",
            admin,
            "--manufacturer",
            "acme",
            "--model",
            "p1",
            "--firmware-version",
            "1.0.0",
            "--firmware",
            &firmware,
            "--sbom",
            sbom_file.to_str().unwrap(),
            "--claim",
            &claim,
        ],
    );
    assert_eq!(product.status.code(), Some(0), "{}{}", stdout(&product), stderr(&product));
    let attest = panacea(
        &url,
        &[
            "product",
            "attest",
            "--key",
            assessor_file.to_str().unwrap(),
            &firmware,
            "--standard",
            "IEC 81001-5-1",
            "--report",
            &evidence,
        ],
    );
    assert_eq!(attest.status.code(), Some(0), "{}{}", stdout(&attest), stderr(&attest));
    let shown = panacea(&url, &["product", "show", "--key", admin, &firmware]);
    assert!(stdout(&shown).contains("attested by health-authority-0"), "{}{}", stdout(&shown), stderr(&shown));
    // The high-risk inventory device is an infusion pump registered on chain.
    let pump = panacea_primitives::Keypair::from_seed([21; 32]);
    let pump_file = dir.path().join("pump.json");
    panacea_node::keys::save(&pump_file, "signing", &pump).unwrap();
    let pump_key = hex::encode(pump.public().to_bytes());
    let registered = panacea(
        &url,
        &[
            "identity",
            "register-device",
            "--key",
            admin,
            "--public-key",
            &pump_key,
            "--device-type",
            "infusion-pump",
            "--manufacturer",
            "acme",
            "--model",
            "p1",
            "--firmware-hash",
            &firmware,
            "--sbom-hash",
            &sbom,
        ],
    );
    assert_eq!(registered.status.code(), Some(0), "{}{}", stdout(&registered), stderr(&registered));
    let org = panacea_contracts::ids::OrgId::new("hospital-0").unwrap();
    let pump_id = panacea_contracts::identity::Identity::id_for(&org, &pump.public()).to_string();
    std::fs::write(inventory.join("identities.json"), serde_json::json!({ high_device.clone(): pump_id }).to_string())
        .unwrap();
    let pump_path = pump_file.to_str().unwrap();
    let ask = || {
        panacea(
            &url,
            &[
                "access",
                "request",
                "--key",
                pump_path,
                "--patient",
                &"cb".repeat(32),
                "--data-class",
                "lab-results",
                "--purpose",
                "TREAT",
                "--custodian",
                "hospital-0",
            ],
        )
    };
    let before = ask();
    assert_eq!(before.status.code(), Some(7), "{}{}", stdout(&before), stderr(&before));
    assert!(stdout(&before).contains("no-applicable-consent"), "{}", stdout(&before));

    // Submitted by the admin; the survey's salt stays here.
    let salt = dir.path().join("survey.salt");
    let submitted = panacea(
        &url,
        &[
            "risk",
            "submit",
            "--key",
            admin,
            inventory_path,
            "--org",
            "hospital-0",
            "--survey-salt",
            salt.to_str().unwrap(),
        ],
    );
    assert_eq!(submitted.status.code(), Some(0), "{}{}", stdout(&submitted), stderr(&submitted));
    assert!(stdout(&submitted).contains(assessed["output"].as_str().unwrap()), "{}", stdout(&submitted));
    let shown = panacea(&url, &["--json", "risk", "show", "--key", admin, "hospital-0"]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["assessments"][0]["output"], assessed["output"]);
    assert_eq!(shown["quarantined"][0]["device"], serde_json::json!(pump_id));
    let on_chain = shown.to_string();
    assert!(!on_chain.contains(&high_device), "no inventory name goes on chain");
    let after = ask();
    assert_eq!(after.status.code(), Some(7), "{}{}", stdout(&after), stderr(&after));
    assert!(stdout(&after).contains("deny (device-quarantined)"), "{}", stdout(&after));

    // Mitigated by the admin, and cleared by a later assessment that no longer finds it.
    let record = "ef".repeat(32);
    let mitigated = panacea(&url, &["risk", "mitigate", "--key", admin, "--device", &pump_id, "--record", &record]);
    assert_eq!(mitigated.status.code(), Some(0), "{}{}", stdout(&mitigated), stderr(&mitigated));
    std::fs::write(inventory.join("identities.json"), "{}").unwrap();
    let cleared = panacea(
        &url,
        &[
            "risk",
            "submit",
            "--key",
            admin,
            inventory_path,
            "--org",
            "hospital-0",
            "--survey-salt",
            salt.to_str().unwrap(),
        ],
    );
    assert_eq!(cleared.status.code(), Some(0), "{}{}", stdout(&cleared), stderr(&cleared));
    let shown = panacea(&url, &["--json", "risk", "show", "--key", admin, "hospital-0"]);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["quarantined"], serde_json::json!([]), "{shown}");
    let released = ask();
    assert!(stdout(&released).contains("no-applicable-consent"), "back to the consents: {}", stdout(&released));
}

/// The node's risk worker: it registers its service identity (a test home holds the admin
/// key), assesses the inventory folder named in `[risk]`, submits it, and submits again
/// when the folder changes (and only then).
#[test]
fn the_risk_worker_submits_when_the_inventory_changes() {
    let sample = &crate_dir().join("../testnet/sample-hospital/hospital-a");
    let dir = tempfile::tempdir().unwrap();
    // With a health authority (its node not started) whose assessor attests a pump's firmware.
    let plan = TestnetPlan { observers: 1, ..single_node(dir.path(), "panacea-risk-worker") };
    let layout = generate(&plan).unwrap();
    let home = &layout[0].home;
    let inventory = home.join("inventory");
    std::fs::create_dir(&inventory).unwrap();
    for name in
        ["business.json", "config.json", "credentials.json", "devices.json", "employees.json"].into_iter().chain([
            "human_vulnerabilities.json",
            "network.json",
            "profiles.json",
            "relations.json",
            "vulnerabilities.json",
        ])
    {
        std::fs::copy(sample.join(name), inventory.join(name)).unwrap();
    }
    let service_file = home.join("keys/risk_key.json");
    let service_path = service_file.to_str().unwrap();
    assert!(panacea("http://127.0.0.1:1", &["keys", "new", "--out", service_path]).status.success());
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    let config = config.replacen(
        "[risk]\n",
        "[risk]\ninventory_dir = \"inventory\"\nservice_key_file = \"keys/risk_key.json\"\n",
        1,
    );
    let config = config.replacen("poll_interval_ms = 60000", "poll_interval_ms = 200", 1);
    std::fs::write(home.join("config.toml"), config).unwrap();
    let (_node, url) = start_node(home);
    let admin_file = home.join("keys/admin_key.json");
    let admin = admin_file.to_str().unwrap();
    // On this test home the worker registers its own service identity with the admin key.
    let assessments = || -> Vec<serde_json::Value> {
        let shown = panacea(&url, &["--json", "risk", "show", "--key", admin, "hospital-0"]);
        let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap_or_default();
        shown["assessments"].as_array().cloned().unwrap_or_default()
    };
    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = assessments();
            if found.len() >= count {
                return found;
            }
            assert!(Instant::now() < deadline, "the worker did not submit assessment {count}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let first = wait_for(1);
    let expected = panacea("http://127.0.0.1:1", &["--json", "risk", "assess", inventory.to_str().unwrap()]);
    let expected: serde_json::Value = serde_json::from_str(&stdout(&expected)).unwrap();
    assert_eq!(first[0]["output"], expected["output"], "the worker computes what the CLI computes");
    // Unchanged folder: no new submission over five more checks of it.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = panacea_client_sdk::Client::new(&url).unwrap();
    let checks = || -> u64 {
        let text = runtime.block_on(client.metrics()).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("panacea_risk_checks_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let seen = checks();
    let deadline = Instant::now() + Duration::from_secs(30);
    while checks() < seen + 5 {
        assert!(Instant::now() < deadline, "the worker stopped checking");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(assessments().len(), 1, "an unchanged inventory is not submitted again");
    // A changed inventory (a new snapshot of the devices) is submitted again.
    let devices = std::fs::read_to_string(inventory.join("devices.json")).unwrap();
    let mut devices: serde_json::Value = serde_json::from_str(&devices).unwrap();
    devices["snapshot_id"] = serde_json::json!("the next morning");
    std::fs::write(inventory.join("devices.json"), devices.to_string()).unwrap();
    let second = wait_for(2);
    assert_ne!(second[0]["inputs"], second[1]["inputs"], "the new snapshot is committed by its hash");

    // A pump on attested firmware whose SBOM lists openssl 1.1.1k, mapped to an inventory
    // device, and a feed naming that component vulnerable: the worker adds the CVE to the
    // device, and the CLI, reading the chain through the API, computes the same output.
    let assessor = panacea_primitives::Keypair::from_seed([23; 32]);
    let assessor_file = dir.path().join("assessor.json");
    panacea_node::keys::save(&assessor_file, "signing", &assessor).unwrap();
    let authority_admin = layout[1].home.join("keys/admin_key.json");
    let run = |args: &[&str]| {
        let out = panacea(&url, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}{}", stdout(&out), stderr(&out));
        out
    };
    let assessor_key = hex::encode(assessor.public().to_bytes());
    run(&[
        "identity",
        "register-staff",
        "--key",
        authority_admin.to_str().unwrap(),
        "--public-key",
        &assessor_key,
        "--role",
        "assessor",
    ]);
    let sbom_file = dir.path().join("pump.spdx.json");
    let sbom_doc = br#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"openssl","versionInfo":"1.1.1k"}]}"#;
    std::fs::write(&sbom_file, sbom_doc).unwrap();
    let firmware = "0a".repeat(32);
    let evidence = "0b".repeat(32);
    run(&[
        "product",
        "register",
        "--key",
        admin,
        "--manufacturer",
        "acme",
        "--model",
        "p2",
        "--firmware-version",
        "2.0",
        "--firmware",
        &firmware,
        "--sbom",
        sbom_file.to_str().unwrap(),
        "--claim",
        &format!("IEC 62443-4-2={evidence}"),
    ]);
    let assessor_path = assessor_file.to_str().unwrap();
    run(&[
        "product",
        "attest",
        "--key",
        assessor_path,
        &firmware,
        "--standard",
        "IEC 62443-4-2",
        "--report",
        &evidence,
    ]);
    let pump = panacea_primitives::Keypair::from_seed([24; 32]);
    let sbom = panacea_primitives::Hash::digest(sbom_doc).to_string();
    run(&[
        "identity",
        "register-device",
        "--key",
        admin,
        "--public-key",
        &hex::encode(pump.public().to_bytes()),
        "--device-type",
        "infusion-pump",
        "--manufacturer",
        "acme",
        "--model",
        "p2",
        "--firmware-hash",
        &firmware,
        "--sbom-hash",
        &sbom,
    ]);
    let pump_id = panacea_contracts::identity::Identity::id_for(
        &panacea_contracts::ids::OrgId::new("hospital-0").unwrap(),
        &pump.public(),
    );
    let catalogue: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(inventory.join("vulnerabilities.json")).unwrap()).unwrap();
    let cve = catalogue["vulnerabilities"][0]["id"].as_str().unwrap().to_string();
    let device = devices["devices"][0]["id"].as_str().unwrap().to_string();
    let feed = serde_json::json!({ "components": [{ "name": "openssl", "version": "1.1.1k", "cves": [cve] }] });
    std::fs::write(inventory.join("component_vulnerabilities.json"), feed.to_string()).unwrap();
    std::fs::write(
        inventory.join("identities.json"),
        serde_json::json!({ device.clone(): pump_id.to_string() }).to_string(),
    )
    .unwrap();
    let third = wait_for(3);
    let devices_hash = |a: &serde_json::Value| {
        a["inputs"].as_array().unwrap().iter().find(|i| i[0] == "devices").map(|i| i[1].clone()).unwrap()
    };
    let raw = panacea_primitives::Hash::digest(&std::fs::read(inventory.join("devices.json")).unwrap()).to_string();
    assert_ne!(devices_hash(&third[0]), serde_json::json!(raw), "the devices assessed carry the firmware's CVE");
    let cli = run(&["--json", "risk", "assess", inventory.to_str().unwrap(), "--org", "hospital-0", "--key", admin]);
    let cli: serde_json::Value = serde_json::from_str(&stdout(&cli)).unwrap();
    assert_eq!(third[0]["output"], cli["output"], "the CLI reads the same firmware through the API");

    // A gateway reports that the pump reached a device on another LAN that no rule allows:
    // the observed path becomes an edge of the attack graph (an allow rule at the head of
    // the firewall), and the worker and the CLI agree again.
    let monitor = panacea_primitives::Keypair::from_seed([26; 32]);
    let other = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["interfaces"][0]["lan"] != devices["devices"][0]["interfaces"][0]["lan"])
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    run(&[
        "identity",
        "register-device",
        "--key",
        admin,
        "--public-key",
        &hex::encode(monitor.public().to_bytes()),
        "--device-type",
        "monitor",
        "--manufacturer",
        "acme",
        "--model",
        "p2",
        "--firmware-hash",
        &firmware,
        "--sbom-hash",
        &sbom,
    ]);
    let monitor_id = panacea_contracts::identity::Identity::id_for(
        &panacea_contracts::ids::OrgId::new("hospital-0").unwrap(),
        &monitor.public(),
    );
    let gateway = panacea_primitives::Keypair::from_seed([27; 32]);
    let gateway_file = dir.path().join("gateway.json");
    panacea_node::keys::save(&gateway_file, "signing", &gateway).unwrap();
    let gateway_key = hex::encode(gateway.public().to_bytes());
    run(&["identity", "register-service", "--key", admin, "--public-key", &gateway_key, "--name", "gateway"]);
    std::fs::write(
        inventory.join("identities.json"),
        serde_json::json!({ device: pump_id.to_string(), other.clone(): monitor_id.to_string() }).to_string(),
    )
    .unwrap();
    let fourth = wait_for(4);
    run(&[
        "connection",
        "report",
        "--key",
        gateway_file.to_str().unwrap(),
        "--source",
        &pump_id.to_string(),
        "--destination",
        &monitor_id.to_string(),
        "--protocol",
        "ssh",
        "--record",
        &evidence,
    ]);
    let fifth = wait_for(5);
    let network_hash = |a: &serde_json::Value| {
        a["inputs"].as_array().unwrap().iter().find(|i| i[0] == "network-policy").map(|i| i[1].clone()).unwrap()
    };
    assert_ne!(network_hash(&fifth[0]), network_hash(&fourth[0]), "the observed path changed the firewall assessed");
    assert!(fifth[0]["observed_until"].as_u64().unwrap() > 0, "the assessment names its audit cutoff");
    let cli = run(&["--json", "risk", "assess", inventory.to_str().unwrap(), "--org", "hospital-0", "--key", admin]);
    let cli: serde_json::Value = serde_json::from_str(&stdout(&cli)).unwrap();
    assert_eq!(fifth[0]["output"], cli["output"], "the CLI reads the same reports through the API");

    // The node's nudging worker: the organisation never recorded a self-assessment, so its
    // security officers are nudged; one acknowledges, and the rates count it.
    let officer = panacea_primitives::Keypair::from_seed([25; 32]);
    let officer_file = dir.path().join("officer.json");
    panacea_node::keys::save(&officer_file, "signing", &officer).unwrap();
    let officer_path = officer_file.to_str().unwrap();
    let officer_key = hex::encode(officer.public().to_bytes());
    run(&["identity", "register-staff", "--key", admin, "--public-key", &officer_key, "--role", "security-officer"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        let listed = panacea(&url, &["--json", "nudge", "list", "--key", officer_path]);
        let page: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap_or_default();
        let found = page["nudges"].as_array().and_then(|nudges| {
            nudges.iter().find(|n| n["kind"] == "self-assessment-overdue").and_then(|n| n["id"].as_u64())
        });
        if let Some(id) = found {
            break id;
        }
        assert!(Instant::now() < deadline, "no overdue nudge: {}{}", stdout(&listed), stderr(&listed));
        std::thread::sleep(Duration::from_millis(100));
    };
    run(&["nudge", "ack", "--key", officer_path, &id.to_string()]);
    let again = panacea(&url, &["nudge", "ack", "--key", officer_path, &id.to_string()]);
    assert_ne!(again.status.code(), Some(0), "acknowledged once");
    let rates = run(&["nudge", "rates", "--key", admin]);
    assert!(stdout(&rates).contains("self-assessment-overdue"), "{}", stdout(&rates));
    assert!(stdout(&rates).contains("100%"), "{}", stdout(&rates));
}

/// This crate's folder, as the test runner says at run time (a path baked in at compile time
/// goes stale when another clone sharing the target folder built the binary last).
fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}
