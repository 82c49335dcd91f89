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

    /// `qc` with the signature of every vote held for its block, if that is more.
    pub(crate) fn widen(&self, qc: QuorumCert) -> QuorumCert {
        let Some(round) = self.rounds.get(&qc.round()) else { return qc };
        let matching = round.votes.values().filter(|v| v.data == qc.data).count();
        if matching <= qc.signatures.len() {
            return qc;
        }
        // Votes are held by voter, so these come sorted by signer with no duplicates.
        let signatures = round.votes.values().filter(|v| v.data == qc.data).map(|v| (v.voter, v.signature)).collect();
        QuorumCert { epoch: qc.epoch, data: qc.data, signatures }
    }

    /// Adds a timeout whose signature the caller verified, and whose QC the caller
    /// verified or found no higher than `high_qc`; returns the TC when this timeout
    /// completes a quorum for its round. The TC carries `high_qc`, the caller's verified
    /// highest QC, which is at least every round reported.
    pub(crate) fn add_timeout(
        &mut self,
        timeout: Timeout,
        validators: &ValidatorSet,
        high_qc: &QuorumCert,
    ) -> Option<TimeoutCert> {
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
        let tc = TimeoutCert { epoch: validators.epoch(), round: number, signatures, high_qc: high_qc.clone() };
        // The caller adopted every reported QC higher than its own before counting it.
        debug_assert!(tc.high_qc.round() >= tc.max_high_qc_round());
        Some(tc)
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

#[cfg(test)]
mod tests {
    use super::*;
    use panacea_primitives::{ChainId, Epoch, Hash, Height, Keypair, Signature};
    use proptest::prelude::*;

    use crate::types::VoteData;

    fn set(n: u8) -> ValidatorSet {
        let keys = (0..n).map(|i| Keypair::from_seed([i + 1; 32]).public()).collect();
        ValidatorSet::new(ChainId::new("test").unwrap(), Epoch(0), keys).unwrap()
    }

    fn vote(round: u64, block: u8, voter: u16) -> Vote {
        Vote {
            epoch: Epoch(0),
            data: VoteData { round: Round(round), height: Height(round), block_id: Hash([block; 32]) },
            voter: ValidatorIndex(voter),
            signature: Signature([u8::try_from(voter).unwrap(); 64]),
        }
    }

    #[test]
    fn quorum_forms_one_qc() {
        let validators = set(4);
        let mut keeper = VoteKeeper::default();
        assert_eq!(keeper.add_vote(vote(1, 7, 0), &validators), VoteOutcome::Counted);
        assert_eq!(keeper.add_vote(vote(1, 7, 0), &validators), VoteOutcome::Duplicate);
        assert_eq!(keeper.add_vote(vote(1, 7, 2), &validators), VoteOutcome::Counted);
        let VoteOutcome::Certified(qc) = keeper.add_vote(vote(1, 7, 1), &validators) else { panic!("no QC") };
        let signers: Vec<u16> = qc.signatures.iter().map(|(v, _)| v.0).collect();
        assert_eq!(signers, vec![0, 1, 2]);
        assert_eq!(keeper.add_vote(vote(1, 7, 3), &validators), VoteOutcome::Counted);
    }

    #[test]
    fn conflicting_vote_is_reported_not_counted() {
        let validators = set(4);
        let mut keeper = VoteKeeper::default();
        keeper.add_vote(vote(1, 7, 0), &validators);
        assert!(matches!(keeper.add_vote(vote(1, 8, 0), &validators), VoteOutcome::Conflict(_)));
        keeper.add_vote(vote(1, 8, 1), &validators);
        // Voter 0's second vote did not count for block 8.
        assert_eq!(keeper.add_vote(vote(1, 8, 2), &validators), VoteOutcome::Counted);
    }

    #[test]
    fn pruning_bounds_rounds() {
        let validators = set(4);
        let mut keeper = VoteKeeper::default();
        for round in 0..50 {
            keeper.add_vote(vote(round, 1, 0), &validators);
        }
        keeper.prune_below(Round(45));
        assert_eq!(keeper.rounds_held(), 5);
    }

    proptest! {
        /// Whatever order votes arrive in, a QC forms exactly when some block first
        /// reaches a quorum of distinct first votes, at most once per round, with sorted
        /// distinct signers who all voted for that block first.
        #[test]
        fn vote_counting(n in 1u8..12, votes in proptest::collection::vec((0u16..12, 0u8..3), 0..60)) {
            let validators = set(n);
            let mut keeper = VoteKeeper::default();
            let mut first: BTreeMap<u16, u8> = BTreeMap::new();
            let mut qcs = Vec::new();
            for (voter, block) in votes.into_iter().filter(|(v, _)| *v < u16::from(n)) {
                let outcome = keeper.add_vote(vote(3, block, voter), &validators);
                match first.get(&voter) {
                    Some(b) if *b == block => prop_assert_eq!(&outcome, &VoteOutcome::Duplicate),
                    Some(_) => prop_assert!(matches!(outcome, VoteOutcome::Conflict(_))),
                    None => { first.insert(voter, block); }
                }
                if let VoteOutcome::Certified(qc) = outcome { qcs.push(qc); }
            }
            prop_assert!(qcs.len() <= 1);
            let best = (0u8..3).map(|b| first.values().filter(|v| **v == b).count()).max().unwrap_or(0);
            prop_assert_eq!(qcs.len() == 1, best >= validators.quorum());
            if let Some(qc) = qcs.first() {
                prop_assert!(qc.signatures.windows(2).all(|w| w[0].0 < w[1].0));
                prop_assert!(qc.signatures.iter().all(|(v, _)| first[&v.0] == qc.data.block_id.0[0]));
                prop_assert_eq!(qc.signatures.len(), validators.quorum());
            }
        }
    }
}
