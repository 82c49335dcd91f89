//! Collects votes and timeouts into certificates, one round at a time, within bounds.
//!
//! Bounds: only rounds inside the window the replica admits are kept, and within a
//! round each validator has one slot for a vote and one for a timeout, so memory is at
//! most `window * n * 2` entries whatever peers send.

use std::collections::BTreeMap;

use panacea_primitives::{Round, ValidatorIndex};

use crate::messages::{Timeout, Vote};
use crate::types::{QuorumCert, TimeoutCert};
use crate::validators::ValidatorSet;

#[derive(Debug, Default)]
struct RoundVotes {
    votes: BTreeMap<ValidatorIndex, Vote>,
    qc_formed: bool,
    timeouts: BTreeMap<ValidatorIndex, Timeout>,
    tc_formed: bool,
}

/// What adding a vote did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VoteOutcome {
    /// Counted; no certificate yet.
    Counted,
    /// The voter already voted for this block in this round: ignored.
    Duplicate,
    /// The voter already voted for another block in this round: the earlier vote.
    Conflict(Box<Vote>),
    /// This vote completed a quorum.
    Certified(QuorumCert),
}

#[derive(Debug, Default)]
pub(crate) struct VoteKeeper {
    rounds: BTreeMap<Round, RoundVotes>,
}

impl VoteKeeper {
    /// The vote `voter` already cast in `round`, if any.
    pub(crate) fn vote_of(&self, round: Round, voter: ValidatorIndex) -> Option<&Vote> {
        self.rounds.get(&round)?.votes.get(&voter)
    }

    /// True if `author` already has a timeout counted in `round`.
    pub(crate) fn has_timeout(&self, round: Round, author: ValidatorIndex) -> bool {
        self.rounds.get(&round).is_some_and(|r| r.timeouts.contains_key(&author))
    }

    /// How many timeouts are counted for `round`.
    pub(crate) fn timeouts_in(&self, round: Round) -> usize {
        self.rounds.get(&round).map_or(0, |r| r.timeouts.len())
    }

    /// Adds a vote whose signature the caller verified.
    pub(crate) fn add_vote(&mut self, vote: Vote, validators: &ValidatorSet) -> VoteOutcome {
        let round = self.rounds.entry(vote.data.round).or_default();
        if let Some(previous) = round.votes.get(&vote.voter) {
            return if previous.data == vote.data {
                VoteOutcome::Duplicate
            } else {
                VoteOutcome::Conflict(Box::new(previous.clone()))
            };
        }
        let data = vote.data;
        round.votes.insert(vote.voter, vote);
        if round.qc_formed {
            return VoteOutcome::Counted;
        }
        // Each voter holds one slot per round, so the matching votes are the quorum.
        let signatures: Vec<_> =
            round.votes.values().filter(|v| v.data == data).map(|v| (v.voter, v.signature)).collect();
        if signatures.len() < validators.quorum() {
            return VoteOutcome::Counted;
        }
        round.qc_formed = true;
        VoteOutcome::Certified(QuorumCert { epoch: validators.epoch(), data, signatures })
    }

    /// Adds a timeout whose signature and certificates the caller verified; returns the
    /// TC when this timeout completes a quorum for its round.
    pub(crate) fn add_timeout(&mut self, timeout: Timeout, validators: &ValidatorSet) -> Option<TimeoutCert> {
        let round = self.rounds.entry(timeout.round).or_default();
        if round.timeouts.contains_key(&timeout.author) {
            return None;
        }
        let number = timeout.round;
        round.timeouts.insert(timeout.author, timeout);
        if round.tc_formed || round.timeouts.len() < validators.quorum() {
            return None;
        }
        round.tc_formed = true;
        let signatures = round.timeouts.values().map(|t| (t.author, t.high_qc.round(), t.signature)).collect();
        Some(TimeoutCert { epoch: validators.epoch(), round: number, signatures })
    }

    /// Forgets every round below `round`.
    pub(crate) fn prune_below(&mut self, round: Round) {
        self.rounds = self.rounds.split_off(&round);
    }

    /// Number of rounds held (for tests of the bounds).
    #[cfg(test)]
    pub(crate) fn rounds_held(&self) -> usize {
        self.rounds.len()
    }
}
