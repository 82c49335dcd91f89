//! Generates the homes of a local consortium: hospitals running validators and health
//! authorities running observers, sharing one genesis.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use panacea_contracts::codes::OrgKind;
use panacea_contracts::ids::OrgId;
use panacea_contracts::membership::{ChainMode, Genesis, OrgStatus, Organisation};
use panacea_primitives::{ChainId, Keypair, Timestamp};

use crate::chain::peer_id_of;
use crate::config::{Config, Home, NodeRole};
use crate::keys::{self, KeyError};

/// A consortium that cannot be generated.
#[derive(Debug, thiserror::Error)]
pub enum TestnetError {
    /// Writing failed.
    #[error("cannot write {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Keys.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Bad parameters.
    #[error("{0}")]
    Invalid(String),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct TestnetPlan {
    /// Where the homes go (`node0`, `node1`, ...).
    pub out: PathBuf,
    /// Hospitals running validators.
    pub validators: usize,
    /// Health authorities running observers.
    pub observers: usize,
    /// The chain id.
    pub chain_id: String,
    /// The address nodes listen on and dial.
    pub host: String,
    /// First peer-to-peer port (node i uses `p2p_port + i`); 0 lets each node's system
    /// choose at start (peers are then given with `--peer`).
    pub p2p_port: u16,
    /// First API port (node i uses `api_port + i`); 0 lets the system choose.
    pub api_port: u16,
    /// Genesis time.
    pub time: Timestamp,
    /// What the chain's blocks carry (`OrderingOnly` for the consensus-only benchmark).
    pub mode: ChainMode,
}

/// One generated node.
#[derive(Debug, Clone)]
pub struct NodeLayout {
    /// Its home.
    pub home: PathBuf,
    /// Its organisation.
    pub org: String,
    /// Validator or observer.
    pub role: NodeRole,
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its organisation's admin key (signs the organisation's transactions).
    pub admin: Keypair,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TestnetError + '_ {
    move |error| TestnetError::Io { path: path.display().to_string(), error }
}

/// Writes every home; refuses to overwrite an existing `out`.
pub fn generate(plan: &TestnetPlan) -> Result<Vec<NodeLayout>, TestnetError> {
    let total = plan.validators + plan.observers;
    if plan.validators == 0 || total > 100 {
        return Err(TestnetError::Invalid("between 1 and 100 nodes, at least one validator".into()));
    }
    let chain_id = ChainId::new(plan.chain_id.clone()).map_err(|e| TestnetError::Invalid(e.to_string()))?;
    if plan.out.exists() && std::fs::read_dir(&plan.out).map_err(io_error(&plan.out))?.next().is_some() {
        return Err(TestnetError::Invalid(format!(
            "{} exists and is not empty; remove it or choose another folder",
            plan.out.display()
        )));
    }
    struct Node {
        home: Home,
        org: OrgId,
        role: NodeRole,
        network: Keypair,
        validator: Option<Keypair>,
        admin: Keypair,
    }
    let mut nodes = Vec::new();
    for i in 0..total {
        let role = if i < plan.validators { NodeRole::Validator } else { NodeRole::Observer };
        let org = match role {
            NodeRole::Validator => format!("hospital-{i}"),
            NodeRole::Observer => format!("health-authority-{}", i - plan.validators),
        };
        let home = Home(plan.out.join(format!("node{i}")));
        std::fs::create_dir_all(home.0.join("keys")).map_err(io_error(&home.0))?;
        let network = keys::generate()?;
        let admin = keys::generate()?;
        keys::save(&home.node_key(), "network", &network)?;
        keys::save(&home.admin_key(), "organisation admin", &admin)?;
        let validator = match role {
            NodeRole::Validator => {
                let key = keys::generate()?;
                keys::save(&home.validator_key(), "consensus", &key)?;
                Some(key)
            }
            NodeRole::Observer => None,
        };
        let org = OrgId::new(org).map_err(|e| TestnetError::Invalid(e.to_string()))?;
        nodes.push(Node { home, org, role, network, validator, admin });
    }
    let organisations = nodes
        .iter()
        .map(|n| Organisation {
            id: n.org.clone(),
            name: match n.role {
                NodeRole::Validator => format!("Hospital {}", n.org.as_str().trim_start_matches("hospital-")),
                NodeRole::Observer => {
                    format!("Regional health authority {}", n.org.as_str().trim_start_matches("health-authority-"))
                }
            },
            kind: match n.role {
                NodeRole::Validator => OrgKind::Hospital,
                NodeRole::Observer => OrgKind::HealthAuthority,
            },
            validator_key: n.validator.as_ref().map(Keypair::public),
            network_key: Some(n.network.public().to_bytes()),
            admin_keys: vec![n.admin.public()],
            admin_threshold: 1,
            status: OrgStatus::Active,
        })
        .collect();
    let genesis = Genesis { chain_id, time: plan.time, organisations, mode: plan.mode, governance: Default::default() };
    let genesis_json = serde_json::to_string_pretty(&genesis).map_err(|e| TestnetError::Invalid(e.to_string()))?;
    let port = |base: u16, i: usize| -> Result<u16, TestnetError> {
        if base == 0 {
            return Ok(0);
        }
        u16::try_from(usize::from(base) + i).map_err(|_| TestnetError::Invalid("port out of range".into()))
    };
    let mut p2p_addrs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let peer = peer_id_of(&node.network.public().to_bytes())
            .ok_or_else(|| TestnetError::Invalid("generated network key is not a valid libp2p key".into()))?;
        p2p_addrs.push((peer, format!("/ip4/{}/tcp/{}/p2p/{peer}", plan.host, port(plan.p2p_port, i)?)));
    }
    let mut out = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let api_port = port(plan.api_port, i)?;
        let api: SocketAddr = format!("{}:{api_port}", plan.host)
            .parse()
            .map_err(|e| TestnetError::Invalid(format!("host {:?}: {e}", plan.host)))?;
        let mut config = Config { moniker: node.org.as_str().to_string(), role: node.role, ..Config::default() };
        config.p2p.listen = format!("/ip4/{}/tcp/{}", plan.host, port(plan.p2p_port, i)?);
        config.p2p.peers = if plan.p2p_port == 0 {
            Vec::new()
        } else {
            p2p_addrs.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, (_, a))| a.clone()).collect()
        };
        config.api.listen = api;
        // A local consortium snapshots often enough that a hospital voted in takes a
        // snapshot rather than replaying (the default, 10,000 blocks, is for production).
        config.state_sync.snapshot_interval = 1_000;
        config.save(&node.home.config()).map_err(|e| TestnetError::Invalid(e.to_string()))?;
        std::fs::write(node.home.genesis(), &genesis_json).map_err(io_error(&node.home.genesis()))?;
        out.push(NodeLayout {
            home: node.home.0.clone(),
            org: node.org.as_str().to_string(),
            role: node.role,
            peer_id: p2p_addrs[i].0.to_string(),
            admin: node.admin.clone(),
        });
    }
    Ok(out)
}
