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
    /// A round-0 certificate is valid only for `genesis_id`.
    pub fn verify_qc(&self, qc: &QuorumCert, genesis_id: Hash) -> Result<(), CertError> {
        self.check_epoch(qc.epoch)?;
        if qc.round() == Round::ZERO {
            let is_genesis = qc.block_id() == genesis_id && qc.signatures.is_empty() && qc.height().0 == 0;
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

    /// Verifies a timeout certificate: epoch, signers, and every signature in one batch.
    pub fn verify_tc(&self, tc: &TimeoutCert) -> Result<(), CertError> {
        self.check_epoch(tc.epoch)?;
        self.check_signers(tc.signatures.iter().map(|(signer, _, _)| *signer))?;
        let mut batch = BatchVerifier::with_capacity(tc.signatures.len());
        for (signer, high_qc_round, signature) in &tc.signatures {
            let key = self.key(*signer).ok_or(CertError::UnknownSigner(*signer))?;
            let data = TimeoutData { round: tc.round, high_qc_round: *high_qc_round };
            batch.push(key, &self.timeout_domain, &data.signing_bytes(), signature);
        }
        batch.verify().map_err(|_| CertError::BadSignature)
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
