//! The authenticated map over module state: a Jellyfish Merkle Tree (the `jmt` crate),
//! stored in the same [`Store`] as everything else.
//!
//! Only the latest version is kept: nodes that a block makes stale are deleted in the same
//! batch, so storage stays proportional to the live state. Proofs are served against the
//! latest root.

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, RootHash, Sha256Jmt, Version};
use panacea_primitives::{Hash, codec};

use super::store::{Store, StoreError, WriteBatch};

const NODE_PREFIX: &[u8] = b"j/n/";
const VALUE_PREFIX: &[u8] = b"j/v/";
/// Largest stored value accepted back from storage.
const VALUE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// The key hash the tree files `key` under.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash(Hash::digest(key).0)
}

fn node_key_bytes(key: &NodeKey) -> Result<Vec<u8>, StoreError> {
    let mut out = NODE_PREFIX.to_vec();
    out.extend(borsh::to_vec(key).map_err(|e| StoreError(format!("encoding a tree node key: {e}")))?);
    Ok(out)
}

fn value_key_bytes(key: &KeyHash) -> Vec<u8> {
    let mut out = VALUE_PREFIX.to_vec();
    out.extend_from_slice(&key.0);
    out
}

/// Reads tree nodes and values from a [`Store`].
struct Reader<'a, S: Store + ?Sized> {
    store: &'a S,
}

impl<S: Store + ?Sized> TreeReader for Reader<'_, S> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.store.get(&node_key_bytes(node_key)?)? {
            Some(bytes) => Ok(Some(borsh::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        let Some(bytes) = self.store.get(&value_key_bytes(&key_hash))? else { return Ok(None) };
        let (version, value): (u64, Option<Vec<u8>>) = codec::decode::<_, VALUE_BYTES_MAX>(&bytes)?;
        if version > max_version {
            anyhow::bail!("value of version {version} asked for at version {max_version}: only the latest is kept");
        }
        Ok(value)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("restoring a tree from a snapshot is not supported")
    }
}

/// The root of the tree at `version`, or the empty root before the first version.
pub fn root<S: Store + ?Sized>(store: &S, version: Option<Version>) -> Result<Hash, StoreError> {
    let Some(version) = version else { return Ok(Hash::ZERO) };
    let reader = Reader { store };
    let tree = Sha256Jmt::new(&reader);
    let root = tree.get_root_hash(version).map_err(|e| StoreError(format!("reading the state root: {e}")))?;
    Ok(Hash(root.0))
}

/// Applies `writes` (authenticated keys only) as `version`; returns the new root and
/// adds the tree's own writes (new nodes, latest values, deleted stale nodes) to `batch`.
pub fn update<S: Store + ?Sized>(
    store: &S,
    version: Version,
    writes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    batch: &mut WriteBatch,
) -> Result<Hash, StoreError> {
    let reader = Reader { store };
    let tree = Sha256Jmt::new(&reader);
    let value_set: Vec<(KeyHash, Option<OwnedValue>)> = writes.into_iter().map(|(k, v)| (key_hash(&k), v)).collect();
    let (root, update): (RootHash, _) =
        tree.put_value_set(value_set, version).map_err(|e| StoreError(format!("updating the state tree: {e}")))?;
    for stale in &update.stale_node_index_batch {
        batch.insert(node_key_bytes(&stale.node_key)?, None);
    }
    for (key, node) in update.node_batch.nodes() {
        let bytes = borsh::to_vec(node).map_err(|e| StoreError(format!("encoding a tree node: {e}")))?;
        batch.insert(node_key_bytes(key)?, Some(bytes));
    }
    for ((version, key_hash), value) in update.node_batch.values() {
        batch.insert(value_key_bytes(key_hash), Some(codec::encode(&(*version, value.clone()))));
    }
    Ok(Hash(root.0))
}

/// A value (or its absence) and the proof that ties it to a state-tree root.
#[derive(Debug, Clone)]
pub struct StateProof {
    /// The key proved.
    pub key: Vec<u8>,
    /// Its value, or `None` for a proof of absence.
    pub value: Option<Vec<u8>>,
    /// The sparse Merkle proof.
    pub proof: jmt::proof::SparseMerkleProof<sha2_jmt::Sha256>,
}

impl StateProof {
    /// Checks the proof against the tree root `root`.
    pub fn verify(&self, root: Hash) -> bool {
        self.proof.verify(RootHash(root.0), key_hash(&self.key), self.value.as_deref()).is_ok()
    }
}

/// Proves the value of `key` at `version` (the latest).
pub fn prove<S: Store + ?Sized>(store: &S, version: Version, key: &[u8]) -> Result<StateProof, StoreError> {
    let reader = Reader { store };
    let tree = Sha256Jmt::new(&reader);
    let (value, proof) =
        tree.get_with_proof(key_hash(key), version).map_err(|e| StoreError(format!("proving a key: {e}")))?;
    Ok(StateProof { key: key.to_vec(), value, proof })
}
