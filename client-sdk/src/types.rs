//! The JSON the node's API speaks. The node serves exactly these types.

use panacea_contracts::Receipt;
use panacea_contracts::audit::{AuditKind, Disclosure};
use panacea_contracts::ids::{IdentityId, OrgId, PatientRef};
use panacea_primitives::Timestamp;
use panacea_primitives::{ChainId, Domain, Epoch, Hash, Height, SignatureKind};
use serde::{Deserialize, Serialize};

/// Every API error: a stable code and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable code (for example `mempool_full`).
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// `POST /v1/transactions` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmitRequest {
    /// The signed transaction's canonical encoding, in hex.
    pub tx: String,
}

/// `POST /v1/transactions/batch` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchSubmitRequest {
    /// Signed transactions' canonical encodings, in hex (at most
    /// [`BATCH_TRANSACTIONS_MAX`]).
    pub txs: Vec<String>,
}

/// Most transactions in one batch submission.
pub const BATCH_TRANSACTIONS_MAX: usize = 1_000;

/// What became of one transaction of a batch: its status, or why it was refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchItem {
    /// Committed or pending (absent if refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TxStatus>,
    /// Why it was refused, with the same codes as a single submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// Where a transaction is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxState {
    /// In a committed block; the receipt says whether it took effect.
    Committed,
    /// In the pool, waiting for a block.
    Pending,
    /// Neither committed nor held by this node.
    Unknown,
}

/// A transaction's status and, once committed, its receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxStatus {
    /// The transaction id.
    pub id: Hash,
    /// Where it is.
    pub status: TxState,
    /// The height of its block, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Height>,
    /// Its receipt, once committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// An opaque batch's status on an ordering-only (consensus-only benchmark) chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpaqueBatchStatus {
    /// The batch id (`primitives::OpaqueBatch::id`).
    pub batch: Hash,
    /// How many transactions it holds.
    pub transactions: u64,
    /// `committed` once a committed block carries it, else `pending`.
    pub status: TxState,
}

/// A committed block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockView {
    /// Height.
    pub height: Height,
    /// Block id.
    pub id: Hash,
    /// Parent id.
    pub parent: Hash,
    /// Epoch of its validator set.
    pub epoch: u64,
    /// Round it was proposed in.
    pub round: u64,
    /// Its proposer's validator index.
    pub author: u16,
    /// Its time, in milliseconds since the Unix epoch.
    pub time: u64,
    /// State root after it.
    pub state_root: Option<Hash>,
    /// How many transactions (or, on an ordering-only chain, batches) it holds.
    pub transaction_count: usize,
    /// Ids of its transactions, in order: for readers of the whole ledger only (an
    /// organisation's operator, whose node replicates every block, or an auditor);
    /// `null` for anyone else.
    pub transactions: Option<Vec<Hash>>,
    /// The commit certificate that made it final, canonical encoding in hex. Blocks
    /// committed together share the certificate of the last one; `null` for the others
    /// and for genesis.
    pub certificate: Option<String>,
    /// The block header, canonical encoding in hex: its hash is the block id, which the
    /// certificate certifies (for everyone).
    pub header: String,
    /// The whole block, canonical encoding in hex (its payload holds every transaction):
    /// for readers of the whole ledger only; `null` for anyone else.
    pub block: Option<String>,
}

/// A proof that records (or their absence) are in the state a certified block attests.
/// Check it with [`crate::verify::TrustAnchor::verify_proof`]; the plain fields are for
/// display and are checked against the certificate there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofView {
    /// The committed height whose state is proved.
    pub height: Height,
    /// The state root after that height.
    pub state_root: Hash,
    /// Height of the certified block that attests the root.
    pub block_height: Height,
    /// The certified state: the attesting block's header, the quorum certificate over it,
    /// its payload meta, the hash of its transactions and the state bookkeeping at
    /// `height`; canonical encoding in hex.
    pub certificate: String,
    /// One entry per key proved, all against the same root.
    pub entries: Vec<ProofEntry>,
}

/// A key, its value or absence, and the sparse Merkle proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofEntry {
    /// The state key, hex.
    pub key: String,
    /// Its canonical encoding, hex; `null` for a proof of absence.
    pub value: Option<String>,
    /// The sparse Merkle proof, hex.
    pub proof: String,
}

/// A document stored by its custodian's node (`POST /v1/documents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDocumentView {
    /// Its salted commitment, to register on chain.
    pub document: panacea_contracts::ids::DocumentHash,
    /// Content length.
    pub bytes: u64,
    /// Chunk count.
    pub chunks: u32,
}

/// A delivery held by the requesting node (`GET /v1/deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The grant.
    pub decision: panacea_contracts::ids::DecisionId,
    /// The document.
    pub document: panacea_contracts::ids::DocumentHash,
    /// The custodian.
    pub custodian: OrgId,
    /// Content length (0 until the first chunk).
    pub bytes: u64,
    /// Chunk count (0 until the first chunk).
    pub chunks: u32,
    /// Chunks received.
    pub received: u32,
    /// `fetching`, `received`, `confirmed` or `refused: <why>`.
    pub state: String,
    /// The envelope for the requesting identity (after the first chunk).
    pub envelope: Option<crate::sharing::Envelope>,
}

/// A validator set (`GET /v1/validators`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSetView {
    /// Its epoch.
    pub epoch: u64,
    /// Votes a certificate needs.
    pub quorum: usize,
    /// The validators, by index.
    pub validators: Vec<ValidatorView>,
}

/// One validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorView {
    /// Its index in the set (as in certificates).
    pub index: u16,
    /// Its consensus key, hex.
    pub key: String,
    /// The organisation that runs it.
    pub org: Option<OrgId>,
}

/// A request a node's API refused (its own record, not chain state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalView {
    /// Sequence number in this node's refusal log.
    pub seq: u64,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The public key the request claimed (hex), if any.
    pub key: Option<String>,
    /// The route (its first two segments; never a patient reference).
    pub route: String,
    /// `unauthenticated`, `forbidden` or `rate limited`.
    pub reason: String,
}

/// A page of refusals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalPage {
    /// Oldest first.
    pub refusals: Vec<RefusalView>,
    /// Pass as `after` for the next page; `null` at the end.
    pub next: Option<u64>,
}

/// A node's status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusView {
    /// The chain.
    pub chain_id: String,
    /// The node's name.
    pub moniker: String,
    /// Its libp2p peer id.
    pub node_id: String,
    /// `validator` or `observer`.
    pub role: String,
    /// Its validator index.
    pub validator_index: Option<u16>,
    /// Committed height.
    pub height: Height,
    /// Committed block id.
    pub block_id: Hash,
    /// Its time (ms since the Unix epoch).
    pub block_time: u64,
    /// State root after it.
    pub state_root: Hash,
    /// Consensus round.
    pub round: u64,
    /// Highest height seen from peers.
    pub best_seen_height: Height,
    /// True while catching up.
    pub catching_up: bool,
    /// Connected peers (a peer that stops answering is dropped within seconds).
    pub peers: Vec<String>,
    /// Validators of the current epoch this node reaches: connected, or itself.
    #[serde(default)]
    pub validators_reachable: usize,
    /// Whether those are enough for a certificate. When false the node cannot commit, and
    /// cannot tell how far the others are: `best_seen_height` and `catching_up` may be
    /// stale.
    #[serde(default)]
    pub quorum_reachable: bool,
    /// Transactions in the pool.
    pub mempool_transactions: usize,
    /// Bytes in the pool.
    pub mempool_bytes: usize,
    /// Software version.
    pub version: String,
}

/// `GET /v1/accounts/{key}/nonce`: the nonce a key's next transaction must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceView {
    /// The next nonce, from committed state (transactions still pending are not counted).
    pub next_nonce: u64,
    /// The nonce after the key's transactions pending in this node's pool (from
    /// `next_nonce`, without gaps): what a new transaction submitted to this node should
    /// carry. Equal to `next_nonce` when none is pending.
    #[serde(default)]
    pub next_free_nonce: u64,
}

/// A page of a patient's accounting of disclosures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountingPage {
    /// The disclosures, oldest first.
    pub disclosures: Vec<Disclosure>,
    /// Pass as `after` for the next page; `None` at the end.
    pub next: Option<u64>,
}

/// `GET /v1/audit/events` filters and cursor. Every field is optional; a member
/// organisation's signer always reads through its own organisation (`org`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Events about this patient.
    pub patient: Option<PatientRef>,
    /// Events with an agent of this organisation.
    pub org: Option<OrgId>,
    /// Events with this identity as agent or subject.
    pub identity: Option<IdentityId>,
    /// Events of this kind (`consent-recorded`, `access-permitted`, ...).
    pub kind: Option<AuditKind>,
    /// Recorded at or after (ms since the Unix epoch).
    pub from: Option<Timestamp>,
    /// Recorded at or before (ms since the Unix epoch).
    pub to: Option<Timestamp>,
    /// Continue after this sequence number (the previous page's `next`).
    pub after: Option<u64>,
    /// Most events (capped by the node).
    pub limit: Option<usize>,
}

impl AuditQuery {
    /// The query string (without `?`), in a fixed order, as signed and sent.
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.patient {
            parts.push(format!("patient={p}"));
        }
        if let Some(o) = &self.org {
            parts.push(format!("org={}", o.as_str()));
        }
        if let Some(i) = &self.identity {
            parts.push(format!("identity={i}"));
        }
        if let Some(k) = self.kind {
            parts.push(format!("kind={}", panacea_contracts::fhir::audit_event::kind_code(k)));
        }
        if let Some(t) = self.from {
            parts.push(format!("from={}", t.as_millis()));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={}", t.as_millis()));
        }
        if let Some(a) = self.after {
            parts.push(format!("after={a}"));
        }
        if let Some(l) = self.limit {
            parts.push(format!("limit={l}"));
        }
        parts.join("&")
    }
}

/// `GET /v1/decisions/{id}`: an access decision, its reason code and its audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionView {
    /// The decision as recorded on chain.
    #[serde(flatten)]
    pub decision: panacea_contracts::access::AccessDecision,
    /// `permitted-by-consent`, `exclusion-overridden`, `break-glass`,
    /// `no-applicable-consent` or `denied-by-consent`.
    pub reason: String,
    /// The audit event the decision logged (absent only if the node lost the receipt).
    pub event: Option<panacea_contracts::audit::AuditEvent>,
}

/// `GET /v1/patients/{patient}/evaluate`: a hypothetical request, decided against the
/// patient's consents as they stood at `at`, recording nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluateQuery {
    /// The requesting identity (its organisation and role come from the chain); or give
    /// `org` and `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<IdentityId>,
    /// The requesting organisation, when no identity is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgId>,
    /// The requester's staff role, when no identity is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The purpose code (`TREAT`, `ETREAT`, `HRESCH`, ...).
    pub purpose: String,
    /// The data class code.
    pub data_class: String,
    /// The FHIR resource type, when named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The custodian holding the data.
    pub custodian: OrgId,
    /// The data's own date, in ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_time: Option<u64>,
    /// When to evaluate, in ms since the Unix epoch (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
}

impl EvaluateQuery {
    /// The query string (every value is an id or a code, none needs escaping).
    pub fn to_query_string(&self) -> String {
        let mut parts = vec![
            format!("purpose={}", self.purpose),
            format!("data_class={}", self.data_class),
            format!("custodian={}", self.custodian.as_str()),
        ];
        if let Some(r) = &self.requester {
            parts.push(format!("requester={r}"));
        }
        if let Some(o) = &self.org {
            parts.push(format!("org={}", o.as_str()));
        }
        if let Some(r) = &self.role {
            parts.push(format!("role={r}"));
        }
        if let Some(t) = &self.resource_type {
            parts.push(format!("resource_type={t}"));
        }
        if let Some(t) = self.data_time {
            parts.push(format!("data_time={t}"));
        }
        if let Some(t) = self.at {
            parts.push(format!("at={t}"));
        }
        parts.join("&")
    }
}

/// The answer to an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationView {
    /// `permit` or `deny`.
    pub decision: String,
    /// The reason code, as for recorded decisions (never `break-glass`: break-glass is
    /// requested, not evaluated).
    pub reason: String,
    /// The deciding consents and their versions.
    pub consents: Vec<(panacea_contracts::ids::ConsentId, u32)>,
    /// The consents whose denials a more specific permit overrode.
    pub overridden: Vec<(panacea_contracts::ids::ConsentId, u32)>,
    /// The instant evaluated.
    pub at: Timestamp,
    /// How many consents were in the patient's list at `at` (in force or not).
    pub considered: usize,
}

/// `POST /v1/pseudonyms` body: a patient as the custodian's records name them. Exactly
/// one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymRequest {
    /// `Patient/<FHIR logical id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    /// A business identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<IdentifierView>,
}

/// A FHIR Identifier's system and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierView {
    /// The system (a URI).
    pub system: String,
    /// The value.
    pub value: String,
}

/// `GET /v1/organisations/{org}/risk`: an organisation's risk on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskView {
    /// The organisation.
    pub org: OrgId,
    /// Its risk parameters, once its admins set them.
    pub parameters: Option<panacea_contracts::risk::RiskParameters>,
    /// Its latest assessments, newest first.
    pub assessments: Vec<panacea_contracts::risk::Assessment>,
    /// Its devices in quarantine.
    pub quarantined: Vec<panacea_contracts::risk::Quarantine>,
}

/// The pseudonymous reference the node's organisation derives for a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PseudonymView {
    /// The reference.
    pub patient_ref: PatientRef,
}

/// Signed requests: the headers, and what is signed (the node checks exactly this).
pub mod signed {
    use super::{ChainId, Domain, Epoch, Hash, SignatureKind};

    /// The signer's public key (hex).
    pub const HEADER_KEY: &str = "x-panacea-key";
    /// The request time, ms since the Unix epoch.
    pub const HEADER_TIMESTAMP: &str = "x-panacea-timestamp";
    /// A fresh random nonce, 16 to 64 hex digits.
    pub const HEADER_NONCE: &str = "x-panacea-nonce";
    /// The signature (hex).
    pub const HEADER_SIGNATURE: &str = "x-panacea-signature";
    /// The SHA-256 (hex) of a streamed request body (a document upload), which the
    /// signature covers in place of the body; the node checks the body against it.
    pub const HEADER_CONTENT_SHA256: &str = "x-panacea-content-sha256";
    /// How far a request's time may be from the node's, in milliseconds.
    pub const FRESHNESS_MS: u64 = 60_000;

    /// The bytes signed for a request:
    /// `panacea-api-v2 \n METHOD \n PATH_AND_QUERY \n SHA-256(body) hex \n TIMESTAMP \n NONCE \n NODE_ID`.
    /// `NODE_ID` is the id of the node the request is sent to (`node_id` in
    /// `/v1/status`): a request signed for one node cannot be replayed on another.
    pub fn signing_bytes(
        method: &str,
        path_and_query: &str,
        body_sha256: &Hash,
        timestamp: u64,
        nonce: &str,
        audience: &str,
    ) -> Vec<u8> {
        format!("panacea-api-v2\n{method}\n{path_and_query}\n{body_sha256}\n{timestamp}\n{nonce}\n{audience}")
            .into_bytes()
    }

    /// The signing domain of API requests on `chain_id`.
    pub fn domain(chain_id: &ChainId) -> Domain {
        Domain::new(chain_id.clone(), Epoch(0), SignatureKind::ApiRequest)
    }
}

/// `GET /v1/governance`: how the consortium governs itself, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceView {
    /// The rules fixed in genesis (threshold, longest voting period).
    pub rules: panacea_contracts::governance::GovernanceRules,
    /// The chain parameters in force.
    pub parameters: panacea_contracts::governance::ChainParameters,
    /// The current epoch's validators.
    pub epoch: Option<panacea_contracts::governance::EpochRecord>,
    /// A validator set decided but not yet in force.
    pub pending: Option<panacea_contracts::governance::PendingValidators>,
    /// Proposals open, with their deadlines.
    pub open: Vec<(panacea_contracts::governance::ProposalId, panacea_primitives::Timestamp)>,
}

/// `GET /v1/governance/epochs`: the proofs of the validator-set changes, each the hex of a
/// [`crate::verify::EpochChange`], in epoch order from `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochChangesView {
    /// The changes, hex-encoded.
    pub changes: Vec<String>,
}

/// `GET /v1/products`: a page of registered medical products (firmware builds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductsPage {
    /// The products, in registration order.
    pub products: Vec<panacea_contracts::product::Product>,
    /// How many are registered.
    pub total: u64,
    /// The `from` of the next page, when there is one.
    pub next: Option<u64>,
}

/// `GET /v1/products/{firmware}`: a product, whether devices may run it now, and how many
/// devices were registered on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    /// The product.
    pub product: panacea_contracts::product::Product,
    /// True if an attestation is in force (devices may be registered or reactivated).
    pub in_force: bool,
    /// Device identities ever registered on this firmware (of every member).
    pub devices: u64,
}

/// `GET /v1/organisations/{org}/self-assessment`: an organisation's security-governance
/// posture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfAssessmentView {
    /// The organisation.
    pub org: OrgId,
    /// Its latest self-assessment, if any.
    pub latest: Option<panacea_contracts::csf::SelfAssessment>,
    /// How many versions it recorded.
    pub versions: u32,
    /// True if it has none, or the latest is older than the consortium's period.
    pub overdue: bool,
    /// The latest's gaps, largest first.
    pub gaps: Vec<panacea_contracts::csf::Gap>,
    /// The consortium's period, in milliseconds.
    pub max_age_ms: u64,
}

/// One member in the regional view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPosture {
    /// The member.
    pub org: OrgId,
    /// Its latest version (0: never assessed).
    pub version: u32,
    /// When it was recorded.
    pub submitted_at: Option<Timestamp>,
    /// True if missing or older than the period.
    pub overdue: bool,
}

/// `GET /v1/security-governance/region`: every member's posture and the distribution per
/// CSF category, for health authorities' auditors. No evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionView {
    /// The catalogue version the distribution uses.
    pub catalogue: String,
    /// The consortium's period, in milliseconds.
    pub max_age_ms: u64,
    /// Every active member.
    pub members: Vec<MemberPosture>,
    /// Per category, across members' whole-organisation profiles.
    pub categories: Vec<panacea_contracts::csf::CategoryDistribution>,
}

/// `GET /v1/organisations/{org}/connections`: the machine-to-machine connections an
/// organisation allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionsView {
    /// The organisation.
    pub org: OrgId,
    /// Its rules (expired ones until removed).
    pub rules: Vec<panacea_contracts::connection::ConnectionRule>,
}

/// `POST /v1/connections/verify` body: the source's answer to a gateway's challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyConnectionRequest {
    /// What the source signed.
    pub challenge: panacea_contracts::connection::ConnectionChallenge,
    /// The source's signature.
    pub signature: panacea_primitives::Signature,
}

/// `POST /v1/connections/verify` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionVerdictView {
    /// True if a rule in force allows it and the source proved itself.
    pub expected: bool,
    /// Why not, when not (`no-rule`, `rule-expired`, `bad-signature`, ...).
    pub reason: Option<String>,
    /// The rule, when one exists.
    pub rule: Option<panacea_contracts::connection::ConnectionRule>,
    /// A proof of the rule (or its absence) against a certified state root, when the
    /// chain is old enough to attest one: check it with `TrustAnchor`.
    pub proof: Option<ProofView>,
}

/// `GET /v1/organisations/{org}/training`: an organisation's catalogue and policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingView {
    /// The organisation.
    pub org: OrgId,
    /// Its courses.
    pub courses: Vec<panacea_contracts::training::Course>,
    /// Its policy.
    pub policy: panacea_contracts::training::TrainingPolicy,
}

/// One credential and whether it counts now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    /// The credential.
    pub credential: panacea_contracts::training::Credential,
    /// True if it counts at the latest block (not revoked, not expired, a version the
    /// course still accepts).
    pub current: bool,
}

/// `GET /v1/identities/{id}/credentials`: an identity's training credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsView {
    /// The holder.
    pub holder: IdentityId,
    /// One per course: the latest.
    pub credentials: Vec<CredentialView>,
}

/// What a nudge is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NudgeKind {
    /// A break-glass access awaits its review (to the requester, and the custodian's auditors).
    BreakGlassReview,
    /// An identity's first access request to a custodian it never asked before.
    FirstCustodianAccess,
    /// Many access requests by one identity in a short time.
    RequestBurst,
    /// A device of the organisation found at high risk (quarantined).
    HighRisk,
    /// A connection no rule allowed, to or from the organisation's machines.
    UnexpectedConnection,
    /// A training credential about to expire.
    TrainingExpiring,
    /// The organisation's security-governance self-assessment is overdue.
    SelfAssessmentOverdue,
}

impl NudgeKind {
    /// Every kind, in order.
    pub const ALL: [NudgeKind; 7] = [
        NudgeKind::BreakGlassReview,
        NudgeKind::FirstCustodianAccess,
        NudgeKind::RequestBurst,
        NudgeKind::HighRisk,
        NudgeKind::UnexpectedConnection,
        NudgeKind::TrainingExpiring,
        NudgeKind::SelfAssessmentOverdue,
    ];
}

/// Who a nudge is for: one identity, or every staff identity of the organisation with a
/// role (the first to acknowledge it acknowledges it for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NudgeRecipient {
    /// One identity.
    Identity(IdentityId),
    /// Every staff identity with this role.
    Role(panacea_contracts::codes::StaffRole),
}

/// A nudge: a prompt to a member of staff, kept off chain by their organisation's node.
/// It names identities, organisations and on-chain records, never a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NudgeView {
    /// Its id on this node.
    pub id: u64,
    /// What it is about.
    pub kind: NudgeKind,
    /// Who it is for.
    pub recipient: NudgeRecipient,
    /// The identity it is about (a requester, a device, a credential's holder).
    pub subject: Option<IdentityId>,
    /// The other organisation involved, if any.
    pub other_org: Option<OrgId>,
    /// The on-chain record behind it (a decision, a rule, a credential), if any.
    pub record: Option<Hash>,
    /// The audit event behind it, if any.
    pub event: Option<u64>,
    /// What to do, for the staff app to show.
    pub message: String,
    /// When it was made (block time, or the node's clock for scheduled ones).
    pub created: Timestamp,
    /// Who acknowledged it and when.
    pub acknowledged: Option<(IdentityId, Timestamp)>,
}

/// `GET /v1/nudges`: the signer's nudges (to it, or to its role), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NudgePage {
    /// The nudges.
    pub nudges: Vec<NudgeView>,
    /// Pass as `after` to read on; `None` at the end.
    pub next: Option<u64>,
}

/// Sent and acknowledged nudges of one kind in one week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NudgeRate {
    /// The kind.
    pub kind: NudgeKind,
    /// The week's first day (ms since the Unix epoch, weeks counted from it).
    pub week_start: Timestamp,
    /// Nudges made that week.
    pub sent: u64,
    /// Of those, acknowledged (so far).
    pub acknowledged: u64,
}

/// `GET /v1/nudges/rates`: the organisation's acknowledgement rates per kind and week,
/// newest week first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NudgeRatesView {
    /// The organisation.
    pub org: OrgId,
    /// Per kind and week.
    pub rates: Vec<NudgeRate>,
}
