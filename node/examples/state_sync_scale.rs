//! State sync at scale: a node's RocksDB filled with `--consents` opt-in consents by
//! executing real signed transactions through the contracts (as replay does, without the
//! network), then the node's own snapshot code exports it (`Snapshots`: checkpoint and
//! chunk files), and a second, empty database takes every chunk in through the importer
//! (each checked against the attested roots) until the rebuilt state root equals the
//! source's.
//!
//! ```text
//! cargo run -p panacea-node --example state_sync_scale -- --consents 1000000 --dir /tmp/ss
//! ```
//!
//! Prints the fill (execute and store) rate, which bounds replay from below, the snapshot's
//! export time, size and chunks, and the import time. The network transfer is not in it:
//! chunks are read from the source's snapshot folder.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use panacea_consensus::{Block, Payload, QuorumCert};
use panacea_contracts::codes::{OrgKind, StaffRole};
use panacea_contracts::consent::{ConsentCall, ConsentTerms};
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{DocumentHash, OrgId, PatientRef};
use panacea_contracts::membership::{ChainMode, Genesis, OrgStatus, Organisation};
use panacea_contracts::state::snapshot::{AuditChunk, CHUNK_BYTES_MAX, Importer, StateChunk};
use panacea_contracts::{BlockContext, Call, SignedTransaction, Transaction};
use panacea_node::metrics::Metrics;
use panacea_node::statesync::Snapshots;
use panacea_node::storage::{BlockCommit, Storage};
use panacea_primitives::{ChainId, Epoch, Hash, Keypair, Round, Timestamp, ValidatorIndex, codec};

const CLERKS: u64 = 1_000;
const PER_BLOCK: u64 = 2_000;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn genesis(admin: &Keypair) -> Genesis {
    Genesis {
        chain_id: ChainId::new("state-sync-scale").unwrap(),
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

fn template() -> ConsentTerms {
    let fhir = include_str!("../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    panacea_contracts::fhir::consent::import(fhir).unwrap().terms
}

/// Commits `txs` as the next block on `storage`; returns the new tip.
fn commit(storage: &Storage, chain: &ChainId, parent: &Block, txs: &[SignedTransaction]) -> Block {
    let height = parent.header.height.next();
    let time = Timestamp(1_700_000_000_000 + height.0 * 1_000);
    let outcome =
        panacea_contracts::execute_block(&storage.state(), &BlockContext::new(chain.clone(), height, time), txs)
            .unwrap();
    assert!(outcome.receipts.iter().all(|r| r.is_ok()), "a transaction failed");
    let justify = QuorumCert::anchor(Epoch(0), parent.id(), parent.header.height);
    let block = Block::new(Epoch(0), Round(height.0), justify, Payload::opaque(Vec::new()), ValidatorIndex(0));
    storage
        .commit_block(&BlockCommit {
            block: &block,
            certificate: None,
            state: &outcome.writes,
            receipts: &outcome.receipts,
            meta: outcome.meta,
            epoch_end: None,
            epoch_change: None,
        })
        .unwrap();
    block
}

fn disk(path: &std::path::Path) -> u64 {
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

fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn main() {
    let consents: u64 = arg("--consents").and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let root =
        arg("--dir").map(std::path::PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("state-sync-scale"));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let admin = Keypair::from_seed([2; 32]);
    let genesis = genesis(&admin);
    let chain = genesis.chain_id.clone();
    let source = Storage::open(&root.join("source")).unwrap();
    let outcome = panacea_contracts::genesis(&source.state(), &genesis).unwrap();
    let genesis_block = Block::genesis(Epoch(0), Payload::opaque(b"genesis".to_vec()));
    let write_genesis = |storage: &Storage| {
        storage
            .commit_block(&BlockCommit {
                block: &genesis_block,
                certificate: None,
                state: &outcome.writes,
                receipts: &[],
                meta: outcome.meta,
                epoch_end: None,
                epoch_change: None,
            })
            .unwrap();
    };
    write_genesis(&source);

    // Clerks, then consents for fresh pseudonymous patients, PER_BLOCK per block.
    let clerks: Vec<Keypair> =
        (0..CLERKS).map(|i| Keypair::from_seed(Hash::digest_parts(&[b"scale-clerk", &i.to_le_bytes()]).0)).collect();
    let registrations: Vec<SignedTransaction> = clerks
        .iter()
        .enumerate()
        .map(|(i, clerk)| {
            let call = Call::Identity(IdentityCall::Register {
                key: clerk.public(),
                kind: IdentityKind::Staff { role: StaffRole::Physician },
            });
            Transaction { chain_id: chain.clone(), signer: admin.public(), nonce: i as u64 + 1, call }.sign(&admin)
        })
        .collect();
    let mut tip = commit(&source, &chain, &genesis_block, &registrations);
    let terms = template();
    let began = Instant::now();
    let mut done = 0u64;
    let mut progress = Instant::now();
    while done < consents {
        let count = PER_BLOCK.min(consents - done);
        let txs: Vec<SignedTransaction> = (done..done + count)
            .map(|n| {
                let clerk = &clerks[(n % CLERKS) as usize];
                let mut terms = terms.clone();
                terms.patient = PatientRef(Hash::digest_parts(&[b"scale-patient", &n.to_le_bytes()]));
                let form = DocumentHash(Hash::digest_parts(&[b"scale-form", &n.to_le_bytes()]));
                let call = Call::Consent(ConsentCall::Record { terms, form_hash: Some(form) });
                Transaction { chain_id: chain.clone(), signer: clerk.public(), nonce: n / CLERKS + 1, call }.sign(clerk)
            })
            .collect();
        tip = commit(&source, &chain, &tip, &txs);
        done += count;
        if progress.elapsed() > Duration::from_secs(30) {
            eprintln!("{done} consents in {:.0} s", began.elapsed().as_secs_f64());
            progress = Instant::now();
        }
    }
    let fill = began.elapsed();
    let height = tip.header.height;
    let source_bytes = disk(&root.join("source"));
    println!(
        "filled: {consents} consents in {height} blocks, {:.0} s ({:.0} consents/s executed and stored), {:.2} GiB on disk ({:.0} bytes per consent)",
        fill.as_secs_f64(),
        consents as f64 / fill.as_secs_f64(),
        source_bytes as f64 / f64::from(1u32 << 30),
        source_bytes as f64 / consents as f64
    );

    // The node's snapshot code: checkpoint, then chunk files in a thread.
    let metrics = Arc::new(Metrics::new());
    let snapshots = Arc::new(Snapshots::open(&root.join("snapshots"), height.0, 1, metrics).unwrap());
    let began = Instant::now();
    snapshots.after_commit(&source, height).unwrap();
    while !snapshots.heights().contains(&height) {
        assert!(began.elapsed() < Duration::from_secs(3_600), "the snapshot was not made");
        std::thread::sleep(Duration::from_millis(50));
    }
    let export = began.elapsed();
    let info_bytes = std::fs::read(root.join("snapshots").join(height.0.to_string()).join("info")).unwrap();
    let info = codec::decode::<panacea_node::statesync::store::Info, 256>(&info_bytes).unwrap();
    let chunk_bytes = disk(&root.join("snapshots"));
    println!(
        "snapshot: {} state and {} audit chunks, {:.2} GiB, exported in {:.1} s",
        info.state_chunks,
        info.audit_chunks,
        chunk_bytes as f64 / f64::from(1u32 << 30),
        export.as_secs_f64()
    );

    // A fresh node takes it in, chunk by chunk, as the shell's import thread does.
    let joiner = Storage::open(&root.join("joiner")).unwrap();
    write_genesis(&joiner);
    let began = Instant::now();
    joiner.begin_import().unwrap();
    let mut importer = Importer::new(info.meta).unwrap();
    for index in 0..info.state_chunks + info.audit_chunks {
        let bytes = snapshots.chunk(height, index).unwrap();
        if index < info.state_chunks {
            importer.add_state_chunk(&codec::decode::<StateChunk, CHUNK_BYTES_MAX>(&bytes).unwrap()).unwrap();
        } else {
            importer.add_audit_chunk(&codec::decode::<AuditChunk, CHUNK_BYTES_MAX>(&bytes).unwrap()).unwrap();
        }
        joiner.import_writes(&importer.drain().unwrap()).unwrap();
    }
    let rest = importer.finish_over(&joiner.state()).unwrap();
    let block = source.block(height).unwrap().unwrap();
    joiner.finish_import(&block, info.meta, &rest, &[]).unwrap();
    let import = began.elapsed();
    assert_eq!(joiner.state_root(height).unwrap(), source.state_root(height).unwrap());
    println!(
        "import: {:.1} s, the rebuilt state root equals the source's; export and import together {:.1} s; peak RSS of the process {} MiB",
        import.as_secs_f64(),
        (export + import).as_secs_f64(),
        peak_rss_mib()
    );
    let _ = std::fs::remove_dir_all(&root);
}
