#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use panacea_contracts::access::AccessCall;
use panacea_contracts::codes::{DataClass, Purpose, StaffRole};
use panacea_contracts::consent::{
    ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType, Verification,
};
use panacea_contracts::ids::{ConsentId, DocumentHash};
use panacea_contracts::testing::{Chain, org, patient};
use panacea_contracts::{Call, Outcome, SignedTransaction};
use panacea_primitives::Hash;

use super::*;

fn terms(label: &str) -> ConsentTerms {
    ConsentTerms {
        patient: patient(label),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec!["59284-0".into()],
        policy_rule: PolicyRule::OptIn,
        verification: vec![Verification { verified: true, date: None }],
        provision: Provision::all(ProvisionType::Permit),
    }
}

fn form() -> Option<DocumentHash> {
    Some(DocumentHash(Hash([3; 32])))
}

fn ask(label: &str, purpose: Purpose, justification: Option<DocumentHash>) -> Call {
    Call::Access(AccessCall::Request {
        patient: patient(label),
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose,
        custodian: org("hospital-a"),
        document: Some(DocumentHash(Hash([4; 32]))),
        data_time: None,
        justification,
    })
}

/// Executes `txs` as the next block of `chain` and reads it back as the worker would.
fn block_of(chain: &mut Chain, txs: Vec<SignedTransaction>) -> ChainBlock {
    let audit_from = chain.meta().audit_count;
    let outcome = chain.block(&txs);
    let mut events = outcome.block_events.clone();
    for receipt in &outcome.receipts {
        if let Outcome::Ok { events: logged } = &receipt.outcome {
            events.extend(logged.iter().cloned());
        }
    }
    let (decision_ids, consent_versions) = records_named(&events);
    let decisions = decision_ids
        .iter()
        .map(|id| panacea_contracts::access::access_decision(&chain.store, id).unwrap().unwrap())
        .collect();
    let consents = consent_versions
        .iter()
        .map(|(id, v)| panacea_contracts::consent::consent_version(&chain.store, id, *v).unwrap().unwrap())
        .collect();
    ChainBlock {
        height: chain.height,
        id: Hash([7; 32]),
        parent: Some(Hash([6; 32])),
        epoch: 0,
        round: 3,
        author: 1,
        time: chain.time,
        state_root: outcome.state_root,
        audit_from,
        transactions: txs.into_iter().zip(outcome.receipts).collect(),
        events,
        decisions,
        consents,
    }
}

/// A chain where hospital-a recorded a consent for `p1`, and a block in which hospital-b's
/// doctor is permitted for p1, denied for p2 and breaks the glass for p3, and a call fails.
fn accesses() -> (Chain, ChainBlock, ConsentId) {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "doctor");
    let record = chain.sign(&clerk, Call::Consent(ConsentCall::Record { terms: terms("p1"), form_hash: form() }));
    let consent = ConsentId(record.id());
    let recorded = block_of(&mut chain, vec![record]);
    let rows = rows(&recorded).unwrap();
    assert_eq!(rows.consents.len(), 1);
    let txs = vec![
        chain.sign(&doctor, ask("p1", Purpose::Treatment, None)),
        chain.sign(&doctor, ask("p2", Purpose::Treatment, None)),
        chain.sign(&doctor, ask("p3", Purpose::EmergencyTreatment, Some(DocumentHash(Hash([5; 32]))))),
        // Fails: no such consent.
        chain.sign(&clerk, Call::Consent(ConsentCall::Revoke { consent: ConsentId(Hash([9; 32])), form_hash: form() })),
    ];
    let block = block_of(&mut chain, txs);
    (chain, block, consent)
}

#[test]
fn a_block_of_accesses_becomes_its_transactions_events_and_decisions() {
    let (_, block, consent) = accesses();
    let rows = rows(&block).unwrap();
    assert_eq!(rows.block.height, i64::try_from(block.height.0).unwrap());
    assert_eq!(rows.block.transaction_count, 4);
    assert_eq!(rows.block.audit_count, 3, "one event per decision, none for the failed call");
    assert_eq!(rows.block.audit_from, i64::try_from(block.audit_from).unwrap());
    assert_eq!(rows.block.id, Hash([7; 32]).to_string());

    let calls: Vec<(&str, &str, bool)> =
        rows.transactions.iter().map(|t| (t.module.as_str(), t.call.as_str(), t.ok)).collect();
    assert_eq!(
        calls,
        [
            ("access", "request", true),
            ("access", "request", true),
            ("access", "request", true),
            ("consent", "revoke", false)
        ]
    );
    let failed = &rows.transactions[3];
    assert!(failed.error_code.is_some() && failed.error_message.is_some(), "{failed:?}");
    assert_eq!(rows.transactions.iter().map(|t| t.position).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(rows.transactions[0].body["access"]["request"]["purpose"], "TREAT");

    // Each event names the transaction that logged it, in order.
    let seqs: Vec<i64> = rows.events.iter().map(|e| e.seq).collect();
    let from = rows.block.audit_from;
    assert_eq!(seqs, [from, from + 1, from + 2]);
    for (event, tx) in rows.events.iter().zip(&rows.transactions) {
        assert_eq!(event.tx.as_deref(), Some(tx.id.as_str()));
        assert_eq!(event.requester_org.as_deref(), Some("hospital-b"));
        assert_eq!(event.decision.as_deref(), Some(tx.id.as_str()), "a decision's id is its request's");
    }
    let kinds: Vec<(&str, &str)> = rows.events.iter().map(|e| (e.kind.as_str(), e.outcome.as_str())).collect();
    assert_eq!(kinds, [("access-decision", "success"), ("access-decision", "denied"), ("break-glass", "success")]);

    let decisions: Vec<(&str, &str, &str)> =
        rows.decisions.iter().map(|d| (d.outcome.as_str(), d.reason.as_str(), d.purpose.as_str())).collect();
    assert_eq!(
        decisions,
        [
            ("permit", "permitted-by-consent", "TREAT"),
            ("deny", "no-applicable-consent", "TREAT"),
            ("break-glass", "break-glass", "ETREAT")
        ]
    );
    for (decision, event) in rows.decisions.iter().zip(&rows.events) {
        assert_eq!(decision.event_seq, event.seq);
        assert_eq!(decision.custodian, "hospital-a");
        assert_eq!(decision.requester_org, "hospital-b");
        assert_eq!(decision.data_class, "lab-results");
        assert_eq!(decision.patient, event.patient.clone().unwrap());
    }
    assert_eq!(rows.decisions[0].consents, serde_json::json!([[consent.to_string(), 1]]));
    assert!(rows.decisions[0].expires_at_ms.is_some() && rows.decisions[1].expires_at_ms.is_none());
    assert_eq!(rows.decisions[2].justification, Some(Hash([5; 32]).to_string()));
    assert!(rows.consents.is_empty());
}

#[test]
fn every_consent_version_becomes_a_row_with_its_change() {
    let (mut chain, _, consent) = accesses();
    let (clerk, _) = (panacea_contracts::testing::key("clerk"), ());
    let mut amended = terms("p1");
    amended.provision = Provision::all(ProvisionType::Deny);
    let amend = chain.sign(&clerk, Call::Consent(ConsentCall::Amend { consent, terms: amended, form_hash: form() }));
    let revoke = chain.sign(&clerk, Call::Consent(ConsentCall::Revoke { consent, form_hash: form() }));
    let block = block_of(&mut chain, vec![amend, revoke]);
    let rows = rows(&block).unwrap();
    let versions: Vec<(i32, &str, &str)> =
        rows.consents.iter().map(|c| (c.version, c.change.as_str(), c.status.as_str())).collect();
    assert_eq!(versions, [(2, "amended", "active"), (3, "revoked", "inactive")]);
    for (row, event) in rows.consents.iter().zip(&rows.events) {
        assert_eq!(row.consent_id, consent.to_string());
        assert_eq!(row.event_seq, event.seq);
        assert_eq!(row.patient, patient("p1").to_string());
        assert_eq!(row.recorder_org.as_deref(), Some("hospital-a"));
        assert!(row.recorder_identity.is_some() && row.recorder_key.is_none());
        assert_eq!(row.scope, "patient-privacy");
        assert_eq!(row.policy_rule, "OPTIN");
        assert_eq!(row.terms["patient"], serde_json::json!(patient("p1").to_string()));
    }
    assert_eq!(rows.consents[0].terms["provision"]["kind"], rows.consents[1].terms["provision"]["kind"]);
}

#[test]
fn a_block_that_does_not_hang_together_is_refused_not_skipped() {
    let (_, block, _) = accesses();

    let mut wrong_receipt = block.clone();
    wrong_receipt.transactions[1].1 = block.transactions[0].1.clone();
    assert!(matches!(rows(&wrong_receipt), Err(RowError::ReceiptMismatch { position: 1, .. })));

    let mut shifted = block.clone();
    shifted.audit_from += 1;
    assert!(matches!(rows(&shifted), Err(RowError::EventOutOfPlace { .. })));

    let mut lost_event = block.clone();
    lost_event.events.pop();
    assert!(matches!(rows(&lost_event), Err(RowError::StrayEvent { .. })));

    let mut lost_decision = block.clone();
    lost_decision.decisions.remove(1);
    assert!(matches!(rows(&lost_decision), Err(RowError::MissingRecord { .. })));
}

#[test]
fn genesis_has_no_parent_and_no_transactions() {
    let chain = Chain::new();
    let genesis = ChainBlock {
        height: panacea_primitives::Height(0),
        id: Hash([1; 32]),
        parent: None,
        epoch: 0,
        round: 0,
        author: 0,
        time: chain.time,
        state_root: chain.meta().state_root(),
        audit_from: 0,
        transactions: Vec::new(),
        events: Vec::new(),
        decisions: Vec::new(),
        consents: Vec::new(),
    };
    let rows = rows(&genesis).unwrap();
    assert_eq!(rows.block.parent, None);
    assert_eq!((rows.block.transaction_count, rows.block.audit_count), (0, 0));
    assert_eq!(rows.block.time_ms, i64::try_from(chain.time.as_millis()).unwrap());
}

#[test]
fn call_names_follow_the_api() {
    let call = Call::Consent(ConsentCall::Revoke { consent: ConsentId(Hash([9; 32])), form_hash: None });
    assert_eq!(call_name(&call), ("consent".to_string(), "revoke".to_string()));
}
