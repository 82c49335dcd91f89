//! A local consortium of real `panacea-node` processes for end-to-end tests.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

pub mod attack;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use panacea_client_sdk::Client;
use panacea_contracts::codes::StaffRole;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::membership::ChainMode;
use panacea_contracts::{Call, SignedTransaction, Transaction};
use panacea_node::config::Home;
use panacea_node::run::Addresses;
use panacea_node::testnet::{NodeLayout, TestnetPlan, generate};
use panacea_primitives::{ChainId, Keypair, Timestamp};

/// How long any condition may take on a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(180);

/// The `panacea-node` executable: cargo's, or `PANACEA_NODE_BIN` when set. Worktrees that
/// share one `CARGO_TARGET_DIR` overwrite each other's `debug/panacea-node` (cargo copies
/// its own build there, and another worktree's build replaces it); the override points a
/// run at this worktree's own build (`debug/deps/panacea_node-<hash>`).
pub fn node_binary() -> PathBuf {
    std::env::var_os("PANACEA_NODE_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_panacea-node")), PathBuf::from)
}

/// Waits until `condition` holds, polling; panics with `what` after [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of a Prometheus counter or gauge in `text` (0 if absent).
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// Nodes generated in a temporary folder, started and killed as processes.
pub struct Consortium {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<NodeLayout>,
    procs: Vec<Option<Child>>,
    addresses: Vec<Option<Addresses>>,
    chain_id: ChainId,
}

impl Consortium {
    /// Generates `validators` hospitals and `observers` health authorities.
    pub fn generate(validators: usize, observers: usize) -> Consortium {
        Consortium::generate_with_mode(validators, observers, ChainMode::Contracts)
    }

    /// Generates a consortium whose genesis fixes `mode`.
    pub fn generate_with_mode(validators: usize, observers: usize, mode: ChainMode) -> Consortium {
        let dir = tempfile::tempdir().unwrap();
        let plan = TestnetPlan {
            out: dir.path().join("net"),
            validators,
            observers,
            chain_id: "panacea-e2e".into(),
            host: "127.0.0.1".into(),
            p2p_port: 0,
            api_port: 0,
            time: Timestamp(1_700_000_000_000),
            mode,
        };
        let nodes = generate(&plan).unwrap();
        let total = nodes.len();
        Consortium {
            dir,
            nodes,
            procs: (0..total).map(|_| None).collect(),
            addresses: vec![None; total],
            chain_id: ChainId::new("panacea-e2e").unwrap(),
        }
    }

    pub fn home(&self, i: usize) -> Home {
        Home(self.nodes[i].home.clone())
    }

    /// Changes node `i`'s `config.toml` (before it starts, or before a restart).
    pub fn configure(&self, i: usize, change: impl FnOnce(&mut panacea_node::config::Config)) {
        let path = self.home(i).config();
        let mut config = panacea_node::config::Config::load(&path).unwrap();
        change(&mut config);
        config.save(&path).unwrap();
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.nodes[i].home.join("node.log")
    }

    /// Prepares the node of a hospital that is not in genesis, as its operator would:
    /// `panacea-node init` (its keys), the consortium's genesis file, loopback addresses, and
    /// an admin key for its organisation. Returns its index (start it with [`Self::start`]).
    pub fn prepare_joining(&mut self, org: &str) -> usize {
        let home = Home(self.dir.path().join("net").join(format!("joining-{org}")));
        let status = Command::new(node_binary())
            .args(["init", "--moniker", org, "--role", "validator", "--home"])
            .arg(&home.0)
            .status()
            .unwrap();
        assert!(status.success(), "panacea-node init failed");
        std::fs::copy(self.home(0).genesis(), home.genesis()).unwrap();
        let mut config = panacea_node::config::Config::load(&home.config()).unwrap();
        config.p2p.listen = "/ip4/127.0.0.1/tcp/0".into();
        config.api.listen = "127.0.0.1:0".parse().unwrap();
        config.save(&home.config()).unwrap();
        let admin = panacea_node::keys::generate().unwrap();
        panacea_node::keys::save(&home.admin_key(), "organisation admin", &admin).unwrap();
        let network = panacea_node::keys::load(&home.node_key()).unwrap();
        let peer_id = panacea_node::chain::peer_id_of(&network.public().to_bytes()).unwrap().to_string();
        self.nodes.push(NodeLayout {
            home: home.0.clone(),
            org: org.to_string(),
            role: panacea_node::config::NodeRole::Validator,
            peer_id,
            admin,
        });
        self.procs.push(None);
        self.addresses.push(None);
        self.nodes.len() - 1
    }

    /// Starts node `i`, dialling every running node, and waits until it serves.
    pub fn start(&mut self, i: usize) {
        assert!(self.procs[i].is_none(), "node {i} is running");
        let home = self.home(i);
        let _ = std::fs::remove_file(home.addresses());
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path(i)).unwrap();
        let mut command = Command::new(node_binary());
        command.arg("start").arg("--home").arg(&home.0);
        for (j, addresses) in self.addresses.iter().enumerate() {
            if j != i
                && self.procs[j].is_some()
                && let Some(addresses) = addresses
            {
                for p2p in &addresses.p2p {
                    command.arg("--peer").arg(p2p);
                }
            }
        }
        command.env("RUST_LOG", "info,libp2p=warn").stdout(Stdio::null()).stderr(log);
        let child = command.spawn().unwrap();
        self.procs[i] = Some(child);
        let start = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(home.addresses())
                && let Ok(addresses) = serde_json::from_str::<Addresses>(&text)
            {
                self.addresses[i] = Some(addresses);
                break;
            }
            self.assert_running(i);
            assert!(start.elapsed() < DEADLINE, "node {i} did not start:\n{}", self.log_tail(i));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills node `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.procs[i].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Panics (with its log) if node `i` has exited.
    pub fn assert_running(&mut self, i: usize) {
        let exited = self.procs[i].as_mut().map(|c| c.try_wait().unwrap());
        if let Some(Some(status)) = exited {
            panic!("node {i} exited with {status}:\n{}", self.log_tail(i));
        }
    }

    /// Node `i`'s process id.
    pub fn pid(&self, i: usize) -> u32 {
        self.procs[i].as_ref().expect("node running").id()
    }

    /// Replaces `from` with `to` in node `i`'s configuration file (before it starts).
    pub fn edit_config(&self, i: usize, from: &str, to: &str) {
        let path = self.home(i).config();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from:?} is not in {}", path.display());
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    /// Node `i`'s whole log.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }

    /// The last lines of node `i`'s log.
    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Node `i`'s API base URL.
    pub fn api_url(&self, i: usize) -> String {
        self.addresses[i].as_ref().expect("node started").api.clone()
    }

    /// A client of node `i`'s API.
    pub fn client(&self, i: usize) -> Client {
        Client::new(&self.addresses[i].as_ref().expect("node started").api).unwrap()
    }

    /// Node `i`'s peer-to-peer address.
    pub fn p2p_address(&self, i: usize) -> libp2p::Multiaddr {
        self.addresses[i].as_ref().expect("node started").p2p[0].parse().unwrap()
    }

    /// Node `i`'s libp2p peer id (from its key, so also for a node that is not running).
    pub fn peer_id(&self, i: usize) -> libp2p::PeerId {
        self.network_identity(i).public().to_peer_id()
    }

    /// Node `i`'s network identity.
    pub fn network_identity(&self, i: usize) -> libp2p::identity::Keypair {
        let key = panacea_node::keys::load(&self.home(i).node_key()).unwrap();
        panacea_node::keys::network_identity(&key).unwrap()
    }

    /// Node `i`'s committed height (0 if it does not answer).
    pub async fn height(&self, i: usize) -> u64 {
        match self.client(i).status().await {
            Ok(status) => status.height.0,
            Err(_) => 0,
        }
    }

    /// A request signer for node `i`'s organisation's operator (its admin key), who reads
    /// the whole ledger.
    pub fn operator(&self, i: usize) -> panacea_client_sdk::RequestSigner {
        panacea_client_sdk::RequestSigner::new(self.nodes[i].admin.clone(), self.chain_id())
    }

    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        self.chain_id.clone()
    }
}

impl Drop for Consortium {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            if std::thread::panicking() && self.procs[i].is_some() {
                eprintln!("---- node {i} log ----\n{}", self.log_tail(i));
            }
            self.kill(i);
        }
    }
}

/// Signs `call` with `key` at its next nonce, submits, waits for its commit and checks it
/// succeeded; returns the transaction id.
pub async fn commit(client: &Client, chain: &ChainId, key: &Keypair, call: Call) -> panacea_primitives::Hash {
    let nonce = client.next_nonce(&key.public()).await.expect("nonce");
    let tx = Transaction { chain_id: chain.clone(), signer: key.public(), nonce, call }.sign(key);
    let status = client.submit_and_wait(&tx, Duration::from_secs(60)).await.expect("submit");
    assert_eq!(status.status, panacea_client_sdk::types::TxState::Committed);
    let receipt = status.receipt.expect("receipt");
    assert!(receipt.is_ok(), "{receipt:?}");
    status.id
}

/// The next transaction of organisation `org`'s admin: it registers a new physician.
pub fn admin_tx(net: &Consortium, org: usize, nonces: &mut BTreeMap<usize, u64>) -> SignedTransaction {
    let nonce = nonces.entry(org).or_insert(0);
    *nonce += 1;
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&nonce.to_le_bytes());
    seed[8] = u8::try_from(org).unwrap();
    seed[9] = 0xE2;
    let staff = Keypair::from_seed(seed).public();
    let call =
        Call::Identity(IdentityCall::Register { key: staff, kind: IdentityKind::Staff { role: StaffRole::Physician } });
    Transaction { chain_id: net.chain_id(), signer: net.nodes[org].admin.public(), nonce: *nonce, call }
        .sign(&net.nodes[org].admin)
}
