//! Simulated epoch changes: validators added and removed while faults run, every replica
//! ends each epoch at the same block, replicas that lagged across a boundary catch up by
//! fetching, and a host that fails to switch is caught.

use std::collections::BTreeSet;
use std::sync::Arc;

use panacea_consensus::sim::checker::Checker;
use panacea_consensus::sim::{EpochChange, EpochPlan, Fault, Plan, Scenario, Simulation, Violation, epochs};
use panacea_consensus::{Block, Payload, QuorumCert};
use panacea_primitives::{Epoch, Height, Round, ValidatorIndex};

/// Four validators, no faults, and `changes` (with `extra_keys` fresh keys, those in
/// `observers` running as observers from the start).
fn plan(changes: Vec<(u64, Vec<u16>)>, extra_keys: usize, observers: &[u16], faults: Vec<(u64, Fault)>) -> Plan {
    let happy = Simulation::new(Scenario::Happy, 4, 0).plan().clone();
    Plan {
        faults,
        faults_end_ms: 8_000,
        epochs: EpochPlan {
            extra_keys,
            changes: changes.into_iter().map(|(from_ms, validators)| EpochChange { from_ms, validators }).collect(),
            observers: observers.iter().copied().collect(),
            stop_when_removed: BTreeSet::new(),
        },
        ..happy
    }
}

/// Key 4 is added (it observed from the start), key 0 removed (f stays 1 while n goes
/// 4, 5, 4), then key 5 replaces key 1 and joins at the switch, from the anchor.
fn add_remove_replace() -> Plan {
    plan(vec![(500, vec![0, 1, 2, 3, 4]), (2_000, vec![1, 2, 3, 4]), (3_500, vec![5, 2, 3, 4])], 2, &[4], Vec::new())
}

#[test]
fn additions_and_removals_commit_in_the_final_epoch() {
    let report = Simulation::from_plan(Scenario::Epochs, 4, 1, add_remove_replace()).run();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(report.epoch, Epoch(3), "every validator of the last epoch reached it");
    let sizes: Vec<usize> = report.switches.iter().map(|s| s.validators).collect();
    assert_eq!(sizes, vec![5, 4, 4]);
    let last = report.switches.last().expect("three switches");
    assert!(
        report.min_committed_height >= last.anchor_height.0 + panacea_consensus::sim::LIVENESS_BLOCKS,
        "the last epoch commits: {} above anchor {}",
        report.min_committed_height,
        last.anchor_height.0
    );
    let heights: Vec<u64> = report.switches.iter().map(|s| s.anchor_height.0).collect();
    assert!(heights.windows(2).all(|w| w[0] < w[1]), "epochs end at increasing heights: {heights:?}");
}

#[test]
fn same_seed_same_trace_with_epoch_changes() {
    for (n, seed) in [(4usize, 21u64), (7, 22)] {
        let a = Simulation::new(Scenario::Epochs, n, seed).run();
        let b = Simulation::new(Scenario::Epochs, n, seed).run();
        assert!(!a.switches.is_empty(), "n={n} seed={seed} changed no epoch");
        assert_eq!(a.trace_hash, b.trace_hash, "n={n} seed={seed} is not deterministic");
        assert_eq!(a.events, b.events);
        assert_eq!(a.switches, b.switches);
        let c = Simulation::new(Scenario::Epochs, n, seed + 100).run();
        assert_ne!(a.trace_hash, c.trace_hash, "different seeds should differ");
    }
    let a = Simulation::from_plan(Scenario::Epochs, 4, 1, add_remove_replace()).run();
    let b = Simulation::from_plan(Scenario::Epochs, 4, 1, add_remove_replace()).run();
    assert_eq!(a.trace_hash, b.trace_hash);
}

#[test]
fn a_replica_cut_off_across_the_boundary_switches_by_fetching() {
    // Node 2 is cut off from 400 ms to 6 s; the epoch ends meanwhile (key 4 joins at the
    // switch, so node 2 is not needed for a quorum in either epoch).
    let groups = vec![0, 0, 1, 0, 0];
    let faults = vec![(400, Fault::Partition(groups)), (6_000, Fault::Heal)];
    let plan = plan(vec![(600, vec![0, 1, 2, 3, 4])], 1, &[], faults);
    // Whether the cut-off replica still receives the certificate of the epoch's last block
    // itself, or must fetch the blocks, depends on the schedule the seed draws (and on who
    // leads, which follows the committed chain): seed 2 is one where it must fetch.
    let report = Simulation::from_plan(Scenario::Epochs, 4, 2, plan).with_tracing(true).run();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(report.epoch, Epoch(1));
    let switched_at = report
        .log
        .iter()
        .find(|line| line.contains("node 2 switches to epoch 1"))
        .and_then(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .expect("node 2 switched");
    assert!(switched_at >= 6_000, "node 2 switched only after the partition healed, at {switched_at} ms");
    assert!(report.switched_by_fetching.contains(&(2, Epoch(1))), "{:?}", report.switched_by_fetching);
    assert!(report.log.iter().any(|line| line.contains("node 4 joins epoch 1")));
}

/// Proof that the checkers see a host that does not switch: it keeps the old epoch, so
/// it commits past the epoch's end or stays behind, and the run must say so.
#[test]
fn a_host_that_does_not_switch_is_caught() {
    let plan = || plan(vec![(500, vec![0, 1, 2, 3, 4])], 1, &[4], Vec::new());
    let report = Simulation::from_plan(Scenario::Epochs, 4, 5, plan()).run();
    assert!(report.violations.is_empty(), "without the bug the run passes: {:?}", report.violations);
    let report = Simulation::from_plan(Scenario::Epochs, 4, 5, plan()).with_host_ignoring_epoch_ends(1).run();
    assert!(
        report.violations.iter().any(|v| matches!(v, Violation::NotSwitched { node: 1, epoch: Epoch(0) })),
        "{:?}",
        report.violations
    );
}

#[test]
fn the_checker_reports_a_commit_above_an_epochs_end_and_a_different_end() {
    let genesis = Arc::new(Block::genesis(Epoch(0), Payload::opaque(b"g".to_vec())));
    let next = |parent: &Block, round: u64, payload: Payload| {
        let justify = QuorumCert {
            epoch: Epoch(0),
            data: panacea_consensus::VoteData {
                round: Round(round - 1),
                height: parent.header.height,
                block_id: parent.id(),
            },
            signatures: Vec::new(),
        };
        Arc::new(Block::new(Epoch(0), Round(round), justify, payload, ValidatorIndex(0)))
    };
    let keys: Vec<_> = (0..4u8).map(|i| panacea_primitives::Keypair::from_seed([i + 1; 32]).public()).collect();
    let marker = epochs::Marker { epoch: Epoch(0), validators: keys };
    let plain = |serial| epochs::payload(0, serial, serial, None, Vec::new());
    let a = next(&genesis, 1, plain(1));
    let end = next(&a, 2, epochs::payload(0, 2, 2, Some(marker), Vec::new()));
    let above = next(&end, 3, plain(4));
    assert_eq!(epochs::ended_by(&end), Some(Epoch(0)));
    assert_eq!(epochs::ended_by(&a), None);

    let mut checker = Checker::new(BTreeSet::new());
    for block in [&a, &end, &above] {
        checker.proposed(block.header.payload_digest);
    }
    checker.committed(0, &[a.clone(), end.clone()]);
    checker.switched(0, Epoch(0), end.id());
    assert_eq!(checker.epoch_of(0), Epoch(1));
    // A replica that does not stop at the end commits a block of epoch 0 above it.
    checker.committed(1, &[a.clone(), end.clone(), above.clone()]);
    checker.host_epoch(1, Epoch(0));
    // A host that switches at a block that is not the end of its epoch.
    checker.committed(2, std::slice::from_ref(&a));
    checker.switched(2, Epoch(0), a.id());
    let violations = checker.into_violations();
    assert!(
        violations.contains(&Violation::CommitAfterEpochEnd { node: 1, epoch: Epoch(0), height: Height(3) }),
        "{violations:?}"
    );
    assert!(violations.contains(&Violation::NotSwitched { node: 1, epoch: Epoch(0) }), "{violations:?}");
    assert!(
        violations.iter().any(|v| matches!(v, Violation::SwitchMismatch { epoch: Epoch(0), .. })),
        "{violations:?}"
    );
    assert_eq!(violations.len(), 3, "{violations:?}");
}
