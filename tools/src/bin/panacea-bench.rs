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
//!
//! With `--batch N`, each request carries N transactions of one signer
//! (`POST /v1/transactions/batch?wait=true`), one request every N / rate seconds; every
//! transaction of a batch gets the batch's latency (sent to all committed).
//!
//! `--workload consents` instead registers `--signers` clerks (spread over the hospitals)
//! and has them record patients' opt-in consents (a FHIR Consent per transaction, for a
//! fresh pseudonymous patient each). Each clerk has one request in flight at a time, and
//! re-reads its nonce after a refusal, so overload shows as refusals and misses rather
//! than as nonce gaps that strand every later transaction of a signer (which the
//! registrations workload, with one open-loop stream per admin, suffers past saturation).
//!
//! `--workload mix` is the realistic mix: the same clerks (physicians of every member)
//! record opt-in consents (about half of the transactions), request access to patients
//! whose consent another member recorded (about a third: the decision is executed and
//! audited), and revoke consents their own organisation recorded (about a sixth); beside
//! them, auditors' signed audit queries by patient run at `--audit-rate` per second and
//! are reported apart.
//!
//! `--workload ordering` is the consensus-only benchmark: against a consortium generated
//! with `panacea-node testnet --ordering-only`, it sends batches of `--batch` opaque
//! transactions of `--tx-bytes` random (incompressible) bytes each to the validators in
//! turn (`POST /v1/ordering/batches?wait=true`); nothing is signed or executed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use panacea_client_sdk::Client;
use panacea_client_sdk::types::AuditQuery;
use panacea_client_sdk::types::{TxState, TxStatus};
use panacea_contracts::access::AccessCall;
use panacea_contracts::codes::StaffRole;
use panacea_contracts::codes::{DataClass, Purpose};
use panacea_contracts::consent::{ConsentCall, ConsentTerms};
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{ConsentId, DocumentHash, OrgId, PatientRef};
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
    /// Transactions per request: 1 sends each with `POST /v1/transactions?wait=true`; more
    /// sends batches with `POST /v1/transactions/batch?wait=true` (one signer per batch).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// `registrations` (admins register staff) or `consents` (clerks record consents).
    #[arg(long, default_value = "registrations")]
    workload: Workload,
    /// Clerks for the consents workload.
    #[arg(long, default_value_t = 64)]
    signers: usize,
    /// Signed audit queries by patient per second (the mix workload; default: rate / 20).
    #[arg(long)]
    audit_rate: Option<u64>,
    /// Bytes per opaque transaction (the ordering workload).
    #[arg(long, default_value_t = 512)]
    tx_bytes: usize,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Workload {
    Registrations,
    Consents,
    Mix,
    Ordering,
}

#[derive(Debug, Serialize)]
struct Report {
    workload: String,
    batch: usize,
    offered_tps: u64,
    duration_s: u64,
    sent: u64,
    committed: u64,
    committed_tps: f64,
    failed: u64,
    failure_reasons: std::collections::BTreeMap<String, u64>,
    missed: u64,
    /// The mix: committed grants, access requests and revocations, in that order.
    #[serde(skip_serializing_if = "Option::is_none")]
    mix_committed: Option<[u64; 3]>,
    /// The mix's audit queries: answered, failed, p50 and p99 ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    audit_queries: Option<AuditReport>,
    latency_ms_p50: f64,
    latency_ms_p90: f64,
    latency_ms_p99: f64,
    latency_ms_max: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct AuditReport {
    answered: u64,
    failed: u64,
    latency_ms_p50: f64,
    latency_ms_p99: f64,
}

/// What the mix workload shares: the members, and the consents committed so far.
struct Mix {
    orgs: Vec<OrgId>,
    /// Committed, unrevoked consents by the recording clerk's organisation (bounded).
    consents: std::sync::Mutex<Vec<std::collections::VecDeque<(PatientRef, ConsentId)>>>,
    /// Committed grants, access requests and revocations in the measured window.
    committed: std::sync::Mutex<[u64; 3]>,
}

/// Consents remembered per organisation.
const MIX_CONSENTS_KEPT: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MixKind {
    Grant,
    Access,
    Revoke,
}

struct Signer {
    key: Keypair,
    /// Index of its organisation (the admin that registered it).
    org: usize,
    next_nonce: u64,
    /// The node it sends to.
    client: Client,
}

#[derive(Default)]
struct Results {
    latencies: Vec<Duration>,
    failed: u64,
    /// Why transactions failed: the API's error code, `pending` (not committed within
    /// the wait), `rejected` (committed with a failed receipt) or `transport`.
    reasons: std::collections::BTreeMap<String, u64>,
    /// The mix's committed counts by kind.
    mix: Option<[u64; 3]>,
    /// The mix's audit queries.
    audit: Option<AuditReport>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.rate == 0 || args.duration == 0 {
        bail!("--rate and --duration must be positive");
    }
    let batch_max = match args.workload {
        Workload::Ordering => 100_000,
        _ => panacea_client_sdk::types::BATCH_TRANSACTIONS_MAX,
    };
    if args.batch == 0 || args.batch > batch_max {
        bail!("--batch must be between 1 and {batch_max}");
    }
    let (chain_id, nodes) = panacea_tools::local::discover(&args.consortium).await?;
    // Load goes to the validators that answer; a stopped node is skipped.
    let clients: Vec<Client> = nodes.iter().filter(|n| n.validator).filter_map(|n| n.client.clone()).collect();
    if clients.is_empty() {
        bail!("no running validator found in {}", args.consortium.display());
    }
    if args.workload == Workload::Ordering {
        let (sent, missed, results) = ordering_load(&args, &clients).await?;
        return finish(&args, sent, missed, &results).await;
    }
    let admins: Vec<Keypair> = nodes.into_iter().map(|n| n.admin).collect();
    let orgs = organisations(&args.consortium, &admins)?;
    let keys: Vec<Keypair> = match args.workload {
        Workload::Consents | Workload::Mix => register_clerks(&chain_id, &admins, &clients, args.signers).await?,
        Workload::Registrations | Workload::Ordering => admins.clone(),
    };
    // Registrations: one open-loop stream per admin. Consents: one request per clerk at a time.
    let per_signer = match args.workload {
        Workload::Consents | Workload::Mix => 1,
        Workload::Registrations | Workload::Ordering => Semaphore::MAX_PERMITS,
    };
    let mut signers = Vec::new();
    let mut clerks_by_org: Vec<Vec<Keypair>> = vec![Vec::new(); admins.len()];
    for (i, key) in keys.into_iter().enumerate() {
        let client = clients[i % clients.len()].clone();
        let next_nonce = client.next_nonce(&key.public()).await?;
        // Clerk i was registered by admin i mod admins (`register_clerks`).
        let org = i % admins.len();
        clerks_by_org[org].push(key.clone());
        signers.push((
            Arc::new(Semaphore::new(per_signer)),
            Arc::new(Mutex::new(Signer { key, org, next_nonce, client })),
        ));
    }
    let mix = Arc::new(Mix {
        consents: std::sync::Mutex::new(vec![std::collections::VecDeque::new(); orgs.len()]),
        orgs,
        committed: std::sync::Mutex::new([0; 3]),
    });
    let template = consent_template()?;
    let results = Arc::new(Mutex::new(Results::default()));
    let slots = Arc::new(Semaphore::new(args.in_flight));
    let (interval, start, measure_from, end) = schedule(args.batch, &args);
    let audits = (args.workload == Workload::Mix).then(|| {
        let rate = args.audit_rate.unwrap_or(args.rate / 20).max(1);
        let (clients, mix, chain_id) = (clients.clone(), mix.clone(), chain_id.clone());
        tokio::spawn(audit_load(rate, clients, clerks_by_org, mix, chain_id, measure_from, end))
    });
    let (mut sent, mut missed) = (0u64, 0u64);
    let mut tasks = Vec::new();
    let mut next = start;
    let mut n = 0usize;
    let size = u32::try_from(args.batch)?;
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        next += interval;
        n += 1;
        let measured = Instant::now() >= measure_from;
        // The next signer free to send, round robin.
        let free = (0..signers.len()).find_map(|k| {
            let (busy, signer) = &signers[(n + k) % signers.len()];
            busy.clone().try_acquire_owned().ok().map(|own| (own, signer.clone()))
        });
        let (Some((own, signer)), Ok(permit)) = (free, slots.clone().try_acquire_many_owned(size)) else {
            if measured {
                missed += args.batch as u64;
            }
            continue;
        };
        // Nonces are taken here, in order; signing happens in the request's task.
        let (key, org, first, client) = {
            let mut s = signer.lock().await;
            let first = s.next_nonce;
            s.next_nonce += args.batch as u64;
            (s.key.clone(), s.org, first, s.client.clone())
        };
        let mix = mix.clone();
        let results = results.clone();
        let chain_id = chain_id.clone();
        let batch = args.batch;
        let workload = args.workload;
        let template = template.clone();
        if measured {
            sent += batch as u64;
        }
        tasks.push(tokio::spawn(async move {
            let (txs, kinds): (Vec<SignedTransaction>, Vec<Option<MixKind>>) = (first..first + batch as u64)
                .map(|nonce| match workload {
                    Workload::Consents => (consent_tx(&chain_id, &key, nonce, &template), None),
                    Workload::Mix => {
                        let (tx, kind) = mix_tx(&chain_id, &key, org, nonce, &template, &mix);
                        (tx, Some(kind))
                    }
                    Workload::Registrations | Workload::Ordering => (register_tx(&chain_id, &key, nonce), None),
                })
                .unzip();
            let began = Instant::now();
            let wait = Duration::from_secs(60);
            let outcomes: Vec<Result<TxStatus, String>> = if batch == 1 {
                vec![
                    client
                        .submit_and_wait(&txs[0], wait)
                        .await
                        .map_err(|e| e.code().unwrap_or("transport").to_string()),
                ]
            } else {
                match client.submit_batch(&txs, Some(wait)).await {
                    Ok(items) => items
                        .into_iter()
                        .map(|item| match (item.status, item.error) {
                            (Some(status), _) => Ok(status),
                            (None, Some(error)) => Err(error.code),
                            (None, None) => Err("empty".into()),
                        })
                        .collect(),
                    Err(e) => vec![Err(e.code().unwrap_or("transport").to_string()); batch],
                }
            };
            let elapsed = began.elapsed();
            drop(permit);
            // After a refusal, later nonces would wait behind a gap: start again from the
            // node's view (a consents clerk has nothing else in flight).
            if per_signer == 1 && outcomes.iter().any(|o| o.is_err()) {
                let mut s = signer.lock().await;
                if let Ok(next) = client.next_nonce(&key.public()).await {
                    s.next_nonce = next;
                }
            }
            drop(own);
            // The mix learns of committed grants (to request access to and revoke later).
            for ((tx, kind), outcome) in txs.iter().zip(&kinds).zip(&outcomes) {
                let Some(kind) = kind else { continue };
                let ok = outcome.as_ref().is_ok_and(|s| {
                    s.status == TxState::Committed && s.receipt.as_ref().is_some_and(|receipt| receipt.is_ok())
                });
                if !ok {
                    continue;
                }
                if *kind == MixKind::Grant
                    && let Call::Consent(ConsentCall::Record { terms, .. }) = &tx.tx.call
                    && let Ok(mut consents) = mix.consents.lock()
                {
                    let own = &mut consents[org];
                    if own.len() >= MIX_CONSENTS_KEPT {
                        own.pop_front();
                    }
                    own.push_back((terms.patient, ConsentId(tx.id())));
                }
                if measured && let Ok(mut committed) = mix.committed.lock() {
                    committed[*kind as usize] += 1;
                }
            }
            if !measured {
                return;
            }
            let mut r = results.lock().await;
            for outcome in outcomes {
                let reason = match outcome {
                    Ok(status) if status.status == TxState::Committed => {
                        if status.receipt.as_ref().is_some_and(|receipt| receipt.is_ok()) {
                            r.latencies.push(elapsed);
                            continue;
                        }
                        "rejected".to_string()
                    }
                    Ok(_) => "pending".to_string(),
                    Err(code) => code,
                };
                r.failed += 1;
                *r.reasons.entry(reason).or_default() += 1;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut results = results.lock().await;
    if let Some(audits) = audits {
        results.audit = Some(audits.await?);
        results.mix = mix.committed.lock().ok().map(|c| *c);
    }
    finish(&args, sent, missed, &results).await
}

/// The run's clock: one request of `batch` transactions per interval; when it starts,
/// when measurement starts (after the warm-up) and when sending ends.
fn schedule(batch: usize, args: &Args) -> (Duration, Instant, Instant, Instant) {
    let interval = Duration::from_secs_f64(batch as f64 / args.rate as f64);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    (interval, start, measure_from, measure_from + Duration::from_secs(args.duration))
}

/// The members' organisation ids, in the order of the admins (node homes).
fn organisations(consortium: &std::path::Path, admins: &[Keypair]) -> anyhow::Result<Vec<OrgId>> {
    let home = panacea_node::config::Home(consortium.join("node0"));
    let genesis: panacea_contracts::membership::Genesis =
        serde_json::from_str(&std::fs::read_to_string(home.genesis())?)?;
    admins
        .iter()
        .map(|admin| {
            genesis
                .organisations
                .iter()
                .find(|org| org.admin_keys.contains(&admin.public()))
                .map(|org| org.id.clone())
                .ok_or_else(|| anyhow::anyhow!("an admin key of the consortium is in no organisation of genesis"))
        })
        .collect()
}

/// One transaction of the mix for clerk `key` of organisation `org`: about half grants,
/// a third access requests to another member's patients, a sixth revocations of its own
/// organisation's consents (a grant while there is nothing to request or revoke).
fn mix_tx(
    chain_id: &panacea_primitives::ChainId,
    key: &Keypair,
    org: usize,
    nonce: u64,
    template: &ConsentTerms,
    mix: &Mix,
) -> (SignedTransaction, MixKind) {
    let pick = usize::from_le_bytes(
        panacea_primitives::Hash::digest_parts(&[b"bench-mix", &key.public().to_bytes(), &nonce.to_le_bytes()]).0[..8]
            .try_into()
            .unwrap_or([0; 8]),
    );
    let roll = pick % 6;
    let call = if let Ok(mut consents) = mix.consents.lock() {
        match roll {
            // A third: a physician asks for another member's patient's lab results.
            3 | 4 => {
                let others: Vec<usize> =
                    (0..consents.len()).filter(|o| *o != org && !consents[*o].is_empty()).collect();
                others.get((pick / 6) % others.len().max(1)).and_then(|custodian| {
                    let list = &consents[*custodian];
                    let (patient, _) = list.get((pick / 36) % list.len())?;
                    Some((
                        MixKind::Access,
                        Call::Access(AccessCall::Request {
                            patient: *patient,
                            data_class: DataClass::LabResults,
                            resource_type: None,
                            purpose: Purpose::Treatment,
                            custodian: mix.orgs[*custodian].clone(),
                            document: None,
                            data_time: None,
                            justification: None,
                        }),
                    ))
                })
            }
            // A sixth: the oldest consent its organisation recorded is revoked, on the
            // patient's signed form (a custodian must name one).
            5 => consents[org].pop_front().map(|(_, consent)| {
                let form = DocumentHash(panacea_primitives::Hash::digest_parts(&[
                    b"bench-revocation-form",
                    &key.public().to_bytes(),
                    &nonce.to_le_bytes(),
                ]));
                (MixKind::Revoke, Call::Consent(ConsentCall::Revoke { consent, form_hash: Some(form) }))
            }),
            _ => None,
        }
    } else {
        None
    };
    match call {
        Some((kind, call)) => {
            (Transaction { chain_id: chain_id.clone(), signer: key.public(), nonce, call }.sign(key), kind)
        }
        None => (consent_tx(chain_id, key, nonce, template), MixKind::Grant),
    }
}

/// Auditors' signed audit queries by patient, at `rate` per second, each for a patient
/// whose consent a clerk of the querying organisation recorded; measured in the window.
async fn audit_load(
    rate: u64,
    clients: Vec<Client>,
    clerks_by_org: Vec<Vec<Keypair>>,
    mix: Arc<Mix>,
    chain_id: panacea_primitives::ChainId,
    measure_from: Instant,
    end: Instant,
) -> AuditReport {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let results = Arc::new(std::sync::Mutex::new((Vec::new(), 0u64)));
    let mut tasks = Vec::new();
    let mut next = Instant::now();
    let mut n = 0usize;
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        next += interval;
        n += 1;
        let target = mix.consents.lock().ok().and_then(|consents| {
            let orgs: Vec<usize> = (0..consents.len()).filter(|o| !consents[*o].is_empty()).collect();
            let org = *orgs.get(n % orgs.len().max(1))?;
            let list = &consents[org];
            list.get((n / orgs.len().max(1)).wrapping_mul(7919) % list.len()).map(|(patient, _)| (org, *patient))
        });
        let Some((org, patient)) = target else { continue };
        let Some(clerk) = clerks_by_org.get(org).and_then(|c| c.get(n % c.len().max(1))) else { continue };
        let signer = panacea_client_sdk::RequestSigner::new(clerk.clone(), chain_id.clone());
        let client = clients[n % clients.len()].clone();
        let measured = Instant::now() >= measure_from;
        let results = results.clone();
        tasks.push(tokio::spawn(async move {
            let query = AuditQuery { patient: Some(patient), limit: Some(50), ..AuditQuery::default() };
            let began = Instant::now();
            let outcome = client.audit_events(&signer, &query).await;
            let elapsed = began.elapsed();
            if measured && let Ok(mut r) = results.lock() {
                match outcome {
                    Ok(_) => r.0.push(elapsed),
                    Err(_) => r.1 += 1,
                }
            }
        }));
        if tasks.len() >= 1_024 {
            tasks.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let (mut latencies, failed) = results.lock().map(|r| r.clone()).unwrap_or_default();
    latencies.sort();
    AuditReport {
        answered: latencies.len() as u64,
        failed,
        latency_ms_p50: panacea_tools::local::percentile_ms(&latencies, 50),
        latency_ms_p99: panacea_tools::local::percentile_ms(&latencies, 99),
    }
}

/// The consensus-only load: batches of random opaque transactions to the validators in
/// turn, each request waiting for its commit.
async fn ordering_load(args: &Args, clients: &[Client]) -> anyhow::Result<(u64, u64, Results)> {
    if args.tx_bytes == 0 || args.tx_bytes > 64 * 1024 {
        bail!("--tx-bytes must be between 1 and 65,536");
    }
    if args.batch.saturating_mul(args.tx_bytes + 4) > panacea_primitives::OPAQUE_BATCH_BYTES_MAX {
        bail!("--batch × --tx-bytes must fit a batch of {} bytes", panacea_primitives::OPAQUE_BATCH_BYTES_MAX);
    }
    let results = Arc::new(Mutex::new(Results::default()));
    let slots = Arc::new(Semaphore::new(args.in_flight));
    let (interval, start, measure_from, end) = schedule(args.batch, args);
    let (mut sent, mut missed) = (0u64, 0u64);
    let mut tasks = Vec::new();
    let mut next = start;
    let mut n = 0u64;
    let size = u32::try_from(args.batch)?;
    // Distinct runs send distinct bytes (a batch id is its content's hash).
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() << 20;
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        next += interval;
        n += 1;
        let measured = Instant::now() >= measure_from;
        let Ok(permit) = slots.clone().try_acquire_many_owned(size) else {
            if measured {
                missed += args.batch as u64;
            }
            continue;
        };
        if measured {
            sent += args.batch as u64;
        }
        let client = clients[usize::try_from(n)? % clients.len()].clone();
        let (count, tx_bytes, results) = (args.batch, args.tx_bytes, results.clone());
        tasks.push(tokio::spawn(async move {
            // The sizes were checked against the batch limits before the run.
            let batch = random_batch(run ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15), count, tx_bytes);
            let began = Instant::now();
            let outcome = match &batch {
                Ok(batch) => client
                    .submit_opaque_batch(batch, Some(Duration::from_secs(60)))
                    .await
                    .map_err(|e| e.code().unwrap_or("transport").to_string()),
                Err(e) => Err(format!("generator: {e}")),
            };
            let elapsed = began.elapsed();
            drop(permit);
            if !measured {
                return;
            }
            let mut r = results.lock().await;
            let reason = match outcome {
                Ok(status) if status.status == TxState::Committed => {
                    r.latencies.extend(std::iter::repeat_n(elapsed, count));
                    return;
                }
                Ok(_) => "pending".to_string(),
                Err(reason) => reason,
            };
            r.failed += count as u64;
            *r.reasons.entry(reason).or_default() += count as u64;
        }));
        // Finished tasks are reaped as the run goes, so the list stays short.
        if tasks.len() >= 4_096 {
            tasks.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let results = std::mem::take(&mut *results.lock().await);
    Ok((sent, missed, results))
}

/// `count` transactions of `tx_bytes` pseudo-random bytes (xorshift64*), framed.
fn random_batch(
    seed: u64,
    count: usize,
    tx_bytes: usize,
) -> Result<panacea_primitives::OpaqueBatch, panacea_primitives::OpaqueBatchError> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(count * (tx_bytes + 4));
    let len = u32::try_from(tx_bytes).unwrap_or(u32::MAX).to_le_bytes();
    for _ in 0..count {
        bytes.extend_from_slice(&len);
        let start = bytes.len();
        while bytes.len() - start < tx_bytes {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            let take = (tx_bytes - (bytes.len() - start)).min(8);
            bytes.extend_from_slice(&word[..take]);
        }
    }
    panacea_primitives::OpaqueBatch::from_framed(bytes)
}

async fn finish(args: &Args, sent: u64, missed: u64, r: &Results) -> anyhow::Result<()> {
    let mut latencies = r.latencies.clone();
    latencies.sort();
    let elapsed = Duration::from_secs(args.duration);
    let committed = latencies.len() as u64;
    let report = Report {
        workload: format!("{:?}", args.workload).to_lowercase(),
        batch: args.batch,
        offered_tps: args.rate,
        duration_s: args.duration,
        sent,
        committed,
        committed_tps: committed as f64 / elapsed.as_secs_f64(),
        failed: r.failed,
        failure_reasons: r.reasons.clone(),
        missed,
        mix_committed: r.mix,
        audit_queries: r.audit,
        latency_ms_p50: panacea_tools::local::percentile_ms(&latencies, 50),
        latency_ms_p90: panacea_tools::local::percentile_ms(&latencies, 90),
        latency_ms_p99: panacea_tools::local::percentile_ms(&latencies, 99),
        latency_ms_max: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    };
    print_report(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

/// Registers `count` clerks, spread over the organisations, for the consents workload.
async fn register_clerks(
    chain_id: &panacea_primitives::ChainId,
    admins: &[Keypair],
    clients: &[Client],
    count: usize,
) -> anyhow::Result<Vec<Keypair>> {
    if count == 0 || count > 10_000 {
        bail!("--signers must be between 1 and 10,000");
    }
    // Fresh keys per run: a clerk registered by an earlier run would be refused.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos().to_le_bytes();
    let clerks: Vec<Keypair> = (0..count)
        .map(|i| {
            Keypair::from_seed(panacea_primitives::Hash::digest_parts(&[b"bench-clerk", &run, &i.to_le_bytes()]).0)
        })
        .collect();
    for (a, admin) in admins.iter().enumerate() {
        let client = &clients[a % clients.len()];
        let mut nonce = client.next_nonce(&admin.public()).await?;
        let mine: Vec<&Keypair> = clerks.iter().skip(a).step_by(admins.len()).collect();
        for chunk in mine.chunks(500) {
            let txs: Vec<SignedTransaction> = chunk
                .iter()
                .map(|clerk| {
                    let call = Call::Identity(IdentityCall::Register {
                        key: clerk.public(),
                        kind: IdentityKind::Staff { role: StaffRole::Physician },
                    });
                    let tx = Transaction { chain_id: chain_id.clone(), signer: admin.public(), nonce, call };
                    nonce += 1;
                    tx.sign(admin)
                })
                .collect();
            for item in client.submit_batch(&txs, Some(Duration::from_secs(60))).await? {
                if item.status.as_ref().is_none_or(|s| s.status != TxState::Committed) {
                    bail!("registering the clerks failed: {item:?}");
                }
            }
        }
    }
    Ok(clerks)
}

/// The terms every consent of the workload records (its patient replaced per transaction).
fn consent_template() -> anyhow::Result<ConsentTerms> {
    let fhir = include_str!("../../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    Ok(panacea_contracts::fhir::consent::import(fhir).map_err(|e| anyhow::anyhow!("the consent template: {e}"))?.terms)
}

/// A clerk records an opt-in consent for a fresh pseudonymous patient.
fn consent_tx(
    chain_id: &panacea_primitives::ChainId,
    clerk: &Keypair,
    nonce: u64,
    template: &ConsentTerms,
) -> SignedTransaction {
    let id = clerk.public().to_bytes();
    let mut terms = template.clone();
    terms.patient = PatientRef(panacea_primitives::Hash::digest_parts(&[b"bench-patient", &id, &nonce.to_le_bytes()]));
    let form = DocumentHash(panacea_primitives::Hash::digest_parts(&[b"bench-form", &id, &nonce.to_le_bytes()]));
    let call = Call::Consent(ConsentCall::Record { terms, form_hash: Some(form) });
    Transaction { chain_id: chain_id.clone(), signer: clerk.public(), nonce, call }.sign(clerk)
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
    if let Some([grants, access, revocations]) = r.mix_committed {
        println!("mix         {grants} grants, {access} access requests, {revocations} revocations committed");
    }
    if let Some(a) = r.audit_queries {
        println!(
            "audit       {} queries answered, {} failed; p50 {:.1} ms  p99 {:.1} ms",
            a.answered, a.failed, a.latency_ms_p50, a.latency_ms_p99
        );
    }
}
