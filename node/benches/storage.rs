//! The RocksDB commit of a block: `Storage::commit_block` (one synced write batch holding
//! the block, its certificate, the contracts' state writes, the receipts and the
//! per-height bookkeeping) for a block of 1,000 consent grants, on a store that grows by
//! one such block per iteration. Executing the block (`execute_block`) is setup, not
//! measured; `docs/benchmarks.md` has its own figures.
//!
//! ```text
//! cargo bench -p panacea-node --bench storage -- --quick
//! ```

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use std::cell::Cell;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use panacea_consensus::{Block, Payload, QuorumCert};
use panacea_contracts::codes::StaffRole;
use panacea_contracts::consent::ConsentCall;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{DocumentHash, PatientRef};
use panacea_contracts::state::Meta;
use panacea_contracts::testing::{chain_id, genesis, key};
use panacea_contracts::{BlockContext, BlockOutcome, Call, SignedTransaction, Transaction, execute_block};
use panacea_node::storage::{BlockCommit, Storage};
use panacea_primitives::{Epoch, Hash, Keypair, Round, Timestamp, ValidatorIndex};

const BLOCK_TRANSACTIONS: u64 = 1_000;

fn sign(signer: &Keypair, nonce: u64, call: Call) -> SignedTransaction {
    Transaction { chain_id: chain_id(), signer: signer.public(), nonce, call }.sign(signer)
}

/// Executes `txs` at the next height on top of `storage` and returns the block to commit.
fn next_block(storage: &Storage, parent: &Block, txs: &[SignedTransaction]) -> (Block, BlockOutcome) {
    let height = parent.header.height.next();
    let context = BlockContext::new(chain_id(), height, Timestamp(1_700_000_000_000 + height.0 * 1_000));
    let outcome = execute_block(&storage.state(), &context, txs).unwrap();
    let data = panacea_primitives::codec::encode(&txs.to_vec());
    let justify = QuorumCert::anchor(Epoch(0), parent.id(), parent.header.height);
    let block = Block::new(Epoch(0), Round(height.0), justify, Payload::opaque(data), ValidatorIndex(0));
    (block, outcome)
}

fn commit(storage: &Storage, block: &Block, outcome: &BlockOutcome) {
    storage.commit_block(&BlockCommit::uncertified(block, &outcome.writes, &outcome.receipts, outcome.meta)).unwrap();
}

fn bench_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let genesis_outcome = panacea_contracts::genesis(&storage.state(), &genesis()).unwrap();
    let block0 = Block::genesis(Epoch(0), Payload::opaque(b"genesis".to_vec()));
    storage.commit_block(&BlockCommit::uncertified(&block0, &genesis_outcome.writes, &[], Meta::default())).unwrap();
    // Hospital A registers an intake clerk, who records every consent.
    let admin = key("hospital-a/admin");
    let clerk = key("bench/clerk");
    let register = Call::Identity(IdentityCall::Register {
        key: clerk.public(),
        kind: IdentityKind::Staff { role: StaffRole::Administrative },
    });
    let (block1, outcome) = next_block(&storage, &block0, &[sign(&admin, 1, register)]);
    commit(&storage, &block1, &outcome);
    let fhir = include_str!("../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    let template = panacea_contracts::fhir::consent::import(fhir).unwrap().terms;

    let parent = std::cell::RefCell::new(block1);
    let nonce = Cell::new(1u64);
    let mut group = c.benchmark_group("storage");
    group.sample_size(10);
    group.bench_function("commit_block_1000_consent_grants", |b| {
        b.iter_batched(
            || {
                let txs: Vec<SignedTransaction> = (0..BLOCK_TRANSACTIONS)
                    .map(|_| {
                        let n = nonce.get();
                        nonce.set(n + 1);
                        let mut terms = template.clone();
                        terms.patient = PatientRef(Hash::digest_parts(&[b"bench-patient", &n.to_le_bytes()]));
                        let form = Some(DocumentHash(Hash::digest_parts(&[b"bench-form", &n.to_le_bytes()])));
                        sign(&clerk, n, Call::Consent(ConsentCall::Record { terms, form_hash: form }))
                    })
                    .collect();
                let (block, outcome) = next_block(&storage, &parent.borrow(), &txs);
                (block, outcome)
            },
            |(block, outcome)| {
                commit(&storage, &block, &outcome);
                *parent.borrow_mut() = block;
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
    let height = parent.borrow().header.height;
    eprintln!("storage: committed up to height {height} (about {} consents)", (height.0 - 1) * BLOCK_TRANSACTIONS);
}

criterion_group!(benches, bench_commit);
criterion_main!(benches);
