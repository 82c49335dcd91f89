//! Who leads each round.
//!
//! Round robin gives every validator the same share of rounds, a crashed one included:
//! each round it leads times out, and so does the round before it (whose votes go to it).
//! With one of four validators down for maintenance, half the rounds fail. Leader
//! reputation (DiemBFT v4 section 6, Aptos's `LeaderReputation`) chooses leaders among the
//! validators the committed chain shows active, so a validator that neither proposes nor
//! votes stops being chosen within a few blocks, and comes back as soon as its votes are
//! in a certificate again.
//!
//! Leader election never affects safety (voting rules do); it affects liveness only when
//! replicas disagree on a leader. Replicas agree because a round's leader depends only on
//! committed blocks at least [`Reputation::lag_rounds`] rounds older than the round, which
//! every replica that has caught up holds in the same order. A replica that trails still
//! takes in the certificates of a proposal it did not expect (see `Replica`), and so
//! catches up and agrees again.

use std::collections::VecDeque;

use panacea_primitives::{Epoch, Hash, Round, ValidatorIndex};

use crate::types::BlockHeader;

/// One committed block, as leader election sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The round the block was proposed in.
    pub round: Round,
    /// Its proposer.
    pub author: ValidatorIndex,
    /// Those whose votes certified its parent (the signers of its `justify`).
    pub voters: Vec<ValidatorIndex>,
}

impl Committed {
    /// What `header` says about who was active.
    pub fn of(header: &BlockHeader) -> Committed {
        Committed {
            round: header.round,
            author: header.author,
            voters: header.justify.signatures.iter().map(|(signer, _)| *signer).collect(),
        }
    }
}

/// The last committed blocks of the epoch, oldest first, as many as the election reads.
#[derive(Debug, Clone, Default)]
pub struct History {
    epoch: Epoch,
    blocks: VecDeque<Committed>,
    capacity: usize,
}

impl History {
    /// An empty history of `epoch` keeping at most `capacity` blocks.
    pub fn new(epoch: Epoch, capacity: usize) -> History {
        History { epoch, blocks: VecDeque::with_capacity(capacity.min(1_024)), capacity }
    }

    /// Records a block committed after the ones recorded. The block an epoch starts from
    /// (the genesis block at round 0, or the previous epoch's last block), which nobody
    /// proposed in this epoch, and blocks not above the newest are ignored, so a host may
    /// hand over overlapping lists.
    pub fn record(&mut self, header: &BlockHeader) {
        if header.epoch != self.epoch || header.round == Round::ZERO || self.capacity == 0 {
            return;
        }
        if self.blocks.back().is_some_and(|last| last.round >= header.round) {
            return;
        }
        if self.blocks.len() == self.capacity {
            self.blocks.pop_front();
        }
        self.blocks.push_back(Committed::of(header));
    }

    /// The newest `count` blocks proposed in rounds `<= newest`, oldest first.
    pub fn window(&self, newest: Round, count: usize) -> impl Iterator<Item = &Committed> {
        let end = self.blocks.partition_point(|b| b.round <= newest);
        self.blocks.range(end.saturating_sub(count)..end)
    }

    /// The round of the newest block held.
    pub fn newest_round(&self) -> Option<Round> {
        self.blocks.back().map(|b| b.round)
    }

    /// Number of blocks held.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True if no block is held.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// Chooses the leader of each round.
///
/// Implementors must be deterministic: every replica, given the same round, set size and
/// committed history, must name the same leader, or rounds fail for want of an agreed
/// proposer.
pub trait LeaderElection: Send + Sync + core::fmt::Debug {
    /// The leader of `round` among `validators` validators (`validators > 0`), given the
    /// epoch's committed history.
    fn leader(&self, round: Round, validators: usize, history: &History) -> ValidatorIndex;

    /// How many of the epoch's last committed blocks the election reads: what a host
    /// hands a restarted replica.
    fn history_blocks(&self, validators: usize) -> usize {
        let _ = validators;
        0
    }
}

/// Validators take turns, round `r` led by `r mod n`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobin;

impl LeaderElection for RoundRobin {
    fn leader(&self, round: Round, validators: usize, _history: &History) -> ValidatorIndex {
        round_robin(round, validators)
    }
}

fn round_robin(round: Round, validators: usize) -> ValidatorIndex {
    let n = validators.max(1) as u64;
    // The remainder is below n, which fits a u16 because sets have at most 65535 members.
    ValidatorIndex(u16::try_from(round.0 % n).unwrap_or(0))
}

/// Leaders drawn from the validators active in a window of committed blocks.
///
/// A validator is active if it proposed one of the window's blocks or signed the
/// certificate one of them carries. The window is short, so that a validator that stops
/// is passed over within a few blocks: every validator up votes for nearly every block,
/// and its vote is in the certificate because leaders widen certificates. The leader of round `r` is drawn, by a hash of the
/// epoch and `r`, among the active validators of the newest `window_blocks` committed
/// blocks of rounds `<= r - lag_rounds`. With fewer active than a quorum (the start of an
/// epoch, whose first block carries an unsigned certificate), or
/// once the window's newest block is more than `stalled_rounds` rounds older than the rounds
/// it may hold (nothing committed for `lag_rounds + stalled_rounds` rounds), it is round
/// robin over all validators: replicas that disagree on what is committed, and so on
/// leaders, could otherwise fail every round and never commit what would reconcile them. A validator that comes back is active again once its vote is
/// in a certificate, which a leader widens with every vote it holds when it proposes.
#[derive(Debug, Clone, Copy)]
pub struct Reputation {
    /// Committed blocks whose proposers and voters count as active.
    pub window_blocks: usize,
    /// How many rounds older than the round being led the newest counted block must be:
    /// room for replicas to have committed the same blocks.
    pub lag_rounds: u64,
    /// Rounds without a commit, on top of `lag_rounds`, after which leaders are round robin
    /// until commits resume. Counted from blocks at least `lag_rounds` old only, so that
    /// replicas agree on when it starts.
    pub stalled_rounds: u64,
}

impl Default for Reputation {
    fn default() -> Reputation {
        Reputation { window_blocks: 3, lag_rounds: 4, stalled_rounds: 4 }
    }
}

/// Prefix of the bytes hashed to draw a leader.
const LEADER_DRAW_PREFIX: &[u8] = b"panacea-leader-v1";

impl LeaderElection for Reputation {
    fn leader(&self, round: Round, validators: usize, history: &History) -> ValidatorIndex {
        let n = validators.max(1);
        let newest = Round(round.0.saturating_sub(self.lag_rounds));
        let window: Vec<&Committed> = history.window(newest, self.window_blocks).collect();
        // Stalled: nothing committed in the `stalled_rounds` rounds the window ends with.
        // Only blocks at least `lag_rounds` old count, so replicas that have committed the
        // same blocks there (all of them, once a round of timeouts has spread the highest
        // certificate) fall back in the same round, whatever they committed since.
        if window.last().is_none_or(|last| newest.0 > last.round.0.saturating_add(self.stalled_rounds)) {
            return round_robin(round, n);
        }
        let mut active = vec![false; n];
        let mut any = false;
        for block in window {
            for index in std::iter::once(&block.author).chain(&block.voters) {
                if let Some(slot) = active.get_mut(index.as_usize()) {
                    *slot = true;
                    any = true;
                }
            }
        }
        let eligible: Vec<usize> = (0..n).filter(|i| active[*i]).collect();
        // Any certificate has a quorum of signers: fewer active validators means the window
        // holds none (the first block of an epoch carries the anchor's, unsigned).
        if !any || eligible.len() < n - (n - 1) / 3 {
            return round_robin(round, n);
        }
        let draw = Hash::digest_parts(&[LEADER_DRAW_PREFIX, &history.epoch.0.to_le_bytes(), &round.0.to_le_bytes()]);
        let mut word = [0u8; 8];
        word.copy_from_slice(&draw.as_bytes()[..8]);
        let pick = u64::from_le_bytes(word) % eligible.len() as u64;
        let index = eligible.get(usize::try_from(pick).unwrap_or(0)).copied().unwrap_or(0);
        ValidatorIndex(u16::try_from(index).unwrap_or(0))
    }

    fn history_blocks(&self, validators: usize) -> usize {
        // Blocks within the lag are newer than any window reads, one per round at most.
        let _ = validators;
        self.window_blocks.saturating_add(usize::try_from(self.lag_rounds).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use panacea_primitives::{Height, Signature};

    use super::*;
    use crate::types::QuorumCert;
    use crate::types::VoteData;

    fn header(round: u64, author: u16, voters: &[u16]) -> BlockHeader {
        BlockHeader {
            epoch: Epoch(0),
            round: Round(round),
            height: Height(round),
            justify: QuorumCert {
                epoch: Epoch(0),
                data: VoteData { round: Round(round - 1), height: Height(round - 1), block_id: Hash([0; 32]) },
                signatures: voters.iter().map(|v| (ValidatorIndex(*v), Signature([0; 64]))).collect(),
            },
            payload_digest: Hash([0; 32]),
            payload_bytes: 0,
            author: ValidatorIndex(author),
        }
    }

    #[test]
    fn an_empty_history_is_round_robin() {
        let history = History::new(Epoch(0), 18);
        let reputation = Reputation::default();
        for r in 0..12 {
            assert_eq!(reputation.leader(Round(r), 4, &history), ValidatorIndex(u16::try_from(r % 4).unwrap()));
        }
    }

    #[test]
    fn a_validator_neither_proposing_nor_voting_is_not_chosen() {
        let reputation = Reputation::default();
        let mut history = History::new(Epoch(0), reputation.history_blocks(4));
        for r in 1..=40 {
            history.record(&header(r, [0, 1, 2][usize::try_from(r % 3).unwrap()], &[0, 1, 2]));
        }
        let reputation = Reputation { stalled_rounds: 2_000, ..reputation };
        let leaders: Vec<u16> = (41..1_041).map(|r| reputation.leader(Round(r), 4, &history).0).collect();
        assert!(!leaders.contains(&3), "the silent validator leads no round");
        for v in 0..3 {
            let share = leaders.iter().filter(|l| **l == v).count();
            assert!((250..420).contains(&share), "validator {v} leads {share} of 1000 rounds");
        }
    }

    #[test]
    fn a_vote_in_a_certificate_makes_a_validator_active_again() {
        let reputation = Reputation { window_blocks: 4, lag_rounds: 2, stalled_rounds: 200 };
        let mut history = History::new(Epoch(0), reputation.history_blocks(4));
        for r in 1..=10 {
            history.record(&header(r, 0, &[0, 1, 2]));
        }
        history.record(&header(11, 1, &[0, 1, 2, 3]));
        // Round 13 reads blocks up to round 11, which 3 voted in.
        assert!((13..200).any(|r| reputation.leader(Round(r), 4, &history) == ValidatorIndex(3)));
        // Round 12 reads only up to round 10: 3 is not eligible yet.
        assert_ne!(reputation.leader(Round(12), 4, &history), ValidatorIndex(3));
    }

    #[test]
    fn a_stalled_chain_falls_back_to_round_robin() {
        let reputation = Reputation::default();
        let mut history = History::new(Epoch(0), reputation.history_blocks(4));
        for r in 1..=20 {
            history.record(&header(r, 0, &[0, 1, 2]));
        }
        assert!((21..=28).all(|r| reputation.leader(Round(r), 4, &history) != ValidatorIndex(3)));
        for r in 29..45 {
            assert_eq!(reputation.leader(Round(r), 4, &history), ValidatorIndex(u16::try_from(r % 4).unwrap()));
        }
    }

    #[test]
    fn replicas_that_differ_only_in_blocks_inside_the_lag_fall_back_in_the_same_rounds() {
        // Replica b committed rounds 27 and 28 after a stall; replica a has not yet. Round
        // 29 and 30 read blocks up to rounds 25 and 26 only: they must agree on the leaders.
        let reputation = Reputation::default();
        let mut a = History::new(Epoch(0), reputation.history_blocks(4));
        for r in 1..=20 {
            a.record(&header(r, 0, &[0, 1, 2]));
        }
        let mut b = a.clone();
        b.record(&header(27, 1, &[0, 1, 2]));
        b.record(&header(28, 2, &[0, 1, 2]));
        for r in 21..=30 {
            assert_eq!(reputation.leader(Round(r), 4, &a), reputation.leader(Round(r), 4, &b), "round {r}");
        }
    }

    #[test]
    fn the_window_ignores_blocks_inside_the_lag_and_other_epochs() {
        let mut history = History::new(Epoch(0), 8);
        let mut foreign = header(1, 3, &[3]);
        foreign.epoch = Epoch(1);
        history.record(&foreign);
        let mut genesis = header(1, 0, &[]);
        genesis.round = Round::ZERO;
        history.record(&genesis);
        assert!(history.is_empty(), "neither another epoch's block nor the genesis block counts");
        for r in 1..=12 {
            history.record(&header(r, 0, &[0]));
        }
        history.record(&header(5, 1, &[1]));
        assert_eq!(history.len(), 8, "bounded, and an older round is not recorded twice");
        let rounds: Vec<u64> = history.window(Round(9), 3).map(|b| b.round.0).collect();
        assert_eq!(rounds, vec![7, 8, 9]);
    }
}
