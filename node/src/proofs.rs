//! State proofs with the certified block that attests their root.
//!
//! The node proves records against the state of a committed height `c` that a certified
//! block attests: the newest committed block but one (its certificate is the `justify`
//! of the newest), whose meta part attests its proposer's committed tip, normally two
//! heights below it. The state tree keeps 64 versions, so that state is still provable.

use panacea_client_sdk::types::{ProofEntry, ProofView};
use panacea_client_sdk::verify::CertifiedState;
use panacea_contracts::ids::ConsentId;
use panacea_contracts::provable::Record;
use panacea_contracts::state::authenticated;
use panacea_primitives::{BlockMeta, Hash, Height};

use crate::storage::{Storage, StorageError};

/// Why no proof can be served.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The chain is too young to have a certified attestation.
    #[error("no certified block attests a state yet; try again after a few blocks")]
    NotYet,
    /// Storage failed or holds something unexpected.
    #[error("{0}")]
    Storage(String),
}

impl From<StorageError> for ProofError {
    fn from(e: StorageError) -> ProofError {
        ProofError::Storage(e.to_string())
    }
}

/// Proves `keys` against the newest certified state.
pub fn prove(storage: &Storage, keys: &[Vec<u8>]) -> Result<ProofView, ProofError> {
    let tip = storage.committed_height()?.ok_or(ProofError::NotYet)?;
    if tip.0 < 2 {
        return Err(ProofError::NotYet);
    }
    let attesting_height = Height(tip.0 - 1);
    let (Some(attesting), Some(child)) = (storage.block(attesting_height)?, storage.block(tip)?) else {
        return Err(ProofError::Storage("a committed block is missing".into()));
    };
    let qc = child.header.justify.clone();
    if qc.block_id() != attesting.id() {
        return Err(ProofError::Storage("the committed chain does not link".into()));
    }
    let meta = BlockMeta::decode(&attesting.payload.meta)
        .map_err(|e| ProofError::Storage(format!("a committed block's meta does not decode: {e}")))?;
    let height = meta.state.height;
    let state = storage
        .state_meta(height)?
        .ok_or_else(|| ProofError::Storage(format!("no state bookkeeping at height {height}")))?;
    if state.state_root() != meta.state.state_root {
        return Err(ProofError::Storage(format!("this node's root at height {height} differs from the attested one")));
    }
    let version = state.tree_version.ok_or(ProofError::NotYet)?;
    let store = storage.state();
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        let proof = authenticated::prove(&store, version, key).map_err(|e| ProofError::Storage(e.to_string()))?;
        entries.push(ProofEntry {
            key: hex::encode(key),
            value: proof.value.as_ref().map(hex::encode),
            proof: hex::encode(proof.proof_bytes()),
        });
    }
    let certified = CertifiedState {
        header: attesting.header.clone(),
        qc,
        meta: attesting.payload.meta.clone(),
        data_digest: Hash::digest(&attesting.payload.data),
        state,
    };
    Ok(ProofView {
        height,
        state_root: meta.state.state_root,
        block_height: attesting_height,
        certificate: certified.to_hex(),
        entries,
    })
}

/// Proves a consent: its latest version in the attested state (one record: a consent
/// amended in the last few blocks is proved as it stood at the attested height).
pub fn prove_consent(storage: &Storage, id: ConsentId) -> Result<ProofView, ProofError> {
    prove(storage, &[Record::Consent(id).key()])
}
