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

#[cfg(test)]
mod tests {
    use panacea_consensus::{Vote, VoteData};
    use panacea_primitives::{Hash, Height, Keypair, Round, ValidatorIndex};

    use super::*;

    fn chain() -> ChainId {
        ChainId::new("evidence-test").unwrap()
    }

    fn keys() -> Vec<Keypair> {
        (1..=4u8).map(|i| Keypair::from_seed([i; 32])).collect()
    }

    fn record(keys: &[Keypair]) -> EpochRecord {
        EpochRecord {
            epoch: Epoch(3),
            validators: keys.iter().map(Keypair::public).collect(),
            anchor_height: Height(9),
        }
    }

    fn vote(keys: &[Keypair], voter: u16, block: &[u8]) -> Vote {
        let set = ValidatorSet::new(chain(), Epoch(3), keys.iter().map(Keypair::public).collect()).unwrap();
        let data = VoteData { round: Round(7), height: Height(12), block_id: Hash::digest(block) };
        let signature = keys[usize::from(voter)].sign(set.vote_domain(), &data.signing_bytes());
        Vote { epoch: Epoch(3), data, voter: ValidatorIndex(voter), signature }
    }

    #[test]
    fn a_double_vote_verifies_against_its_epochs_set_and_names_the_culprits_key() {
        let keys = keys();
        let evidence = encode(&Evidence::DoubleVote { first: vote(&keys, 2, b"a"), second: vote(&keys, 2, b"b") });
        assert_eq!(CONSENSUS_EVIDENCE.epoch_of(&evidence).unwrap(), Epoch(3));
        let offence = CONSENSUS_EVIDENCE.verify(&chain(), &record(&keys), &evidence).unwrap();
        assert_eq!(
            offence,
            Offence { kind: OffenceKind::DoubleVote, epoch: Epoch(3), round: 7, culprit: keys[2].public() }
        );
    }

    #[test]
    fn evidence_that_does_not_verify_is_refused() {
        let keys = keys();
        let record = record(&keys);
        // The same vote twice is no offence.
        let same = encode(&Evidence::DoubleVote { first: vote(&keys, 1, b"a"), second: vote(&keys, 1, b"a") });
        assert!(CONSENSUS_EVIDENCE.verify(&chain(), &record, &same).is_err());
        // A forged signature.
        let mut forged = vote(&keys, 1, b"b");
        forged.signature = vote(&keys, 0, b"b").signature;
        let forged = encode(&Evidence::DoubleVote { first: vote(&keys, 1, b"a"), second: forged });
        assert!(CONSENSUS_EVIDENCE.verify(&chain(), &record, &forged).is_err());
        // Against another epoch's set, another chain, or garbage.
        let real = encode(&Evidence::DoubleVote { first: vote(&keys, 1, b"a"), second: vote(&keys, 1, b"b") });
        let other = EpochRecord { epoch: Epoch(4), ..record.clone() };
        assert!(CONSENSUS_EVIDENCE.verify(&chain(), &other, &real).is_err());
        assert!(CONSENSUS_EVIDENCE.verify(&ChainId::new("other").unwrap(), &record, &real).is_err());
        assert!(CONSENSUS_EVIDENCE.verify(&chain(), &record, &[1, 2, 3]).is_err());
        assert!(CONSENSUS_EVIDENCE.epoch_of(&[0xff; 40]).is_err());
    }
}
