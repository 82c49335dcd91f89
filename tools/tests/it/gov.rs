//! `panacea gov` against a real single-validator node: the sole member's proposals carry
//! at once (one of one is more than two thirds); the commands' output, JSON and exit codes.

use panacea_node::testnet::generate;

use crate::cli::{panacea, single_node, start_node, stderr, stdout};

#[test]
fn the_gov_commands_propose_vote_list_show_and_follow_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let layout = generate(&single_node(dir.path(), "panacea-gov")).unwrap();
    let home = &layout[0].home;
    let (_node, url) = start_node(home);
    let admin_file = home.join("keys/admin_key.json");
    let admin = admin_file.to_str().unwrap();
    let genesis_file = home.join("genesis.json");
    let genesis = genesis_file.to_str().unwrap();

    // Public status: the default rules, epoch 0, nothing open.
    let status = panacea(&url, &["--json", "gov", "status"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(status["rules"]["threshold"], serde_json::json!({ "numerator": 2, "denominator": 3 }));
    assert_eq!(status["epoch"]["epoch"], 0);

    // Admit a member without a validator: carried at once by the sole member.
    let newcomer = panacea_primitives::Keypair::from_seed([41; 32]);
    let newcomer_key = hex::encode(newcomer.public().to_bytes());
    let admitted = panacea(
        &url,
        &[
            "--json",
            "gov",
            "propose",
            "--key",
            admin,
            "--voting-hours",
            "2",
            "admit",
            "--id",
            "health-authority-9",
            "--name",
            "Regional Health Authority 9",
            "--kind",
            "health-authority",
            "--admin-key",
            &newcomer_key,
        ],
    );
    assert_eq!(admitted.status.code(), Some(0), "{}", stderr(&admitted));
    let receipt: serde_json::Value = serde_json::from_str(&stdout(&admitted)).unwrap();
    let proposal = receipt["id"].as_str().unwrap().to_string();
    let orgs: serde_json::Value = serde_json::from_str(&stdout(&panacea(&url, &["--json", "org", "list"]))).unwrap();
    assert!(orgs.to_string().contains("health-authority-9"), "{orgs}");

    let list = panacea(&url, &["gov", "list", "--key", admin]);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    assert!(stdout(&list).contains("admit health-authority-9 (1 for, 0 against) executed at"), "{}", stdout(&list));
    let show = panacea(&url, &["gov", "show", "--key", admin, &proposal]);
    assert!(stdout(&show).contains("hospital-0: approves"), "{}", stdout(&show));
    let open = panacea(&url, &["--json", "gov", "list", "--key", admin, "--open"]);
    assert_eq!(stdout(&open).trim(), "[]");

    // Bad input: a vote on a decided proposal, an unknown proposal, a bad key, a
    // parameters file that is not parameters.
    let again = panacea(&url, &["gov", "vote", "--key", admin, &proposal, "--approve"]);
    assert_ne!(again.status.code(), Some(0), "a decided proposal takes no vote");
    assert!(stdout(&again).contains("no longer open") || stderr(&again).contains("no longer open"));
    let unknown = panacea(&url, &["gov", "show", "--key", admin, &"ab".repeat(32)]);
    assert_eq!(unknown.status.code(), Some(3), "{}", stderr(&unknown));
    let bad_key = panacea(&url, &["gov", "propose", "--key", admin, "remove", "Not An Id"]);
    assert_eq!(bad_key.status.code(), Some(1), "{}", stderr(&bad_key));
    for action in [["set-network-key", "hospital-0", "--key", "zz"], ["set-validator", "hospital-0", "--key", "zz"]] {
        let bad = panacea(&url, &[&["gov", "propose", "--key", admin][..], &action[..]].concat());
        assert_eq!(bad.status.code(), Some(1), "{action:?}: {}", stderr(&bad));
        assert!(stderr(&bad).contains("64 hex digits"), "{action:?}: {}", stderr(&bad));
    }
    let not_parameters = dir.path().join("parameters.json");
    std::fs::write(&not_parameters, "{\"permit_ms\": \"soon\"}").unwrap();
    let refused = panacea(
        &url,
        &["gov", "propose", "--key", admin, "set-parameters", "--file", not_parameters.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));

    // Chain parameters by vote: two members now, so the proposal waits for the new
    // member's admin, then carries.
    std::fs::write(&not_parameters, "{\"permit_ms\": 3600000}").unwrap();
    let changed = panacea(
        &url,
        &["--json", "gov", "propose", "--key", admin, "set-parameters", "--file", not_parameters.to_str().unwrap()],
    );
    assert_eq!(changed.status.code(), Some(0), "{}", stderr(&changed));
    let receipt: serde_json::Value = serde_json::from_str(&stdout(&changed)).unwrap();
    let proposal = receipt["id"].as_str().unwrap().to_string();
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&panacea(&url, &["--json", "gov", "status"]))).unwrap();
    assert_eq!(status["parameters"]["permit_ms"], 86_400_000, "one of two members is not more than two thirds");
    let newcomer_file = dir.path().join("newcomer.json");
    panacea_node::keys::save(&newcomer_file, "signing", &newcomer).unwrap();
    let voted = panacea(&url, &["gov", "vote", "--key", newcomer_file.to_str().unwrap(), &proposal, "--approve"]);
    assert_eq!(voted.status.code(), Some(0), "{}", stderr(&voted));
    // The light client's view: epoch 0 verified from the genesis file alone.
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&panacea(&url, &["--json", "gov", "status"]))).unwrap();
    assert_eq!(status["parameters"]["permit_ms"], 3_600_000);
    let epochs = panacea(&url, &["gov", "epochs", "--genesis", genesis]);
    assert_eq!(epochs.status.code(), Some(0), "{}", stderr(&epochs));
    assert!(stdout(&epochs).contains("epoch 0: 1 validators, from height 0 (verified)"), "{}", stdout(&epochs));
}
