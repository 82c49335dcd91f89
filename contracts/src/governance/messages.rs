//! Governance calls, proposals and the chain parameters they change.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use panacea_primitives::{Epoch, Hash, Height, PublicKey, Timestamp};
use serde::{Deserialize, Serialize};

use crate::codes::OrgKind;
use crate::ids::{DocumentHash, OrgId};
use crate::risk::RiskParameters;

/// Most proposals open at once, consortium-wide.
pub const PROPOSALS_OPEN_MAX: usize = 64;
/// Most proposals one organisation has open at once.
pub const PROPOSALS_OPEN_PER_ORG_MAX: usize = 8;
/// Shortest voting period, in milliseconds: a deadline sooner than this leaves members
/// no time to read a proposal.
pub const VOTING_PERIOD_MIN_MS: u64 = 60 * 1000;
/// Most pieces of evidence a proposal cites.
pub const CITES_MAX: usize = 8;
/// Largest encoded piece of misbehaviour evidence, in bytes.
pub const EVIDENCE_BYTES_MAX: usize = 16 * 1024;
/// Most misbehaviour records kept per organisation (older ones stay in the audit log).
pub const MISBEHAVIOUR_PER_ORG_MAX: usize = 64;

/// A proposal's id: the id of the transaction that made it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProposalId(pub Hash);

impl std::fmt::Display for ProposalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A misbehaviour record's id: the hash of the evidence.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EvidenceId(pub Hash);

impl std::fmt::Display for EvidenceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The share of voting members whose approval carries a proposal: approved when
/// `approvals * denominator > numerator * voters` (strictly more than the fraction).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Threshold {
    /// Numerator.
    pub numerator: u32,
    /// Denominator.
    pub denominator: u32,
}

impl Threshold {
    /// More than two thirds.
    pub const TWO_THIRDS: Threshold = Threshold { numerator: 2, denominator: 3 };

    /// True if `approvals` of `voters` is more than the fraction.
    pub fn reached(self, approvals: usize, voters: usize) -> bool {
        (approvals as u128) * u128::from(self.denominator) > u128::from(self.numerator) * (voters as u128)
    }

    /// True if the fraction is a proper one: `0 <= n/d < 1`, `d > 0`.
    pub fn is_valid(self) -> bool {
        self.denominator > 0 && self.numerator < self.denominator
    }
}

/// The rules of governance, fixed in genesis.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(default)]
pub struct GovernanceRules {
    /// The share of active members whose approval carries a proposal.
    pub threshold: Threshold,
    /// Longest voting period a proposal may set, in milliseconds.
    pub voting_period_max_ms: u64,
}

impl Default for GovernanceRules {
    fn default() -> Self {
        GovernanceRules { threshold: Threshold::TWO_THIRDS, voting_period_max_ms: 30 * 24 * 60 * 60 * 1000 }
    }
}

/// What health authorities' auditors may read, decided by the consortium.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthorityReads {
    /// The auditor role itself: every organisation's audit events, patients' accountings
    /// of disclosures, consents, decisions, identities and their proofs, evaluations and the
    /// refusal log. Off, a health authority's auditor reads as its own staff do.
    pub audit: bool,
    /// Blocks, transactions and receipts.
    pub ledger: bool,
    /// Every organisation's risk assessments.
    pub risk: bool,
    /// Every organisation's security-governance self-assessments (NIST CSF profiles,
    /// gaps, overdue ones, the regional view).
    pub security_governance: bool,
}

impl Default for AuthorityReads {
    fn default() -> Self {
        AuthorityReads { audit: true, ledger: true, risk: true, security_governance: true }
    }
}

/// The parameters the consortium changes by vote.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(default)]
pub struct ChainParameters {
    /// How long a permit grants access, in milliseconds.
    pub permit_ms: u64,
    /// How long a break-glass grant lasts, in milliseconds.
    pub break_glass_ms: u64,
    /// Most consents in force per patient.
    pub patient_consents_max: u32,
    /// Most transactions of one signer in a node's pool.
    pub pool_per_signer_max: u32,
    /// The risk parameters of an organisation that set none (`None`: the model's own).
    pub risk_defaults: Option<RiskParameters>,
    /// What health authorities' auditors may read.
    pub authority_reads: AuthorityReads,
    /// How old an organisation's latest security-governance self-assessment may be before
    /// it counts as overdue, in milliseconds.
    pub self_assessment_max_age_ms: u64,
}

/// Limits on [`ChainParameters`], so that no vote can set one that breaks the chain.
pub mod limits {
    /// Shortest permit or break-glass grant, in milliseconds.
    pub const GRANT_MS_MIN: u64 = 60 * 1000;
    /// Longest permit or break-glass grant, in milliseconds (90 days).
    pub const GRANT_MS_MAX: u64 = 90 * 24 * 60 * 60 * 1000;
    /// Highest per-patient consent limit (what a patient's consent list holds).
    pub const PATIENT_CONSENTS_MAX: u32 = 64;
    /// Highest per-signer pool limit.
    pub const POOL_PER_SIGNER_MAX: u32 = 10_000;
    /// A day, in milliseconds.
    pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    /// Shortest self-assessment period (30 days).
    pub const SELF_ASSESSMENT_MS_MIN: u64 = 30 * DAY_MS;
    /// Longest self-assessment period (three years).
    pub const SELF_ASSESSMENT_MS_MAX: u64 = 3 * 366 * DAY_MS;
}

impl Default for ChainParameters {
    fn default() -> Self {
        ChainParameters {
            permit_ms: crate::access::PERMIT_MS,
            break_glass_ms: crate::access::BREAK_GLASS_MS,
            patient_consents_max: 64,
            pool_per_signer_max: 1_024,
            risk_defaults: None,
            authority_reads: AuthorityReads::default(),
            self_assessment_max_age_ms: 365 * limits::DAY_MS,
        }
    }
}

/// A new member, as a proposal describes it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct NewMember {
    /// Its id (never one used before, even by a removed member).
    pub id: OrgId,
    /// Its name (an institution's name).
    pub name: String,
    /// Hospital, health authority or vendor.
    pub kind: OrgKind,
    /// Its validator's consensus key, if it will validate.
    pub validator_key: Option<PublicKey>,
    /// Its node's network (libp2p ed25519) public key, if it runs a node.
    pub network_key: Option<[u8; 32]>,
    /// Its admin keys.
    pub admin_keys: Vec<PublicKey>,
    /// How many of its admins make its vote.
    pub admin_threshold: u8,
}

/// What a proposal does when it is approved.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Admits a new member.
    Admit(NewMember),
    /// Suspends a member: its identities and admins cannot act, its validator leaves the
    /// set at the next epoch, its node still follows the chain.
    Suspend(OrgId),
    /// Reinstates a suspended member.
    Reinstate(OrgId),
    /// Removes a member for good: its node is disconnected, its validator leaves the set.
    Remove(OrgId),
    /// Sets (or, with `None`, removes) a member's validator key.
    SetValidator {
        /// The member.
        org: OrgId,
        /// Its new validator key.
        key: Option<PublicKey>,
    },
    /// Sets (or removes) a member's node network key.
    SetNetworkKey {
        /// The member.
        org: OrgId,
        /// Its node's new network key.
        key: Option<[u8; 32]>,
    },
    /// Replaces a member's admin keys: the only way they change, so no member can lose its
    /// keys except by the consortium's vote.
    SetAdmins {
        /// The member.
        org: OrgId,
        /// Its new admin keys.
        keys: Vec<PublicKey>,
        /// How many of them make its vote.
        threshold: u8,
    },
    /// Sets the chain parameters.
    SetParameters(ChainParameters),
}

impl Action {
    /// A short name for lists and events.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Admit(_) => "admit",
            Action::Suspend(_) => "suspend",
            Action::Reinstate(_) => "reinstate",
            Action::Remove(_) => "remove",
            Action::SetValidator { .. } => "set-validator",
            Action::SetNetworkKey { .. } => "set-network-key",
            Action::SetAdmins { .. } => "set-admins",
            Action::SetParameters(_) => "set-parameters",
        }
    }

    /// The organisation the action is about, if any.
    pub fn subject(&self) -> Option<&OrgId> {
        match self {
            Action::Admit(member) => Some(&member.id),
            Action::Suspend(org) | Action::Reinstate(org) | Action::Remove(org) => Some(org),
            Action::SetValidator { org, .. } | Action::SetNetworkKey { org, .. } | Action::SetAdmins { org, .. } => {
                Some(org)
            }
            Action::SetParameters(_) => None,
        }
    }
}

/// Calls of the governance module.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant, reason = "calls are decoded and executed one at a time")]
pub enum GovernanceCall {
    /// An admin of an active member proposes `action`; the proposal counts as that
    /// admin's approval.
    Propose {
        /// What to do.
        action: Action,
        /// After this block time, no more votes: the proposal expires unless decided.
        deadline: Timestamp,
        /// The rationale, kept off chain, by SHA-256.
        rationale: Option<DocumentHash>,
        /// Misbehaviour records the proposal relies on.
        cites: Vec<EvidenceId>,
    },
    /// An admin of an active member votes.
    Vote {
        /// The proposal.
        proposal: ProposalId,
        /// Approve or reject.
        approve: bool,
    },
    /// Anyone able to sign (a member's admin or service) reports a validator's misbehaviour:
    /// the consensus evidence, encoded; the chain verifies it against the validator set of
    /// its epoch.
    ReportMisbehaviour {
        /// The encoded evidence.
        evidence: Vec<u8>,
    },
}

/// One organisation's ballot.
#[derive(Clone, PartialEq, Eq, Debug, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Ballot {
    /// Its admins that approved.
    pub approve: Vec<PublicKey>,
    /// Its admins that rejected.
    pub reject: Vec<PublicKey>,
    /// The organisation's vote, once enough of its admins agree.
    pub decided: Option<bool>,
}

/// Where a proposal stands.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum ProposalStatus {
    /// Taking votes until its deadline.
    Open,
    /// Approved and executed at `height`.
    Executed {
        /// The block.
        height: Height,
    },
    /// Approved at `height`, but its action could no longer be applied.
    Failed {
        /// The block.
        height: Height,
        /// Why.
        reason: String,
    },
    /// Enough members rejected it that it cannot pass.
    Rejected {
        /// The block.
        height: Height,
    },
    /// Its deadline passed undecided.
    Expired {
        /// The block.
        height: Height,
    },
}

/// A proposal and its votes.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id.
    pub id: ProposalId,
    /// What it does.
    pub action: Action,
    /// The member that proposed it.
    pub proposer: OrgId,
    /// When.
    pub proposed_at: Timestamp,
    /// The block it was proposed in.
    pub height: Height,
    /// The last block time votes count.
    pub deadline: Timestamp,
    /// The rationale, off chain, by SHA-256.
    pub rationale: Option<DocumentHash>,
    /// Misbehaviour records it cites.
    pub cites: Vec<EvidenceId>,
    /// Ballots by organisation.
    pub ballots: BTreeMap<OrgId, Ballot>,
    /// Where it stands.
    pub status: ProposalStatus,
}

impl Proposal {
    /// Members whose vote is decided, approving and rejecting.
    pub fn tally(&self) -> (usize, usize) {
        let approve = self.ballots.values().filter(|b| b.decided == Some(true)).count();
        let reject = self.ballots.values().filter(|b| b.decided == Some(false)).count();
        (approve, reject)
    }
}

/// The validators of one epoch, as the chain records them.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch.
    pub epoch: Epoch,
    /// Its validators' keys, in index order.
    pub validators: Vec<PublicKey>,
    /// The block the epoch starts from: the last block of the previous epoch (0 for the
    /// first epoch, which starts from genesis).
    pub anchor_height: Height,
}

/// A change of the validator set decided but not yet in force: it takes effect at the
/// first block whose state attestation covers `decided_at`, which ends the epoch (so a
/// light client proves the new set from the certificate of the block that ends the epoch).
/// While it is pending, no other decision may change the set: the only committed block of
/// the epoch whose attested state holds it is the one that ends the epoch.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct PendingValidators {
    /// The epoch these validators will serve.
    pub epoch: Epoch,
    /// The block that decided the change.
    pub decided_at: Height,
    /// The next epoch's validators, in index order.
    pub validators: Vec<PublicKey>,
}

/// The kind of a validator's misbehaviour.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffenceKind {
    /// Two different proposals for one round.
    DoubleProposal,
    /// Two different votes for one round.
    DoubleVote,
}

/// What verified evidence proves.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Offence {
    /// What was done.
    pub kind: OffenceKind,
    /// The epoch.
    pub epoch: Epoch,
    /// The round.
    pub round: u64,
    /// The validator key that signed both messages.
    pub culprit: PublicKey,
}

/// A validator's misbehaviour, on the record.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Misbehaviour {
    /// Its id (the evidence's hash).
    pub id: EvidenceId,
    /// What the evidence proves.
    pub offence: Offence,
    /// The organisation whose validator it was.
    pub org: OrgId,
    /// Who reported it.
    pub reported_by: OrgId,
    /// When.
    pub height: Height,
}
