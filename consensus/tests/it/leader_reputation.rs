//! Leader reputation: a validator down for maintenance costs the chain little, where
//! round robin loses most of its rounds to it (each round it leads times out, and so does
//! the round before, whose votes go to it); and a validator back from a restart leads again.

use std::sync::Arc;

use panacea_consensus::sim::{Behaviour, Fault, Plan, Scenario, Simulation};
use panacea_consensus::{LeaderElection, Reputation, RoundRobin};
use panacea_primitives::ValidatorIndex;

/// The plan of a fault-free run of `ms` of virtual time over a WAN (40-120 ms links),
/// with `down` sending nothing at all and `faults` on top.
fn plan(n: usize, seed: u64, ms: u64, down: &[u16], faults: Vec<(u64, Fault)>) -> Plan {
    let plan = Simulation::new(Scenario::Happy, n, seed).plan().clone();
    Plan { byzantine: down.iter().map(|v| (*v, Behaviour::Silent)).collect(), faults, faults_end_ms: ms, ..plan }
}

fn run(n: usize, seed: u64, plan: Plan, election: Arc<dyn LeaderElection>) -> panacea_consensus::sim::Report {
    let report = Simulation::from_plan(Scenario::Happy, n, seed, plan).with_leader_election(election).run();
    assert!(report.violations.is_empty(), "{:?}\n  replay: {}", report.violations, report.replay_command());
    report
}

/// Over 60 s, with one validator of four (two of seven) down from the start, reputation
/// keeps at least 70 % of the blocks of a healthy chain; round robin does not keep half.
/// What reputation loses is mostly the quorum's latency: with one of four down, every
/// certificate waits for the slowest of the three others (see docs/benchmarks.md).
#[test]
fn validators_down_keep_most_of_the_throughput() {
    const MS: u64 = 60_000;
    for (n, down, seed) in [(4usize, vec![3u16], 1u64), (4, vec![0], 2), (7, vec![2, 5], 3)] {
        let blocks = |down: &[u16], election: Arc<dyn LeaderElection>| {
            run(n, seed, plan(n, seed, MS, down, Vec::new()), election).min_committed_height
        };
        let healthy = blocks(&[], Arc::new(Reputation::default()));
        let reputation = blocks(&down, Arc::new(Reputation::default()));
        let round_robin = blocks(&down, Arc::new(RoundRobin));
        assert!(
            reputation * 10 >= healthy * 7,
            "n={n}, {down:?} down: {reputation} blocks against {healthy} with every validator up"
        );
        assert!(round_robin * 2 < healthy, "round robin kept {round_robin} of {healthy} blocks");
    }
}

/// A validator crashed mid-run stops being chosen; once back, its votes put it in
/// certificates and it leads again.
#[test]
fn a_restarted_validator_leads_again() {
    for (n, seed) in [(4usize, 4u64), (7, 5)] {
        let crash = Fault::Crash { node: 1, after_outputs: 0, down_ms: 15_000 };
        let report = run(n, seed, plan(n, seed, 40_000, &[], vec![(5_000, crash)]), Arc::new(Reputation::default()));
        let led = report.recent_authors.iter().filter(|a| **a == ValidatorIndex(1)).count();
        assert!(led > 0, "n={n}: validator 1 proposed none of the last {} blocks", report.recent_authors.len());
    }
}

/// Seeds on which replicas whose view of a round's leader changed between two proposals
/// (each from the leader of the moment) reported the second, honest author as an
/// equivocator: only the same author's second block is evidence.
#[test]
fn a_changed_view_of_the_leader_is_not_equivocation() {
    for (scenario, n, seed) in
        [(Scenario::Lossy, 7usize, 346u64), (Scenario::Crash, 10, 329), (Scenario::Crash, 10, 383)]
    {
        let report = Simulation::new(scenario, n, seed).run();
        assert!(report.violations.is_empty(), "{:?}\n  replay: {}", report.violations, report.replay_command());
    }
}

/// Seeds on which leader reputation alone lost liveness: the only block of the window
/// carried the epoch's unsigned first certificate, so one validator (a Byzantine one) was
/// the only eligible leader; or replicas that disagreed on what was committed chose
/// different leaders round after round. Fewer active validators than a quorum, or a stall
/// of 8 rounds, now means round robin.
#[test]
fn a_stall_falls_back_to_round_robin() {
    let seeds = [
        (Scenario::InvalidSignatures, 4usize, 783u64),
        (Scenario::InvalidSignatures, 7, 868),
        (Scenario::Mixed, 7, 382),
        (Scenario::Mixed, 10, 881),
        (Scenario::Twins, 7, 271),
    ];
    for (scenario, n, seed) in seeds {
        let report = Simulation::new(scenario, n, seed).run();
        assert!(report.violations.is_empty(), "{:?}\n  replay: {}", report.violations, report.replay_command());
    }
}
