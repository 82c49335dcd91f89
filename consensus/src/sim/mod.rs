//! A deterministic simulator: one seeded, single-threaded process runs a whole network
//! of replicas in virtual time, with faulty links, partitions, crashes, Byzantine
//! validators and epoch changes (validators added and removed while faults run), and
//! checks agreement, validity, no double signing, clean epoch boundaries and liveness.
//!
//! The same `(scenario, validators, seed)` always produces the same run, and the run's
//! trace hash proves it; a failing seed is replayed with
//! `cargo run --release -p panacea-consensus --example sim -- --scenario S --validators N --seed X --trace`.

pub mod byzantine;
pub mod checker;
pub mod epochs;
pub mod network;
pub mod rng;
mod routing;
pub mod scenario;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;

use panacea_primitives::{ChainId, Epoch, Hash, Height, Keypair, PublicKey, Round, ValidatorIndex};

use crate::block_tree::CommittedTip;
use crate::event::{Input, Output};
use crate::evidence::Evidence;
use crate::messages::{BlockRequest, Message};
use crate::replica::{Config, Replica, Role};
use crate::safety::SafetyState;
use crate::types::{Block, BlockRef, CommitCertificate, Payload, QuorumCert};
use crate::validators::ValidatorSet;

pub use byzantine::Behaviour;
pub use checker::Violation;
pub use epochs::{EpochChange, EpochPlan, Switch};
pub use scenario::{Fault, Plan, Scenario};

use network::{LinkParams, Network};
use rng::Rng;
use routing::Dest;

/// Blocks every honest validator of the last epoch must commit after the network heals
/// (and after that epoch began).
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
    /// The lowest height committed by an honest validator of the last epoch.
    pub min_committed_height: u64,
    /// The highest height committed by an honest validator of the last epoch.
    pub max_committed_height: u64,
    /// The lowest epoch an honest validator of the last planned epoch reached.
    pub epoch: Epoch,
    /// Each epoch change, as the first honest replica to switch saw it.
    pub switches: Vec<Switch>,
    /// Honest replicas (node slot, epoch begun) that switched on blocks they fetched:
    /// they lagged across the boundary.
    pub switched_by_fetching: Vec<(usize, Epoch)>,
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
    /// Proposers of the last (up to 64) blocks the first judged validator committed, oldest
    /// first: who led at the end of the run.
    pub recent_authors: Vec<ValidatorIndex>,
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
    Deliver { to: usize, from: usize, message: Message },
    Timer { node: usize, round: Round, generation: u64 },
    PayloadReady { node: usize, epoch: Epoch, round: Round, payload: Payload },
    PayloadChecked { node: usize, epoch: Epoch, block_id: Hash, valid: bool },
    FetchRequest { to: usize, requester: usize, request: BlockRequest },
    FetchResponse { to: usize, blocks: Vec<BlockRef> },
    Fault(Fault),
    Restart { node: usize },
    Join { node: usize, tip: CommittedTip, set: ValidatorSet },
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

/// Whether a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Runs (or is crashed and will restart).
    Active,
    /// A validator of a later epoch that starts at the switch to it.
    Waiting,
    /// Removed from the validators, and stopped for good.
    Stopped,
}

/// One simulated node: a replica (absent while crashed) and what its host persisted.
struct Node {
    /// Which of the run's keys it holds (twins share one).
    key_id: u16,
    key: Keypair,
    public: PublicKey,
    behaviour: Option<Behaviour>,
    honest: bool,
    status: Status,
    replica: Option<Replica>,
    /// The configuration of the epoch the host is in.
    config: Config,
    safety: SafetyState,
    chain: Vec<BlockRef>,
    /// Position in `chain` of each committed block.
    chain_index: BTreeMap<Hash, usize>,
    tip: CommittedTip,
    /// Uncommitted blocks stored on `PersistBlock`.
    stored: BTreeMap<Hash, BlockRef>,
    /// How each epoch this host left ended: the QC that made its last block final.
    ends: BTreeMap<Epoch, QuorumCert>,
    /// Blocks above an epoch's last block up to the certified child, kept for replicas
    /// that lag (at most a few per epoch).
    abandoned: BTreeMap<Hash, BlockRef>,
    /// When this host last helped or asked each peer across epochs.
    last_contact: BTreeMap<usize, u64>,
    /// Messages of the next epoch, received before this host switched (bounded): they
    /// are handed to the new replica once it starts, so the first rounds are not lost.
    early: Vec<(usize, Message)>,
    /// Test hook: the host ignores the blocks that end epochs (a host bug).
    ignores_epoch_ends: bool,
    timer_generation: u64,
    crash_after: Option<(usize, u64)>,
    payloads_built: u64,
}

/// A simulated network of replicas under one fault plan.
pub struct Simulation {
    scenario: Scenario,
    /// Validators of the first epoch.
    validators: usize,
    /// Timeouts every epoch's configuration copies.
    base_config: Config,
    /// Every key of the run, by key id.
    keys: Vec<PublicKey>,
    /// The validator set of each epoch of the plan.
    sets: Vec<ValidatorSet>,
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
    /// The honest validators of the last planned epoch: liveness is judged on them.
    judged: Vec<usize>,
    switches: Vec<Switch>,
    switched_by_fetching: Vec<(usize, Epoch)>,
    /// True while blocks fetched from a peer are being handled.
    feeding_fetched: bool,
    tracing: bool,
    log: Vec<String>,
}

/// The chain id of every simulated run.
fn chain_id() -> ChainId {
    ChainId::new("panacea-sim").unwrap_or_else(|_| unreachable_chain_id())
}

/// The key of key id `i`.
fn keypair(i: usize) -> Keypair {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed[8] = 0x5a;
    Keypair::from_seed(seed)
}

impl Simulation {
    /// The run of `scenario` with `n` validators drawn from `seed`.
    pub fn new(scenario: Scenario, n: usize, seed: u64) -> Simulation {
        let mut rng = Rng::new(seed ^ (n as u64).rotate_left(32) ^ (scenario as u64).rotate_left(48));
        let plan = Plan::draw(scenario, n, &mut rng);
        Simulation::with_plan(scenario, n, seed, plan, rng)
    }

    /// The run of a hand-made `plan` with `n` validators (its replay command does not
    /// reproduce it: it names the scenario's own plan for the seed).
    pub fn from_plan(scenario: Scenario, n: usize, seed: u64, plan: Plan) -> Simulation {
        let rng = Rng::new(seed ^ (n as u64).rotate_left(32) ^ (scenario as u64).rotate_left(48));
        Simulation::with_plan(scenario, n, seed, plan, rng)
    }

    fn with_plan(scenario: Scenario, n: usize, seed: u64, plan: Plan, rng: Rng) -> Simulation {
        let key_count = n + plan.epochs.extra_keys;
        let keypairs: Vec<Keypair> = (0..key_count).map(keypair).collect();
        let keys: Vec<PublicKey> = keypairs.iter().map(Keypair::public).collect();
        let set_of = |epoch: u64, ids: &[u16]| {
            let members = ids.iter().filter_map(|k| keys.get(usize::from(*k)).copied()).collect();
            ValidatorSet::new(chain_id(), Epoch(epoch), members).unwrap_or_else(unreachable_set)
        };
        let first: Vec<u16> = (0..n).filter_map(|v| u16::try_from(v).ok()).collect();
        let mut sets = vec![set_of(0, &first)];
        for (e, change) in plan.epochs.changes.iter().enumerate() {
            sets.push(set_of(e as u64 + 1, &change.validators));
        }
        let genesis = Arc::new(Block::genesis(Epoch(0), Payload::opaque(b"panacea simulated genesis".to_vec())));
        let genesis_id = genesis.id();
        let mut config = Config::new(sets[0].clone(), genesis_id);
        config.round_timeout_ms = 1_000;
        config.round_timeout_max_ms = 8_000;
        let byzantine: BTreeMap<u16, Behaviour> = plan.byzantine.iter().copied().collect();
        let mut faulty: BTreeSet<u16> = byzantine.keys().copied().collect();
        faulty.extend(plan.twins.iter().copied());
        let slots: Vec<u16> =
            (0..key_count).filter_map(|v| u16::try_from(v).ok()).chain(plan.twins.iter().copied()).collect();
        let nodes = slots
            .iter()
            .map(|k| {
                let key_id = usize::from(*k);
                let status =
                    if key_id < n || plan.epochs.observers.contains(k) { Status::Active } else { Status::Waiting };
                let mut chain_index = BTreeMap::new();
                chain_index.insert(genesis_id, 0);
                Node {
                    key_id: *k,
                    key: keypairs[key_id].clone(),
                    public: keys[key_id],
                    behaviour: byzantine.get(k).copied(),
                    honest: !faulty.contains(k),
                    status,
                    replica: None,
                    config: config.clone(),
                    safety: SafetyState::new(Epoch(0), QuorumCert::genesis(Epoch(0), genesis_id)),
                    chain: vec![genesis.clone()],
                    chain_index,
                    tip: CommittedTip { block: genesis.clone(), certificate: None },
                    stored: BTreeMap::new(),
                    ends: BTreeMap::new(),
                    abandoned: BTreeMap::new(),
                    last_contact: BTreeMap::new(),
                    early: Vec::new(),
                    ignores_epoch_ends: false,
                    timer_generation: 0,
                    crash_after: None,
                    payloads_built: 0,
                }
            })
            .collect();
        let network = Network::new(plan.link);
        let faulty_keys = faulty.iter().filter_map(|k| keys.get(usize::from(*k)).copied()).collect();
        let mut simulation = Simulation {
            scenario,
            validators: n,
            base_config: config,
            keys,
            sets,
            seed,
            rng,
            network,
            nodes,
            queue: BinaryHeap::new(),
            seq: 0,
            now: 0,
            checker: checker::Checker::new(faulty_keys),
            trace: Hash::ZERO,
            events: 0,
            liveness_target: None,
            judged: Vec::new(),
            switches: Vec::new(),
            switched_by_fetching: Vec::new(),
            feeding_fetched: false,
            tracing: false,
            log: Vec::new(),
            plan,
        };
        simulation.judged = simulation.honest_final_validators();
        simulation
    }

    /// Records a human-readable log of commits and faults in the report.
    #[must_use]
    pub fn with_tracing(mut self, tracing: bool) -> Simulation {
        self.tracing = tracing;
        self
    }

    /// Chooses leaders with `election` instead of the default (leader reputation), in
    /// every epoch: to compare elections on the same plan.
    #[must_use]
    pub fn with_leader_election(mut self, election: Arc<dyn crate::LeaderElection>) -> Simulation {
        self.base_config.leader_election = election.clone();
        for node in &mut self.nodes {
            node.config.leader_election = election.clone();
        }
        self
    }

    /// The fault plan this seed drew.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Test hook: the host of node slot `node` ignores the blocks that end epochs, as a
    /// buggy host would (it keeps committing the old epoch's blocks and never switches).
    /// The checkers must report it.
    #[must_use]
    pub fn with_host_ignoring_epoch_ends(mut self, node: usize) -> Simulation {
        if let Some(n) = self.nodes.get_mut(node) {
            n.ignores_epoch_ends = true;
        }
        self
    }

    /// Runs to the end and reports.
    pub fn run(mut self) -> Report {
        let (byzantine, twins, link) = (self.plan.byzantine.clone(), self.plan.twins.clone(), self.plan.link);
        self.note(|| format!("plan: byzantine {byzantine:?}, twins {twins:?}, link {link:?}"));
        let epochs = self.plan.epochs.clone();
        if !epochs.changes.is_empty() {
            self.note(|| format!("epochs: {epochs:?}"));
        }
        for (time, fault) in self.plan.faults.clone() {
            self.schedule(time, Event::Fault(fault));
        }
        self.schedule(self.plan.faults_end_ms, Event::FaultsEnd);
        for node in 0..self.nodes.len() {
            if self.nodes[node].status == Status::Active {
                self.boot(node);
            }
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
                        "node {i} (epoch {}, {:?}): round {}, high QC {}, last voted {}, highest QC voted {}, stats {:?}, last rejection {:?}",
                        node.config.validators.epoch().0,
                        r.index(),
                        r.round(),
                        r.high_qc().round(),
                        r.safety().last_voted_round,
                        r.safety().highest_qc_round,
                        r.stats(),
                        r.last_rejection()
                    ),
                    None => format!("node {i}: {:?}, down", node.status),
                };
                self.log.push(line);
            }
        }
        let target = self.target();
        let final_epoch = self.final_epoch();
        let judged = self.judged.clone();
        for node in &judged {
            let epoch = self.nodes[*node].config.validators.epoch();
            let height = self.checker.height_of(*node);
            if epoch != final_epoch {
                self.checker.push(Violation::EpochNotReached { node: *node, epoch, expected: final_epoch });
            } else if height < target {
                self.checker.liveness(*node, height, target);
            }
        }
        for node in 0..self.nodes.len() {
            if self.nodes[node].honest {
                self.checker.host_epoch(node, self.nodes[node].config.validators.epoch());
            }
        }
        let heights: Vec<u64> = judged.iter().map(|i| self.checker.height_of(*i).0).collect();
        let recent_authors = judged.first().map_or_else(Vec::new, |i| {
            let chain = &self.nodes[*i].chain;
            chain[chain.len().saturating_sub(64)..].iter().map(|b| b.header.author).collect()
        });
        let epoch = judged.iter().map(|i| self.nodes[*i].config.validators.epoch()).min().unwrap_or(Epoch(0));
        let rejected = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].honest)
            .filter_map(|i| self.nodes[i].replica.as_ref())
            .map(|r| r.stats().rejected)
            .sum();
        Report {
            scenario: self.scenario,
            validators: self.validators,
            seed: self.seed,
            trace_hash: self.trace,
            min_committed_height: heights.iter().copied().min().unwrap_or(0),
            max_committed_height: heights.iter().copied().max().unwrap_or(0),
            epoch,
            switches: self.switches,
            switched_by_fetching: self.switched_by_fetching,
            virtual_ms: self.now,
            events: self.events,
            evidence: self.checker.evidence_count(),
            rejected,
            log: self.log,
            recent_authors,
            violations: self.checker.into_violations(),
        }
    }

    /// The honest validators of the last planned epoch.
    fn honest_final_validators(&self) -> Vec<usize> {
        let Some(set) = self.planned_set(self.final_epoch()) else { return Vec::new() };
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].honest && set.index_of(&self.nodes[*i].public).is_some())
            .collect()
    }

    /// The height every judged validator must reach: `LIVENESS_BLOCKS` above the highest
    /// honest commit when the faults ended, and above the last epoch's anchor.
    fn target(&self) -> Height {
        let healed = self.liveness_target.unwrap_or(Height(LIVENESS_BLOCKS));
        let anchor = self
            .switches
            .iter()
            .find(|s| s.epoch == self.final_epoch())
            .map_or(Height::ZERO, |s| Height(s.anchor_height.0 + LIVENESS_BLOCKS));
        healed.max(anchor)
    }

    /// True once every judged validator is in the last epoch and reached the liveness
    /// target after the faults.
    fn live(&self) -> bool {
        if self.liveness_target.is_none() {
            return false;
        }
        let (target, final_epoch) = (self.target(), self.final_epoch());
        self.judged.iter().all(|i| {
            let i = *i;
            self.nodes[i].config.validators.epoch() == final_epoch && self.checker.height_of(i) >= target
        })
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
                    &(from as u64).to_le_bytes(),
                    message.kind().as_bytes(),
                    &round,
                ]);
                self.deliver(to, from, message);
            }
            Event::Timer { node, round, generation } => {
                if self.nodes[node].timer_generation == generation {
                    self.mix(&[b"timer", &(node as u64).to_le_bytes(), &round.0.to_le_bytes()]);
                    self.feed(node, Input::TimerFired { round });
                }
            }
            Event::PayloadReady { node, epoch, round, payload } => {
                if self.nodes[node].config.validators.epoch() == epoch {
                    self.mix(&[b"payload", &(node as u64).to_le_bytes(), payload.digest().as_bytes()]);
                    self.feed(node, Input::PayloadReady { round, payload });
                }
            }
            Event::PayloadChecked { node, epoch, block_id, valid } => {
                if self.nodes[node].config.validators.epoch() == epoch {
                    let verdict = [u8::from(valid)];
                    self.mix(&[b"checked", &(node as u64).to_le_bytes(), block_id.as_bytes(), &verdict]);
                    self.feed(node, Input::PayloadChecked { block_id, valid });
                }
            }
            Event::FetchRequest { to, requester, request } => {
                self.mix(&[b"fetch", &(to as u64).to_le_bytes(), request.block_id.as_bytes()]);
                self.serve_fetch(to, requester, request);
            }
            Event::FetchResponse { to, blocks } => {
                self.mix(&[b"fetched", &(to as u64).to_le_bytes(), &(blocks.len() as u64).to_le_bytes()]);
                let blocks = blocks.iter().map(|b| (**b).clone()).collect();
                self.feeding_fetched = true;
                self.feed(to, Input::BlocksFetched { blocks });
                self.feeding_fetched = false;
            }
            Event::Fault(fault) => self.fault(fault),
            Event::Restart { node } => self.restart(node),
            Event::Join { node, tip, set } => self.join(node, tip, set),
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

    /// Starts the replica of `node` from what its host persisted, in the host's epoch: as
    /// a validator if its key is in the epoch's set, as an observer otherwise.
    fn boot(&mut self, node: usize) {
        let n = &self.nodes[node];
        let stored = n.stored.values().cloned().collect();
        let role = match n.config.validators.index_of(&n.public) {
            Some(_) => Role::Validator(n.key.clone()),
            None => Role::Observer,
        };
        // The host's chain ends at the tip; leader election reads the epoch's newest blocks.
        let want = n.config.leader_election.history_blocks(n.config.validators.len());
        let history = n.chain[n.chain.len().saturating_sub(want)..].iter().map(|b| b.header.clone()).collect();
        let replica = Replica::new(n.config.clone(), role, n.safety.clone(), n.tip.clone(), stored, history);
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
        n.early.clear();
        n.timer_generation += 1;
        self.schedule(self.now + down_ms, Event::Restart { node });
    }

    fn restart(&mut self, node: usize) {
        if self.nodes[node].replica.is_some() || self.nodes[node].status != Status::Active {
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
    /// losing whatever had not been executed (the point of persisting first). A commit
    /// that ends the epoch replaces the replica: the old one's remaining outputs are
    /// dropped, as the host stops it.
    fn execute(&mut self, node: usize, outputs: Vec<Output>) {
        let crash = self.nodes[node].crash_after.take();
        let limit = crash.map_or(usize::MAX, |(after, _)| after);
        let mut executed = 0;
        for output in outputs.into_iter().take(limit) {
            executed += 1;
            if self.execute_one(node, output) {
                break;
            }
        }
        if let Some((after, down_ms)) = crash {
            if after <= executed {
                self.crash(node, down_ms);
            } else if self.nodes[node].replica.is_some() {
                self.nodes[node].crash_after = Some((after - executed, down_ms));
            }
        }
    }

    /// Executes one output; true if it switched the node to another epoch.
    fn execute_one(&mut self, node: usize, output: Output) -> bool {
        let epoch = self.nodes[node].config.validators.epoch();
        match output {
            Output::PersistSafety(state) => self.nodes[node].safety = state,
            Output::PersistBlock(block) => {
                self.nodes[node].stored.insert(block.id(), block);
            }
            Output::Send { to, message } => self.send(node, Dest::Validator(to), message),
            Output::Broadcast(message) => self.send(node, Dest::All, message),
            Output::SetTimer { round, duration_ms } => {
                let n = &mut self.nodes[node];
                n.timer_generation += 1;
                let generation = n.timer_generation;
                self.schedule(self.now + duration_ms, Event::Timer { node, round, generation });
            }
            Output::BuildPayload { round, .. } => {
                let payload = self.build_payload(node, round, true);
                self.schedule(self.now + 1, Event::PayloadReady { node, epoch, round, payload });
            }
            Output::CheckPayload { block } => {
                let valid = self.checker.is_proposed(&block.header.payload_digest) && epochs::well_formed(&block);
                self.schedule(self.now + 1, Event::PayloadChecked { node, epoch, block_id: block.id(), valid });
            }
            Output::Commit { blocks, certificate } => return self.commit(node, blocks, certificate),
            Output::FetchBlocks { request, from } => self.route_fetch(node, from, request),
            Output::Evidence(evidence) => {
                if self.nodes[node].honest {
                    let epoch = match &evidence {
                        Evidence::DoubleProposal { first, .. } => first.0.epoch,
                        Evidence::DoubleVote { first, .. } => first.epoch,
                    };
                    let set = self.planned_set(epoch).cloned();
                    self.checker.evidence(&evidence, set.as_ref());
                    self.note(|| format!("node {node} reports evidence {evidence:?}"));
                }
            }
        }
        false
    }

    /// The host commits `blocks`, up to the block that ends its epoch if one is among
    /// them (the rest are abandoned), and then switches. True if it switched.
    fn commit(&mut self, node: usize, blocks: Vec<BlockRef>, certificate: CommitCertificate) -> bool {
        let n = &self.nodes[node];
        if n.config.validators.verify_commit(&certificate, n.config.genesis_id).is_err() {
            self.checker.bad_commit_certificate(node);
        }
        let epoch = n.config.validators.epoch();
        let end = if n.ignores_epoch_ends {
            None
        } else {
            blocks.iter().enumerate().find_map(|(i, block)| {
                epochs::ends_epoch(block).filter(|_| block.header.epoch == epoch).map(|next| (i, next))
            })
        };
        let kept = end.as_ref().map_or(blocks.len(), |(i, _)| i + 1);
        let n = &mut self.nodes[node];
        for block in &blocks[..kept] {
            n.chain_index.insert(block.id(), n.chain.len());
            n.chain.push(block.clone());
        }
        if let Some(last) = blocks[..kept].last() {
            let height = last.header.height;
            n.stored.retain(|_, block| block.header.height > height);
            n.tip = CommittedTip { block: last.clone(), certificate: Some(certificate.clone()) };
        }
        if self.nodes[node].honest {
            self.checker.committed(node, &blocks[..kept]);
            if let Some(last) = blocks[..kept].last() {
                let height = last.header.height;
                let id = last.id();
                self.mix(&[b"commit", &(node as u64).to_le_bytes(), id.as_bytes()]);
                self.note(|| format!("node {node} commits up to height {} ({id:?})", height.0));
            }
        }
        match end {
            Some((i, next)) => {
                self.switch(node, blocks[i].clone(), next, certificate, &blocks[i + 1..]);
                true
            }
            None => false,
        }
    }

    /// A payload no other host or round produces, and that the checker knows; it ends
    /// the epoch if the plan's change is due.
    fn build_payload(&mut self, node: usize, round: Round, valid: bool) -> Payload {
        let end = if valid { self.marker_due(node) } else { None };
        let n = &mut self.nodes[node];
        n.payloads_built += 1;
        let serial = n.payloads_built;
        let filler = self.rng.below_u8(64);
        let payload = epochs::payload(node, round.0, serial, end, (0..filler).map(|i| i.wrapping_mul(31)).collect());
        if valid {
            self.checker.proposed(payload.digest());
        }
        payload
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
