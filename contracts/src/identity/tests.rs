use super::*;
use crate::ErrorCode;
use crate::codes::StaffRole;
use crate::consent::ConsentCall;
use crate::ids::IdentityId;
use crate::testing::{Chain, error_code, key, org, patient};
use crate::tx::Call;

#[test]
fn register_and_resolve_staff() {
    let mut chain = Chain::new();
    let (_, id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    let stored = identity(&chain.store, &id).unwrap().unwrap();
    assert_eq!(stored.org, org("hospital-a"));
    assert_eq!(stored.kind, IdentityKind::Staff { role: StaffRole::Nurse });
    assert_eq!(stored.status, IdentityStatus::Active);
}

#[test]
fn no_organisation_acts_for_another() {
    let mut chain = Chain::new();
    let (_, id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    let other_admin = chain.admin("hospital-b");
    for call in [
        IdentityCall::Suspend { identity: id },
        IdentityCall::Revoke { identity: id },
        IdentityCall::RotateKey { identity: id, new_key: key("new").public() },
    ] {
        let receipt = chain.submit(&other_admin, Call::Identity(call));
        assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    }
    assert_eq!(identity(&chain.store, &id).unwrap().unwrap().status, IdentityStatus::Active);
    // Staff cannot manage identities either, not even in their own organisation.
    let (nurse2, _) = chain.staff("hospital-a", StaffRole::Nurse, "nurse2");
    let receipt = chain.submit(&nurse2, Call::Identity(IdentityCall::Revoke { identity: id }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
}

#[test]
fn revocation_takes_effect_from_the_next_block() {
    let mut chain = Chain::new();
    let (nurse, id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    let admin = chain.admin("hospital-a");
    // Revocation and an action by the nurse in the same block: the nurse still acts.
    let revoke = chain.sign(&admin, Call::Identity(IdentityCall::Revoke { identity: id }));
    let rotate =
        chain.sign(&nurse, Call::Identity(IdentityCall::RotateKey { identity: id, new_key: key("n2").public() }));
    let outcome = chain.block(&[revoke, rotate]);
    assert!(outcome.receipts[0].is_ok());
    assert_eq!(error_code(&outcome.receipts[1].outcome), Some(ErrorCode::Conflict), "rotating a key being revoked");
    // From the next block, the revoked identity cannot act.
    let receipt =
        chain.submit(&nurse, Call::Identity(IdentityCall::RotateKey { identity: id, new_key: key("n3").public() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Unauthorized));
    // And revocation is final.
    let receipt = chain.submit(&admin, Call::Identity(IdentityCall::Reactivate { identity: id }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
}

#[test]
fn rotation_retires_the_old_key() {
    let mut chain = Chain::new();
    let (nurse, id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    let new_key = key("nurse-2026");
    chain.ok(&nurse, Call::Identity(IdentityCall::RotateKey { identity: id, new_key: new_key.public() }));
    let receipt =
        chain.submit(&nurse, Call::Identity(IdentityCall::RotateKey { identity: id, new_key: key("x").public() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::UnknownSigner));
    assert_eq!(identity(&chain.store, &id).unwrap().unwrap().key, new_key.public());
}

#[test]
fn devices_are_registered_with_firmware_and_sbom_hashes() {
    let mut chain = Chain::new();
    let admin = chain.admin("hospital-a");
    let pump = key("pump");
    chain.attest_firmware(panacea_primitives::Hash([1; 32]), panacea_primitives::Hash([2; 32]));
    let kind = IdentityKind::Device {
        device_type: "infusion-pump".into(),
        manufacturer: "Acme Medical".into(),
        model: "IP-3000".into(),
        firmware_hash: panacea_primitives::Hash([1; 32]),
        sbom_hash: panacea_primitives::Hash([2; 32]),
    };
    let events = chain.ok(&admin, Call::Identity(IdentityCall::Register { key: pump.public(), kind: kind.clone() }));
    assert_eq!(events[0].kind, crate::audit::AuditKind::IdentityRegistered);
    let IdentityKind::Device { manufacturer, model, firmware_hash, sbom_hash, .. } = kind else { unreachable!() };
    let bad = IdentityKind::Device { device_type: String::new(), manufacturer, model, firmware_hash, sbom_hash };
    let receipt = chain.submit(&admin, Call::Identity(IdentityCall::Register { key: key("p2").public(), kind: bad }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument));
    // A key is registered once.
    let receipt = chain.submit(
        &admin,
        Call::Identity(IdentityCall::Register { key: pump.public(), kind: IdentityKind::Service { name: "x".into() } }),
    );
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
}

/// A chain with a nurse of hospital-a whose first key was rotated out to `nurse-2`, and who
/// was then revoked; returns the first key and the identity.
fn rotated_then_revoked() -> (Chain, panacea_primitives::Keypair, IdentityId) {
    let mut chain = Chain::new();
    let (nurse, id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    chain.ok(&nurse, Call::Identity(IdentityCall::RotateKey { identity: id, new_key: key("nurse-2").public() }));
    chain.ok(&chain.admin("hospital-a"), Call::Identity(IdentityCall::Revoke { identity: id }));
    (chain, nurse, id)
}

#[test]
fn a_revoked_identity_never_comes_back() {
    let (mut chain, nurse, id) = rotated_then_revoked();
    let admin = chain.admin("hospital-a");
    // Registering the first key again would give the same id.
    let receipt = chain.submit(
        &admin,
        Call::Identity(IdentityCall::Register {
            key: nurse.public(),
            kind: IdentityKind::Staff { role: StaffRole::Nurse },
        }),
    );
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    let stored = identity(&chain.store, &id).unwrap().unwrap();
    assert_eq!((stored.status, stored.key), (IdentityStatus::Revoked, key("nurse-2").public()));
    let receipt =
        chain.submit(&nurse, Call::Identity(IdentityCall::RotateKey { identity: id, new_key: key("n3").public() }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::UnknownSigner));
}

#[test]
fn a_rotated_out_key_serves_nobody_again() {
    let mut chain = Chain::new();
    let (nurse, id) = chain.staff("hospital-a", StaffRole::Nurse, "nurse");
    chain.ok(&nurse, Call::Identity(IdentityCall::RotateKey { identity: id, new_key: key("nurse-2").public() }));
    let old = nurse.public();
    let staff = IdentityKind::Staff { role: StaffRole::Physician };
    // Not as a new identity of another organisation, or of its own.
    for admin in [chain.admin("hospital-b"), chain.admin("hospital-a")] {
        let receipt = chain.submit(&admin, Call::Identity(IdentityCall::Register { key: old, kind: staff.clone() }));
        assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    }
    // Not as another identity's new key, nor as this identity's key again.
    let (other, other_id) = chain.staff("hospital-a", StaffRole::Nurse, "other");
    let receipt = chain.submit(&other, Call::Identity(IdentityCall::RotateKey { identity: other_id, new_key: old }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    let receipt = chain.submit(&key("nurse-2"), Call::Identity(IdentityCall::RotateKey { identity: id, new_key: old }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    // Not as a patient's key.
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let record =
        ConsentCall::Record { terms: crate::consent::tests::terms("p"), form_hash: crate::consent::tests::form() };
    chain.ok(&clerk, Call::Consent(record));
    let bind = ConsentCall::BindPatientKey {
        patient: patient("p"),
        key: old,
        form_hash: crate::consent::tests::identity_form(),
    };
    let receipt = chain.submit(&clerk, Call::Consent(bind));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    assert_eq!(crate::membership::key_owner(&chain.store, &old).unwrap(), None);
    assert_eq!(identity(&chain.store, &id).unwrap().unwrap().key, key("nurse-2").public());
}

#[test]
fn an_identity_is_never_registered_over_even_without_the_tombstone_of_its_first_key() {
    let (mut chain, nurse, id) = rotated_then_revoked();
    let admin = chain.admin("hospital-a");
    // A chain whose rotations predate key tombstones: the first key looks unused.
    let mut batch = crate::state::WriteBatch::new();
    batch.insert(crate::state::key("key-retired", &[&nurse.public().to_bytes()]), None);
    chain.store.apply(&batch);
    assert_eq!(crate::membership::retired_key_owner(&chain.store, &nurse.public()).unwrap(), None);
    let register = IdentityCall::Register { key: nurse.public(), kind: IdentityKind::Staff { role: StaffRole::Nurse } };
    let receipt = chain.submit(&admin, Call::Identity(register));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    assert_eq!(identity(&chain.store, &id).unwrap().unwrap().status, IdentityStatus::Revoked);
}
