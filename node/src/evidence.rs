//! The consensus rules for misbehaviour evidence, as the contracts need them: the node is
//! where consensus and contracts meet, so it injects this check into every block it
//! executes (`BlockContext::evidence`).

use panacea_consensus::{Evidence, ValidatorSet};
use panacea_contracts::governance::{EVIDENCE_BYTES_MAX, EpochRecord, EvidenceCheck, Offence, OffenceKind};
use panacea_primitives::{ChainId, Epoch, codec};

/// Consensus evidence ([`Evidence`], encoded with the canonical codec).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsensusEvidence;

/// The check every node executes blocks with.
pub static CONSENSUS_EVIDENCE: ConsensusEvidence = ConsensusEvidence;

/// The checker to put in a `BlockContext`.
pub fn checker() -> panacea_contracts::governance::EvidenceChecker {
    panacea_contracts::governance::EvidenceChecker::new(&CONSENSUS_EVIDENCE)
}

fn decode(bytes: &[u8]) -> Result<Evidence, String> {
    codec::decode::<Evidence, EVIDENCE_BYTES_MAX>(bytes).map_err(|e| format!("not consensus evidence: {e}"))
}

/// Encodes evidence as the chain takes it.
pub fn encode(evidence: &Evidence) -> Vec<u8> {
    codec::encode(evidence)
}

impl EvidenceCheck for ConsensusEvidence {
    fn epoch_of(&self, bytes: &[u8]) -> Result<Epoch, String> {
        Ok(match decode(bytes)? {
            Evidence::DoubleProposal { first, .. } => first.0.epoch,
            Evidence::DoubleVote { first, .. } => first.epoch,
        })
    }

    fn verify(&self, chain: &ChainId, epoch: &EpochRecord, bytes: &[u8]) -> Result<Offence, String> {
        let evidence = decode(bytes)?;
        let set = ValidatorSet::new(chain.clone(), epoch.epoch, epoch.validators.clone())
            .map_err(|e| format!("the validator set of epoch {}: {e}", epoch.epoch))?;
        evidence.verify(&set).map_err(|e| e.to_string())?;
        let culprit = *set.key(evidence.culprit()).ok_or("the culprit is not a validator of that epoch")?;
        let kind = match evidence {
            Evidence::DoubleProposal { .. } => OffenceKind::DoubleProposal,
            Evidence::DoubleVote { .. } => OffenceKind::DoubleVote,
        };
        Ok(Offence { kind, epoch: epoch.epoch, round: evidence.round().0, culprit })
    }
}
