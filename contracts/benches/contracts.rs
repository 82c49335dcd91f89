//! What one replica pays to execute a block: consent grants and access decisions through
//! `execute_block` (with and without the batch signature check), the state-tree update of a
//! block on top of 10^4 to 10^6 stored consents, state proofs, and the audit accumulator.
//!
//! Run with `cargo bench -p panacea-contracts --bench contracts -- --quick`; figures go to
//! `docs/benchmarks.md` (section "Contracts"). Set `PANACEA_BENCH_10M=1` to add a point at
//! 10^7 stored consents (about ten times the memory and time of 10^6).
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "benchmark report")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "benchmark harness")]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use panacea_contracts::access::{AccessCall, DecisionOutcome, access_decision};
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::{
    ActorRef, Consent, ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType,
    Recorder, Verification,
};
use panacea_contracts::ids::{ConsentId, DecisionId, DocumentHash, IdentityId, PatientRef};
use panacea_contracts::state::{
    BlockState, MemoryStore, Meta, STATE_PREFIX, WriteBatch, audit_log, authenticated, key,
};
use panacea_contracts::testing::{Chain, org, patient};
use panacea_contracts::{Call, Outcome, SignedTransaction, Transaction};
use panacea_primitives::{BatchVerifier, Hash, Keypair, Timestamp};

/// Transactions per benchmarked block.
const BLOCK: usize = 1_000;
/// Authenticated writes (`s/` keys) of a block, as the state tree takes them.
type StateWrites = Vec<(Vec<u8>, Option<Vec<u8>>)>;
/// Consents written per tree version while populating a store.
const POPULATE_CHUNK: u64 = 10_000;

fn block_throughput() -> Throughput {
    Throughput::Elements(u64::try_from(BLOCK).unwrap())
}

/// Peak and current resident memory of this process, from `/proc/self/status`.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map_or_else(|| "?".to_owned(), |l| l[name.len()..].trim().to_owned())
    };
    format!("VmHWM {}, VmRSS {}", field("VmHWM:"), field("VmRSS:"))
}

fn form_hash(label: &str, n: u64) -> DocumentHash {
    DocumentHash(Hash::digest_parts(&[b"form", label.as_bytes(), &n.to_le_bytes()]))
}

fn terms(patient: PatientRef, provision: Provision) -> ConsentTerms {
    ConsentTerms {
        patient,
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec!["59284-0".into()],
        policy_rule: PolicyRule::OptIn,
        verification: vec![Verification { verified: true, date: Some(Timestamp(1_700_000_000_000)) }],
        provision,
    }
}

/// A custodian-recorded consent for `patient`.
fn record(patient: PatientRef, provision: Provision, form: DocumentHash) -> Call {
    Call::Consent(ConsentCall::Record { terms: terms(patient, provision), form_hash: Some(form) })
}

/// `count` permit-all consent grants for distinct patients, signed by `staff`.
fn grant_block(chain: &mut Chain, staff: &Keypair, label: &str, count: usize) -> Vec<SignedTransaction> {
    (0..count)
        .map(|i| {
            let n = u64::try_from(i).unwrap();
            let call =
                record(patient(&format!("{label}/{i}")), Provision::all(ProvisionType::Permit), form_hash(label, n));
            chain.sign(staff, call)
        })
        .collect()
}

/// A chain with a registered intake clerk of hospital-a, the custodian.
fn chain_with_clerk() -> (Chain, Keypair) {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "bench/clerk");
    (chain, clerk)
}

fn assert_all_ok(chain: &Chain, txs: &[SignedTransaction]) {
    let outcome = chain.dry_run(txs);
    for receipt in &outcome.receipts {
        if let Outcome::Failed { code, message } = &receipt.outcome {
            panic!("benchmark transaction failed: {code:?}: {message}");
        }
    }
}

/// Exactly the signature work `execute_block` does before executing anything: transaction
/// ids, queueing (strict encoding checks) and the batch equation.
fn verify_signatures(txs: &[SignedTransaction]) -> Vec<bool> {
    let ids: Vec<Hash> = txs.iter().map(|t| t.tx.signing_hash()).collect();
    let mut batch = BatchVerifier::with_capacity(txs.len());
    for (signed, id) in txs.iter().zip(&ids) {
        batch.push(&signed.tx.signer, &Transaction::domain(&signed.tx.chain_id), id.as_bytes(), &signed.signature);
    }
    batch.verify_each()
}

/// The state-tree part of `chain.dry_run(txs)`: the same authenticated writes applied to the
/// same committed tree, as `BlockState::finish` does.
fn bench_tree_update(b: &mut criterion::Bencher<'_>, store: &MemoryStore, writes: &[(Vec<u8>, Option<Vec<u8>>)]) {
    let version = Meta::load(store).unwrap().tree_version.map_or(0, |v| v + 1);
    b.iter_batched(
        || writes.to_vec(),
        |writes| {
            let mut batch = WriteBatch::new();
            let root = authenticated::update(store, version, writes, &mut batch).unwrap();
            (root, batch)
        },
        BatchSize::LargeInput,
    );
}

/// 1,000 grants signed by 1,000 different keys (signatures only: they are not executed).
fn distinct_signer_grants() -> Vec<SignedTransaction> {
    (0..BLOCK)
        .map(|i| {
            let key = panacea_contracts::testing::key(&format!("bench/signer/{i}"));
            let n = u64::try_from(i).unwrap();
            let call =
                record(patient(&format!("distinct/{i}")), Provision::all(ProvisionType::Permit), form_hash("d", n));
            Transaction { chain_id: panacea_contracts::testing::chain_id(), signer: key.public(), nonce: 1, call }
                .sign(&key)
        })
        .collect()
}

fn execute_grants(c: &mut Criterion) {
    let (mut chain, clerk) = chain_with_clerk();
    let txs = grant_block(&mut chain, &clerk, "grant", BLOCK);
    assert_all_ok(&chain, &txs);
    assert!(verify_signatures(&txs).iter().all(|ok| *ok));

    let mut group = c.benchmark_group("execute");
    group.throughput(block_throughput());
    group.sample_size(20);
    group.bench_function("consent_grant", |b| b.iter(|| chain.dry_run(black_box(&txs))));
    group.bench_function("consent_grant_signatures_only", |b| b.iter(|| verify_signatures(black_box(&txs))));
    let distinct = distinct_signer_grants();
    assert!(verify_signatures(&distinct).iter().all(|ok| *ok));
    group.bench_function("consent_grant_signatures_only_distinct_signers", |b| {
        b.iter(|| verify_signatures(black_box(&distinct)))
    });
    let writes = state_writes(&chain.dry_run(&txs).writes);
    eprintln!("execute/consent_grant: the block updates {} tree keys", writes.len());
    group.bench_function("consent_grant_tree_update_only", |b| bench_tree_update(b, &chain.store, &writes));
    group.finish();
}

/// The provisions of a patient's consents: every patient has a permit-all consent; every
/// second or third one also has consents with deny exceptions.
fn access_consents(i: usize) -> Vec<Provision> {
    let permit_all = Provision::all(ProvisionType::Permit);
    // Permit everything but mental-health data.
    let no_mental_health = Provision {
        exceptions: vec![Provision {
            data_classes: vec![DataClass::MentalHealth],
            resource_types: Vec::new(),
            mime_types: Vec::new(),
            ..Provision::all(ProvisionType::Deny)
        }],
        ..Provision::all(ProvisionType::Permit)
    };
    // Deny hospital-b genomics data (a second consent; deny wins at equal specificity).
    let no_genomics_for_b = Provision {
        actors: vec![ActorRef::Organisation(org("hospital-b"))],
        data_classes: vec![DataClass::Genomics],
        resource_types: Vec::new(),
        mime_types: Vec::new(),
        ..Provision::all(ProvisionType::Deny)
    };
    match i % 3 {
        0 => vec![permit_all],
        1 => vec![permit_all, no_mental_health],
        _ => vec![permit_all, no_mental_health, no_genomics_for_b],
    }
}

fn execute_access(c: &mut Criterion) {
    let (mut chain, clerk) = chain_with_clerk();
    let (physician, _) = chain.staff("hospital-b", StaffRole::Physician, "bench/physician");
    let mut recording = Vec::new();
    for i in 0..BLOCK {
        for (j, provision) in access_consents(i).into_iter().enumerate() {
            let n = u64::try_from(i * 3 + j).unwrap();
            recording
                .push(chain.sign(&clerk, record(patient(&format!("access/{i}")), provision, form_hash("access", n))));
        }
    }
    let consents = recording.len();
    for receipt in chain.block(&recording).receipts {
        assert!(receipt.is_ok(), "recording a consent failed: {:?}", receipt.outcome);
    }
    let classes = [DataClass::LabResults, DataClass::MentalHealth, DataClass::Genomics, DataClass::Medications];
    let txs: Vec<SignedTransaction> = (0..BLOCK)
        .map(|i| {
            let call = Call::Access(AccessCall::Request {
                patient: patient(&format!("access/{i}")),
                data_class: classes[i % classes.len()],
                resource_type: None,
                purpose: Purpose::Treatment,
                custodian: org("hospital-a"),
                document: None,
                data_time: None,
                justification: None,
            });
            chain.sign(&physician, call)
        })
        .collect();
    assert_all_ok(&chain, &txs);
    let outcome = chain.dry_run(&txs);
    let mut committed = chain.store.clone();
    committed.apply(&outcome.writes);
    let (mut permits, mut denies) = (0, 0);
    for receipt in &outcome.receipts {
        let decision = access_decision(&committed, &DecisionId(receipt.tx)).unwrap().unwrap();
        match decision.outcome {
            DecisionOutcome::Permit => permits += 1,
            _ => denies += 1,
        }
    }
    drop(committed);
    eprintln!(
        "execute/access_decision: {BLOCK} requests over {consents} consents of {BLOCK} patients: {permits} permit, {denies} deny"
    );

    let mut group = c.benchmark_group("execute");
    group.throughput(block_throughput());
    group.sample_size(20);
    group.bench_function("access_decision", |b| b.iter(|| chain.dry_run(black_box(&txs))));
    group.bench_function("access_decision_signatures_only", |b| b.iter(|| verify_signatures(black_box(&txs))));
    let writes = state_writes(&outcome.writes);
    eprintln!("execute/access_decision: the block updates {} tree keys", writes.len());
    group.bench_function("access_decision_tree_update_only", |b| bench_tree_update(b, &chain.store, &writes));
    group.finish();
}

/// The `n`-th populated consent and its state key (the layout of a consent's first version).
fn bench_consent(n: u64) -> (Vec<u8>, Consent) {
    let bytes = n.to_le_bytes();
    let id = ConsentId(Hash::digest_parts(&[b"bench-consent", &bytes]));
    let consent = Consent {
        id,
        version: 1,
        terms: terms(
            PatientRef(Hash::digest_parts(&[b"bench-patient", &bytes])),
            Provision::all(ProvisionType::Permit),
        ),
        recorder: Recorder::Custodian {
            org: org("hospital-a"),
            identity: IdentityId(Hash::digest(b"bench-clerk")),
            form_hash: form_hash("populate", n),
        },
        recorded_at: Timestamp(1_700_000_000_000),
    };
    (key("consent", &[id.0.as_bytes(), &1u32.to_be_bytes()]), consent)
}

/// Writes consents `from..to` into `store`, `POPULATE_CHUNK` per tree version, through
/// `BlockState` so that the tree and `m/meta` stay consistent.
fn populate(store: &mut MemoryStore, from: u64, to: u64) {
    let mut next = from;
    while next < to {
        let end = (next + POPULATE_CHUNK).min(to);
        let (batch, _meta) = {
            let mut state = BlockState::new(&*store).unwrap();
            for n in next..end {
                let (key, consent) = bench_consent(n);
                state.put(key, &consent);
            }
            state.commit_tx();
            state.finish().unwrap()
        };
        store.apply(&batch);
        next = end;
    }
}

/// The authenticated writes (`s/` keys) a block produced: what the state tree is updated with.
fn state_writes(writes: &WriteBatch) -> StateWrites {
    writes.iter().filter(|(k, _)| k.starts_with(STATE_PREFIX)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn label(n: u64) -> String {
    match n {
        10_000 => "10k".into(),
        100_000 => "100k".into(),
        1_000_000 => "1m".into(),
        10_000_000 => "10m".into(),
        n => n.to_string(),
    }
}

/// A chain whose store is grown on demand, so that a run filtered to other benchmarks does
/// not pay for populating a million consents.
struct Populated {
    chain: Chain,
    /// A block of 1,000 grants by the chain's clerk.
    txs: Vec<SignedTransaction>,
    /// Consents written so far.
    stored: u64,
    /// The block's authenticated writes, by store size.
    writes: Vec<(u64, StateWrites)>,
}

impl Populated {
    fn new() -> Populated {
        let (mut chain, clerk) = chain_with_clerk();
        let txs = grant_block(&mut chain, &clerk, "root", BLOCK);
        Populated { chain, txs, stored: 0, writes: Vec::new() }
    }

    /// Grows the store to `size` consents (never shrinks it).
    fn grow(&mut self, size: u64) {
        if self.stored >= size {
            return;
        }
        let started = Instant::now();
        populate(&mut self.chain.store, self.stored, size);
        let took = started.elapsed();
        eprintln!(
            "state_root: populated {} -> {size} consents in {:.1} s ({:.0} consents/s); store holds {} entries; {}",
            self.stored,
            took.as_secs_f64(),
            (size - self.stored) as f64 / took.as_secs_f64(),
            self.chain.store.len(),
            memory()
        );
        self.stored = size;
        assert_all_ok(&self.chain, &self.txs);
        let writes = state_writes(&self.chain.dry_run(&self.txs).writes);
        eprintln!("state_root: a block of {BLOCK} grants updates {} tree keys", writes.len());
        self.writes.push((size, writes));
    }

    fn writes(&self, size: u64) -> &[(Vec<u8>, Option<Vec<u8>>)] {
        &self.writes.iter().find(|(s, _)| *s == size).unwrap().1
    }
}

/// The state-root update of a block of 1,000 grants on top of 10^4, 10^5, 10^6 (and, on
/// request, 10^7) stored consents; then state proofs on the largest store.
fn state_root_and_proofs(c: &mut Criterion) {
    let mut sizes = vec![10_000u64, 100_000, 1_000_000];
    if std::env::var_os("PANACEA_BENCH_10M").is_some() {
        sizes.push(10_000_000);
    }
    let largest = *sizes.last().unwrap();
    let populated = RefCell::new(Populated::new());
    for &size in &sizes {
        let name = label(size);
        let mut group = c.benchmark_group("state_root");
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(5));
        group.throughput(block_throughput());
        group.bench_function(format!("1000_calls_on_{name}_consents"), |b| {
            populated.borrow_mut().grow(size);
            let p = populated.borrow();
            bench_tree_update(b, &p.chain.store, p.writes(size));
        });
        group.bench_function(format!("execute_block_1000_grants_on_{name}_consents"), |b| {
            populated.borrow_mut().grow(size);
            let p = populated.borrow();
            b.iter(|| p.chain.dry_run(black_box(&p.txs)));
        });
        group.finish();
    }

    // Proofs against the largest store, of consents spread over it; built on first use.
    struct Proofs {
        version: u64,
        root: Hash,
        keys: Vec<Vec<u8>>,
        proofs: Vec<authenticated::StateProof>,
    }
    let proofs: RefCell<Option<Proofs>> = RefCell::new(None);
    let ensure_proofs = || {
        if proofs.borrow().is_some() {
            return;
        }
        populated.borrow_mut().grow(largest);
        let p = populated.borrow();
        let meta = Meta::load(&p.chain.store).unwrap();
        let version = meta.tree_version.unwrap();
        let keys: Vec<Vec<u8>> = (0..1_000u64).map(|i| bench_consent(i * (largest / 1_000)).0).collect();
        let built: Vec<_> = keys.iter().map(|k| authenticated::prove(&p.chain.store, version, k).unwrap()).collect();
        assert!(built.iter().all(|proof| proof.value.is_some() && proof.verify(meta.tree_root)));
        let bytes: usize = built.iter().map(|proof| borsh::to_vec(&proof.proof).unwrap().len()).sum();
        eprintln!(
            "proof: on {} consents, {:.0} bytes per proof on average (borsh, without key and value)",
            label(largest),
            bytes as f64 / built.len() as f64
        );
        *proofs.borrow_mut() = Some(Proofs { version, root: meta.tree_root, keys, proofs: built });
    };
    let mut group = c.benchmark_group("proof");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("generate", |b| {
        ensure_proofs();
        let (p, guard) = (populated.borrow(), proofs.borrow());
        let proofs = guard.as_ref().unwrap();
        b.iter(|| {
            i = (i + 1) % proofs.keys.len();
            authenticated::prove(&p.chain.store, proofs.version, black_box(&proofs.keys[i])).unwrap()
        })
    });
    let mut j = 0usize;
    group.bench_function("verify", |b| {
        ensure_proofs();
        let guard = proofs.borrow();
        let proofs = guard.as_ref().unwrap();
        b.iter(|| {
            j = (j + 1) % proofs.proofs.len();
            assert!(proofs.proofs[j].verify(black_box(proofs.root)));
        })
    });
    group.finish();
    eprintln!("state_root/proof done: {}", memory());
}

/// Appending 1,000 events to an audit accumulator that already holds 1,000,000.
fn audit_append(c: &mut Criterion) {
    let leaf = |n: u64| Hash::digest_parts(&[b"bench-event", &n.to_le_bytes()]);
    let mut store = MemoryStore::new();
    let mut size = 0u64;
    let started = Instant::now();
    for chunk in 0..1_000u64 {
        let leaves: Vec<Hash> = (0..1_000).map(|i| leaf(chunk * 1_000 + i)).collect();
        let mut batch = WriteBatch::new();
        size = audit_log::append(&store, size, &leaves, &mut batch).unwrap().0;
        store.apply(&batch);
    }
    eprintln!(
        "audit: built a log of 1,000,000 events ({} accumulator nodes) in {:.1} s; {}",
        store.len(),
        started.elapsed().as_secs_f64(),
        memory()
    );
    let leaves: Vec<Hash> = (0..1_000).map(|i| leaf(2_000_000 + i)).collect();
    let mut group = c.benchmark_group("audit");
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("append", |b| {
        b.iter(|| {
            let mut batch = WriteBatch::new();
            let appended = audit_log::append(&store, size, black_box(&leaves), &mut batch).unwrap();
            (appended, batch)
        })
    });
    group.finish();
}

/// A provision tree of `size` provisions over four levels, alternating permit and deny,
/// each naming one organisation, purpose and class, so that every level matches some
/// requests and the rule walks and combines the whole tree.
fn wide_tree(size: usize, seed: usize) -> Provision {
    let orgs = ["hospital-a", "hospital-b", "hospital-c"];
    let mut made = 1;
    let mut root = Provision::all(ProvisionType::Permit);
    let mut level = vec![&mut root];
    for depth in 1..4 {
        let mut next = Vec::new();
        for parent in level {
            for i in 0..3 {
                if made >= size {
                    break;
                }
                made += 1;
                let n = seed + depth + i;
                let mut child =
                    Provision::all(if n.is_multiple_of(2) { ProvisionType::Deny } else { ProvisionType::Permit });
                child.actors = vec![ActorRef::Organisation(org(orgs[n % 3]))];
                child.purposes = vec![[Purpose::Treatment, Purpose::Research][n % 2]];
                child.data_classes = vec![[DataClass::LabResults, DataClass::MentalHealth][(n / 2) % 2]];
                parent.exceptions.push(child);
            }
            next.extend(parent.exceptions.iter_mut());
        }
        level = next;
    }
    root
}

/// The decision rule alone (`access::decide`), typical and worst case: a patient's 4
/// consents of 8 provisions, and the limits, 64 consents of up to 40 provisions each.
fn decide_rule(c: &mut Criterion) {
    use panacea_contracts::access::{Request, decide};
    let consents = |count: usize, size: usize| -> Vec<Consent> {
        (0..count)
            .map(|i| Consent {
                id: ConsentId(Hash::digest(&i.to_be_bytes())),
                version: 1,
                terms: ConsentTerms {
                    patient: patient("p"),
                    status: ConsentStatus::Active,
                    scope: ConsentScope::PatientPrivacy,
                    custodians: Vec::new(),
                    categories: vec![],
                    policy_rule: PolicyRule::OptIn,
                    verification: vec![],
                    provision: wide_tree(size, i),
                },
                recorder: Recorder::Patient { key: Keypair::from_seed([1; 32]).public() },
                recorded_at: Timestamp(0),
            })
            .collect()
    };
    let request = Request {
        requester: IdentityId(Hash([1; 32])),
        requester_org: org("hospital-b"),
        requester_role: Some(StaffRole::Physician),
        action: panacea_contracts::codes::ConsentAction::Access,
        purpose: Purpose::Treatment,
        data_class: DataClass::LabResults,
        resource_type: None,
        custodian: org("hospital-a"),
        data_time: None,
        at: Timestamp(1_000),
    };
    let mut group = c.benchmark_group("decide");
    for (name, count, size) in [("4_consents_of_8", 4, 8), ("64_consents_of_40", 64, 40)] {
        let set = consents(count, size);
        group.bench_function(name, |b| b.iter(|| decide(black_box(&set), black_box(&request))));
    }
    group.finish();
}

/// The registries' costliest calls: revoking a product's attestation, which suspends every
/// device on its firmware in one transaction (1,024 and 16,384 devices, the limit), and a
/// block of 1,000 device registrations through the product gate.
fn registries(c: &mut Criterion) {
    use panacea_contracts::identity::{IdentityCall, IdentityKind};
    use panacea_contracts::product::{ProductCall, RevocationReason};
    let firmware = Hash([1; 32]);
    let sbom = Hash([2; 32]);
    let pump = |i: u64| Keypair::from_seed(Hash::digest_parts(&[b"pump", &i.to_le_bytes()]).0);
    let register = |chain: &mut Chain, admin: &Keypair, from: u64, count: u64| -> Vec<SignedTransaction> {
        (from..from + count)
            .map(|i| {
                let kind = IdentityKind::Device {
                    device_type: "infusion-pump".into(),
                    manufacturer: "acme".into(),
                    model: "p1".into(),
                    firmware_hash: firmware,
                    sbom_hash: sbom,
                };
                chain.sign(admin, Call::Identity(IdentityCall::Register { key: pump(i).public(), kind }))
            })
            .collect()
    };
    let mut group = c.benchmark_group("registries");
    group.sample_size(10);
    for devices in [1_024u64, 16_384] {
        let mut chain = Chain::new();
        chain.attest_firmware(firmware, sbom);
        let admin = chain.admin("hospital-a");
        let mut made = 0;
        while made < devices {
            let count = (devices - made).min(1_000);
            let txs = register(&mut chain, &admin, made, count);
            assert!(chain.block(&txs).receipts.iter().all(panacea_contracts::Receipt::is_ok));
            made += count;
        }
        let assessor = panacea_contracts::testing::key("authority/assessor");
        let revoke = chain.sign(
            &assessor,
            Call::Product(ProductCall::Revoke {
                product: firmware,
                reason: RevocationReason::VulnerableFirmware,
                record: Hash([3; 32]),
            }),
        );
        let outcome = chain.dry_run(std::slice::from_ref(&revoke));
        let Outcome::Ok { events } = &outcome.receipts[0].outcome else { panic!("the revocation failed") };
        assert_eq!(events.len(), usize::try_from(devices).unwrap() + 1);
        group.throughput(Throughput::Elements(devices));
        group.bench_function(format!("revoke_suspending_{devices}_devices"), |b| {
            b.iter(|| chain.dry_run(black_box(std::slice::from_ref(&revoke))))
        });
    }
    let mut chain = Chain::new();
    chain.attest_firmware(firmware, sbom);
    let admin = chain.admin("hospital-a");
    let block = register(&mut chain, &admin, 0, 1_000);
    group.throughput(block_throughput());
    group.bench_function("register_1000_devices_through_the_gate", |b| b.iter(|| chain.dry_run(black_box(&block))));
    group.finish();
}

criterion_group!(benches, execute_grants, execute_access, audit_append, state_root_and_proofs, decide_rule, registries);
criterion_main!(benches);
