//! The shell without sockets: a single-validator chain on a temporary RocksDB, its
//! network replaced by channels the test reads.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use libp2p::PeerId;
use panacea_consensus::{Payload, QuorumCert, Role};
use panacea_contracts::codes::{OrgKind, StaffRole};
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::OrgId;
use panacea_contracts::membership::{ChainMode, Genesis, OrgStatus, Organisation};
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{ChainId, Epoch, Height, Keypair, Round, StateAttestation, Timestamp};
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::*;
use crate::chain::ChainSpec;
use crate::config::MempoolConfig;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::network::{NetEvent, SyncRequest, SyncResponse};
use crate::shared::{NodeStatus, Shared, Waiters};
use crate::storage::Storage;

struct Keys {
    validator: Keypair,
    admin: Keypair,
}

fn keys() -> Keys {
    Keys { validator: Keypair::from_seed([1; 32]), admin: Keypair::from_seed([2; 32]) }
}

fn chain(keys: &Keys) -> ChainSpec {
    let genesis = Genesis {
        chain_id: ChainId::new("shell-test").unwrap(),
        time: Timestamp(1_000),
        organisations: vec![Organisation {
            id: OrgId::new("hospital-a").unwrap(),
            name: "Hospital A".into(),
            kind: OrgKind::Hospital,
            validator_key: Some(keys.validator.public()),
            network_key: Some(Keypair::from_seed([3; 32]).public().to_bytes()),
            admin_keys: vec![keys.admin.public()],
            admin_threshold: 1,
            status: OrgStatus::Active,
        }],
        mode: ChainMode::Contracts,
        governance: Default::default(),
    };
    ChainSpec::new(genesis).unwrap()
}

/// A node's shared state, with the receivers that stand in for the network.
struct Harness {
    shared: Arc<Shared>,
    _snapshots: tempfile::TempDir,
    net: mpsc::Receiver<crate::network::NetCommand>,
    _gossip: mpsc::Receiver<Vec<u8>>,
}

fn harness(chain: ChainSpec, storage: Arc<Storage>) -> Harness {
    harness_with(chain, storage, 0, false)
}

/// A harness that makes snapshots every `interval` blocks and may state-sync.
fn harness_with(chain: ChainSpec, storage: Arc<Storage>, interval: u64, state_sync: bool) -> Harness {
    let (net, net_rx) = mpsc::channel(1 << 16);
    let (gossip, gossip_rx) = mpsc::channel(1 << 16);
    let validators = RwLock::new(chain.validators.clone());
    let snapshots_dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new());
    let snapshots =
        Arc::new(crate::statesync::Snapshots::open(snapshots_dir.path(), interval, 2, metrics.clone()).unwrap());
    let shared = Arc::new(Shared {
        chain,
        storage,
        mempool: Mutex::new(Mempool::new(MempoolConfig::default())),
        batches: Mutex::new(crate::ordering::BatchPool::new(16, 1 << 20)),
        mempool_notify: Notify::new(),
        capacity: crate::admission::Capacity::new(
            crate::admission::OverloadConfig { target: Duration::ZERO, floor_transactions: 0 },
            std::time::Instant::now(),
        ),
        status: RwLock::new(NodeStatus::default()),
        waiters: Waiters::new(100),
        metrics,
        connected: Arc::new(Mutex::new(BTreeSet::new())),
        net,
        gossip,
        peer_id: PeerId::random(),
        moniker: "test".into(),
        replay: crate::auth::ReplayCache::default(),
        committed_events: tokio::sync::broadcast::channel(crate::shared::COMMITTED_EVENTS_QUEUE).0,
        validators,
        evidence: Mutex::new(std::collections::VecDeque::new()),
        snapshots,
        state_sync,
    });
    Harness { shared, _snapshots: snapshots_dir, net: net_rx, _gossip: gossip_rx }
}

fn settings() -> ShellSettings {
    ShellSettings {
        block_transactions_max: 1_000,
        block_bytes_max: 1 << 20,
        empty_block_interval: Duration::from_millis(5),
        round_timeout_ms: 500,
        round_timeout_max_ms: 2_000,
    }
}

fn register(chain: &ChainSpec, admin: &Keypair, nonce: u64) -> SignedTransaction {
    let staff = Keypair::from_seed([100 + u8::try_from(nonce).unwrap(); 32]).public();
    let call =
        Call::Identity(IdentityCall::Register { key: staff, kind: IdentityKind::Staff { role: StaffRole::Nurse } });
    Transaction { chain_id: chain.chain_id().clone(), signer: admin.public(), nonce, call }.sign(admin)
}

/// Runs a single validator until its committed height reaches `height`.
async fn run_until(h: &Harness, keys: &Keys, height: u64) {
    let shell =
        Shell::open(h.shared.clone(), Role::Validator(keys.validator.clone()), settings(), Arc::new(SystemClock))
            .unwrap();
    let (_events_tx, events) = mpsc::channel(16);
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(shell.run(events, stop_rx));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while h.shared.storage.committed_height().unwrap().unwrap_or(Height::ZERO).0 < height {
        assert!(tokio::time::Instant::now() < deadline, "the chain did not reach height {height}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_commits_a_transaction_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let storage = Arc::new(Storage::open(dir.path()).unwrap());
    let h = harness(chain(&keys), storage.clone());
    let tx = register(&h.shared.chain, &keys.admin, 1);
    let id = tx.id();
    let size = tx.encode().len();
    h.shared.mempool.lock().unwrap().insert(tx, size, 1, std::time::Instant::now()).unwrap();
    let committed = h.shared.waiters.register(id).unwrap();
    let keys2 = Keys { validator: keys.validator.clone(), admin: keys.admin.clone() };
    let runner = tokio::spawn(async move {
        run_until(&h, &keys2, 3).await;
        h
    });
    tokio::time::timeout(Duration::from_secs(60), committed).await.unwrap().unwrap();
    let (height, receipt) = storage.receipt(&id).unwrap().expect("committed with a receipt");
    assert!(receipt.is_ok(), "{receipt:?}");
    let h = runner.await.unwrap();
    assert!(h.shared.mempool.lock().unwrap().stats().transactions == 0, "the pool forgets committed transactions");

    // A new shell on the same database resumes from the committed tip.
    let stopped_at = storage.committed_height().unwrap().unwrap();
    assert!(stopped_at >= height);
    let h2 = harness(chain(&keys), storage.clone());
    let shell =
        Shell::open(h2.shared.clone(), Role::Validator(keys.validator.clone()), settings(), Arc::new(SystemClock))
            .unwrap();
    assert_eq!(shell.tip.height, stopped_at);
    assert_eq!(Some(shell.tip.state_root), storage.state_root(stopped_at).unwrap());
    drop(shell);
    run_until(&h2, &keys, stopped_at.0 + 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_applies_certified_blocks_and_refuses_tampered_ones() {
    let keys = keys();
    let source_dir = tempfile::tempdir().unwrap();
    let source = harness(chain(&keys), Arc::new(Storage::open(source_dir.path()).unwrap()));
    run_until(&source, &keys, 6).await;
    let mut server =
        Shell::open(source.shared.clone(), Role::Validator(keys.validator.clone()), settings(), Arc::new(SystemClock))
            .unwrap();
    let (reply, answer) = oneshot::channel();
    server
        .on_net_event(NetEvent::SyncRequested { request: SyncRequest::Committed { from: Height(1), count: 64 }, reply })
        .unwrap();
    let response = answer.await.unwrap();
    let SyncResponse::Committed { blocks, certificate, .. } = response.clone() else { panic!("{response:?}") };
    assert!(!blocks.is_empty() && certificate.is_some());
    let last = blocks.last().unwrap().header.height;

    let follower_dir = tempfile::tempdir().unwrap();
    let follower_storage = Arc::new(Storage::open(follower_dir.path()).unwrap());
    let follower = harness(chain(&keys), follower_storage.clone());
    let mut shell = Shell::open(follower.shared.clone(), Role::Observer, settings(), Arc::new(SystemClock)).unwrap();
    let peer = PeerId::random();

    // A payload changed in transit, or a certificate stripped of its signatures: refused.
    let mut tampered = blocks.clone();
    tampered[0].payload = Payload::opaque(vec![1, 2, 3]);
    let bad = SyncResponse::Committed { blocks: tampered, certificate: certificate.clone(), suffix: Vec::new() };
    shell.on_net_event(NetEvent::SyncAnswered { from: peer, response: Some(bad) }).unwrap();
    let mut unsigned = certificate.clone().unwrap();
    unsigned.child_qc.signatures.clear();
    let bad = SyncResponse::Committed { blocks: blocks.clone(), certificate: Some(unsigned), suffix: Vec::new() };
    shell.on_net_event(NetEvent::SyncAnswered { from: peer, response: Some(bad) }).unwrap();
    assert_eq!(follower_storage.committed_height().unwrap(), Some(Height::ZERO));

    // The genuine answer is applied: same blocks, same state roots.
    shell.on_net_event(NetEvent::SyncAnswered { from: peer, response: Some(response.clone()) }).unwrap();
    assert_eq!(follower_storage.committed_height().unwrap(), Some(last));
    // The same answer again (a late duplicate, or blocks committed meanwhile) is skipped.
    shell.on_net_event(NetEvent::SyncAnswered { from: peer, response: Some(response) }).unwrap();
    assert_eq!(follower_storage.committed_height().unwrap(), Some(last));
    for height in 1..=last.0 {
        let height = Height(height);
        assert_eq!(
            follower_storage.block(height).unwrap().map(|b| b.id()),
            source.shared.storage.block(height).unwrap().map(|b| b.id())
        );
        assert_eq!(follower_storage.state_root(height).unwrap(), source.shared.storage.state_root(height).unwrap());
    }
}

/// Commits `tx` on a single validator: runs it until a few blocks past its tip.
async fn commit(h: &Harness, keys: &Keys, tx: SignedTransaction) -> Height {
    let id = tx.id();
    let size = tx.encode().len();
    let next = next_nonce(&h.shared.storage.state(), &tx.tx.signer).unwrap();
    h.shared.mempool.lock().unwrap().insert(tx, size, next, std::time::Instant::now()).unwrap();
    let tip = h.shared.storage.committed_height().unwrap().unwrap_or(Height::ZERO);
    run_until(h, keys, tip.0 + 3).await;
    let (height, receipt) = h.shared.storage.receipt(&id).unwrap().expect("committed");
    assert!(receipt.is_ok(), "{receipt:?}");
    height
}

/// A proposal extending `shell`'s committed tip, attesting this node's state at `attested`.
fn proposal(shell: &Shell, attested: Height, transactions: Vec<SignedTransaction>) -> Block {
    let state_root = shell.shared.storage.state_root(attested).unwrap().unwrap();
    let time = shell.clock.now().max(shell.tip.time.plus_millis(1));
    let body = BlockBody::new(time, StateAttestation { height: attested, state_root }, transactions);
    let justify = QuorumCert::anchor(Epoch(0), shell.tip.id, shell.tip.height);
    Block::new(Epoch(0), Round(1_000), justify, body.to_payload(), panacea_primitives::ValidatorIndex(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_with_a_signer_unregistered_in_the_attested_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let h = harness(chain(&keys), Arc::new(Storage::open(dir.path()).unwrap()));
    let chain_id = h.shared.chain.chain_id().clone();
    // A nurse is registered, then rotates to a new key: her old key was registered in the
    // state of `registered_at`, and is not any more.
    let (old, new) = (Keypair::from_seed([40; 32]), Keypair::from_seed([41; 32]));
    let call = Call::Identity(IdentityCall::Register {
        key: old.public(),
        kind: IdentityKind::Staff { role: StaffRole::Nurse },
    });
    let nurse =
        Transaction { chain_id: chain_id.clone(), signer: keys.admin.public(), nonce: 1, call }.sign(&keys.admin);
    let registered_at = commit(&h, &keys, nurse).await;
    let identity = panacea_contracts::identity::Identity::id_for(&OrgId::new("hospital-a").unwrap(), &old.public());
    let call = Call::Identity(IdentityCall::RotateKey { identity, new_key: new.public() });
    let rotate = Transaction { chain_id: chain_id.clone(), signer: old.public(), nonce: 1, call }.sign(&old);
    let rotated_at = commit(&h, &keys, rotate).await;
    assert!(rotated_at > registered_at);

    let mut shell =
        Shell::open(h.shared.clone(), Role::Validator(keys.validator.clone()), settings(), Arc::new(SystemClock))
            .unwrap();
    let tip = shell.tip.height;
    let stranger = Keypair::from_seed([42; 32]);
    let signed_by = |key: &Keypair, nonce: u64| {
        let call = Call::Identity(IdentityCall::Suspend { identity });
        Transaction { chain_id: chain_id.clone(), signer: key.public(), nonce, call }.sign(key)
    };
    let admin = register(&h.shared.chain, &keys.admin, 2);
    let check = |shell: &mut Shell, attested: Height, txs: Vec<SignedTransaction>| {
        let block = proposal(shell, attested, txs);
        shell.check_payload(&block)
    };
    // In the voter's own state: registered signers pass, an unregistered one does not.
    assert_eq!(check(&mut shell, tip, vec![admin.clone(), signed_by(&new, 2)]), Check::Done(true));
    assert_eq!(check(&mut shell, tip, vec![admin.clone(), signed_by(&stranger, 1)]), Check::Done(false));
    assert_eq!(check(&mut shell, tip, vec![signed_by(&old, 2)]), Check::Done(false), "rotated out at the tip");
    // Attesting an older state: the answer is that state's, read from the tree's history,
    // so a voter ahead of the proposer does not refuse an honest proposal.
    assert_eq!(check(&mut shell, registered_at, vec![signed_by(&old, 2)]), Check::Done(true));
    assert_eq!(check(&mut shell, registered_at, vec![signed_by(&stranger, 1)]), Check::Done(false));
    assert_eq!(check(&mut shell, Height::ZERO, vec![signed_by(&old, 2)]), Check::Done(false), "not yet registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_is_rejected_only_for_what_no_honest_node_sends() {
    use crate::admission::admit_gossiped;
    use crate::network::Verdict;
    use panacea_primitives::codec;
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let h = harness(chain(&keys), Arc::new(Storage::open(dir.path()).unwrap()));
    // Opening the shell writes genesis: the admin key is registered.
    drop(Shell::open(h.shared.clone(), Role::Observer, settings(), Arc::new(SystemClock)).unwrap());
    let author = PeerId::random();
    let batch =
        |txs: &[SignedTransaction]| codec::encode(&txs.iter().map(SignedTransaction::encode).collect::<Vec<_>>());
    let good = register(&h.shared.chain, &keys.admin, 1);
    let mut forged = register(&h.shared.chain, &keys.admin, 2);
    forged.tx.nonce = 3;
    let stranger = Keypair::from_seed([50; 32]);
    let unknown =
        Transaction { signer: stranger.public(), ..register(&h.shared.chain, &keys.admin, 1).tx }.sign(&stranger);

    assert!(matches!(admit_gossiped(&h.shared, author, &[1, 200, 7]), Verdict::Reject(_)), "undecodable");
    assert!(matches!(admit_gossiped(&h.shared, author, &batch(&[good.clone(), forged])), Verdict::Reject(_)));
    // A signer this node does not know may be known to an author ahead of it: ignored,
    // not held against the author; the batch's other transactions are still pooled.
    assert_eq!(admit_gossiped(&h.shared, author, &batch(&[unknown.clone(), good.clone()])), Verdict::Ignore);
    let pool = h.shared.mempool.lock().unwrap();
    assert!(pool.contains(&good.id()) && !pool.contains(&unknown.id()));
    drop(pool);
    assert_eq!(admit_gossiped(&h.shared, author, &batch(&[good])), Verdict::Accept);
}

#[test]
fn the_owner_record_key_is_the_contracts_own() {
    use crate::admission::{registered, registered_at, signer_standing};
    use crate::mempool::{AdmitError, SignerRefusal};
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let h = harness(chain(&keys), Arc::new(Storage::open(dir.path()).unwrap()));
    drop(Shell::open(h.shared.clone(), Role::Observer, settings(), Arc::new(SystemClock)).unwrap());
    let store = h.shared.storage.state();
    let version = h.shared.storage.state_meta(Height::ZERO).unwrap().unwrap().tree_version.unwrap();
    let (admin, stranger) = (keys.admin.public(), Keypair::from_seed([8; 32]).public());
    assert!(registered(&store, &admin).unwrap());
    assert!(registered_at(&store, version, &admin).unwrap(), "the history reads the record the contracts wrote");
    assert!(!registered(&store, &stranger).unwrap());
    assert!(!registered_at(&store, version, &stranger).unwrap());
    assert_eq!(signer_standing(&store, &admin), Ok(()));
    assert_eq!(
        signer_standing(&store, &stranger),
        Err(AdmitError::UnknownSigner { reason: SignerRefusal::NotRegistered })
    );
}

mod statesync;

/// A leader restarted on a certificate of a block it never received cannot see what that
/// block and the blocks below it carry: it proposes an empty block at once rather than
/// order a transaction again (restarts in a 45-restart run re-proposed 3 transactions of an
/// uncommitted ancestor: executed once, stored twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_see_an_ancestor_orders_nothing_it_may_carry() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let h = harness(chain(&keys), Arc::new(Storage::open(dir.path()).unwrap()));
    let tx = register(&h.shared.chain, &keys.admin, 1);
    let size = tx.encode().len();
    h.shared.mempool.lock().unwrap().insert(tx.clone(), size, 1, std::time::Instant::now()).unwrap();
    let mut shell =
        Shell::open(h.shared.clone(), Role::Validator(keys.validator.clone()), settings(), Arc::new(SystemClock))
            .unwrap();
    let since = std::time::Instant::now();
    let unseen = Build { round: Round(7), parent: panacea_primitives::Hash([9; 32]), since };
    let body = shell.build_body(unseen, false).expect("an empty block at once, not a wait");
    assert!(body.transactions.is_empty(), "the unseen ancestors may carry it");
    // On the committed tip, whose descendants it holds (none), it orders the transaction.
    let on_tip = Build { round: Round(7), parent: shell.tip.id, since };
    let body = shell.build_body(on_tip, false).expect("a block");
    assert_eq!(body.transactions, vec![tx]);
}
