//! The PostgreSQL analytics sink against a real PostgreSQL (Debian's, in a temporary
//! cluster started by `testnet/postgres.sh` as a non-root user): consents, accesses
//! (permit, deny, break-glass), a review and registrations are mirrored while PostgreSQL
//! is stopped, started and restarted mid-stream and the node is killed with SIGKILL and
//! restarted; afterwards the tables equal the chain (read from the node's own storage):
//! every block once, every transaction, audit event, decision and consent version, and the
//! example queries of `docs/analytics-queries.sql` give the expected answers.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Consortium, commit, eventually, metric};
use panacea_contracts::Call;
use panacea_contracts::access::{AccessCall, DecisionOutcome, ReviewOutcome};
use panacea_contracts::audit::AuditKind;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::{
    ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType, Verification,
};
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{ConsentId, DecisionId, DocumentHash, OrgId, PatientRef};
use panacea_node::payload::BlockBody;
use panacea_node::storage::Storage;
use panacea_primitives::{Hash, Height, Keypair};

/// A PostgreSQL cluster in a temporary folder, stopped when dropped.
struct Postgres {
    dir: tempfile::TempDir,
    url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/postgres.sh")
}

impl Postgres {
    fn start() -> Postgres {
        let installed = std::fs::read_dir("/usr/lib/postgresql")
            .map(|dirs| dirs.flatten().any(|d| d.path().join("bin/initdb").exists()))
            .unwrap_or(false);
        assert!(
            installed,
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run testnet/setup-integrations.sh"
        );
        // Directly under the temporary folder, so that the cluster's user can reach it.
        let dir = tempfile::Builder::new().prefix("panacea-pg-").tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out =
            Command::new("bash").arg(script()).arg("start").arg(dir.path()).arg(port.to_string()).output().unwrap();
        assert!(out.status.success(), "testnet/postgres.sh start failed: {}", String::from_utf8_lossy(&out.stderr));
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Postgres { dir, url }
    }

    fn run(&self, command: &str) {
        let out = Command::new("bash").arg(script()).arg(command).arg(self.dir.path()).output().unwrap();
        assert!(out.status.success(), "testnet/postgres.sh {command} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    async fn client(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The sink's cursor (`None` if PostgreSQL does not answer or nothing is mirrored).
    async fn cursor(&self) -> Option<u64> {
        let client = self.client().await.ok()?;
        let row = client.query_opt("SELECT height FROM panacea_cursor", &[]).await.ok()??;
        u64::try_from(row.get::<_, i64>(0)).ok()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script()).arg("stop").arg(self.dir.path()).output();
    }
}

fn org(id: &str) -> OrgId {
    OrgId::new(id).unwrap()
}

fn patient(label: &str) -> PatientRef {
    PatientRef(Hash::digest_parts(&[b"analytics-e2e", label.as_bytes()]))
}

fn terms(label: &str, kind: ProvisionType) -> ConsentTerms {
    ConsentTerms {
        patient: patient(label),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec!["59284-0".into()],
        policy_rule: PolicyRule::OptIn,
        verification: vec![Verification { verified: true, date: None }],
        provision: Provision::all(kind),
    }
}

fn ask(label: &str, purpose: Purpose, justification: Option<DocumentHash>) -> Call {
    Call::Access(AccessCall::Request {
        patient: patient(label),
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose,
        custodian: org("hospital-0"),
        document: None,
        data_time: None,
        justification,
    })
}

fn staff(seed: u8, role: StaffRole) -> (Keypair, Call) {
    let key = Keypair::from_seed([seed; 32]);
    let call = Call::Identity(IdentityCall::Register { key: key.public(), kind: IdentityKind::Staff { role } });
    (key, call)
}

async fn metrics(net: &Consortium, i: usize) -> String {
    net.client(i).metrics().await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_tables_equal_the_chain_across_postgres_restarts_and_a_sigkill() {
    let pg = Postgres::start();
    let mut net = Consortium::generate(2, 0);
    net.edit_config(0, "enabled = false", "enabled = true");
    net.edit_config(0, "postgres_url = \"\"", &format!("postgres_url = {:?}", pg.url));
    // Small batches and short waits, so the test sees several of each.
    net.edit_config(0, "batch_blocks_max = 64", "batch_blocks_max = 8");
    net.edit_config(0, "retry_initial_ms = 500", "retry_initial_ms = 100");
    net.edit_config(0, "retry_max_ms = 30000", "retry_max_ms = 1000");
    net.start(0);
    net.start(1);
    let client = net.client(0);
    let chain = net.chain_id();
    let (admin0, admin1) = (net.nodes[0].admin.clone(), net.nodes[1].admin.clone());

    // Staff: a clerk and an auditor of the custodian, a doctor of the other hospital.
    let (clerk, register) = staff(81, StaffRole::Administrative);
    commit(&client, &chain, &admin0, register).await;
    let (auditor, register) = staff(82, StaffRole::Auditor);
    commit(&client, &chain, &admin0, register).await;
    let (doctor, register) = staff(83, StaffRole::Physician);
    commit(&client, &chain, &admin1, register).await;
    let form = Some(DocumentHash(Hash([3; 32])));
    let consent = ConsentId(
        commit(
            &client,
            &chain,
            &clerk,
            Call::Consent(ConsentCall::Record { terms: terms("p1", ProvisionType::Permit), form_hash: form }),
        )
        .await,
    );
    eventually("the sink mirrors the first blocks", || async { pg.cursor().await.is_some_and(|c| c >= 3) }).await;

    // PostgreSQL goes away: the chain goes on, the sink counts errors and falls behind.
    pg.run("stop");
    let permit = commit(&client, &chain, &doctor, ask("p1", Purpose::Treatment, None)).await;
    let deny = commit(&client, &chain, &doctor, ask("p2", Purpose::Treatment, None)).await;
    eventually("the sink reports errors and lag while PostgreSQL is down", || async {
        let text = metrics(&net, 0).await;
        metric(&text, "panacea_analytics_errors_total") >= 1.0 && metric(&text, "panacea_analytics_lag_blocks") >= 2.0
    })
    .await;
    let down_at = pg.cursor().await;
    assert_eq!(down_at, None, "PostgreSQL is down");
    pg.run("start");
    let permit_height = client.transaction(&permit).await.unwrap().height.unwrap().0;
    eventually("the sink catches up after PostgreSQL comes back", || async {
        pg.cursor().await.is_some_and(|c| c > permit_height)
    })
    .await;

    // A restart mid-stream, with transactions committing around it.
    let justification = Some(DocumentHash(Hash([5; 32])));
    let amend =
        Call::Consent(ConsentCall::Amend { consent, terms: terms("p1", ProvisionType::Permit), form_hash: form });
    let submitted = {
        let (client, chain, clerk, doctor) = (client.clone(), chain.clone(), clerk.clone(), doctor.clone());
        tokio::spawn(async move {
            commit(&client, &chain, &clerk, amend).await;
            commit(&client, &chain, &doctor, ask("p3", Purpose::EmergencyTreatment, justification)).await
        })
    };
    pg.run("restart");
    let break_glass = submitted.await.unwrap();

    // SIGKILL of the node straight away (the sink may be behind, or mid-write), and a
    // restart: the sink resumes from the cursor in PostgreSQL.
    let (behind, height) = (pg.cursor().await, net.height(0).await);
    eprintln!("killing the node at height {height}; the sink's cursor is at {behind:?}");
    net.kill(0);
    net.start(0);
    let client = net.client(0);
    commit(
        &client,
        &chain,
        &auditor,
        Call::Access(AccessCall::CloseReview {
            decision: DecisionId(break_glass),
            outcome: ReviewOutcome::Justified,
            notes: None,
        }),
    )
    .await;
    commit(&client, &chain, &clerk, Call::Consent(ConsentCall::Revoke { consent, form_hash: form })).await;
    let denied_after_revoke = commit(&client, &chain, &doctor, ask("p1", Purpose::Treatment, None)).await;

    // Halt the chain (the other validator stops), let the sink reach the tip, stop the node.
    net.kill(1);
    eventually("the sink reaches the halted chain's tip", || async {
        let tip = net.height(0).await;
        tip > 0 && pg.cursor().await == Some(tip)
    })
    .await;
    let tip = net.height(0).await;
    let text = metrics(&net, 0).await;
    assert_eq!(metric(&text, "panacea_analytics_height"), tip as f64, "{text}");
    assert_eq!(metric(&text, "panacea_analytics_lag_blocks"), 0.0);
    net.kill(0);

    // The tables equal the chain, read from the node's own storage.
    let storage = Storage::open_read_only(&net.home(0).data()).unwrap();
    let tip = storage.committed_height().unwrap().unwrap().0;
    let db = pg.client().await.unwrap();
    assert_eq!(pg.cursor().await, Some(tip), "the cursor is the node's committed tip");

    let blocks = db
        .query("SELECT height, id, transaction_count, audit_from, audit_count FROM panacea_blocks ORDER BY height", &[])
        .await
        .unwrap();
    assert_eq!(blocks.len() as u64, tip + 1, "every height from genesis, each once");
    let mut expected_txs = Vec::new();
    for (h, row) in blocks.iter().enumerate() {
        let height = h as u64;
        assert_eq!(row.get::<_, i64>(0), h as i64);
        let block = storage.block(Height(height)).unwrap().unwrap();
        assert_eq!(row.get::<_, String>(1), block.id().to_string(), "block {height}");
        let before = if height == 0 { 0 } else { storage.state_meta(Height(height - 1)).unwrap().unwrap().audit_count };
        let after = storage.state_meta(Height(height)).unwrap().unwrap().audit_count;
        assert_eq!(
            (row.get::<_, i64>(3), row.get::<_, i32>(4)),
            (before as i64, i32::try_from(after - before).unwrap()),
            "block {height}"
        );
        if height > 0 {
            let body = BlockBody::decode::<{ 64 * 1024 * 1024 }>(&block.payload, usize::MAX).unwrap();
            assert_eq!(row.get::<_, i32>(2), i32::try_from(body.transactions.len()).unwrap());
            for (position, tx) in body.transactions.iter().enumerate() {
                let (_, receipt) = storage.receipt(&tx.id()).unwrap().unwrap();
                expected_txs.push((
                    height as i64,
                    i32::try_from(position).unwrap(),
                    tx.id().to_string(),
                    receipt.is_ok(),
                ));
            }
        }
    }
    let txs: Vec<(i64, i32, String, bool)> = db
        .query("SELECT height, position, id, ok FROM panacea_transactions ORDER BY height, position", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(txs, expected_txs, "every transaction once, in order, with its outcome");
    for id in [permit, deny, break_glass, denied_after_revoke] {
        assert!(txs.iter().any(|t| t.2 == id.to_string()), "transaction {id} is mirrored");
    }

    let audit_count = storage.state_meta(Height(tip)).unwrap().unwrap().audit_count;
    let state = storage.state();
    let events: Vec<_> =
        (0..audit_count).map(|seq| panacea_contracts::audit::event(&state, seq).unwrap().unwrap()).collect();
    let rows: Vec<(i64, i64, String, String)> = db
        .query("SELECT seq, height, kind, hash FROM panacea_audit_events ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let expected: Vec<(i64, i64, String, String)> = events
        .iter()
        .map(|e| {
            let kind = serde_json::to_value(e.kind).unwrap().as_str().unwrap().to_string();
            (e.seq as i64, e.height.0 as i64, kind, e.hash().to_string())
        })
        .collect();
    assert_eq!(rows, expected, "every audit event once, with its seq, height, kind and hash");
    assert!(events.iter().any(|e| e.kind == AuditKind::ReviewClosed));

    let decisions: BTreeSet<(String, String)> = db
        .query("SELECT id, outcome FROM panacea_decisions", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut expected = BTreeSet::new();
    for event in events.iter().filter(|e| matches!(e.kind, AuditKind::AccessDecision | AuditKind::BreakGlass)) {
        let id = event.entity.decision.unwrap();
        let decision = panacea_contracts::access::access_decision(&state, &id).unwrap().unwrap();
        let outcome = match decision.outcome {
            DecisionOutcome::Permit => "permit",
            DecisionOutcome::BreakGlass => "break-glass",
            DecisionOutcome::Deny(_) => "deny",
        };
        expected.insert((id.to_string(), outcome.to_string()));
    }
    assert_eq!(decisions, expected, "every decision once, with its outcome");
    let outcomes: Vec<_> = [permit, deny, break_glass, denied_after_revoke]
        .iter()
        .map(|id| decisions.iter().find(|d| d.0 == id.to_string()).map(|d| d.1.clone()).unwrap_or_default())
        .collect();
    assert_eq!(outcomes, ["permit", "deny", "break-glass", "deny"]);

    let versions: Vec<(String, i32, String, String)> = db
        .query("SELECT consent_id, version, change, status FROM panacea_consent_versions ORDER BY event_seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let history = panacea_contracts::consent::consent_history(&state, &consent).unwrap();
    let expected: Vec<(String, i32, String, String)> = history
        .iter()
        .zip(["recorded", "amended", "revoked"])
        .map(|(c, change)| (c.id.to_string(), c.version as i32, change.to_string(), c.terms.status.code().to_string()))
        .collect();
    assert_eq!(versions, expected, "every consent version once");

    // The documented example queries run and give the expected answers.
    let queries = include_str!("../../docs/analytics-queries.sql");
    let statements: Vec<&str> = queries
        .split(";\n")
        .map(str::trim)
        .filter(|s| s.lines().any(|l| !l.trim().is_empty() && !l.trim().starts_with("--")))
        .collect();
    assert_eq!(statements.len(), 2, "two example queries");
    let disclosures = db.query(statements[0], &[]).await.unwrap();
    let per_custodian: Vec<(String, i64, i64)> =
        disclosures.iter().map(|r| (r.get("custodian"), r.get("disclosures"), r.get("emergency"))).collect();
    let total: i64 = per_custodian.iter().filter(|r| r.0 == "hospital-0").map(|r| r.1).sum();
    let emergency: i64 = per_custodian.iter().filter(|r| r.0 == "hospital-0").map(|r| r.2).sum();
    assert_eq!((total, emergency), (2, 1), "a permit and a break-glass access to hospital-0's data: {per_custodian:?}");
    assert!(per_custodian.iter().all(|r| r.0 == "hospital-0"), "{per_custodian:?}");
    let rates = db.query(statements[1], &[]).await.unwrap();
    let rates: Vec<(String, i64, i64)> =
        rates.iter().map(|r| (r.get("organisation"), r.get("requests"), r.get("break_glass"))).collect();
    assert_eq!(rates, [("hospital-1".to_string(), 4, 1)], "one break-glass in four requests");
    let rate: f64 = db
        .query_one(&format!("SELECT break_glass_rate::float8 FROM ({}) AS q", statements[1]), &[])
        .await
        .unwrap()
        .get(0);
    assert!((rate - 0.25).abs() < 1e-9, "{rate}");

    // Nothing is written twice: the keys hold, and heights have no gap.
    let dupes: i64 = db
        .query_one(
            "SELECT (SELECT count(*) FROM panacea_blocks) - (SELECT count(DISTINCT height) FROM panacea_blocks)
                  + (SELECT count(*) FROM panacea_audit_events) - (SELECT count(DISTINCT seq) FROM panacea_audit_events)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(dupes, 0);
    assert!(net.log(0).contains("analytics: mirroring into PostgreSQL failed"), "the outage was reported");
}
