//! The audit log's Merkle accumulator: a Merkle Mountain Range (the
//! `ckb-merkle-mountain-range` crate) over event hashes. Appending an event costs a few
//! hashes (no tree rewrite), and a client can check that an event is in the log from the
//! root alone.

use std::cell::RefCell;

use ckb_merkle_mountain_range::{MMR, MMRStoreReadOps, MMRStoreWriteOps, Merge, MerkleProof};
use panacea_primitives::Hash;

use super::store::{Store, StoreError, WriteBatch};

const NODE_PREFIX: &[u8] = b"a/m/";

/// Node hashing of the accumulator.
#[derive(Debug)]
pub struct MergeHash;

impl Merge for MergeHash {
    type Item = Hash;

    fn merge(left: &Hash, right: &Hash) -> ckb_merkle_mountain_range::Result<Hash> {
        Ok(Hash::digest_parts(&[b"panacea-mmr-node", left.as_bytes(), right.as_bytes()]))
    }
}

fn node_key(position: u64) -> Vec<u8> {
    let mut key = NODE_PREFIX.to_vec();
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// The accumulator's nodes: committed ones from the store, new ones in a batch.
struct Nodes<'a, S: Store + ?Sized> {
    store: &'a S,
    written: &'a RefCell<WriteBatch>,
}

impl<S: Store + ?Sized> MMRStoreReadOps<Hash> for &Nodes<'_, S> {
    fn get_elem(&self, position: u64) -> ckb_merkle_mountain_range::Result<Option<Hash>> {
        let key = node_key(position);
        if let Some(Some(bytes)) = self.written.borrow().get(&key) {
            return Ok(decode_hash(bytes));
        }
        match self.store.get(&key) {
            Ok(Some(bytes)) => Ok(decode_hash(&bytes)),
            Ok(None) => Ok(None),
            Err(e) => Err(ckb_merkle_mountain_range::Error::StoreError(e.0)),
        }
    }
}

impl<S: Store + ?Sized> MMRStoreWriteOps<Hash> for &Nodes<'_, S> {
    fn append(&mut self, position: u64, elems: Vec<Hash>) -> ckb_merkle_mountain_range::Result<()> {
        let mut written = self.written.borrow_mut();
        for (i, elem) in elems.into_iter().enumerate() {
            written.insert(node_key(position + i as u64), Some(elem.0.to_vec()));
        }
        Ok(())
    }
}

fn decode_hash(bytes: &[u8]) -> Option<Hash> {
    <[u8; 32]>::try_from(bytes).ok().map(Hash)
}

fn mmr_error(e: ckb_merkle_mountain_range::Error) -> StoreError {
    StoreError(format!("audit accumulator: {e}"))
}

/// Appends `leaves` to the accumulator of size `mmr_size`; returns the new size and root,
/// and adds the new nodes to `batch`.
pub fn append<S: Store + ?Sized>(
    store: &S,
    mmr_size: u64,
    leaves: &[Hash],
    batch: &mut WriteBatch,
) -> Result<(u64, Hash), StoreError> {
    let written = RefCell::new(WriteBatch::new());
    let nodes = Nodes { store, written: &written };
    let mut mmr = MMR::<Hash, MergeHash, _>::new(mmr_size, &nodes);
    for leaf in leaves {
        mmr.push(*leaf).map_err(mmr_error)?;
    }
    let size = mmr.mmr_size();
    let root = if size == 0 { Hash::ZERO } else { mmr.get_root().map_err(mmr_error)? };
    mmr.commit().map_err(mmr_error)?;
    batch.extend(written.into_inner());
    Ok((size, root))
}

/// Proof that the event with hash `leaf` is the `index`-th of the log.
#[derive(Debug, Clone)]
pub struct AuditProof {
    /// Position of the event in the log (its `seq`).
    pub index: u64,
    /// The accumulator size the proof is for.
    pub mmr_size: u64,
    /// Sibling and peak hashes.
    pub items: Vec<Hash>,
}

impl AuditProof {
    /// Checks that `leaf` is at `self.index` in the accumulator with `root`.
    pub fn verify(&self, root: Hash, leaf: Hash) -> bool {
        let proof = MerkleProof::<Hash, MergeHash>::new(self.mmr_size, self.items.clone());
        let position = ckb_merkle_mountain_range::leaf_index_to_pos(self.index);
        proof.verify(root, vec![(position, leaf)]).unwrap_or(false)
    }
}

/// Proves that the event at `index` is in the committed accumulator of size `mmr_size`.
pub fn prove<S: Store + ?Sized>(store: &S, mmr_size: u64, index: u64) -> Result<AuditProof, StoreError> {
    let written = RefCell::new(WriteBatch::new());
    let nodes = Nodes { store, written: &written };
    let mmr = MMR::<Hash, MergeHash, _>::new(mmr_size, &nodes);
    let position = ckb_merkle_mountain_range::leaf_index_to_pos(index);
    let proof = mmr.gen_proof(vec![position]).map_err(mmr_error)?;
    Ok(AuditProof { index, mmr_size, items: proof.proof_items().to_vec() })
}
