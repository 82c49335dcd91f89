//! Properties of patient keys under random sequences of binds, replacements and revocations
//! by random signers.

use std::collections::BTreeSet;

use panacea_contracts::codes::StaffRole;
use panacea_contracts::consent::{
    BindingStatus, ConsentCall, PATIENT_KEYS_MAX, bound_patient, patient_key_binding, patient_keys,
};
use panacea_contracts::ids::DocumentHash;
use panacea_contracts::testing::{Chain, chain_id, key, patient};
use panacea_contracts::{Call, Outcome, Transaction, next_nonce};
use panacea_primitives::{Hash, Keypair, PublicKey};
use proptest::prelude::*;

use crate::transition::permit_all;

const PATIENTS: [&str; 2] = ["alice", "bob"];
const KEYS: u8 = 8;

#[derive(Debug, Clone)]
enum Step {
    /// Staff `s` binds key `k` to patient `p`.
    Bind(u8, u8, u8),
    /// Signer `who` replaces key `k` by key `n`.
    Replace(Who, u8, u8),
    /// Signer `who` revokes key `k`.
    Revoke(Who, u8),
    /// Patient key `k` records a consent for patient `p`.
    Record(u8, u8),
}

/// Who signs a replacement or revocation of a key.
#[derive(Debug, Clone)]
enum Who {
    /// Staff member `s`.
    Staff(u8),
    /// The key concerned itself.
    TheKey,
    /// Patient key `k`.
    Key(u8),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![(0u8..3).prop_map(Who::Staff), Just(Who::TheKey), (0..KEYS).prop_map(Who::Key)]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3, 0..KEYS, 0u8..2).prop_map(|(s, k, p)| Step::Bind(s, k, p)),
        (who(), 0..KEYS, 0..KEYS).prop_map(|(w, k, n)| Step::Replace(w, k, n)),
        (who(), 0..KEYS).prop_map(|(w, k)| Step::Revoke(w, k)),
        (0..KEYS, 0u8..2).prop_map(|(k, p)| Step::Record(k, p)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whoever signs, in whatever order: a patient has at most `PATIENT_KEYS_MAX` keys in
    /// force, each bound to that patient; a key whose binding ended never acts again; and
    /// every successful key call appends exactly one audit event, a failed one none.
    #[test]
    fn patient_keys_stay_bounded_and_an_ended_binding_is_final(steps in prop::collection::vec(step(), 1..64)) {
        let mut chain = Chain::new();
        let form = Some(DocumentHash(Hash([1; 32])));
        // hospital-a's clerk and nurse are custodians of both patients; hospital-b's
        // physician of neither.
        let staff: Vec<Keypair> = vec![
            chain.staff("hospital-a", StaffRole::Administrative, "clerk").0,
            chain.staff("hospital-a", StaffRole::Nurse, "nurse").0,
            chain.staff("hospital-b", StaffRole::Physician, "other").0,
        ];
        for label in PATIENTS {
            chain.ok(&staff[0], Call::Consent(ConsentCall::Record { terms: permit_all(label), form_hash: form }));
        }
        let patient_key = |k: u8| key(&format!("patient-key-{k}"));
        // The signer, and the form staff attach (patients attach none).
        let signer = |w: &Who, k: u8| match w {
            Who::Staff(s) => (staff[usize::from(*s)].clone(), Some(DocumentHash(Hash([3; 32])))),
            Who::TheKey => (patient_key(k), None),
            Who::Key(other) => (patient_key(*other), None),
        };
        let mut ended: BTreeSet<PublicKey> = BTreeSet::new();
        for step in steps {
            let (who, call) = match step {
                Step::Bind(s, k, p) => (staff[usize::from(s)].clone(), ConsentCall::BindPatientKey {
                    patient: patient(PATIENTS[usize::from(p)]),
                    key: patient_key(k).public(),
                    form_hash: DocumentHash(Hash([2; 32])),
                }),
                Step::Replace(w, k, n) => {
                    let (who, form_hash) = signer(&w, k);
                    (who, ConsentCall::ReplacePatientKey { key: patient_key(k).public(), new_key: patient_key(n).public(), form_hash })
                }
                Step::Revoke(w, k) => {
                    let (who, form_hash) = signer(&w, k);
                    (who, ConsentCall::RevokePatientKey { key: patient_key(k).public(), form_hash })
                }
                Step::Record(k, p) => (patient_key(k), ConsentCall::Record { terms: permit_all(PATIENTS[usize::from(p)]), form_hash: None }),
            };
            let before = chain.meta().audit_count;
            // The chain's own nonce, not the harness's count: a key that failed as an
            // unknown signer did not use one, and may be bound later.
            let nonce = next_nonce(&chain.store, &who.public()).unwrap();
            let tx = Transaction { chain_id: chain_id(), signer: who.public(), nonce, call: Call::Consent(call.clone()) };
            let receipt = chain.block(&[tx.sign(&who)]).receipts.remove(0);
            let after = chain.meta().audit_count;
            match &receipt.outcome {
                Outcome::Ok { events } => prop_assert_eq!((events.len(), after), (1, before + 1)),
                Outcome::Failed { .. } => prop_assert_eq!(after, before),
            }
            if receipt.is_ok() {
                match call {
                    ConsentCall::ReplacePatientKey { key, .. } | ConsentCall::RevokePatientKey { key, .. } => {
                        ended.insert(key);
                    }
                    ConsentCall::Record { .. } => prop_assert!(!ended.contains(&who.public()), "an ended key recorded a consent"),
                    _ => {}
                }
            }
            for label in PATIENTS {
                let keys = patient_keys(&chain.store, &patient(label)).unwrap();
                prop_assert!(keys.len() <= PATIENT_KEYS_MAX);
                for k in &keys {
                    prop_assert_eq!(bound_patient(&chain.store, k).unwrap(), Some(patient(label)));
                }
            }
            for k in &ended {
                prop_assert_eq!(bound_patient(&chain.store, k).unwrap(), None);
                let binding = patient_key_binding(&chain.store, k).unwrap().unwrap();
                prop_assert!(binding.status != BindingStatus::InForce);
            }
        }
    }
}
