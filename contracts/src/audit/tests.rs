use super::*;
use crate::codes::StaffRole;
use crate::identity::IdentityCall;
use crate::testing::{Chain, key, org};
use crate::tx::Call;

fn busy_chain() -> (Chain, crate::ids::IdentityId) {
    let mut chain = Chain::new();
    let mut last = None;
    for i in 0..5 {
        let (_, id) =
            chain.staff(if i % 2 == 0 { "hospital-a" } else { "hospital-b" }, StaffRole::Nurse, &format!("n{i}"));
        last = Some(id);
    }
    let admin = chain.admin("hospital-a");
    let id = last.unwrap();
    chain.ok(&admin, Call::Identity(IdentityCall::Suspend { identity: id }));
    (chain, id)
}

#[test]
fn the_log_is_a_verifiable_hash_chain() {
    let (chain, _) = busy_chain();
    assert_eq!(verify_chain(&chain.store).unwrap(), Ok(6));
    // Tamper with one stored event: the chain check finds it.
    let mut store = chain.store.clone();
    let mut third = event(&store, 2).unwrap().unwrap();
    third.recorded = panacea_primitives::Timestamp(1);
    let mut key = crate::state::AUDIT_EVENT_PREFIX.to_vec();
    key.extend_from_slice(&2u64.to_be_bytes());
    let mut batch = crate::state::WriteBatch::new();
    batch.insert(key, Some(panacea_primitives::codec::encode(&third)));
    store.apply(&batch);
    assert_eq!(verify_chain(&store).unwrap(), Err(3));
}

#[test]
fn events_are_proved_against_the_state_root() {
    let (chain, _) = busy_chain();
    let meta = chain.meta();
    for seq in 0..meta.audit_count {
        let (event, proof) = prove_event(&chain.store, seq).unwrap().unwrap();
        assert!(proof.verify(meta.audit_root, event.hash()), "event {seq}");
        let mut forged = event.clone();
        forged.outcome = AuditOutcome::Denied;
        assert!(!proof.verify(meta.audit_root, forged.hash()));
    }
    assert!(prove_event(&chain.store, meta.audit_count).unwrap().is_none());
}

#[test]
fn queries_by_organisation_identity_kind_and_time() {
    let (chain, suspended) = busy_chain();
    let by_org = |o: &str| {
        events(&chain.store, &AuditFilter { org: Some(org(o)), ..AuditFilter::default() }, None, 100).unwrap().events
    };
    assert_eq!(by_org("hospital-a").len(), 4, "three registrations and one suspension");
    assert_eq!(by_org("hospital-b").len(), 2);
    let of_identity =
        events(&chain.store, &AuditFilter { identity: Some(suspended), ..AuditFilter::default() }, None, 100).unwrap();
    assert_eq!(of_identity.events.len(), 2);
    let suspensions = events(
        &chain.store,
        &AuditFilter { kind: Some(AuditKind::IdentitySuspended), ..AuditFilter::default() },
        None,
        100,
    )
    .unwrap();
    assert_eq!(suspensions.events.len(), 1);
    // Pagination: two at a time, resumable, no duplicates.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = events(&chain.store, &AuditFilter::default(), after, 2).unwrap();
        seen.extend(page.events.iter().map(|e| e.seq));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, (0..6).collect::<Vec<_>>());
    let first_time = event(&chain.store, 0).unwrap().unwrap().recorded;
    let later = events(
        &chain.store,
        &AuditFilter { from: Some(first_time.plus_millis(1)), ..AuditFilter::default() },
        None,
        100,
    )
    .unwrap();
    assert_eq!(later.events.len(), 5);
    let _ = key("unused");
}

/// A log of `count` events, one a second, alternating between two organisations, written
/// straight into a store (as many blocks would leave it).
fn long_log(count: u64) -> crate::state::MemoryStore {
    use crate::state::{AUDIT_EVENT_PREFIX, META_KEY, Meta, WriteBatch};
    let mut store = crate::state::MemoryStore::default();
    let mut batch = WriteBatch::new();
    for seq in 0..count {
        let owner = if seq % 2 == 0 { "hospital-a" } else { "hospital-b" };
        let event = AuditEvent {
            seq,
            kind: AuditKind::AccessDecision,
            action: AuditAction::Execute,
            outcome: AuditOutcome::Success,
            recorded: panacea_primitives::Timestamp(1_000_000 + seq * 1_000),
            height: panacea_primitives::Height(seq + 1),
            agents: vec![AuditAgent { identity: None, key: None, org: Some(org(owner)), role: None, requestor: true }],
            entity: AuditEntity::default(),
            purpose: None,
            prev: panacea_primitives::Hash::ZERO,
        };
        let mut key = AUDIT_EVENT_PREFIX.to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        batch.insert(key, Some(panacea_primitives::codec::encode(&event)));
        for index in index_keys(&event) {
            batch.insert(index, Some(Vec::new()));
        }
    }
    let meta = Meta { audit_count: count, ..Meta::default() };
    batch.insert(META_KEY.to_vec(), Some(panacea_primitives::codec::encode(&meta)));
    store.apply(&batch);
    store
}

#[test]
fn a_time_window_deep_in_a_long_log_is_one_page_and_ends_where_the_window_ends() {
    // Deeper than the work one page may do (20 pages' worth of keys) before the window.
    let store = long_log(50_000);
    let at = |seq: u64| panacea_primitives::Timestamp(1_000_000 + seq * 1_000);
    for org_filter in [None, Some(org("hospital-b"))] {
        let filter = AuditFilter {
            org: org_filter.clone(),
            from: Some(at(45_000)),
            to: Some(at(45_009)),
            ..AuditFilter::default()
        };
        let page = events(&store, &filter, None, 100).unwrap();
        let expected: Vec<u64> = (45_000..=45_009).filter(|seq| org_filter.is_none() || seq % 2 == 1).collect();
        assert_eq!(page.events.iter().map(|e| e.seq).collect::<Vec<_>>(), expected);
        assert_eq!(page.next, None, "the window ends: no cursor into the rest of the log");
        // A cursor before the window is moved to its start; one inside it is kept.
        let resumed = events(&store, &filter, Some(10), 3).unwrap();
        assert_eq!(resumed.events.first().map(|e| e.seq), expected.first().copied());
        let inside = events(&store, &filter, Some(45_004), 100).unwrap();
        assert!(inside.events.iter().all(|e| e.seq > 45_004));
    }
    // A start between two events, and one after the last.
    let between = AuditFilter { from: Some(at(7).plus_millis(1)), ..AuditFilter::default() };
    assert_eq!(events(&store, &between, None, 1).unwrap().events[0].seq, 8);
    let later = AuditFilter { from: Some(at(60_000)), ..AuditFilter::default() };
    assert!(events(&store, &later, None, 10).unwrap().events.is_empty());
}
