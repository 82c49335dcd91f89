//! The IHE ATNA export against a real collector: Debian's rsyslog with a TLS listener
//! (mutual TLS, certificates made by the `openssl` CLI), started and restarted by the test.
//! A node exports its audit log in the DICOM format, loses the collector for a while, is
//! killed with SIGKILL in the middle of a stream of commits and comes back exporting FHIR
//! AuditEvent JSON; every event of the chain then sits in the collector's file, in order,
//! its body matching the chain's event, and nothing is repeated but (at most) the one
//! batch that was in flight when the node was killed, as the decision record says.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Consortium, DEADLINE, admin_tx, eventually, metric};
use panacea_client_sdk::types::AuditQuery;
use panacea_contracts::audit::AuditEvent;
use quick_xml::events::Event;

/// Events per batch: small, so that the stream is many batches.
const BATCH: usize = 8;
const SETUP: &str = "testnet/setup-integrations.sh";

fn require(program: &str) {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().unwrap();
    assert!(
        found.status.success(),
        "`{program}` is missing: run {SETUP} (it installs rsyslog, rsyslog-gnutls, openssl)"
    );
}

fn run(command: &mut Command) {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// An rsyslog collector listening with TLS on a fixed loopback port, writing every message
/// it receives, raw, one per line.
struct Rsyslog {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Rsyslog {
    /// Makes a CA, a server certificate for `localhost` and a client certificate for the
    /// node, and the configuration.
    fn new(dir: &Path) -> Rsyslog {
        require("rsyslogd");
        require("openssl");
        let gtls =
            ["/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so", "/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_gtls.so"];
        assert!(
            gtls.iter().any(|p| Path::new(p).exists()),
            "rsyslog's TLS driver (lmnsd_gtls.so) is missing: run {SETUP} (package rsyslog-gnutls)"
        );
        std::fs::create_dir_all(dir.join("work")).unwrap();
        let openssl = || {
            let mut command = Command::new("openssl");
            command.current_dir(dir);
            command
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        run(openssl().args(["req", "-x509"]).args(ec).args([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Panacea test ATNA CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]));
        for (name, usage, san) in
            [("server", "serverAuth", "subjectAltName=DNS:localhost,IP:127.0.0.1"), ("client", "clientAuth", "")]
        {
            run(openssl().args(["req"]).args(ec).args([
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ]));
            let ext = format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n{san}\n"
            );
            std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
            run(openssl()
                .args(["x509", "-req", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2"])
                .args([
                    "-in",
                    &format!("{name}.csr"),
                    "-out",
                    &format!("{name}.pem"),
                    "-extfile",
                    &format!("{name}.ext"),
                ]));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.display();
        // A direct main queue: a message is written before the next one is read, so what
        // the collector has read before it closes its side is in the file.
        let conf = format!(
            r#"global(workDirectory="{d}/work" maxMessageSize="64k"
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile="{d}/ca.pem"
  DefaultNetstreamDriverCertFile="{d}/server.pem"
  DefaultNetstreamDriverKeyFile="{d}/server.key")
main_queue(queue.type="Direct")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" port="{port}" address="127.0.0.1")
template(name="raw" type="string" string="%rawmsg%\n")
action(type="omfile" file="{d}/received.log" template="raw")
"#
        );
        std::fs::write(dir.join("rsyslog.conf"), conf).unwrap();
        Rsyslog { dir: dir.to_path_buf(), port, child: None }
    }

    /// Starts rsyslogd and waits until it accepts connections.
    fn start(&mut self) {
        assert!(self.child.is_none(), "rsyslogd is running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("rsyslogd.out")).unwrap();
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            assert!(exited.is_none(), "rsyslogd exited: {}", self.output());
            assert!(start.elapsed() < DEADLINE, "rsyslogd does not listen: {}", self.output());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops rsyslogd as an operator would (SIGTERM) and waits for it to exit.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            run(Command::new("kill").arg("-TERM").arg(child.id().to_string()));
            child.wait().unwrap();
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("rsyslogd.out")).unwrap_or_default()
    }

    /// The messages received so far.
    fn received(&self) -> Vec<Received> {
        let text = std::fs::read_to_string(self.dir.join("received.log")).unwrap_or_default();
        text.lines().map(Received::parse).collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One syslog message as the collector wrote it.
#[derive(Debug)]
struct Received {
    pri: String,
    msg_id: String,
    seq: u64,
    kind: String,
    body: String,
}

impl Received {
    fn parse(line: &str) -> Received {
        let (pri, rest) = line.strip_prefix('<').and_then(|l| l.split_once(">1 ")).unwrap_or_else(|| panic!("{line}"));
        // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
        let fields: Vec<&str> = rest.splitn(6, ' ').collect();
        let sd = fields[5];
        assert!(sd.starts_with("[panacea@32473 seq=\""), "structured data: {line}");
        let value = |name: &str| {
            let start = sd.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            sd[start..].split('"').next().unwrap().to_string()
        };
        let (_, body) = sd.split_once("\"] ").unwrap();
        let body = body.strip_prefix('\u{feff}').unwrap_or_else(|| panic!("MSG opens with a BOM: {line}"));
        Received {
            pri: pri.to_string(),
            msg_id: fields[4].to_string(),
            seq: value("seq").parse().unwrap(),
            kind: value("kind"),
            body: body.to_string(),
        }
    }
}

/// The attributes of the first element named `name` in `xml` (which must be well-formed).
fn xml_element(xml: &str, name: &str) -> BTreeMap<String, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found = None;
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("not well-formed ({e}): {xml}")) {
            Event::Start(e) | Event::Empty(e) if found.is_none() && e.name().as_ref() == name => {
                found = Some(
                    e.attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            let value = a.normalized_value(quick_xml::XmlVersion::Explicit1_0).unwrap();
                            (a.key.as_ref().to_string(), value.into_owned())
                        })
                        .collect(),
                );
            }
            Event::Eof => break,
            _ => {}
        }
    }
    found.unwrap_or_else(|| panic!("no {name} in {xml}"))
}

/// The chain's audit log, read through node 0's API by its operator.
async fn chain_events(net: &Consortium) -> Vec<AuditEvent> {
    net.client(0).audit_events_all(&net.operator(0), &AuditQuery::default(), 1_000_000).await.unwrap()
}

/// Commits `n` staff registrations by hospital-0's admin (one audit event each), all
/// submitted before any is waited for.
async fn register(net: &Consortium, nonces: &mut BTreeMap<usize, u64>, n: usize) {
    let client = net.client(0);
    let txs: Vec<_> = (0..n).map(|_| admin_tx(net, 0, nonces)).collect();
    for tx in &txs {
        client.submit(tx).await.unwrap();
    }
    let last = txs.last().unwrap().id();
    eventually("the registrations commit", || async {
        client.transaction(&last).await.is_ok_and(|s| s.status == panacea_client_sdk::types::TxState::Committed)
    })
    .await;
}

/// Waits until the collector holds every event of the chain.
async fn all_delivered(net: &Consortium, collector: &Rsyslog) -> usize {
    let count = chain_events(net).await.len();
    eventually("the collector holds every audit event", || async {
        collector.received().iter().map(|r| r.seq).max().is_some_and(|max| max + 1 >= u64::try_from(count).unwrap())
    })
    .await;
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_audit_event_reaches_rsyslog_in_order_across_a_collector_restart_and_a_node_kill() {
    let dir = tempfile::tempdir().unwrap();
    let mut collector = Rsyslog::new(dir.path());
    collector.start();
    let mut net = Consortium::generate(1, 0);
    let d = dir.path().display();
    let atna = format!(
        "[atna]\ncollector = \"127.0.0.1:{}\"\nserver_name = \"localhost\"\nca_file = \"{d}/ca.pem\"\ncert_file = \"{d}/client.pem\"\nkey_file = \"{d}/client.key\"\n",
        collector.port
    );
    net.edit_config(0, "[atna]\n", &atna);
    net.edit_config(0, "batch_events_max = 500\n", &format!("batch_events_max = {BATCH}\n"));
    net.edit_config(0, "connect_timeout_ms = 5000\n", "connect_timeout_ms = 2000\n");
    net.start(0);
    let mut nonces = BTreeMap::new();

    // A stream of commits, exported as it commits.
    register(&net, &mut nonces, 12).await;
    let first = all_delivered(&net, &collector).await;
    assert!(first >= 12);
    let metrics = net.client(0).metrics().await.unwrap();
    assert_eq!(metric(&metrics, "panacea_atna_connected"), 1.0);
    assert!(metric(&metrics, "panacea_atna_sent_total") >= 12.0);

    // The collector goes away: events wait, the node says why and counts the failures.
    collector.stop();
    register(&net, &mut nonces, 12).await;
    eventually("the export reports the unreachable collector", || async {
        let metrics = net.client(0).metrics().await.unwrap_or_default();
        metric(&metrics, "panacea_atna_errors_total") >= 1.0
            && metric(&metrics, "panacea_atna_connected") == 0.0
            && metric(&metrics, "panacea_atna_lag_events") >= 12.0
    })
    .await;
    let log = net.log(0);
    assert!(
        log.contains("ATNA delivery failed")
            && log.contains(&format!("cannot connect to the collector 127.0.0.1:{}", collector.port)),
        "a clear error in the node's log:\n{}",
        net.log_tail(0)
    );
    collector.start();
    all_delivered(&net, &collector).await;

    // The node is killed in the middle of a stream of commits and comes back exporting FHIR.
    let before = collector.received().len();
    let client = net.client(0);
    let txs: Vec<_> = (0..40).map(|_| admin_tx(&net, 0, &mut nonces)).collect();
    for tx in &txs {
        client.submit(tx).await.unwrap();
    }
    eventually("part of the stream reaches the collector", || async { collector.received().len() > before }).await;
    net.kill(0);
    net.edit_config(0, "format = \"dicom\"", "format = \"fhir\"");
    net.start(0);
    // Whatever of the stream did not commit before the kill is submitted again.
    let client = net.client(0);
    for tx in &txs {
        let _ = client.submit(tx).await;
    }
    register(&net, &mut nonces, 4).await;
    let count = all_delivered(&net, &collector).await;

    // Every event of the chain, in order, with its body; repeated only within one batch.
    let chain = chain_events(&net).await;
    assert_eq!(chain.len(), count);
    let received = collector.received();
    let mut next = 0u64;
    let mut rewinds = Vec::new();
    let mut previous: Option<u64> = None;
    for (index, message) in received.iter().enumerate() {
        match previous {
            None => assert_eq!(message.seq, 0, "the export starts at the first event"),
            Some(previous) if message.seq == previous + 1 => {}
            Some(previous) => {
                assert!(message.seq <= previous, "seq {} arrived after {previous}: a gap", message.seq);
                assert!(index > before, "a repeat before the node was killed, at message {index}");
                rewinds.push((message.seq, previous + 1));
            }
        }
        previous = Some(message.seq);
        next = next.max(message.seq + 1);
        let event = &chain[usize::try_from(message.seq).unwrap()];
        assert_eq!(event.seq, message.seq);
        assert_eq!(message.kind, panacea_contracts::fhir::audit_event::kind_code(event.kind));
        assert!(message.pri == "85" || message.pri == "84", "facility 10, notice or warning: {}", message.pri);
        match message.msg_id.as_str() {
            "IHE+RFC-3881" => {
                let identification = xml_element(&message.body, "EventIdentification");
                assert_eq!(identification["EventDateTime"], panacea_contracts::fhir::format_instant(event.recorded));
                let kind = xml_element(&message.body, "ParticipantObjectIdentification");
                assert!(!kind["ParticipantObjectID"].is_empty());
                assert!(message.body.contains(&format!("ParticipantObjectID=\"urn:panacea:audit:{}\"", event.seq)));
            }
            "IHE+FHIR" => {
                let body: serde_json::Value = serde_json::from_str(&message.body).unwrap();
                assert_eq!(body, panacea_contracts::fhir::audit_event::export(event));
            }
            other => panic!("unexpected MSGID {other}"),
        }
    }
    assert_eq!(next, u64::try_from(count).unwrap(), "every event arrived");
    assert!(received.iter().any(|m| m.msg_id == "IHE+RFC-3881") && received.iter().any(|m| m.msg_id == "IHE+FHIR"));
    // Only a batch in flight when the node was killed may arrive twice (its seq tells a
    // SIEM it already has it): at most one rewind, of at most one batch.
    assert!(rewinds.len() <= 1, "repeats: {rewinds:?}");
    for (from, to) in &rewinds {
        assert!(to - from <= u64::try_from(BATCH).unwrap(), "a repeat longer than a batch: {from}..{to}");
    }
    eprintln!("{} events, {} messages received, repeats {rewinds:?}", count, received.len());
    let metrics = net.client(0).metrics().await.unwrap();
    assert_eq!(metric(&metrics, "panacea_atna_lag_events"), 0.0);
}
