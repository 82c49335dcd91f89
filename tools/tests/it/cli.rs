//! The `panacea` CLI against a real single-validator node process on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use panacea_node::run::Addresses;
use panacea_node::testnet::{TestnetPlan, generate};
use panacea_primitives::Timestamp;

/// A node process, killed when dropped.
struct Node(Child);

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

fn start_node(home: &Path) -> (Node, String) {
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

fn panacea(node: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panacea")).arg("--node").arg(node).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_cli_registers_staff_records_a_consent_and_requests_access_with_exit_codes_scripts_rely_on() {
    let dir = tempfile::tempdir().unwrap();
    let plan = TestnetPlan {
        out: dir.path().join("net"),
        validators: 1,
        observers: 0,
        chain_id: "panacea-cli".into(),
        host: "127.0.0.1".into(),
        p2p_port: 0,
        api_port: 0,
        time: Timestamp(1_700_000_000_000),
    };
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
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    let form = "ab".repeat(32);
    let recorded =
        panacea(&url, &["--json", "consent", "record", "--key", staff_path, "--fhir", fixture, "--form-hash", &form]);
    assert_eq!(recorded.status.code(), Some(0), "{}{}", stdout(&recorded), stderr(&recorded));
    let recorded: serde_json::Value = serde_json::from_str(&stdout(&recorded)).unwrap();
    assert_eq!(recorded["status"], "committed");
    let id = recorded["id"].as_str().unwrap().to_string();
    let looked_up = panacea(&url, &["--json", "tx", &id]);
    assert_eq!(looked_up.status.code(), Some(0));

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
}
