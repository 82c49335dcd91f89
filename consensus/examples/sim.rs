//! Runs the deterministic consensus simulator over many seeds, or replays one.
//!
//! ```text
//! cargo run --release -p panacea-consensus --example sim -- --seeds 100000 --scenario all
//! cargo run --release -p panacea-consensus --example sim -- --scenario crash --validators 7 --seed 42 --trace
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool")]

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use panacea_consensus::sim::{Report, Scenario, Simulation};

const USAGE: &str = "usage: sim [--scenario NAME|all] [--validators 4|7|10|all] [--seeds COUNT] [--start FIRST] \
[--seed SEED] [--threads N] [--trace]

  --scenario    fault family (happy, lossy, partition, crash, equivocation, double-vote, twins,
                invalid-signatures, flood, mixed, epochs, twins-beyond-f) or all (default: all)
  --validators  4, 7, 10 or all: all cycles through 4, 7 and 10 by seed (default: all)
  --seeds       how many consecutive seeds per scenario (default: 100)
  --start       first seed (default: 0)
  --seed        run exactly this one seed (implies --seeds 1 --start SEED)
  --threads     worker threads (default: available cores)
  --trace       print the commits and faults of each run (use with --seed)";

struct Args {
    scenarios: Vec<Scenario>,
    validators: Option<usize>,
    seeds: u64,
    start: u64,
    threads: usize,
    trace: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        scenarios: Scenario::ALL.to_vec(),
        validators: None,
        seeds: 100,
        start: 0,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        trace: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--scenario" => {
                let v = value("--scenario")?;
                args.scenarios = if v == "all" { Scenario::ALL.to_vec() } else { vec![v.parse()?] };
            }
            "--validators" => {
                let v = value("--validators")?;
                args.validators = match v.as_str() {
                    "all" => None,
                    n => Some(
                        n.parse()
                            .ok()
                            .filter(|n| (1..=100).contains(n))
                            .ok_or_else(|| format!("--validators takes a number from 1 to 100 or all, not {n:?}"))?,
                    ),
                };
            }
            "--seeds" => args.seeds = number(&value("--seeds")?, "--seeds")?,
            "--start" => args.start = number(&value("--start")?, "--start")?,
            "--seed" => {
                args.start = number(&value("--seed")?, "--seed")?;
                args.seeds = 1;
            }
            "--threads" => {
                args.threads = usize::try_from(number(&value("--threads")?, "--threads")?.max(1)).unwrap_or(1)
            }
            "--trace" => args.trace = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn number(text: &str, name: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("{name} takes a whole number, not {text:?}"))
}

fn validators_for(seed: u64, fixed: Option<usize>) -> usize {
    fixed.unwrap_or([4, 7, 10][(seed % 3) as usize])
}

/// What the runs' epoch changes covered.
#[derive(Default)]
struct EpochTotals {
    runs: u64,
    switches: usize,
    by_fetching: usize,
    proposer_removed: usize,
    byzantine_removed: usize,
}

impl EpochTotals {
    fn add(&mut self, report: &Report) {
        if report.switches.is_empty() {
            return;
        }
        self.runs += 1;
        self.switches += report.switches.len();
        self.by_fetching += report.switched_by_fetching.len();
        self.proposer_removed += report.switches.iter().filter(|s| s.proposer_removed).count();
        self.byzantine_removed += report.switches.iter().filter(|s| s.byzantine_removed).count();
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}\n");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    let jobs: Vec<(Scenario, u64)> = args
        .scenarios
        .iter()
        .flat_map(|s| (args.start..args.start.saturating_add(args.seeds)).map(move |seed| (*s, seed)))
        .collect();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<Report>> = Mutex::new(Vec::new());
    let totals = Mutex::new((0u64, 0u64, 0u64, 0usize)); // runs, blocks, virtual ms, evidence
    let epochs = Mutex::new(EpochTotals::default());
    let per_scenario: Mutex<std::collections::BTreeMap<Scenario, (u64, u64)>> = Mutex::default();
    std::thread::scope(|scope| {
        for _ in 0..args.threads.min(jobs.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((scenario, seed)) = jobs.get(i).copied() else { break };
                let n = validators_for(seed, args.validators);
                let report = Simulation::new(scenario, n, seed).with_tracing(args.trace).run();
                if args.trace {
                    for line in &report.log {
                        println!("{line}");
                    }
                    println!(
                        "{scenario} n={n} seed={seed}: epoch {}, heights {}..{}, {} events, {} ms virtual, {} evidence, trace {}",
                        report.epoch.0,
                        report.min_committed_height,
                        report.max_committed_height,
                        report.events,
                        report.virtual_ms,
                        report.evidence,
                        report.trace_hash
                    );
                }
                if let Ok(mut t) = totals.lock() {
                    t.0 += 1;
                    t.1 += report.min_committed_height;
                    t.2 += report.virtual_ms;
                    t.3 += report.evidence;
                }
                if let Ok(mut e) = epochs.lock() {
                    e.add(&report);
                }
                if let Ok(mut p) = per_scenario.lock() {
                    let entry = p.entry(scenario).or_default();
                    entry.0 += 1;
                    entry.1 += u64::from(!report.violations.is_empty());
                }
                if !report.violations.is_empty()
                    && let Ok(mut f) = failures.lock()
                {
                    f.push(report);
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (runs, blocks, virtual_ms, evidence) = totals.into_inner().unwrap_or_default();
    let failures = failures.into_inner().unwrap_or_default();
    println!("scenario              runs  failed");
    for (scenario, (count, failed)) in per_scenario.into_inner().unwrap_or_default() {
        println!("{:<20} {count:>6} {failed:>7}", scenario.name());
    }
    println!(
        "{runs} runs, {} with violations, in {elapsed:.1} s ({:.1} seeds/s on {} threads); \
         {blocks} blocks committed (lowest honest height per run, summed), {:.0} s virtual, {evidence} evidence",
        failures.len(),
        runs as f64 / elapsed.max(1e-9),
        args.threads,
        virtual_ms as f64 / 1000.0
    );
    let epochs = epochs.into_inner().unwrap_or_default();
    if epochs.switches > 0 {
        println!(
            "epoch changes: {} in {} runs; {} replicas switched on fetched blocks; {} removed the proposer of the \
             epoch's last block, {} removed a Byzantine validator",
            epochs.switches, epochs.runs, epochs.by_fetching, epochs.proposer_removed, epochs.byzantine_removed
        );
    }
    for report in failures.iter().take(20) {
        println!("\nFAILED {} n={} seed={}: {:?}", report.scenario, report.validators, report.seed, report.violations);
        println!("  replay: {}", report.replay_command());
    }
    if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
