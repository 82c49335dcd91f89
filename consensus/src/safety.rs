//! The voting rules that make two conflicting blocks impossible to commit, and the
//! state that must survive a crash for them to hold.
//!
//! These are the safety rules of DiemBFT v4 / Jolteon (2-chain commit):
//! - vote for a block of round `r` only if `r` is above every round voted or timed out
//!   in, and the block extends the QC of round `r - 1`, or a QC at least as high as
//!   every QC reported in the TC of round `r - 1`;
//! - time out in round `r` only if not already voted past it, and only with a QC at
//!   least as high as any QC voted on.
//!
//! Architecture Invariant: every change to [`SafetyState`] is handed to the host as
//! `Output::PersistSafety` before the vote, timeout or proposal it allows leaves the
//! replica, so a replica restarted from its persisted state never signs twice.

use bincode::{Decode, Encode};
use panacea_primitives::{Epoch, Round, codec};

use crate::types::{QuorumCert, TimeoutCert};

/// The largest persisted safety state accepted on restart, in bytes.
pub const SAFETY_STATE_BYTES_MAX: usize = 1024 * 1024;

/// What a replica must remember across crashes to stay safe and live. Small (a QC and a
/// TC at most), and written with fsync before every vote, timeout and proposal.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct SafetyState {
    /// The epoch these rounds belong to.
    pub epoch: Epoch,
    /// The highest round voted or timed out in; no vote at or below it.
    pub last_voted_round: Round,
    /// The highest QC round of a block voted for; no timeout with a lower QC.
    pub highest_qc_round: Round,
    /// The highest round this replica proposed in; it never proposes twice in a round.
    pub last_proposed_round: Round,
    /// The highest QC known when the state was last written. After a crash the replica
    /// restarts from it: without it, a replica that voted on a QC it no longer holds could
    /// never time out again (its timeout must carry a QC at least `highest_qc_round`).
    pub high_qc: QuorumCert,
    /// The TC that ended the round before `last_voted_round`, if it ended by timeout, so
    /// that the restarted replica can re-enter the round it last acted in.
    pub high_tc: Option<TimeoutCert>,
}

/// Why a safety rule refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SafetyViolation {
    /// Already voted or timed out in this round or later.
    #[error("round {round} is not above the last voted round {last_voted}")]
    AlreadyVoted {
        /// The round asked for.
        round: Round,
        /// The last voted round.
        last_voted: Round,
    },
    /// The block neither follows its QC directly nor is justified by a TC.
    #[error("block of round {round} does not extend QC {qc_round} safely")]
    UnsafeExtension {
        /// Round of the block.
        round: Round,
        /// Round of its QC.
        qc_round: Round,
    },
    /// A timeout with a QC lower than one already voted on.
    #[error("timeout with QC round {qc_round} below the highest voted QC {highest}")]
    StaleTimeout {
        /// QC round of the timeout.
        qc_round: Round,
        /// Highest QC round voted on.
        highest: Round,
    },
    /// Already proposed in this round.
    #[error("already proposed in round {0}")]
    AlreadyProposed(Round),
}

impl SafetyState {
    /// The state of a replica that has never voted in `epoch`, whose highest QC is
    /// `high_qc` (the genesis QC, or the QC of the block the epoch starts from).
    pub fn new(epoch: Epoch, high_qc: QuorumCert) -> SafetyState {
        SafetyState {
            epoch,
            last_voted_round: Round::ZERO,
            highest_qc_round: Round::ZERO,
            last_proposed_round: Round::ZERO,
            high_qc,
            high_tc: None,
        }
    }

    /// The bytes the host persists.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes persisted bytes.
    pub fn decode(bytes: &[u8]) -> Result<SafetyState, codec::CodecError> {
        codec::decode::<SafetyState, SAFETY_STATE_BYTES_MAX>(bytes)
    }

    /// Checks whether a block of `round` justified by a QC of `qc_round` (and by `tc`
    /// when the previous round timed out) may be voted for.
    pub fn check_vote(&self, round: Round, qc_round: Round, tc: Option<&TimeoutCert>) -> Result<(), SafetyViolation> {
        if round <= self.last_voted_round || round <= qc_round {
            return Err(SafetyViolation::AlreadyVoted { round, last_voted: self.last_voted_round });
        }
        let direct = round == qc_round.next();
        let via_tc = tc.is_some_and(|tc| round == tc.round.next() && qc_round >= tc.max_high_qc_round());
        if direct || via_tc { Ok(()) } else { Err(SafetyViolation::UnsafeExtension { round, qc_round }) }
    }

    /// Records a vote allowed by [`SafetyState::check_vote`] for a block justified by
    /// `qc` (and `tc`).
    pub fn record_vote(&mut self, round: Round, qc: &QuorumCert, tc: Option<&TimeoutCert>) {
        self.last_voted_round = self.last_voted_round.max(round);
        self.highest_qc_round = self.highest_qc_round.max(qc.round());
        self.remember(qc, tc);
    }

    /// Keeps the highest QC and the newest TC, for restart.
    fn remember(&mut self, qc: &QuorumCert, tc: Option<&TimeoutCert>) {
        if qc.round() > self.high_qc.round() {
            self.high_qc = qc.clone();
        }
        if let Some(tc) = tc
            && self.high_tc.as_ref().is_none_or(|known| tc.round > known.round)
        {
            self.high_tc = Some(tc.clone());
        }
    }

    /// Checks whether this replica may time out in `round` holding a QC of `qc_round`.
    /// Timing out in a round already voted in is allowed; voting after it is not.
    pub fn check_timeout(&self, round: Round, qc_round: Round) -> Result<(), SafetyViolation> {
        if qc_round < self.highest_qc_round {
            return Err(SafetyViolation::StaleTimeout { qc_round, highest: self.highest_qc_round });
        }
        if round < self.last_voted_round || round <= qc_round {
            return Err(SafetyViolation::AlreadyVoted { round, last_voted: self.last_voted_round });
        }
        Ok(())
    }

    /// Records a timeout allowed by [`SafetyState::check_timeout`], made in a round
    /// entered through `high_qc` or `tc`.
    pub fn record_timeout(&mut self, round: Round, high_qc: &QuorumCert, tc: Option<&TimeoutCert>) {
        self.last_voted_round = self.last_voted_round.max(round);
        self.remember(high_qc, tc);
    }

    /// The round a replica restarted from this state resumes in: the one after its
    /// highest certificate, which is never below the last round it acted in.
    pub fn resume_round(&self) -> Round {
        let tc_round = self.high_tc.as_ref().map_or(Round::ZERO, |tc| tc.round);
        self.high_qc.round().max(tc_round).next()
    }

    /// Checks and records a proposal in `round`.
    pub fn record_proposal(&mut self, round: Round) -> Result<(), SafetyViolation> {
        if round <= self.last_proposed_round {
            return Err(SafetyViolation::AlreadyProposed(round));
        }
        self.last_proposed_round = round;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use panacea_primitives::Epoch;

    fn genesis() -> SafetyState {
        SafetyState::new(Epoch(0), QuorumCert::genesis(Epoch(0), panacea_primitives::Hash::ZERO))
    }

    fn qc(round: u64) -> QuorumCert {
        let mut qc = QuorumCert::genesis(Epoch(0), panacea_primitives::Hash::ZERO);
        qc.data.round = Round(round);
        qc
    }

    fn tc(round: u64, high_qc_rounds: &[u64]) -> TimeoutCert {
        TimeoutCert {
            epoch: Epoch(0),
            round: Round(round),
            signatures: high_qc_rounds
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    (
                        panacea_primitives::ValidatorIndex(u16::try_from(i).unwrap()),
                        Round(*r),
                        panacea_primitives::Signature([0; 64]),
                    )
                })
                .collect(),
            high_qc: qc(high_qc_rounds.iter().copied().max().unwrap_or(0)),
        }
    }

    /// Step table: (last voted, block round, qc round, tc, allowed).
    #[test]
    fn vote_rule_table() {
        let table: &[(u64, u64, u64, Option<TimeoutCert>, bool)] = &[
            (0, 1, 0, None, true),                     // first vote, direct extension
            (4, 5, 4, None, true),                     // happy path
            (5, 5, 4, None, false),                    // same round twice
            (6, 5, 4, None, false),                    // an old round
            (4, 6, 4, None, false),                    // skips a round without a TC
            (4, 6, 4, Some(tc(5, &[3, 4, 2])), true),  // TC justifies, QC high enough
            (4, 6, 3, Some(tc(5, &[3, 4, 2])), false), // TC reports a higher QC
            (4, 7, 4, Some(tc(5, &[3, 4, 2])), false), // TC of the wrong round
            (0, 3, 3, None, false),                    // block not above its own QC
        ];
        for (last_voted, round, qc_round, tc, allowed) in table {
            let state = SafetyState { last_voted_round: Round(*last_voted), ..genesis() };
            let verdict = state.check_vote(Round(*round), Round(*qc_round), tc.as_ref());
            assert_eq!(verdict.is_ok(), *allowed, "last_voted={last_voted} round={round} qc={qc_round} tc={tc:?}");
        }
    }

    #[test]
    fn no_vote_after_timeout_in_same_round() {
        let mut state = genesis();
        assert!(state.check_timeout(Round(3), Round(2)).is_ok());
        state.record_timeout(Round(3), &qc(2), None);
        assert!(state.check_vote(Round(3), Round(2), None).is_err());
        // ...but the timeout may be repeated.
        assert!(state.check_timeout(Round(3), Round(2)).is_ok());
    }

    #[test]
    fn timeout_needs_highest_voted_qc() {
        let mut state = genesis();
        state.record_vote(Round(5), &qc(4), None);
        assert!(matches!(state.check_timeout(Round(6), Round(3)), Err(SafetyViolation::StaleTimeout { .. })));
        assert!(state.check_timeout(Round(6), Round(5)).is_ok());
    }

    #[test]
    fn restart_resumes_in_the_last_round_acted_in() {
        // Voted in round 10 on QC 9, then timed out in 11 and 12 through TCs.
        let mut state = genesis();
        state.record_vote(Round(10), &qc(9), None);
        state.record_timeout(Round(11), &qc(9), Some(&tc(10, &[9, 9, 9])));
        state.record_timeout(Round(12), &qc(9), Some(&tc(11, &[9, 9, 9])));
        assert_eq!(state.resume_round(), Round(12));
        // From there it may repeat its timeout, and may not vote in round 12.
        assert!(state.check_timeout(state.resume_round(), state.high_qc.round()).is_ok());
        assert!(state.check_vote(Round(12), Round(11), None).is_err());
    }

    #[test]
    fn proposes_once_per_round() {
        let mut state = genesis();
        assert!(state.record_proposal(Round(2)).is_ok());
        assert!(state.record_proposal(Round(2)).is_err());
        assert!(state.record_proposal(Round(1)).is_err());
    }

    #[test]
    fn persisted_state_round_trips() {
        let state = SafetyState {
            epoch: Epoch(2),
            last_voted_round: Round(9),
            highest_qc_round: Round(8),
            last_proposed_round: Round(7),
            high_qc: qc(8),
            high_tc: Some(tc(9, &[8, 7, 8])),
        };
        assert_eq!(SafetyState::decode(&state.encode()), Ok(state));
    }
}
