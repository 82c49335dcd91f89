use panacea_primitives::{Hash, Keypair, Timestamp};

use super::*;
use crate::ErrorCode;
use crate::audit::{AuditKind, AuditOutcome};
use crate::identity::{Identity, IdentityCall, IdentityKind};
use crate::ids::IdentityId;
use crate::testing::{Chain, chain_id, error_code, key, org};
use crate::tx::Call;

fn service(chain: &mut Chain, org_id: &str, label: &str) -> (Keypair, IdentityId) {
    let admin = chain.admin(org_id);
    let machine = key(label);
    chain.ok(
        &admin,
        Call::Identity(IdentityCall::Register {
            key: machine.public(),
            kind: IdentityKind::Service { name: label.into() },
        }),
    );
    (machine.clone(), Identity::id_for(&org(org_id), &machine.public()))
}

fn allow(source: IdentityId, destination: IdentityId, expires: Timestamp) -> Call {
    Call::Connection(ConnectionCall::Allow {
        source,
        destination,
        protocol: "hl7-mllp".into(),
        purpose: "lab-results-upload".into(),
        expires,
    })
}

fn challenge(source: IdentityId, destination: IdentityId, time: Timestamp) -> ConnectionChallenge {
    ConnectionChallenge { source, destination, protocol: "hl7-mllp".into(), nonce: [7; 32], time }
}

#[test]
fn an_allowed_connection_is_expected_once_the_source_proves_itself_and_not_after_expiry() {
    let mut chain = Chain::new();
    let (lab, lab_id) = service(&mut chain, "hospital-a", "lab-analyser");
    let (_, ehr_id) = service(&mut chain, "hospital-b", "ehr-gateway");
    let admin = chain.admin("hospital-a");
    let expires = chain.time.plus_millis(30 * 24 * 60 * 60 * 1000);
    let events = chain.ok(&admin, allow(lab_id, ehr_id, expires));
    assert_eq!(events[0].kind, AuditKind::ConnectionAllowed);
    let verdict = |chain: &Chain, c: &ConnectionChallenge, key: &Keypair, now: Timestamp| {
        check_connection(&chain.store, &chain_id(), c, &c.sign(&chain_id(), key), chain.height, now).unwrap()
    };
    let now = chain.time;
    let good = challenge(lab_id, ehr_id, now);
    assert!(
        matches!(verdict(&chain, &good, &lab, now), Verdict::Expected(rule) if rule.purpose == "lab-results-upload")
    );
    // The wrong key, a stale challenge, the reverse direction, another protocol.
    let imposter = key("imposter");
    assert!(matches!(verdict(&chain, &good, &imposter, now), Verdict::Unexpected(Unexpected::BadSignature, _)));
    let stale = challenge(lab_id, ehr_id, Timestamp(now.as_millis() - CHALLENGE_FRESHNESS_MS - 1));
    assert!(matches!(verdict(&chain, &stale, &lab, now), Verdict::Unexpected(Unexpected::Stale, _)));
    let (ehr, _) = (key("ehr-gateway"), ());
    let reverse = challenge(ehr_id, lab_id, now);
    assert!(matches!(verdict(&chain, &reverse, &ehr, now), Verdict::Unexpected(Unexpected::NoRule, _)));
    let mut other = challenge(lab_id, ehr_id, now);
    other.protocol = "dicom".into();
    assert!(matches!(verdict(&chain, &other, &lab, now), Verdict::Unexpected(Unexpected::NoRule, _)));
    let later = expires.plus_millis(1);
    let late = challenge(lab_id, ehr_id, later);
    assert!(matches!(verdict(&chain, &late, &lab, later), Verdict::Unexpected(Unexpected::RuleExpired, Some(_))));
    // A suspended source is unexpected.
    chain.ok(&admin, Call::Identity(IdentityCall::Suspend { identity: lab_id }));
    assert!(matches!(verdict(&chain, &good, &lab, now), Verdict::Unexpected(Unexpected::SourceInactive, _)));
    // Removed by its organisation's admin only.
    let rule_id = ConnectionRule::id_for(&lab_id, &ehr_id, "hl7-mllp");
    let other_admin = chain.admin("hospital-b");
    let remove = Call::Connection(ConnectionCall::Remove { rule: rule_id });
    assert_eq!(error_code(&chain.submit(&other_admin, remove.clone()).outcome), Some(ErrorCode::Unauthorized));
    assert_eq!(chain.ok(&admin, remove)[0].kind, AuditKind::ConnectionRemoved);
    assert!(rules(&chain.store, &org("hospital-a")).unwrap().is_empty());
}

#[test]
fn rules_name_machines_of_the_admins_organisation_and_unexpected_attempts_are_reported() {
    let mut chain = Chain::new();
    let (_, lab_id) = service(&mut chain, "hospital-a", "lab-analyser");
    let (gateway, ehr_id) = service(&mut chain, "hospital-b", "ehr-gateway");
    let (_, nurse_id) = chain.staff("hospital-a", crate::codes::StaffRole::Nurse, "nurse-a");
    let admin = chain.admin("hospital-a");
    let expires = chain.time.plus_millis(24 * 60 * 60 * 1000);
    // Not another organisation's machine as source; not a person; not forever.
    let other_admin = chain.admin("hospital-b");
    assert_eq!(
        error_code(&chain.submit(&other_admin, allow(lab_id, ehr_id, expires)).outcome),
        Some(ErrorCode::Conflict)
    );
    assert_eq!(error_code(&chain.submit(&admin, allow(nurse_id, ehr_id, expires)).outcome), Some(ErrorCode::Conflict));
    let forever = chain.time.plus_millis(RULE_MS_MAX + 2_000);
    assert_eq!(
        error_code(&chain.submit(&admin, allow(lab_id, ehr_id, forever)).outcome),
        Some(ErrorCode::InvalidArgument)
    );
    let bad_protocol = Call::Connection(ConnectionCall::Allow {
        source: lab_id,
        destination: ehr_id,
        protocol: "hl7 mllp".into(),
        purpose: "x".into(),
        expires,
    });
    assert_eq!(error_code(&chain.submit(&admin, bad_protocol).outcome), Some(ErrorCode::InvalidArgument));
    // The destination's gateway reports an attempt from the lab analyser: an event naming
    // both organisations, denied.
    let report = Call::Connection(ConnectionCall::ReportUnexpected {
        source: Some(lab_id),
        destination: ehr_id,
        protocol: "hl7-mllp".into(),
        record: Hash([4; 32]),
    });
    let events = chain.ok(&gateway, report.clone());
    assert_eq!((events[0].kind, events[0].outcome), (AuditKind::UnexpectedConnection, AuditOutcome::Denied));
    let orgs: Vec<_> = events[0].agents.iter().filter_map(|a| a.org.clone()).collect();
    assert!(orgs.contains(&org("hospital-a")) && orgs.contains(&org("hospital-b")));
    // Only a machine of the destination's organisation reports.
    assert_eq!(error_code(&chain.submit(&other_admin, report.clone()).outcome), Some(ErrorCode::Unauthorized));
    let (lab_key, _) = (key("lab-analyser"), ());
    assert_eq!(error_code(&chain.submit(&lab_key, report).outcome), Some(ErrorCode::Conflict));
}
