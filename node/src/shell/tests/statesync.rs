//! State sync between two shells: one makes a snapshot, the other takes it in from two
//! "peers" (one of which tampers with a chunk), then catches up by blocks.

use panacea_contracts::state::snapshot::{AuditChunk, StateChunk};
use panacea_primitives::codec;

use super::*;
use crate::network::NetCommand;
use crate::statesync::{Offer, verify_offer};

/// Waits until `h` holds a snapshot at `height`.
async fn snapshot_made(h: &Harness, height: Height) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !h.shared.snapshots.heights().contains(&height) {
        assert!(tokio::time::Instant::now() < deadline, "no snapshot at {height}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn ask(server: &mut Shell, request: SyncRequest) -> SyncResponse {
    let (reply, mut answer) = oneshot::channel();
    server.on_net_event(NetEvent::SyncRequested { request, reply }).unwrap();
    answer.try_recv().unwrap()
}

fn offer_of(server: &mut Shell) -> Offer {
    match ask(server, SyncRequest::SnapshotOffer) {
        SyncResponse::Offer(Some(offer)) => *offer,
        other => panic!("{other:?}"),
    }
}

/// A single validator that committed `registrations` staff registrations and ran to
/// `height`, with a snapshot at 10, and a shell on it that serves the snapshot and its
/// offer.
struct Source {
    _dir: tempfile::TempDir,
    harness: Harness,
    server: Shell,
    offer: Offer,
}

async fn source(keys: &Keys, registrations: u64, height: u64) -> Source {
    let dir = tempfile::tempdir().unwrap();
    let harness = harness_with(chain(keys), Arc::new(Storage::open(dir.path()).unwrap()), 10, false);
    for nonce in 1..=registrations {
        commit(&harness, keys, register(&harness.shared.chain, &keys.admin, nonce)).await;
    }
    run_until(&harness, keys, height).await;
    snapshot_made(&harness, Height(10)).await;
    let mut server =
        Shell::open(harness.shared.clone(), Role::Validator(keys.validator.clone()), settings(), Arc::new(SystemClock))
            .unwrap();
    let offer = offer_of(&mut server);
    Source { _dir: dir, harness, server, offer }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_are_checked_against_genesis_and_refused_when_tampered() {
    let keys = keys();
    let Source { harness: source, mut server, offer, _dir } = source(&keys, 1, 14).await;
    assert_eq!(offer.height, Height(10));
    let genesis = &source.shared.chain.genesis;
    verify_offer(genesis, offer.clone()).expect("the genuine offer checks out");

    let mut bad = offer.clone();
    bad.meta.audit_count += 1;
    assert!(verify_offer(genesis, bad).unwrap_err().contains("attests"), "bookkeeping changed");
    let mut bad = offer.clone();
    bad.certificate.child_qc.signatures.clear();
    assert!(verify_offer(genesis, bad).unwrap_err().contains("certificate"), "certificate stripped");
    let mut bad = offer.clone();
    bad.headers.remove(0);
    assert!(verify_offer(genesis, bad).unwrap_err().contains("chain"), "a header left out");
    let mut bad = offer.clone();
    bad.block.payload = Payload::opaque(vec![7]);
    assert!(verify_offer(genesis, bad).is_err(), "the snapshot's block changed");
    let mut bad = offer;
    bad.state_chunks = u32::MAX;
    assert!(verify_offer(genesis, bad).is_err(), "absurd chunk counts");
    assert!(matches!(
        ask(&mut server, SyncRequest::SnapshotChunk { height: Height(10), index: 1 << 30 }),
        SyncResponse::Chunk { bytes: None, .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_node_imports_a_snapshot_refuses_a_tampered_chunk_and_catches_up() {
    let keys = keys();
    let Source { harness: source, mut server, offer, _dir } = source(&keys, 3, 16).await;

    let joiner_dir = tempfile::tempdir().unwrap();
    let joiner_storage = Arc::new(Storage::open(joiner_dir.path()).unwrap());
    let mut joiner = harness_with(chain(&keys), joiner_storage.clone(), 0, true);
    let mut shell = Shell::open(joiner.shared.clone(), Role::Observer, settings(), Arc::new(SystemClock)).unwrap();
    let (honest, tamperer) = (PeerId::random(), PeerId::random());
    joiner.shared.connected.lock().unwrap().extend([honest, tamperer]);
    shell.best_seen = source.shared.storage.committed_height().unwrap().unwrap();
    shell.maybe_sync(None);
    assert!(shell.state_syncing(), "a node at genesis far behind asks for snapshots");
    for peer in [honest, tamperer] {
        let offer = Some(Box::new(offer.clone()));
        shell.on_net_event(NetEvent::SyncAnswered { from: peer, response: Some(SyncResponse::Offer(offer)) }).unwrap();
    }
    let mut tampered_once = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while shell.state_syncing() {
        assert!(std::time::Instant::now() < deadline, "the import did not finish");
        let Ok(command) = joiner.net.try_recv() else {
            panic!("the joiner stopped asking for chunks: {:?}", shell.snapshot_sync);
        };
        let NetCommand::Sync { to, request: request @ SyncRequest::SnapshotChunk { .. } } = command else { continue };
        let mut response = ask(&mut server, request);
        if to == tamperer
            && !tampered_once
            && let SyncResponse::Chunk { bytes: Some(bytes), index, .. } = &mut response
        {
            // A value changed, or an audit chunk's proof replaced: each still decodes.
            if *index < offer.state_chunks {
                let mut chunk = codec::decode::<StateChunk, { 8 << 20 }>(bytes).unwrap();
                chunk.entries[0].1.push(0);
                *bytes = codec::encode(&chunk);
            } else {
                let mut chunk = codec::decode::<AuditChunk, { 8 << 20 }>(bytes).unwrap();
                chunk.proof = vec![panacea_primitives::Hash([9; 32]); chunk.proof.len().max(1)];
                *bytes = codec::encode(&chunk);
            }
            tampered_once = true;
        }
        shell.on_net_event(NetEvent::SyncAnswered { from: to, response: Some(response) }).unwrap();
    }
    assert!(tampered_once, "the tamperer was asked for a chunk");
    assert_eq!(joiner.shared.metrics.state_sync_refused.get(), 1);
    assert_eq!(joiner_storage.committed_height().unwrap(), Some(Height(10)));
    assert_eq!(joiner_storage.history_from().unwrap(), Height(10));
    assert_eq!(joiner_storage.state_root(Height(10)).unwrap(), source.shared.storage.state_root(Height(10)).unwrap());
    assert_eq!(joiner_storage.block(Height(5)).unwrap(), None, "no history below the snapshot");

    // Catch-up by blocks from the snapshot's next height, to the same roots.
    let response = ask(&mut server, SyncRequest::Committed { from: Height(11), count: 64 });
    shell.on_net_event(NetEvent::SyncAnswered { from: honest, response: Some(response) }).unwrap();
    let tip = joiner_storage.committed_height().unwrap().unwrap();
    assert!(tip > Height(10), "caught up to {tip}");
    assert_eq!(joiner_storage.state_root(tip).unwrap(), source.shared.storage.state_root(tip).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_import_starts_over_from_genesis() {
    let keys = keys();
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Storage::open(dir.path()).unwrap());
    let h = harness_with(chain(&keys), storage.clone(), 0, true);
    drop(Shell::open(h.shared.clone(), Role::Observer, settings(), Arc::new(SystemClock)).unwrap());
    let genesis_root = storage.state_root(Height::ZERO).unwrap();
    storage.begin_import().unwrap();
    storage.import_writes(&[(b"s/half".to_vec(), Some(b"imported".to_vec()))].into_iter().collect()).unwrap();
    assert!(storage.import_interrupted().unwrap());
    let shell = Shell::open(h.shared.clone(), Role::Observer, settings(), Arc::new(SystemClock)).unwrap();
    assert!(!storage.import_interrupted().unwrap());
    assert_eq!(shell.tip.height, Height::ZERO);
    assert_eq!(storage.state_root(Height::ZERO).unwrap(), genesis_root);
    assert_eq!(panacea_contracts::state::Store::get(&storage.state(), b"s/half").unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_honest_peer_left_the_joiner_returns_to_genesis_and_replays() {
    let keys = keys();
    let Source { harness: _source, mut server, offer, _dir } = source(&keys, 1, 14).await;

    let joiner_dir = tempfile::tempdir().unwrap();
    let joiner_storage = Arc::new(Storage::open(joiner_dir.path()).unwrap());
    let genesis_root = {
        let h = harness(chain(&keys), joiner_storage.clone());
        drop(Shell::open(h.shared.clone(), Role::Observer, settings(), Arc::new(SystemClock)).unwrap());
        joiner_storage.state_root(Height::ZERO).unwrap()
    };
    let mut joiner = harness_with(chain(&keys), joiner_storage.clone(), 0, true);
    let mut shell = Shell::open(joiner.shared.clone(), Role::Observer, settings(), Arc::new(SystemClock)).unwrap();
    let tamperer = PeerId::random();
    joiner.shared.connected.lock().unwrap().insert(tamperer);
    shell.best_seen = Height(14);
    shell.maybe_sync(None);
    let response = Some(SyncResponse::Offer(Some(Box::new(offer))));
    shell.on_net_event(NetEvent::SyncAnswered { from: tamperer, response }).unwrap();
    while shell.state_syncing() {
        let Ok(command) = joiner.net.try_recv() else {
            panic!("the joiner stopped asking for chunks: {:?}", shell.snapshot_sync);
        };
        let NetCommand::Sync { to, request: request @ SyncRequest::SnapshotChunk { .. } } = command else { continue };
        let mut response = ask(&mut server, request);
        if let SyncResponse::Chunk { bytes: Some(bytes), .. } = &mut response {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
        }
        shell.on_net_event(NetEvent::SyncAnswered { from: to, response: Some(response) }).unwrap();
    }
    assert!(matches!(shell.snapshot_sync, crate::shell::statesync::Phase::Idle { .. }), "{:?}", shell.snapshot_sync);
    assert_eq!(joiner.shared.metrics.state_sync_refused.get(), 1);
    assert_eq!(joiner_storage.committed_height().unwrap(), Some(Height::ZERO));
    assert_eq!(joiner_storage.state_root(Height::ZERO).unwrap(), genesis_root);
    assert!(!joiner_storage.import_interrupted().unwrap());
    // Catch-up by blocks from genesis works from there.
    let response = ask(&mut server, SyncRequest::Committed { from: Height(1), count: 64 });
    shell.on_net_event(NetEvent::SyncAnswered { from: tamperer, response: Some(response) }).unwrap();
    assert!(joiner_storage.committed_height().unwrap().unwrap() > Height(10));
}
