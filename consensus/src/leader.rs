//! Who leads each round.

use panacea_primitives::{Round, ValidatorIndex};

/// Chooses the leader of each round.
///
/// Implementors must be deterministic: every replica, given the same round and set size,
/// must name the same leader, or rounds will fail for want of an agreed proposer.
pub trait LeaderElection: Send + Sync + core::fmt::Debug {
    /// The leader of `round` among `validators` validators (`validators > 0`).
    fn leader(&self, round: Round, validators: usize) -> ValidatorIndex;
}

/// Validators take turns, round `r` led by `r mod n`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobin;

impl LeaderElection for RoundRobin {
    fn leader(&self, round: Round, validators: usize) -> ValidatorIndex {
        let n = validators.max(1) as u64;
        // The remainder is below n, which fits a u16 because sets have at most 65535 members.
        ValidatorIndex(u16::try_from(round.0 % n).unwrap_or(0))
    }
}
