use super::*;
use crate::access::AccessCall;
use crate::codes::{DataClass, Purpose, StaffRole};
use crate::ids::DocumentHash;
use crate::testing::{Chain, org, patient};
use crate::tx::Call;

/// A chain with staff, access decisions (one break-glass, whose review stays open) and so
/// state, audit events and indexes of every kind.
fn busy_chain() -> Chain {
    let mut chain = Chain::new();
    for i in 0..40 {
        chain.staff(if i % 2 == 0 { "hospital-a" } else { "hospital-b" }, StaffRole::Nurse, &format!("nurse-{i}"));
    }
    let (doctor, _) = chain.staff("hospital-b", StaffRole::Physician, "er-doctor");
    for i in 0..10 {
        let justification = (i == 3).then_some(DocumentHash(panacea_primitives::Hash([5; 32])));
        let purpose = if i == 3 { Purpose::EmergencyTreatment } else { Purpose::Treatment };
        chain.ok(
            &doctor,
            Call::Access(AccessCall::Request {
                patient: patient(&format!("p{i}")),
                data_class: DataClass::LabResults,
                resource_type: None,
                purpose,
                custodian: org("hospital-a"),
                document: None,
                data_time: None,
                justification,
            }),
        );
    }
    assert_eq!(crate::access::open_reviews(&chain.store, &org("hospital-a"), 10).unwrap().len(), 1);
    chain
}

fn import(meta: Meta, state: &[StateChunk], audit: &[AuditChunk]) -> Result<WriteBatch, SnapshotError> {
    let mut importer = Importer::new(meta)?;
    for chunk in state {
        importer.add_state_chunk(chunk)?;
    }
    for chunk in audit {
        importer.add_audit_chunk(chunk)?;
    }
    importer.finish()
}

fn entries(store: &MemoryStore, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    store.scan(prefix, None, usize::MAX).unwrap()
}

#[test]
fn a_snapshot_restores_the_state_and_the_chain_goes_on_from_it() {
    let mut chain = busy_chain();
    let state = export_state(&chain.store, 16).unwrap();
    let audit = export_audit(&chain.store, 8).unwrap();
    assert!(state.len() > 4 && audit.len() > 4, "{} state and {} audit chunks", state.len(), audit.len());
    let writes = import(chain.meta(), &state, &audit).unwrap();
    let mut restored = MemoryStore::new();
    restored.apply(&writes);
    assert_eq!(Meta::load(&restored).unwrap(), chain.meta());
    for prefix in [STATE_PREFIX, b"a/".as_slice(), b"i/".as_slice()] {
        assert_eq!(entries(&restored, prefix), entries(&chain.store, prefix), "{}", String::from_utf8_lossy(prefix));
    }
    // The restored store executes the next block exactly as the original.
    let nurse = crate::testing::key("late-nurse");
    let call = Call::Identity(crate::identity::IdentityCall::Register {
        key: nurse.public(),
        kind: crate::identity::IdentityKind::Staff { role: StaffRole::Nurse },
    });
    let tx = chain.sign(&chain.admin("hospital-a"), call);
    let block =
        crate::BlockContext::new(crate::testing::chain_id(), chain.height.next(), chain.time.plus_millis(1_000));
    let original = crate::execute_block(&chain.store, &block, std::slice::from_ref(&tx)).unwrap();
    let from_snapshot = crate::execute_block(&restored, &block, &[tx]).unwrap();
    assert_eq!(original.state_root, from_snapshot.state_root);
    assert_eq!(original.receipts, from_snapshot.receipts);
    chain.store.apply(&original.writes);
    restored.apply(&from_snapshot.writes);
    assert_eq!(entries(&restored, STATE_PREFIX), entries(&chain.store, STATE_PREFIX));
}

#[test]
fn a_chunk_that_does_not_match_the_root_is_refused() {
    let chain = busy_chain();
    let state = export_state(&chain.store, 16).unwrap();
    let audit = export_audit(&chain.store, 8).unwrap();
    let meta = chain.meta();

    // A value changed.
    let mut tampered = state.clone();
    tampered[2].entries[3].1.push(0);
    let error = import(meta, &tampered, &audit).unwrap_err();
    assert!(matches!(error, SnapshotError::Refused(ref m) if m.contains("state root")), "{error}");
    // A pair left out, or a chunk skipped.
    let mut short = state.clone();
    short[1].entries.remove(0);
    assert!(import(meta, &short, &audit).is_err());
    let mut skipped = state.clone();
    skipped.remove(1);
    assert!(import(meta, &skipped, &audit).is_err());
    // A key from outside module state.
    let mut foreign = state.clone();
    foreign[0].entries[0].0 = b"i/forged".to_vec();
    assert!(import(meta, &foreign, &audit).is_err());
    // An audit event changed, dropped or left out at the end.
    let mut event = audit.clone();
    event[1].events[2].height = panacea_primitives::Height(999);
    assert!(import(meta, &state, &event).is_err());
    let mut gap = audit.clone();
    gap[2].events.remove(0);
    assert!(import(meta, &state, &gap).is_err());
    let error = import(meta, &state, &audit[..audit.len() - 1]).unwrap_err();
    assert!(error.to_string().contains("audit events arrived"), "{error}");
    // Everything right, but for another root.
    let mut other = meta;
    other.tree_root = panacea_primitives::Hash([9; 32]);
    assert!(import(other, &state, &audit).is_err());
    // The genuine snapshot still imports.
    assert!(import(meta, &state, &audit).is_ok());
}

#[test]
fn chunks_are_bounded() {
    let chain = busy_chain();
    let mut importer = Importer::new(chain.meta()).unwrap();
    let empty = StateChunk { entries: Vec::new(), proof: Vec::new() };
    assert!(importer.add_state_chunk(&empty).is_err());
    let huge = AuditChunk { events: Vec::new(), proof: Vec::new() };
    assert!(importer.add_audit_chunk(&huge).is_err());
    let garbage = StateChunk { entries: vec![(b"s/x".to_vec(), vec![1])], proof: vec![1, 2, 3] };
    assert!(importer.add_state_chunk(&garbage).is_err());
}

#[test]
fn an_import_drained_chunk_by_chunk_equals_one_taken_whole() {
    let chain = busy_chain();
    let mut state = Vec::new();
    let count = export_state_with(&chain.store, ChunkLimits { entries: 4_096, bytes: 2_000 }, |chunk| {
        state.push(chunk);
        Ok(())
    })
    .unwrap();
    assert_eq!(count as usize, state.len());
    assert!(state.len() > 2, "cut by bytes: {} chunks", state.len());
    let audit = export_audit(&chain.store, 5).unwrap();
    let whole = import(chain.meta(), &state, &audit).unwrap();
    let mut importer = Importer::new(chain.meta()).unwrap();
    let mut stored = MemoryStore::new();
    for chunk in &state {
        importer.add_state_chunk(chunk).unwrap();
        stored.apply(&importer.drain().unwrap());
    }
    for chunk in &audit {
        importer.add_audit_chunk(chunk).unwrap();
        stored.apply(&importer.drain().unwrap());
    }
    let rest = importer.finish_over(&stored).unwrap();
    stored.apply(&rest);
    let mut expected = MemoryStore::new();
    expected.apply(&whole);
    assert_eq!(entries(&stored, b""), entries(&expected, b""));
}
