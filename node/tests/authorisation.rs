//! Who may read what: each role against each signed endpoint, on real node processes.

mod common;

use std::time::Duration;

use common::Consortium;
use panacea_client_sdk::types::{AuditQuery, ProofView, TxState, signed};
use panacea_client_sdk::verify::CertifiedState;
use panacea_client_sdk::{Client, ClientError, ProvableRecord, RequestSigner, TrustAnchor, VerifyError};
use panacea_contracts::access::AccessCall;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::ConsentCall;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{DecisionId, DocumentHash, OrgId, PatientRef};
use panacea_contracts::provable::Record;
use panacea_contracts::{Call, SignedTransaction, Transaction};
use panacea_primitives::{Hash, Keypair};

fn status_of(result: Result<impl std::fmt::Debug, ClientError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(ClientError::Api { status, .. }) => status,
        Err(e) => panic!("transport error: {e}"),
    }
}

async fn commit(client: &Client, tx: &SignedTransaction) {
    let status = client.submit_and_wait(tx, Duration::from_secs(60)).await.expect("submit");
    assert_eq!(status.status, TxState::Committed);
    assert!(status.receipt.expect("receipt").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reads_only_what_it_may_and_bad_signatures_are_refused() {
    // hospital-0 and hospital-1 run validators; health-authority-0 audits.
    let mut net = Consortium::generate(2, 1);
    net.start(0);
    net.start(1);
    let client = net.client(0);
    let chain = net.chain_id();

    // hospital-0 registers a physician, who records a consent and requests access.
    let physician = Keypair::from_seed([42; 32]);
    let admin0 = &net.nodes[0].admin;
    let register = Call::Identity(IdentityCall::Register {
        key: physician.public(),
        kind: IdentityKind::Staff { role: StaffRole::Physician },
    });
    commit(
        &client,
        &Transaction { chain_id: chain.clone(), signer: admin0.public(), nonce: 1, call: register }.sign(admin0),
    )
    .await;
    let fhir = include_str!("../../contracts/tests/fixtures/fhir/consent-optin-share-all.json");
    let imported = panacea_contracts::fhir::consent::import(fhir).expect("fixture");
    let patient: PatientRef = imported.terms.patient;
    let record =
        Call::Consent(ConsentCall::Record { terms: imported.terms, form_hash: Some(DocumentHash(Hash([7; 32]))) });
    commit(
        &client,
        &Transaction { chain_id: chain.clone(), signer: physician.public(), nonce: 1, call: record }.sign(&physician),
    )
    .await;
    let request = Call::Access(AccessCall::Request {
        patient,
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose: Purpose::Treatment,
        custodian: OrgId::new("hospital-0").unwrap(),
        document: None,
        data_time: None,
        justification: None,
    });
    let request =
        Transaction { chain_id: chain.clone(), signer: physician.public(), nonce: 2, call: request }.sign(&physician);
    commit(&client, &request).await;
    let decision = DecisionId(request.id());

    // The health authority's admin registers an auditor and a service identity: audit
    // rights belong to the auditor role, not to every key of the authority.
    let auditor = Keypair::from_seed([43; 32]);
    let service = Keypair::from_seed([44; 32]);
    let admin2 = &net.nodes[2].admin;
    for (nonce, (key, kind)) in [
        (auditor.public(), IdentityKind::Staff { role: StaffRole::Auditor }),
        (service.public(), IdentityKind::Service { name: "sharing".into() }),
    ]
    .into_iter()
    .enumerate()
    {
        let call = Call::Identity(IdentityCall::Register { key, kind });
        let nonce = u64::try_from(nonce).unwrap() + 1;
        commit(&client, &Transaction { chain_id: chain.clone(), signer: admin2.public(), nonce, call }.sign(admin2))
            .await;
    }

    let signer = |key: &Keypair| RequestSigner::new(key.clone(), chain.clone());
    let hospital0 = signer(&net.nodes[0].admin);
    let staff0 = signer(&physician);
    let hospital1 = signer(&net.nodes[1].admin);
    let authority = signer(&auditor);
    let authority_admin = signer(admin2);
    let authority_service = signer(&service);
    let stranger = signer(&Keypair::from_seed([99; 32]));

    // Audit rights belong to auditor roles: neither the authority's admin nor its service
    // identity reads another organisation's audit trail or a patient's accounting.
    assert_eq!(status_of(client.accounting(&authority_admin, &patient, None, 10).await), 403);
    assert_eq!(status_of(client.accounting(&authority_service, &patient, None, 10).await), 403);
    assert_eq!(client.patient_consents(&authority_admin, &patient).await.unwrap().len(), 0);
    let about_patient = AuditQuery { patient: Some(patient), ..AuditQuery::default() };
    assert!(client.audit_events(&authority_admin, &about_patient).await.unwrap().events.is_empty());
    assert_eq!(status_of(client.audit_events(&authority_service, &about_patient).await), 403);
    assert_eq!(status_of(client.refusals(&authority_admin, None, 10).await), 403);

    // Blocks, transactions and receipts are read under the authorisation of the records
    // they hold: anyone sees headers and status; the whole block only an operator (whose
    // node replicates it) or an auditor; a receipt its own signer, an operator or an
    // auditor, or whoever may read every audit event in it.
    let record_status = client.transaction(&decision.0).await.unwrap();
    let height = record_status.height.expect("committed");
    assert!(record_status.receipt.is_none(), "an unsigned caller sees no receipt: {record_status:?}");
    let public = client.block(height).await.unwrap();
    assert!(public.block.is_none() && public.transactions.is_none(), "an unsigned caller sees the header only");
    assert!(public.transaction_count >= 1);
    let header: panacea_consensus::BlockHeader =
        panacea_primitives::codec::decode::<_, 4096>(&hex::decode(&public.header).unwrap()).unwrap();
    assert_eq!(header.id(), public.id, "the header is there to check against the certificate");
    for (reader, whole) in [(&hospital1, true), (&authority, true), (&staff0, false), (&authority_service, false)] {
        let view = client.block_signed(reader, height).await.unwrap();
        assert_eq!(view.block.is_some() && view.transactions.is_some(), whole, "{view:?}");
    }
    for (reader, sees) in [(&staff0, true), (&hospital1, true), (&authority, true), (&authority_service, false)] {
        let status = client.transaction_signed(reader, &decision.0).await.unwrap();
        assert_eq!(status.receipt.is_some(), sees, "{status:?}");
    }
    assert_eq!(status_of(client.transaction_signed(&stranger, &decision.0).await), 401);
    assert_eq!(status_of(client.block_signed(&stranger, height).await), 401);

    // Consents: each organisation sees those it recorded; the auditor sees all.
    assert_eq!(client.patient_consents(&hospital0, &patient).await.unwrap().len(), 1);
    assert_eq!(client.patient_consents(&staff0, &patient).await.unwrap().len(), 1);
    assert_eq!(client.patient_consents(&hospital1, &patient).await.unwrap().len(), 0);
    assert_eq!(client.patient_consents(&authority, &patient).await.unwrap().len(), 1);
    assert_eq!(status_of(client.patient_consents(&stranger, &patient).await), 401);

    // The accounting of disclosures: the patient and auditors only.
    assert_eq!(status_of(client.accounting(&hospital0, &patient, None, 10).await), 403);
    assert_eq!(status_of(client.accounting(&hospital1, &patient, None, 10).await), 403);
    assert_eq!(status_of(client.accounting(&authority, &patient, None, 10).await), 200);
    assert_eq!(status_of(client.accounting(&stranger, &patient, None, 10).await), 401);

    // A decision: the organisations involved and auditors.
    assert_eq!(client.decision(&staff0, &decision).await.unwrap().decision.id, decision);
    assert_eq!(status_of(client.decision(&hospital1, &decision).await), 403);
    assert_eq!(status_of(client.decision(&authority, &decision).await), 200);
    assert_eq!(status_of(client.decision(&stranger, &decision).await), 401);
    let view = client.decision(&authority, &decision).await.unwrap();
    assert_eq!(view.reason, view.decision.reason_code());
    assert_eq!(view.event.map(|e| e.entity.decision), Some(Some(decision)), "the decision's own audit event");

    // An evaluation reveals the consents it considers: for those who may read them all
    // (the recording organisation, auditors), not another organisation, not a stranger.
    let question = panacea_client_sdk::types::EvaluateQuery {
        requester: None,
        org: Some(panacea_contracts::ids::OrgId::new("hospital-1").unwrap()),
        role: Some("physician".into()),
        purpose: "TREAT".into(),
        data_class: "lab-results".into(),
        resource_type: None,
        custodian: panacea_contracts::ids::OrgId::new("hospital-0").unwrap(),
        data_time: None,
        at: None,
    };
    for (reader, status) in
        [(&staff0, 200), (&hospital0, 200), (&authority, 200), (&hospital1, 403), (&authority_service, 403)]
    {
        assert_eq!(status_of(client.evaluate(reader, &patient, &question).await.map(|_| ())), status);
    }
    assert_eq!(status_of(client.evaluate(&stranger, &patient, &question).await.map(|_| ())), 401);
    let answer = client.evaluate(&authority, &patient, &question).await.unwrap();
    assert_eq!((answer.considered, answer.consents.len()), (1, answer.consents.len()));
    // Deriving references is the custodian's secret: this node holds no key (404) and
    // nobody else derives with it.
    let asked = panacea_client_sdk::types::PseudonymRequest { patient: Some("Patient/p".into()), identifier: None };
    assert_eq!(status_of(client.pseudonym(&staff0, &asked).await.map(|_| ())), 404);
    // An organisation's risk: its own operators and staff, and auditors.
    let hospital_0 = panacea_contracts::ids::OrgId::new("hospital-0").unwrap();
    for (reader, status) in
        [(&staff0, 200), (&hospital0, 200), (&authority, 200), (&hospital1, 403), (&authority_service, 403)]
    {
        assert_eq!(status_of(client.risk(reader, &hospital_0).await.map(|_| ())), status);
    }
    assert_eq!(status_of(client.risk(&stranger, &hospital_0).await.map(|_| ())), 401);

    // Audit events: a member reads through its own organisation; the auditor reads all.
    let about = about_patient.clone();
    assert!(client.audit_events(&hospital0, &about).await.unwrap().events.len() >= 2);
    assert!(client.audit_events(&authority, &about).await.unwrap().events.len() >= 2);
    assert!(client.audit_events(&hospital1, &about).await.unwrap().events.is_empty());
    let as_other = AuditQuery { org: Some(OrgId::new("hospital-0").unwrap()), ..AuditQuery::default() };
    assert_eq!(status_of(client.audit_events(&hospital1, &as_other).await), 403);
    assert_eq!(status_of(client.audit_events(&stranger, &about).await), 401);
    let first = client.audit_events(&authority, &AuditQuery { limit: Some(1), ..about.clone() }).await.unwrap();
    assert_eq!(first.events.len(), 1);
    let one_by_one = AuditQuery { limit: Some(1), ..about.clone() };
    let all = client.audit_events_all(&authority, &one_by_one, 1_000).await.unwrap();
    assert_eq!(all, client.audit_events(&authority, &about).await.unwrap().events, "pages of one add up");
    let rest = AuditQuery { after: first.next, ..about.clone() };
    assert!(client.audit_events(&authority, &rest).await.unwrap().events.iter().all(|e| e.seq > first.events[0].seq));

    // Membership is public; identities are for members' signers.
    let orgs = client.organisations().await.unwrap();
    assert_eq!(orgs.len(), 3);
    let physician_id =
        panacea_contracts::identity::Identity::id_for(&OrgId::new("hospital-0").unwrap(), &physician.public());
    assert_eq!(client.identity(&hospital1, &physician_id).await.unwrap().key, physician.public());
    assert_eq!(status_of(client.identity(&stranger, &physician_id).await), 401);

    // The live stream: history from height 0 first, then a newly committed event.
    let mut stream = client.audit_stream(&authority, 0, &about).await.unwrap();
    let deadline = Duration::from_secs(60);
    let first = tokio::time::timeout(deadline, stream.next()).await.unwrap().unwrap().unwrap();
    let second = tokio::time::timeout(deadline, stream.next()).await.unwrap().unwrap().unwrap();
    assert!(first.seq < second.seq);
    let again = Call::Access(AccessCall::Request {
        patient,
        data_class: DataClass::Medications,
        resource_type: None,
        purpose: Purpose::Treatment,
        custodian: OrgId::new("hospital-0").unwrap(),
        document: None,
        data_time: None,
        justification: None,
    });
    commit(
        &client,
        &Transaction { chain_id: chain.clone(), signer: physician.public(), nonce: 3, call: again }.sign(&physician),
    )
    .await;
    let live = tokio::time::timeout(deadline, stream.next()).await.unwrap().unwrap().unwrap();
    assert!(live.seq > second.seq && live.entity.data_class == Some(DataClass::Medications), "{live:?}");
    assert_eq!(status_of(client.audit_stream(&hospital1, 0, &as_other).await.map(|_| ())), 403);
    assert_eq!(status_of(client.audit_stream(&authority_service, 0, &about).await.map(|_| ())), 403);
    // History starts at `from_height`, not at the start of the log.
    let later = live.height.0;
    let mut from_later = client.audit_stream(&authority, later, &about).await.unwrap();
    let first_later = tokio::time::timeout(deadline, from_later.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first_later.seq, live.seq, "the first event at or above height {later}");
    // A key holds a bounded number of streams (this one holds two already).
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(client.audit_stream(&authority, 0, &about).await.unwrap());
    }
    assert_eq!(status_of(client.audit_stream(&authority, 0, &about).await.map(|_| ())), 429);
    let open = || async { common::metric(&client.metrics().await.unwrap(), "panacea_api_audit_streams") };
    assert!(open().await >= 4.0);
    // Streams whose clients left end, even when nothing matches their filter.
    let silent = AuditQuery { kind: Some(panacea_contracts::audit::AuditKind::BreakGlass), ..about.clone() };
    let quiet = client.audit_stream(&hospital0, 0, &silent).await.unwrap();
    drop((held, from_later, quiet));
    common::eventually("the streams of departed clients end", || async { open().await <= 1.0 }).await;
    assert_eq!(status_of(client.audit_stream(&authority, 0, &about).await.map(|_| ())), 200);

    // Unsigned, replayed, stale or tampered requests: 401 with a JSON error, never 5xx.
    let base = net.client(0).base_url().to_string();
    let node_id = client.node_id().await.unwrap();
    let empty = Hash::digest(b"");
    let http = reqwest::Client::new();
    let path = format!("/v1/patients/{patient}/consents");
    // Every route, unsigned: the signed ones refuse, the public ones answer without a
    // trace of the patient (before, a block and a receipt carried the whole record).
    let consent_id = client.patient_consents(&authority, &patient).await.unwrap()[0].id;
    let patient_hex = patient.to_string();
    let record_height = client.transaction(&consent_id.0).await.unwrap().height.unwrap().0;
    for (route, expected) in [
        (format!("/v1/patients/{patient}/consents"), 401),
        (format!("/v1/patients/{patient}/accounting"), 401),
        (format!("/v1/identities/{physician_id}"), 401),
        (format!("/v1/consents/{consent_id}"), 401),
        (format!("/v1/decisions/{decision}"), 401),
        ("/v1/organisations/hospital-0/risk".to_string(), 401),
        ("/v1/products".to_string(), 401),
        (format!("/v1/products/{consent_id}"), 401),
        ("/v1/organisations/hospital-0/self-assessment".to_string(), 401),
        ("/v1/organisations/hospital-0/self-assessment/1".to_string(), 401),
        ("/v1/security-governance/region".to_string(), 401),
        ("/v1/organisations/hospital-0/connections".to_string(), 401),
        ("/v1/organisations/hospital-0/training".to_string(), 401),
        (format!("/v1/identities/{physician_id}/credentials"), 401),
        (
            format!(
                "/v1/patients/{patient}/evaluate?purpose=TREAT&data_class=lab-results&custodian=hospital-0&org=hospital-1"
            ),
            401,
        ),
        (format!("/v1/proofs/decision/{decision}"), 401),
        (format!("/v1/proofs/patient-consents/{patient}"), 401),
        ("/v1/audit/events".to_string(), 401),
        (format!("/v1/audit/stream?from_height=0&patient={patient}"), 401),
        ("/v1/refusals".to_string(), 401),
        ("/v1/deliveries".to_string(), 401),
        (format!("/v1/blocks/{record_height}"), 200),
        ("/v1/blocks/latest".to_string(), 200),
        (format!("/v1/transactions/{consent_id}"), 200),
        (format!("/v1/transactions/{decision}"), 200),
        ("/v1/status".to_string(), 200),
        ("/v1/validators".to_string(), 200),
        ("/v1/organisations".to_string(), 200),
        ("/v1/openapi.json".to_string(), 200),
        ("/metrics".to_string(), 200),
        ("/health".to_string(), 200),
    ] {
        let answer = http.get(format!("{base}{route}")).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), expected, "{route}");
        let text = answer.text().await.unwrap();
        assert!(!text.contains(&patient_hex), "{route} answers an unsigned caller with the patient reference");
    }
    let unsigned = http.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let body: serde_json::Value = unsigned.json().await.unwrap();
    assert_eq!(body["code"], "unauthenticated");
    let headers = authority.headers("GET", &path, &empty, &node_id).unwrap();
    let send = |headers: [(&'static str, String); 4]| {
        let mut request = http.get(format!("{base}{path}"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    assert_eq!(send(headers.clone()).await.unwrap().status().as_u16(), 200);
    assert_eq!(send(headers.clone()).await.unwrap().status().as_u16(), 401, "a replay is refused");
    let mut stale = authority.headers("GET", &path, &empty, &node_id).unwrap();
    stale[1].1 = (stale[1].1.parse::<u64>().unwrap() - signed::FRESHNESS_MS - 1_000).to_string();
    assert_eq!(send(stale).await.unwrap().status().as_u16(), 401, "a stale request is refused");
    let other_path = authority.headers("GET", "/v1/patients/00/consents", &empty, &node_id).unwrap();
    assert_eq!(send(other_path).await.unwrap().status().as_u16(), 401, "a signature over another path is refused");
    let bad_patient = http
        .get(format!("{base}/v1/patients/not-hex/consents"))
        .headers({
            let mut map = reqwest::header::HeaderMap::new();
            for (name, value) in authority.headers("GET", "/v1/patients/not-hex/consents", &empty, &node_id).unwrap() {
                map.insert(name, value.parse().unwrap());
            }
            map
        })
        .send()
        .await
        .unwrap();
    assert_eq!(bad_patient.status().as_u16(), 400);
    let cursor = "/v1/audit/events?after=not-a-number";
    let mut request = http.get(format!("{base}{cursor}"));
    for (name, value) in authority.headers("GET", cursor, &empty, &node_id).unwrap() {
        request = request.header(name, value);
    }
    assert_eq!(request.send().await.unwrap().status().as_u16(), 400, "a bad cursor is a 400");
    let openapi: serde_json::Value =
        http.get(format!("{base}/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/v1/audit/events"]["get"].is_object(), "{openapi}");
    // Every `{name}` in a path is a declared path parameter of each of its operations: a
    // generated client (or schemathesis) cannot call a route whose parameters it lacks.
    let mut undeclared = Vec::new();
    for (path, operations) in openapi["paths"].as_object().unwrap() {
        let names: Vec<&str> = path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
        for (method, operation) in operations.as_object().unwrap() {
            let declared: Vec<&str> = operation["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            for name in &names {
                if !declared.contains(name) {
                    undeclared.push(format!("{method} {path}: {name}"));
                }
            }
        }
    }
    assert!(undeclared.is_empty(), "path parameters missing from the OpenAPI document: {undeclared:?}");
    let refusals = common::metric(&client.metrics().await.unwrap(), "panacea_api_refusals_total");
    assert!(refusals >= 10.0, "every refusal is counted, got {refusals}");
    // ... and recorded, for auditors only.
    let recorded = client.refusals(&authority, None, 1_000).await.unwrap();
    assert!(recorded.refusals.len() >= 10, "{recorded:?}");
    assert!(recorded.refusals.iter().any(|r| r.reason == "forbidden" && r.route == "/v1/decisions"));
    assert!(recorded.refusals.iter().any(|r| r.reason == "unauthenticated" && r.key.is_none()));
    assert!(recorded.refusals.windows(2).all(|w| w[0].seq < w[1].seq));
    let page = client.refusals(&authority, None, 2).await.unwrap();
    let rest = client.refusals(&authority, page.next, 2).await.unwrap();
    assert_eq!((page.refusals.len(), rest.refusals[0].seq), (2, page.refusals[1].seq + 1));
    assert_eq!(status_of(client.refusals(&hospital0, None, 10).await), 403);

    // Proofs: checked against the validator set from genesis alone, from either node.
    let genesis = std::fs::read_to_string(net.nodes[0].home.join("genesis.json")).unwrap();
    let anchor = TrustAnchor::from_genesis_json(&genesis).unwrap();
    let set = client.validators().await.unwrap();
    assert_eq!((set.epoch, set.quorum, set.validators.len()), (0, 2, 2));
    assert_eq!(set.validators[0].org.as_ref().map(OrgId::as_str), Some("hospital-0"));
    assert_eq!(
        set.validators[1].key,
        hex::encode(anchor.validators().key(panacea_primitives::ValidatorIndex(1)).unwrap().to_bytes())
    );
    let committed = client.transaction(&decision.0).await.unwrap().height.unwrap();
    let other_node = net.client(1);
    let wait = Duration::from_secs(60);
    for node in [&client, &other_node] {
        let proved = node
            .verified_record_since(&authority, &anchor, &ProvableRecord::Consent(consent_id), committed, wait)
            .await
            .unwrap();
        let consent = proved.consent(consent_id).unwrap().expect("the consent is proved present");
        assert_eq!(consent.terms.patient, patient);
        let proved = node
            .verified_record_since(&staff0, &anchor, &ProvableRecord::Decision(decision), committed, wait)
            .await
            .unwrap();
        let record: panacea_contracts::access::AccessDecision =
            proved.record(&Record::Decision(decision)).unwrap().expect("the decision is proved present");
        assert_eq!(record.id, decision);
    }
    let unknown = DecisionId(Hash([5; 32]));
    let absent = client.verified_record(&hospital1, &anchor, &ProvableRecord::Decision(unknown)).await.unwrap();
    assert!(absent.record::<panacea_contracts::access::AccessDecision>(&Record::Decision(unknown)).unwrap().is_none());
    assert_eq!(status_of(client.proof(&hospital1, &ProvableRecord::Decision(decision)).await), 403);
    assert_eq!(status_of(client.proof(&stranger, &ProvableRecord::PatientConsents(patient)).await), 401);
    let hospital0_org = ProvableRecord::Organisation(OrgId::new("hospital-0").unwrap());
    let view = client.proof(&hospital1, &hospital0_org).await.unwrap();
    let now = panacea_client_sdk::now();
    anchor.verify_proof(&view, now).unwrap();
    // A light client does not accept an old state by default: a node that answers from
    // a stale state (or an attacker replaying an old proof) is refused.
    let later = panacea_primitives::Timestamp(now.as_millis() + 10 * 60 * 1_000);
    assert!(matches!(anchor.verify_proof(&view, later), Err(VerifyError::TooOld { .. })));
    let patient_history = anchor.clone().with_proof_age_max(Duration::from_secs(3_600));
    patient_history.verify_proof(&view, later).expect("unless the caller widens the bound on purpose");
    // Tampering: a value, a proof, the root, the attested meta, or a header certified by
    // keys outside the validator set.
    let mut tampered = view.clone();
    tampered.entries[0].value = Some(hex::encode(b"not the organisation"));
    assert!(matches!(anchor.verify_proof(&tampered, now), Err(VerifyError::BadProof(_))));
    let mut tampered = view.clone();
    tampered.entries[0].value = None;
    assert!(
        matches!(anchor.verify_proof(&tampered, now), Err(VerifyError::BadProof(_))),
        "presence cannot pass as absence"
    );
    let mut tampered = view.clone();
    tampered.entries[0].proof = "00".into();
    assert!(anchor.verify_proof(&tampered, now).is_err());
    let mut tampered = view.clone();
    tampered.state_root = Hash([1; 32]);
    assert!(matches!(anchor.verify_proof(&tampered, now), Err(VerifyError::RootMismatch)));
    let certified = |view: &ProofView| {
        let bytes = hex::decode(&view.certificate).unwrap();
        panacea_primitives::codec::decode::<CertifiedState, { 1 << 20 }>(&bytes).unwrap()
    };
    let mut forged = certified(&view);
    forged.state.tree_root = Hash([2; 32]);
    let mut tampered = view.clone();
    tampered.certificate = forged.to_hex();
    assert!(matches!(anchor.verify_proof(&tampered, now), Err(VerifyError::RootMismatch)), "another tree root");
    let mut forged = certified(&view);
    forged.meta[0] ^= 1;
    let mut tampered = view.clone();
    tampered.certificate = forged.to_hex();
    assert!(matches!(anchor.verify_proof(&tampered, now), Err(VerifyError::MetaMismatch)));
    // Another consortium of the same chain id: other validator keys.
    let other = Consortium::generate(2, 0);
    let other_genesis = std::fs::read_to_string(find_genesis(other.dir.path())).unwrap();
    let strangers = TrustAnchor::from_genesis_json(&other_genesis).unwrap();
    assert!(
        matches!(strangers.verify_proof(&view, now), Err(VerifyError::NotCertified(_))),
        "a header certified by keys outside the validator set is refused"
    );
    let mut forged = certified(&view);
    forged.qc = forged.header.justify.clone();
    let mut tampered = view.clone();
    tampered.certificate = forged.to_hex();
    assert!(
        matches!(anchor.verify_proof(&tampered, now), Err(VerifyError::NotCertified(_))),
        "a certificate of another block"
    );

    // Standing is checked for the whole life of a stream: the auditor suspended, its
    // open stream ends and its next signed read is refused.
    let mut watching = client.audit_stream(&authority, 0, &AuditQuery::default()).await.unwrap();
    tokio::time::timeout(deadline, watching.next()).await.unwrap().unwrap().unwrap();
    let auditor_id =
        panacea_contracts::identity::Identity::id_for(&OrgId::new("health-authority-0").unwrap(), &auditor.public());
    let suspend = Call::Identity(IdentityCall::Suspend { identity: auditor_id });
    commit(
        &client,
        &Transaction { chain_id: chain.clone(), signer: admin2.public(), nonce: 3, call: suspend }.sign(admin2),
    )
    .await;
    // Drain what the stream holds; it must end (not hang) once the suspension commits.
    let ended = tokio::time::timeout(common::DEADLINE, async {
        while let Some(event) = watching.next().await {
            if event.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the suspended auditor's stream ended");
    assert_eq!(status_of(client.accounting(&authority, &patient, None, 10).await), 401);
}

/// A signed request is bound to the node it is sent to, to its body, and to its key
/// (whatever the case of the key header); refusals record only keys that signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_is_bound_to_its_node_body_and_key() {
    let mut net = Consortium::generate(2, 0);
    net.edit_config(0, "signed_reads_per_second_per_key = 100", "signed_reads_per_second_per_key = 5");
    net.start(0);
    net.start(1);
    let chain = net.chain_id();
    let node0 = net.client(0);
    let admin = &net.nodes[0].admin;
    let signer = RequestSigner::new(admin.clone(), chain.clone());
    let http = reqwest::Client::new();
    let path = "/v1/refusals";
    let empty = Hash::digest(b"");
    let id0 = node0.node_id().await.unwrap();
    let send = |base: String, headers: [(&'static str, String); 4], body: Option<&'static str>| {
        let mut request = http.get(format!("{base}{path}"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // Signed for node 0: refused by node 1 (no replay on another node within the window).
    let for_node0 = signer.headers("GET", path, &empty, &id0).unwrap();
    assert_eq!(send(net.api_url(1), for_node0.clone(), None).await, 401, "another node refuses it");
    assert_eq!(send(net.api_url(0), for_node0, None).await, 403, "node 0 authenticates it (not an auditor)");
    // A body the signature does not cover is refused unread.
    let with_body = signer.headers("GET", path, &empty, &id0).unwrap();
    assert_eq!(send(net.api_url(0), with_body, Some("{\"padding\": 1}")).await, 400);
    // The per-key rate limit counts the key, not the header's spelling of it: five per
    // second, bursts of ten, over twenty requests alternating the case of the key.
    let mut limited = 0;
    for i in 0..20 {
        let mut headers = signer.headers("GET", path, &empty, &id0).unwrap();
        if i % 2 == 1 {
            headers[0].1 = headers[0].1.to_uppercase();
        }
        if send(net.api_url(0), headers, None).await == 429 {
            limited += 1;
        }
    }
    assert!(limited >= 5, "case variants of one key share its bucket ({limited} of 20 limited)");
    // A forged request naming another's key is refused, and the refusal does not record
    // that key as if it had signed.
    let physician = Keypair::from_seed([45; 32]);
    let mut forged = signer.headers("GET", path, &empty, &id0).unwrap();
    forged[0].1 = hex::encode(physician.public().to_bytes());
    assert_eq!(send(net.api_url(0), forged, None).await, 401);
    let auditor = Keypair::from_seed([46; 32]);
    let register = Call::Identity(IdentityCall::Register {
        key: auditor.public(),
        kind: IdentityKind::Staff { role: StaffRole::Auditor },
    });
    let hospital_auditor =
        Transaction { chain_id: chain.clone(), signer: admin.public(), nonce: 1, call: register }.sign(admin);
    commit(&node0, &hospital_auditor).await;
    // A hospital's privacy officer (role auditor) reads its own organisation's records,
    // not the refusal log of the node, which is for health authorities' auditors.
    let officer = RequestSigner::new(auditor.clone(), chain.clone());
    assert_eq!(status_of(node0.refusals(&officer, None, 10).await), 403);
    let forged_key = hex::encode(physician.public().to_bytes());
    let log = std::fs::read_to_string(net.nodes[0].home.join("node.log")).unwrap_or_default();
    assert!(!log.contains(&forged_key), "a key that did not sign is not logged as the refused key");
}

/// The genesis document somewhere under `dir`.
fn find_genesis(dir: &std::path::Path) -> std::path::PathBuf {
    for entry in walk(dir) {
        if entry.file_name().is_some_and(|n| n == "genesis.json") {
            return entry;
        }
    }
    panic!("no genesis.json under {}", dir.display());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
