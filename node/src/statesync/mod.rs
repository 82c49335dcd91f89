//! State sync: a node that joins a long chain takes in a snapshot of the state at a
//! certified height instead of replaying every block (`docs/decisions/0015-state-sync.md`).
//!
//! - [`store::Snapshots`] makes snapshots: at every `snapshot_interval` committed heights a
//!   RocksDB checkpoint, exported in a blocking task into chunk files, the last
//!   `snapshots_kept` kept. It serves an [`Offer`] for the newest snapshot that a certified
//!   block attests, and the chunks.
//! - [`verify_offer`] is what the joining node checks before fetching anything: the epoch
//!   changes from genesis (as a light client follows them), the certificate of the last
//!   header, the headers' chain down to the snapshot's block, and that a block among them
//!   attests exactly the snapshot's height and state root.
//! - The shell fetches the chunks from every peer that offered the same snapshot and takes
//!   each in with the contracts' importer, which checks it against the attested roots
//!   (`panacea_contracts::state::snapshot`).

pub mod store;

use panacea_client_sdk::verify::{EPOCH_CHANGE_BYTES_MAX, EpochChange, TrustAnchor};
use panacea_consensus::{Block, BlockHeader, CommitCertificate, Payload};
use panacea_contracts::state::Meta;
use panacea_primitives::{BlockMeta, Epoch, Hash, Height, codec};

pub use store::Snapshots;

/// Most headers between a snapshot's block and the certified one.
pub const OFFER_HEADERS_MAX: usize = 256;
/// Most epoch changes an offer carries.
pub const OFFER_EPOCHS_MAX: usize = 4_096;
/// Most chunks of either kind in one snapshot.
pub const CHUNKS_MAX: u32 = 1 << 22;

/// A snapshot a peer offers, with what proves it.
#[derive(Debug, Clone, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct Offer {
    /// The snapshot's height.
    pub height: Height,
    /// The state's bookkeeping at that height (its roots and counts).
    pub meta: Meta,
    /// The block at that height: it becomes the importing node's committed tip.
    pub block: Block,
    /// The headers above it, up to the certified one.
    pub headers: Vec<BlockHeader>,
    /// Which of `headers` attests the snapshot's height.
    pub attesting: u32,
    /// That block's payload meta part (a [`BlockMeta`]).
    pub attesting_meta: Vec<u8>,
    /// SHA-256 of that block's payload data part.
    pub attesting_data_digest: Hash,
    /// The commit certificate of the last header.
    pub certificate: CommitCertificate,
    /// Every epoch change from genesis up to the headers' epoch, encoded
    /// ([`EpochChange`]), in order.
    pub epoch_changes: Vec<Vec<u8>>,
    /// Chunks of module state.
    pub state_chunks: u32,
    /// Chunks of the audit log.
    pub audit_chunks: u32,
}

impl Offer {
    /// All chunks, state first.
    pub fn chunks(&self) -> u32 {
        self.state_chunks.saturating_add(self.audit_chunks)
    }
}

/// An offer that checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The offer.
    pub offer: Offer,
    /// The epoch changes followed, with the epoch each starts.
    pub epoch_changes: Vec<(Epoch, Vec<u8>)>,
}

/// Checks an offer against the chain's genesis: every epoch change from genesis, the
/// certificate of the last header under the set those changes lead to, the chain of
/// headers down to the snapshot's block, and the attestation of exactly the snapshot's
/// height and root by one of the headers.
pub fn verify_offer(genesis: &panacea_contracts::membership::Genesis, offer: Offer) -> Result<Verified, String> {
    let mut anchor = TrustAnchor::from_genesis(genesis).map_err(|e| format!("genesis: {e}"))?;
    if offer.epoch_changes.len() > OFFER_EPOCHS_MAX || offer.headers.len() > OFFER_HEADERS_MAX {
        return Err("the offer is too large".into());
    }
    if offer.state_chunks > CHUNKS_MAX || offer.audit_chunks > CHUNKS_MAX {
        return Err("the offer counts too many chunks".into());
    }
    let mut epoch_changes = Vec::with_capacity(offer.epoch_changes.len());
    for bytes in &offer.epoch_changes {
        let change = codec::decode::<EpochChange, EPOCH_CHANGE_BYTES_MAX>(bytes)
            .map_err(|e| format!("an epoch change does not decode: {e}"))?;
        anchor.follow(&change).map_err(|e| format!("epoch change to {}: {e}", change.epoch()))?;
        epoch_changes.push((change.epoch(), bytes.clone()));
    }
    let Some(last) = offer.headers.last() else { return Err("no certified header above the snapshot".into()) };
    let epoch = anchor.validators().epoch();
    anchor
        .validators()
        .verify_commit(&offer.certificate, anchor.epoch_anchor())
        .map_err(|e| format!("the certificate does not verify: {e}"))?;
    if offer.certificate.committed != last.id() {
        return Err("the certificate is for another block".into());
    }
    if offer.block.header.height != offer.height || offer.block.payload.digest() != offer.block.header.payload_digest {
        return Err("the snapshot's block does not match its header".into());
    }
    if offer.block.header.epoch > epoch {
        return Err("the snapshot's block is of a later epoch".into());
    }
    let mut parent = offer.block.id();
    let mut height = offer.height;
    for header in &offer.headers {
        if header.parent() != parent || header.height != height.next() || header.epoch != epoch {
            return Err("the headers do not chain from the snapshot's block within one epoch".into());
        }
        parent = header.id();
        height = header.height;
    }
    let attesting = offer
        .headers
        .get(offer.attesting as usize)
        .ok_or_else(|| "the attesting header is not among the headers".to_string())?;
    if Payload::digest_of(&offer.attesting_meta, offer.attesting_data_digest) != attesting.payload_digest {
        return Err("the attesting block's meta does not match its header".into());
    }
    let meta = BlockMeta::decode(&offer.attesting_meta).map_err(|e| format!("the attesting block's meta: {e}"))?;
    if meta.state.height != offer.height || meta.state.state_root != offer.meta.state_root() {
        return Err("no certified block attests this snapshot's height and root".into());
    }
    Ok(Verified { offer, epoch_changes })
}
