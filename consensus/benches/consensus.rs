//! The cost of consensus per block for one replica: checking a quorum certificate
//! (batched, and signature by signature), handling a proposal, and, for the next leader,
//! turning votes into a certificate.
//!
//! Run with `cargo bench -p panacea-consensus --bench consensus`; figures go to
//! `docs/benchmarks.md`.

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use panacea_consensus::{
    Block, CommittedTip, Config, Input, Message, Output, Payload, Proposal, QuorumCert, Replica, Role, SafetyState,
    ValidatorSet, Vote, VoteData,
};
use panacea_primitives::{ChainId, Epoch, Hash, Height, Keypair, Round, ValidatorIndex};

/// Payload of every proposed block.
const PAYLOAD_BYTES: usize = 1024;

/// Handling steps after which the in-memory network gives up (a few rounds need far fewer).
const NETWORK_STEPS_MAX: usize = 10_000;

/// The follower measured: it leads neither round 1 nor round 2 (nor round 3), so it
/// sends its votes away instead of counting them itself.
const FOLLOWER: ValidatorIndex = ValidatorIndex(0);

/// One key per validator, `n` of them, in index order.
fn keypairs(n: usize) -> Vec<Keypair> {
    (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&u64::try_from(i).expect("small index").to_le_bytes());
            seed[8] = 0x5a;
            Keypair::from_seed(seed)
        })
        .collect()
}

fn validator_set(keys: &[Keypair]) -> ValidatorSet {
    let chain_id = ChainId::new("panacea-bench-1").expect("valid chain id");
    ValidatorSet::new(chain_id, Epoch(0), keys.iter().map(Keypair::public).collect()).expect("valid set")
}

fn index(i: usize) -> ValidatorIndex {
    ValidatorIndex(u16::try_from(i).expect("small index"))
}

/// A QC over `data` signed by the first `quorum` validators, sorted by index.
fn signed_qc(keys: &[Keypair], validators: &ValidatorSet, data: VoteData) -> QuorumCert {
    let message = data.signing_bytes();
    let signatures = keys
        .iter()
        .take(validators.quorum())
        .enumerate()
        .map(|(i, key)| (index(i), key.sign(validators.vote_domain(), &message)))
        .collect();
    QuorumCert { epoch: validators.epoch(), data, signatures }
}

/// Verifying a 2f+1 certificate, as `verify_qc` does it (one batch) and signature by
/// signature. Round 7 rather than 0, which is the signature-free genesis case.
fn qc_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("qc_verify");
    for n in [4usize, 10, 31] {
        let keys = keypairs(n);
        let validators = validator_set(&keys);
        let data = VoteData { round: Round(7), height: Height(7), block_id: Hash::digest(b"block") };
        let qc = signed_qc(&keys, &validators, data);
        assert_eq!(qc.signatures.len(), validators.quorum());
        validators.verify_qc(&qc, Hash::ZERO).expect("valid QC");

        group.throughput(Throughput::Elements(u64::try_from(qc.signatures.len()).expect("small")));
        group.bench_with_input(BenchmarkId::new("batch", n), &qc, |b, qc| {
            b.iter(|| validators.verify_qc(black_box(qc), Hash::ZERO).expect("valid QC"))
        });
        group.bench_with_input(BenchmarkId::new("single", n), &qc, |b, qc| {
            b.iter(|| {
                let qc = black_box(qc);
                let message = qc.data.signing_bytes();
                for (signer, signature) in &qc.signatures {
                    validators
                        .verify_signature(*signer, validators.vote_domain(), &message, signature)
                        .expect("valid signature");
                }
            })
        });
    }
    group.finish();
}

/// What every replica starts from: the validators and a genesis block.
struct Genesis {
    keys: Vec<Keypair>,
    validators: ValidatorSet,
    block: Block,
}

impl Genesis {
    fn new(n: usize) -> Genesis {
        let keys = keypairs(n);
        let validators = validator_set(&keys);
        let block = Block::genesis(Epoch(0), Payload::opaque(b"panacea bench genesis".to_vec()));
        Genesis { keys, validators, block }
    }

    /// A fresh replica of validator `i`, started (its first timer armed).
    fn replica(&self, i: usize) -> (Replica, Vec<Output>) {
        let id = self.block.id();
        let config = Config::new(self.validators.clone(), id);
        let safety = SafetyState::new(Epoch(0), QuorumCert::genesis(Epoch(0), id));
        let tip = CommittedTip { block: std::sync::Arc::new(self.block.clone()), certificate: None };
        let mut replica =
            Replica::new(config, Role::Validator(self.keys[i].clone()), safety, tip, Vec::new(), Vec::new())
                .expect("a validator");
        let started = replica.start();
        (replica, started)
    }
}

fn payload() -> Payload {
    Payload::opaque(vec![0xab; PAYLOAD_BYTES])
}

/// What the in-memory network saw while the chain grew to a round-2 proposal.
struct Trace {
    /// The proposal of round 1 (on the genesis QC), by validator 1.
    proposal_1: Proposal,
    /// The votes for it sent to validator 2, the leader of round 2, in arrival order.
    votes_1: Vec<Vote>,
    /// The proposal of round 2, whose QC carries 2f+1 signatures, by validator 2.
    proposal_2: Proposal,
}

/// Runs `n` replicas on a lossless in-memory network, in FIFO order, until the leader
/// of round 2 proposes. Timers never fire; payloads are built and accepted at once.
fn run_to_round_two(genesis: &Genesis) -> Trace {
    let n = genesis.validators.len();
    let mut replicas = Vec::with_capacity(n);
    let mut queue: VecDeque<(usize, Input)> = VecDeque::new();
    let mut pending: VecDeque<(usize, Vec<Output>)> = VecDeque::new();
    for i in 0..n {
        let (replica, started) = genesis.replica(i);
        replicas.push(replica);
        pending.push_back((i, started));
    }
    let (mut proposal_1, mut proposal_2, mut votes_1) = (None, None, Vec::new());
    for _ in 0..NETWORK_STEPS_MAX {
        while let Some((from, outputs)) = pending.pop_front() {
            for output in outputs {
                match output {
                    Output::Broadcast(message) => {
                        if let Message::Proposal(proposal) = &message {
                            match proposal.block.header.round {
                                Round(1) => proposal_1 = Some(proposal.clone()),
                                Round(2) => proposal_2 = Some(proposal.clone()),
                                _ => {}
                            }
                        }
                        for to in (0..n).filter(|to| *to != from) {
                            queue.push_back((to, Input::Message { from: index(from), message: message.clone() }));
                        }
                    }
                    Output::Send { to, message } => {
                        if let Message::Vote(vote) = &message
                            && vote.data.round == Round(1)
                            && to == index(2)
                        {
                            votes_1.push(vote.clone());
                        }
                        queue.push_back((to.as_usize(), Input::Message { from: index(from), message }));
                    }
                    Output::BuildPayload { round, .. } => {
                        queue.push_back((from, Input::PayloadReady { round, payload: payload() }));
                    }
                    Output::CheckPayload { block } => {
                        queue.push_back((from, Input::PayloadChecked { block_id: block.id(), valid: true }));
                    }
                    _ => {}
                }
            }
        }
        if let (Some(proposal_1), Some(proposal_2)) = (&proposal_1, &proposal_2) {
            return Trace { proposal_1: proposal_1.clone(), votes_1, proposal_2: proposal_2.clone() };
        }
        let Some((to, input)) = queue.pop_front() else { break };
        let outputs = replicas[to].handle(input);
        pending.push_back((to, outputs));
    }
    panic!("no round-2 proposal within {NETWORK_STEPS_MAX} steps");
}

/// A follower handles a proposal and the host's payload check; returns its outputs.
fn follow(replica: &mut Replica, leader: ValidatorIndex, proposal: Proposal) -> Vec<Output> {
    let id = proposal.block.id();
    let mut outputs = replica.handle(Input::Message { from: leader, message: Message::Proposal(proposal) });
    outputs.extend(replica.handle(Input::PayloadChecked { block_id: id, valid: true }));
    outputs
}

/// The leader of the next round takes in votes; returns its outputs.
fn collect(replica: &mut Replica, votes: &[Vote]) -> Vec<Output> {
    let mut outputs = Vec::new();
    for vote in votes {
        outputs.extend(replica.handle(Input::Message { from: vote.voter, message: Message::Vote(vote.clone()) }));
    }
    outputs
}

fn sends_vote(outputs: &[Output], round: Round) -> bool {
    outputs.iter().any(|o| matches!(o, Output::Send { message: Message::Vote(v), .. } if v.data.round == round))
}

/// One replica's work per block: (i) a follower handles the round-1 proposal (genesis QC,
/// no signatures to check beyond the proposer's) and its payload check, and votes;
/// (ii) the same for the round-2 proposal, whose QC has 2f+1 signatures to verify;
/// (iii) the leader of round 2 takes in 2f+1 votes for the round-1 block until the QC
/// forms and it asks for a payload. Every iteration starts from a fresh replica, built
/// (and, for ii and iii, brought to round 1) outside the timing.
fn proposal_and_votes(c: &mut Criterion) {
    let mut group = c.benchmark_group("proposal_and_votes");
    for n in [4usize, 10] {
        let genesis = Genesis::new(n);
        let trace = run_to_round_two(&genesis);
        let quorum = genesis.validators.quorum();
        assert_eq!(trace.proposal_1.block.payload.len(), PAYLOAD_BYTES);
        assert_eq!(trace.proposal_2.block.header.justify.signatures.len(), quorum);
        // In (iii) the leader has not yet voted itself (its own payload check is still
        // out), so all 2f+1 votes come from others and each one's signature is checked.
        let votes: Vec<Vote> = trace.votes_1.iter().take(quorum).cloned().collect();
        assert_eq!(votes.len(), quorum);

        let fresh = || genesis.replica(FOLLOWER.as_usize()).0;
        let at_round_two = || {
            let mut replica = fresh();
            assert!(sends_vote(&follow(&mut replica, index(1), trace.proposal_1.clone()), Round(1)));
            replica
        };
        let next_leader = || {
            let (mut replica, _) = genesis.replica(2);
            let outputs =
                replica.handle(Input::Message { from: index(1), message: Message::Proposal(trace.proposal_1.clone()) });
            assert!(outputs.iter().any(|o| matches!(o, Output::CheckPayload { .. })));
            replica
        };

        // Check once, untimed, that each measured path does what its name says.
        assert!(sends_vote(&follow(&mut fresh(), index(1), trace.proposal_1.clone()), Round(1)));
        let mut replica = at_round_two();
        let outputs = follow(&mut replica, index(2), trace.proposal_2.clone());
        assert!(sends_vote(&outputs, Round(2)), "{outputs:?}");
        assert_eq!(replica.stats().rejected, 0);
        let mut leader = next_leader();
        let outputs = collect(&mut leader, &votes);
        assert!(outputs.iter().any(|o| matches!(o, Output::BuildPayload { round: Round(2), .. })), "{outputs:?}");
        assert_eq!(leader.stats().rejected, 0);

        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("follower_round_1_genesis_qc", n), |b| {
            b.iter_batched(
                || (fresh(), trace.proposal_1.clone()),
                |(mut replica, proposal)| (follow(&mut replica, index(1), proposal), replica),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(BenchmarkId::new("follower_round_2_signed_qc", n), |b| {
            b.iter_batched(
                || (at_round_two(), trace.proposal_2.clone()),
                |(mut replica, proposal)| (follow(&mut replica, index(2), proposal), replica),
                BatchSize::SmallInput,
            )
        });
        group.throughput(Throughput::Elements(u64::try_from(quorum).expect("small")));
        group.bench_function(BenchmarkId::new("leader_votes_to_qc", n), |b| {
            b.iter_batched(
                || (next_leader(), votes.clone()),
                |(mut replica, votes)| (collect(&mut replica, &votes), replica),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, qc_verify, proposal_and_votes);
criterion_main!(benches);
