//! The blocks above the last committed one, and how they reach it.
//!
//! The tree holds verified blocks that are not yet final: blocks from proposals whose
//! signature and QC checked out, and fetched blocks whose ids chain by hash to a block a
//! verified QC certifies. It is bounded in count and bytes; when full it forgets the
//! lowest-round blocks, which can be fetched again if they turn out to be needed.

use std::collections::BTreeMap;

use panacea_primitives::{Epoch, Hash, Height, Round};

use crate::types::{BlockRef, CommitCertificate};

/// The last final block and the proof that it is final (none for genesis).
#[derive(Debug, Clone)]
pub struct CommittedTip {
    /// The block.
    pub block: BlockRef,
    /// The proof; `None` for a genesis block, which is final by definition.
    pub certificate: Option<CommitCertificate>,
}

/// Why a path to the committed tip could not be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// This ancestor is not held: fetch it.
    Missing(Hash),
    /// The chain reaches the committed height on another block: it conflicts with what
    /// is final (impossible with at most f Byzantine validators).
    Conflicts,
}

#[derive(Debug)]
pub(crate) struct BlockTree {
    committed: CommittedTip,
    committed_id: Hash,
    /// The epoch being ordered; a tip from an earlier epoch (the anchor) counts as round 0.
    epoch: Epoch,
    blocks: BTreeMap<Hash, BlockRef>,
    bytes: usize,
    blocks_max: usize,
    bytes_max: usize,
}

impl BlockTree {
    pub(crate) fn new(committed: CommittedTip, epoch: Epoch, blocks_max: usize, bytes_max: usize) -> BlockTree {
        let committed_id = committed.block.id();
        BlockTree { committed, committed_id, epoch, blocks: BTreeMap::new(), bytes: 0, blocks_max, bytes_max }
    }

    pub(crate) fn committed(&self) -> &CommittedTip {
        &self.committed
    }

    /// Round of the committed tip in this epoch: rounds restart at every epoch, so the
    /// anchor block of an earlier epoch counts as round 0.
    pub(crate) fn committed_round(&self) -> Round {
        let header = &self.committed.block.header;
        if header.epoch == self.epoch { header.round } else { Round::ZERO }
    }

    pub(crate) fn committed_height(&self) -> Height {
        self.committed.block.header.height
    }

    /// The block `id`, if held (the committed tip included).
    pub(crate) fn get(&self, id: &Hash) -> Option<&BlockRef> {
        if *id == self.committed_id { Some(&self.committed.block) } else { self.blocks.get(id) }
    }

    /// True if `id` is held or is the committed tip.
    pub(crate) fn contains(&self, id: &Hash) -> bool {
        *id == self.committed_id || self.blocks.contains_key(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Adds a verified block above the committed height. Returns false if it is not
    /// above the committed tip, or if it is larger than the whole budget.
    pub(crate) fn insert(&mut self, id: Hash, block: BlockRef, keep: Option<Hash>) -> bool {
        if block.header.height <= self.committed_height() || self.blocks.contains_key(&id) {
            return false;
        }
        let size = block_size(&block);
        if size > self.bytes_max {
            return false;
        }
        while self.blocks.len() >= self.blocks_max || self.bytes + size > self.bytes_max {
            if !self.evict_one(keep) {
                return false;
            }
        }
        self.bytes += size;
        self.blocks.insert(id, block);
        true
    }

    /// Forgets the lowest-round block that is not `keep` or one of its ancestors.
    fn evict_one(&mut self, keep: Option<Hash>) -> bool {
        let mut protected = Vec::new();
        let mut cursor = keep;
        while let Some(id) = cursor {
            match self.blocks.get(&id) {
                Some(block) => {
                    protected.push(id);
                    cursor = Some(block.header.parent());
                }
                None => cursor = None,
            }
        }
        let victim = self
            .blocks
            .iter()
            .filter(|(id, _)| !protected.contains(id))
            .min_by_key(|(id, block)| (block.header.round, **id))
            .map(|(id, _)| *id);
        match victim.and_then(|id| self.blocks.remove(&id)) {
            Some(block) => {
                self.bytes -= block_size(&block);
                true
            }
            None => false,
        }
    }

    /// The blocks from just above the committed tip up to `id`, lowest first.
    pub(crate) fn path_from_committed(&self, id: Hash) -> Result<Vec<BlockRef>, PathError> {
        let mut path = Vec::new();
        let mut cursor = id;
        loop {
            if cursor == self.committed_id {
                path.reverse();
                return Ok(path);
            }
            let block = self.blocks.get(&cursor).ok_or(PathError::Missing(cursor))?;
            if block.header.height <= self.committed_height() {
                return Err(PathError::Conflicts);
            }
            path.push(block.clone());
            cursor = block.header.parent();
        }
    }

    /// Makes the last block of `path` the committed tip and forgets every block that
    /// does not descend from it.
    pub(crate) fn commit(&mut self, path: &[BlockRef], certificate: CommitCertificate) {
        let Some(tip) = path.last() else { return };
        let tip_id = tip.id();
        self.committed = CommittedTip { block: tip.clone(), certificate: Some(certificate) };
        self.committed_id = tip_id;
        let height = tip.header.height;
        // Keep exactly the descendants of the new tip: walk each block's ancestry down
        // to the new tip's height, remembering verdicts so each block is visited once.
        let mut verdict: BTreeMap<Hash, bool> = BTreeMap::new();
        verdict.insert(tip_id, true);
        let ids: Vec<Hash> = self.blocks.keys().copied().collect();
        for id in ids {
            let mut chain = Vec::new();
            let mut cursor = id;
            let descends = loop {
                if let Some(known) = verdict.get(&cursor) {
                    break *known;
                }
                match self.blocks.get(&cursor) {
                    Some(block) if block.header.height > height => {
                        chain.push(cursor);
                        cursor = block.header.parent();
                    }
                    _ => break false,
                }
            };
            for link in chain {
                verdict.insert(link, descends);
            }
        }
        let before = core::mem::take(&mut self.blocks);
        self.bytes = 0;
        for (id, block) in before {
            if id != tip_id && verdict.get(&id).copied().unwrap_or(false) {
                self.bytes += block_size(&block);
                self.blocks.insert(id, block);
            }
        }
    }
}

fn block_size(block: &BlockRef) -> usize {
    // The header is small and bounded; the payload is what costs memory.
    block.payload.len() + 512
}
