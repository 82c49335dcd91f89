//! A local consortium as `panacea-node testnet` lays it out (`node0`, `node1`, ... under
//! one folder), for the load generators.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use panacea_client_sdk::Client;
use panacea_contracts::membership::Genesis;
use panacea_node::config::Home;
use panacea_node::run::Addresses;
use panacea_primitives::{ChainId, Keypair};

/// One node of the local consortium.
#[derive(Debug)]
pub struct LocalNode {
    /// Its home folder.
    pub home: PathBuf,
    /// Its organisation's admin key (dev and test homes keep it).
    pub admin: Keypair,
    /// A client of its API, if it is running and answers.
    pub client: Option<Client>,
    /// Whether it is a validator.
    pub validator: bool,
}

/// The nodes found under `folder`, in order, and the chain id.
pub async fn discover(folder: &Path) -> anyhow::Result<(ChainId, Vec<LocalNode>)> {
    let mut nodes = Vec::new();
    let mut chain_id = None;
    for i in 0.. {
        let home = Home(folder.join(format!("node{i}")));
        if !home.0.exists() {
            break;
        }
        let text = std::fs::read_to_string(home.genesis()).with_context(|| format!("{}", home.genesis().display()))?;
        let genesis: Genesis = serde_json::from_str(&text)?;
        chain_id = Some(genesis.chain_id.clone());
        let admin = panacea_node::keys::load(&home.admin_key())?;
        // A stopped node has no addresses file, or does not answer.
        let mut client = None;
        if let Ok(text) = std::fs::read_to_string(home.addresses()) {
            let addresses: Addresses = serde_json::from_str(&text)?;
            let candidate = Client::new(&addresses.api)?;
            if candidate.status().await.is_ok() {
                client = Some(candidate);
            }
        }
        nodes.push(LocalNode { validator: home.validator_key().exists(), home: home.0, admin, client });
    }
    let chain_id = chain_id.with_context(|| format!("no node0 in {}", folder.display()))?;
    Ok((chain_id, nodes))
}

/// The `p`th percentile (nearest rank) of sorted samples, in milliseconds.
pub fn percentile_ms(sorted: &[std::time::Duration], p: u8) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let last = sorted.len() - 1;
    let index = (last * usize::from(p)).div_ceil(100).min(last);
    sorted[index].as_secs_f64() * 1000.0
}
