//! Signed transactions, their calls and their receipts.

use bincode::{Decode, Encode};
use panacea_primitives::{ChainId, Domain, Epoch, Hash, PublicKey, Signature, SignatureKind, codec};
use serde::{Deserialize, Serialize};

use crate::access::AccessCall;
use crate::audit::AuditEvent;
use crate::consent::ConsentCall;
use crate::error::ErrorCode;
use crate::identity::IdentityCall;

/// Largest encoded transaction accepted, in bytes.
pub const TRANSACTION_BYTES_MAX: usize = 64 * 1024;

/// One call, grouped by module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    /// Staff, devices and services of an organisation.
    Identity(IdentityCall),
    /// Patients' consents.
    Consent(ConsentCall),
    /// Access requests and break-glass reviews.
    Access(AccessCall),
    /// Off-chain documents: registration, erasure, confirmed deliveries.
    Document(crate::document::DocumentCall),
    /// Risk assessments, attestations, parameters and quarantine mitigations.
    Risk(crate::risk::RiskCall),
    /// Consortium governance: proposals, votes, misbehaviour reports.
    Governance(crate::governance::GovernanceCall),
    /// Security by design: medical products, their attestations and revocations.
    Product(crate::product::ProductCall),
    /// Security governance: NIST CSF self-assessments.
    Csf(crate::csf::CsfCall),
    /// Expected machine-to-machine connections.
    Connection(crate::connection::ConnectionCall),
    /// Training catalogue, policy and credentials.
    Training(crate::training::TrainingCall),
}

/// What a signer asks the chain to do.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Transaction {
    /// The chain it is for.
    pub chain_id: ChainId,
    /// The signing key: an organisation admin's, a registered identity's or a patient's.
    pub signer: PublicKey,
    /// The signer's next nonce (1 for its first transaction): replay protection.
    pub nonce: u64,
    /// The call.
    pub call: Call,
}

/// The epoch transactions are signed in. Transactions are not tied to a validator epoch
/// (a client should not have to follow consensus epochs): the nonce protects against
/// replay, and the chain id against use on another chain.
pub const TRANSACTION_EPOCH: Epoch = Epoch(0);

impl Transaction {
    /// The signing domain of transactions on `chain_id`.
    pub fn domain(chain_id: &ChainId) -> Domain {
        Domain::new(chain_id.clone(), TRANSACTION_EPOCH, SignatureKind::Transaction)
    }

    /// What the signer signs: SHA-256 of the canonical encoding, in its own domain.
    pub fn signing_hash(&self) -> Hash {
        Hash::digest_parts(&[b"panacea-tx-v1", &codec::encode(self)])
    }

    /// Signs with `key` (whose public half must be `self.signer`).
    pub fn sign(self, key: &panacea_primitives::Keypair) -> SignedTransaction {
        let signature = key.sign(&Transaction::domain(&self.chain_id), self.signing_hash().as_bytes());
        SignedTransaction { tx: self, signature }
    }
}

/// A transaction and its signature over [`Transaction::signing_hash`].
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// The signer's signature over `tx.signing_hash()`.
    pub signature: Signature,
}

impl SignedTransaction {
    /// The transaction id: SHA-256 of the signing hash and the signature, so it names
    /// exactly what is executed. A copy of a transaction with a broken signature (which a
    /// faulty leader could put in a block, where it fails) has another id, and its failed
    /// receipt can never shadow the genuine transaction. Strict verification refuses
    /// malleated signatures, so a third party cannot make a second valid copy.
    pub fn id(&self) -> Hash {
        Self::id_of(&self.tx.signing_hash(), &self.signature)
    }

    /// [`SignedTransaction::id`] from an already computed signing hash.
    pub fn id_of(signing_hash: &Hash, signature: &Signature) -> Hash {
        Hash::digest_parts(&[b"panacea-tx-id-v2", signing_hash.as_bytes(), &signature.0])
    }

    /// Decodes a transaction from the network or a client, with the size limit.
    pub fn decode(bytes: &[u8]) -> Result<SignedTransaction, codec::CodecError> {
        codec::decode::<SignedTransaction, TRANSACTION_BYTES_MAX>(bytes)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Checks the signature (single); blocks check theirs in a batch.
    pub fn verify(&self) -> bool {
        self.tx
            .signer
            .verify(&Transaction::domain(&self.tx.chain_id), self.tx.signing_hash().as_bytes(), &self.signature)
            .is_ok()
    }
}

/// What happened to one transaction.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction id.
    pub tx: Hash,
    /// The outcome.
    pub outcome: Outcome,
}

/// Success with the audit events it logged, or a typed failure.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The call took effect.
    Ok {
        /// The audit events it appended.
        events: Vec<AuditEvent>,
    },
    /// The call failed; state is unchanged.
    Failed {
        /// Stable code.
        code: ErrorCode,
        /// What was wrong.
        message: String,
    },
}

impl Receipt {
    /// True if the call took effect.
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok { .. })
    }
}
