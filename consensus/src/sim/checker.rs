//! The properties checked on every simulated run.

use std::collections::{BTreeMap, BTreeSet};

use panacea_primitives::{Epoch, Hash, Height, PublicKey, Round, ValidatorIndex};

use super::epochs::ended_by;
use crate::evidence::Evidence;
use crate::messages::Message;
use crate::types::BlockRef;
use crate::validators::ValidatorSet;

/// A property the run broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Agreement: two honest replicas committed different blocks at one height.
    Fork {
        /// The height.
        height: Height,
        /// The block committed first.
        first: Hash,
        /// The other block.
        second: Hash,
    },
    /// A replica's commits skipped or repeated a height.
    Gap {
        /// Node slot.
        node: usize,
        /// The height expected next.
        expected: Height,
        /// The height committed.
        got: Height,
    },
    /// Validity: a committed payload was never proposed.
    UnknownPayload {
        /// The height.
        height: Height,
    },
    /// Validity: one payload committed at two heights.
    PayloadTwice {
        /// The payload digest.
        payload: Hash,
    },
    /// An honest validator signed two different votes or proposals for one round.
    DoubleSign {
        /// The epoch.
        epoch: Epoch,
        /// The validator, indexed in that epoch.
        validator: ValidatorIndex,
        /// The round.
        round: Round,
    },
    /// A commit certificate that does not verify.
    BadCommitCertificate {
        /// Node slot.
        node: usize,
    },
    /// Evidence that does not verify, or that accuses an honest validator.
    BadEvidence {
        /// The accused.
        culprit: ValidatorIndex,
    },
    /// Liveness: after the network healed, a replica did not reach the target height in
    /// the allotted virtual time.
    Liveness {
        /// Node slot.
        node: usize,
        /// Height reached.
        height: Height,
        /// Height required.
        target: Height,
    },
    /// Liveness across epochs: after the network healed, a validator of the last epoch of
    /// the plan did not reach it in the allotted virtual time.
    EpochNotReached {
        /// Node slot.
        node: usize,
        /// The epoch it is in.
        epoch: Epoch,
        /// The last epoch of the plan.
        expected: Epoch,
    },
    /// A replica committed a block of an epoch above the block that ended that epoch.
    CommitAfterEpochEnd {
        /// Node slot.
        node: usize,
        /// The epoch of the block.
        epoch: Epoch,
        /// Its height.
        height: Height,
    },
    /// Two honest replicas ended one epoch at different blocks, or a host switched at a
    /// block that is not the one that ended its epoch.
    SwitchMismatch {
        /// The epoch that ended.
        epoch: Epoch,
        /// The block that ended it first.
        first: Hash,
        /// The other block.
        second: Hash,
    },
    /// A replica committed the block that ends its epoch, but its host did not switch.
    NotSwitched {
        /// Node slot.
        node: usize,
        /// The epoch its host stayed in.
        epoch: Epoch,
    },
}

/// Collects observations and reports violations.
#[derive(Debug, Default)]
pub struct Checker {
    committed: BTreeMap<Height, Hash>,
    payload_heights: BTreeMap<Hash, Height>,
    proposed: BTreeSet<Hash>,
    heights: BTreeMap<usize, Height>,
    /// The epoch each node slot's commits are in, by the ends it committed.
    epochs: BTreeMap<usize, Epoch>,
    /// The block that ended each epoch, as first committed.
    ends: BTreeMap<Epoch, Hash>,
    signed: BTreeMap<(Epoch, ValidatorIndex, Round, bool), Hash>,
    faulty: BTreeSet<PublicKey>,
    violations: Vec<Violation>,
    evidence: usize,
}

impl Checker {
    /// A checker for a run in which the validators holding the `faulty` keys (Byzantine,
    /// twins) are faulty.
    pub fn new(faulty: BTreeSet<PublicKey>) -> Checker {
        Checker { faulty, ..Checker::default() }
    }

    /// A payload a host built (honest or not).
    pub fn proposed(&mut self, digest: Hash) {
        self.proposed.insert(digest);
    }

    /// True if some host built this payload (what the simulated hosts check).
    pub fn is_proposed(&self, digest: &Hash) -> bool {
        self.proposed.contains(digest)
    }

    /// An honest node sent `message`: watch for double signing.
    pub fn sent_by_honest(&mut self, message: &Message) {
        let (key, block) = match message {
            Message::Proposal(p) => {
                let header = &p.block.header;
                ((header.epoch, header.author, header.round, true), p.block.id())
            }
            Message::Vote(v) => ((v.epoch, v.voter, v.data.round, false), v.data.block_id),
            _ => return,
        };
        match self.signed.get(&key) {
            Some(previous) if *previous != block => {
                self.violations.push(Violation::DoubleSign { epoch: key.0, validator: key.1, round: key.2 });
            }
            Some(_) => {}
            None => {
                self.signed.insert(key, block);
            }
        }
    }

    /// Honest node slot `node` committed `blocks`.
    pub fn committed(&mut self, node: usize, blocks: &[BlockRef]) {
        for block in blocks {
            let height = block.header.height;
            let id = block.id();
            let expected = self.heights.get(&node).map_or(Height(1), |h| h.next());
            if height != expected {
                self.violations.push(Violation::Gap { node, expected, got: height });
            }
            self.heights.insert(node, height);
            let epoch = self.epochs.get(&node).copied().unwrap_or(Epoch(0));
            if block.header.epoch < epoch {
                self.violations.push(Violation::CommitAfterEpochEnd { node, epoch: block.header.epoch, height });
            }
            if let Some(ended) = ended_by(block)
                && ended >= epoch
            {
                self.epoch_end(ended, id);
                self.epochs.insert(node, Epoch(ended.0 + 1));
            }
            match self.committed.get(&height) {
                Some(first) if *first != id => {
                    self.violations.push(Violation::Fork { height, first: *first, second: id });
                }
                Some(_) => {}
                None => {
                    self.committed.insert(height, id);
                    let digest = block.header.payload_digest;
                    if !self.proposed.contains(&digest) {
                        self.violations.push(Violation::UnknownPayload { height });
                    }
                    if let Some(previous) = self.payload_heights.insert(digest, height)
                        && previous != height
                    {
                        self.violations.push(Violation::PayloadTwice { payload: digest });
                    }
                }
            }
        }
    }

    /// The block `id` ended `epoch` (a replica committed it): every replica must end that
    /// epoch at the same block.
    fn epoch_end(&mut self, epoch: Epoch, id: Hash) {
        match self.ends.get(&epoch) {
            Some(first) if *first != id => {
                self.violations.push(Violation::SwitchMismatch { epoch, first: *first, second: id });
            }
            Some(_) => {}
            None => {
                self.ends.insert(epoch, id);
            }
        }
    }

    /// The host of honest node slot `node` left `epoch` at block `anchor`.
    pub fn switched(&mut self, node: usize, epoch: Epoch, anchor: Hash) {
        let first = *self.ends.entry(epoch).or_insert(anchor);
        // Its own commits must show that block as the end of its epoch.
        let committed_end = self.epochs.get(&node).copied().unwrap_or(Epoch(0)) == Epoch(epoch.0 + 1);
        if first != anchor || !committed_end {
            self.violations.push(Violation::SwitchMismatch { epoch, first, second: anchor });
        }
    }

    /// Honest node slot `node` joined `epoch` with its state synced up to `height` (the
    /// epoch's anchor): its commits start above it.
    pub fn joined(&mut self, node: usize, epoch: Epoch, height: Height) {
        self.heights.insert(node, height);
        self.epochs.insert(node, epoch);
    }

    /// At the end of the run, the host of honest node slot `node` is in `epoch`: it must
    /// have switched at every end it committed.
    pub fn host_epoch(&mut self, node: usize, epoch: Epoch) {
        if self.epochs.get(&node).is_some_and(|committed| *committed > epoch) {
            self.violations.push(Violation::NotSwitched { node, epoch });
        }
    }

    /// The epoch node slot `node` committed its way into.
    pub fn epoch_of(&self, node: usize) -> Epoch {
        self.epochs.get(&node).copied().unwrap_or(Epoch(0))
    }

    /// A commit certificate failed to verify.
    pub fn bad_commit_certificate(&mut self, node: usize) {
        self.violations.push(Violation::BadCommitCertificate { node });
    }

    /// A replica reported evidence: it must verify against the set of its epoch
    /// (`validators`, none if the epoch is unknown) and accuse a faulty validator.
    pub fn evidence(&mut self, evidence: &Evidence, validators: Option<&ValidatorSet>) {
        self.evidence += 1;
        let culprit = evidence.culprit();
        let proven = validators.is_some_and(|set| {
            evidence.verify(set).is_ok() && set.key(culprit).is_some_and(|key| self.faulty.contains(key))
        });
        if !proven {
            self.violations.push(Violation::BadEvidence { culprit });
        }
    }

    /// A violation found outside the checker.
    pub fn push(&mut self, violation: Violation) {
        self.violations.push(violation);
    }

    /// A liveness failure.
    pub fn liveness(&mut self, node: usize, height: Height, target: Height) {
        self.violations.push(Violation::Liveness { node, height, target });
    }

    /// Height committed by node slot `node` (0 if none).
    pub fn height_of(&self, node: usize) -> Height {
        self.heights.get(&node).copied().unwrap_or(Height::ZERO)
    }

    /// Pieces of evidence seen.
    pub fn evidence_count(&self) -> usize {
        self.evidence
    }

    /// The violations found.
    pub fn into_violations(self) -> Vec<Violation> {
        self.violations
    }
}
