//! Trust-minimised reads: check what a node says against the validator set, not the node.
//!
//! A [`TrustAnchor`] is what a client knows for sure: the chain's genesis document (and so
//! its validator set and genesis block). With it, a client checks a [`ProofView`] from any
//! node, honest or not:
//!
//! 1. the certified block's header is signed by a quorum of the validator set (its
//!    quorum certificate);
//! 2. the header's payload digest commits to the block's meta part, which attests a
//!    committed height and its state root (every validator checked that root against its
//!    own before voting, so a quorum certificate is an honest majority's word for it);
//! 3. the state bookkeeping hashes to that root, and each key's sparse Merkle proof ties
//!    its value, or its absence, to the state tree's root in it.
//!
//! A tampered value or proof, a root from elsewhere, or a header certified by keys outside
//! the validator set fails with a [`VerifyError`].
//!
//! The anchor starts with the genesis set (epoch 0) and follows the chain of validator-set
//! changes ([`TrustAnchor::follow`]): each [`EpochChange`] is proved by the certificate of
//! the block that ended the epoch (signed by the set the anchor already trusts), that
//! block's attested state root, and a state proof of the next set decided on chain. So an
//! auditor's trust anchor is still only the genesis file; a header of an epoch the anchor
//! has not followed to is refused.

use bincode::{Decode, Encode};
use panacea_consensus::{Block, BlockHeader, CommitCertificate, Payload, QuorumCert, ValidatorSet};
use panacea_contracts::consent::Consent;
use panacea_contracts::ids::{ConsentId, DecisionId, IdentityId, OrgId, PatientRef};
use panacea_contracts::membership::{Genesis, OrgStatus};
use panacea_contracts::provable::Record;
use panacea_contracts::state::Meta;
use panacea_contracts::state::authenticated::StateProof;
use panacea_primitives::{BlockMeta, Epoch, Hash, Height, PublicKey, Timestamp, codec};

use crate::types::ProofView;

/// Largest encoded certified state accepted (a header, a certificate of up to a few
/// hundred signatures and the bookkeeping).
pub const CERTIFIED_STATE_BYTES_MAX: usize = 256 * 1024;

/// Most keys in one proof.
pub const PROOF_ENTRIES_MAX: usize = 16;

/// The certified state a [`ProofView`] carries (its `certificate` field).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CertifiedState {
    /// The header of the attesting block.
    pub header: BlockHeader,
    /// The quorum certificate over it.
    pub qc: QuorumCert,
    /// Its payload's meta part: a [`BlockMeta`].
    pub meta: Vec<u8>,
    /// SHA-256 of its payload's data part.
    pub data_digest: Hash,
    /// The state bookkeeping at the attested height; hashes to the attested root.
    pub state: Meta,
}

impl CertifiedState {
    /// Hex of the canonical encoding, as in [`ProofView::certificate`].
    pub fn to_hex(&self) -> String {
        hex::encode(codec::encode(self))
    }
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A field does not decode.
    #[error("malformed proof: {0}")]
    Malformed(String),
    /// The header belongs to an epoch whose validator set this anchor does not know.
    #[error("the header is of epoch {got}; this client knows the validator set of epoch {known}")]
    UnknownEpoch {
        /// The header's epoch.
        got: Epoch,
        /// The anchor's.
        known: Epoch,
    },
    /// The quorum certificate is not a quorum of the validator set over this header.
    #[error("the header is not certified by the validator set: {0}")]
    NotCertified(String),
    /// The header does not commit to the meta part shown.
    #[error("the block meta does not match the header's payload digest")]
    MetaMismatch,
    /// The attested root differs from the bookkeeping or from the claimed root.
    #[error("the state root does not match the one the certified block attests")]
    RootMismatch,
    /// The node proved an older state than asked for, until the client gave up.
    #[error("the node proved the state of height {proved}, older than the {wanted} asked for")]
    Stale {
        /// The height proved.
        proved: Height,
        /// The height asked for.
        wanted: Height,
    },
    /// The certified block is older than the anchor accepts.
    #[error(
        "the proof's certified block is {age_ms} ms old, more than the {max_ms} ms accepted; ask a node that is not behind"
    )]
    TooOld {
        /// Its age, by the verifier's clock.
        age_ms: u64,
        /// The bound.
        max_ms: u64,
    },
    /// A key's proof does not tie its value to the root.
    #[error("the proof of key {0} does not verify against the certified root")]
    BadProof(String),
}

/// What a verified proof establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedState {
    /// The committed height whose state was proved.
    pub height: Height,
    /// Its state root.
    pub state_root: Hash,
    /// Height of the certified block that attests it.
    pub block_height: Height,
    /// Id of that block.
    pub block_id: Hash,
    /// That block's time.
    pub block_time: Timestamp,
    /// Each key and its value (`None`: proved absent), in the proof's order.
    pub values: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl VerifiedState {
    /// The verified value of `key`, decoded as `T` (`Ok(None)` if proved absent, `Err` if
    /// `key` was not proved or the value is not a `T`).
    pub fn decode<T: bincode::Decode<()>>(&self, key: &[u8]) -> Result<Option<T>, VerifyError> {
        let (_, value) = self
            .values
            .iter()
            .find(|(k, _)| k == key)
            .ok_or_else(|| VerifyError::Malformed("that key is not in the proof".into()))?;
        match value {
            Some(bytes) => codec::decode::<T, { panacea_contracts::state::VALUE_BYTES_MAX }>(bytes)
                .map(Some)
                .map_err(|e| VerifyError::Malformed(format!("the value does not decode: {e}"))),
            None => Ok(None),
        }
    }
}

/// A record a node can prove, as the proof endpoint names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvableRecord {
    /// An organisation.
    Organisation(OrgId),
    /// An identity.
    Identity(IdentityId),
    /// A consent: its latest version (one record).
    Consent(ConsentId),
    /// An access decision.
    Decision(DecisionId),
    /// A patient's list of consents.
    PatientConsents(PatientRef),
    /// A medical product, by firmware hash.
    Product(panacea_primitives::Hash),
    /// One version of an organisation's security-governance self-assessment.
    SelfAssessment(OrgId, u32),
    /// A machine-to-machine connection rule.
    ConnectionRule(panacea_primitives::Hash),
    /// A holder's training credential for a course.
    Credential(IdentityId, String),
}

impl ProvableRecord {
    /// The `(kind, id)` of `/v1/proofs/{kind}/{id}`.
    pub fn path(&self) -> (&'static str, String) {
        match self {
            ProvableRecord::Organisation(org) => ("organisation", org.as_str().to_string()),
            ProvableRecord::Identity(id) => ("identity", id.to_string()),
            ProvableRecord::Consent(id) => ("consent", id.to_string()),
            ProvableRecord::Decision(id) => ("decision", id.to_string()),
            ProvableRecord::PatientConsents(patient) => ("patient-consents", patient.to_string()),
            ProvableRecord::Product(firmware) => ("product", firmware.to_string()),
            ProvableRecord::SelfAssessment(org, version) => ("self-assessment", format!("{}:{version}", org.as_str())),
            ProvableRecord::ConnectionRule(id) => ("connection-rule", id.to_string()),
            ProvableRecord::Credential(holder, course) => ("credential", format!("{holder}:{course}")),
        }
    }
}

impl VerifiedState {
    /// The verified value of `record` (`Ok(None)` if proved absent).
    pub fn record<T: bincode::Decode<()>>(&self, record: &Record) -> Result<Option<T>, VerifyError> {
        self.decode(&record.key())
    }

    /// The verified latest version of consent `id` (`Ok(None)` if proved absent), from a
    /// proof of [`ProvableRecord::Consent`].
    pub fn consent(&self, id: ConsentId) -> Result<Option<Consent>, VerifyError> {
        self.record(&Record::Consent(id))
    }
}

/// What a client trusts: the validator set and genesis block of its chain, and the
/// epochs it has followed since.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    validators: ValidatorSet,
    genesis_id: Hash,
    /// Id of the block the current epoch starts from (the genesis block in epoch 0).
    epoch_anchor: Hash,
    proof_age_max_ms: u64,
}

/// Largest encoded [`EpochChange`] accepted.
pub const EPOCH_CHANGE_BYTES_MAX: usize = 512 * 1024;

/// The proof that the validator set changed: the block that ended the epoch, the
/// certificate that committed it (with the headers that link it to the certified block
/// when that is above it), the state bookkeeping the block attests, and the state proof of
/// the validator set decided on chain (`governance::pending_key`) in that state.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct EpochChange {
    /// The header of the block that ended the epoch.
    pub header: BlockHeader,
    /// Its payload's meta part (a [`BlockMeta`]).
    pub meta: Vec<u8>,
    /// SHA-256 of its payload's data part.
    pub data_digest: Hash,
    /// The commit certificate, signed by the ending epoch's validators.
    pub certificate: CommitCertificate,
    /// Headers above the block up to the certified one (empty when it is certified).
    pub suffix: Vec<BlockHeader>,
    /// The state bookkeeping at the attested height; hashes to the attested root.
    pub state: Meta,
    /// The decided validator set's value (a `governance::PendingValidators`).
    pub pending: Vec<u8>,
    /// Its sparse Merkle proof against `state.tree_root`.
    pub proof: Vec<u8>,
}

impl EpochChange {
    /// Hex of the canonical encoding (what `/v1/governance/epochs` returns).
    pub fn to_hex(&self) -> String {
        hex::encode(codec::encode(self))
    }

    /// Decodes the hex form.
    pub fn from_hex(text: &str) -> Result<EpochChange, VerifyError> {
        let bytes = hex::decode(text).map_err(|e| VerifyError::Malformed(format!("epoch change is not hex: {e}")))?;
        codec::decode::<EpochChange, EPOCH_CHANGE_BYTES_MAX>(&bytes)
            .map_err(|e| VerifyError::Malformed(format!("epoch change: {e}")))
    }

    /// The epoch this change starts.
    pub fn epoch(&self) -> Epoch {
        Epoch(self.header.epoch.0 + 1)
    }
}

/// How old a proof may be by default: the time of the certified block that attests the
/// proved state, against the verifier's clock. A node that answers with an old state
/// (a record since revoked, a consent since amended) is refused unless the caller
/// widens the bound on purpose with [`TrustAnchor::with_proof_age_max`].
pub const PROOF_AGE_MAX_MS: u64 = 5 * 60 * 1_000;

impl TrustAnchor {
    /// The anchor of the chain that `genesis` starts.
    pub fn from_genesis(genesis: &Genesis) -> Result<TrustAnchor, VerifyError> {
        let validators = genesis_validators(genesis).map_err(VerifyError::Malformed)?;
        let genesis_id = genesis_block(genesis).id();
        Ok(TrustAnchor { validators, genesis_id, epoch_anchor: genesis_id, proof_age_max_ms: PROOF_AGE_MAX_MS })
    }

    /// The anchor from a `genesis.json` document's text.
    pub fn from_genesis_json(text: &str) -> Result<TrustAnchor, VerifyError> {
        let genesis: Genesis =
            serde_json::from_str(text).map_err(|e| VerifyError::Malformed(format!("genesis document: {e}")))?;
        TrustAnchor::from_genesis(&genesis)
    }

    /// This anchor, accepting proofs whose certified block is up to `age` old (the
    /// default is [`PROOF_AGE_MAX_MS`]); for reading history on purpose.
    pub fn with_proof_age_max(mut self, age: std::time::Duration) -> TrustAnchor {
        self.proof_age_max_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The validator set.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// Id of the block the current epoch starts from (the genesis block in epoch 0):
    /// what a commit certificate of this epoch is checked against.
    pub fn epoch_anchor(&self) -> Hash {
        self.epoch_anchor
    }

    /// Id of the genesis block.
    pub fn genesis_id(&self) -> Hash {
        self.genesis_id
    }

    /// Follows one change of the validator set: checks `change` against the set this
    /// anchor trusts and, if it holds, trusts the next epoch's set instead. Changes must be
    /// followed in order, from genesis.
    pub fn follow(&mut self, change: &EpochChange) -> Result<(), VerifyError> {
        let header = &change.header;
        if header.epoch != self.validators.epoch() {
            return Err(VerifyError::UnknownEpoch { got: header.epoch, known: self.validators.epoch() });
        }
        self.validators
            .verify_commit(&change.certificate, self.epoch_anchor)
            .map_err(|e| VerifyError::NotCertified(e.to_string()))?;
        let mut certified = header.id();
        for above in &change.suffix {
            if above.parent() != certified || above.epoch != header.epoch {
                return Err(VerifyError::NotCertified("the headers above the block do not chain".into()));
            }
            certified = above.id();
        }
        if change.certificate.committed != certified {
            return Err(VerifyError::NotCertified("the certificate is for another block".into()));
        }
        if Payload::digest_of(&change.meta, change.data_digest) != header.payload_digest {
            return Err(VerifyError::MetaMismatch);
        }
        let meta = BlockMeta::decode(&change.meta).map_err(|e| VerifyError::Malformed(format!("block meta: {e}")))?;
        if meta.state.height >= header.height || change.state.state_root() != meta.state.state_root {
            return Err(VerifyError::RootMismatch);
        }
        let key = panacea_contracts::governance::pending_key();
        let proof = StateProof::from_parts(key.clone(), Some(change.pending.clone()), &change.proof)
            .map_err(|e| VerifyError::Malformed(e.to_string()))?;
        if !proof.verify(change.state.tree_root) {
            return Err(VerifyError::BadProof(hex::encode(&key)));
        }
        let pending = codec::decode::<
            panacea_contracts::governance::PendingValidators,
            { panacea_contracts::state::VALUE_BYTES_MAX },
        >(&change.pending)
        .map_err(|e| VerifyError::Malformed(format!("the decided validator set: {e}")))?;
        // The set names the epoch it starts, and no decision may replace a pending set:
        // the only committed block of this epoch whose attested state holds it is the one
        // that ended the epoch (any earlier one would have put it in force itself).
        if pending.decided_at > meta.state.height || pending.epoch != change.epoch() {
            return Err(VerifyError::RootMismatch);
        }
        let next = ValidatorSet::new(self.validators.chain_id().clone(), change.epoch(), pending.validators)
            .map_err(|e| VerifyError::Malformed(format!("the next validator set: {e}")))?;
        self.validators = next;
        self.epoch_anchor = header.id();
        Ok(())
    }

    /// Follows every change in `changes`, in order, skipping those of epochs already
    /// followed.
    pub fn follow_all(&mut self, changes: &[EpochChange]) -> Result<(), VerifyError> {
        for change in changes {
            if change.header.epoch < self.validators.epoch() {
                continue;
            }
            self.follow(change)?;
        }
        Ok(())
    }

    /// Checks a certified state: the header's quorum certificate, its meta part and the
    /// bookkeeping against the attested root.
    pub fn verify_certified(&self, certified: &CertifiedState) -> Result<(Height, Hash, Timestamp), VerifyError> {
        let header = &certified.header;
        if header.epoch != self.validators.epoch() {
            return Err(VerifyError::UnknownEpoch { got: header.epoch, known: self.validators.epoch() });
        }
        if certified.qc.block_id() != header.id() || certified.qc.height() != header.height {
            return Err(VerifyError::NotCertified("the certificate is for another block".into()));
        }
        self.validators
            .verify_qc(&certified.qc, self.epoch_anchor)
            .map_err(|e| VerifyError::NotCertified(e.to_string()))?;
        if Payload::digest_of(&certified.meta, certified.data_digest) != header.payload_digest {
            return Err(VerifyError::MetaMismatch);
        }
        let meta =
            BlockMeta::decode(&certified.meta).map_err(|e| VerifyError::Malformed(format!("block meta: {e}")))?;
        if meta.state.height >= header.height || certified.state.state_root() != meta.state.state_root {
            return Err(VerifyError::RootMismatch);
        }
        Ok((meta.state.height, meta.state.state_root, meta.time))
    }

    /// Checks a proof from any node; see the module documentation for what it checks.
    /// `now` is the verifier's clock: a proof whose certified block is older than the
    /// anchor's bound (by default [`PROOF_AGE_MAX_MS`]) is refused as [`VerifyError::TooOld`].
    pub fn verify_proof(&self, proof: &ProofView, now: Timestamp) -> Result<VerifiedState, VerifyError> {
        let bytes = hex::decode(&proof.certificate)
            .map_err(|e| VerifyError::Malformed(format!("certificate is not hex: {e}")))?;
        let certified = codec::decode::<CertifiedState, CERTIFIED_STATE_BYTES_MAX>(&bytes)
            .map_err(|e| VerifyError::Malformed(format!("certificate: {e}")))?;
        let (height, state_root, block_time) = self.verify_certified(&certified)?;
        let age_ms = now.as_millis().saturating_sub(block_time.as_millis());
        if age_ms > self.proof_age_max_ms {
            return Err(VerifyError::TooOld { age_ms, max_ms: self.proof_age_max_ms });
        }
        if height != proof.height || state_root != proof.state_root || certified.header.height != proof.block_height {
            return Err(VerifyError::RootMismatch);
        }
        if proof.entries.len() > PROOF_ENTRIES_MAX {
            return Err(VerifyError::Malformed(format!("more than {PROOF_ENTRIES_MAX} entries")));
        }
        let mut values = Vec::with_capacity(proof.entries.len());
        for entry in &proof.entries {
            let key = hex::decode(&entry.key).map_err(|e| VerifyError::Malformed(format!("key: {e}")))?;
            let value = entry
                .value
                .as_deref()
                .map(hex::decode)
                .transpose()
                .map_err(|e| VerifyError::Malformed(format!("value: {e}")))?;
            let encoded = hex::decode(&entry.proof).map_err(|e| VerifyError::Malformed(format!("proof: {e}")))?;
            let state_proof = StateProof::from_parts(key.clone(), value.clone(), &encoded)
                .map_err(|e| VerifyError::Malformed(e.to_string()))?;
            if !state_proof.verify(certified.state.tree_root) {
                return Err(VerifyError::BadProof(entry.key.clone()));
            }
            values.push((key, value));
        }
        Ok(VerifiedState {
            height,
            state_root,
            block_height: certified.header.height,
            block_id: certified.header.id(),
            block_time,
            values,
        })
    }
}

/// The validators of epoch 0: every active organisation of `genesis` with a validator
/// key, in the document's order. The node derives its own set with this function too.
pub fn genesis_validators(genesis: &Genesis) -> Result<ValidatorSet, String> {
    let keys: Vec<PublicKey> = genesis
        .organisations
        .iter()
        .filter(|org| org.status == OrgStatus::Active)
        .filter_map(|org| org.validator_key)
        .collect();
    if keys.is_empty() {
        return Err("no active organisation has a validator key".into());
    }
    ValidatorSet::new(genesis.chain_id.clone(), Epoch(0), keys).map_err(|e| format!("validator set: {e}"))
}

/// The genesis block of the chain `genesis` starts: its payload is the encoded document.
pub fn genesis_block(genesis: &Genesis) -> Block {
    Block::genesis(Epoch(0), Payload::opaque(codec::encode(genesis)))
}
