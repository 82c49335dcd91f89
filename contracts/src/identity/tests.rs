use super::*;
use crate::ErrorCode;
use crate::codes::StaffRole;
use crate::testing::{Chain, error_code, key, org};
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
