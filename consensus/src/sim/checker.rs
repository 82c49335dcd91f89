//! The properties checked on every simulated run.

use std::collections::{BTreeMap, BTreeSet};

use panacea_primitives::{Hash, Height, Round, ValidatorIndex};

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
        /// The validator.
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
}

/// Collects observations and reports violations.
#[derive(Debug, Default)]
pub struct Checker {
    committed: BTreeMap<Height, Hash>,
    payload_heights: BTreeMap<Hash, Height>,
    proposed: BTreeSet<Hash>,
    heights: BTreeMap<usize, Height>,
    signed: BTreeMap<(ValidatorIndex, Round, bool), Hash>,
    byzantine: BTreeSet<ValidatorIndex>,
    violations: Vec<Violation>,
    evidence: usize,
}

impl Checker {
    /// A checker for a run in which `byzantine` validators (twins included) are faulty.
    pub fn new(byzantine: BTreeSet<ValidatorIndex>) -> Checker {
        Checker { byzantine, ..Checker::default() }
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
            Message::Proposal(p) => ((p.block.header.author, p.block.header.round, true), p.block.id()),
            Message::Vote(v) => ((v.voter, v.data.round, false), v.data.block_id),
            _ => return,
        };
        match self.signed.get(&key) {
            Some(previous) if *previous != block => {
                self.violations.push(Violation::DoubleSign { validator: key.0, round: key.1 });
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

    /// A commit certificate failed to verify.
    pub fn bad_commit_certificate(&mut self, node: usize) {
        self.violations.push(Violation::BadCommitCertificate { node });
    }

    /// A replica reported evidence: it must verify and accuse a faulty validator.
    pub fn evidence(&mut self, evidence: &Evidence, validators: &ValidatorSet) {
        self.evidence += 1;
        let culprit = evidence.culprit();
        if evidence.verify(validators).is_err() || !self.byzantine.contains(&culprit) {
            self.violations.push(Violation::BadEvidence { culprit });
        }
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
