//! The validator set of an epoch and the checks of its certificates.

use panacea_primitives::{
    BatchVerifier, ChainId, Domain, Epoch, Hash, PublicKey, Round, Signature, SignatureKind, ValidatorIndex,
};

use crate::types::{BlockHeader, CommitCertificate, QuorumCert, TimeoutCert, TimeoutData};

/// Why a certificate or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Signed for another epoch than the one this set serves.
    #[error("certificate of epoch {got}, expected {expected}")]
    WrongEpoch {
        /// The certificate's epoch.
        got: Epoch,
        /// This set's epoch.
        expected: Epoch,
    },
    /// A signer index outside the set.
    #[error("unknown signer {0}")]
    UnknownSigner(ValidatorIndex),
    /// Signers not strictly increasing: a duplicate or an unsorted list.
    #[error("signers duplicated or out of order")]
    DuplicateSigner,
    /// Fewer signers than a quorum.
    #[error("{have} signers, a quorum is {need}")]
    NoQuorum {
        /// Distinct signers present.
        have: usize,
        /// Quorum size.
        need: usize,
    },
    /// At least one signature does not verify.
    #[error("invalid signature")]
    BadSignature,
    /// A round-0 certificate for a block that is not genesis.
    #[error("round-0 certificate for a block that is not genesis")]
    NotGenesis,
    /// A TC whose QC is lower than a round its signers report (or not below its round).
    #[error("timeout certificate does not carry a QC as high as its signers report")]
    UnprovenHighQc,
    /// A commit certificate whose parts do not fit together.
    #[error("commit certificate does not prove a 2-chain: {0}")]
    NotTwoChain(&'static str),
}

/// A validator set is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    /// No validators.
    #[error("a validator set needs at least one validator")]
    Empty,
    /// More than a `ValidatorIndex` can address.
    #[error("{0} validators exceed the limit of 65535")]
    TooMany(usize),
    /// The same key twice (the later position is given).
    #[error("validator key at position {0} appears twice")]
    DuplicateKey(usize),
}

/// The validators of one epoch, in index order, with the signing domains of its messages.
///
/// All validators weigh the same (one organisation, one vote): with `n = 3f + 1 + k`
/// (`k < 3`), up to `f = (n - 1) / 3` may be Byzantine and a quorum is `n - f`.
#[derive(Debug, Clone)]
pub struct ValidatorSet {
    chain_id: ChainId,
    epoch: Epoch,
    keys: Vec<PublicKey>,
    proposal_domain: Domain,
    vote_domain: Domain,
    timeout_domain: Domain,
}

impl ValidatorSet {
    /// The set `keys` (index `i` is `keys[i]`) for `epoch` on `chain_id`.
    pub fn new(chain_id: ChainId, epoch: Epoch, keys: Vec<PublicKey>) -> Result<ValidatorSet, ValidatorSetError> {
        if keys.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if keys.len() > usize::from(u16::MAX) {
            return Err(ValidatorSetError::TooMany(keys.len()));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(position) = keys.iter().position(|key| !seen.insert(*key)) {
            return Err(ValidatorSetError::DuplicateKey(position));
        }
        let domain = |kind| Domain::new(chain_id.clone(), epoch, kind);
        Ok(ValidatorSet {
            proposal_domain: domain(SignatureKind::ConsensusProposal),
            vote_domain: domain(SignatureKind::ConsensusVote),
            timeout_domain: domain(SignatureKind::ConsensusTimeout),
            chain_id,
            epoch,
            keys,
        })
    }

    /// The chain this set serves.
    pub fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    /// The epoch this set serves.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Number of validators, `n`.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a set is never empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many may be Byzantine, `f = (n - 1) / 3`.
    pub fn max_faulty(&self) -> usize {
        (self.keys.len() - 1) / 3
    }

    /// Signers needed for a certificate, `n - f`.
    pub fn quorum(&self) -> usize {
        self.keys.len() - self.max_faulty()
    }

    /// The key of `index`, if it is in the set.
    pub fn key(&self, index: ValidatorIndex) -> Option<&PublicKey> {
        self.keys.get(index.as_usize())
    }

    /// The index of `key`, if it is in the set.
    pub fn index_of(&self, key: &PublicKey) -> Option<ValidatorIndex> {
        let position = self.keys.iter().position(|k| k == key)?;
        u16::try_from(position).ok().map(ValidatorIndex)
    }

    /// All indices, in order.
    pub fn indices(&self) -> impl Iterator<Item = ValidatorIndex> + '_ {
        (0..self.keys.len()).filter_map(|i| u16::try_from(i).ok().map(ValidatorIndex))
    }

    /// Domain of proposal signatures.
    pub fn proposal_domain(&self) -> &Domain {
        &self.proposal_domain
    }

    /// Domain of vote signatures.
    pub fn vote_domain(&self) -> &Domain {
        &self.vote_domain
    }

    /// Domain of timeout signatures.
    pub fn timeout_domain(&self) -> &Domain {
        &self.timeout_domain
    }

    fn check_epoch(&self, epoch: Epoch) -> Result<(), CertError> {
        if epoch == self.epoch { Ok(()) } else { Err(CertError::WrongEpoch { got: epoch, expected: self.epoch }) }
    }

    /// Checks that `signers` are known, strictly increasing and a quorum.
    fn check_signers(&self, signers: impl Iterator<Item = ValidatorIndex>) -> Result<(), CertError> {
        let mut previous: Option<ValidatorIndex> = None;
        let mut count = 0usize;
        for signer in signers {
            if self.key(signer).is_none() {
                return Err(CertError::UnknownSigner(signer));
            }
            if previous.is_some_and(|p| p >= signer) {
                return Err(CertError::DuplicateSigner);
            }
            previous = Some(signer);
            count += 1;
        }
        if count < self.quorum() {
            return Err(CertError::NoQuorum { have: count, need: self.quorum() });
        }
        Ok(())
    }

    /// Verifies a quorum certificate: epoch, signers, and every signature in one batch.
    /// A round-0 certificate is valid only for `genesis_id`, the block the epoch starts
    /// from (the chain's genesis, or the last block of the previous epoch); its height is
    /// checked by the replica, which knows the anchor's height.
    pub fn verify_qc(&self, qc: &QuorumCert, genesis_id: Hash) -> Result<(), CertError> {
        self.check_epoch(qc.epoch)?;
        if qc.round() == Round::ZERO {
            let is_genesis = qc.block_id() == genesis_id && qc.signatures.is_empty();
            return if is_genesis { Ok(()) } else { Err(CertError::NotGenesis) };
        }
        self.check_signers(qc.signatures.iter().map(|(signer, _)| *signer))?;
        let message = qc.data.signing_bytes();
        let mut batch = BatchVerifier::with_capacity(qc.signatures.len());
        for (signer, signature) in &qc.signatures {
            let key = self.key(*signer).ok_or(CertError::UnknownSigner(*signer))?;
            batch.push(key, &self.vote_domain, &message, signature);
        }
        batch.verify().map_err(|_| CertError::BadSignature)
    }

    /// Verifies a timeout certificate: epoch, signers, every signature in one batch, and
    /// the QC it carries, which must be at least as high as every round its signers report.
    pub fn verify_tc(&self, tc: &TimeoutCert, genesis_id: Hash) -> Result<(), CertError> {
        self.check_epoch(tc.epoch)?;
        if tc.high_qc.round() < tc.max_high_qc_round() || tc.high_qc.round() >= tc.round {
            return Err(CertError::UnprovenHighQc);
        }
        self.check_signers(tc.signatures.iter().map(|(signer, _, _)| *signer))?;
        let mut batch = BatchVerifier::with_capacity(tc.signatures.len());
        for (signer, high_qc_round, signature) in &tc.signatures {
            let key = self.key(*signer).ok_or(CertError::UnknownSigner(*signer))?;
            let data = TimeoutData { round: tc.round, high_qc_round: *high_qc_round };
            batch.push(key, &self.timeout_domain, &data.signing_bytes(), signature);
        }
        batch.verify().map_err(|_| CertError::BadSignature)?;
        self.verify_qc(&tc.high_qc, genesis_id)
    }

    /// Verifies that a commit certificate proves its block final.
    pub fn verify_commit(&self, cert: &CommitCertificate, genesis_id: Hash) -> Result<(), CertError> {
        let child: &BlockHeader = &cert.child;
        if cert.child_qc.block_id() != child.id() {
            return Err(CertError::NotTwoChain("child_qc does not certify the child"));
        }
        if child.justify.block_id() != cert.committed {
            return Err(CertError::NotTwoChain("child does not extend the committed block"));
        }
        if child.round != child.justify.round().next() || cert.child_qc.round() != child.round {
            return Err(CertError::NotTwoChain("rounds are not consecutive"));
        }
        if child.epoch != self.epoch {
            return Err(CertError::WrongEpoch { got: child.epoch, expected: self.epoch });
        }
        if child.height != child.justify.height().next() || cert.child_qc.height() != child.height {
            return Err(CertError::NotTwoChain("heights are not consecutive"));
        }
        self.verify_qc(&child.justify, genesis_id)?;
        self.verify_qc(&cert.child_qc, genesis_id)
    }

    /// Verifies one signature by `signer` in `domain`.
    pub fn verify_signature(
        &self,
        signer: ValidatorIndex,
        domain: &Domain,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), CertError> {
        let key = self.key(signer).ok_or(CertError::UnknownSigner(signer))?;
        key.verify(domain, message, signature).map_err(|_| CertError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use panacea_primitives::{Height, Keypair};
    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::*;
    use crate::types::{Block, Payload, VoteData};

    const EPOCH: Epoch = Epoch(3);

    fn keypairs(n: usize) -> Vec<Keypair> {
        (0..n).map(|i| Keypair::from_seed([u8::try_from(i).unwrap() + 1; 32])).collect()
    }

    fn set(keys: &[Keypair]) -> ValidatorSet {
        ValidatorSet::new(ChainId::new("test").unwrap(), EPOCH, keys.iter().map(Keypair::public).collect()).unwrap()
    }

    fn index(i: usize) -> ValidatorIndex {
        ValidatorIndex(u16::try_from(i).unwrap())
    }

    /// `count` signers (at least a quorum), spread over the set by `pick`, sorted.
    fn signers(validators: &ValidatorSet, extra: Index, pick: &[Index]) -> Vec<usize> {
        let count = validators.quorum() + extra.index(validators.len() - validators.quorum() + 1);
        let mut all: Vec<usize> = (0..validators.len()).collect();
        let mut chosen = Vec::with_capacity(count);
        for p in pick.iter().cycle().take(count) {
            chosen.push(all.remove(p.index(all.len())));
        }
        chosen.sort_unstable();
        chosen
    }

    fn sign_qc(keys: &[Keypair], validators: &ValidatorSet, data: VoteData, signers: &[usize]) -> QuorumCert {
        let message = data.signing_bytes();
        let signatures =
            signers.iter().map(|&i| (index(i), keys[i].sign(validators.vote_domain(), &message))).collect();
        QuorumCert { epoch: validators.epoch(), data, signatures }
    }

    fn sign_tc(
        keys: &[Keypair],
        validators: &ValidatorSet,
        round: Round,
        high_qc_rounds: &[u64],
        signers: &[usize],
    ) -> TimeoutCert {
        let signatures = signers
            .iter()
            .map(|&i| {
                let high_qc_round = Round(high_qc_rounds[i] % round.0);
                let data = TimeoutData { round, high_qc_round };
                (index(i), high_qc_round, keys[i].sign(validators.timeout_domain(), &data.signing_bytes()))
            })
            .collect();
        let mut tc = TimeoutCert {
            epoch: validators.epoch(),
            round,
            signatures,
            high_qc: QuorumCert::genesis(EPOCH, Hash::ZERO),
        };
        let max = tc.max_high_qc_round();
        if max > Round::ZERO {
            // The TC carries a real QC as high as the highest reported round.
            let data = VoteData { round: max, height: Height(max.0), block_id: Hash([7; 32]) };
            let quorum: Vec<usize> = (0..validators.quorum()).collect();
            tc.high_qc = sign_qc(keys, validators, data, &quorum);
        }
        tc
    }

    /// Removes random entries until fewer than a quorum are left; returns how many are.
    fn drop_below_quorum<T>(signatures: &mut Vec<T>, quorum: usize, keep: Index, which: Index) -> usize {
        let keep = keep.index(quorum);
        while signatures.len() > keep {
            signatures.remove(which.index(signatures.len()));
        }
        keep
    }

    /// Swaps two distinct entries of a strictly sorted list (which needs two).
    fn unsort<T>(signatures: &mut [T], first: Index, gap: Index) {
        let i = first.index(signatures.len());
        let j = (i + 1 + gap.index(signatures.len() - 1)) % signatures.len();
        signatures.swap(i, j);
    }

    fn flip(bytes: &mut [u8], bit: Index) {
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
    }

    /// What is done to a valid certificate. Positions are drawn as `Index`es so that one
    /// strategy serves every set size.
    #[derive(Debug, Clone)]
    enum Mutation {
        None,
        DropBelowQuorum {
            keep: Index,
            which: Index,
        },
        DuplicateSigner {
            at: Index,
            to: Index,
        },
        Unsort {
            first: Index,
            gap: Index,
        },
        UnknownSigner {
            at: Index,
            beyond: u16,
        },
        FlipSignatureBit {
            at: Index,
            bit: Index,
        },
        /// QC: a bit of the block id; TC: one signer's high-QC round.
        ChangeBlockOrHighQc {
            at: Index,
            bit: Index,
        },
        ChangeRound {
            by: u64,
        },
        ChangeHeight {
            by: u64,
        },
        WrongEpoch {
            by: u64,
        },
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            Just(Mutation::None),
            (any::<Index>(), any::<Index>()).prop_map(|(keep, which)| Mutation::DropBelowQuorum { keep, which }),
            (any::<Index>(), any::<Index>()).prop_map(|(at, to)| Mutation::DuplicateSigner { at, to }),
            (any::<Index>(), any::<Index>()).prop_map(|(first, gap)| Mutation::Unsort { first, gap }),
            (any::<Index>(), 0u16..=u16::MAX - 10).prop_map(|(at, beyond)| Mutation::UnknownSigner { at, beyond }),
            (any::<Index>(), any::<Index>()).prop_map(|(at, bit)| Mutation::FlipSignatureBit { at, bit }),
            (any::<Index>(), any::<Index>()).prop_map(|(at, bit)| Mutation::ChangeBlockOrHighQc { at, bit }),
            (1u64..1_000).prop_map(|by| Mutation::ChangeRound { by }),
            (1u64..1_000).prop_map(|by| Mutation::ChangeHeight { by }),
            (1u64..1_000).prop_map(|by| Mutation::WrongEpoch { by }),
        ]
    }

    /// Inserts a copy of entry `at` at position `to`: next to the original it is a repeat,
    /// anywhere else it is out of order; either way the signers no longer strictly increase.
    fn duplicate<T: Clone>(signatures: &mut Vec<T>, at: Index, to: Index) {
        let at = at.index(signatures.len());
        let copy = signatures[at].clone();
        signatures.insert(to.index(signatures.len() + 1), copy);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// A QC signed by at least a quorum verifies; every mutation of it is refused with
        /// the error naming what is wrong.
        #[test]
        fn verify_qc_refuses_every_mutation(
            n in 1usize..=10,
            extra in any::<Index>(),
            pick in prop::collection::vec(any::<Index>(), 1..10),
            round in 1u64..1_000_000,
            block in any::<[u8; 32]>(),
            mutation in mutation(),
        ) {
            let keys = keypairs(n);
            let validators = set(&keys);
            let quorum = validators.quorum();
            let data = VoteData { round: Round(round), height: Height(round), block_id: Hash(block) };
            let chosen = signers(&validators, extra, &pick);
            let mut qc = sign_qc(&keys, &validators, data, &chosen);
            prop_assert_eq!(validators.verify_qc(&qc, Hash::ZERO), Ok(()));

            let expected = match mutation {
                Mutation::None => Ok(()),
                Mutation::DropBelowQuorum { keep, which } => {
                    let have = drop_below_quorum(&mut qc.signatures, quorum, keep, which);
                    Err(CertError::NoQuorum { have, need: quorum })
                }
                Mutation::DuplicateSigner { at, to } => {
                    duplicate(&mut qc.signatures, at, to);
                    Err(CertError::DuplicateSigner)
                }
                Mutation::Unsort { first, gap } => {
                    prop_assume!(qc.signatures.len() >= 2);
                    unsort(&mut qc.signatures, first, gap);
                    Err(CertError::DuplicateSigner)
                }
                Mutation::UnknownSigner { at, beyond } => {
                    let unknown = ValidatorIndex(u16::try_from(n).unwrap() + beyond);
                    let at = at.index(qc.signatures.len());
                    qc.signatures[at].0 = unknown;
                    Err(CertError::UnknownSigner(unknown))
                }
                Mutation::FlipSignatureBit { at, bit } => {
                    let at = at.index(qc.signatures.len());
                    flip(&mut qc.signatures[at].1.0, bit);
                    Err(CertError::BadSignature)
                }
                Mutation::ChangeBlockOrHighQc { bit, .. } => {
                    flip(&mut qc.data.block_id.0, bit);
                    Err(CertError::BadSignature)
                }
                Mutation::ChangeRound { by } => {
                    qc.data.round = Round(round + by);
                    Err(CertError::BadSignature)
                }
                Mutation::ChangeHeight { by } => {
                    qc.data.height = Height(round + by);
                    Err(CertError::BadSignature)
                }
                Mutation::WrongEpoch { by } => {
                    qc.epoch = Epoch(EPOCH.0 + by);
                    Err(CertError::WrongEpoch { got: qc.epoch, expected: EPOCH })
                }
            };
            prop_assert_eq!(validators.verify_qc(&qc, Hash::ZERO), expected, "{:?}", qc);
        }

        /// The same for a TC: each signer signs its own high-QC round.
        #[test]
        fn verify_tc_refuses_every_mutation(
            n in 1usize..=10,
            extra in any::<Index>(),
            pick in prop::collection::vec(any::<Index>(), 1..10),
            round in 1u64..1_000_000,
            high_qc_rounds in prop::collection::vec(any::<u64>(), 10),
            mutation in mutation(),
        ) {
            let keys = keypairs(n);
            let validators = set(&keys);
            let quorum = validators.quorum();
            let chosen = signers(&validators, extra, &pick);
            let mut tc = sign_tc(&keys, &validators, Round(round), &high_qc_rounds, &chosen);
            prop_assert_eq!(validators.verify_tc(&tc, Hash::ZERO), Ok(()));

            let expected = match mutation {
                Mutation::None => Ok(()),
                Mutation::DropBelowQuorum { keep, which } => {
                    let have = drop_below_quorum(&mut tc.signatures, quorum, keep, which);
                    Err(CertError::NoQuorum { have, need: quorum })
                }
                Mutation::DuplicateSigner { at, to } => {
                    duplicate(&mut tc.signatures, at, to);
                    Err(CertError::DuplicateSigner)
                }
                Mutation::Unsort { first, gap } => {
                    prop_assume!(tc.signatures.len() >= 2);
                    unsort(&mut tc.signatures, first, gap);
                    Err(CertError::DuplicateSigner)
                }
                Mutation::UnknownSigner { at, beyond } => {
                    let unknown = ValidatorIndex(u16::try_from(n).unwrap() + beyond);
                    let at = at.index(tc.signatures.len());
                    tc.signatures[at].0 = unknown;
                    Err(CertError::UnknownSigner(unknown))
                }
                Mutation::FlipSignatureBit { at, bit } => {
                    let at = at.index(tc.signatures.len());
                    flip(&mut tc.signatures[at].2.0, bit);
                    Err(CertError::BadSignature)
                }
                Mutation::ChangeBlockOrHighQc { at, bit } => {
                    let at = at.index(tc.signatures.len());
                    let high_qc_round = &mut tc.signatures[at].1;
                    high_qc_round.0 ^= 1 << bit.index(64);
                    // A claim above the QC the TC carries is unproven; any other change
                    // breaks the signer's signature.
                    if *high_qc_round > tc.high_qc.round() {
                        Err(CertError::UnprovenHighQc)
                    } else {
                        Err(CertError::BadSignature)
                    }
                }
                Mutation::ChangeRound { by } | Mutation::ChangeHeight { by } => {
                    tc.round = Round(round + by);
                    Err(CertError::BadSignature)
                }
                Mutation::WrongEpoch { by } => {
                    tc.epoch = Epoch(EPOCH.0 + by);
                    Err(CertError::WrongEpoch { got: tc.epoch, expected: EPOCH })
                }
            };
            prop_assert_eq!(validators.verify_tc(&tc, Hash::ZERO), expected, "{:?}", tc);
        }
    }

    /// A block on `justify` by validator 0.
    fn block(round: u64, justify: QuorumCert) -> Block {
        Block::new(EPOCH, Round(round), justify, Payload::opaque(vec![u8::try_from(round % 256).unwrap(); 8]), index(0))
    }

    fn certify(keys: &[Keypair], validators: &ValidatorSet, block: &Block) -> QuorumCert {
        let header = &block.header;
        let data = VoteData { round: header.round, height: header.height, block_id: block.id() };
        let signers: Vec<usize> = (0..validators.quorum()).collect();
        sign_qc(keys, validators, data, &signers)
    }

    #[test]
    fn verify_commit_accepts_two_chains_only() {
        let keys = keypairs(4);
        let validators = set(&keys);
        let genesis = Block::genesis(EPOCH, Payload::opaque(b"genesis".to_vec()));
        let genesis_id = genesis.id();
        let a = block(1, QuorumCert::genesis(EPOCH, genesis_id));
        let qc_a = certify(&keys, &validators, &a);
        let b = block(2, qc_a.clone());
        let qc_b = certify(&keys, &validators, &b);

        // B (round 2) on A (round 1), certified: A is final.
        let cert = CommitCertificate { committed: a.id(), child: b.header.clone(), child_qc: qc_b.clone() };
        assert_eq!(validators.verify_commit(&cert, genesis_id), Ok(()));
        // A on genesis (its round-0 QC needs no signatures): genesis is final.
        let cert = CommitCertificate { committed: genesis_id, child: a.header.clone(), child_qc: qc_a.clone() };
        assert_eq!(validators.verify_commit(&cert, genesis_id), Ok(()));

        // C (round 3) also on A: a QC for C proves only a 1-chain over a gap.
        let c = block(3, qc_a.clone());
        let qc_c = certify(&keys, &validators, &c);
        let cert = CommitCertificate { committed: a.id(), child: c.header.clone(), child_qc: qc_c.clone() };
        assert_eq!(
            validators.verify_commit(&cert, genesis_id),
            Err(CertError::NotTwoChain("rounds are not consecutive"))
        );

        // Parts that do not fit together.
        let cert = CommitCertificate { committed: a.id(), child: b.header.clone(), child_qc: qc_c };
        assert_eq!(
            validators.verify_commit(&cert, genesis_id),
            Err(CertError::NotTwoChain("child_qc does not certify the child"))
        );
        let cert = CommitCertificate { committed: genesis_id, child: b.header.clone(), child_qc: qc_b.clone() };
        assert_eq!(
            validators.verify_commit(&cert, genesis_id),
            Err(CertError::NotTwoChain("child does not extend the committed block"))
        );

        // A 2-chain whose child QC lacks a quorum.
        let mut thin = qc_b;
        thin.signatures.pop();
        let cert = CommitCertificate { committed: a.id(), child: b.header.clone(), child_qc: thin };
        assert_eq!(validators.verify_commit(&cert, genesis_id), Err(CertError::NoQuorum { have: 2, need: 3 }));
    }
}
