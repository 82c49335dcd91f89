use panacea_primitives::Hash;

use super::*;
use crate::ErrorCode;
use crate::audit::AuditKind;
use crate::codes::StaffRole;
use crate::identity::{Identity, IdentityCall, IdentityKind, IdentityStatus};
use crate::ids::IdentityId;
use crate::testing::{Chain, error_code, key, org};
use crate::tx::Call;

const DAY: u64 = 24 * 60 * 60 * 1000;

fn pump_kind(firmware: u8) -> IdentityKind {
    IdentityKind::Device {
        device_type: "infusion-pump".into(),
        manufacturer: "acme".into(),
        model: "p1".into(),
        firmware_hash: Hash([firmware; 32]),
        sbom_hash: Hash([2; 32]),
    }
}

fn register_pump(chain: &mut Chain, label: &str, firmware: u8) -> (crate::Receipt, IdentityId) {
    let admin = chain.admin("hospital-a");
    let pump = key(label);
    let receipt =
        chain.submit(&admin, Call::Identity(IdentityCall::Register { key: pump.public(), kind: pump_kind(firmware) }));
    (receipt, Identity::id_for(&org("hospital-a"), &pump.public()))
}

fn register_product(chain: &mut Chain, signer: &panacea_primitives::Keypair, firmware: u8) -> crate::Receipt {
    chain.submit(
        signer,
        Call::Product(ProductCall::Register {
            manufacturer: "acme".into(),
            model: "p1".into(),
            firmware_version: format!("1.0.{firmware}"),
            firmware_hash: Hash([firmware; 32]),
            sbom: Sbom {
                format: SbomFormat::Spdx,
                hash: Hash([2; 32]),
                components: vec![
                    Component { name: "busybox".into(), version: "1.36.1".into(), purl: None },
                    Component {
                        name: "openssl".into(),
                        version: "1.1.1k".into(),
                        purl: Some("pkg:generic/openssl@1.1.1k".into()),
                    },
                ],
            },
            claims: vec![
                StandardClaim { standard: "IEC 62443-4-2".into(), evidence: Hash([5; 32]) },
                StandardClaim { standard: "IEC 81001-5-1".into(), evidence: Hash([6; 32]) },
            ],
        }),
    )
}

fn attest(chain: &mut Chain, assessor: &panacea_primitives::Keypair, firmware: u8, days: u64) -> crate::Receipt {
    let expires = chain.time.plus_millis(days * DAY);
    chain.submit(
        assessor,
        Call::Product(ProductCall::Attest {
            product: Hash([firmware; 32]),
            standards: vec!["IEC 81001-5-1".into()],
            report: Hash([7; 32]),
            expires,
        }),
    )
}

#[test]
fn a_device_is_registered_only_on_firmware_attested_by_another_members_assessor() {
    let mut chain = Chain::new();
    // No product: refused, and the error says what to do.
    let (receipt, _) = register_pump(&mut chain, "pump-1", 1);
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
    let admin_a = chain.admin("hospital-a");
    assert!(register_product(&mut chain, &admin_a, 1).is_ok());
    assert_eq!(error_code(&register_product(&mut chain, &admin_a, 1).outcome), Some(ErrorCode::Conflict));
    // Registered but not attested: still refused.
    assert_eq!(error_code(&register_pump(&mut chain, "pump-1", 1).0.outcome), Some(ErrorCode::Conflict));
    // A nurse is no assessor; an assessor of the registering member may not attest.
    let (nurse, _) = chain.staff("hospital-b", StaffRole::Nurse, "nurse-b");
    assert_eq!(error_code(&attest(&mut chain, &nurse, 1, 365).outcome), Some(ErrorCode::Unauthorized));
    let (own, _) = chain.staff("hospital-a", StaffRole::Assessor, "assessor-a");
    assert_eq!(error_code(&attest(&mut chain, &own, 1, 365).outcome), Some(ErrorCode::Unauthorized));
    // An unclaimed standard cannot be attested.
    let (assessor, _) = chain.staff("authority", StaffRole::Assessor, "assessor-auth");
    let expires = chain.time.plus_millis(DAY);
    let unclaimed = chain.submit(
        &assessor,
        Call::Product(ProductCall::Attest {
            product: Hash([1; 32]),
            standards: vec!["ISO 14971".into()],
            report: Hash([7; 32]),
            expires,
        }),
    );
    assert_eq!(error_code(&unclaimed.outcome), Some(ErrorCode::InvalidArgument));
    assert!(attest(&mut chain, &assessor, 1, 365).is_ok());
    let (receipt, pump) = register_pump(&mut chain, "pump-1", 1);
    assert!(receipt.is_ok(), "{receipt:?}");
    let (devices, count) = product_devices(&chain.store, &Hash([1; 32]), 0, 10).unwrap();
    assert_eq!((devices, count), (vec![pump], 1));
    // A device naming another SBOM than its product's is refused.
    let admin = chain.admin("hospital-a");
    let IdentityKind::Device { device_type, manufacturer, model, firmware_hash, .. } = pump_kind(1) else {
        unreachable!()
    };
    let other_sbom = IdentityKind::Device { device_type, manufacturer, model, firmware_hash, sbom_hash: Hash([3; 32]) };
    let receipt =
        chain.submit(&admin, Call::Identity(IdentityCall::Register { key: key("pump-x").public(), kind: other_sbom }));
    assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::Conflict));
}

#[test]
fn an_expired_attestation_admits_no_new_device() {
    let mut chain = Chain::new();
    let admin_a = chain.admin("hospital-a");
    assert!(register_product(&mut chain, &admin_a, 1).is_ok());
    let (assessor, _) = chain.staff("authority", StaffRole::Assessor, "assessor-auth");
    assert!(attest(&mut chain, &assessor, 1, 30).is_ok());
    assert!(register_pump(&mut chain, "pump-1", 1).0.is_ok());
    chain.advance(31 * DAY);
    assert_eq!(error_code(&register_pump(&mut chain, "pump-2", 1).0.outcome), Some(ErrorCode::Conflict));
    // Renewed: admitted again.
    assert!(attest(&mut chain, &assessor, 1, 30).is_ok());
    assert!(register_pump(&mut chain, "pump-2", 1).0.is_ok());
    // An attestation expiring in more than five years is refused.
    assert_eq!(error_code(&attest(&mut chain, &assessor, 1, 5 * 366 + 1).outcome), Some(ErrorCode::InvalidArgument));
}

#[test]
fn revoking_an_attestation_suspends_every_device_on_that_firmware_from_the_next_block() {
    let mut chain = Chain::new();
    let admin_a = chain.admin("hospital-a");
    assert!(register_product(&mut chain, &admin_a, 1).is_ok());
    assert!(register_product(&mut chain, &admin_a, 4).is_ok());
    let (assessor, _) = chain.staff("authority", StaffRole::Assessor, "assessor-auth");
    assert!(attest(&mut chain, &assessor, 1, 365).is_ok());
    assert!(attest(&mut chain, &assessor, 4, 365).is_ok());
    let pumps: Vec<IdentityId> = (0..3).map(|i| register_pump(&mut chain, &format!("pump-{i}"), 1).1).collect();
    let (_, other) = register_pump(&mut chain, "pump-other", 4);
    // One pump already suspended by its admin: no second event for it.
    chain.ok(&admin_a, Call::Identity(IdentityCall::Suspend { identity: pumps[2] }));
    // Only an assessor or the registering member's admin revokes.
    let (nurse, _) = chain.staff("hospital-b", StaffRole::Nurse, "nurse-b");
    let revoke = Call::Product(ProductCall::Revoke {
        product: Hash([1; 32]),
        reason: RevocationReason::VulnerableFirmware,
        record: Hash([3; 32]),
    });
    assert_eq!(error_code(&chain.submit(&nurse, revoke.clone()).outcome), Some(ErrorCode::Unauthorized));
    let events = chain.ok(&assessor, revoke.clone());
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![AuditKind::ProductRevoked, AuditKind::IdentitySuspended, AuditKind::IdentitySuspended]);
    assert!(events[1..].iter().all(|e| e.entity.record == Some(Hash([1; 32]))));
    assert_eq!(events[1].entity.identity, Some(pumps[0]));
    let height = chain.height;
    for pump in &pumps {
        let identity = crate::identity::identity(&chain.store, pump).unwrap().unwrap();
        assert_eq!(identity.status_at(height.next()), IdentityStatus::Suspended);
    }
    assert_eq!(
        crate::identity::identity(&chain.store, &pumps[0]).unwrap().unwrap().status_at(height),
        IdentityStatus::Active,
        "from the next block, not retroactively"
    );
    let other = crate::identity::identity(&chain.store, &other).unwrap().unwrap();
    assert_eq!(other.status_at(height.next()), IdentityStatus::Active, "other firmware untouched");
    // Final: not attested again, no device reactivated or registered on it.
    assert_eq!(error_code(&chain.submit(&assessor, revoke).outcome), Some(ErrorCode::Conflict));
    assert_eq!(error_code(&attest(&mut chain, &assessor, 1, 365).outcome), Some(ErrorCode::Conflict));
    let reactivate = chain.submit(&admin_a, Call::Identity(IdentityCall::Reactivate { identity: pumps[0] }));
    assert_eq!(error_code(&reactivate.outcome), Some(ErrorCode::Conflict));
    assert_eq!(error_code(&register_pump(&mut chain, "pump-9", 1).0.outcome), Some(ErrorCode::Conflict));
    let found = product(&chain.store, &Hash([1; 32])).unwrap().unwrap();
    assert!(found.revoked.is_some() && !found.in_force(chain.time));
}

#[test]
fn malformed_products_are_refused() {
    let mut chain = Chain::new();
    let admin = chain.admin("hospital-a");
    let (nurse, _) = chain.staff("hospital-a", StaffRole::Nurse, "nurse-a");
    assert_eq!(error_code(&register_product(&mut chain, &nurse, 1).outcome), Some(ErrorCode::Unauthorized));
    let (officer, _) = chain.staff("hospital-a", StaffRole::SecurityOfficer, "officer-a");
    assert!(register_product(&mut chain, &officer, 2).is_ok(), "a security officer registers products");
    let base = |components: Vec<Component>, claims: Vec<StandardClaim>| {
        Call::Product(ProductCall::Register {
            manufacturer: "acme".into(),
            model: "p1".into(),
            firmware_version: "2".into(),
            firmware_hash: Hash([9; 32]),
            sbom: Sbom { format: SbomFormat::CycloneDx, hash: Hash([2; 32]), components },
            claims,
        })
    };
    let claim = || vec![StandardClaim { standard: "IEC 81001-5-1".into(), evidence: Hash([1; 32]) }];
    let c = |name: &str| Component { name: name.into(), version: "1".into(), purl: None };
    let unsorted = base(vec![c("zlib"), c("busybox")], claim());
    let too_many = base((0..=SBOM_COMPONENTS_MAX).map(|i| c(&format!("c{i:04}"))).collect(), claim());
    let no_claim = base(vec![c("busybox")], Vec::new());
    let twice = base(vec![c("busybox")], [claim(), claim()].concat());
    for call in [unsorted, too_many, no_claim, twice] {
        assert_eq!(error_code(&chain.submit(&admin, call).outcome), Some(ErrorCode::InvalidArgument));
    }
    let (listed, count) = products(&chain.store, 0, 10).unwrap();
    assert_eq!((listed.len(), count), (1, 1));
}
