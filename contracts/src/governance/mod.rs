//! Consortium governance: members admitted, suspended, reinstated and removed, validators
//! added and removed, admin keys replaced and chain parameters changed, each by a vote of
//! the member organisations; epochs (a change of the validator set takes effect at the
//! block that ends the epoch); and misbehaviour of validators, on the record.
//!
//! # Rules
//! - Any active member's admin proposes; the proposal is that admin's approval. One vote
//!   per active member: an organisation's vote is cast when `admin_threshold` of its
//!   admins agree. A proposal passes when more than the genesis threshold (default two
//!   thirds) of the active members approve, and is executed in the block of the vote that
//!   carries it; it is rejected as soon as it can no longer pass, and expires at the first
//!   block after its deadline. Every proposal, vote and outcome is an audit event.
//! - An organisation's admin keys change only by its own rotation or by the consortium's
//!   vote ([`Action::SetAdmins`]).
//! - A change of the validator set is *pending* from the block that decides it. It takes
//!   effect at the first block whose state attestation covers that decision: that block
//!   ends the epoch and anchors the next (its height is the new epoch's
//!   `anchor_height`). A light client holding the old set proves the new one from that
//!   block's certificate, its attested root and a state proof of [`pending_key`].
//! - Misbehaviour evidence is verified by the consensus rules, injected through
//!   [`EvidenceCheck`] (contracts do not depend on consensus), against the validator set
//!   of the evidence's epoch, and recorded once per offence against the culprit's member.

mod errors;
mod execution;
mod messages;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub use errors::GovernanceError;
pub(crate) use execution::{apply_genesis, begin_block, execute};
pub use messages::{
    Action, AuthorityReads, Ballot, CITES_MAX, ChainParameters, EVIDENCE_BYTES_MAX, EpochRecord, EvidenceId,
    GovernanceCall, GovernanceRules, MISBEHAVIOUR_PER_ORG_MAX, Misbehaviour, NewMember, Offence, OffenceKind,
    PROPOSALS_OPEN_MAX, PROPOSALS_OPEN_PER_ORG_MAX, PendingValidators, Proposal, ProposalId, ProposalStatus, Threshold,
    VOTING_PERIOD_MIN_MS, limits,
};
pub(crate) use state::parameters_in;
pub use state::{
    epoch, epoch_key, epoch_record, misbehaviour, misbehaviour_of, open_proposals, parameters, pending_key,
    pending_validators, proposal, proposals, rules,
};

use panacea_primitives::{ChainId, Epoch};

/// Most proposals a listing reads.
pub const PROPOSALS_LISTED_MAX: usize = 1_000;

/// The consensus rules for misbehaviour evidence, injected by the host.
pub trait EvidenceCheck: Send + Sync {
    /// The epoch the encoded evidence claims (decoded, not yet verified).
    fn epoch_of(&self, evidence: &[u8]) -> Result<Epoch, String>;
    /// Decodes `evidence` and verifies it against the validators of its epoch on `chain`.
    fn verify(&self, chain: &ChainId, epoch: &EpochRecord, evidence: &[u8]) -> Result<Offence, String>;
}

/// The evidence check a block is executed with (none: evidence cannot be reported).
#[derive(Clone, Copy, Default)]
pub struct EvidenceChecker(Option<&'static dyn EvidenceCheck>);

impl EvidenceChecker {
    /// Evidence checked by `check`.
    pub fn new(check: &'static dyn EvidenceCheck) -> EvidenceChecker {
        EvidenceChecker(Some(check))
    }

    /// The check, if any.
    pub fn get(&self) -> Option<&'static dyn EvidenceCheck> {
        self.0
    }
}

impl std::fmt::Debug for EvidenceChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "EvidenceChecker(set)" } else { "EvidenceChecker(none)" })
    }
}

impl PartialEq for EvidenceChecker {
    /// Checkers implement the same rules: any two compare equal.
    fn eq(&self, _: &EvidenceChecker) -> bool {
        true
    }
}

impl Eq for EvidenceChecker {}
