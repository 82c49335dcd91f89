use bincode::{Decode, Encode};
use panacea_primitives::{
    ChainId, Domain, Epoch, Hash, Keypair, PublicKey, Signature, SignatureKind, Timestamp, codec,
};
use serde::{Deserialize, Serialize};

use crate::ids::{IdentityId, OrgId};

/// Longest protocol or purpose id, in bytes (letters, digits, '-', '_', '.', ':').
pub const CONNECTION_TEXT_BYTES_MAX: usize = 64;
/// Most connection rules of one organisation.
pub const RULES_MAX: usize = 1_024;
/// Longest a rule may stay in force: three years.
pub const RULE_MS_MAX: u64 = 3 * 366 * 24 * 60 * 60 * 1000;
/// How far a challenge's time may be from the verifier's clock, in milliseconds.
pub const CHALLENGE_FRESHNESS_MS: u64 = 60_000;

/// Identifies a rule: SHA-256 of its source, destination and protocol (one rule per triple).
pub type RuleId = Hash;

/// One expected machine-to-machine connection.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ConnectionRule {
    /// Its id.
    pub id: RuleId,
    /// The organisation whose admins allowed it (the source's).
    pub org: OrgId,
    /// The device or service identity that connects.
    pub source: IdentityId,
    /// The device or service identity it connects to (of any member).
    pub destination: IdentityId,
    /// The protocol (for example `hl7-mllp`, `dicom`, `https`).
    pub protocol: String,
    /// What for (for example `lab-results-upload`).
    pub purpose: String,
    /// It is in force before this time.
    pub expires: Timestamp,
    /// Block time it was allowed (or last changed).
    pub allowed_at: Timestamp,
}

impl ConnectionRule {
    /// The id of the rule for `source` → `destination` over `protocol`.
    pub fn id_for(source: &IdentityId, destination: &IdentityId, protocol: &str) -> RuleId {
        Hash::digest_parts(&[
            b"panacea-connection-rule-v1",
            source.0.as_bytes(),
            destination.0.as_bytes(),
            protocol.as_bytes(),
        ])
    }
}

/// Calls of the connection module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionCall {
    /// Allow (or renew) a connection from one of the organisation's devices or services.
    /// Admins only.
    Allow {
        /// The source identity (of the admin's organisation).
        source: IdentityId,
        /// The destination identity.
        destination: IdentityId,
        /// The protocol.
        protocol: String,
        /// The purpose.
        purpose: String,
        /// End of validity.
        expires: Timestamp,
    },
    /// Remove a rule. Admins of its organisation only.
    Remove {
        /// The rule.
        rule: RuleId,
    },
    /// Report a connection attempt that no rule in force allowed. Signed by a device or
    /// service identity (a gateway) of the destination's organisation.
    ReportUnexpected {
        /// The identity that tried to connect, when it could be told (a signed challenge
        /// from a known key); `None` for an unknown machine.
        source: Option<IdentityId>,
        /// The identity it tried to reach.
        destination: IdentityId,
        /// The protocol.
        protocol: String,
        /// SHA-256 of the gateway's record of the attempt, kept off chain.
        record: Hash,
    },
}

/// What a source machine signs to prove it is the one connecting: the destination's
/// fresh nonce, bound to the source, destination, protocol and time.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ConnectionChallenge {
    /// The connecting identity.
    pub source: IdentityId,
    /// The identity connected to.
    pub destination: IdentityId,
    /// The protocol.
    pub protocol: String,
    /// The destination's random nonce.
    pub nonce: [u8; 32],
    /// When the source signed (ms since the epoch).
    pub time: Timestamp,
}

impl ConnectionChallenge {
    /// The signing domain on `chain_id`.
    pub fn domain(chain_id: &ChainId) -> Domain {
        Domain::new(chain_id.clone(), Epoch(0), SignatureKind::ConnectionChallenge)
    }

    /// What the source signs.
    pub fn signing_hash(&self) -> Hash {
        Hash::digest_parts(&[b"panacea-connection-challenge-v1", &codec::encode(self)])
    }

    /// The source's signature.
    pub fn sign(&self, chain_id: &ChainId, key: &Keypair) -> Signature {
        key.sign(&Self::domain(chain_id), self.signing_hash().as_bytes())
    }

    /// True if `signature` is `key`'s over this challenge on `chain_id`.
    pub fn verify(&self, chain_id: &ChainId, key: &PublicKey, signature: &Signature) -> bool {
        key.verify(&Self::domain(chain_id), self.signing_hash().as_bytes(), signature).is_ok()
    }
}
