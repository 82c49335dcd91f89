//! The direction of dependencies between crates, checked against `cargo metadata`.
//!
//! ARCHITECTURE.md states which way the arrows between crates point; this test makes
//! those lines true or red. It reads the resolved dependency graph (the `resolve` section
//! of `cargo metadata`, every platform) and fails with the offending path when:
//!
//! - (a) `panacea-consensus` or `panacea-contracts` reaches `panacea-node`,
//!   `panacea-client-sdk`, `panacea-tools` or each other through normal or build
//!   dependencies;
//! - (b) the normal dependencies of `panacea-primitives`, `panacea-consensus` or
//!   `panacea-contracts` reach a crate that does IO, runs an async runtime or draws
//!   randomness (see [`forbidden_in_pure_crates`]);
//! - (c) `panacea-primitives` depends on any other panacea crate, of any kind, or
//!   `panacea-risk` (the risk model, a pure library) on any through normal or build
//!   dependencies.
//!
//! Dev-dependencies are exempt from (a) and (b): tests and benches may use anything.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const PRIMITIVES: &str = "panacea-primitives";
const CONSENSUS: &str = "panacea-consensus";
const CONTRACTS: &str = "panacea-contracts";
const RISK: &str = "panacea-risk";

/// Crates that consensus and contracts must never reach: the shell and its clients.
const SHELL: [&str; 3] = ["panacea-node", "panacea-client-sdk", "panacea-tools"];

/// Crates whose normal dependencies must do no IO and draw no randomness.
const PURE: [&str; 4] = [PRIMITIVES, CONSENSUS, CONTRACTS, RISK];

/// The kind of a dependency edge, as `dep_kinds[].kind` reports it (`null` is normal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Normal,
    Build,
    Dev,
}

const NORMAL: &[Kind] = &[Kind::Normal];
const NORMAL_OR_BUILD: &[Kind] = &[Kind::Normal, Kind::Build];
const ANY: &[Kind] = &[Kind::Normal, Kind::Build, Kind::Dev];

/// The resolved dependency graph, keyed by package id.
#[derive(Debug)]
struct Graph {
    names: BTreeMap<String, String>,
    edges: BTreeMap<String, Vec<(String, BTreeSet<Kind>)>>,
}

/// One arrow pointing the wrong way: the path from the crate to the forbidden one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    rule: &'static str,
    path: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n      path: {}", self.rule, self.path.join(" -> "))
    }
}

impl Graph {
    /// Reads the `packages` and `resolve` sections of `cargo metadata --format-version 1`.
    fn from_metadata(metadata: &Value) -> Result<Graph, String> {
        let mut names = BTreeMap::new();
        for package in array(metadata, "packages")? {
            names.insert(string(package, "id")?, string(package, "name")?);
        }
        let resolve = metadata
            .get("resolve")
            .filter(|r| !r.is_null())
            .ok_or("metadata has no `resolve` section (was --no-deps passed?)")?;
        let mut edges = BTreeMap::new();
        for node in array(resolve, "nodes")? {
            let mut deps = Vec::new();
            for dep in array(node, "deps")? {
                let mut kinds = BTreeSet::new();
                for dep_kind in array(dep, "dep_kinds")? {
                    kinds.insert(match dep_kind.get("kind").and_then(Value::as_str) {
                        None => Kind::Normal,
                        Some("build") => Kind::Build,
                        Some("dev") => Kind::Dev,
                        Some(other) => return Err(format!("unknown dependency kind {other:?}")),
                    });
                }
                if kinds.is_empty() {
                    return Err(format!("dependency {dep} has no dep_kinds"));
                }
                deps.push((string(dep, "pkg")?, kinds));
            }
            edges.insert(string(node, "id")?, deps);
        }
        Ok(Graph { names, edges })
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    fn id_of(&self, name: &str) -> Option<&str> {
        self.names.iter().find(|(_, n)| n.as_str() == name).map(|(id, _)| id.as_str())
    }

    /// Every package reachable from `root` through edges of `kinds`, with the path (of
    /// names) by which it was first reached. Breadth first, so paths are shortest.
    fn closure(&self, root: &str, kinds: &[Kind]) -> BTreeMap<String, Vec<String>> {
        let mut reached = BTreeMap::new();
        reached.insert(root.to_owned(), vec![self.name(root).to_owned()]);
        let mut queue = VecDeque::from([root.to_owned()]);
        while let Some(id) = queue.pop_front() {
            let path = reached[&id].clone();
            for (dep, dep_kinds) in self.edges.get(&id).into_iter().flatten() {
                if dep_kinds.iter().any(|k| kinds.contains(k)) && !reached.contains_key(dep) {
                    let mut dep_path = path.clone();
                    dep_path.push(self.name(dep).to_owned());
                    reached.insert(dep.clone(), dep_path);
                    queue.push_back(dep.clone());
                }
            }
        }
        reached.remove(root);
        reached
    }
}

fn array<'a>(value: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    value.get(key).and_then(Value::as_array).ok_or_else(|| format!("metadata: `{key}` is not an array in {value}"))
}

fn string(value: &Value, key: &str) -> Result<String, String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("metadata: `{key}` is not a string in {value}"))
}

/// The rule a crate breaks by being a normal dependency of primitives, consensus or
/// contracts, or `None` if it may be one. These crates do IO, run an event loop, or draw
/// randomness; the pure crates get time, entropy and bytes from their host instead.
fn forbidden_in_pure_crates(name: &str) -> Option<&'static str> {
    let family = |root: &str| name == root || name.starts_with(&format!("{root}-"));
    let any_family = |roots: &[&str]| roots.iter().any(|root| family(root));
    if any_family(&["tokio", "mio", "async-std", "smol", "async-io", "polling", "socket2"]) {
        return Some("(b) primitives, consensus and contracts do no IO: no async runtime or sockets");
    }
    if name.starts_with("libp2p") {
        return Some("(b) primitives, consensus and contracts do no IO: no networking (libp2p)");
    }
    if ["rocksdb", "librocksdb-sys"].contains(&name) {
        return Some("(b) primitives, consensus and contracts do no IO: no storage (RocksDB)");
    }
    if any_family(&["axum", "hyper", "reqwest", "tower-http"]) {
        return Some("(b) primitives, consensus and contracts do no IO: no HTTP");
    }
    if ["tempfile", "fs-err", "fs_extra", "memmap2", "walkdir", "notify"].contains(&name) {
        return Some("(b) primitives, consensus and contracts do no IO: no filesystem");
    }
    // rand_core is only the RngCore/CryptoRng traits (ed25519-dalek names them); it has no
    // OS access. Every other rand crate is a generator whose stream we do not control.
    if name == "getrandom" || name == "rand" || (name.starts_with("rand_") && name != "rand_core") {
        return Some(
            "(b) primitives, consensus and contracts draw no randomness: the host injects \
             seeds, and the simulator has its own PRNG (only the rand_core traits are allowed)",
        );
    }
    None
}

/// All violations of rules (a), (b) and (c) in `graph`, sorted.
fn check(graph: &Graph) -> Vec<Violation> {
    let mut violations = BTreeSet::new();
    let mut ids = BTreeMap::new();
    for name in PURE {
        match graph.id_of(name) {
            Some(id) => {
                ids.insert(name, id);
            }
            None => {
                violations.insert(Violation {
                    rule: "the crate is missing from the workspace: update this test if it was renamed",
                    path: vec![name.to_owned()],
                });
            }
        }
    }

    for core in [CONSENSUS, CONTRACTS] {
        let Some(id) = ids.get(core) else { continue };
        for path in graph.closure(id, NORMAL_OR_BUILD).into_values() {
            let last = path.last().map_or("", String::as_str);
            let other_core = [CONSENSUS, CONTRACTS].contains(&last) && last != core;
            if SHELL.contains(&last) || other_core {
                violations.insert(Violation {
                    rule: "(a) consensus and contracts never depend on node, client-sdk, tools or \
                           each other; node is where they meet",
                    path,
                });
            }
        }
    }

    for pure in PURE {
        let Some(id) = ids.get(pure) else { continue };
        for path in graph.closure(id, NORMAL).into_values() {
            let last = path.last().map_or("", String::as_str);
            if let Some(rule) = forbidden_in_pure_crates(last) {
                violations.insert(Violation { rule, path });
            }
        }
    }

    if let Some(id) = ids.get(PRIMITIVES) {
        for path in graph.closure(id, ANY).into_values() {
            let last = path.last().map_or("", String::as_str);
            if last.starts_with("panacea-") {
                violations.insert(Violation {
                    rule: "(c) primitives depends on no other panacea crate, not even for tests",
                    path,
                });
            }
        }
    }
    if let Some(id) = ids.get(RISK) {
        for path in graph.closure(id, NORMAL_OR_BUILD).into_values() {
            let last = path.last().map_or("", String::as_str);
            if last.starts_with("panacea-") {
                violations.insert(Violation {
                    rule: "(c) the risk model depends on no other panacea crate: the node maps its output to chain types",
                    path,
                });
            }
        }
    }
    violations.into_iter().collect()
}

fn report(violations: &[Violation]) -> String {
    let lines: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
    format!(
        "{} dependency arrow(s) point the wrong way (see ARCHITECTURE.md):\n{}\n\
         Move the code that needs the dependency into panacea-node (or a dev-dependency), \
         or inject what it provides (time, entropy, bytes) through the crate's inputs.",
        violations.len(),
        lines.join("\n")
    )
}

#[test]
fn dependency_arrows_point_the_right_way() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--manifest-path"])
        .arg(&manifest)
        .output()
        .unwrap_or_else(|e| panic!("could not run {cargo:?} metadata: {e}"));
    assert!(
        output.status.success(),
        "`cargo metadata --locked` failed (is Cargo.lock up to date?):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata printed invalid JSON");
    let graph = Graph::from_metadata(&metadata).unwrap_or_else(|e| panic!("{e}"));
    let violations = check(&graph);
    assert!(violations.is_empty(), "{}", report(&violations));
}

/// A synthetic dependency edge `(from, to, kind)`, where kind is `None` (normal),
/// `Some("build")` or `Some("dev")`, as in `dep_kinds`.
type Edge = (&'static str, &'static str, Option<&'static str>);

/// A metadata document with the given packages and edges.
fn synthetic(packages: &[&str], edges: &[Edge]) -> Value {
    let id = |name: &str| format!("registry+synthetic#{name}@1.0.0");
    let nodes: Vec<Value> = packages
        .iter()
        .map(|from| {
            let deps: Vec<Value> = edges
                .iter()
                .filter(|(f, _, _)| f == from)
                .map(|(_, to, kind)| {
                    serde_json::json!({
                        "name": to.replace('-', "_"),
                        "pkg": id(to),
                        "dep_kinds": [{ "kind": kind, "target": null }],
                    })
                })
                .collect();
            serde_json::json!({ "id": id(from), "deps": deps, "features": [] })
        })
        .collect();
    let packages: Vec<Value> =
        packages.iter().map(|name| serde_json::json!({ "id": id(name), "name": name })).collect();
    serde_json::json!({ "packages": packages, "resolve": { "nodes": nodes, "root": null } })
}

fn paths(violations: &[Violation]) -> Vec<String> {
    violations.iter().map(|v| v.path.join(" -> ")).collect()
}

#[test]
fn checker_flags_forbidden_arrows() {
    let packages = [
        PRIMITIVES,
        CONSENSUS,
        RISK,
        CONTRACTS,
        "panacea-node",
        "panacea-tools",
        "helper",
        "getrandom",
        "rand_core",
        "tokio",
    ];
    // Each case: the edges of a graph, and the paths the checker must report.
    let cases: &[(&[Edge], &[&str])] = &[
        // (a) A build dependency counts.
        (&[(CONSENSUS, "panacea-node", Some("build"))], &["panacea-consensus -> panacea-node"]),
        // (a) Contracts reaching consensus through a third crate.
        (
            &[(CONTRACTS, "helper", None), ("helper", CONSENSUS, None)],
            &["panacea-contracts -> helper -> panacea-consensus"],
        ),
        // (b) OS randomness pulled in transitively; rand_core and a dev-only tokio are fine.
        (
            &[
                (CONSENSUS, PRIMITIVES, None),
                (CONSENSUS, "helper", None),
                ("helper", "getrandom", None),
                ("helper", "rand_core", None),
                (CONSENSUS, "tokio", Some("dev")),
            ],
            &["panacea-consensus -> helper -> getrandom"],
        ),
        // (b) The same in primitives.
        (&[(PRIMITIVES, "tokio", None)], &["panacea-primitives -> tokio"]),
        // (c) Primitives may not use another panacea crate, even in tests.
        (&[(PRIMITIVES, "panacea-tools", Some("dev"))], &["panacea-primitives -> panacea-tools"]),
        // (b) and (c) for the risk model: no IO, no panacea crate.
        (&[(RISK, "tokio", None)], &["panacea-risk -> tokio"]),
        (&[(RISK, CONTRACTS, None)], &["panacea-risk -> panacea-contracts"]),
    ];
    for (edges, expected) in cases {
        let metadata = synthetic(&packages, edges);
        let graph = Graph::from_metadata(&metadata).expect("synthetic metadata parses");
        let violations = check(&graph);
        assert_eq!(&paths(&violations), expected, "{}", report(&violations));
    }
}

#[test]
fn checker_accepts_a_clean_graph_and_notices_a_missing_crate() {
    let clean = synthetic(
        &[PRIMITIVES, CONSENSUS, CONTRACTS, RISK, "panacea-node", "rand_core", "tokio"],
        &[
            (CONSENSUS, PRIMITIVES, None),
            (CONTRACTS, PRIMITIVES, None),
            (PRIMITIVES, "rand_core", None),
            ("panacea-node", CONSENSUS, None),
            ("panacea-node", CONTRACTS, None),
            ("panacea-node", RISK, None),
            ("panacea-node", "tokio", None),
        ],
    );
    let graph = Graph::from_metadata(&clean).expect("synthetic metadata parses");
    assert_eq!(check(&graph), vec![]);

    let renamed = synthetic(&[PRIMITIVES, CONSENSUS, RISK], &[]);
    let graph = Graph::from_metadata(&renamed).expect("synthetic metadata parses");
    assert_eq!(paths(&check(&graph)), vec![CONTRACTS]);
}

#[test]
fn forbidden_names() {
    for name in [
        "tokio",
        "tokio-util",
        "mio",
        "libp2p",
        "libp2p-identity",
        "rocksdb",
        "librocksdb-sys",
        "axum",
        "axum-core",
        "hyper",
        "hyper-util",
        "reqwest",
        "rand",
        "rand_chacha",
        "getrandom",
        "tempfile",
    ] {
        assert!(forbidden_in_pure_crates(name).is_some(), "{name} must be forbidden");
    }
    for name in ["rand_core", "sha2", "ed25519-dalek", "bincode", "tokioish", "serde"] {
        assert!(forbidden_in_pure_crates(name).is_none(), "{name} must be allowed");
    }
}
