use bincode::{Decode, Encode};
use panacea_primitives::{ChainId, PublicKey};
use serde::{Deserialize, Serialize};

use crate::codes::OrgKind;
use crate::ids::OrgId;

/// Most organisations in a consortium.
pub const ORGS_MAX: usize = 1_000;
/// Most admin keys per organisation.
pub const ADMIN_KEYS_MAX: usize = 8;
/// Longest organisation name, in bytes.
pub const ORG_NAME_BYTES_MAX: usize = 200;

/// Whether a member takes part.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrgStatus {
    /// A member in good standing.
    Active,
    /// Temporarily excluded: its identities cannot act.
    Suspended,
    /// No longer a member.
    Removed,
}

/// A consortium member.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Organisation {
    /// Its id.
    pub id: OrgId,
    /// Its name (an institution's name, never a person's).
    pub name: String,
    /// Hospital, health authority or vendor.
    pub kind: OrgKind,
    /// Its validator's consensus key, if it runs a validator.
    pub validator_key: Option<PublicKey>,
    /// Its node's network (libp2p ed25519) public key, if it runs a node.
    pub network_key: Option<[u8; 32]>,
    /// Keys that may administer its identities.
    pub admin_keys: Vec<PublicKey>,
    /// How many of its admins make its vote in governance (1 if absent).
    #[serde(default = "one")]
    pub admin_threshold: u8,
    /// Its standing.
    pub status: OrgStatus,
}

/// The initial state of a chain.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Genesis {
    /// The chain.
    pub chain_id: ChainId,
    /// Genesis block time.
    pub time: panacea_primitives::Timestamp,
    /// The members.
    pub organisations: Vec<Organisation>,
    /// What the chain's blocks carry. Absent in a genesis document means `contracts`.
    #[serde(default)]
    pub mode: ChainMode,
    /// The rules of governance (default: more than two thirds of active members, 30 days
    /// at most to vote).
    #[serde(default)]
    pub governance: crate::governance::GovernanceRules,
}

fn one() -> u8 {
    1
}

/// What a chain's blocks carry, fixed at genesis so that no configuration slip can turn a
/// consortium's chain into a benchmark chain or back.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainMode {
    /// Signed transactions, executed by the contracts: every real chain.
    #[default]
    Contracts,
    /// Opaque transactions in batches, ordered and stored but neither signed nor executed:
    /// the consensus-only benchmark, comparable with ordering-only BFT implementations.
    OrderingOnly,
}
