//! Payloads: what a leader proposes and what a voter checks before it votes. A leader takes
//! what its pool holds that no uncommitted ancestor carries (`try_build`, `build_body`);
//! a voter decodes a proposal's body, checks its time, its signers and the state root it
//! attests against its own (`check_payload`), waiting for its own commit of that height
//! when it lags.

use std::collections::BTreeSet;
use std::sync::Arc;

use panacea_consensus::{Block, Input};
use panacea_contracts::membership::ChainMode;
use panacea_contracts::next_nonce;
use panacea_contracts::state::authenticated::HISTORY_VERSIONS;
use panacea_primitives::{Hash, Height, StateAttestation, Timestamp};

use super::{Build, Check, PAYLOAD_BYTES_MAX, PendingBody, Shell, ShellError, judged};
use crate::payload::BlockBody;

impl Shell {
    /// The decoded body of `block`, cached while the block is uncommitted.
    pub(super) fn body_of(&mut self, block: &Block) -> Option<PendingBody> {
        let id = block.id();
        if let Some(body) = self.bodies.get(&id) {
            return Some(body.clone());
        }
        if block.header.height == Height::ZERO {
            return None;
        }
        let body = BlockBody::decode_in::<PAYLOAD_BYTES_MAX>(
            self.shared.chain.genesis.mode,
            &block.payload,
            panacea_contracts::BLOCK_TRANSACTIONS_MAX,
        )
        .ok()?;
        let ids = body.item_ids();
        let pending = PendingBody { height: block.header.height, body: Arc::new(body), ids: Arc::new(ids) };
        if block.header.height > self.tip.height {
            self.bodies.insert(id, pending.clone());
        }
        Some(pending)
    }

    /// The time of block `id` (the committed tip or an uncommitted block held).
    pub(super) fn time_of(&mut self, id: &Hash) -> Option<Timestamp> {
        if *id == self.tip.id {
            return Some(self.tip.time);
        }
        let block = self.replica.block(id)?;
        self.body_of(&block).map(|b| b.body.time())
    }

    pub(super) fn check_payload(&mut self, block: &Block) -> Check {
        let Some(body) = self.body_of(block) else {
            tracing::warn!(block = %block.id(), author = %block.header.author, "proposed payload does not decode");
            return Check::Done(false);
        };
        // A parent this replica does not hold yet (certified, so others do) is checked
        // against the committed tip's time instead, which is never later than it.
        let parent_time = self.time_of(&block.header.parent()).unwrap_or(self.tip.time);
        let attested = body.body.meta.state;
        let checked = body.body.check_time(parent_time, self.clock.now()).and_then(|()| {
            if attested.height > self.tip.height && attested.height < block.header.height {
                return Ok(None); // This node has not committed that height yet.
            }
            let ours = if attested.height == self.tip.height {
                self.tip.state_root
            } else if attested.height > self.tip.height {
                Hash::ZERO // Not below the block's height: check_state refuses it.
            } else {
                match self.shared.storage.state_root(attested.height) {
                    Ok(Some(root)) => root,
                    Ok(None) | Err(_) => Hash::ZERO,
                }
            };
            body.body.check_state(block.header.height, ours).map(Some)
        });
        match checked.and_then(|checked| checked.map(|()| self.check_signers(&body.body, attested)).transpose()) {
            Ok(Some(())) => Check::Done(true),
            Ok(None) => Check::AfterCommitOf(attested.height),
            Err(e) => {
                tracing::warn!(block = %block.id(), error = %e, "proposed block refused");
                Check::Done(false)
            }
        }
    }

    /// Refuses a body carrying a transaction whose signer had no owner in the state the
    /// block attests, which this node has committed (the caller checked). When this node
    /// has moved past it, the answer comes from the state tree's history, so that every
    /// honest voter answers alike however far its own tip is (a key rotated out since was
    /// still registered then); a state older than the history kept is not judged, and
    /// execution fails such a transaction safely.
    pub(super) fn check_signers(
        &self,
        body: &BlockBody,
        attested: StateAttestation,
    ) -> Result<(), crate::payload::BodyError> {
        if body.transactions.is_empty() {
            return Ok(());
        }
        let storage = &self.shared.storage;
        let state = storage.state();
        if attested.height == self.tip.height {
            return body.check_signers(|key| judged(crate::admission::registered(&state, key)));
        }
        let version = |height| storage.state_meta(height).ok().flatten().and_then(|meta| meta.tree_version);
        match (version(attested.height), version(self.tip.height)) {
            (Some(then), Some(now)) if now.saturating_sub(then) < HISTORY_VERSIONS => {
                body.check_signers(|key| judged(crate::admission::registered_at(&state, then, key)))
            }
            _ => Ok(()),
        }
    }

    /// Answers a deferred payload check once the tip has reached the attested height.
    pub(super) fn resume_deferred_check(&mut self) {
        let Some(block) = self.deferred.take() else { return };
        match self.check_payload(&block) {
            Check::Done(valid) => self.queue.push_back(Input::PayloadChecked { block_id: block.id(), valid }),
            Check::AfterCommitOf(_) => self.deferred = Some(block),
        }
    }

    /// The ids the uncommitted blocks from `parent` down to the committed tip carry, or
    /// `None` if one of them is not held here (a replica restarted on a certificate of a
    /// block it never received), when a new block could repeat what they carry.
    pub(super) fn in_flight(&mut self, parent: Hash) -> Option<BTreeSet<Hash>> {
        let mut out = BTreeSet::new();
        let mut id = parent;
        for _ in 0..=self.config.blocks_max {
            if id == self.tip.id {
                return Some(out);
            }
            let block = self.replica.block(&id)?;
            out.extend(self.body_of(&block)?.ids.iter().copied());
            id = block.header.parent();
        }
        None
    }

    pub(super) fn try_build(&mut self, deadline_passed: bool) -> Result<(), ShellError> {
        let Some(build) = self.building else { return Ok(()) };
        let Some(body) = self.build_body(build, deadline_passed) else { return Ok(()) };
        self.building = None;
        self.queue.push_back(Input::PayloadReady { round: build.round, payload: body.to_payload() });
        self.drain()
    }

    /// The body of the block `build` asks for, or `None` while a leader with nothing to
    /// order waits (see the module's comment).
    pub(super) fn build_body(&mut self, build: Build, deadline_passed: bool) -> Option<BlockBody> {
        // A leader that cannot see every uncommitted ancestor proposes an empty block at
        // once: whatever they carry commits with it, and nothing is ordered twice.
        let (in_flight, ancestors_known) = match self.in_flight(build.parent) {
            Some(ids) => (ids, true),
            None => (BTreeSet::new(), false),
        };
        let items_max = if ancestors_known { self.settings.block_transactions_max } else { 0 };
        let bytes_max = self.settings.block_bytes_max.saturating_sub(1024);
        // What the block carries: signed transactions, or on an ordering-only chain the
        // oldest opaque batches.
        let (transactions, batches) = if self.shared.chain.genesis.mode == ChainMode::OrderingOnly {
            let batches = match self.shared.batches.lock() {
                Ok(pool) => pool.select(items_max, bytes_max, &in_flight),
                Err(_) => Vec::new(),
            };
            (Vec::new(), batches.iter().map(|b| (**b).clone()).collect())
        } else {
            let state = self.shared.storage.state();
            let selected = match self.shared.mempool.lock() {
                Ok(pool) => pool
                    .select(items_max, bytes_max, &in_flight, |signer| next_nonce(&state, signer).unwrap_or(u64::MAX)),
                Err(_) => Vec::new(),
            };
            // What the voters check: every signer has an owner in the state this block
            // attests, this node's committed tip (a key admitted earlier may have been
            // rotated out since; its transactions wait in the pool until they expire).
            let transactions = selected
                .iter()
                .filter(|t| judged(crate::admission::registered(&state, &t.tx.signer)))
                .map(|t| (**t).clone())
                .collect();
            (transactions, Vec::new())
        };
        let empty = transactions.is_empty() && batches.is_empty();
        if empty && ancestors_known && in_flight.is_empty() && !deadline_passed && !self.announce_commit {
            return None;
        }
        self.announce_commit = false;
        // The parent is certified but may not be held here (a replica restarted on a tip
        // whose child it only knows by certificate): its time is then at most now.
        let parent_time = self.time_of(&build.parent).unwrap_or(self.tip.time);
        let time = self.clock.now().max(parent_time.plus_millis(1));
        let state = StateAttestation { height: self.tip.height, state_root: self.tip.state_root };
        let mut body = BlockBody::new(time, state, transactions);
        body.batches = batches;
        Some(body)
    }
}
