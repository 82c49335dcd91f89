//! The worked example of `docs/sdk.md`, against the local consortium of `./testnet/run.sh`:
//! hospital-0 records a patient's consent, hospital-1 requests access to the patient's lab
//! results, and the regional health authority verifies the decision and the patient's
//! accounting of disclosures.
//!
//! ```text
//! ./testnet/run.sh                      # in one terminal
//! cargo run -p panacea-client-sdk --example consent_flow -- .panacea-local
//! ```
#![allow(clippy::print_stdout, clippy::unwrap_used, reason = "an example prints its steps")]

use std::path::Path;
use std::time::Duration;

use panacea_client_sdk::types::{AuditQuery, TxState};
use panacea_client_sdk::{Client, RequestSigner};
use panacea_contracts::access::{AccessCall, DecisionOutcome};
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::{
    ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType,
};
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{DecisionId, DocumentHash, OrgId, PatientRef};
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{ChainId, Hash, Keypair};

/// Reads the secret seed of a key file written by `panacea-node testnet` or `panacea keys new`.
fn key_file(path: &Path) -> Keypair {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut seed = [0u8; 32];
    hex::decode_to_slice(json["secret_seed"].as_str().unwrap(), &mut seed).unwrap();
    Keypair::from_seed(seed)
}

/// Signs `call` as `key` with its next nonce, submits it and waits for the commit.
async fn submit(client: &Client, chain: &ChainId, key: &Keypair, call: Call) -> Hash {
    let nonce = client.next_nonce(&key.public()).await.unwrap();
    let tx = Transaction { chain_id: chain.clone(), signer: key.public(), nonce, call }.sign(key);
    let status = client.submit_and_wait(&tx, Duration::from_secs(30)).await.unwrap();
    assert_eq!(status.status, TxState::Committed, "{status:?}");
    let receipt = status.receipt.unwrap();
    assert!(receipt.is_ok(), "{receipt:?}");
    println!("  committed at height {} ({})", status.height.unwrap(), status.id);
    status.id
}

async fn api(consortium: &Path, node: usize) -> Client {
    let text = std::fs::read_to_string(consortium.join(format!("node{node}/addresses.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    Client::new(json["api"].as_str().unwrap()).unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let consortium = std::env::args().nth(1).unwrap_or_else(|| ".panacea-local".into());
    let consortium = Path::new(&consortium);
    let hospital0 = api(consortium, 0).await;
    let hospital1 = api(consortium, 1).await;
    let chain = ChainId::new(hospital0.status().await.unwrap().chain_id).unwrap();
    let admin0 = key_file(&consortium.join("node0/keys/admin_key.json"));
    let admin1 = key_file(&consortium.join("node1/keys/admin_key.json"));
    let auditor = key_file(&consortium.join("node4/keys/admin_key.json"));

    // Each hospital registers a physician (fresh keys, so the example can run again).
    let (mut seed0, mut seed1) = ([0u8; 32], [0u8; 32]);
    seed0[..8].copy_from_slice(&std::process::id().to_le_bytes().repeat(2));
    seed1.copy_from_slice(&Hash::digest(&seed0).0);
    let (physician0, physician1) = (Keypair::from_seed(seed0), Keypair::from_seed(seed1));
    println!("hospital-0 and hospital-1 register a physician each");
    for (client, admin, physician) in [(&hospital0, &admin0, &physician0), (&hospital1, &admin1, &physician1)] {
        let kind = IdentityKind::Staff { role: StaffRole::Physician };
        submit(client, &chain, admin, Call::Identity(IdentityCall::Register { key: physician.public(), kind })).await;
    }

    // hospital-0 records the patient's consent to share with any member, attesting the
    // signed form by its hash (the form itself stays at the hospital).
    let patient = PatientRef(Hash::digest(format!("hospital-0 MRN salt {}", std::process::id()).as_bytes()));
    let terms = ConsentTerms {
        patient,
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec!["59284-0".into()],
        policy_rule: PolicyRule::OptIn,
        verification: Vec::new(),
        provision: Provision::all(ProvisionType::Permit),
    };
    println!("hospital-0 records the patient's consent");
    let form_hash = Some(DocumentHash(Hash::digest(b"the signed consent form")));
    submit(&hospital0, &chain, &physician0, Call::Consent(ConsentCall::Record { terms, form_hash })).await;

    // hospital-1's physician asks for the lab results: the chain decides and logs it.
    println!("hospital-1 requests the patient's lab results from hospital-0");
    let request = AccessCall::Request {
        patient,
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose: Purpose::Treatment,
        custodian: OrgId::new("hospital-0").unwrap(),
        document: None,
        data_time: None,
        justification: None,
    };
    let decision = DecisionId(submit(&hospital1, &chain, &physician1, Call::Access(request)).await);

    // The health authority, trusting only its signature-checked view of committed state,
    // reads the decision and the patient's accounting of disclosures.
    let authority = RequestSigner::new(auditor, chain.clone());
    let audit = api(consortium, 4).await;
    let found = audit.decision(&authority, &decision).await.unwrap();
    println!(
        "the health authority reads decision {}: {} ({})",
        found.decision.id,
        found.decision.reason_code(),
        found.reason
    );
    let found = found.decision;
    assert_eq!(found.outcome, DecisionOutcome::Permit);
    let accounting = audit.accounting(&authority, &patient, None, 100).await.unwrap();
    for d in &accounting.disclosures {
        println!("  disclosed to {:?}: {:?} for {:?}", d.recipient_org, d.data_class, d.purpose);
    }
    let events = audit.audit_events(&authority, &AuditQuery { patient: Some(patient), ..AuditQuery::default() }).await;
    println!("  {} audit events about the patient", events.unwrap().events.len());
}
