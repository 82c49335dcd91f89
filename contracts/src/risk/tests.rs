use panacea_primitives::Hash;

use super::*;
use crate::ErrorCode;
use crate::access::{AccessCall, DecisionOutcome, DenyReason};
use crate::audit::AuditKind;
use crate::codes::{DataClass, Purpose, StaffRole};
use crate::consent::{ConsentCall, ConsentScope, ConsentStatus, ConsentTerms, PolicyRule, Provision, ProvisionType};
use crate::identity::{Identity, IdentityCall, IdentityKind};
use crate::ids::{DecisionId, DocumentHash, IdentityId};
use crate::testing::{Chain, error_code, key, org, patient};
use crate::tx::{Call, Outcome};

/// Registers a device identity (an infusion pump) of `org_id`; returns its key and id.
fn device(chain: &mut Chain, org_id: &str, label: &str) -> (panacea_primitives::Keypair, IdentityId) {
    let pump = key(label);
    let admin = chain.admin(org_id);
    chain.attest_firmware(Hash([1; 32]), Hash([2; 32]));
    let kind = IdentityKind::Device {
        device_type: "infusion-pump".into(),
        manufacturer: "acme".into(),
        model: "p1".into(),
        firmware_hash: Hash([1; 32]),
        sbom_hash: Hash([2; 32]),
    };
    chain.ok(&admin, Call::Identity(IdentityCall::Register { key: pump.public(), kind }));
    (pump.clone(), Identity::id_for(&org(org_id), &pump.public()))
}

fn service(chain: &mut Chain, org_id: &str, label: &str) -> panacea_primitives::Keypair {
    let worker = key(label);
    let admin = chain.admin(org_id);
    let kind = IdentityKind::Service { name: "risk worker".into() };
    chain.ok(&admin, Call::Identity(IdentityCall::Register { key: worker.public(), kind }));
    worker
}

fn row(level: RiskLevel) -> RiskRow {
    RiskRow {
        service_level: "radiology-availability".into(),
        attacker: AttackerProfile::Professional,
        likelihood_milli: 41_250,
        impact: 7,
        level,
    }
}

fn submit(output: u8, high: Vec<IdentityId>) -> Call {
    Call::Risk(RiskCall::Submit {
        inputs: vec![(RiskInput::Devices, Hash([10; 32])), (RiskInput::SecurityProfiles, Hash([11; 32]))],
        output: Hash([output; 32]),
        table: vec![row(RiskLevel::High)],
        high_devices: high,
        observed_until: 0,
    })
}

fn ask() -> Call {
    Call::Access(AccessCall::Request {
        patient: patient("p1"),
        data_class: DataClass::LabResults,
        resource_type: None,
        purpose: Purpose::Treatment,
        custodian: org("hospital-a"),
        document: None,
        data_time: None,
        justification: None,
    })
}

fn decided(chain: &mut Chain, pump: &panacea_primitives::Keypair) -> DecisionOutcome {
    let receipt = chain.submit(pump, ask());
    assert!(receipt.is_ok(), "{receipt:?}");
    crate::access::access_decision(&chain.store, &DecisionId(receipt.tx)).unwrap().unwrap().outcome
}

/// A device found at high risk is refused access whatever the consents say, until its
/// admin records a mitigation and a later assessment no longer finds it at high risk; a
/// second organisation attests the same output; every step is in the audit log.
#[test]
fn a_high_risk_device_is_quarantined_until_mitigated_and_cleared() {
    let mut chain = Chain::new();
    let (clerk, _) = chain.staff("hospital-a", StaffRole::Administrative, "clerk");
    let terms = ConsentTerms {
        patient: patient("p1"),
        status: ConsentStatus::Active,
        scope: ConsentScope::PatientPrivacy,
        custodians: Vec::new(),
        categories: vec![],
        policy_rule: PolicyRule::OptIn,
        verification: vec![],
        provision: Provision::all(ProvisionType::Permit),
    };
    chain.ok(&clerk, Call::Consent(ConsentCall::Record { terms, form_hash: Some(DocumentHash(Hash([9; 32]))) }));
    let (pump, pump_id) = device(&mut chain, "hospital-b", "pump");
    assert_eq!(decided(&mut chain, &pump), DecisionOutcome::Permit);

    let worker_b = service(&mut chain, "hospital-b", "risk-b");
    let events = chain.ok(&worker_b, submit(1, vec![pump_id]));
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![AuditKind::RiskAssessed, AuditKind::DeviceQuarantined]);
    let assessment_id = chain.submit(&worker_b, submit(1, vec![pump_id])).tx;
    assert_eq!(decided(&mut chain, &pump), DecisionOutcome::Deny(DenyReason::DeviceQuarantined));

    // Another organisation's worker attests the same output; a different one is refused.
    let worker_a = service(&mut chain, "hospital-a", "risk-a");
    let wrong = Call::Risk(RiskCall::Attest { assessment: assessment_id, output: Hash([2; 32]) });
    assert_eq!(error_code(&chain.submit(&worker_a, wrong).outcome), Some(ErrorCode::InvalidArgument));
    chain.ok(&worker_a, Call::Risk(RiskCall::Attest { assessment: assessment_id, output: Hash([1; 32]) }));
    let own = Call::Risk(RiskCall::Attest { assessment: assessment_id, output: Hash([1; 32]) });
    assert_eq!(error_code(&chain.submit(&worker_b, own).outcome), Some(ErrorCode::InvalidArgument));
    let stored = assessment(&chain.store, &assessment_id).unwrap().unwrap();
    assert_eq!(stored.attestations.iter().map(|a| a.org.clone()).collect::<Vec<_>>(), vec![org("hospital-a")]);

    // A clean assessment without a mitigation does not release it.
    chain.ok(&worker_b, submit(3, vec![]));
    assert!(quarantine(&chain.store, &pump_id).unwrap().is_some());
    // Only the device's own admin records a mitigation.
    let mitigate = Call::Risk(RiskCall::Mitigate { device: pump_id, record: DocumentHash(Hash([5; 32])) });
    let other_admin = chain.admin("hospital-a");
    assert_eq!(error_code(&chain.submit(&other_admin, mitigate.clone()).outcome), Some(ErrorCode::Unauthorized));
    let admin_b = chain.admin("hospital-b");
    chain.ok(&admin_b, mitigate.clone());
    // Still at high risk: the mitigation did not work, and is cleared.
    chain.ok(&worker_b, submit(4, vec![pump_id]));
    assert_eq!(quarantine(&chain.store, &pump_id).unwrap().unwrap().mitigation, None);
    chain.ok(&admin_b, mitigate);
    let events = chain.ok(&worker_b, submit(5, vec![]));
    assert!(events.iter().any(|e| e.kind == AuditKind::DeviceReleased && e.entity.identity == Some(pump_id)));
    assert!(quarantine(&chain.store, &pump_id).unwrap().is_none());
    assert_eq!(decided(&mut chain, &pump), DecisionOutcome::Permit);
    assert_eq!(assessments_of(&chain.store, &org("hospital-b")).unwrap().len(), 5);
}

/// Only an organisation's admin or service submits, only for its own devices; staff
/// cannot; bad tables are refused; only admins set parameters.
#[test]
fn who_submits_and_what_is_refused() {
    let mut chain = Chain::new();
    let (pump_b, pump_b_id) = device(&mut chain, "hospital-b", "pump-b");
    let _ = pump_b;
    let worker_a = service(&mut chain, "hospital-a", "risk-a");
    let refused = chain.submit(&worker_a, submit(1, vec![pump_b_id]));
    assert_eq!(error_code(&refused.outcome), Some(ErrorCode::Unauthorized), "another organisation's device");
    let (doctor, doctor_id) = chain.staff("hospital-a", StaffRole::Physician, "doctor");
    assert_eq!(error_code(&chain.submit(&doctor, submit(1, vec![])).outcome), Some(ErrorCode::Unauthorized));
    let not_device = chain.submit(&worker_a, submit(1, vec![doctor_id]));
    assert_eq!(error_code(&not_device.outcome), Some(ErrorCode::Unauthorized), "a staff identity is no device");
    let mut named = row(RiskLevel::Low);
    named.service_level = "Dr Rossi's laptop".into();
    let call = Call::Risk(RiskCall::Submit {
        inputs: vec![],
        output: Hash([1; 32]),
        table: vec![named],
        high_devices: vec![],
        observed_until: 0,
    });
    assert_eq!(error_code(&chain.submit(&worker_a, call).outcome), Some(ErrorCode::InvalidArgument));
    let (_, pump_a) = device(&mut chain, "hospital-a", "pump-a");
    let twice = chain.submit(&worker_a, submit(1, vec![pump_a, pump_a]));
    assert_eq!(error_code(&twice.outcome), Some(ErrorCode::InvalidArgument));

    let parameters = RiskParameters {
        attackers: vec![(AttackerProfile::Naive, [800, 850, 850, 970, 960])],
        impact_thresholds: [1, 3, 7],
        likelihood_thresholds: [5_000, 20_000, 40_000],
    };
    let set = Call::Risk(RiskCall::SetParameters { parameters: parameters.clone() });
    assert_eq!(error_code(&chain.submit(&worker_a, set.clone()).outcome), Some(ErrorCode::Unauthorized));
    let admin = chain.admin("hospital-a");
    let events = chain.ok(&admin, set);
    assert_eq!(events[0].kind, AuditKind::RiskParametersChanged);
    assert_eq!(super::parameters(&chain.store, &org("hospital-a")).unwrap(), Some(parameters));
    let bad = RiskParameters {
        impact_thresholds: [1, 9, 2],
        ..super::parameters(&chain.store, &org("hospital-a")).unwrap().unwrap()
    };
    let outcome = chain.submit(&admin, Call::Risk(RiskCall::SetParameters { parameters: bad })).outcome;
    assert_eq!(error_code(&outcome), Some(ErrorCode::InvalidArgument));
    assert!(matches!(outcome, Outcome::Failed { .. }));
}
