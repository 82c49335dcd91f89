use panacea_primitives::Hash;

use super::*;
use crate::ErrorCode;
use crate::audit::AuditKind;
use crate::codes::StaffRole;
use crate::testing::{Chain, error_code, org};
use crate::tx::Call;

#[test]
fn the_catalogue_is_nist_csf_2_0_whole() {
    let catalogue = catalogue(CURRENT).expect("the shipped catalogue parses");
    assert_eq!(catalogue.version, "2.0");
    let ids: Vec<&str> = catalogue.functions.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["GV", "ID", "PR", "DE", "RS", "RC"]);
    assert_eq!(catalogue.categories().count(), 22);
    let subcategories: Vec<&str> =
        catalogue.categories().flat_map(|c| c.subcategories.iter().map(|s| s.id.as_str())).collect();
    assert_eq!(subcategories.len(), 106);
    let unique: std::collections::BTreeSet<_> = subcategories.iter().collect();
    assert_eq!(unique.len(), 106);
    for function in &catalogue.functions {
        for category in &function.categories {
            assert!(category.id.starts_with(&format!("{}.", function.id)));
            assert!(category.subcategories.iter().all(|s| s.id.starts_with(&format!("{}-", category.id))));
        }
    }
    assert_eq!(catalogue.category("PR.AT").map(|c| c.title.as_str()), Some("Awareness and Training"));
}

fn tiers(categories: &[(&str, u8, u8)]) -> Vec<CategoryTier> {
    categories
        .iter()
        .map(|(category, current, target)| CategoryTier {
            category: (*category).into(),
            current: *current,
            target: *target,
            evidence: Hash([*current; 32]),
        })
        .collect()
}

fn submit(elements: Vec<ElementProfile>) -> Call {
    Call::Csf(CsfCall::Submit { catalogue: "2.0".into(), elements })
}

fn organisation(categories: &[(&str, u8, u8)]) -> ElementProfile {
    ElementProfile { element: OrgElement::Organisation, tiers: tiers(categories) }
}

#[test]
fn a_security_officer_records_versions_and_authorities_see_gaps_overdue_and_the_region() {
    let mut chain = Chain::new();
    let (officer_a, _) = chain.staff("hospital-a", StaffRole::SecurityOfficer, "officer-a");
    let (officer_b, _) = chain.staff("hospital-b", StaffRole::SecurityOfficer, "officer-b");
    let radiology = ElementProfile {
        element: OrgElement::Department("radiology".into()),
        tiers: tiers(&[("ID.AM", 1, 3), ("PR.AA", 2, 3)]),
    };
    let events = chain.ok(&officer_a, submit(vec![organisation(&[("GV.OC", 2, 3), ("PR.AT", 1, 3)]), radiology]));
    assert_eq!(events[0].kind, AuditKind::SelfAssessmentRecorded);
    assert_eq!(events[0].entity.record, Some(SelfAssessment::record_id(&org("hospital-a"), 1)));
    chain.ok(&officer_a, submit(vec![organisation(&[("GV.OC", 3, 3), ("PR.AT", 2, 3)])]));
    chain.ok(&officer_b, submit(vec![organisation(&[("GV.OC", 1, 2), ("PR.AT", 4, 4)])]));
    assert_eq!(latest_version(&chain.store, &org("hospital-a")).unwrap(), 2);
    let first = self_assessment(&chain.store, &org("hospital-a"), 1).unwrap().unwrap();
    assert_eq!(first.elements.len(), 2, "every version stays readable");
    let a = latest(&chain.store, &org("hospital-a")).unwrap().unwrap();
    let gaps = a.gaps();
    assert_eq!((gaps[0].category.as_str(), gaps[0].gap), ("PR.AT", 1));
    let year = 365 * 24 * 60 * 60 * 1000;
    assert!(!a.overdue(chain.time, year));
    assert!(a.overdue(chain.time.plus_millis(year + 1), year));
    let b = latest(&chain.store, &org("hospital-b")).unwrap().unwrap();
    let region = regional(catalogue(CURRENT).unwrap(), &[a, b]);
    assert_eq!(region.len(), 22);
    let gv_oc = region.iter().find(|d| d.category == "GV.OC").unwrap();
    assert_eq!((gv_oc.assessed, gv_oc.current, gv_oc.target), (2, [1, 0, 1, 0], [0, 1, 1, 0]));
    assert_eq!((gv_oc.mean_gap_milli, gv_oc.below_target), (500, 1));
    let rc = region.iter().find(|d| d.category == "RC.RP").unwrap();
    assert_eq!(rc.assessed, 0);
}

#[test]
fn malformed_self_assessments_and_other_signers_are_refused() {
    let mut chain = Chain::new();
    let (officer, _) = chain.staff("hospital-a", StaffRole::SecurityOfficer, "officer-a");
    let (nurse, _) = chain.staff("hospital-a", StaffRole::Nurse, "nurse-a");
    let fine = || organisation(&[("GV.OC", 2, 3)]);
    let admin = chain.admin("hospital-a");
    for signer in [&nurse, &admin] {
        assert_eq!(error_code(&chain.submit(signer, submit(vec![fine()])).outcome), Some(ErrorCode::Unauthorized));
    }
    let department =
        |name: &str| ElementProfile { element: OrgElement::Department(name.into()), tiers: tiers(&[("GV.OC", 2, 3)]) };
    let cases: Vec<Vec<ElementProfile>> = vec![
        vec![],
        vec![department("radiology")],
        vec![fine(), fine()],
        vec![fine(), department("radiology"), department("radiology")],
        vec![fine(), department("Dr Smith's ward")],
        vec![organisation(&[("GV.XX", 2, 3)])],
        vec![organisation(&[("PR.AA", 2, 3), ("GV.OC", 2, 3)])],
        vec![organisation(&[("GV.OC", 2, 3), ("GV.OC", 2, 3)])],
        vec![organisation(&[("GV.OC", 0, 3)])],
        vec![organisation(&[("GV.OC", 2, 5)])],
        vec![organisation(&[])],
        std::iter::once(fine()).chain((0..ELEMENTS_MAX).map(|i| department(&format!("d{i}")))).collect(),
    ];
    for elements in cases {
        let receipt = chain.submit(&officer, submit(elements.clone()));
        assert_eq!(error_code(&receipt.outcome), Some(ErrorCode::InvalidArgument), "{elements:?}");
    }
    let unknown = Call::Csf(CsfCall::Submit { catalogue: "1.1".into(), elements: vec![fine()] });
    assert_eq!(error_code(&chain.submit(&officer, unknown).outcome), Some(ErrorCode::InvalidArgument));
    assert_eq!(latest_version(&chain.store, &org("hospital-a")).unwrap(), 0);
}
