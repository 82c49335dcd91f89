//! The validator set the shell runs consensus with, as the chain's state records it: the
//! current epoch's validators, their nodes' peer ids and the block the epoch starts from.
//!
//! The contracts end an epoch (`governance::begin_block`) at the first block whose state
//! attestation covers a decided validator-set change; the shell, once that block is
//! committed, switches its replica to the next epoch anchored at it
//! ([`panacea_consensus::Config::for_epoch`]).

use libp2p::PeerId;
use panacea_client_sdk::verify::EpochChange;
use panacea_consensus::{Block, BlockHeader, ValidatorSet};
use panacea_contracts::governance::EpochRecord;
use panacea_contracts::membership::Organisation;
use panacea_primitives::{BlockMeta, Epoch, Hash, Height, ValidatorIndex};

use super::ShellError;
use crate::chain::{ChainSpec, peer_id_of};
use crate::storage::Storage;

/// One epoch's validators as the shell uses them.
#[derive(Debug, Clone)]
pub struct EpochView {
    /// The validator set.
    pub set: ValidatorSet,
    /// Each validator's node, by index (`None`: no network key on record).
    pub peers: Vec<Option<PeerId>>,
    /// The header of the block the epoch starts from (a node that imported a snapshot may
    /// hold only the header, from the epoch change it checked).
    pub anchor: BlockHeader,
}

impl EpochView {
    /// The epoch the committed state says is current.
    pub fn load(storage: &Storage, chain: &ChainSpec) -> Result<EpochView, ShellError> {
        let state = storage.state();
        let record = panacea_contracts::governance::epoch(&state)?.unwrap_or_else(|| EpochRecord {
            epoch: Epoch(0),
            validators: (0..chain.validators.len())
                .filter_map(|i| u16::try_from(i).ok().and_then(|i| chain.validators.key(ValidatorIndex(i)).copied()))
                .collect(),
            anchor_height: Height::ZERO,
        });
        let anchor = if record.anchor_height == Height::ZERO {
            chain.genesis_block.header.clone()
        } else {
            match storage.block(record.anchor_height)? {
                Some(block) => block.header,
                None => anchor_from_change(storage, &record)?,
            }
        };
        let organisations = panacea_contracts::membership::organisations(&state)?;
        EpochView::new(chain, &record, anchor, &organisations)
    }

    /// The view of `record`, starting from `anchor`.
    pub fn new(
        chain: &ChainSpec,
        record: &EpochRecord,
        anchor: BlockHeader,
        organisations: &[Organisation],
    ) -> Result<EpochView, ShellError> {
        let set = ValidatorSet::new(chain.chain_id().clone(), record.epoch, record.validators.clone())
            .map_err(|e| ShellError::Fatal(format!("the validator set of epoch {}: {e}", record.epoch)))?;
        let peers = record
            .validators
            .iter()
            .map(|key| {
                organisations
                    .iter()
                    .find(|org| org.validator_key.as_ref() == Some(key))
                    .and_then(|org| org.network_key.as_ref())
                    .and_then(peer_id_of)
            })
            .collect();
        Ok(EpochView { set, peers, anchor })
    }

    /// The epoch.
    pub fn epoch(&self) -> Epoch {
        self.set.epoch()
    }

    /// Id of the block the epoch starts from.
    pub fn anchor_id(&self) -> Hash {
        self.anchor.id()
    }

    /// The validator whose node is `peer`.
    pub fn validator_of_peer(&self, peer: &PeerId) -> Option<ValidatorIndex> {
        let position = self.peers.iter().position(|p| p.as_ref() == Some(peer))?;
        u16::try_from(position).ok().map(ValidatorIndex)
    }

    /// The node of validator `index`.
    pub fn peer_of_validator(&self, index: ValidatorIndex) -> Option<PeerId> {
        self.peers.get(index.as_usize()).copied().flatten()
    }
}

/// The header of the block that started `record`'s epoch, from the stored proof of the
/// change (a node that imported a snapshot above it holds no such block).
fn anchor_from_change(storage: &Storage, record: &EpochRecord) -> Result<BlockHeader, ShellError> {
    let missing = || ShellError::Fatal(format!("the block that starts epoch {} is missing from storage", record.epoch));
    let bytes = storage.epoch_change(record.epoch)?.ok_or_else(missing)?;
    let change =
        panacea_primitives::codec::decode::<EpochChange, { panacea_client_sdk::verify::EPOCH_CHANGE_BYTES_MAX }>(
            &bytes,
        )
        .map_err(|e| ShellError::Fatal(format!("the stored proof of epoch {}: {e}", record.epoch)))?;
    if change.header.height != record.anchor_height {
        return Err(missing());
    }
    Ok(change.header)
}

/// The light client's proof of the change that ended the epoch at `ended`: its header and
/// meta, its end proof (certificate and linking headers), the state bookkeeping it attests
/// and the state proof of the decided validator set there. `None` when something it needs
/// is gone (the attested version fell out of the state tree's history).
pub(super) fn epoch_change_proof(
    storage: &Storage,
    ended: &Block,
    end: &crate::storage::EpochEnd,
) -> Result<Option<EpochChange>, ShellError> {
    let height = ended.header.height;
    let end = end.clone();
    let meta = match BlockMeta::decode(&ended.payload.meta) {
        Ok(meta) => meta,
        Err(_) => return Ok(None),
    };
    let Some(state) = storage.state_meta(meta.state.height)? else { return Ok(None) };
    let Some(version) = state.tree_version else { return Ok(None) };
    let key = panacea_contracts::governance::pending_key();
    let proof = match panacea_contracts::state::authenticated::prove(&storage.state(), version, &key) {
        Ok(proof) => proof,
        Err(e) => {
            tracing::warn!(error = %e, %height, "cannot prove the decided validator set of an epoch change");
            return Ok(None);
        }
    };
    let Some(pending) = proof.value.clone() else { return Ok(None) };
    Ok(Some(EpochChange {
        header: ended.header.clone(),
        meta: ended.payload.meta.clone(),
        data_digest: Hash::digest(&ended.payload.data),
        certificate: end.certificate,
        suffix: end.suffix,
        state,
        pending,
        proof: proof.proof_bytes(),
    }))
}
