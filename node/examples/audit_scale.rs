//! The audit query by patient at scale: fills a node's RocksDB state with generated audit
//! events and their indexes (the exact keys and encodings the contracts write, without
//! executing transactions), then times `audit::events` for random patients, as the API's
//! `GET /v1/audit/events?patient=` runs it.
//!
//! ```text
//! cargo run --release -p panacea-node --example audit_scale -- --events 10000000
//! ```
//!
//! Every event is an access decision about one of `events / per-patient` patients, by a
//! physician of one of 16 organisations; a query reads one patient's first page (up to
//! 100 events).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr, missing_docs)]

use std::time::{Duration, Instant};

use panacea_consensus::{Block, Payload, QuorumCert};
use panacea_contracts::audit::{
    AuditAction, AuditAgent, AuditEntity, AuditEvent, AuditFilter, AuditKind, AuditOutcome,
};
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::ids::{DecisionId, IdentityId, OrgId, PatientRef};
use panacea_contracts::state::{AUDIT_EVENT_PREFIX, Meta, WriteBatch};
use panacea_node::storage::{BlockCommit, Storage};
use panacea_primitives::{Epoch, Hash, Height, Round, Timestamp, ValidatorIndex, codec};

/// Events written per RocksDB batch (one stored "block").
const EVENTS_PER_BATCH: u64 = 200_000;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn patient(n: u64) -> PatientRef {
    PatientRef(Hash::digest_parts(&[b"scale-patient", &n.to_le_bytes()]))
}

fn event(seq: u64, patients: u64) -> AuditEvent {
    let org = OrgId::new(format!("hospital-{}", seq % 16)).unwrap();
    let identity = IdentityId(Hash::digest_parts(&[b"scale-physician", &(seq % 4_096).to_le_bytes()]));
    AuditEvent {
        seq,
        kind: AuditKind::AccessDecision,
        action: AuditAction::Read,
        outcome: AuditOutcome::Success,
        recorded: Timestamp(1_700_000_000_000 + seq),
        height: Height(1 + seq / 1_000),
        agents: vec![AuditAgent {
            identity: Some(identity),
            key: None,
            org: Some(org),
            role: Some(StaffRole::Physician),
            requestor: true,
        }],
        entity: AuditEntity {
            patient: Some(patient(seq % patients)),
            decision: Some(DecisionId(Hash::digest_parts(&[b"scale-decision", &seq.to_le_bytes()]))),
            data_class: Some(DataClass::LabResults),
            ..AuditEntity::default()
        },
        purpose: Some(Purpose::Treatment),
        prev: Hash::ZERO,
    }
}

fn main() {
    let events = arg("--events", 1_000_000);
    let per_patient = arg("--per-patient", 10).max(1);
    let queries = arg("--queries", 10_000);
    let patients = (events / per_patient).max(1);
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let mut parent = Block::genesis(Epoch(0), Payload::opaque(b"genesis".to_vec()));
    storage.commit_block(&BlockCommit::uncertified(&parent, &WriteBatch::new(), &[], Meta::default())).unwrap();

    let began = Instant::now();
    let mut seq = 0;
    while seq < events {
        let mut writes = WriteBatch::new();
        for s in seq..events.min(seq + EVENTS_PER_BATCH) {
            let event = event(s, patients);
            let mut key = AUDIT_EVENT_PREFIX.to_vec();
            key.extend_from_slice(&s.to_be_bytes());
            writes.insert(key, Some(codec::encode(&event)));
            for index in panacea_contracts::audit::index_keys(&event) {
                writes.insert(index, Some(Vec::new()));
            }
        }
        seq = events.min(seq + EVENTS_PER_BATCH);
        let justify = QuorumCert::anchor(Epoch(0), parent.id(), parent.header.height);
        let round = Round(parent.header.height.0 + 1);
        let block = Block::new(Epoch(0), round, justify, Payload::opaque(Vec::new()), ValidatorIndex(0));
        let commit = BlockCommit::uncertified(&block, &writes, &[], Meta::default());
        storage.commit_block(&commit).unwrap();
        parent = block;
        if seq % 2_000_000 == 0 {
            eprintln!("{seq} events written in {:.0} s", began.elapsed().as_secs_f64());
        }
    }
    let fill = began.elapsed();
    let bytes: u64 =
        std::fs::read_dir(dir.path()).unwrap().flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum();

    // Random patients, drawn by a fixed linear congruential sequence (no dependency).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut times: Vec<Duration> = Vec::with_capacity(usize::try_from(queries).unwrap());
    let mut found = 0usize;
    for _ in 0..queries {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let filter = AuditFilter { patient: Some(patient((state >> 11) % patients)), ..AuditFilter::default() };
        let start = Instant::now();
        let page = panacea_contracts::audit::events(&storage.state(), &filter, None, 100).unwrap();
        times.push(start.elapsed());
        found += page.events.len();
    }
    times.sort();
    let pct = |p: usize| times[(times.len() - 1) * p / 100].as_secs_f64() * 1000.0;
    println!(
        "{events} events ({patients} patients, {per_patient} each), filled in {:.0} s ({:.0} events/s), {:.0} bytes on disk per event",
        fill.as_secs_f64(),
        events as f64 / fill.as_secs_f64(),
        bytes as f64 / events as f64
    );
    println!(
        "query by patient, {queries} queries, {:.1} events each: p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        found as f64 / queries as f64,
        pct(50),
        pct(90),
        pct(99),
        times.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
}
