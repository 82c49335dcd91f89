//! The authenticated map over module state: a Jellyfish Merkle Tree (the `jmt` crate),
//! stored in the same [`Store`] as everything else.
//!
//! The tree stores hashes only: a leaf holds the hash of its key and of its value, and the
//! value itself is the module state's own record under its key (`s/...`), stored once.
//! A proof of `key` at the latest version reads it there.
//!
//! The last [`HISTORY_VERSIONS`] versions are kept, so that a proof can be served against
//! a root that a certified block attests (a few blocks behind the tip). What a version
//! supersedes (tree nodes, and the values that were current before it) is kept for the
//! window, filed in a prune index under that version, and deleted once the version falls
//! out of the window, in the batch of a later block. Storage stays proportional to the
//! live state plus the window's changes.

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, RootHash, Sha256Jmt, Version};
use panacea_primitives::Hash;

use super::store::{Store, StoreError, WriteBatch};

const NODE_PREFIX: &[u8] = b"j/n/";
/// Superseded values: `j/h/` + key hash + the version that superseded it (big-endian) ->
/// the value before that version (raw, as it was stored under its key).
const HISTORY_PREFIX: &[u8] = b"j/h/";
/// Prune index: `j/s/` + superseding version (big-endian) + the storage key to delete.
const PRUNE_PREFIX: &[u8] = b"j/s/";
/// How many versions back proofs can be served.
pub const HISTORY_VERSIONS: u64 = 64;
/// Most prune-index entries handled in one block, so that one block's work stays bounded;
/// a backlog after a burst is worked off by the following blocks.
const PRUNE_PER_VERSION_MAX: usize = 65_536;
/// How often (in versions) pruning also sweeps the prune index from its start.
const PRUNE_SWEEP_INTERVAL: u64 = 1_024;

/// The key hash the tree files `key` under.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash(Hash::digest(key).0)
}

fn node_key_bytes(key: &NodeKey) -> Result<Vec<u8>, StoreError> {
    let mut out = NODE_PREFIX.to_vec();
    out.extend(borsh::to_vec(key).map_err(|e| StoreError(format!("encoding a tree node key: {e}")))?);
    Ok(out)
}

fn history_key_bytes(key: &KeyHash, superseded_at: Version) -> Vec<u8> {
    [HISTORY_PREFIX, &key.0, &superseded_at.to_be_bytes()].concat()
}

fn prune_key_bytes(superseded_at: Version, target: &[u8]) -> Vec<u8> {
    [PRUNE_PREFIX, &superseded_at.to_be_bytes(), target].concat()
}

/// Reads tree nodes from a [`Store`], and when proving `key`, its value.
struct Reader<'a, S: Store + ?Sized> {
    store: &'a S,
    /// The key being proved: the tree knows only its hash, the store files it by itself.
    key: Option<&'a [u8]>,
}

impl<S: Store + ?Sized> TreeReader for Reader<'_, S> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.store.get(&node_key_bytes(node_key)?)? {
            Some(bytes) => Ok(Some(borsh::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The value at `max_version`: the one the first later version superseded, if any
    /// did; otherwise the value stored under the key now.
    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        let prefix = [HISTORY_PREFIX, &key_hash.0].concat();
        let after = history_key_bytes(&key_hash, max_version);
        if let Some((_, value)) = self.store.scan(&prefix, Some(&after), 1)?.into_iter().next() {
            return Ok(Some(value));
        }
        match self.key {
            Some(key) if self::key_hash(key) == key_hash => Ok(self.store.get(key)?),
            _ => anyhow::bail!("the value of a key is read only while proving that key"),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("restoring a tree from a snapshot is not supported")
    }
}

/// The root of the tree at `version`, or the empty root before the first version.
pub fn root<S: Store + ?Sized>(store: &S, version: Option<Version>) -> Result<Hash, StoreError> {
    let Some(version) = version else { return Ok(Hash::ZERO) };
    let reader = Reader { store, key: None };
    let tree = Sha256Jmt::new(&reader);
    let root = tree.get_root_hash(version).map_err(|e| StoreError(format!("reading the state root: {e}")))?;
    Ok(Hash(root.0))
}

/// Applies `writes` (authenticated keys only) as `version`; returns the new root and
/// adds the tree's own writes (new nodes, the values this version supersedes, filed for
/// pruning) to `batch`. The writes themselves are the caller's to store under their keys.
pub fn update<S: Store + ?Sized>(
    store: &S,
    version: Version,
    writes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    batch: &mut WriteBatch,
) -> Result<Hash, StoreError> {
    let reader = Reader { store, key: None };
    let tree = Sha256Jmt::new(&reader);
    let mut value_set: Vec<(KeyHash, Option<OwnedValue>)> = Vec::new();
    for (key, value) in writes {
        let hash = key_hash(&key);
        // Keep the value this version supersedes for the window, filed for pruning.
        if let Some(previous) = store.get(&key)? {
            let history = history_key_bytes(&hash, version);
            batch.insert(prune_key_bytes(version, &history), Some(Vec::new()));
            batch.insert(history, Some(previous));
        }
        value_set.push((hash, value));
    }
    let (root, update): (RootHash, _) =
        tree.put_value_set(value_set, version).map_err(|e| StoreError(format!("updating the state tree: {e}")))?;
    for stale in &update.stale_node_index_batch {
        batch.insert(prune_key_bytes(stale.stale_since_version, &node_key_bytes(&stale.node_key)?), Some(Vec::new()));
    }
    for (key, node) in update.node_batch.nodes() {
        let bytes = borsh::to_vec(node).map_err(|e| StoreError(format!("encoding a tree node: {e}")))?;
        batch.insert(node_key_bytes(key)?, Some(bytes));
    }
    prune(store, version, batch)?;
    Ok(Hash(root.0))
}

/// The range proof (borsh) that the tree at `version` holds nothing between the
/// previous chunk's last key and `rightmost` (the chunk's last key, the one with the
/// largest hash), for a state snapshot's chunk. `version` must be the latest.
pub fn range_proof<S: Store + ?Sized>(store: &S, version: Version, rightmost: &[u8]) -> Result<Vec<u8>, StoreError> {
    let reader = Reader { store, key: Some(rightmost) };
    let tree = Sha256Jmt::new(&reader);
    let proof = tree
        .get_range_proof(key_hash(rightmost), version)
        .map_err(|e| StoreError(format!("proving a snapshot chunk: {e}")))?;
    borsh::to_vec(&proof).map_err(|e| StoreError(format!("encoding a range proof: {e}")))
}

/// Adds the nodes a tree restore produced to `writes`, in this module's format (its
/// values are the snapshot's entries, which the importer stores under their keys).
pub fn write_restored(batch: &jmt::storage::NodeBatch, writes: &mut WriteBatch) -> Result<(), StoreError> {
    for (key, node) in batch.nodes() {
        let bytes = borsh::to_vec(node).map_err(|e| StoreError(format!("encoding a tree node: {e}")))?;
        writes.insert(node_key_bytes(key)?, Some(bytes));
    }
    Ok(())
}

/// Deletes what versions older than the window superseded.
fn prune<S: Store + ?Sized>(store: &S, version: Version, batch: &mut WriteBatch) -> Result<(), StoreError> {
    let Some(cutoff) = version.checked_sub(HISTORY_VERSIONS) else { return Ok(()) };
    // Entries of older versions went with earlier blocks, so the scan starts at the
    // cutoff's own entries: starting at the prefix would step over the deletion markers of
    // every entry pruned since the store last compacted them, a cost that grows with the
    // chain. Every `PRUNE_SWEEP_INTERVAL` versions one scan starts at the prefix, to catch
    // what a version with more than `PRUNE_PER_VERSION_MAX` entries left behind.
    // Every entry of the cutoff version sorts after this key (it adds the target).
    let from = [PRUNE_PREFIX, &cutoff.to_be_bytes()].concat();
    let after = (cutoff % PRUNE_SWEEP_INTERVAL != 0).then_some(from.as_slice());
    for (entry, _) in store.scan(PRUNE_PREFIX, after, PRUNE_PER_VERSION_MAX)? {
        let Some(rest) = entry.get(PRUNE_PREFIX.len()..) else { continue };
        let (Some(at), Some(target)) = (rest.get(..8), rest.get(8..)) else { continue };
        let superseded_at = u64::from_be_bytes(at.try_into().unwrap_or([0xff; 8]));
        if superseded_at > cutoff {
            break;
        }
        batch.insert(target.to_vec(), None);
        batch.insert(entry, None);
    }
    Ok(())
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

/// Largest encoded sparse Merkle proof accepted (256 siblings of 32 bytes and a leaf).
pub const PROOF_BYTES_MAX: usize = 9 * 1024;

/// Bytes that are not a sparse Merkle proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a state proof: {0}")]
pub struct InvalidProof(pub String);

impl StateProof {
    /// The proof's encoding (borsh, the `jmt` crate's own), for the wire.
    pub fn proof_bytes(&self) -> Vec<u8> {
        borsh::to_vec(&self.proof).unwrap_or_default()
    }

    /// A proof from its parts as they travel: the key, the value claimed and the encoded
    /// proof. Refuses oversized or malformed encodings.
    pub fn from_parts(key: Vec<u8>, value: Option<Vec<u8>>, proof: &[u8]) -> Result<StateProof, InvalidProof> {
        if proof.len() > PROOF_BYTES_MAX {
            return Err(InvalidProof(format!("{} bytes, more than {PROOF_BYTES_MAX}", proof.len())));
        }
        let proof = borsh::from_slice(proof).map_err(|e| InvalidProof(e.to_string()))?;
        Ok(StateProof { key, value, proof })
    }

    /// Checks the proof against the tree root `root`.
    pub fn verify(&self, root: Hash) -> bool {
        self.proof.verify(RootHash(root.0), key_hash(&self.key), self.value.as_deref()).is_ok()
    }
}

/// Proves the value of `key` at `version` (within the last [`HISTORY_VERSIONS`]).
pub fn prove<S: Store + ?Sized>(store: &S, version: Version, key: &[u8]) -> Result<StateProof, StoreError> {
    let reader = Reader { store, key: Some(key) };
    let tree = Sha256Jmt::new(&reader);
    let (value, proof) =
        tree.get_with_proof(key_hash(key), version).map_err(|e| StoreError(format!("proving a key: {e}")))?;
    Ok(StateProof { key: key.to_vec(), value, proof })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemoryStore;

    /// Writes `value` under `key` as each version 0..versions; returns the roots.
    fn history(store: &mut MemoryStore, versions: u64) -> Vec<Hash> {
        let mut roots = Vec::new();
        for version in 0..versions {
            let writes = vec![
                (b"s/k".to_vec(), Some(version.to_le_bytes().to_vec())),
                (format!("s/other/{version}").into_bytes(), Some(vec![1])),
            ];
            roots.push(apply(store, version, writes));
        }
        roots
    }

    /// Updates the tree and stores the writes under their keys, as a block does.
    fn apply(store: &mut MemoryStore, version: Version, writes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Hash {
        let mut batch = WriteBatch::new();
        let root = update(&*store, version, writes.clone(), &mut batch).unwrap();
        batch.extend(writes);
        store.apply(&batch);
        root
    }

    #[test]
    fn a_key_written_deleted_and_written_again_is_proved_as_it_was_at_each_version() {
        let mut store = MemoryStore::new();
        let key = b"s/k".to_vec();
        // The value of `s/k` at each version (None: absent).
        let plan: Vec<Option<&[u8]>> =
            vec![Some(b"a"), None, None, Some(b"b"), None, Some(b"gone"), None, None, Some(b"c"), None];
        let mut expected: Vec<Option<Vec<u8>>> = Vec::new();
        let mut current: Option<Vec<u8>> = None;
        let mut roots = Vec::new();
        for (version, step) in plan.iter().enumerate() {
            let version = version as u64;
            let mut writes = vec![(format!("s/filler/{version}").into_bytes(), Some(vec![7]))];
            match (step, version) {
                (Some(b"gone"), _) => {
                    writes.push((key.clone(), None));
                    current = None;
                }
                (Some(value), _) => {
                    writes.push((key.clone(), Some(value.to_vec())));
                    current = Some(value.to_vec());
                }
                (None, _) => {}
            }
            roots.push(apply(&mut store, version, writes));
            expected.push(current.clone());
        }
        for (version, value) in expected.iter().enumerate() {
            let proof = prove(&store, version as u64, &key).unwrap();
            assert_eq!(&proof.value, value, "value at version {version}");
            assert!(proof.verify(roots[version]), "proof at version {version}");
        }
        // Nothing but the tree's nodes, the window's history and the prune index is kept
        // beside the module state: the latest value is stored once, under its key.
        let copies: Vec<_> = store
            .scan(b"j/", None, usize::MAX)
            .unwrap()
            .into_iter()
            .filter(|(k, v)| !k.starts_with(NODE_PREFIX) && !k.starts_with(PRUNE_PREFIX) && v.as_slice() == b"c")
            .collect();
        assert!(copies.is_empty(), "the latest value is copied under {copies:?}");
    }

    #[test]
    fn proofs_are_served_for_every_version_in_the_window() {
        let mut store = MemoryStore::new();
        let versions = HISTORY_VERSIONS + 20;
        let roots = history(&mut store, versions);
        let latest = versions - 1;
        for version in (latest - HISTORY_VERSIONS)..=latest {
            let root = roots[usize::try_from(version).unwrap()];
            let proof = prove(&store, version, b"s/k").unwrap();
            assert_eq!(proof.value.as_deref(), Some(&version.to_le_bytes()[..]), "value at version {version}");
            assert!(proof.verify(root), "proof at version {version}");
            assert!(!proof.verify(roots[0]), "a proof does not verify against another root");
            // Absent keys are proved absent at old versions too.
            let absent = prove(&store, version, b"s/never").unwrap();
            assert!(absent.value.is_none() && absent.verify(root));
            // A key written later is absent at earlier versions.
            let later = format!("s/other/{}", version + 1).into_bytes();
            let proof = prove(&store, version, &later).unwrap();
            assert!(proof.value.is_none() && proof.verify(root));
        }
        assert!(prove(&store, latest - HISTORY_VERSIONS - 2, b"s/k").is_err(), "pruned versions are refused");
    }

    #[test]
    fn storage_stays_bounded_by_the_window() {
        let mut store = MemoryStore::new();
        history(&mut store, HISTORY_VERSIONS + 10);
        let small = store.len();
        history(&mut store, 4 * HISTORY_VERSIONS);
        // Each version adds one live key; the window's superseded nodes stay constant.
        let growth = store.len() - small;
        let live_keys_added = usize::try_from(3 * HISTORY_VERSIONS).unwrap() * 2;
        assert!(growth < live_keys_added * 8, "storage grew by {growth} entries");
        let pruned_index = store.scan(PRUNE_PREFIX, None, usize::MAX).unwrap();
        let oldest = pruned_index.first().map(|(k, _)| u64::from_be_bytes(k[4..12].try_into().unwrap())).unwrap();
        assert!(oldest > 4 * HISTORY_VERSIONS - 1 - HISTORY_VERSIONS - 1, "old versions were pruned, oldest {oldest}");
    }
}
