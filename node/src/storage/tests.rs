use panacea_consensus::{Block, Payload, QuorumCert, SafetyState};
use panacea_contracts::codes::StaffRole;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::state::{MemoryStore, Meta};
use panacea_contracts::testing::{chain_id, genesis, key};
use panacea_contracts::{BlockContext, Call, Transaction, execute_block};
use panacea_primitives::{Epoch, Round, Timestamp};

use super::*;

fn open() -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    (dir, storage)
}

/// Hospital A's admin registers a nurse.
fn register_nurse() -> panacea_contracts::SignedTransaction {
    let admin = key("hospital-a/admin");
    let call = Call::Identity(IdentityCall::Register {
        key: key("nurse").public(),
        kind: IdentityKind::Staff { role: StaffRole::Nurse },
    });
    Transaction { chain_id: chain_id(), signer: admin.public(), nonce: 1, call }.sign(&admin)
}

/// Genesis, then one block registering a nurse, committed into `storage`.
fn two_blocks(storage: &Storage) -> (Block, Block, Receipt) {
    let outcome = panacea_contracts::genesis(&storage.state(), &genesis()).unwrap();
    let block0 = Block::genesis(Epoch(0), Payload::opaque(b"genesis".to_vec()));
    storage.commit_block(&BlockCommit::uncertified(&block0, &outcome.writes, &[], Meta::default())).unwrap();
    let tx = register_nurse();
    let context = BlockContext::new(chain_id(), Height(1), Timestamp(1_700_000_001_000));
    let outcome = execute_block(&storage.state(), &context, std::slice::from_ref(&tx)).unwrap();
    let justify = QuorumCert::genesis(Epoch(0), block0.id());
    let block1 =
        Block::new(Epoch(0), Round(1), justify, Payload::opaque(tx.encode()), panacea_primitives::ValidatorIndex(1));
    storage.commit_block(&BlockCommit::uncertified(&block1, &outcome.writes, &outcome.receipts, outcome.meta)).unwrap();
    (block0, block1, outcome.receipts[0].clone())
}

#[test]
fn committed_blocks_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (block0, block1, receipt) = {
        let storage = Storage::open(dir.path()).unwrap();
        two_blocks(&storage)
    };
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.committed_height().unwrap(), Some(Height(1)));
    assert_eq!(storage.block(Height(0)).unwrap(), Some(block0));
    assert_eq!(storage.block(Height(1)).unwrap().map(|b| b.id()), Some(block1.id()));
    assert_eq!(storage.height_of(&block1.id()).unwrap(), Some(Height(1)));
    assert_eq!(storage.receipt(&receipt.tx).unwrap(), Some((Height(1), receipt)));
    let meta = Meta::load(&storage.state()).unwrap();
    assert_eq!(meta.audit_count, 1);
    assert_eq!(panacea_contracts::audit::verify_chain(&storage.state()).unwrap(), Ok(1));
}

#[test]
fn rocksdb_state_computes_the_same_roots_as_memory() {
    let (_dir, storage) = open();
    two_blocks(&storage);
    // The same two blocks on the in-memory store give the same state root.
    let mut memory = MemoryStore::new();
    let outcome = panacea_contracts::genesis(&memory, &genesis()).unwrap();
    memory.apply(&outcome.writes);
    let tx = register_nurse();
    let context = BlockContext::new(chain_id(), Height(1), Timestamp(1_700_000_001_000));
    let outcome = execute_block(&memory, &context, &[tx]).unwrap();
    memory.apply(&outcome.writes);
    assert_eq!(Meta::load(&storage.state()).unwrap().state_root(), Meta::load(&memory).unwrap().state_root());
    // And scans agree, including `after` cursors.
    let rocks = storage.state().scan(b"s/", None, 1_000).unwrap();
    assert_eq!(rocks, memory.scan(b"s/", None, 1_000).unwrap());
    let after = rocks[1].0.clone();
    assert_eq!(storage.state().scan(b"s/", Some(&after), 2).unwrap(), memory.scan(b"s/", Some(&after), 2).unwrap());
}

#[test]
fn blocks_commit_in_height_order_only() {
    let (_dir, storage) = open();
    two_blocks(&storage);
    let stray = Block::genesis(Epoch(0), Payload::opaque(vec![1]));
    let error = storage.commit_block(&BlockCommit::uncertified(&stray, &WriteBatch::new(), &[], Meta::default()));
    assert!(matches!(error, Err(StorageError::NotNext { got: Height(0), committed: Height(1) })));
}

#[test]
fn safety_state_and_pending_blocks_survive_a_restart_and_are_pruned_on_commit() {
    let dir = tempfile::tempdir().unwrap();
    let genesis_block = Block::genesis(Epoch(0), Payload::opaque(b"g".to_vec()));
    let pending = Block::new(
        Epoch(0),
        Round(1),
        QuorumCert::genesis(Epoch(0), genesis_block.id()),
        Payload::opaque(vec![7; 100]),
        panacea_primitives::ValidatorIndex(1),
    );
    let mut safety = SafetyState::new(Epoch(0), QuorumCert::genesis(Epoch(0), genesis_block.id()));
    safety.last_voted_round = Round(1);
    {
        let storage = Storage::open(dir.path()).unwrap();
        storage.save_safety(&safety).unwrap();
        storage.save_pending_block(&pending).unwrap();
    }
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.load_safety().unwrap(), Some(safety.clone()));
    assert_eq!(storage.pending_blocks().unwrap(), vec![pending.clone()]);
    // A vote's block and safety state, written together, survive together.
    drop(storage);
    let voted = Block::new(
        Epoch(0),
        Round(2),
        QuorumCert::genesis(Epoch(0), genesis_block.id()),
        Payload::opaque(vec![8; 100]),
        panacea_primitives::ValidatorIndex(2),
    );
    safety.last_voted_round = Round(2);
    Storage::open(dir.path()).unwrap().save_pending_block_and_safety(&voted, &safety).unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.load_safety().unwrap(), Some(safety));
    let mut stored = storage.pending_blocks().unwrap();
    stored.sort_by_key(|b| b.header.round);
    assert_eq!(stored, vec![pending.clone(), voted.clone()]);
    storage.commit_block(&BlockCommit::uncertified(&genesis_block, &WriteBatch::new(), &[], Meta::default())).unwrap();
    assert_eq!(storage.pending_blocks().unwrap().len(), 2, "height 1 is above the committed height");
    storage.commit_block(&BlockCommit::uncertified(&pending, &WriteBatch::new(), &[], Meta::default())).unwrap();
    assert_eq!(
        storage.pending_blocks().unwrap().len(),
        0,
        "blocks at or below the committed height leave the pending set"
    );
}

#[test]
fn a_corrupt_record_is_an_error_not_a_panic() {
    let (_dir, storage) = open();
    storage.db.put_cf(storage.cf(CF_BLOCKS), 5u64.to_be_bytes(), b"garbage").unwrap();
    storage.db.put_cf(storage.cf(CF_CONSENSUS), KEY_SAFETY, [1u8; 3]).unwrap();
    assert!(matches!(storage.block(Height(5)), Err(StorageError::Corrupt { what: "block", .. })));
    assert!(matches!(storage.load_safety(), Err(StorageError::Corrupt { what: "safety state", .. })));
}

#[test]
fn a_receipt_is_stored_once_and_names_its_events_in_the_log() {
    let (_dir, storage) = open();
    let (_, _, receipt) = two_blocks(&storage);
    let Outcome::Ok { events } = &receipt.outcome else { panic!("the registration took effect") };
    assert_eq!(events.len(), 1);
    // The stored record names the event; it does not copy it.
    let stored = storage.get(CF_TRANSACTIONS, receipt.tx.as_bytes(), "test").unwrap().unwrap();
    assert!(stored.len() < 32, "{} bytes stored for a receipt", stored.len());
    assert!(stored.len() * 4 < codec::encode(&receipt).len());
    assert_eq!(storage.receipt(&receipt.tx).unwrap(), Some((Height(1), receipt)));

    // A failed transaction (the same nonce again) keeps its code and message.
    let tx = register_nurse();
    let context = BlockContext::new(chain_id(), Height(2), Timestamp(1_700_000_002_000));
    let outcome = execute_block(&storage.state(), &context, std::slice::from_ref(&tx)).unwrap();
    assert!(matches!(outcome.receipts[0].outcome, Outcome::Failed { .. }));
    let parent = storage.block(Height(1)).unwrap().unwrap();
    let justify = QuorumCert::anchor(Epoch(0), parent.id(), Height(1));
    let block2 =
        Block::new(Epoch(0), Round(2), justify, Payload::opaque(Vec::new()), panacea_primitives::ValidatorIndex(1));
    storage.commit_block(&BlockCommit::uncertified(&block2, &outcome.writes, &outcome.receipts, outcome.meta)).unwrap();
    assert_eq!(storage.receipt(&tx.id()).unwrap(), Some((Height(2), outcome.receipts[0].clone())));
}

#[test]
fn a_database_in_another_storage_format_is_refused_with_what_to_do() {
    // Format 1 had a `receipts` column family.
    let dir = tempfile::tempdir().unwrap();
    {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        DB::open_cf(&options, dir.path(), ["receipts", "state"]).unwrap();
    }
    let error = Storage::open(dir.path()).unwrap_err();
    assert!(matches!(error, StorageError::Incompatible { found: 1, expected: STORAGE_FORMAT, .. }), "{error}");
    assert!(error.to_string().contains("empty data folder"), "{error}");

    // A format this node does not know yet.
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Storage::open(dir.path()).unwrap();
        storage.db.put_cf(storage.cf(CF_CONSENSUS), KEY_FORMAT, codec::encode(&(STORAGE_FORMAT + 1))).unwrap();
    }
    let error = Storage::open(dir.path()).unwrap_err();
    assert!(matches!(error, StorageError::Incompatible { found, .. } if found == STORAGE_FORMAT + 1), "{error}");
    // And a database of this format opens again.
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    Storage::open(dir.path()).unwrap();
}

/// Bytes of the write-ahead log files in `dir`.
fn wal_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn the_write_ahead_log_stays_bounded_when_some_column_families_are_written_little() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let mut parent = Block::genesis(Epoch(0), Payload::opaque(Vec::new()));
    // Every block writes a little to the blocks, ids and roots, and 4 MiB of state: the
    // little ones never fill a memtable.
    let value = vec![0x5a_u8; 4 * 1024];
    for height in 0..80u64 {
        let block = if height == 0 {
            parent.clone()
        } else {
            let justify = QuorumCert::anchor(Epoch(0), parent.id(), parent.header.height);
            Block::new(
                Epoch(0),
                Round(height),
                justify,
                Payload::opaque(Vec::new()),
                panacea_primitives::ValidatorIndex(0),
            )
        };
        let mut state = WriteBatch::new();
        for i in 0..1_024u32 {
            // Distinct bytes per key, so that compression cannot hide the volume.
            let mut v = value.clone();
            v[..8].copy_from_slice(&(height * 1_024 + u64::from(i)).to_le_bytes());
            state.insert([b"s/bulk/".as_slice(), &height.to_be_bytes(), &i.to_be_bytes()].concat(), Some(v));
        }
        storage.commit_block(&BlockCommit::uncertified(&block, &state, &[], Meta::default())).unwrap();
        parent = block;
    }
    // 320 MiB went through the log; it keeps at most the bound and the memtables' worth.
    let wal = wal_bytes(dir.path());
    assert!(wal < WAL_BYTES_MAX + 96 * 1024 * 1024, "{} MiB of write-ahead log", wal >> 20);
}
