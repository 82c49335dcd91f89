//! The toolkit registries on real node processes: a product attested by another member's
//! assessor admits a device and its revocation suspends it; a self-assessment read by its
//! organisation and the health authority (not by another hospital), with the regional
//! view; a machine-to-machine connection checked with a signed challenge and a proof, an
//! unexpected one reported; a training policy that refuses break-glass until the nurse's
//! credential is issued, which another member verifies with a proof.

mod common;

use std::time::Duration;

use common::{Consortium, commit};
use panacea_client_sdk::types::TxState;
use panacea_client_sdk::{ProvableRecord, RequestSigner, TrustAnchor};
use panacea_contracts::access::{AccessCall, DecisionOutcome, DenyReason};
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::connection::{ConnectionCall, ConnectionRule};
use panacea_contracts::csf::{CategoryTier, CsfCall, ElementProfile, OrgElement};
use panacea_contracts::identity::{Identity, IdentityCall, IdentityKind, IdentityStatus};
use panacea_contracts::ids::{DecisionId, DocumentHash, IdentityId, OrgId, PatientRef};
use panacea_contracts::product::{ProductCall, RevocationReason, StandardClaim};
use panacea_contracts::provable::Record;
use panacea_contracts::training::{GuardedAction, Requirement, TrainingCall, TrainingPolicy};
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{Hash, Keypair, Timestamp};

const DAY: u64 = 24 * 60 * 60 * 1000;

fn org(id: &str) -> OrgId {
    OrgId::new(id).unwrap()
}

/// Submits and waits; returns the receipt's error code, `None` for success.
async fn try_commit(
    client: &panacea_client_sdk::Client,
    chain: &panacea_primitives::ChainId,
    key: &Keypair,
    call: Call,
) -> Option<panacea_contracts::ErrorCode> {
    let nonce = client.next_nonce(&key.public()).await.unwrap();
    let tx = Transaction { chain_id: chain.clone(), signer: key.public(), nonce, call }.sign(key);
    let status = client.submit_and_wait(&tx, Duration::from_secs(60)).await.unwrap();
    assert_eq!(status.status, TxState::Committed);
    panacea_contracts::testing::error_code(&status.receipt.unwrap().outcome)
}

async fn register(
    client: &panacea_client_sdk::Client,
    chain: &panacea_primitives::ChainId,
    admin: &Keypair,
    org_id: &str,
    seed: u8,
    kind: IdentityKind,
) -> (Keypair, IdentityId) {
    let key = Keypair::from_seed([seed; 32]);
    commit(client, chain, admin, Call::Identity(IdentityCall::Register { key: key.public(), kind })).await;
    (key.clone(), Identity::id_for(&org(org_id), &key.public()))
}

fn staff(role: StaffRole) -> IdentityKind {
    IdentityKind::Staff { role }
}

fn service(name: &str) -> IdentityKind {
    IdentityKind::Service { name: name.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registries_have_consequences_and_are_read_by_whom_they_concern() {
    let mut net = Consortium::generate(2, 1);
    net.start(0);
    net.start(1);
    let client = net.client(0);
    let chain = net.chain_id();
    let (admin0, admin1, admin2) = (net.nodes[0].admin.clone(), net.nodes[1].admin.clone(), net.nodes[2].admin.clone());
    let genesis = std::fs::read_to_string(net.nodes[0].home.join("genesis.json")).unwrap();
    let anchor = TrustAnchor::from_genesis_json(&genesis).unwrap();
    let now = panacea_client_sdk::now();

    // --- Security by design ---------------------------------------------------------
    let (officer0, _) = register(&client, &chain, &admin0, "hospital-0", 70, staff(StaffRole::SecurityOfficer)).await;
    let (assessor, _) = register(&client, &chain, &admin2, "health-authority-0", 71, staff(StaffRole::Assessor)).await;
    let (auditor, _) = register(&client, &chain, &admin2, "health-authority-0", 72, staff(StaffRole::Auditor)).await;
    let sbom_doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
        {"type":"library","name":"openssl","version":"1.1.1k","purl":"pkg:generic/openssl@1.1.1k"}]}"#;
    let sbom = panacea_client_sdk::sbom::import_sbom(sbom_doc).unwrap();
    let firmware = Hash::digest(b"pump firmware 4.2.0");
    let pump_kind = IdentityKind::Device {
        device_type: "infusion-pump".into(),
        manufacturer: "acme".into(),
        model: "p1".into(),
        firmware_hash: firmware,
        sbom_hash: sbom.hash,
    };
    let register_product = ProductCall::Register {
        manufacturer: "acme".into(),
        model: "p1".into(),
        firmware_version: "4.2.0".into(),
        firmware_hash: firmware,
        sbom,
        claims: vec![StandardClaim { standard: "IEC 81001-5-1".into(), evidence: Hash([1; 32]) }],
    };
    commit(&client, &chain, &officer0, Call::Product(register_product)).await;
    let pump = Keypair::from_seed([73; 32]);
    let register_pump = Call::Identity(IdentityCall::Register { key: pump.public(), kind: pump_kind.clone() });
    assert_eq!(
        try_commit(&client, &chain, &admin0, register_pump.clone()).await,
        Some(panacea_contracts::ErrorCode::Conflict),
        "no device on firmware that no assessor attested"
    );
    let attest = ProductCall::Attest {
        product: firmware,
        standards: vec!["IEC 81001-5-1".into()],
        report: Hash([2; 32]),
        expires: Timestamp(now.as_millis() + 365 * DAY),
    };
    commit(&client, &chain, &assessor, Call::Product(attest)).await;
    commit(&client, &chain, &admin0, register_pump).await;
    let pump_id = Identity::id_for(&org("hospital-0"), &pump.public());
    let member1 = RequestSigner::new(admin1.clone(), chain.clone());
    let view = client.product(&member1, &firmware).await.unwrap();
    assert!(view.in_force);
    assert_eq!(view.devices, 1);
    assert_eq!(view.product.sbom.components[0].name, "openssl");
    let revoke =
        ProductCall::Revoke { product: firmware, reason: RevocationReason::VulnerableFirmware, record: Hash([3; 32]) };
    commit(&client, &chain, &assessor, Call::Product(revoke)).await;
    let member0 = RequestSigner::new(admin0.clone(), chain.clone());
    let suspended = client.identity(&member0, &pump_id).await.unwrap();
    assert_eq!(suspended.status, IdentityStatus::Suspended, "the revocation suspended the pump");
    assert!(!client.product(&member1, &firmware).await.unwrap().in_force);

    // --- Security governance ----------------------------------------------------------
    let tiers = |c: u8, t: u8, categories: &[&str]| -> Vec<CategoryTier> {
        categories
            .iter()
            .map(|category| CategoryTier {
                category: (*category).into(),
                current: c,
                target: t,
                evidence: Hash([c; 32]),
            })
            .collect()
    };
    let elements = vec![
        ElementProfile { element: OrgElement::Organisation, tiers: tiers(2, 3, &["GV.OC", "PR.AT"]) },
        ElementProfile { element: OrgElement::Department("radiology".into()), tiers: tiers(1, 3, &["ID.AM"]) },
    ];
    commit(&client, &chain, &officer0, Call::Csf(CsfCall::Submit { catalogue: "2.0".into(), elements })).await;
    let authority = RequestSigner::new(auditor.clone(), chain.clone());
    let posture = client.self_assessment(&authority, &org("hospital-0")).await.unwrap();
    assert_eq!((posture.versions, posture.overdue), (1, false));
    assert_eq!(posture.gaps[0].gap, 2, "radiology's ID.AM gap comes first");
    assert!(client.self_assessment(&member0, &org("hospital-0")).await.is_ok());
    assert!(client.self_assessment(&member1, &org("hospital-0")).await.is_err(), "not another hospital's");
    assert!(client.security_region(&member0).await.is_err(), "the regional view is for authorities");
    let region = client.security_region(&authority).await.unwrap();
    let overdue: Vec<&str> = region.members.iter().filter(|m| m.overdue).map(|m| m.org.as_str()).collect();
    assert_eq!(overdue, ["health-authority-0", "hospital-1"], "members without an assessment are overdue");
    let gv_oc = region.categories.iter().find(|c| c.category == "GV.OC").unwrap();
    assert_eq!((gv_oc.assessed, gv_oc.current), (1, [0, 1, 0, 0]));

    // --- Machine-to-machine connections ------------------------------------------------
    let (lab, lab_id) = register(&client, &chain, &admin0, "hospital-0", 74, service("lab analyser")).await;
    let (gateway, ehr_id) = register(&client, &chain, &admin1, "hospital-1", 75, service("ehr gateway")).await;
    let allow = ConnectionCall::Allow {
        source: lab_id,
        destination: ehr_id,
        protocol: "hl7-mllp".into(),
        purpose: "lab-results-upload".into(),
        expires: Timestamp(now.as_millis() + 30 * DAY),
    };
    let allowed_at = commit(&client, &chain, &admin0, Call::Connection(allow)).await;
    let height = client.transaction(&allowed_at).await.unwrap().height.unwrap();
    let gateway_signer = RequestSigner::new(gateway.clone(), chain.clone());
    let (challenge, signature) = panacea_client_sdk::sign_challenge(&chain, &lab, lab_id, ehr_id, "hl7-mllp", [9; 32]);
    let rule_id = ConnectionRule::id_for(&lab_id, &ehr_id, "hl7-mllp");
    common::eventually("the rule is attested by a certified block", || async {
        let verdict = net.client(1).verify_connection(&gateway_signer, &challenge, &signature).await.unwrap();
        verdict.expected
            && verdict.proof.as_ref().is_some_and(|p| {
                anchor.verify_proof(p, panacea_client_sdk::now()).is_ok_and(|v| {
                    v.height >= height
                        && v.record::<ConnectionRule>(&Record::ConnectionRule(rule_id)).unwrap().is_some()
                })
            })
    })
    .await;
    let (reverse, reverse_signature) =
        panacea_client_sdk::sign_challenge(&chain, &gateway, ehr_id, lab_id, "hl7-mllp", [8; 32]);
    let verdict = net.client(1).verify_connection(&gateway_signer, &reverse, &reverse_signature).await.unwrap();
    assert_eq!((verdict.expected, verdict.reason.as_deref()), (false, Some("no-rule")));
    let imposter = Keypair::from_seed([76; 32]);
    let (forged, forged_signature) =
        panacea_client_sdk::sign_challenge(&chain, &imposter, lab_id, ehr_id, "hl7-mllp", [7; 32]);
    let verdict = net.client(1).verify_connection(&gateway_signer, &forged, &forged_signature).await.unwrap();
    assert_eq!(verdict.reason.as_deref(), Some("bad-signature"));
    let stranger = RequestSigner::new(Keypair::from_seed([77; 32]), chain.clone());
    assert!(client.verify_connection(&stranger, &challenge, &signature).await.is_err(), "an outsider is refused");
    let report = ConnectionCall::ReportUnexpected {
        source: Some(ehr_id),
        destination: ehr_id,
        protocol: "ssh".into(),
        record: Hash([5; 32]),
    };
    commit(&client, &chain, &gateway, Call::Connection(report)).await;
    assert!(client.connections(&member1, &org("hospital-0")).await.is_err(), "another hospital's network map");
    assert_eq!(client.connections(&authority, &org("hospital-0")).await.unwrap().rules.len(), 1);

    // --- Training ---------------------------------------------------------------------
    let (trainer, trainer_id) = register(&client, &chain, &admin1, "hospital-1", 78, service("training")).await;
    let (nurse, nurse_id) = register(&client, &chain, &admin1, "hospital-1", 79, staff(StaffRole::Nurse)).await;
    let course = TrainingCall::DefineCourse {
        course: "emergency-access".into(),
        title: "Emergency access".into(),
        version: 1,
        minimum_version: 1,
        validity_days: 365,
    };
    commit(&client, &chain, &admin1, Call::Training(course)).await;
    let policy = TrainingPolicy {
        issuers: vec![trainer_id],
        requirements: vec![Requirement { action: GuardedAction::BreakGlass, course: "emergency-access".into() }],
    };
    commit(&client, &chain, &admin1, Call::Training(TrainingCall::SetPolicy { policy })).await;
    let break_glass = Call::Access(AccessCall::Request {
        patient: PatientRef(Hash([6; 32])),
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose: Purpose::EmergencyTreatment,
        custodian: org("hospital-0"),
        document: None,
        data_time: None,
        justification: Some(DocumentHash(Hash([7; 32]))),
    });
    let nurse_signer = RequestSigner::new(nurse.clone(), chain.clone());
    let refused = DecisionId(commit(&client, &chain, &nurse, break_glass.clone()).await);
    let decision = client.decision(&nurse_signer, &refused).await.unwrap();
    assert_eq!(decision.decision.outcome, DecisionOutcome::Deny(DenyReason::TrainingMissing));
    assert_eq!(decision.reason, "training-missing");
    assert_eq!(decision.decision.missing_training.as_deref(), Some("emergency-access"));
    let issue = TrainingCall::Issue {
        holder: nurse_id,
        course: "emergency-access".into(),
        version: 1,
        completed: panacea_client_sdk::now(),
    };
    let issued = commit(&client, &chain, &trainer, Call::Training(issue)).await;
    let granted = DecisionId(commit(&client, &chain, &nurse, break_glass).await);
    assert_eq!(client.decision(&nurse_signer, &granted).await.unwrap().decision.outcome, DecisionOutcome::BreakGlass);
    // Any member verifies the credential, with a proof from genesis.
    let held = client.credentials(&member0, &nurse_id).await.unwrap();
    assert!(held.credentials[0].current);
    let issued_height = client.transaction(&issued).await.unwrap().height.unwrap();
    let record = ProvableRecord::Credential(nurse_id, "emergency-access".into());
    let proved =
        client.verified_record_since(&member0, &anchor, &record, issued_height, Duration::from_secs(60)).await.unwrap();
    let credential: panacea_contracts::training::Credential =
        proved.record(&Record::Credential(nurse_id, "emergency-access".into())).unwrap().expect("proved present");
    assert_eq!(credential.issuer, trainer_id);
    assert_eq!(client.training(&member0, &org("hospital-1")).await.unwrap().courses.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nudges_reach_the_staff_they_concern_and_acknowledgements_are_counted() {
    use panacea_client_sdk::types::{NudgeKind, NudgeRecipient};
    let mut net = Consortium::generate(2, 1);
    net.start(0);
    net.start(1);
    let (custodian, requester) = (net.client(0), net.client(1));
    let chain = net.chain_id();
    let (admin0, admin1) = (net.nodes[0].admin.clone(), net.nodes[1].admin.clone());
    let (nurse, nurse_id) = register(&requester, &chain, &admin1, "hospital-1", 80, staff(StaffRole::Nurse)).await;
    let (officer, _) = register(&requester, &chain, &admin1, "hospital-1", 81, staff(StaffRole::SecurityOfficer)).await;
    let (auditor, _) = register(&requester, &chain, &admin0, "hospital-0", 82, staff(StaffRole::Auditor)).await;
    let patient = PatientRef(Hash([8; 32]));
    let ask = |justification: Option<DocumentHash>| {
        Call::Access(AccessCall::Request {
            patient,
            data_class: DataClass::LabResults,
            resource_type: None,
            purpose: if justification.is_some() { Purpose::EmergencyTreatment } else { Purpose::Treatment },
            custodian: org("hospital-0"),
            document: None,
            data_time: None,
            justification,
        })
    };
    commit(&requester, &chain, &nurse, ask(None)).await;
    let break_glass = commit(&requester, &chain, &nurse, ask(Some(DocumentHash(Hash([9; 32]))))).await;
    commit(&requester, &chain, &nurse, ask(None)).await;

    let nurse_signer = RequestSigner::new(nurse.clone(), chain.clone());
    let kinds = |page: &panacea_client_sdk::types::NudgePage| page.nudges.iter().map(|n| n.kind).collect::<Vec<_>>();
    common::eventually("the nurse's node nudges her", || async {
        requester
            .nudges(&nurse_signer, None, 50)
            .await
            .is_ok_and(|page| kinds(&page) == [NudgeKind::FirstCustodianAccess, NudgeKind::BreakGlassReview])
    })
    .await;
    let page = requester.nudges(&nurse_signer, None, 50).await.unwrap();
    assert_eq!(page.nudges[1].record, Some(break_glass), "the break-glass nudge names the decision");
    assert!(page.nudges.iter().all(|n| n.recipient == NudgeRecipient::Identity(nurse_id)));
    let text = serde_json::to_string(&page).unwrap();
    assert!(!text.contains(&patient.to_string()), "a nudge never names the patient");
    // Another organisation's node serves her nothing; the custodian's auditors get theirs.
    assert!(custodian.nudges(&nurse_signer, None, 50).await.is_err());
    let auditor_signer = RequestSigner::new(auditor.clone(), chain.clone());
    common::eventually("the custodian's auditors are nudged to review", || async {
        custodian.nudges(&auditor_signer, None, 50).await.is_ok_and(|page| {
            page.nudges.iter().any(|n| {
                n.kind == NudgeKind::BreakGlassReview && n.recipient == NudgeRecipient::Role(StaffRole::Auditor)
            })
        })
    })
    .await;
    // The security officer hears that the self-assessment is overdue (none was recorded).
    let officer_signer = RequestSigner::new(officer.clone(), chain.clone());
    common::eventually("the security officer is nudged", || async {
        requester
            .nudges(&officer_signer, None, 50)
            .await
            .is_ok_and(|page| page.nudges.iter().any(|n| n.kind == NudgeKind::SelfAssessmentOverdue))
    })
    .await;

    // The staff app's signed stream starts with the inbox.
    let mut stream =
        requester.signed_get_request(&nurse_signer, "/v1/nudges/stream").await.unwrap().send().await.unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !received.contains("break-glass-review") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await.expect("the stream answers").unwrap();
        received.push_str(&String::from_utf8_lossy(&chunk.expect("the stream stays open")));
    }
    assert!(received.contains("event: nudge") && received.contains("first-custodian-access"), "{received}");
    drop(stream);

    // Acknowledged once, by whom it is for; counted per kind and week.
    let first = page.nudges[0].id;
    assert!(requester.acknowledge_nudge(&auditor_signer, first).await.is_err(), "not another organisation's staff");
    let (nurse2, _) = register(&requester, &chain, &admin1, "hospital-1", 83, staff(StaffRole::Nurse)).await;
    let nurse2_signer = RequestSigner::new(nurse2, chain.clone());
    assert!(requester.acknowledge_nudge(&nurse2_signer, first).await.is_err(), "not another nurse's");
    let acked = requester.acknowledge_nudge(&nurse_signer, first).await.unwrap();
    assert_eq!(acked.acknowledged.map(|(who, _)| who), Some(nurse_id));
    assert!(requester.acknowledge_nudge(&nurse_signer, first).await.is_err(), "only once");
    let inbox = requester.nudges(&nurse_signer, None, 50).await.unwrap();
    assert_eq!(kinds(&inbox), [NudgeKind::BreakGlassReview], "an acknowledged nudge leaves the inbox");
    assert!(requester.nudge_rates(&nurse_signer, 4).await.is_err(), "rates are for the organisation's officers");
    let rates = requester.nudge_rates(&officer_signer, 4).await.unwrap();
    let first_access = rates.rates.iter().find(|r| r.kind == NudgeKind::FirstCustodianAccess).unwrap();
    assert_eq!((first_access.sent, first_access.acknowledged), (1, 1));
    let reviews = rates.rates.iter().find(|r| r.kind == NudgeKind::BreakGlassReview).unwrap();
    assert_eq!((reviews.sent, reviews.acknowledged), (1, 0));
}
