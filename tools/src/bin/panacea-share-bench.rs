//! `panacea-share-bench`: measures the data plane of a running local consortium: the time
//! from an access request submitted to the document available at the requester's node,
//! and transfer throughput.
//!
//! ```text
//! panacea-share-bench --consortium .panacea-local --size 1048576 --count 50
//! ```
//!
//! Setup (not measured): a staff member of hospital-0 (the custodian) and a physician of
//! hospital-1 (the requester) are registered, a fresh pseudonymous patient's opt-in
//! consent is recorded, and `warmup + count` documents of `size` bytes are stored at
//! hospital-0 and registered on chain. Then, one at a time, the physician asks for one
//! document through hospital-1's node and the tool times:
//!
//! - submit to committed (the request's decision, as hospital-1's node reports it);
//! - committed to available (the delivery received in full and stored at hospital-1, so
//!   the API serves it), polled every 10 ms;
//! - the SDK's download of it (open, decrypt, verify the commitment).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use panacea_client_sdk::types::TxState;
use panacea_client_sdk::{Client, ClientError, RequestSigner};
use panacea_contracts::access::AccessCall;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::ConsentCall;
use panacea_contracts::document::DocumentCall;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{DecisionId, DocumentHash, OrgId, PatientRef};
use panacea_contracts::{Call, SignedTransaction, Transaction};
use panacea_primitives::{ChainId, Hash, Keypair};
use panacea_tools::local::percentile_ms;
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(name = "panacea-share-bench", about = "Data-plane benchmark for a running Panacea consortium")]
struct Args {
    /// The consortium's data folder (node0, node1, ... as `panacea-node testnet` writes).
    #[arg(long, default_value = ".panacea-local")]
    consortium: PathBuf,
    /// Document size in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    size: usize,
    /// Measured deliveries.
    #[arg(long, default_value_t = 50)]
    count: usize,
    /// Deliveries before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    document_bytes: usize,
    deliveries: usize,
    request_to_available_ms_p50: f64,
    request_to_available_ms_p90: f64,
    request_to_available_ms_p99: f64,
    request_to_available_ms_max: f64,
    request_to_committed_ms_p50: f64,
    committed_to_available_ms_p50: f64,
    committed_to_available_ms_p99: f64,
    /// Document bytes over committed-to-available time, median delivery.
    transfer_mb_per_s_p50: f64,
    /// Document bytes over the SDK's download time (open, decrypt, verify), median.
    download_mb_per_s_p50: f64,
}

/// Signs transactions of one key with consecutive nonces.
struct Sender {
    key: Keypair,
    nonce: u64,
    chain_id: ChainId,
}

impl Sender {
    async fn new(client: &Client, key: Keypair, chain_id: &ChainId) -> anyhow::Result<Sender> {
        let nonce = client.next_nonce(&key.public()).await?;
        Ok(Sender { key, nonce, chain_id: chain_id.clone() })
    }

    fn tx(&mut self, call: Call) -> SignedTransaction {
        let tx = Transaction { chain_id: self.chain_id.clone(), signer: self.key.public(), nonce: self.nonce, call }
            .sign(&self.key);
        self.nonce += 1;
        tx
    }
}

async fn commit(client: &Client, tx: &SignedTransaction) -> anyhow::Result<()> {
    let status = client.submit_and_wait(tx, Duration::from_secs(60)).await?;
    if status.status != TxState::Committed || !status.receipt.as_ref().is_some_and(|r| r.is_ok()) {
        bail!("transaction {} did not commit successfully: {status:?}", tx.id());
    }
    Ok(())
}

fn seeded(run: &Hash, label: &str) -> [u8; 32] {
    Hash::digest_parts(&[b"panacea-share-bench", run.as_bytes(), label.as_bytes()]).0
}

#[tokio::main]
#[allow(clippy::print_stdout, reason = "progress for the operator")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.size == 0 || args.count == 0 {
        bail!("--size and --count must be positive");
    }
    let (chain_id, nodes) = panacea_tools::local::discover(&args.consortium).await?;
    if nodes.len() < 2 {
        bail!("the consortium needs at least two hospitals");
    }
    let custodian = nodes[0].client.clone().context("node0 (the custodian) is not running")?;
    let requester = nodes[1].client.clone().context("node1 (the requester) is not running")?;
    // Fresh identities and patient per run, so runs do not interfere.
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let run = Hash::digest_parts(&[&started.to_le_bytes(), &std::process::id().to_le_bytes()]);
    let clerk = Keypair::from_seed(seeded(&run, "clerk"));
    let physician = Keypair::from_seed(seeded(&run, "physician"));
    let patient = PatientRef(Hash(seeded(&run, "patient")));

    println!("setting up: identities, consent, {} documents of {} bytes", args.warmup + args.count, args.size);
    let mut admin0 = Sender::new(&custodian, nodes[0].admin.clone(), &chain_id).await?;
    let mut admin1 = Sender::new(&requester, nodes[1].admin.clone(), &chain_id).await?;
    let staff = |key: &Keypair| {
        Call::Identity(IdentityCall::Register {
            key: key.public(),
            kind: IdentityKind::Staff { role: StaffRole::Physician },
        })
    };
    commit(&custodian, &admin0.tx(staff(&clerk))).await?;
    commit(&requester, &admin1.tx(staff(&physician))).await?;
    let fhir = include_str!("../../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    let mut terms = panacea_contracts::fhir::consent::import(fhir).context("the consent template")?.terms;
    terms.patient = patient;
    let mut clerk_tx = Sender::new(&custodian, clerk, &chain_id).await?;
    let form = Some(DocumentHash(Hash(seeded(&run, "form"))));
    commit(&custodian, &clerk_tx.tx(Call::Consent(ConsentCall::Record { terms, form_hash: form }))).await?;
    let uploader = RequestSigner::new(nodes[0].admin.clone(), chain_id.clone());
    let mut documents = Vec::new();
    let mut registrations = Vec::new();
    for i in 0..args.warmup + args.count {
        let mut content = vec![0u8; args.size];
        for (j, block) in content.chunks_mut(32).enumerate() {
            let fill = seeded(&run, &format!("document {i} block {j}"));
            block.copy_from_slice(&fill[..block.len()]);
        }
        let document = custodian.upload_document(&uploader, &patient, DataClass::Imaging, content).await?;
        let register = admin0.tx(Call::Document(DocumentCall::Register {
            document,
            patient,
            data_class: DataClass::Imaging,
            resource_type: None,
        }));
        custodian.submit(&register).await?;
        registrations.push(register);
        documents.push(document);
    }
    for register in &registrations {
        commit(&custodian, register).await?;
    }

    let reader = RequestSigner::new(physician.clone(), chain_id.clone());
    let mut physician_tx = Sender::new(&requester, physician.clone(), &chain_id).await?;
    let custodian_org = OrgId::new("hospital-0")?;
    let (mut total, mut to_commit, mut fetch, mut download) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, document) in documents.iter().enumerate() {
        let request = physician_tx.tx(Call::Access(AccessCall::Request {
            patient,
            data_class: DataClass::Imaging,
            resource_type: None,
            purpose: Purpose::Treatment,
            custodian: custodian_org.clone(),
            document: Some(*document),
            data_time: None,
            justification: None,
        }));
        let decision = DecisionId(request.id());
        let began = Instant::now();
        commit(&requester, &request).await?;
        let committed = Instant::now();
        wait_available(&requester, &reader, &decision, document).await?;
        let available = Instant::now();
        let received =
            requester.download_delivery(&reader, &physician, &decision, document, &mut std::io::sink()).await?;
        if received != args.size as u64 {
            bail!("delivery {i} has {received} bytes, not {}", args.size);
        }
        if i >= args.warmup {
            total.push(available - began);
            to_commit.push(committed - began);
            fetch.push(available - committed);
            download.push(available.elapsed());
        }
    }
    for samples in [&mut total, &mut to_commit, &mut fetch, &mut download] {
        samples.sort();
    }
    let megabytes = args.size as f64 / 1e6;
    let rate = |sorted: &[Duration]| {
        let ms = percentile_ms(sorted, 50);
        if ms > 0.0 { megabytes / (ms / 1000.0) } else { 0.0 }
    };
    let report = Report {
        document_bytes: args.size,
        deliveries: total.len(),
        request_to_available_ms_p50: percentile_ms(&total, 50),
        request_to_available_ms_p90: percentile_ms(&total, 90),
        request_to_available_ms_p99: percentile_ms(&total, 99),
        request_to_available_ms_max: total.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        request_to_committed_ms_p50: percentile_ms(&to_commit, 50),
        committed_to_available_ms_p50: percentile_ms(&fetch, 50),
        committed_to_available_ms_p99: percentile_ms(&fetch, 99),
        transfer_mb_per_s_p50: rate(&fetch),
        download_mb_per_s_p50: rate(&download),
    };
    print_report(&report);
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

/// Polls hospital-1's node every 10 ms until the delivery is there in full.
async fn wait_available(
    client: &Client,
    reader: &RequestSigner,
    decision: &DecisionId,
    document: &DocumentHash,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match client.delivery(reader, decision, document).await {
            Ok(view) if view.state == "received" || view.state == "confirmed" => return Ok(()),
            Ok(view) if view.state.starts_with("refused") => bail!("the custodian refused: {}", view.state),
            // Not tracked yet (404), in progress, or polled too fast (429): poll again.
            Ok(_) | Err(ClientError::Api { status: 404 | 429, .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if Instant::now() > deadline {
            bail!("delivery {decision} did not arrive within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[allow(clippy::print_stdout, reason = "the report")]
fn print_report(r: &Report) {
    println!("document          {:>10} bytes, {} deliveries measured", r.document_bytes, r.deliveries);
    println!(
        "request→available p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        r.request_to_available_ms_p50,
        r.request_to_available_ms_p90,
        r.request_to_available_ms_p99,
        r.request_to_available_ms_max
    );
    println!("request→committed p50 {:.1} ms", r.request_to_committed_ms_p50);
    println!(
        "committed→available p50 {:.1} ms  p99 {:.1} ms",
        r.committed_to_available_ms_p50, r.committed_to_available_ms_p99
    );
    println!(
        "transfer {:.1} MB/s (node to node, median)   SDK download {:.1} MB/s",
        r.transfer_mb_per_s_p50, r.download_mb_per_s_p50
    );
}
