//! Dynamic risk across organisations, on real node processes: hospital-0 assesses the sample
//! hospital and submits it, hospital-1's worker recomputes it and attests the same output,
//! the health authority's auditor reads the table and the attestation, and a pump found at
//! high risk is refused access until hospital-0 mitigates it and a new assessment clears it.

mod common;

use common::{Consortium, commit};
use panacea_client_sdk::RequestSigner;
use panacea_contracts::Call;
use panacea_contracts::access::{AccessCall, DecisionOutcome, DenyReason};
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::identity::{Identity, IdentityCall, IdentityKind};
use panacea_contracts::ids::{DecisionId, DocumentHash, OrgId, PatientRef};
use panacea_contracts::product::{Component, ProductCall, Sbom, SbomFormat, StandardClaim};
use panacea_contracts::risk::RiskCall;
use panacea_node::workers::risk::inventory::{assess_dir, submit_call};
use panacea_primitives::{Hash, Keypair};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assessment_is_attested_by_another_member_read_by_the_authority_and_enforced() {
    let mut net = Consortium::generate(2, 1);
    // hospital-1's risk worker attests hospital-0's assessments from the inventory
    // hospital-0 shared with it; on this test home it registers its own service identity.
    let shared = net.home(1).0.join("shared/hospital-0");
    std::fs::create_dir_all(&shared).unwrap();
    let sample = &crate_dir().join("../testnet/sample-hospital/hospital-a");
    for name in panacea_risk::DOCUMENT_NAMES {
        std::fs::copy(sample.join(name), shared.join(name)).unwrap();
    }
    panacea_node::keys::save(&net.home(1).0.join("keys/risk_key.json"), "signing", &Keypair::from_seed([63; 32]))
        .unwrap();
    net.edit_config(
        1,
        "poll_interval_ms = 60000\n",
        "poll_interval_ms = 200\nservice_key_file = \"keys/risk_key.json\"\n\n[[risk.attest]]\norg = \"hospital-0\"\ninventory_dir = \"shared/hospital-0\"\n",
    );
    net.start(0);
    net.start(1);
    let client = net.client(0);
    let chain = net.chain_id();
    let (admin0, admin1, admin2) = (net.nodes[0].admin.clone(), net.nodes[1].admin.clone(), net.nodes[2].admin.clone());

    // The pump's firmware is a registered product, attested by the authority's assessor
    // (no device is registered on firmware without an attestation in force).
    let assessor = Keypair::from_seed([64; 32]);
    let kind = IdentityKind::Staff { role: StaffRole::Assessor };
    commit(&client, &chain, &admin2, Call::Identity(IdentityCall::Register { key: assessor.public(), kind })).await;
    let sbom = Sbom {
        format: SbomFormat::CycloneDx,
        hash: Hash([2; 32]),
        components: vec![Component { name: "openssl".into(), version: "1.1.1k".into(), purl: None }],
    };
    let claims = vec![StandardClaim { standard: "IEC 81001-5-1".into(), evidence: Hash([3; 32]) }];
    let register = ProductCall::Register {
        manufacturer: "acme".into(),
        model: "p1".into(),
        firmware_version: "1.0.0".into(),
        firmware_hash: Hash([1; 32]),
        sbom,
        claims,
    };
    commit(&client, &chain, &admin0, Call::Product(register)).await;
    let expires = panacea_primitives::Timestamp(u64::try_from(chrono_now_ms()).unwrap() + 30 * 24 * 60 * 60 * 1000);
    let attest = ProductCall::Attest {
        product: Hash([1; 32]),
        standards: vec!["IEC 81001-5-1".into()],
        report: Hash([4; 32]),
        expires,
    };
    commit(&client, &chain, &assessor, Call::Product(attest)).await;

    // hospital-0 registers its pump; the authority registers its auditor.
    let pump = Keypair::from_seed([61; 32]);
    let kind = IdentityKind::Device {
        device_type: "infusion-pump".into(),
        manufacturer: "acme".into(),
        model: "p1".into(),
        firmware_hash: Hash([1; 32]),
        sbom_hash: Hash([2; 32]),
    };
    commit(&client, &chain, &admin0, Call::Identity(IdentityCall::Register { key: pump.public(), kind })).await;
    let auditor = Keypair::from_seed([62; 32]);
    let kind = IdentityKind::Staff { role: StaffRole::Auditor };
    commit(&client, &chain, &admin2, Call::Identity(IdentityCall::Register { key: auditor.public(), kind })).await;
    let pump_id = Identity::id_for(&OrgId::new("hospital-0").unwrap(), &pump.public());

    // hospital-0's inventory: the sample hospital, its first high-risk device the pump.
    let dir = tempfile::tempdir().unwrap();
    let sample = &crate_dir().join("../testnet/sample-hospital/hospital-a");
    for name in panacea_risk::DOCUMENT_NAMES {
        std::fs::copy(sample.join(name), dir.path().join(name)).unwrap();
    }
    // hospital-0's admins set its parameters on chain: a stricter impact scale.
    let parameters = panacea_contracts::risk::RiskParameters {
        attackers: vec![(panacea_contracts::risk::AttackerProfile::Professional, [0, 0, 0, 0, 0])],
        impact_thresholds: [1, 2, 3],
        likelihood_thresholds: [1_000, 2_500, 5_000],
    };
    commit(&client, &chain, &admin0, Call::Risk(RiskCall::SetParameters { parameters: parameters.clone() })).await;
    let member = RequestSigner::new(admin1.clone(), chain.clone());
    let hospital_0 = OrgId::new("hospital-0").unwrap();
    // Read through the other node: its copy of the block may trail node 0's receipt.
    let reader = net.client(1);
    common::eventually("hospital-1's node has applied the parameters", || async {
        reader.risk_parameters(&member, &hospital_0).await.is_ok_and(|p| p.is_some())
    })
    .await;
    let on_chain = reader.risk_parameters(&member, &hospital_0).await.unwrap().expect("parameters set");
    assert_eq!(on_chain, parameters, "any member reads them: attesting workers apply them");
    let plain = assess_dir(dir.path(), None).unwrap();
    let assessed = assess_dir(dir.path(), Some(&on_chain)).unwrap();
    assert_ne!(plain.assessment.hash(), assessed.assessment.hash(), "the parameters change the assessment");
    let high = assessed.assessment.high_risk_devices.first().expect("a device at high risk").clone();
    std::fs::write(dir.path().join("identities.json"), serde_json::json!({ high: pump_id.to_string() }).to_string())
        .unwrap();
    let salt = dir.path().join("survey.salt");
    let call = submit_call(dir.path(), &assessed, &salt, 0).unwrap();
    let assessment = commit(&client, &chain, &admin0, Call::Risk(call)).await;

    // hospital-1's worker recomputes it from the inventory shared with it, under hospital-0's
    // parameters, and attests the same output.
    let again = assess_dir(dir.path(), Some(&on_chain)).unwrap();
    let output = Hash::from_hex(&again.assessment.hash()).unwrap();
    let auditor_view = RequestSigner::new(auditor.clone(), chain.clone());
    common::eventually("hospital-1's worker attests the assessment", || async {
        let view = client.risk(&auditor_view, &OrgId::new("hospital-0").unwrap()).await;
        view.is_ok_and(|v| v.assessments.first().is_some_and(|a| a.id == assessment && !a.attestations.is_empty()))
    })
    .await;

    // The authority reads it through any node; hospital-1 may not read hospital-0's table.
    let authority = RequestSigner::new(auditor.clone(), chain.clone());
    common::eventually("hospital-1's node has applied the attestation", || async {
        reader
            .risk(&authority, &hospital_0)
            .await
            .is_ok_and(|v| v.assessments.first().is_some_and(|a| !a.attestations.is_empty()))
    })
    .await;
    let view = reader.risk(&authority, &hospital_0).await.unwrap();
    assert_eq!(view.assessments[0].output, output);
    assert_eq!(view.assessments[0].attestations[0].org, OrgId::new("hospital-1").unwrap());
    assert_eq!(view.quarantined[0].device, pump_id);
    let stranger = RequestSigner::new(admin1.clone(), chain.clone());
    assert!(net.client(1).risk(&stranger, &hospital_0).await.is_err());

    // The pump is refused whatever the consents say, until mitigated and cleared.
    let ask = Call::Access(AccessCall::Request {
        patient: PatientRef(Hash([7; 32])),
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose: Purpose::Treatment,
        custodian: hospital_0.clone(),
        document: None,
        data_time: None,
        justification: None,
    });
    let pump_signer = RequestSigner::new(pump.clone(), chain.clone());
    let decided = commit(&client, &chain, &pump, ask.clone()).await;
    let view = client.decision(&pump_signer, &DecisionId(decided)).await.unwrap();
    assert_eq!(view.decision.outcome, DecisionOutcome::Deny(DenyReason::DeviceQuarantined));
    assert_eq!(view.reason, "device-quarantined");
    let record = DocumentHash(Hash([5; 32]));
    commit(&client, &chain, &admin0, Call::Risk(RiskCall::Mitigate { device: pump_id, record })).await;
    std::fs::write(dir.path().join("identities.json"), "{}").unwrap();
    let call = submit_call(dir.path(), &again, &salt, 0).unwrap();
    commit(&client, &chain, &admin0, Call::Risk(call)).await;
    let decided = commit(&client, &chain, &pump, ask).await;
    let view = client.decision(&pump_signer, &DecisionId(decided)).await.unwrap();
    assert_eq!(view.reason, "no-applicable-consent", "back under the consents once cleared");
    assert!(client.risk(&authority, &hospital_0).await.unwrap().quarantined.is_empty());
}

/// This crate's folder, as the test runner says at run time (a path baked in at compile time
/// goes stale when another clone sharing the target folder built the binary last).
fn crate_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}

fn chrono_now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
}
