//! Seeded simulation runs: every fault mix passes, runs are reproducible, and the
//! checkers can see a fork when the fault assumption is broken.

use panacea_consensus::sim::{Scenario, Simulation, Violation};

/// A few seeds of every scenario for each size; the full sweep runs in CI via the
/// `sim` example in release mode.
#[test]
fn every_scenario_passes_a_few_seeds() {
    let mut failures = Vec::new();
    for scenario in Scenario::ALL {
        for (seed, n) in [(1u64, 4usize), (2, 7), (3, 10)] {
            let report = Simulation::new(scenario, n, seed).run();
            if !report.violations.is_empty() {
                failures.push(format!("{:?}\n  replay: {}", report.violations, report.replay_command()));
            }
            assert!(report.min_committed_height >= 3, "{scenario} n={n} seed={seed} committed too little");
        }
    }
    assert!(failures.is_empty(), "violations:\n{}", failures.join("\n"));
}

#[test]
fn same_seed_same_trace() {
    for scenario in [Scenario::Mixed, Scenario::Crash, Scenario::Twins] {
        let a = Simulation::new(scenario, 4, 11).run();
        let b = Simulation::new(scenario, 4, 11).run();
        assert_eq!(a.trace_hash, b.trace_hash, "{scenario} is not deterministic");
        assert_eq!(a.events, b.events);
        let c = Simulation::new(scenario, 4, 12).run();
        assert_ne!(a.trace_hash, c.trace_hash, "different seeds should differ");
    }
}

/// Proof that the harness can see failure: with f + 1 keys twinned and partitioned so
/// that both sides hold a quorum, the checkers must report a fork.
#[test]
fn twins_beyond_f_are_reported_as_a_fork() {
    for (n, seed) in [(4usize, 0u64), (7, 1), (10, 2)] {
        let report = Simulation::new(Scenario::TwinsBeyondF, n, seed).run();
        assert!(
            report.violations.iter().any(|v| matches!(v, Violation::Fork { .. })),
            "n={n} seed={seed}: expected a fork, got {:?}",
            report.violations
        );
    }
}

#[test]
fn byzantine_scenarios_produce_evidence_against_the_culprits_only() {
    // The checker flags evidence against honest validators as a violation; here we
    // also require that equivocation is actually caught.
    let report = Simulation::new(Scenario::Equivocation, 4, 5).run();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert!(report.evidence > 0, "an equivocating leader went unnoticed");
    let report = Simulation::new(Scenario::DoubleVote, 4, 5).run();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert!(report.evidence > 0, "a double voter went unnoticed");
}

#[test]
fn tracing_logs_commits() {
    let report = Simulation::new(Scenario::Happy, 4, 3).with_tracing(true).run();
    assert!(report.log.iter().any(|line| line.contains("commits up to height")));
    assert!(report.replay_command().contains("--scenario happy --validators 4 --seed 3"));
}
