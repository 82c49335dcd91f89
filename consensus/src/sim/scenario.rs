//! The fault mixes the simulator runs, and the plan each one draws from its seed.

use core::fmt;
use core::str::FromStr;

use super::byzantine::Behaviour;
use super::epochs::EpochPlan;
use super::network::LinkParams;
use super::rng::Rng;

/// A family of faults. Each seed draws a concrete plan (which nodes, when, how long)
/// from its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// No faults: WAN-like latency and jitter only.
    Happy,
    /// Loss, duplication and heavy jitter (reordering).
    Lossy,
    /// Partitions that heal, including ones that leave no side a quorum; in half the
    /// seeds, across epoch changes.
    Partition,
    /// Crashes and restarts from persisted state, some in the middle of an output list,
    /// sometimes of every replica at once; in half the seeds, across epoch changes.
    Crash,
    /// Up to f leaders propose two blocks per round to different halves.
    Equivocation,
    /// Up to f validators vote for two blocks per round.
    DoubleVote,
    /// Up to f keys run on two replicas each ("Twins"), with partitions.
    Twins,
    /// Up to f validators send corrupted signatures, forged votes and invalid payloads.
    InvalidSignatures,
    /// Up to f validators flood stale and far-future messages, validly signed.
    Flood,
    /// A random mix of all of the above, with epoch changes in most seeds.
    Mixed,
    /// One to three epoch changes (validators added, removed or replaced, Byzantine ones
    /// and leaders among them), with Byzantine validators, sometimes lossy links, and
    /// often one replica cut off or crashed across a boundary.
    Epochs,
    /// f + 1 keys twinned and partitioned so both sides have a quorum: breaks the fault
    /// assumption on purpose, and must be reported as a fork. Not part of `all`.
    TwinsBeyondF,
}

impl Scenario {
    /// Every scenario that stays within the fault assumption.
    pub const ALL: [Scenario; 11] = [
        Scenario::Happy,
        Scenario::Lossy,
        Scenario::Partition,
        Scenario::Crash,
        Scenario::Equivocation,
        Scenario::DoubleVote,
        Scenario::Twins,
        Scenario::InvalidSignatures,
        Scenario::Flood,
        Scenario::Mixed,
        Scenario::Epochs,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Happy => "happy",
            Scenario::Lossy => "lossy",
            Scenario::Partition => "partition",
            Scenario::Crash => "crash",
            Scenario::Equivocation => "equivocation",
            Scenario::DoubleVote => "double-vote",
            Scenario::Twins => "twins",
            Scenario::InvalidSignatures => "invalid-signatures",
            Scenario::Flood => "flood",
            Scenario::Mixed => "mixed",
            Scenario::Epochs => "epochs",
            Scenario::TwinsBeyondF => "twins-beyond-f",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Scenario, String> {
        Scenario::ALL.iter().chain(&[Scenario::TwinsBeyondF]).find(|scenario| scenario.name() == s).copied().ok_or_else(
            || {
                let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scenario {s:?}; expected one of {}, twins-beyond-f or all", names.join(", "))
            },
        )
    }
}

/// A fault at a point in virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Split the nodes into groups (one group id per node slot); messages between
    /// groups are dropped until the next partition or heal.
    Partition(Vec<u8>),
    /// Reconnect everyone.
    Heal,
    /// Crash a node slot after it has executed `after_outputs` outputs of its next
    /// input (0: at once), and restart it `down_ms` later.
    Crash {
        /// The node slot.
        node: usize,
        /// Outputs executed before the crash takes effect.
        after_outputs: usize,
        /// Time down.
        down_ms: u64,
    },
}

/// What one seed does: the concrete draw from a scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Link behaviour until the faults end.
    pub link: LinkParams,
    /// Faults by time (ms).
    pub faults: Vec<(u64, Fault)>,
    /// Byzantine validators and what they do.
    pub byzantine: Vec<(u16, Behaviour)>,
    /// Validators whose key also runs on a second node slot.
    pub twins: Vec<u16>,
    /// Epoch changes (none in most scenarios). Node slots `n..n + epochs.extra_keys`
    /// hold the keys it adds; twins come after them.
    pub epochs: EpochPlan,
    /// When the faults end and the network is good again (GST).
    pub faults_end_ms: u64,
}

/// Virtual time during which faults may happen.
const FAULT_WINDOW_MS: u64 = 8_000;

impl Plan {
    /// Draws the plan of `scenario` for `n` validators.
    pub fn draw(scenario: Scenario, n: usize, rng: &mut Rng) -> Plan {
        let f = (n - 1) / 3;
        let mut plan = Plan {
            link: LinkParams::wan(),
            faults: Vec::new(),
            byzantine: Vec::new(),
            twins: Vec::new(),
            epochs: EpochPlan::default(),
            faults_end_ms: FAULT_WINDOW_MS,
        };
        let all_behaviours = [
            Behaviour::Equivocate,
            Behaviour::DoubleVote,
            Behaviour::Corrupt,
            Behaviour::Flood,
            Behaviour::Silent,
            Behaviour::InvalidPayload,
        ];
        let behaviour = match scenario {
            Scenario::Equivocation => Some(Behaviour::Equivocate),
            Scenario::DoubleVote => Some(Behaviour::DoubleVote),
            Scenario::InvalidSignatures => Some(Behaviour::Corrupt),
            Scenario::Flood => Some(Behaviour::Flood),
            _ => None,
        };
        match scenario {
            Scenario::Happy => plan.faults_end_ms = 3_000,
            Scenario::Lossy => plan.link = LinkParams::lossy(rng),
            Scenario::Partition => {
                if rng.chance(500) {
                    plan.epochs = changes(n, &[], rng);
                }
                plan.faults = partitions(n + plan.epochs.extra_keys, 0, rng);
            }
            Scenario::Crash => {
                if rng.chance(500) {
                    plan.epochs = changes(n, &[], rng);
                }
                plan.faults = crashes(n + plan.epochs.extra_keys, rng);
            }
            Scenario::Equivocation | Scenario::DoubleVote | Scenario::InvalidSignatures | Scenario::Flood => {
                let count = rng.range_usize(1, f);
                plan.byzantine =
                    pick(n, count, rng).into_iter().map(|v| (v, behaviour.unwrap_or(Behaviour::Silent))).collect();
            }
            Scenario::Twins => {
                plan.twins = pick(n, rng.range_usize(1, f), rng);
                plan.faults = partitions(n + plan.twins.len(), 0, rng);
            }
            Scenario::Mixed => {
                let count = rng.range_usize(0, f);
                plan.byzantine = pick(n, count, rng)
                    .into_iter()
                    .map(|v| (v, all_behaviours[rng.index(all_behaviours.len())]))
                    .collect();
                plan.link = LinkParams::lossy(rng);
                if rng.chance(700) {
                    let byzantine: Vec<u16> = plan.byzantine.iter().map(|(v, _)| *v).collect();
                    plan.epochs = changes(n, &byzantine, rng);
                }
                let slots = n + plan.epochs.extra_keys;
                let mut faults = partitions(slots, 0, rng);
                // Crash only honest nodes, so that faulty ones never exceed f.
                faults.extend(crashes(slots, rng).into_iter().filter(|(_, fault)| match fault {
                    Fault::Crash { node, .. } => !plan.byzantine.iter().any(|(v, _)| usize::from(*v) == *node),
                    _ => true,
                }));
                faults.sort_by_key(|(time, _)| *time);
                plan.faults = faults;
            }
            Scenario::Epochs => {
                // A replica cut off (or crashed) across the first boundary must catch up
                // by fetching. At most f - 1 Byzantine validators then, so that the others
                // usually keep a quorum meanwhile and the epoch ends without it.
                let lag = rng.chance(650);
                let count = rng.range_usize(0, f - usize::from(lag && f > 0));
                plan.byzantine = pick(n, count, rng)
                    .into_iter()
                    .map(|v| (v, all_behaviours[rng.index(all_behaviours.len())]))
                    .collect();
                let byzantine: Vec<u16> = plan.byzantine.iter().map(|(v, _)| *v).collect();
                plan.epochs = changes(n, &byzantine, rng);
                if rng.chance(300) {
                    plan.link = LinkParams::lossy(rng);
                }
                let honest: Vec<usize> = (0..n).filter(|v| !byzantine.iter().any(|b| usize::from(*b) == *v)).collect();
                let first = plan.epochs.changes.first().map_or(FAULT_WINDOW_MS / 2, |c| c.from_ms);
                if lag && !honest.is_empty() {
                    let node = honest[rng.index(honest.len())];
                    let start = first.saturating_sub(rng.range(0, 1_000));
                    if rng.chance(500) {
                        let groups = (0..n + plan.epochs.extra_keys).map(|slot| u8::from(slot == node)).collect();
                        let end = (first + rng.range(1_500, 5_000)).min(FAULT_WINDOW_MS);
                        plan.faults = vec![(start, Fault::Partition(groups)), (end, Fault::Heal)];
                    } else {
                        let down_ms = rng.range(1_500, 5_000);
                        plan.faults = vec![(start, Fault::Crash { node, after_outputs: 0, down_ms })];
                    }
                }
            }
            Scenario::TwinsBeyondF => {
                // Twin f + 1 keys; put one copy of each on either side, with the honest
                // validators split evenly, so that each side holds a quorum of keys.
                plan.twins = (0..=f).filter_map(|v| u16::try_from(v).ok()).collect();
                let mut groups = vec![0u8; n + plan.twins.len()];
                for (i, group) in groups.iter_mut().enumerate().take(n).skip(f + 1) {
                    *group = u8::from((i - f - 1) % 2 == 1);
                }
                for group in groups.iter_mut().skip(n) {
                    *group = 1;
                }
                // Long enough for both sides to commit on their own.
                plan.faults_end_ms = 4 * FAULT_WINDOW_MS;
                plan.faults = vec![(0, Fault::Partition(groups)), (plan.faults_end_ms, Fault::Heal)];
            }
        }
        plan
    }
}

/// The epoch changes of a plan: 1 to 3, inside the fault window.
fn changes(n: usize, byzantine: &[u16], rng: &mut Rng) -> EpochPlan {
    EpochPlan::draw(n, byzantine, 300, FAULT_WINDOW_MS - 1_500, rng)
}

/// `count` distinct validator indices.
fn pick(n: usize, count: usize, rng: &mut Rng) -> Vec<u16> {
    let mut all: Vec<u16> = (0..n).filter_map(|v| u16::try_from(v).ok()).collect();
    for i in (1..all.len()).rev() {
        let j = rng.index(i + 1);
        all.swap(i, j);
    }
    all.truncate(count);
    all.sort_unstable();
    all
}

/// A few random partitions inside the fault window, each healed.
fn partitions(slots: usize, start_ms: u64, rng: &mut Rng) -> Vec<(u64, Fault)> {
    let mut faults = Vec::new();
    let mut time = start_ms + rng.range(200, 2_000);
    while time < FAULT_WINDOW_MS - 1_000 {
        let groups_count = if rng.chance(500) { 2 } else { 3 };
        let groups: Vec<u8> = (0..slots).map(|_| rng.below_u8(groups_count)).collect();
        faults.push((time, Fault::Partition(groups)));
        time += rng.range(500, 4_000);
        faults.push((time.min(FAULT_WINDOW_MS), Fault::Heal));
        time += rng.range(300, 3_000);
    }
    faults
}

/// Crashes of random nodes, sometimes of every node at once.
fn crashes(n: usize, rng: &mut Rng) -> Vec<(u64, Fault)> {
    let mut faults = Vec::new();
    if rng.chance(200) {
        let time = rng.range(1_000, FAULT_WINDOW_MS - 3_000);
        for node in 0..n {
            faults.push((time, Fault::Crash { node, after_outputs: rng.index(3), down_ms: rng.range(100, 2_000) }));
        }
    }
    let count = rng.range(1, 2 * n as u64);
    for _ in 0..count {
        let time = rng.range(200, FAULT_WINDOW_MS - 2_000);
        let node = rng.index(n);
        faults.push((time, Fault::Crash { node, after_outputs: rng.index(4), down_ms: rng.range(50, 3_000) }));
    }
    faults.sort_by_key(|(time, _)| *time);
    faults
}
