//! A deterministic simulator: one seeded, single-threaded process runs a whole network
//! of replicas in virtual time, with faulty links, partitions, crashes and Byzantine
//! validators, and checks agreement, validity, no double signing and liveness.
//!
//! The same `(scenario, validators, seed)` always produces the same run, and the run's
//! trace hash proves it; a failing seed is replayed with
//! `cargo run --release -p panacea-consensus --example sim -- --scenario S --validators N --seed X --trace`.

pub mod byzantine;
pub mod checker;
pub mod network;
pub mod rng;
pub mod scenario;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;

use panacea_primitives::{ChainId, Epoch, Hash, Height, Keypair, Round, ValidatorIndex, codec};

use crate::block_tree::CommittedTip;
use crate::event::{Input, Output};
use crate::messages::{BlockRequest, Message};
use crate::replica::{Config, Replica, Role};
use crate::safety::SafetyState;
use crate::types::{Block, BlockRef, Payload, QuorumCert};
use crate::validators::ValidatorSet;

pub use byzantine::Behaviour;
pub use checker::Violation;
pub use scenario::{Fault, Plan, Scenario};

use network::{LinkParams, Network};
use rng::Rng;

/// Blocks every honest replica must commit after the network heals.
pub const LIVENESS_BLOCKS: u64 = 3;
/// Virtual time allowed for that, after the faults end.
pub const LIVENESS_MS: u64 = 60_000;
/// A run that processes more events than this is cut short and reported.
const EVENTS_MAX: u64 = 3_000_000;

/// What one run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The fault family.
    pub scenario: Scenario,
    /// Number of validators.
    pub validators: usize,
    /// The seed.
    pub seed: u64,
    /// Every property broken (empty when the run passed).
    pub violations: Vec<Violation>,
    /// Hash of every event processed, in order: equal for equal runs.
    pub trace_hash: Hash,
    /// The lowest height committed by an honest replica.
    pub min_committed_height: u64,
    /// The highest height committed by any honest replica.
    pub max_committed_height: u64,
    /// Virtual time at the end.
    pub virtual_ms: u64,
    /// Events processed.
    pub events: u64,
    /// Pieces of evidence reported by honest replicas.
    pub evidence: usize,
    /// Inputs rejected by honest replicas (Byzantine input, stale messages).
    pub rejected: u64,
    /// Human-readable log of commits and faults (only with tracing on).
    pub log: Vec<String>,
}

impl Report {
    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        format!(
            "cargo run --release -p panacea-consensus --example sim -- --scenario {} --validators {} --seed {} --trace",
            self.scenario, self.validators, self.seed
        )
    }
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "simulator queue entries; clarity over a few hundred bytes")]
enum Event {
    Deliver { to: usize, from: ValidatorIndex, message: Message },
    Timer { node: usize, round: Round, generation: u64 },
    PayloadReady { node: usize, round: Round, payload: Payload },
    PayloadChecked { node: usize, block_id: Hash, valid: bool },
    FetchRequest { to: usize, requester: usize, request: BlockRequest },
    FetchResponse { to: usize, blocks: Vec<BlockRef> },
    Fault(Fault),
    Restart { node: usize },
    FaultsEnd,
}

struct Scheduled {
    time: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// One simulated node: a replica (absent while crashed) and what its host persisted.
struct Node {
    validator: ValidatorIndex,
    key: Keypair,
    behaviour: Option<Behaviour>,
    honest: bool,
    replica: Option<Replica>,
    safety: SafetyState,
    chain: Vec<BlockRef>,
    chain_index: BTreeMap<Hash, usize>,
    tip: CommittedTip,
    /// Uncommitted blocks stored on `PersistBlock`.
    stored: BTreeMap<Hash, BlockRef>,
    timer_generation: u64,
    crash_after: Option<(usize, u64)>,
    payloads_built: u64,
}

/// A simulated network of replicas under one fault plan.
pub struct Simulation {
    scenario: Scenario,
    validators: ValidatorSet,
    config: Config,
    seed: u64,
    rng: Rng,
    plan: Plan,
    nodes: Vec<Node>,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    now: u64,
    network: Network,
    checker: checker::Checker,
    trace: Hash,
    events: u64,
    liveness_target: Option<Height>,
    tracing: bool,
    log: Vec<String>,
}

impl Simulation {
    /// The run of `scenario` with `n` validators drawn from `seed`.
    pub fn new(scenario: Scenario, n: usize, seed: u64) -> Simulation {
        let mut rng = Rng::new(seed ^ (n as u64).rotate_left(32) ^ (scenario as u64).rotate_left(48));
        let plan = Plan::draw(scenario, n, &mut rng);
        let keys: Vec<Keypair> = (0..n)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                seed[8] = 0x5a;
                Keypair::from_seed(seed)
            })
            .collect();
        let chain_id = ChainId::new("panacea-sim").unwrap_or_else(|_| unreachable_chain_id());
        let validators = match ValidatorSet::new(chain_id, Epoch(0), keys.iter().map(Keypair::public).collect()) {
            Ok(set) => set,
            Err(error) => unreachable_set(error),
        };
        let genesis = Arc::new(Block::genesis(Epoch(0), Payload::opaque(b"panacea simulated genesis".to_vec())));
        let genesis_id = genesis.id();
        let mut config = Config::new(validators.clone(), genesis_id);
        config.round_timeout_ms = 1_000;
        config.round_timeout_max_ms = 8_000;
        let byzantine: BTreeMap<u16, Behaviour> = plan.byzantine.iter().copied().collect();
        let mut faulty: BTreeSet<ValidatorIndex> = byzantine.keys().map(|v| ValidatorIndex(*v)).collect();
        faulty.extend(plan.twins.iter().map(|v| ValidatorIndex(*v)));
        let slots: Vec<u16> = (0..n).filter_map(|v| u16::try_from(v).ok()).chain(plan.twins.iter().copied()).collect();
        let nodes = slots
            .iter()
            .map(|v| {
                let index = ValidatorIndex(*v);
                let high_qc = QuorumCert::genesis(Epoch(0), genesis_id);
                let mut chain_index = BTreeMap::new();
                chain_index.insert(genesis_id, 0);
                Node {
                    validator: index,
                    key: keys[usize::from(*v)].clone(),
                    behaviour: byzantine.get(v).copied(),
                    honest: !faulty.contains(&index),
                    replica: None,
                    safety: SafetyState::new(Epoch(0), high_qc),
                    chain: vec![genesis.clone()],
                    chain_index,
                    tip: CommittedTip { block: genesis.clone(), certificate: None },
                    stored: BTreeMap::new(),
                    timer_generation: 0,
                    crash_after: None,
                    payloads_built: 0,
                }
            })
            .collect();
        let network = Network::new(plan.link);
        Simulation {
            scenario,
            validators,
            config,
            seed,
            rng,
            network,
            nodes,
            queue: BinaryHeap::new(),
            seq: 0,
            now: 0,
            checker: checker::Checker::new(faulty),
            trace: Hash::ZERO,
            events: 0,
            liveness_target: None,
            tracing: false,
            log: Vec::new(),
            plan,
        }
    }

    /// Records a human-readable log of commits and faults in the report.
    #[must_use]
    pub fn with_tracing(mut self, tracing: bool) -> Simulation {
        self.tracing = tracing;
        self
    }

    /// The fault plan this seed drew.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Runs to the end and reports.
    pub fn run(mut self) -> Report {
        let (byzantine, twins, link) = (self.plan.byzantine.clone(), self.plan.twins.clone(), self.plan.link);
        self.note(|| format!("plan: byzantine {byzantine:?}, twins {twins:?}, link {link:?}"));
        for (time, fault) in self.plan.faults.clone() {
            self.schedule(time, Event::Fault(fault));
        }
        self.schedule(self.plan.faults_end_ms, Event::FaultsEnd);
        for node in 0..self.nodes.len() {
            self.boot(node);
        }
        let deadline = self.plan.faults_end_ms + LIVENESS_MS;
        while let Some(Reverse(next)) = self.queue.pop() {
            if next.time > deadline || self.events >= EVENTS_MAX {
                break;
            }
            self.now = next.time;
            self.events += 1;
            self.process(next.event);
            if self.live() {
                break;
            }
        }
        self.finish()
    }

    fn finish(mut self) -> Report {
        if self.tracing {
            for (i, node) in self.nodes.iter().enumerate() {
                let line = match &node.replica {
                    Some(r) => format!(
                        "node {i} ({}): round {}, high QC {}, last voted {}, highest QC voted {}, stats {:?}, last rejection {:?}",
                        node.validator,
                        r.round(),
                        r.high_qc().round(),
                        r.safety().last_voted_round,
                        r.safety().highest_qc_round,
                        r.stats(),
                        r.last_rejection()
                    ),
                    None => format!("node {i}: down"),
                };
                self.log.push(line);
            }
        }
        let target = self.liveness_target.unwrap_or(Height(LIVENESS_BLOCKS));
        let honest: Vec<usize> = (0..self.nodes.len()).filter(|i| self.nodes[*i].honest).collect();
        for node in &honest {
            let height = self.checker.height_of(*node);
            if height < target {
                self.checker.liveness(*node, height, target);
            }
        }
        let heights: Vec<u64> = honest.iter().map(|i| self.checker.height_of(*i).0).collect();
        let rejected = honest.iter().filter_map(|i| self.nodes[*i].replica.as_ref()).map(|r| r.stats().rejected).sum();
        Report {
            scenario: self.scenario,
            validators: self.validators.len(),
            seed: self.seed,
            trace_hash: self.trace,
            min_committed_height: heights.iter().copied().min().unwrap_or(0),
            max_committed_height: heights.iter().copied().max().unwrap_or(0),
            virtual_ms: self.now,
            events: self.events,
            evidence: self.checker.evidence_count(),
            rejected,
            log: self.log,
            violations: self.checker.into_violations(),
        }
    }

    /// True once every honest replica reached the liveness target after the faults.
    fn live(&self) -> bool {
        let Some(target) = self.liveness_target else { return false };
        (0..self.nodes.len()).filter(|i| self.nodes[*i].honest).all(|i| self.checker.height_of(i) >= target)
    }

    fn schedule(&mut self, time: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled { time, seq: self.seq, event }));
    }

    fn mix(&mut self, parts: &[&[u8]]) {
        let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 2);
        let now = self.now.to_le_bytes();
        all.push(self.trace.as_bytes());
        all.push(&now);
        all.extend_from_slice(parts);
        self.trace = Hash::digest_parts(&all);
    }

    fn note(&mut self, text: impl FnOnce() -> String) {
        if self.tracing {
            let line = format!("{:>7} ms  {}", self.now, text());
            self.log.push(line);
        }
    }

    // ------------------------------------------------------------------ events

    fn process(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, message } => {
                let round = message.round().0.to_le_bytes();
                self.mix(&[
                    b"deliver",
                    &(to as u64).to_le_bytes(),
                    &from.0.to_le_bytes(),
                    message.kind().as_bytes(),
                    &round,
                ]);
                self.feed(to, Input::Message { from, message });
            }
            Event::Timer { node, round, generation } => {
                if self.nodes[node].timer_generation == generation {
                    self.mix(&[b"timer", &(node as u64).to_le_bytes(), &round.0.to_le_bytes()]);
                    self.feed(node, Input::TimerFired { round });
                }
            }
            Event::PayloadReady { node, round, payload } => {
                self.mix(&[b"payload", &(node as u64).to_le_bytes(), payload.digest().as_bytes()]);
                self.feed(node, Input::PayloadReady { round, payload });
            }
            Event::PayloadChecked { node, block_id, valid } => {
                self.mix(&[b"checked", &(node as u64).to_le_bytes(), block_id.as_bytes(), &[u8::from(valid)]]);
                self.feed(node, Input::PayloadChecked { block_id, valid });
            }
            Event::FetchRequest { to, requester, request } => {
                self.mix(&[b"fetch", &(to as u64).to_le_bytes(), request.block_id.as_bytes()]);
                self.serve_fetch(to, requester, request);
            }
            Event::FetchResponse { to, blocks } => {
                self.mix(&[b"fetched", &(to as u64).to_le_bytes(), &(blocks.len() as u64).to_le_bytes()]);
                let blocks = blocks.iter().map(|b| (**b).clone()).collect();
                self.feed(to, Input::BlocksFetched { blocks });
            }
            Event::Fault(fault) => self.fault(fault),
            Event::Restart { node } => self.restart(node),
            Event::FaultsEnd => self.faults_end(),
        }
    }

    fn fault(&mut self, fault: Fault) {
        self.mix(&[b"fault", format!("{fault:?}").as_bytes()]);
        self.note(|| format!("fault {fault:?}"));
        match fault {
            Fault::Partition(groups) => self.network.partition(groups),
            Fault::Heal => self.network.heal(),
            Fault::Crash { node, after_outputs, down_ms } => {
                if node >= self.nodes.len() || self.nodes[node].replica.is_none() {
                    return;
                }
                if after_outputs == 0 {
                    self.crash(node, down_ms);
                } else {
                    self.nodes[node].crash_after = Some((after_outputs, down_ms));
                }
            }
        }
    }

    fn faults_end(&mut self) {
        self.mix(&[b"faults-end"]);
        self.note(|| "faults end: network healed, crashed replicas restart".to_string());
        self.network.heal();
        self.network.set_link(LinkParams::wan());
        for node in 0..self.nodes.len() {
            self.nodes[node].crash_after = None;
            if self.nodes[node].replica.is_none() {
                self.restart(node);
            }
        }
        let highest = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].honest)
            .map(|i| self.checker.height_of(i))
            .max()
            .unwrap_or(Height::ZERO);
        self.liveness_target = Some(Height(highest.0 + LIVENESS_BLOCKS));
    }

    fn boot(&mut self, node: usize) {
        let n = &self.nodes[node];
        let stored = n.stored.values().cloned().collect();
        let role = Role::Validator(n.key.clone());
        let replica = Replica::new(self.config.clone(), role, n.safety.clone(), n.tip.clone(), stored);
        match replica {
            Ok(mut replica) => {
                let outputs = replica.start();
                self.nodes[node].replica = Some(replica);
                self.execute(node, outputs);
            }
            Err(error) => {
                self.note(|| format!("node {node} cannot start: {error}"));
            }
        }
    }

    fn crash(&mut self, node: usize, down_ms: u64) {
        self.note(|| format!("node {node} crashes for {down_ms} ms"));
        let n = &mut self.nodes[node];
        n.replica = None;
        n.crash_after = None;
        n.timer_generation += 1;
        self.schedule(self.now + down_ms, Event::Restart { node });
    }

    fn restart(&mut self, node: usize) {
        if self.nodes[node].replica.is_some() {
            return;
        }
        self.mix(&[b"restart", &(node as u64).to_le_bytes()]);
        self.note(|| format!("node {node} restarts from its persisted state"));
        self.boot(node);
    }

    fn feed(&mut self, node: usize, input: Input) {
        let Some(replica) = self.nodes[node].replica.as_mut() else { return };
        let outputs = replica.handle(input);
        self.execute(node, outputs);
    }

    /// Executes outputs in order, as a host must; a pending crash cuts the list short,
    /// losing whatever had not been executed (the point of persisting first).
    fn execute(&mut self, node: usize, outputs: Vec<Output>) {
        let crash = self.nodes[node].crash_after.take();
        let limit = crash.map_or(usize::MAX, |(after, _)| after);
        let count = outputs.len();
        for output in outputs.into_iter().take(limit) {
            self.execute_one(node, output);
        }
        if let Some((after, down_ms)) = crash {
            if after <= count {
                self.crash(node, down_ms);
            } else {
                self.nodes[node].crash_after = Some((after - count, down_ms));
            }
        }
    }

    fn execute_one(&mut self, node: usize, output: Output) {
        match output {
            Output::PersistSafety(state) => self.nodes[node].safety = state,
            Output::PersistBlock(block) => {
                self.nodes[node].stored.insert(block.id(), block);
            }
            Output::Send { to, message } => self.send(node, Some(to), message),
            Output::Broadcast(message) => self.send(node, None, message),
            Output::SetTimer { round, duration_ms } => {
                let n = &mut self.nodes[node];
                n.timer_generation += 1;
                let generation = n.timer_generation;
                self.schedule(self.now + duration_ms, Event::Timer { node, round, generation });
            }
            Output::BuildPayload { round, .. } => {
                let payload = self.build_payload(node, round, true);
                self.schedule(self.now + 1, Event::PayloadReady { node, round, payload });
            }
            Output::CheckPayload { block } => {
                let valid = self.checker.is_proposed(&block.header.payload_digest);
                self.schedule(self.now + 1, Event::PayloadChecked { node, block_id: block.id(), valid });
            }
            Output::Commit { blocks, certificate } => {
                if self.validators.verify_commit(&certificate, self.config.genesis_id).is_err() {
                    self.checker.bad_commit_certificate(node);
                }
                let n = &mut self.nodes[node];
                for block in &blocks {
                    n.chain_index.insert(block.id(), n.chain.len());
                    n.chain.push(block.clone());
                }
                if let Some(last) = blocks.last() {
                    let height = last.header.height;
                    n.stored.retain(|_, block| block.header.height > height);
                    n.tip = CommittedTip { block: last.clone(), certificate: Some(certificate) };
                }
                if self.nodes[node].honest {
                    self.checker.committed(node, &blocks);
                    if let Some(last) = blocks.last() {
                        let height = last.header.height;
                        let id = last.id();
                        self.mix(&[b"commit", &(node as u64).to_le_bytes(), id.as_bytes()]);
                        self.note(|| format!("node {node} commits up to height {} ({id:?})", height.0));
                    }
                }
            }
            Output::FetchBlocks { request, from } => {
                for peer in 0..self.nodes.len() {
                    if peer != node && self.nodes[peer].validator == from {
                        for delay in self.network.delays(node, peer, &mut self.rng) {
                            self.schedule(self.now + delay, Event::FetchRequest { to: peer, requester: node, request });
                        }
                    }
                }
            }
            Output::Evidence(evidence) => {
                if self.nodes[node].honest {
                    self.checker.evidence(&evidence, &self.validators);
                    self.note(|| format!("node {node} reports evidence {evidence:?}"));
                }
            }
        }
    }

    /// A payload no other host or round produces, and that the checker knows.
    fn build_payload(&mut self, node: usize, round: Round, valid: bool) -> Payload {
        let n = &mut self.nodes[node];
        n.payloads_built += 1;
        let mut bytes = codec::encode(&(node as u64, round.0, n.payloads_built));
        let filler = self.rng.below_u8(64);
        bytes.extend((0..filler).map(|i| i.wrapping_mul(31)));
        let payload = Payload::opaque(bytes);
        if valid {
            self.checker.proposed(payload.digest());
        }
        payload
    }

    fn send(&mut self, node: usize, to: Option<ValidatorIndex>, message: Message) {
        let outgoing = match self.nodes[node].behaviour {
            None => {
                if self.nodes[node].honest {
                    self.checker.sent_by_honest(&message);
                }
                vec![(to, message)]
            }
            Some(behaviour) => self.misbehave(node, behaviour, to, message),
        };
        for (to, message) in outgoing {
            let from = self.nodes[node].validator;
            for peer in 0..self.nodes.len() {
                if peer == node || to.is_some_and(|to| self.nodes[peer].validator != to) {
                    continue;
                }
                for delay in self.network.delays(node, peer, &mut self.rng) {
                    self.schedule(self.now + delay, Event::Deliver { to: peer, from, message: message.clone() });
                }
            }
        }
    }

    fn misbehave(
        &mut self,
        node: usize,
        behaviour: Behaviour,
        to: Option<ValidatorIndex>,
        message: Message,
    ) -> Vec<(Option<ValidatorIndex>, Message)> {
        let key = self.nodes[node].key.clone();
        match (behaviour, &message) {
            (Behaviour::Silent, _) => Vec::new(),
            (Behaviour::Equivocate, Message::Proposal(proposal)) => {
                let payload = self.build_payload(node, proposal.block.header.round, true);
                let other = byzantine::equivocate(proposal, payload, &key, &self.validators);
                // Half the validators get one block, half the other, and one of them
                // gets both (an equivocator cannot know who compares notes).
                let mut out = Vec::new();
                let both = self.rng.index(self.validators.len());
                let other = Message::Proposal(other);
                for (i, v) in self.validators.indices().enumerate() {
                    let (first, second) = if self.rng.chance(500) { (&message, &other) } else { (&other, &message) };
                    out.push((Some(v), first.clone()));
                    if i == both {
                        out.push((Some(v), second.clone()));
                    }
                }
                out
            }
            (Behaviour::InvalidPayload, Message::Proposal(proposal)) => {
                let payload = self.build_payload(node, proposal.block.header.round, false);
                let bad = byzantine::equivocate(proposal, payload, &key, &self.validators);
                vec![(to, Message::Proposal(bad))]
            }
            (Behaviour::DoubleVote, Message::Vote(vote)) => {
                let other = byzantine::double_vote(vote, &key, &self.validators, &mut self.rng);
                vec![(to, message.clone()), (to, Message::Vote(other))]
            }
            (Behaviour::Corrupt, _) => {
                let mut out: Vec<_> = byzantine::corrupt(&message, &self.validators, &mut self.rng)
                    .into_iter()
                    .map(|m| (to, m))
                    .collect();
                if self.rng.chance(300) {
                    out.push((to, message));
                }
                out
            }
            (Behaviour::Flood, _) => {
                let mut out: Vec<_> = byzantine::flood(&message, &key, &self.validators, &mut self.rng)
                    .into_iter()
                    .map(|m| (None, m))
                    .collect();
                out.push((to, message));
                out
            }
            _ => vec![(to, message)],
        }
    }

    /// Answers a fetch from the committed chain and the replica's block tree.
    fn serve_fetch(&mut self, node: usize, requester: usize, request: BlockRequest) {
        let n = &self.nodes[node];
        let Some(replica) = n.replica.as_ref() else { return };
        if n.behaviour == Some(Behaviour::Silent) {
            return;
        }
        let mut blocks = Vec::new();
        let mut cursor = request.block_id;
        while blocks.len() < request.count as usize {
            let block = match n.chain_index.get(&cursor) {
                Some(height) => n.chain.get(*height).cloned(),
                None => replica.block(&cursor),
            };
            let Some(block) = block else { break };
            if block.header.height <= request.above_height {
                break;
            }
            cursor = block.header.parent();
            blocks.push(block);
        }
        if blocks.is_empty() {
            return;
        }
        for delay in self.network.delays(node, requester, &mut self.rng) {
            self.schedule(self.now + delay, Event::FetchResponse { to: requester, blocks: blocks.clone() });
        }
    }
}

#[allow(clippy::panic, reason = "a constant chain id that fails its own rule is a bug in this file")]
fn unreachable_chain_id() -> ChainId {
    panic!("the simulator's chain id is valid")
}

#[allow(clippy::panic, reason = "distinct seeds give distinct keys; a failure is a bug in this file")]
fn unreachable_set(error: crate::validators::ValidatorSetError) -> ValidatorSet {
    panic!("the simulator's validator set is valid: {error}")
}
