//! Properties of the whole state-transition function.

use panacea_contracts::access::AccessCall;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::{
    ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType,
};
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{ConsentId, DocumentHash, IdentityId};
use panacea_contracts::state::{Meta, STATE_PREFIX, Store};
use panacea_contracts::testing::{Chain, key, org, patient};
use panacea_contracts::{Call, ErrorCode, Outcome, SignedTransaction, Transaction};
use panacea_primitives::Hash;
use proptest::prelude::*;

/// Active privacy terms for `label` that permit everything.
pub(crate) fn permit_all(label: &str) -> ConsentTerms {
    ConsentTerms {
        patient: patient(label),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec![],
        policy_rule: PolicyRule::OptIn,
        verification: vec![],
        provision: Provision::all(ProvisionType::Permit),
    }
}

fn consent_call(label: &str) -> Call {
    Call::Consent(ConsentCall::Record { terms: permit_all(label), form_hash: Some(DocumentHash(Hash([1; 32]))) })
}

#[test]
fn the_same_block_from_the_same_state_gives_the_same_root() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let txs: Vec<SignedTransaction> = (0..20).map(|i| chain.sign(&clerk, consent_call(&format!("p{i}")))).collect();
    let first = chain.dry_run(&txs);
    let second = chain.dry_run(&txs);
    assert_eq!(first.state_root, second.state_root);
    assert_eq!(first.writes, second.writes);
    assert_eq!(first.receipts, second.receipts);
    assert_ne!(first.state_root, chain.meta().state_root(), "the block changed state");
}

fn module_state(store: &impl Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    store.scan(STATE_PREFIX, None, 100_000).unwrap().into_iter().filter(|(k, _)| !k.starts_with(b"s/nonce/")).collect()
}

#[test]
fn a_failed_call_leaves_state_unchanged_but_for_the_nonce() {
    let mut chain = Chain::new();
    let (nurse, id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    let before = module_state(&chain.store);
    let audit_before = chain.meta().audit_count;
    let other_admin = chain.admin("hospital-b");
    let receipt = chain.submit(&other_admin, Call::Identity(IdentityCall::Revoke { identity: id }));
    assert!(matches!(receipt.outcome, Outcome::Failed { code: ErrorCode::Unauthorized, .. }));
    assert_eq!(module_state(&chain.store), before);
    assert_eq!(chain.meta().audit_count, audit_before);
    // The nonce was consumed: the same transaction cannot be replayed.
    let replay = Transaction {
        chain_id: panacea_contracts::testing::chain_id(),
        signer: other_admin.public(),
        nonce: 1,
        call: Call::Identity(IdentityCall::Revoke { identity: id }),
    }
    .sign(&other_admin);
    let outcome = chain.block(&[replay]);
    assert!(matches!(outcome.receipts[0].outcome, Outcome::Failed { code: ErrorCode::BadNonce, .. }));
    let _ = nurse;
}

#[test]
fn transactions_are_checked_before_they_run() {
    let mut chain = Chain::new();
    let admin = chain.admin("hospital-a");
    let call = Call::Identity(IdentityCall::Register {
        key: key("x").public(),
        kind: IdentityKind::Service { name: "ehr".into() },
    });
    // Wrong chain.
    let wrong = Transaction {
        chain_id: panacea_primitives::ChainId::new("other").unwrap(),
        signer: admin.public(),
        nonce: 1,
        call: call.clone(),
    }
    .sign(&admin);
    // Bad signature: signed by another key.
    let mut forged = Transaction {
        chain_id: panacea_contracts::testing::chain_id(),
        signer: admin.public(),
        nonce: 1,
        call: call.clone(),
    }
    .sign(&key("mallory"));
    forged.tx.signer = admin.public();
    // Unknown signer.
    let stranger = Transaction {
        chain_id: panacea_contracts::testing::chain_id(),
        signer: key("stranger").public(),
        nonce: 1,
        call: call.clone(),
    }
    .sign(&key("stranger"));
    // Wrong nonce.
    let early =
        Transaction { chain_id: panacea_contracts::testing::chain_id(), signer: admin.public(), nonce: 5, call }
            .sign(&admin);
    let outcome = chain.block(&[wrong, forged, stranger, early]);
    let codes: Vec<ErrorCode> = outcome
        .receipts
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Failed { code, .. } => *code,
            Outcome::Ok { .. } => panic!("should fail"),
        })
        .collect();
    assert_eq!(
        codes,
        vec![ErrorCode::WrongChain, ErrorCode::BadSignature, ErrorCode::UnknownSigner, ErrorCode::BadNonce]
    );
    assert_eq!(chain.meta().audit_count, 0);
}

#[test]
fn state_proofs_verify_against_the_tree_root() {
    let mut chain = Chain::new();
    let (_, id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    let meta: Meta = chain.meta();
    let version = meta.tree_version.unwrap();
    let present = [b"s/identity/".as_slice(), id.0.as_bytes()].concat();
    let proof = panacea_contracts::state::authenticated::prove(&chain.store, version, &present).unwrap();
    assert!(proof.value.is_some());
    assert!(proof.verify(meta.tree_root));
    let absent = [b"s/identity/".as_slice(), &[0u8; 32]].concat();
    let proof = panacea_contracts::state::authenticated::prove(&chain.store, version, &absent).unwrap();
    assert!(proof.value.is_none());
    assert!(proof.verify(meta.tree_root), "exclusion proof");
    let mut tampered = panacea_contracts::state::authenticated::prove(&chain.store, version, &present).unwrap();
    tampered.value = Some(b"forged".to_vec());
    assert!(!tampered.verify(meta.tree_root));
    assert!(!proof.verify(Hash([9; 32])), "wrong root");
}

#[derive(Debug, Clone)]
enum Step {
    Register(u8, u8),
    Suspend(u8, u8),
    Revoke(u8, u8),
    Record(u8, u8),
    Revoke2(u8, u8),
    Request(u8, u8, bool),
    Close(u8, u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3, 0u8..8).prop_map(|(a, b)| Step::Register(a, b)),
        (0u8..3, 0u8..8).prop_map(|(a, b)| Step::Suspend(a, b)),
        (0u8..3, 0u8..8).prop_map(|(a, b)| Step::Revoke(a, b)),
        (0u8..8, 0u8..4).prop_map(|(a, b)| Step::Record(a, b)),
        (0u8..8, 0u8..8).prop_map(|(a, b)| Step::Revoke2(a, b)),
        (0u8..8, 0u8..4, any::<bool>()).prop_map(|(a, b, c)| Step::Request(a, b, c)),
        (0u8..8, 0u8..8).prop_map(|(a, b)| Step::Close(a, b)),
    ]
}

const ORGS: [&str; 3] = ["hospital-a", "hospital-b", "authority"];
const ROLES: [StaffRole; 4] = [StaffRole::Physician, StaffRole::Nurse, StaffRole::Administrative, StaffRole::Auditor];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random sequences of calls by random signers never panic, always produce a receipt,
    /// and keep the audit log a valid hash chain.
    #[test]
    fn random_call_sequences_never_panic(steps in prop::collection::vec(step(), 1..40)) {
        let mut chain = Chain::new();
        let staff_key = |s: u8| key(&format!("staff-{s}"));
        let staff_id = |o: u8, s: u8| panacea_contracts::identity::Identity::id_for(&org(ORGS[usize::from(o)]), &staff_key(s).public());
        let mut consents: Vec<ConsentId> = Vec::new();
        let mut decisions = Vec::new();
        for step in steps {
            let (signer, call) = match step {
                Step::Register(o, s) => (chain.admin(ORGS[usize::from(o)]), Call::Identity(IdentityCall::Register { key: staff_key(s).public(), kind: IdentityKind::Staff { role: ROLES[usize::from(s) % 4] } })),
                Step::Suspend(o, s) => (chain.admin(ORGS[usize::from(o)]), Call::Identity(IdentityCall::Suspend { identity: staff_id(o, s) })),
                Step::Revoke(o, s) => (chain.admin(ORGS[usize::from(o)]), Call::Identity(IdentityCall::Revoke { identity: staff_id(o, s) })),
                Step::Record(s, p) => (staff_key(s), consent_call(&format!("p{p}"))),
                Step::Revoke2(s, c) => {
                    let consent = consents.get(usize::from(c) % consents.len().max(1)).copied().unwrap_or(ConsentId(Hash([c; 32])));
                    (staff_key(s), Call::Consent(ConsentCall::Revoke { consent, form_hash: Some(DocumentHash(Hash([2; 32]))) }))
                }
                Step::Request(s, p, emergency) => (staff_key(s), Call::Access(AccessCall::Request {
                    patient: patient(&format!("p{p}")),
                    data_class: DataClass::Medications,
                    resource_type: None,
                    purpose: if emergency { Purpose::EmergencyTreatment } else { Purpose::Treatment },
                    custodian: org("hospital-a"),
                    document: None,
                    data_time: None,
                    justification: emergency.then_some(DocumentHash(Hash([3; 32]))),
                })),
                Step::Close(s, d) => {
                    let decision = decisions.get(usize::from(d) % decisions.len().max(1)).copied().unwrap_or(panacea_contracts::ids::DecisionId(Hash([d; 32])));
                    (staff_key(s), Call::Access(AccessCall::CloseReview { decision, outcome: panacea_contracts::access::ReviewOutcome::Justified, notes: None }))
                }
            };
            let receipt = chain.submit(&signer, call.clone());
            if receipt.is_ok() {
                match call {
                    Call::Consent(ConsentCall::Record { .. }) => consents.push(ConsentId(receipt.tx)),
                    Call::Access(AccessCall::Request { .. }) => decisions.push(panacea_contracts::ids::DecisionId(receipt.tx)),
                    _ => {}
                }
            }
        }
        let count = chain.meta().audit_count;
        prop_assert_eq!(panacea_contracts::audit::verify_chain(&chain.store).unwrap(), Ok(count));
        // No organisation acted for another: every identity change was made by the
        // identity's own organisation (or the identity itself).
        for seq in 0..count {
            let event = panacea_contracts::audit::event(&chain.store, seq).unwrap().unwrap();
            if event.entity.identity.is_some() && event.agents.len() == 2 {
                prop_assert_eq!(&event.agents[0].org, &event.agents[1].org, "event {}", seq);
            }
        }
        let _: Option<IdentityId> = None;
    }
}

/// A faulty leader commits a copy of a genuine transaction with a broken signature: the
/// copy fails under its own id, and the genuine transaction, committed later, executes
/// (its id was not recorded as failed).
#[test]
fn a_copy_with_a_broken_signature_does_not_shadow_the_genuine_transaction() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let genuine = chain.sign(&clerk, consent_call("p-shadow"));
    let mut broken = genuine.clone();
    broken.signature.0[0] ^= 1;
    assert_ne!(broken.id(), genuine.id(), "the id covers the signature");
    let first = chain.block(std::slice::from_ref(&broken));
    assert_eq!(first.receipts[0].tx, broken.id());
    assert!(matches!(first.receipts[0].outcome, Outcome::Failed { code: ErrorCode::BadSignature, .. }));
    let second = chain.block(std::slice::from_ref(&genuine));
    assert_eq!(second.receipts[0].tx, genuine.id());
    assert!(second.receipts[0].is_ok(), "{:?}", second.receipts[0]);
    let id = ConsentId(genuine.id());
    assert!(panacea_contracts::consent::consent(&chain.store, &id).unwrap().is_some());
}
