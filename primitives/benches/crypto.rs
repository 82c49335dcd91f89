//! The cost of the primitives every replica pays per message: signing, strict
//! verification (single and batched), hashing and the codec.
//!
//! Run with `cargo bench -p panacea-primitives --bench crypto`; figures go to
//! `docs/benchmarks.md`.

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use panacea_primitives::codec::{self, Decode, Encode};
use panacea_primitives::{
    BatchVerifier, ChainId, Domain, Epoch, Hash, Height, Keypair, PublicKey, Round, Signature, SignatureKind,
    ValidatorIndex,
};

fn vote_domain() -> Domain {
    let chain_id = ChainId::new("panacea-bench-1").expect("valid chain id");
    Domain::new(chain_id, Epoch(1), SignatureKind::ConsensusVote)
}

/// Distinct keys, as in a certificate: one signer per validator.
fn keypairs(count: usize) -> Vec<Keypair> {
    (0..count)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            Keypair::from_seed(seed)
        })
        .collect()
}

fn sign_and_verify(c: &mut Criterion) {
    let domain = vote_domain();
    let key = Keypair::from_seed([7; 32]);
    let public = key.public();
    // Votes sign a 32-byte block id.
    let message = Hash::digest(b"block").0;
    let signature = key.sign(&domain, &message);

    let mut group = c.benchmark_group("ed25519");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign", |b| b.iter(|| key.sign(black_box(&domain), black_box(&message))));
    group.bench_function("verify_strict", |b| {
        b.iter(|| public.verify(black_box(&domain), black_box(&message), black_box(&signature)))
    });
    group.finish();
}

/// A whole batch as a caller pays for it (`push_and_verify`: queueing does the strict
/// encoding checks, among them the decompression of every `R`, that make a batch agree with
/// single verification), and the batch equation alone (`verify`).
fn batch_verify(c: &mut Criterion) {
    let domain = vote_domain();
    let message = Hash::digest(b"block").0;
    let mut group = c.benchmark_group("ed25519_batch");
    for size in [64usize, 256, 1024] {
        let keys = keypairs(size);
        let signed: Vec<_> = keys.iter().map(|k| (k.public(), k.sign(&domain, &message))).collect();
        let queue = |signed: &[(PublicKey, Signature)]| {
            let mut batch = BatchVerifier::with_capacity(signed.len());
            for (public, signature) in signed {
                batch.push(public, &domain, &message, signature);
            }
            batch
        };
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("push_and_verify", size), &signed, |b, signed| {
            b.iter(|| queue(signed).verify().expect("valid batch"))
        });
        group.bench_with_input(BenchmarkId::new("verify", size), &signed, |b, signed| {
            b.iter_batched(|| queue(signed), |batch| batch.verify().expect("valid batch"), BatchSize::LargeInput)
        });
    }
    group.finish();
}

fn sha256(c: &mut Criterion) {
    let message = [0x5au8; 300];
    let mut group = c.benchmark_group("sha256");
    group.throughput(Throughput::Bytes(300));
    group.bench_function("300_bytes", |b| b.iter(|| Hash::digest(black_box(&message))));
    group.finish();
}

/// Shaped like a consensus message: ids, counters, a signer and its signature, a payload.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Sample {
    block: Hash,
    parent: Hash,
    height: Height,
    round: Round,
    epoch: Epoch,
    author: ValidatorIndex,
    signature: Signature,
    payload: Vec<u8>,
}

const SAMPLE_BYTES: usize = 300;

fn codec_round_trip(c: &mut Criterion) {
    let sample = Sample {
        block: Hash::digest(b"block"),
        parent: Hash::digest(b"parent"),
        height: Height(1_000),
        round: Round(1_002),
        epoch: Epoch(1),
        author: ValidatorIndex(3),
        signature: Signature([9; 64]),
        // 32 + 32 + 8 + 8 + 8 + 2 + 64 + (8 length + 138) = 300 bytes.
        payload: vec![0xab; 138],
    };
    assert_eq!(codec::encode(&sample).len(), SAMPLE_BYTES);

    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_decode_300_bytes", |b| {
        b.iter(|| {
            let bytes = codec::encode(black_box(&sample));
            codec::decode::<Sample, SAMPLE_BYTES>(&bytes).expect("round trip")
        })
    });
    group.finish();
}

criterion_group!(benches, sign_and_verify, batch_verify, sha256, codec_round_trip);
criterion_main!(benches);
