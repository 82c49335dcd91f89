//! The operator commands of `panacea-node`, as a new operator meets them.

use std::process::{Command, Output};

fn node(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panacea-node")).args(args).output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn init_show_testnet_and_reset_work_and_mistakes_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("hospital");
    let home = home.to_str().unwrap();

    let init = node(&["init", "--home", home, "--moniker", "hospital-x"]);
    assert!(init.status.success(), "{}", text(&init));
    assert!(text(&init).contains("peer id:"), "{}", text(&init));
    let again = node(&["init", "--home", home]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let show = node(&["show-node-id", "--home", home]);
    assert_eq!(text(&show).lines().next(), text(&init).lines().nth(1), "the same peer id");

    // Starting without the consortium's genesis says which file is missing.
    let start = node(&["start", "--home", home]);
    assert_eq!(start.status.code(), Some(1));
    assert!(text(&start).contains("genesis.json"), "{}", text(&start));

    // A consortium is generated once; a non-empty folder is refused.
    let out = dir.path().join("net");
    let out = out.to_str().unwrap();
    let testnet = node(&["testnet", "--out", out, "--validators", "4", "--observers", "1", "--p2p-port", "0"]);
    assert!(testnet.status.success(), "{}", text(&testnet));
    assert_eq!(String::from_utf8_lossy(&testnet.stdout).lines().count(), 5);
    let twice = node(&["testnet", "--out", out]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(text(&twice).contains("not empty"), "{}", text(&twice));

    // Bad arguments and bad files: exit 2 and 1, never a panic.
    let bad = node(&["start", "--home", home, "--api-listen", "not-an-address"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    std::fs::write(dir.path().join("hospital/config.toml"), "moniker = 7\n[p2p]\nlisten_typo = 1\n").unwrap();
    let corrupt = node(&["start", "--home", home]);
    assert_eq!(corrupt.status.code(), Some(1));
    assert!(text(&corrupt).contains("config.toml"), "{}", text(&corrupt));
    assert!(!text(&corrupt).contains("panicked"), "{}", text(&corrupt));

    // Reset deletes chain data only after confirmation; keys stay.
    std::fs::create_dir_all(dir.path().join("hospital/data")).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_panacea-node"))
        .args(["reset", "--home", home])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(dir.path().join("hospital/data").exists());
    let reset = node(&["reset", "--home", home, "--yes"]);
    assert!(reset.status.success(), "{}", text(&reset));
    assert!(!dir.path().join("hospital/data").exists());
    assert!(dir.path().join("hospital/keys/node_key.json").exists());
}
