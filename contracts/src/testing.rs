//! A small in-memory chain for tests, benchmarks and examples: a genesis with three
//! members, deterministic keys, and blocks of one or more transactions.
#![allow(clippy::unwrap_used, clippy::panic, reason = "test harness: a failure here is a failed test")]

use std::collections::BTreeMap;

use panacea_primitives::{ChainId, Hash, Height, Keypair, PublicKey, Timestamp};

use crate::audit::AuditEvent;
use crate::codes::{OrgKind, StaffRole};
use crate::context::BlockContext;
use crate::executor::{BlockOutcome, GenesisError, execute_block, genesis as run_genesis};
use crate::identity::{Identity, IdentityCall, IdentityKind};
use crate::ids::{IdentityId, OrgId, PatientRef};
use crate::membership::{ChainMode, Genesis, MembershipError, OrgStatus, Organisation};
use crate::state::{MemoryStore, Meta};
use crate::tx::{Call, Outcome, Receipt, SignedTransaction, Transaction};

/// The organisation id `id` (panics if invalid).
pub fn org(id: &str) -> OrgId {
    OrgId::new(id).unwrap()
}

/// A deterministic key for `label`.
pub fn key(label: &str) -> Keypair {
    Keypair::from_seed(Hash::digest(label.as_bytes()).0)
}

/// A patient reference for `label`.
pub fn patient(label: &str) -> PatientRef {
    PatientRef(Hash::digest_parts(&[b"patient", label.as_bytes()]))
}

/// The chain id of test chains.
pub fn chain_id() -> ChainId {
    ChainId::new("panacea-test").unwrap()
}

/// Two hospitals and a health authority, each with one admin key.
pub fn genesis() -> Genesis {
    let member = |id: &str, name: &str, kind: OrgKind| Organisation {
        id: org(id),
        name: name.into(),
        kind,
        validator_key: Some(key(&format!("{id}/validator")).public()),
        network_key: Some(key(&format!("{id}/node")).public().to_bytes()),
        admin_keys: vec![key(&format!("{id}/admin")).public()],
        admin_threshold: 1,
        status: OrgStatus::Active,
    };
    Genesis {
        chain_id: chain_id(),
        time: Timestamp(1_700_000_000_000),
        organisations: vec![
            member("hospital-a", "Hospital A", OrgKind::Hospital),
            member("hospital-b", "Hospital B", OrgKind::Hospital),
            member("authority", "Regional Health Authority", OrgKind::HealthAuthority),
        ],
        mode: ChainMode::Contracts,
        governance: Default::default(),
    }
}

/// Runs a genesis on an empty store, returning the membership error if it is invalid.
pub fn try_genesis(genesis: &Genesis) -> Result<MemoryStore, MembershipError> {
    let mut store = MemoryStore::new();
    match run_genesis(&store, genesis) {
        Ok(outcome) => {
            store.apply(&outcome.writes);
            Ok(store)
        }
        Err(GenesisError::Invalid(e)) => Err(e),
        Err(other) => panic!("genesis failed: {other}"),
    }
}

/// The error code of a failed outcome, `None` for success.
pub fn error_code(outcome: &Outcome) -> Option<crate::ErrorCode> {
    match outcome {
        Outcome::Failed { code, .. } => Some(*code),
        Outcome::Ok { .. } => None,
    }
}

/// An in-memory chain.
pub struct Chain {
    /// Committed state.
    pub store: MemoryStore,
    /// Height of the last block.
    pub height: Height,
    /// Time of the last block.
    pub time: Timestamp,
    nonces: BTreeMap<PublicKey, u64>,
}

impl Default for Chain {
    fn default() -> Self {
        Chain::new()
    }
}

impl Chain {
    /// A chain after [`genesis`].
    pub fn new() -> Chain {
        let genesis = genesis();
        let store = try_genesis(&genesis).unwrap();
        Chain { store, height: Height(0), time: genesis.time, nonces: BTreeMap::new() }
    }

    /// The admin key of `org_id`.
    pub fn admin(&self, org_id: &str) -> Keypair {
        key(&format!("{org_id}/admin"))
    }

    /// Bookkeeping (roots, audit count).
    pub fn meta(&self) -> Meta {
        Meta::load(&self.store).unwrap()
    }

    /// Signs `call` by `signer` with its next nonce.
    pub fn sign(&mut self, signer: &Keypair, call: Call) -> SignedTransaction {
        let nonce = self.nonces.entry(signer.public()).or_insert(0);
        *nonce += 1;
        Transaction { chain_id: chain_id(), signer: signer.public(), nonce: *nonce, call }.sign(signer)
    }

    /// Executes a block of `txs` one second after the last, without committing it.
    pub fn dry_run(&self, txs: &[SignedTransaction]) -> BlockOutcome {
        let block = BlockContext::new(chain_id(), self.height.next(), self.time.plus_millis(1_000));
        execute_block(&self.store, &block, txs).unwrap()
    }

    /// Executes and commits a block of `txs`, one second after the last.
    pub fn block(&mut self, txs: &[SignedTransaction]) -> BlockOutcome {
        let outcome = self.dry_run(txs);
        self.store.apply(&outcome.writes);
        self.height = self.height.next();
        self.time = self.time.plus_millis(1_000);
        outcome
    }

    /// Moves block time forward by `millis` (the next block is that much later).
    pub fn advance(&mut self, millis: u64) {
        self.time = self.time.plus_millis(millis);
    }

    /// Signs, executes and commits one call; returns its receipt.
    pub fn submit(&mut self, signer: &Keypair, call: Call) -> Receipt {
        let tx = self.sign(signer, call);
        self.block(&[tx]).receipts.remove(0)
    }

    /// Submits and expects success; returns the audit events.
    pub fn ok(&mut self, signer: &Keypair, call: Call) -> Vec<AuditEvent> {
        match self.submit(signer, call).outcome {
            Outcome::Ok { events } => events,
            Outcome::Failed { code, message } => panic!("call failed: {code:?}: {message}"),
        }
    }

    /// Registers a staff member of `org_id` with `role` under key `label`.
    pub fn staff(&mut self, org_id: &str, role: StaffRole, label: &str) -> (Keypair, IdentityId) {
        let staff = key(label);
        let admin = self.admin(org_id);
        self.ok(
            &admin,
            Call::Identity(IdentityCall::Register { key: staff.public(), kind: IdentityKind::Staff { role } }),
        );
        (staff.clone(), Identity::id_for(&org(org_id), &staff.public()))
    }
}

impl Chain {
    /// Registers the product with firmware `firmware` and SBOM `sbom` (by hospital-a's
    /// admin, unless it exists) and has an assessor of the authority attest it for a year,
    /// so that devices on it may be registered.
    pub fn attest_firmware(&mut self, firmware: Hash, sbom: Hash) {
        use crate::product::{Component, ProductCall, Sbom, SbomFormat, StandardClaim};
        if crate::product::product(&self.store, &firmware).unwrap().is_none() {
            let admin = self.admin("hospital-a");
            let sbom = Sbom {
                format: SbomFormat::CycloneDx,
                hash: sbom,
                components: vec![Component { name: "openssl".into(), version: "3.0.13".into(), purl: None }],
            };
            let claims = vec![StandardClaim { standard: "IEC 81001-5-1".into(), evidence: Hash([9; 32]) }];
            self.ok(
                &admin,
                Call::Product(ProductCall::Register {
                    manufacturer: "acme".into(),
                    model: "p1".into(),
                    firmware_version: "1.0.0".into(),
                    firmware_hash: firmware,
                    sbom,
                    claims,
                }),
            );
        }
        let assessor = key("authority/assessor");
        if crate::membership::key_owner(&self.store, &assessor.public()).unwrap().is_none() {
            self.staff("authority", StaffRole::Assessor, "authority/assessor");
        }
        let expires = self.time.plus_millis(365 * 24 * 60 * 60 * 1000);
        self.ok(
            &assessor,
            Call::Product(ProductCall::Attest {
                product: firmware,
                standards: vec!["IEC 81001-5-1".into()],
                report: Hash([8; 32]),
                expires,
            }),
        );
    }
}
