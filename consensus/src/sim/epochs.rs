//! Epoch changes in the simulator: the payload marker that ends an epoch, the schedule a
//! plan draws, and what a simulated host does when an epoch ends.
//!
//! The hosts follow the rule the node follows (consensus never looks at payloads):
//! - a block whose payload says "epoch `e` ends; the next validators are `S`" ends epoch
//!   `e` once it is committed. A host that commits it stops the old replica and starts one
//!   for epoch `e + 1` with `Config::for_epoch(S, block)`, a fresh `SafetyState` and the
//!   block as committed tip. Blocks of epoch `e` above it are abandoned, never committed.
//! - A host that switched tells the others how epoch `e` ended: it broadcasts, once, the
//!   QC that made the block final, and answers every later message of epoch `e` with it.
//!   A replica still in epoch `e` takes that QC, fetches the blocks it lacks and commits
//!   the end itself, so a replica that lagged across the boundary switches through the
//!   ordinary fetching path.
//! - A host that receives a message of a later epoch asks its sender for that QC (it
//!   sends its own high QC, of its older epoch), so observers and lagging replicas that
//!   never time out are not left behind.
//! - A validator that joins starts from the anchor (state synced up to it); one that
//!   leaves keeps following as an observer, or stops.

use std::collections::BTreeSet;

use bincode::{Decode, Encode};
use panacea_primitives::{Epoch, Hash, Height, PublicKey, codec};

use super::rng::Rng;
use super::{Dest, Event, Simulation, Status};
use crate::block_tree::CommittedTip;
use crate::messages::{Message, SyncInfo};
use crate::replica::Config;
use crate::safety::SafetyState;
use crate::types::{Block, BlockRef, CommitCertificate, Payload, QuorumCert};
use crate::validators::ValidatorSet;

/// Fewest validators an epoch may have (f = 1).
pub const VALIDATORS_MIN: usize = 4;
/// Least time between two answers or requests across epochs to one peer.
const HELP_INTERVAL_MS: u64 = 300;
/// Largest simulated payload data decoded, in bytes.
const PAYLOAD_BYTES_MAX: usize = 64 * 1024;

/// "This block ends `epoch`; the validators of the next epoch are `validators`, in index
/// order": what the node's governance transaction says, in the simulator's payloads.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Marker {
    /// The epoch the block ends (the block's own epoch, or the marker is invalid).
    pub epoch: Epoch,
    /// The next epoch's validators.
    pub validators: Vec<PublicKey>,
}

/// The data of every simulated payload: who built it (which makes it unique), maybe the
/// end of the epoch, and filler that varies block sizes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct SimPayload {
    node: u64,
    round: u64,
    serial: u64,
    end: Option<Marker>,
    filler: Vec<u8>,
}

/// A simulated payload: `serial` counts the payloads `node` built.
pub fn payload(node: usize, round: u64, serial: u64, end: Option<Marker>, filler: Vec<u8>) -> Payload {
    Payload::opaque(codec::encode(&SimPayload { node: node as u64, round, serial, end, filler }))
}

/// The marker in a payload, if it is a simulated payload that carries one.
pub fn marker(payload: &Payload) -> Option<Marker> {
    codec::decode::<SimPayload, PAYLOAD_BYTES_MAX>(&payload.data).ok().and_then(|p| p.end)
}

/// True if a host finds `block`'s payload well formed: a simulated payload whose marker,
/// if any, ends the block's own epoch with a valid set of at least [`VALIDATORS_MIN`].
pub fn well_formed(block: &Block) -> bool {
    let Ok(payload) = codec::decode::<SimPayload, PAYLOAD_BYTES_MAX>(&block.payload.data) else {
        return false;
    };
    payload.end.is_none_or(|end| end.epoch == block.header.epoch && next_set(&end).is_some())
}

/// The epoch `block` ends and the next epoch's validators, if its payload says so.
pub fn ends_epoch(block: &Block) -> Option<ValidatorSet> {
    marker(&block.payload).filter(|m| m.epoch == block.header.epoch).and_then(|m| next_set(&m))
}

fn next_set(marker: &Marker) -> Option<ValidatorSet> {
    if marker.validators.len() < VALIDATORS_MIN {
        return None;
    }
    ValidatorSet::new(super::chain_id(), Epoch(marker.epoch.0 + 1), marker.validators.clone()).ok()
}

/// The epoch of a message, as a host reads it before handing it to its replica.
pub fn message_epoch(message: &Message) -> Epoch {
    match message {
        Message::Proposal(p) => p.block.header.epoch,
        Message::Vote(v) => v.epoch,
        Message::Timeout(t) => t.epoch,
        Message::Sync(s) => s.high_qc.epoch,
    }
}

/// The epoch changes one seed draws.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochPlan {
    /// Keys beyond the first `n`: key ids `n..n + extra_keys`, each a validator of some
    /// later epoch.
    pub extra_keys: usize,
    /// The changes, in order: change `e` ends epoch `e`.
    pub changes: Vec<EpochChange>,
    /// Extra keys that run as observers from the start; the others start at the switch
    /// to their first epoch, from its anchor.
    pub observers: BTreeSet<u16>,
    /// Removed validators that stop; the others keep following as observers.
    pub stop_when_removed: BTreeSet<u16>,
}

/// One epoch change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochChange {
    /// From this virtual time on, leaders of the epoch propose the change.
    pub from_ms: u64,
    /// The next epoch's validators, as key ids, in index order.
    pub validators: Vec<u16>,
}

/// How a change alters the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Add,
    Remove,
    Replace,
}

impl EpochPlan {
    /// Draws 1 to 3 changes of the `n` validators (of which `byzantine` are faulty) between
    /// `start_ms` and `end_ms`: additions, removals (a Byzantine validator, or the one who
    /// happens to lead, is fair game) and replacements, keeping every epoch between
    /// [`VALIDATORS_MIN`] and `max(7, n + 1)` validators with at most f faulty.
    pub fn draw(n: usize, byzantine: &[u16], start_ms: u64, end_ms: u64, rng: &mut Rng) -> EpochPlan {
        let size_max = n.max(6) + 1;
        let mut plan = EpochPlan::default();
        let mut set: Vec<u16> = (0..n).filter_map(|v| u16::try_from(v).ok()).collect();
        let faulty = |set: &[u16]| set.iter().filter(|v| byzantine.contains(v)).count();
        let count = rng.range(1, 3);
        let mut time = start_ms + rng.range(0, 2_000);
        for _ in 0..count {
            if time > end_ms {
                break;
            }
            // Removing an honest validator must leave the faulty ones within f.
            let removable: Vec<usize> = (0..set.len())
                .filter(|i| byzantine.contains(&set[*i]) || faulty(&set) <= (set.len() - 2) / 3)
                .collect();
            let mut options = vec![Change::Replace];
            if set.len() < size_max {
                options.push(Change::Add);
            }
            if set.len() > VALIDATORS_MIN && !removable.is_empty() {
                options.push(Change::Remove);
            }
            let change = options[rng.index(options.len())];
            let mut fresh = || {
                let key = u16::try_from(n + plan.extra_keys).unwrap_or(u16::MAX);
                plan.extra_keys += 1;
                key
            };
            let mut removed = None;
            match change {
                Change::Add => set.push(fresh()),
                Change::Remove => removed = Some(set.remove(removable[rng.index(removable.len())])),
                Change::Replace => {
                    let at = rng.index(set.len());
                    let key = fresh();
                    removed = Some(core::mem::replace(&mut set[at], key));
                }
            }
            if let Some(key) = removed
                && rng.chance(350)
            {
                plan.stop_when_removed.insert(key);
            }
            plan.changes.push(EpochChange { from_ms: time, validators: set.clone() });
            time += rng.range(1_000, 3_500);
        }
        for i in 0..plan.extra_keys {
            if rng.chance(500)
                && let Ok(key) = u16::try_from(n + i)
            {
                plan.observers.insert(key);
            }
        }
        plan
    }
}

/// An epoch change as the first honest replica to switch saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// The epoch that began.
    pub epoch: Epoch,
    /// The block that ended the epoch before (the new epoch's anchor).
    pub anchor: Hash,
    /// Its height.
    pub anchor_height: Height,
    /// Validators of the new epoch.
    pub validators: usize,
    /// The anchor's proposer (a leader of the old epoch) is not a validator of the new one.
    pub proposer_removed: bool,
    /// A Byzantine validator of the old epoch is not a validator of the new one.
    pub byzantine_removed: bool,
}

impl Simulation {
    /// The marker the host of `node` puts in the payloads it builds now, if its epoch's
    /// change is due.
    pub(super) fn marker_due(&self, node: usize) -> Option<Marker> {
        let epoch = self.nodes[node].config.validators.epoch();
        let change = usize::try_from(epoch.0).ok().and_then(|e| self.plan.epochs.changes.get(e))?;
        if self.now < change.from_ms {
            return None;
        }
        let validators = change.validators.iter().map(|k| self.keys[usize::from(*k)]).collect();
        Some(Marker { epoch, validators })
    }

    /// The host of `node` committed `anchor`, the block that ends its epoch, with
    /// `certificate` (which may prove a descendant final: `abandoned` are the blocks
    /// between). It switches to the next epoch as the node does.
    pub(super) fn switch(
        &mut self,
        node: usize,
        anchor: BlockRef,
        next: ValidatorSet,
        certificate: CommitCertificate,
        abandoned: &[BlockRef],
    ) {
        let old = self.nodes[node].config.validators.clone();
        let epoch = next.epoch();
        let anchor_id = anchor.id();
        self.mix(&[b"switch", &(node as u64).to_le_bytes(), anchor_id.as_bytes()]);
        self.note(|| format!("node {node} switches to epoch {} at height {}", epoch.0, anchor.header.height.0));
        // Keep what a replica still in the old epoch needs to commit its end: the blocks
        // above the anchor up to the certified child, which no committed chain holds.
        let child = self.nodes[node].replica.as_ref().and_then(|r| r.block(&certificate.child.id()));
        let n = &mut self.nodes[node];
        for block in abandoned.iter().chain(child.as_ref()) {
            n.abandoned.insert(block.id(), block.clone());
        }
        n.ends.insert(old.epoch(), certificate.child_qc.clone());
        if n.honest {
            self.checker.switched(node, old.epoch(), anchor_id);
            if self.feeding_fetched {
                self.switched_by_fetching.push((node, epoch));
            }
        }
        if old.index_of(&self.nodes[node].public).is_some() {
            let sync = SyncInfo { high_qc: certificate.child_qc.clone(), high_tc: None };
            self.send(node, Dest::All, Message::Sync(sync));
        }
        let config = self.epoch_config(next.clone(), &anchor);
        let n = &mut self.nodes[node];
        n.replica = None;
        n.timer_generation += 1;
        n.stored.clear();
        n.safety = SafetyState::new(epoch, QuorumCert::anchor(epoch, anchor_id, anchor.header.height));
        n.tip = CommittedTip { block: anchor.clone(), certificate: Some(certificate) };
        n.config = config;
        let early = core::mem::take(&mut n.early);
        let member = next.index_of(&n.public).is_some();
        if !member && self.plan.epochs.stop_when_removed.contains(&n.key_id) {
            n.status = Status::Stopped;
            self.note(|| format!("node {node} is no longer a validator and stops"));
        } else {
            self.boot(node);
            // What arrived from the new epoch before the switch, in order of arrival.
            for (from, message) in early {
                if self.nodes[node].config.validators.epoch() == epoch {
                    self.deliver(node, from, message);
                }
            }
        }
        if self.nodes[node].honest && !self.switches.iter().any(|s| s.epoch == epoch) {
            self.first_switch(node, &old, &next, &anchor);
        }
    }

    /// The first honest switch into an epoch: record it and start the validators that
    /// join at the switch, from its anchor, a little later (as an operator would).
    fn first_switch(&mut self, node: usize, old: &ValidatorSet, next: &ValidatorSet, anchor: &BlockRef) {
        let author = old.key(anchor.header.author).copied();
        let byzantine_removed = self
            .nodes
            .iter()
            .any(|n| !n.honest && old.index_of(&n.public).is_some() && next.index_of(&n.public).is_none());
        self.switches.push(Switch {
            epoch: next.epoch(),
            anchor: anchor.id(),
            anchor_height: anchor.header.height,
            validators: next.len(),
            proposer_removed: author.is_some_and(|key| next.index_of(&key).is_none()),
            byzantine_removed,
        });
        let tip = self.nodes[node].tip.clone();
        for joiner in 0..self.nodes.len() {
            let n = &self.nodes[joiner];
            if n.status == Status::Waiting && next.index_of(&n.public).is_some() {
                let delay = self.rng.range(0, 1_500);
                self.schedule(self.now + delay, Event::Join { node: joiner, tip: tip.clone(), set: next.clone() });
            }
        }
    }

    /// A validator that joins at a switch starts from the anchor, its state synced up to
    /// it (it holds no older block).
    pub(super) fn join(&mut self, node: usize, tip: CommittedTip, set: ValidatorSet) {
        if self.nodes[node].status != Status::Waiting {
            return;
        }
        let epoch = set.epoch();
        let anchor = tip.block.clone();
        self.mix(&[b"join", &(node as u64).to_le_bytes(), anchor.id().as_bytes()]);
        self.note(|| format!("node {node} joins epoch {} from height {}", epoch.0, anchor.header.height.0));
        let config = self.epoch_config(set, &anchor);
        let n = &mut self.nodes[node];
        n.status = Status::Active;
        n.safety = SafetyState::new(epoch, QuorumCert::anchor(epoch, anchor.id(), anchor.header.height));
        n.chain = vec![anchor.clone()];
        n.chain_index.clear();
        n.chain_index.insert(anchor.id(), 0);
        n.tip = tip;
        n.config = config;
        if n.honest {
            self.checker.joined(node, epoch, anchor.header.height);
        }
        self.boot(node);
    }

    fn epoch_config(&self, validators: ValidatorSet, anchor: &Block) -> Config {
        let mut config = Config::for_epoch(validators, anchor);
        config.round_timeout_ms = self.base_config.round_timeout_ms;
        config.round_timeout_max_ms = self.base_config.round_timeout_max_ms;
        config.leader_election = self.base_config.leader_election.clone();
        config
    }

    /// `node` received a message of an epoch it has left: if it knows how that epoch
    /// ended and its sender would listen to it (it was a validator then), it sends the QC
    /// that made the end final.
    pub(super) fn help_lagging(&mut self, node: usize, peer: usize, epoch: Epoch) {
        let n = &self.nodes[node];
        let Some(qc) = n.ends.get(&epoch).cloned() else { return };
        let was_validator = usize::try_from(epoch.0)
            .ok()
            .and_then(|e| self.sets.get(e))
            .is_some_and(|set| set.index_of(&n.public).is_some());
        if !was_validator || !self.may_contact(node, peer) {
            return;
        }
        let sync = SyncInfo { high_qc: qc, high_tc: None };
        self.send(node, Dest::Node(peer), Message::Sync(sync));
    }

    /// `node` received a message of a later epoch: it is behind, and asks the sender how
    /// its own epoch ended by sending it its high QC (of the older epoch).
    pub(super) fn ask_for_help(&mut self, node: usize, peer: usize) {
        let Some(replica) = self.nodes[node].replica.as_ref() else { return };
        let sync = SyncInfo { high_qc: replica.high_qc().clone(), high_tc: None };
        if self.may_contact(node, peer) {
            self.send(node, Dest::Node(peer), Message::Sync(sync));
        }
    }

    /// Rate limit of the messages across epochs, per peer.
    fn may_contact(&mut self, node: usize, peer: usize) -> bool {
        let now = self.now;
        let last = self.nodes[node].last_contact.entry(peer).or_insert(0);
        if *last != 0 && now < *last + HELP_INTERVAL_MS {
            return false;
        }
        *last = now.max(1);
        true
    }

    /// The validator set of `epoch` in the plan.
    pub(super) fn planned_set(&self, epoch: Epoch) -> Option<&ValidatorSet> {
        usize::try_from(epoch.0).ok().and_then(|e| self.sets.get(e))
    }

    /// The last epoch of the plan.
    pub(super) fn final_epoch(&self) -> Epoch {
        Epoch(self.plan.epochs.changes.len() as u64)
    }
}

/// The epoch `block` ends, if its payload carries a valid marker for its own epoch.
pub fn ended_by(block: &Block) -> Option<Epoch> {
    marker(&block.payload).filter(|m| m.epoch == block.header.epoch && next_set(m).is_some()).map(|m| m.epoch)
}
