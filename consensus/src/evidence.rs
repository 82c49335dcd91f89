//! Proof that a validator signed two conflicting messages for one round.

use bincode::{Decode, Encode};
use panacea_primitives::{Round, Signature, ValidatorIndex};

use crate::messages::Vote;
use crate::types::BlockHeader;
use crate::validators::{CertError, ValidatorSet};

/// Self-verifying proof of misbehaviour: anyone holding the validator set can check it.
/// The host stores it, reports it, and may put it on chain for the consortium to act on.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum Evidence {
    /// The leader of a round proposed two different blocks in it.
    DoubleProposal {
        /// The first header seen and its signature.
        first: (BlockHeader, Signature),
        /// The conflicting header and its signature.
        second: (BlockHeader, Signature),
    },
    /// A validator signed two different votes (block, or height) in one round.
    DoubleVote {
        /// The first vote seen.
        first: Vote,
        /// The conflicting vote.
        second: Vote,
    },
}

impl Evidence {
    /// The validator the evidence accuses.
    pub fn culprit(&self) -> ValidatorIndex {
        match self {
            Evidence::DoubleProposal { first, .. } => first.0.author,
            Evidence::DoubleVote { first, .. } => first.voter,
        }
    }

    /// The round of the offence.
    pub fn round(&self) -> Round {
        match self {
            Evidence::DoubleProposal { first, .. } => first.0.round,
            Evidence::DoubleVote { first, .. } => first.data.round,
        }
    }

    /// Checks that the two messages really conflict and are both signed by the culprit.
    pub fn verify(&self, validators: &ValidatorSet) -> Result<(), CertError> {
        match self {
            Evidence::DoubleProposal { first, second } => {
                let (a, b) = (&first.0, &second.0);
                if a.author != b.author || a.round != b.round || a.epoch != b.epoch || a.id() == b.id() {
                    return Err(CertError::NotTwoChain("headers do not conflict"));
                }
                let domain = validators.proposal_domain();
                validators.verify_signature(a.author, domain, a.id().as_bytes(), &first.1)?;
                validators.verify_signature(b.author, domain, b.id().as_bytes(), &second.1)
            }
            Evidence::DoubleVote { first, second } => {
                if first.voter != second.voter
                    || first.data.round != second.data.round
                    || first.epoch != second.epoch
                    || first.data == second.data
                {
                    return Err(CertError::NotTwoChain("votes do not conflict"));
                }
                let domain = validators.vote_domain();
                validators.verify_signature(first.voter, domain, &first.data.signing_bytes(), &first.signature)?;
                validators.verify_signature(second.voter, domain, &second.data.signing_bytes(), &second.signature)
            }
        }
    }
}
