//! Filling a node's RocksDB with consents the way a replaying node does: real signed
//! transactions executed by the contracts, each block committed through the node's
//! storage with its transactions in the block's payload. Shared by the examples that
//! measure storage at scale.

use panacea_consensus::{Block, Payload, QuorumCert};
use panacea_contracts::codes::{OrgKind, StaffRole};
use panacea_contracts::consent::{ConsentCall, ConsentTerms};
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{DocumentHash, OrgId, PatientRef};
use panacea_contracts::membership::{ChainMode, Genesis, OrgStatus, Organisation};
use panacea_contracts::{BlockContext, Call, SignedTransaction, Transaction};
use panacea_node::payload::BlockBody;
use panacea_node::storage::{BlockCommit, Storage};
use panacea_primitives::{ChainId, Epoch, Hash, Keypair, Round, StateAttestation, Timestamp, ValidatorIndex};

/// Clerks that sign the consents, round robin.
pub(crate) const CLERKS: u64 = 1_000;

/// A chain being filled: its storage, its tip and the keys that sign.
pub(crate) struct Filler {
    /// The node's database.
    pub(crate) storage: Storage,
    /// The chain.
    pub(crate) chain: ChainId,
    /// The committed tip.
    pub(crate) tip: Block,
    admin: Keypair,
    clerks: Vec<Keypair>,
    terms: ConsentTerms,
    /// Consents recorded so far.
    pub(crate) consents: u64,
}

fn genesis(admin: &Keypair) -> Genesis {
    Genesis {
        chain_id: ChainId::new("storage-scale").unwrap(),
        time: Timestamp(1_700_000_000_000),
        organisations: vec![Organisation {
            id: OrgId::new("hospital-a").unwrap(),
            name: "Hospital A".into(),
            kind: OrgKind::Hospital,
            validator_key: Some(Keypair::from_seed([1; 32]).public()),
            network_key: None,
            admin_keys: vec![admin.public()],
            admin_threshold: 1,
            status: OrgStatus::Active,
        }],
        mode: ChainMode::Contracts,
        governance: Default::default(),
    }
}

/// The genesis block of the filled chain.
pub(crate) fn genesis_block() -> Block {
    Block::genesis(Epoch(0), Payload::opaque(b"genesis".to_vec()))
}

/// Writes the genesis of the filled chain into `storage`.
pub(crate) fn write_genesis(storage: &Storage) {
    let admin = Keypair::from_seed([2; 32]);
    let outcome = panacea_contracts::genesis(&storage.state(), &genesis(&admin)).unwrap();
    storage.commit_block(&BlockCommit::uncertified(&genesis_block(), &outcome.writes, &[], outcome.meta)).unwrap();
}

impl Filler {
    /// A new chain in `storage`: genesis, then a block registering the clerks.
    pub(crate) fn new(storage: Storage) -> Filler {
        let admin = Keypair::from_seed([2; 32]);
        let chain = genesis(&admin).chain_id;
        write_genesis(&storage);
        let clerks: Vec<Keypair> = (0..CLERKS)
            .map(|i| Keypair::from_seed(Hash::digest_parts(&[b"scale-clerk", &i.to_le_bytes()]).0))
            .collect();
        let fhir = include_str!("../../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
        let terms = panacea_contracts::fhir::consent::import(fhir).unwrap().terms;
        let mut filler = Filler { storage, chain, tip: genesis_block(), admin, clerks, terms, consents: 0 };
        let registrations: Vec<SignedTransaction> = filler
            .clerks
            .iter()
            .enumerate()
            .map(|(i, clerk)| {
                let call = Call::Identity(IdentityCall::Register {
                    key: clerk.public(),
                    kind: IdentityKind::Staff { role: StaffRole::Physician },
                });
                Transaction { chain_id: filler.chain.clone(), signer: filler.admin.public(), nonce: i as u64 + 1, call }
                    .sign(&filler.admin)
            })
            .collect();
        filler.commit(&registrations);
        filler
    }

    /// The next `count` consents, each for a fresh pseudonymous patient.
    pub(crate) fn consents(&self, count: u64) -> Vec<SignedTransaction> {
        (self.consents..self.consents + count)
            .map(|n| {
                let clerk = &self.clerks[(n % CLERKS) as usize];
                let mut terms = self.terms.clone();
                terms.patient = PatientRef(Hash::digest_parts(&[b"scale-patient", &n.to_le_bytes()]));
                let form = DocumentHash(Hash::digest_parts(&[b"scale-form", &n.to_le_bytes()]));
                let call = Call::Consent(ConsentCall::Record { terms, form_hash: Some(form) });
                Transaction { chain_id: self.chain.clone(), signer: clerk.public(), nonce: n / CLERKS + 1, call }
                    .sign(clerk)
            })
            .collect()
    }

    /// Records the next `count` consents in one block.
    pub(crate) fn fill_block(&mut self, count: u64) {
        let txs = self.consents(count);
        self.commit(&txs);
        self.consents += count;
    }

    /// Records consents in blocks of `per_block` until there are `consents`, printing
    /// progress every 30 s.
    pub(crate) fn fill_to(&mut self, consents: u64, per_block: u64) {
        let began = std::time::Instant::now();
        let mut progress = std::time::Instant::now();
        while self.consents < consents {
            self.fill_block(per_block.max(1).min(consents - self.consents));
            if progress.elapsed() > std::time::Duration::from_secs(30) {
                eprintln!("{} consents in {:.0} s", self.consents, began.elapsed().as_secs_f64());
                progress = std::time::Instant::now();
            }
        }
    }

    /// Executes `txs` and commits them as the next block, its payload holding them as a
    /// node's does; every transaction must succeed.
    pub(crate) fn commit(&mut self, txs: &[SignedTransaction]) {
        let parent = &self.tip;
        let height = parent.header.height.next();
        let time = Timestamp(1_700_000_000_000 + height.0 * 1_000);
        let state = StateAttestation {
            height: parent.header.height,
            state_root: self.storage.state_root(parent.header.height).unwrap().unwrap_or(Hash::ZERO),
        };
        let outcome = panacea_contracts::execute_block(
            &self.storage.state(),
            &BlockContext::new(self.chain.clone(), height, time),
            txs,
        )
        .unwrap();
        assert!(outcome.receipts.iter().all(|r| r.is_ok()), "a transaction failed");
        let justify = QuorumCert::anchor(Epoch(0), parent.id(), parent.header.height);
        let payload = BlockBody::new(time, state, txs.to_vec()).to_payload();
        let block = Block::new(Epoch(0), Round(height.0), justify, payload, ValidatorIndex(0));
        self.storage
            .commit_block(&BlockCommit::uncertified(&block, &outcome.writes, &outcome.receipts, outcome.meta))
            .unwrap();
        self.tip = block;
    }
}

/// Bytes of every file under `path`.
pub(crate) fn disk(path: &std::path::Path) -> u64 {
    walk(path).iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

fn walk(path: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// The process's peak resident memory, in MiB.
pub(crate) fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// The value of `--name` on the command line.
pub(crate) fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}
