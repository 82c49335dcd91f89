//! The off-chain data plane on local consortia of real node processes: deliveries of
//! granted documents, nothing without a grant or after a revocation, erasure, large
//! documents with flat memory, and deliveries that survive a SIGKILL of either node.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt as _;

use common::Consortium;
use panacea_client_sdk::RequestSigner;
use panacea_client_sdk::types::{AuditQuery, DeliveryView, TxState};
use panacea_contracts::access::AccessCall;
use panacea_contracts::audit::AuditKind;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::{ConsentCall, ConsentTerms, Period};
use panacea_contracts::document::DocumentCall;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{ConsentId, DecisionId, DocumentHash, OrgId, PatientRef};
use panacea_contracts::{Call, SignedTransaction, Transaction};
use panacea_node::network::{DocRequest, DocResponse};
use panacea_primitives::{Hash, Keypair, Timestamp};

/// A consortium with hospital-0 as custodian of one patient's documents and a physician
/// of hospital-1 who asks for them.
struct Scene {
    net: Consortium,
    nonces: BTreeMap<[u8; 32], u64>,
    patient: PatientRef,
    terms: ConsentTerms,
    /// hospital-0's staff member who records consents.
    clerk: Keypair,
    /// hospital-1's physician.
    physician: Keypair,
}

impl Scene {
    /// Starts `validators` hospitals and registers the clerk and the physician.
    async fn start(validators: usize) -> Scene {
        Scene::start_with(validators, |_| {}).await
    }

    /// As [`Scene::start`], after `configure` has edited the generated homes.
    async fn start_with(validators: usize, configure: impl FnOnce(&Consortium)) -> Scene {
        let mut net = Consortium::generate(validators, 0);
        configure(&net);
        for i in 0..validators {
            net.start(i);
        }
        let fhir = include_str!("../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
        let terms = panacea_contracts::fhir::consent::import(fhir).expect("fixture").terms;
        let mut scene = Scene {
            net,
            nonces: BTreeMap::new(),
            patient: terms.patient,
            terms,
            clerk: Keypair::from_seed([76; 32]),
            physician: Keypair::from_seed([77; 32]),
        };
        for (org, staff) in [(0, scene.clerk.clone()), (1, scene.physician.clone())] {
            let admin = scene.net.nodes[org].admin.clone();
            let register = Call::Identity(IdentityCall::Register {
                key: staff.public(),
                kind: IdentityKind::Staff { role: StaffRole::Physician },
            });
            let tx = scene.tx(&admin, register);
            scene.commit(org, &tx).await;
        }
        scene
    }

    fn tx(&mut self, key: &Keypair, call: Call) -> SignedTransaction {
        let nonce = self.nonces.entry(key.public().to_bytes()).or_insert(0);
        *nonce += 1;
        Transaction { chain_id: self.net.chain_id(), signer: key.public(), nonce: *nonce, call }.sign(key)
    }

    /// Submits `tx` to node `via` and waits for its successful commit.
    async fn commit(&self, via: usize, tx: &SignedTransaction) {
        let status = self.net.client(via).submit_and_wait(tx, Duration::from_secs(90)).await.expect("submit");
        assert_eq!(status.status, TxState::Committed);
        let receipt = status.receipt.expect("receipt");
        assert!(receipt.is_ok(), "{tx:?} failed: {receipt:?}");
    }

    fn custodian_signer(&self) -> RequestSigner {
        RequestSigner::new(self.net.nodes[0].admin.clone(), self.net.chain_id())
    }

    fn physician_signer(&self) -> RequestSigner {
        RequestSigner::new(self.physician.clone(), self.net.chain_id())
    }

    /// Registers on chain a document already stored at hospital-0.
    async fn register(&mut self, document: DocumentHash, data_class: DataClass) {
        let admin = self.net.nodes[0].admin.clone();
        let register =
            Call::Document(DocumentCall::Register { document, patient: self.patient, data_class, resource_type: None });
        let tx = self.tx(&admin, register);
        self.commit(0, &tx).await;
    }

    /// Stores `content` at hospital-0 and registers it.
    async fn publish(&mut self, content: Vec<u8>, data_class: DataClass) -> DocumentHash {
        let document = self
            .net
            .client(0)
            .upload_document(&self.custodian_signer(), &self.patient, data_class, content)
            .await
            .unwrap();
        self.register(document, data_class).await;
        document
    }

    /// The clerk records the patient's opt-in consent.
    async fn record_consent(&mut self) -> ConsentId {
        let clerk = self.clerk.clone();
        let record = Call::Consent(ConsentCall::Record {
            terms: self.terms.clone(),
            form_hash: Some(DocumentHash(Hash([7; 32]))),
        });
        let tx = self.tx(&clerk, record);
        self.commit(0, &tx).await;
        ConsentId(tx.id())
    }

    /// The physician asks hospital-0 for `patient`'s documents of `data_class`, through
    /// node `via`; returns the decision's id.
    async fn request(&mut self, via: usize, patient: PatientRef, data_class: DataClass) -> DecisionId {
        self.request_dated(via, patient, data_class, None).await
    }

    /// As [`Scene::request`], for data of the date `data_time`.
    async fn request_dated(
        &mut self,
        via: usize,
        patient: PatientRef,
        data_class: DataClass,
        data_time: Option<Timestamp>,
    ) -> DecisionId {
        let physician = self.physician.clone();
        let request = Call::Access(AccessCall::Request {
            patient,
            data_class,
            resource_type: None,
            purpose: Purpose::Treatment,
            custodian: OrgId::new("hospital-0").unwrap(),
            document: None,
            data_time,
            justification: None,
        });
        let tx = self.tx(&physician, request);
        self.commit(via, &tx).await;
        DecisionId(tx.id())
    }

    /// The physician's deliveries at hospital-1's node.
    async fn deliveries(&self) -> Vec<DeliveryView> {
        self.net.client(1).deliveries(&self.physician_signer()).await.unwrap()
    }

    /// Waits (bounded) until hospital-1 holds a delivery of `document` that `done` accepts.
    async fn wait_delivery(&mut self, document: &DocumentHash, done: impl Fn(&DeliveryView) -> bool) -> DeliveryView {
        let deadline = tokio::time::Instant::now() + common::DEADLINE;
        loop {
            if let Ok(list) = self.net.client(1).deliveries(&self.physician_signer()).await
                && let Some(found) = list.into_iter().find(|d| d.document == *document && done(d))
            {
                return found;
            }
            self.net.assert_running(1);
            assert!(
                tokio::time::Instant::now() < deadline,
                "the delivery did not get there:\n{}",
                self.net.log_tail(1)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Audit events of the patient, as a health authority or the custodian reads them.
    async fn events(&self, kind: AuditKind) -> usize {
        self.events_of(kind).await.len()
    }

    async fn events_of(&self, kind: AuditKind) -> Vec<panacea_contracts::audit::AuditEvent> {
        let query = AuditQuery { patient: Some(self.patient), ..AuditQuery::default() };
        let events = self.net.client(0).audit_events_all(&self.custodian_signer(), &query, 1_000).await.unwrap();
        events.into_iter().filter(|e| e.kind == kind).collect()
    }
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 253).unwrap()).collect()
}

/// A permitted request gets the document, hash-verified, to the requesting identity
/// only; a class not granted is not sent; erasure shreds every copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permitted_request_delivers_the_document_and_erasure_shreds_it() {
    let mut scene = Scene::start(2).await;
    let lab = content(2 * 1024 * 1024 + 17);
    let lab_doc = scene.publish(lab.clone(), DataClass::LabResults).await;
    let scan_doc = scene.publish(vec![1; 1000], DataClass::Imaging).await;
    scene.record_consent().await;
    let decision = scene.request(1, scene.patient, DataClass::LabResults).await;

    // The delivery arrives at hospital-1's node and is confirmed on chain.
    scene.wait_delivery(&lab_doc, |d| d.state == "confirmed").await;
    let list = scene.deliveries().await;
    assert_eq!(list.len(), 1, "only the granted class is delivered: {list:?}");
    assert!(list.iter().all(|d| d.document != scan_doc));
    let (requester, reader) = (scene.net.client(1), scene.physician_signer());
    let mut received = Vec::new();
    let bytes =
        requester.download_delivery(&reader, &scene.physician, &decision, &lab_doc, &mut received).await.unwrap();
    assert_eq!((bytes, received == lab), (lab.len() as u64, true), "the document arrives intact");
    // Only the requesting identity opens it: another key cannot.
    let stranger = Keypair::from_seed([78; 32]);
    assert!(requester.download_delivery(&reader, &stranger, &decision, &lab_doc, &mut Vec::new()).await.is_err());
    // The patient's audit trail shows the delivery; a hospital cannot read the accounting.
    // The delivery was confirmed by hospital-1's node under its own sharing identity (a
    // service identity its dev home's admin key registered), not by the admin key.
    let delivered = scene.events_of(AuditKind::DocumentDelivered).await;
    assert_eq!(delivered.len(), 1);
    let sharing_key = panacea_node::keys::load(&scene.net.nodes[1].home.join("keys/sharing_key.json")).unwrap();
    let confirmer = delivered[0].agents.iter().find(|a| a.requestor).expect("the confirming agent");
    assert_eq!(confirmer.key, Some(sharing_key.public()));
    assert_eq!(confirmer.org, Some(OrgId::new("hospital-1").unwrap()));
    // One confirmation was sent, not one per pass of the fetcher while it waited.
    let sent = scene.net.client(1).next_nonce(&sharing_key.public()).await.unwrap();
    assert_eq!(sent, 2, "the sharing identity signed exactly one transaction");
    let hospital_accounting = scene.net.client(0).accounting_all(&scene.custodian_signer(), &scene.patient, 100).await;
    assert!(hospital_accounting.is_err(), "a hospital does not read the accounting");

    // Erasure: the custodian records it; every copy is shredded.
    let admin = scene.net.nodes[0].admin.clone();
    let erase = scene.tx(&admin, Call::Document(DocumentCall::Erase { document: lab_doc }));
    scene.commit(0, &erase).await;
    let deadline = tokio::time::Instant::now() + common::DEADLINE;
    while !scene.deliveries().await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the delivered copy was not shredded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        requester.download_delivery(&reader, &scene.physician, &decision, &lab_doc, &mut Vec::new()).await.is_err()
    );
}

/// A consent limited to data of a period (a provision's `data_period`) delivers a document
/// to a request for data dated inside it: the custodian's re-check before each chunk
/// decides for the date the request stated, as the chain did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_limited_by_a_data_period_delivers_data_dated_inside_it() {
    let mut scene = Scene::start(2).await;
    scene.terms.provision.data_period = Some(Period { start: Some(Timestamp(1_000)), end: Some(Timestamp(2_000)) });
    let lab = content(3 * 1024 * 1024 + 5);
    let document = scene.publish(lab.clone(), DataClass::LabResults).await;
    scene.record_consent().await;
    let decision = scene.request_dated(1, scene.patient, DataClass::LabResults, Some(Timestamp(1_500))).await;
    let settled = scene.wait_delivery(&document, |d| d.state == "confirmed" || d.state.starts_with("refused")).await;
    assert_eq!(settled.state, "confirmed", "{settled:?}");
    let mut received = Vec::new();
    let (client, reader) = (scene.net.client(1), scene.physician_signer());
    client.download_delivery(&reader, &scene.physician, &decision, &document, &mut received).await.unwrap();
    assert!(received == lab, "the document arrives intact");
}

/// Sends `body` to hospital-0's upload route, signed by the custodian's admin over the
/// content hash `announced` (or with no hash header at all).
async fn raw_upload(scene: &Scene, announced: Option<Hash>, body: reqwest::Body) -> reqwest::Result<reqwest::Response> {
    let client = scene.net.client(0);
    let path = format!("/v1/documents?patient={}&data_class=imaging", scene.patient);
    let signed_hash = announced.unwrap_or_else(|| Hash::digest(b""));
    let audience = client.node_id().await.unwrap();
    let mut request = reqwest::Client::new().post(format!("{}{path}", scene.net.api_url(0))).body(body);
    if let Some(announced) = announced {
        request = request.header(panacea_client_sdk::types::signed::HEADER_CONTENT_SHA256, announced.to_string());
    }
    for (name, value) in scene.custodian_signer().headers("POST", &path, &signed_hash, &audience).unwrap() {
        request = request.header(name, value);
    }
    request.send().await
}

/// An upload of `bytes` that the node answers. A node that refuses an upload before
/// reading its body (busy, store full) answers and closes; a client still writing the body
/// may then see the connection break instead of the answer, so a transport error is tried
/// again, until the deadline: the node's decision is the same each time.
async fn answered_upload(scene: &Scene, bytes: &[u8]) -> reqwest::Response {
    let deadline = tokio::time::Instant::now() + common::DEADLINE;
    loop {
        match raw_upload(scene, Some(Hash::digest(bytes)), reqwest::Body::from(bytes.to_vec())).await {
            Ok(answer) => return answer,
            Err(e) => assert!(tokio::time::Instant::now() < deadline, "no answer to an upload: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The error code of an answer.
async fn code(answer: reqwest::Response) -> (u16, String) {
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

/// An upload stores exactly the content its signer hashed, or nothing: a body other than
/// the signed content is refused, a body that breaks off leaves nothing (the store's
/// limit still has room for a whole document after it), the store holds at most
/// `store_bytes_max` bytes, and at most `uploads_max` uploads run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_stores_the_signed_content_or_nothing_within_the_store_limits() {
    let scene = Scene::start_with(2, |net| {
        net.edit_config(0, "store_bytes_max = 274877906944", "store_bytes_max = 3145728");
        net.edit_config(0, "uploads_max = 4", "uploads_max = 1");
    })
    .await;
    let study = content(2 * 1024 * 1024 + 512 * 1024);

    // No content hash: refused.
    let (status, refused) = code(raw_upload(&scene, None, reqwest::Body::from(Vec::new())).await.unwrap()).await;
    assert_eq!((status, refused.as_str()), (400, "content_hash_required"));
    // An empty document, even signed as such: refused, nothing stored.
    let empty = Hash::digest(&[]);
    let (status, refused) = code(raw_upload(&scene, Some(empty), reqwest::Body::from(Vec::new())).await.unwrap()).await;
    assert_eq!((status, refused.as_str()), (400, "empty_document"));
    // Someone replaces the signed content: nothing is stored.
    let signed = Hash::digest(&study);
    let mut forged = study.clone();
    forged[1_000_000] ^= 1;
    let (status, refused) = code(raw_upload(&scene, Some(signed), reqwest::Body::from(forged)).await.unwrap()).await;
    assert_eq!((status, refused.as_str()), (400, "content_mismatch"));

    // A body that breaks off after 2 MiB: the client gives up, and nothing is kept.
    let parts: Vec<std::io::Result<Vec<u8>>> = vec![
        Ok(study[..1024 * 1024].to_vec()),
        Ok(study[1024 * 1024..2 * 1024 * 1024].to_vec()),
        Err(std::io::Error::other("the client went away")),
    ];
    let aborted = raw_upload(&scene, Some(signed), reqwest::Body::wrap_stream(futures::stream::iter(parts))).await;
    assert!(aborted.is_err(), "{aborted:?}");

    // The whole study (2.5 of the 3 MiB allowed) fits: the broken-off upload took no room.
    // The node may still be cleaning the broken-off upload up (busy) a moment.
    let deadline = tokio::time::Instant::now() + common::DEADLINE;
    let stored = loop {
        let answer = answered_upload(&scene, &study).await;
        if answer.status().is_success() {
            break answer.json::<panacea_client_sdk::types::StoredDocumentView>().await.unwrap();
        }
        let (status, refused) = code(answer).await;
        assert!(tokio::time::Instant::now() < deadline, "the whole study was refused: {status} {refused}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stored.bytes, study.len() as u64);

    // The store is full: another MiB is refused before its body is read.
    let more = content(1024 * 1024);
    let answer = answered_upload(&scene, &more).await;
    assert_eq!(code(answer).await, (507, "store_full".to_string()));

    // One upload at a time: while one stalls mid-body, the next is told to retry. The
    // stalled upload is started again if it met one of the probes holding the only slot.
    let (resume, stalled) = tokio::sync::watch::channel(false);
    let tiny = b"tiny".to_vec();
    let first = async {
        loop {
            let mut stalled = stalled.clone();
            let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(tiny[..2].to_vec())]).chain(
                futures::stream::once(async move {
                    let _ = stalled.wait_for(|resumed| *resumed).await;
                    Ok(b"ny".to_vec())
                }),
            );
            let answer = raw_upload(&scene, Some(Hash::digest(&tiny)), reqwest::Body::wrap_stream(body)).await;
            let answer = code(answer.unwrap()).await;
            if answer.0 != 429 {
                return answer;
            }
        }
    };
    let second = async {
        let probe = b"probe".to_vec();
        common::eventually("a second upload is told to retry", || async {
            code(answered_upload(&scene, &probe).await).await == (429, "uploads_busy".to_string())
        })
        .await;
        resume.send(true).unwrap();
    };
    let (first, ()) = tokio::join!(first, second);
    assert_eq!(first.0, 200, "the stalled upload completes");
}

/// Without a grant nothing is sent: a denied request delivers nothing, another member's
/// node asking for a granted document is refused, and a grant revoked before the
/// requester's node fetches it delivers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_grant_and_a_revoked_grant_deliver_nothing() {
    let mut scene = Scene::start(4).await;
    let lab_doc = scene.publish(content(300_000), DataClass::LabResults).await;
    let consent = scene.record_consent().await;
    // hospital-1's node is down while its physician's requests commit (through hospital-2).
    scene.net.kill(1);
    let stranger_patient = PatientRef(Hash([9; 32]));
    let denied = scene.request(2, stranger_patient, DataClass::LabResults).await;
    let granted = scene.request(2, scene.patient, DataClass::LabResults).await;

    // Another member's node asks the custodian for the granted document: refused.
    let request = DocRequest { decision: granted, document: lab_doc, index: 0 };
    let answer =
        common::attack::ask_for_chunk(scene.net.network_identity(2), scene.net.p2p_address(0), request.clone()).await;
    assert!(
        matches!(&answer, Some(DocResponse::Refused(why)) if why.contains("requesting organisation")),
        "{answer:?}"
    );
    // A decision id that granted nothing: refused.
    let answer = common::attack::ask_for_chunk(
        scene.net.network_identity(2),
        scene.net.p2p_address(0),
        DocRequest { decision: denied, ..request.clone() },
    )
    .await;
    assert!(matches!(&answer, Some(DocResponse::Refused(_))), "{answer:?}");

    // The clerk records the patient's revocation before hospital-1's node comes back.
    let clerk = scene.clerk.clone();
    let revoke =
        scene.tx(&clerk, Call::Consent(ConsentCall::Revoke { consent, form_hash: Some(DocumentHash(Hash([8; 32]))) }));
    scene.commit(0, &revoke).await;
    scene.net.start(1);
    // hospital-1 catches up, finds the grant, asks, and is refused: nothing arrives.
    let refused = scene.wait_delivery(&lab_doc, |d| d.state.starts_with("refused")).await;
    assert_eq!((refused.decision, refused.received), (granted, 0), "{refused:?}");
    let list = scene.deliveries().await;
    assert_eq!(list.len(), 1, "the denied request delivers nothing: {list:?}");
    let (client, reader, mut out) = (scene.net.client(1), scene.physician_signer(), Vec::new());
    let fetched = client.download_delivery(&reader, &scene.physician, &granted, &lab_doc, &mut out).await;
    assert!(fetched.is_err() && out.is_empty());
    // Even hospital-1's own node identity is refused now.
    let answer = common::attack::ask_for_chunk(scene.net.network_identity(1), scene.net.p2p_address(0), request).await;
    assert!(matches!(&answer, Some(DocResponse::Refused(why)) if why.contains("no longer permit")), "{answer:?}");
    assert_eq!(scene.events(AuditKind::DocumentDelivered).await, 0);
}

/// A delivery interrupted by a SIGKILL of the custodian, then of the requester, resumes
/// after each restart and completes exactly once, intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_survives_a_sigkill_of_either_node_mid_transfer() {
    // The custodian serves at most 4 MiB/s, so the transfer takes several seconds.
    let mut scene = Scene::start_with(2, |net| {
        net.edit_config(0, "serve_bytes_per_second = 0", "serve_bytes_per_second = 4194304");
    })
    .await;
    let study = content(24 * 1024 * 1024 + 5);
    let document = scene.publish(study.clone(), DataClass::Imaging).await;
    scene.record_consent().await;
    let decision = scene.request(1, scene.patient, DataClass::Imaging).await;

    let partial = scene.wait_delivery(&document, |d| d.received >= 2).await;
    assert!(partial.received < partial.chunks, "the transfer must still be under way: {partial:?}");
    scene.net.kill(0);
    scene.net.start(0);
    let resumed = scene.wait_delivery(&document, |d| d.received >= partial.received + 3).await;
    assert!(resumed.received < resumed.chunks, "the transfer must still be under way: {resumed:?}");
    scene.net.kill(1);
    scene.net.start(1);

    scene.wait_delivery(&document, |d| d.state == "confirmed").await;
    let mut received = Vec::new();
    let client = scene.net.client(1);
    let bytes = client
        .download_delivery(&scene.physician_signer(), &scene.physician, &decision, &document, &mut received)
        .await
        .unwrap();
    assert_eq!((bytes, received == study), (study.len() as u64, true), "the study arrives intact");
    assert_eq!(scene.events(AuditKind::DocumentDelivered).await, 1, "delivered exactly once");
}

/// Peak resident memory of a process, in bytes (Linux `VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Writes a study of `bytes` to a file, has hospital-0 store and register it, hospital-1's
/// physician ask for its class, and downloads the delivery (its commitment verified).
async fn share_study(scene: &mut Scene, bytes: usize, data_class: DataClass) {
    let file = scene.net.dir.path().join("study.dcm");
    {
        use std::io::Write as _;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let block = content(1024 * 1024);
        for i in 0..bytes / block.len() {
            out.write_all(&u32::try_from(i).unwrap().to_le_bytes()).unwrap();
            out.write_all(&block[4..]).unwrap();
        }
        out.flush().unwrap();
    }
    let signer = scene.custodian_signer();
    let document = scene.net.client(0).upload_document_file(&signer, &scene.patient, data_class, &file).await.unwrap();
    std::fs::remove_file(&file).unwrap();
    scene.register(document, data_class).await;
    let decision = scene.request(1, scene.patient, data_class).await;
    scene.wait_delivery(&document, |d| d.state == "confirmed").await;
    let client = scene.net.client(1);
    let (signer, target) = (scene.physician_signer(), scene.net.dir.path().join("received.dcm"));
    // A key the delivery is not sealed to gets an error and leaves no file behind.
    let stranger = panacea_primitives::Keypair::from_seed([0x5A; 32]);
    assert!(client.download_delivery_to_file(&signer, &stranger, &decision, &document, &target).await.is_err());
    let leftovers = std::fs::read_dir(scene.net.dir.path()).unwrap().filter_map(Result::ok);
    let names: Vec<String> = leftovers.map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.starts_with("received.dcm")), "nothing partial is left: {names:?}");
    let received =
        client.download_delivery_to_file(&signer, &scene.physician, &decision, &document, &target).await.unwrap();
    assert_eq!(received, bytes as u64, "the study arrives whole (its commitment verified by the SDK)");
    assert_eq!(std::fs::metadata(&target).unwrap().len(), bytes as u64);
    std::fs::remove_file(&target).unwrap();
}

/// A 200 MB imaging study streams from upload to download in bounded chunks: after a
/// 16 MiB study has warmed every path, the 200 MiB one raises neither node's peak
/// resident memory by more than 96 MiB (the store's bounded write buffers and caches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_study_streams_with_bounded_memory() {
    let mut scene = Scene::start(2).await;
    scene.record_consent().await;
    share_study(&mut scene, 16 * 1024 * 1024, DataClass::LabResults).await;
    let warm = [peak_rss(scene.net.pid(0)), peak_rss(scene.net.pid(1))];
    share_study(&mut scene, 200 * 1024 * 1024, DataClass::Imaging).await;
    let after = [peak_rss(scene.net.pid(0)), peak_rss(scene.net.pid(1))];
    eprintln!("peak RSS after 16 MiB {warm:?}, after 200 MiB {after:?} (bytes)");
    for (node, (w, a)) in warm.iter().zip(after).enumerate() {
        // Far below the 184 MiB more that the study carries; the bound was 48 MiB before the
        // store gained its index column families and staged uploads, and one loaded run
        // grew by 58 MiB (issue 14's note).
        assert!(a < w + 96 * 1024 * 1024, "node {node}'s peak RSS grew from {w} to {a} bytes with the larger study");
    }
}
