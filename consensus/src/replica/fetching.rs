//! Fetching: blocks this replica lacks (a proposal's ancestors, a block a certificate
//! names) are asked of the peer most likely to hold them, retried from the others, and
//! taken in once they chain to what the replica holds.

use std::sync::Arc;

use panacea_primitives::{Hash, ValidatorIndex};

use super::{FETCH_ATTEMPTS_MAX, FETCH_RETRY_ROUNDS, Rejection, Replica, WANTED_MAX, Want, check_header_shape};
use crate::event::Output;
use crate::messages::BlockRequest;
use crate::types::Block;

impl Replica {
    pub(super) fn fetch(&mut self, id: Hash, from: ValidatorIndex, out: &mut Vec<Output>) {
        if self.tree.contains(&id) || self.wanted.contains_key(&id) || self.wanted.len() >= WANTED_MAX {
            return;
        }
        let from = if self.is_me(from) { self.leader(self.round.next()) } else { from };
        self.wanted.insert(id, Want { from, attempts: 1, requested: self.round });
        out.push(Output::FetchBlocks { request: self.block_request(id), from });
    }

    pub(super) fn block_request(&self, id: Hash) -> BlockRequest {
        BlockRequest { block_id: id, count: self.config.fetch_blocks_max, above_height: self.tree.committed_height() }
    }

    /// Asks again, each time from the next validator, for blocks not received: all of
    /// them when the round timer fires (`all`), otherwise those asked for at least
    /// `FETCH_RETRY_ROUNDS` rounds ago, so that lost answers are retried even while rounds
    /// succeed and no timer fires.
    pub(super) fn refetch(&mut self, all: bool, out: &mut Vec<Output>) {
        let n = self.validators().len();
        let me = self.index();
        let round = self.round;
        self.wanted.retain(|id, want| !self.tree.contains(id) && want.attempts < FETCH_ATTEMPTS_MAX);
        let ids: Vec<Hash> = self.wanted.keys().copied().collect();
        for id in ids {
            let request = self.block_request(id);
            let Some(want) = self.wanted.get_mut(&id) else { continue };
            if !all && round.0 < want.requested.0.saturating_add(FETCH_RETRY_ROUNDS) {
                continue;
            }
            want.attempts = want.attempts.saturating_add(1);
            want.requested = round;
            let mut next = (want.from.as_usize() + 1) % n;
            if me.is_some_and(|m| m.as_usize() == next) {
                next = (next + 1) % n;
            }
            want.from = ValidatorIndex(u16::try_from(next).unwrap_or(0));
            out.push(Output::FetchBlocks { request, from: want.from });
        }
    }

    pub(super) fn on_blocks_fetched(&mut self, blocks: Vec<Block>, out: &mut Vec<Output>) -> Result<(), Rejection> {
        let mut expected: Option<Hash> = None;
        let mut lowest: Option<(Hash, panacea_primitives::Height)> = None;
        let limit = usize::try_from(self.config.fetch_blocks_max).unwrap_or(usize::MAX);
        for block in blocks.into_iter().take(limit) {
            let id = block.id();
            // Only blocks that chain by hash to a block we asked for, which a verified
            // certificate or block named: that is what makes them authentic.
            let authentic = match expected {
                None => self.wanted.contains_key(&id),
                Some(expected) => expected == id,
            };
            if !authentic {
                break;
            }
            if block.header.epoch != self.validators().epoch()
                || check_header_shape(&block.header, &block.payload, self.config.payload_bytes_max).is_err()
                || block.payload.digest() != block.header.payload_digest
            {
                return Err(Rejection::Malformed("fetched block"));
            }
            self.wanted.remove(&id);
            let parent = block.header.parent();
            let height = block.header.height;
            if height <= self.tree.committed_height() {
                break;
            }
            if !self.tree.contains(&id) {
                let keep = Some(self.high_qc.block_id());
                self.tree.insert(id, Arc::new(block), keep);
            }
            lowest = Some((parent, height));
            expected = Some(parent);
            if self.tree.contains(&parent) {
                break;
            }
        }
        if let Some((parent, height)) = lowest
            && !self.tree.contains(&parent)
            && height.prev() > self.tree.committed_height()
        {
            let hint = self.sender.unwrap_or_else(|| self.leader(self.round));
            self.fetch(parent, hint, out);
        }
        if let Some(qc) = self.pending_commit.take() {
            self.try_commit(qc, out);
        }
        if let Some(proposal) = self.pending_proposal.take() {
            if proposal.block.header.round == self.round && self.tree.contains(&proposal.block.header.parent()) {
                return self.consider_vote(proposal.block, proposal.tc, out);
            }
            self.pending_proposal = Some(proposal);
        }
        Ok(())
    }
}
