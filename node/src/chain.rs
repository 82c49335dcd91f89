//! The chain a node belongs to, derived from its genesis document: the chain id, the
//! genesis block, the validator set and the network keys of the members.

use std::path::Path;

use libp2p::PeerId;
use panacea_client_sdk::verify::{genesis_block, genesis_validators};
use panacea_consensus::{Block, ValidatorSet};
use panacea_contracts::membership::{Genesis, OrgStatus, Organisation};
use panacea_primitives::{ChainId, Hash};

/// Largest genesis document read, in bytes.
const GENESIS_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// A genesis document that cannot start a node.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The file could not be read.
    #[error("cannot read the genesis file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The file is larger than any genesis should be.
    #[error("the genesis file {0} is larger than 16 MiB")]
    TooLarge(String),
    /// The file is not a genesis document.
    #[error("the genesis file {path} is not a valid genesis document: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Everything a node derives from genesis.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// The genesis document.
    pub genesis: Genesis,
    /// The genesis block (height 0), whose payload is the encoded document.
    pub genesis_block: Block,
    /// The validators of epoch 0: every active organisation with a validator key, in the
    /// order of the document.
    pub validators: ValidatorSet,
}

impl ChainSpec {
    /// Derives the chain from a genesis document.
    pub fn new(genesis: Genesis) -> Result<ChainSpec, String> {
        let validators = genesis_validators(&genesis)?;
        let genesis_block = genesis_block(&genesis);
        Ok(ChainSpec { genesis, genesis_block, validators })
    }

    /// Reads and checks a genesis JSON file.
    pub fn load(path: &Path) -> Result<ChainSpec, ChainError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|error| ChainError::Read { path: shown.clone(), error })?;
        if meta.len() > GENESIS_BYTES_MAX {
            return Err(ChainError::TooLarge(shown));
        }
        let text = std::fs::read_to_string(path).map_err(|error| ChainError::Read { path: shown.clone(), error })?;
        let genesis: Genesis = serde_json::from_str(&text)
            .map_err(|e| ChainError::Invalid { path: shown.clone(), reason: e.to_string() })?;
        ChainSpec::new(genesis).map_err(|reason| ChainError::Invalid { path: shown, reason })
    }

    /// The chain id.
    pub fn chain_id(&self) -> &ChainId {
        &self.genesis.chain_id
    }

    /// Id of the genesis block.
    pub fn genesis_id(&self) -> Hash {
        self.genesis_block.id()
    }
}

/// The libp2p peer id of an ed25519 network public key, if the bytes are a valid key.
pub fn peer_id_of(network_key: &[u8; 32]) -> Option<PeerId> {
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(network_key).ok()?;
    Some(libp2p::identity::PublicKey::from(key).to_peer_id())
}

/// The peers allowed to connect: the nodes of every organisation that is still a member
/// (active or suspended; a suspended member's node still follows the chain).
pub fn member_peers(organisations: &[Organisation]) -> Vec<PeerId> {
    organisations
        .iter()
        .filter(|org| org.status != OrgStatus::Removed)
        .filter_map(|org| org.network_key.as_ref().and_then(peer_id_of))
        .collect()
}
