//! `panacea-bench`: offers a fixed, open-loop rate of signed transactions to a running
//! consortium and measures committed transactions per second and end-to-end latency
//! (submit to committed on the receiving node).
//!
//! ```text
//! panacea-bench --consortium .panacea-local --rate 200 --duration 30 --warmup 5
//! ```
//!
//! The workload: every hospital's admin registers new staff identities, one nonce stream
//! per organisation, spread over the nodes. Each transaction is sent at its scheduled
//! time with `wait=true`; its latency ends when the node answers "committed". A
//! transaction that cannot be sent on time (too many in flight) counts as a miss.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use panacea_client_sdk::Client;
use panacea_client_sdk::types::TxState;
use panacea_contracts::codes::StaffRole;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::{Call, SignedTransaction, Transaction};
use panacea_primitives::Keypair;
use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};

#[derive(Parser, Debug)]
#[command(name = "panacea-bench", about = "Load generator for a running Panacea consortium")]
struct Args {
    /// The consortium's data folder (node0, node1, ... as `panacea-node testnet` writes).
    #[arg(long, default_value = ".panacea-local")]
    consortium: PathBuf,
    /// Offered transactions per second.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Seconds of measurement after warm-up.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds of warm-up (sent, not measured).
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Most transactions in flight; one that would exceed it counts as a miss.
    #[arg(long, default_value_t = 20_000)]
    in_flight: usize,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    offered_tps: u64,
    duration_s: u64,
    sent: u64,
    committed: u64,
    committed_tps: f64,
    failed: u64,
    failure_reasons: std::collections::BTreeMap<String, u64>,
    missed: u64,
    latency_ms_p50: f64,
    latency_ms_p90: f64,
    latency_ms_p99: f64,
    latency_ms_max: f64,
}

struct Signer {
    key: Keypair,
    next_nonce: u64,
}

#[derive(Default)]
struct Results {
    latencies: Vec<Duration>,
    failed: u64,
    /// Why transactions failed: the API's error code, `pending` (not committed within
    /// the wait), `rejected` (committed with a failed receipt) or `transport`.
    reasons: std::collections::BTreeMap<String, u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.rate == 0 || args.duration == 0 {
        bail!("--rate and --duration must be positive");
    }
    let (chain_id, nodes) = panacea_tools::local::discover(&args.consortium).await?;
    // Load goes to the validators that answer; a stopped node is skipped.
    let clients: Vec<Client> = nodes.iter().filter(|n| n.validator).filter_map(|n| n.client.clone()).collect();
    if clients.is_empty() {
        bail!("no running validator found in {}", args.consortium.display());
    }
    let admins: Vec<Keypair> = nodes.into_iter().map(|n| n.admin).collect();
    let mut signers = Vec::new();
    for key in admins {
        let next_nonce = clients[0].next_nonce(&key.public()).await?;
        signers.push(Arc::new(Mutex::new(Signer { key, next_nonce })));
    }
    let results = Arc::new(Mutex::new(Results::default()));
    let slots = Arc::new(Semaphore::new(args.in_flight));
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let end = measure_from + Duration::from_secs(args.duration);
    let (mut sent, mut missed) = (0u64, 0u64);
    let mut tasks = Vec::new();
    let mut next = start;
    let mut n = 0usize;
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        next += interval;
        n += 1;
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            if next > measure_from {
                missed += 1;
            }
            continue;
        };
        let signer = signers[n % signers.len()].clone();
        let tx = {
            let mut s = signer.lock().await;
            let nonce = s.next_nonce;
            s.next_nonce += 1;
            register_tx(&chain_id, &s.key, nonce)
        };
        let client = clients[n % clients.len()].clone();
        let results = results.clone();
        let measured = Instant::now() >= measure_from;
        if measured {
            sent += 1;
        }
        tasks.push(tokio::spawn(async move {
            let began = Instant::now();
            let outcome = client.submit_and_wait(&tx, Duration::from_secs(60)).await;
            drop(permit);
            if !measured {
                return;
            }
            let mut r = results.lock().await;
            let reason = match outcome {
                Ok(status) if status.status == TxState::Committed => {
                    if status.receipt.as_ref().is_some_and(|receipt| receipt.is_ok()) {
                        r.latencies.push(began.elapsed());
                        return;
                    }
                    "rejected".to_string()
                }
                Ok(_) => "pending".to_string(),
                Err(e) => e.code().unwrap_or("transport").to_string(),
            };
            r.failed += 1;
            *r.reasons.entry(reason).or_default() += 1;
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = Duration::from_secs(args.duration);
    let mut r = results.lock().await;
    r.latencies.sort();
    let committed = r.latencies.len() as u64;
    let report = Report {
        offered_tps: args.rate,
        duration_s: args.duration,
        sent,
        committed,
        committed_tps: committed as f64 / elapsed.as_secs_f64(),
        failed: r.failed,
        failure_reasons: r.reasons.clone(),
        missed,
        latency_ms_p50: panacea_tools::local::percentile_ms(&r.latencies, 50),
        latency_ms_p90: panacea_tools::local::percentile_ms(&r.latencies, 90),
        latency_ms_p99: panacea_tools::local::percentile_ms(&r.latencies, 99),
        latency_ms_max: r.latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    };
    print_report(&report);
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

fn register_tx(chain_id: &panacea_primitives::ChainId, admin: &Keypair, nonce: u64) -> SignedTransaction {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&nonce.to_le_bytes());
    seed[8..16].copy_from_slice(&admin.public().to_bytes()[..8]);
    seed[16] = 0xBE;
    let staff = Keypair::from_seed(seed).public();
    let call =
        Call::Identity(IdentityCall::Register { key: staff, kind: IdentityKind::Staff { role: StaffRole::Physician } });
    Transaction { chain_id: chain_id.clone(), signer: admin.public(), nonce, call }.sign(admin)
}

#[allow(clippy::print_stdout, reason = "the report")]
fn print_report(r: &Report) {
    println!("offered     {:>8} tx/s for {} s", r.offered_tps, r.duration_s);
    println!("sent        {:>8}", r.sent);
    println!("committed   {:>8}  ({:.1} tx/s)", r.committed, r.committed_tps);
    println!("failed      {:>8}  {:?}", r.failed, r.failure_reasons);
    println!("missed      {:>8}  (client could not keep the rate)", r.missed);
    println!(
        "latency ms  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        r.latency_ms_p50, r.latency_ms_p90, r.latency_ms_p99, r.latency_ms_max
    );
}
