//! End-to-end: real `panacea-node` processes on 127.0.0.1 (ports chosen by the system),
//! driven through the HTTP API and attacked over libp2p.

#![allow(clippy::print_stderr, reason = "phase timings help read a slow CI run")]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::attack::{self, Authorship};
use common::{Consortium, admin_tx, eventually, metric};
use panacea_client_sdk::types::TxState;
use panacea_contracts::codes::StaffRole;
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::membership::ChainMode;
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{Hash, Height, Keypair, OpaqueBatch};

/// Heights 1..=`upto` have the same block ids and state roots on every node in `nodes`.
async fn assert_same_chain(net: &Consortium, nodes: &[usize], upto: u64) {
    for h in 1..=upto {
        let mut seen: Option<(Hash, Option<Hash>)> = None;
        for &i in nodes {
            let block = net.client(i).block(Height(h)).await.expect("block");
            let here = (block.id, block.state_root);
            match &seen {
                None => seen = Some(here),
                Some(first) => assert_eq!(*first, here, "node {i} differs at height {h}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consortium_agrees_survives_crashes_and_catches_up() {
    let began = std::time::Instant::now();
    let phase = |name: &str| eprintln!("[{:>6.1} s] {name}", began.elapsed().as_secs_f64());
    let mut net = Consortium::generate(4, 1);
    for i in 0..5 {
        net.start(i);
    }
    phase("started 4 validators and 1 observer");

    // Transactions submitted through different nodes commit, with receipts.
    let mut nonces = BTreeMap::new();
    for round in 0..3 {
        for org in 0..4 {
            let tx = admin_tx(&net, org, &mut nonces);
            let status =
                net.client((org + round) % 4).submit_and_wait(&tx, Duration::from_secs(60)).await.expect("submit");
            assert_eq!(status.status, TxState::Committed, "{status:?}");
            assert!(status.receipt.expect("receipt").is_ok());
        }
    }
    // A batch: 40 transactions of two organisations, a replay and one for another chain in one
    // request, waited for as a whole; one item per transaction, in order.
    let mut batch: Vec<_> =
        (0..20).flat_map(|_| [admin_tx(&net, 0, &mut nonces), admin_tx(&net, 1, &mut nonces)]).collect();
    batch.push(batch[0].clone());
    let mut foreign = batch[1].tx.clone();
    foreign.chain_id = panacea_primitives::ChainId::new("elsewhere").unwrap();
    batch.push(foreign.sign(&net.nodes[1].admin));
    let items = net.client(2).submit_batch(&batch, Some(Duration::from_secs(60))).await.expect("batch");
    assert_eq!(items.len(), 42);
    let refusal = items[41].error.as_ref().map(|e| e.code.as_str());
    assert_eq!((refusal, items[41].status.is_none()), (Some("wrong_chain"), true), "{:?}", items[41]);
    for (item, tx) in items.iter().zip(&batch).take(40) {
        let status = item.status.as_ref().unwrap_or_else(|| panic!("refused: {item:?}"));
        assert_eq!((status.id, &status.status), (tx.id(), &TxState::Committed), "{item:?}");
    }
    // The replay of a committed transaction reports its commit, as a single submission does.
    assert_eq!(items[40].status.as_ref().map(|s| &s.status), Some(&TxState::Committed), "{:?}", items[40]);
    let garbage = net.client(2).submit_batch(&[], None).await.expect("an empty batch");
    assert!(garbage.is_empty());
    phase("a batch of 42: 41 committed, 1 refused");

    let height = net.height(0).await;
    for i in 0..5 {
        eventually("every node, the observer included, reaches the height", || async { net.height(i).await >= height })
            .await;
    }
    assert_same_chain(&net, &[0, 1, 2, 3, 4], height).await;
    phase("52 transactions committed; every node holds the same chain");

    // One validator is killed: the other three keep committing.
    net.kill(3);
    for _ in 0..5 {
        let tx = admin_tx(&net, 0, &mut nonces);
        let status = net.client(1).submit_and_wait(&tx, Duration::from_secs(60)).await.expect("submit with 3 of 4");
        assert_eq!(status.status, TxState::Committed);
    }
    phase("5 transactions committed by 3 of 4 validators");
    // Leaders are chosen among the validators the chain shows active (decision 0023): soon
    // no round waits for the dead one. Under round robin every fourth round it leads
    // times out, and so does the round before it.
    let (reader, operator) = (net.client(0), net.operator(0));
    eventually("12 blocks in a row, none by the killed validator, without a timed-out round", || async {
        let top = net.height(0).await;
        let mut previous: Option<u64> = None;
        for h in top.saturating_sub(11).max(1)..=top {
            let Ok(block) = reader.block_signed(&operator, Height(h)).await else { return false };
            if block.author == 3 || previous.is_some_and(|round| block.round != round + 1) {
                return false;
            }
            previous = Some(block.round);
        }
        top >= 12
    })
    .await;
    phase("the killed validator leads no round");
    // It restarts and catches up with what it missed.
    net.start(3);
    let height = net.height(0).await;
    eventually("the restarted validator catches up", || async { net.height(3).await >= height }).await;
    // The observer follows on its own: it may be a block behind node 0's height above.
    eventually("the observer follows", || async { net.height(4).await >= height }).await;
    assert_same_chain(&net, &[0, 3, 4], height).await;
    phase("the restarted validator caught up");

    // Under load, all four validators are killed at once. Every transaction a client
    // was told is committed must still be there after the restart, exactly once.
    let mut load = Vec::new();
    for org in 0..4 {
        let client = net.client(org);
        let txs: Vec<_> = (0..400).map(|_| admin_tx(&net, org, &mut nonces)).collect();
        load.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for tx in txs {
                match client.submit_and_wait(&tx, Duration::from_secs(5)).await {
                    Ok(status) if status.status == TxState::Committed => acknowledged.push(status.id),
                    _ => break,
                }
            }
            acknowledged
        }));
    }
    eventually("load is committing", || async {
        net.client(0).metrics().await.map(|m| metric(&m, "panacea_executed_transactions_total")).unwrap_or(0.0) > 60.0
    })
    .await;
    // The chain database's size is exported per column family.
    let metrics = net.client(0).metrics().await.unwrap();
    let state = r#"panacea_storage_bytes{column_family="state",place="memtables"}"#;
    assert!(metric(&metrics, state) > 0.0, "{state} in\n{metrics}");
    for i in 0..4 {
        net.kill(i);
    }
    phase("all 4 validators killed under load");
    let mut acknowledged = Vec::new();
    for task in load {
        acknowledged.extend(task.await.expect("load task"));
    }
    assert!(!acknowledged.is_empty());
    for i in 0..4 {
        net.start(i);
    }
    let before = net.height(0).await;
    eventually("the restarted consortium commits again", || async { net.height(0).await > before + 2 }).await;
    phase("the restarted consortium commits again");
    let height = net.height(0).await;
    let mut occurrences: BTreeMap<Hash, usize> = BTreeMap::new();
    for h in 1..=height {
        let block = net.client(0).block_signed(&net.operator(0), Height(h)).await.expect("block");
        for id in block.transactions.expect("an operator reads the transactions") {
            *occurrences.entry(id).or_default() += 1;
        }
    }
    for i in 1..4 {
        eventually("validators converge", || async { net.height(i).await >= height }).await;
    }
    for id in &acknowledged {
        assert_eq!(occurrences.get(id), Some(&1), "acknowledged transaction {id} is not in exactly one block");
        for i in 0..4 {
            let status = net.client(i).transaction(id).await.expect("status");
            assert_eq!(status.status, TxState::Committed, "node {i} lost {id}");
        }
    }
    eventually("the observer follows", || async { net.height(4).await >= height }).await;
    assert_same_chain(&net, &[0, 1, 2, 3, 4], height).await;
    phase(&format!("{} acknowledged transactions found exactly once; the observer agrees", acknowledged.len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outsiders_are_refused_and_garbage_does_not_crash_a_node() {
    let mut net = Consortium::generate(4, 1);
    for i in 0..4 {
        net.start(i);
    }
    let target = net.p2p_address(0);
    let client = net.client(0);

    // A node whose key is not registered for any member is refused.
    let outsider = libp2p::identity::Keypair::generate_ed25519();
    common::attack::dial_and_send(outsider, target.clone(), vec![]).await;
    eventually("the outsider's connection is refused", || async {
        client.metrics().await.map(|m| metric(&m, "panacea_p2p_connections_denied_total")).unwrap_or(0.0) >= 1.0
    })
    .await;

    // A member's node (the observer's key, its process not running) sends an oversized
    // frame and a frame of garbage: both are refused and counted, and the node goes on.
    let member = net.network_identity(4);
    let oversized = [u32::MAX.to_be_bytes().to_vec(), vec![0u8; 64]].concat();
    let garbage = [16u32.to_be_bytes().to_vec(), vec![0xAB; 16]].concat();
    common::attack::dial_and_send(member, target, vec![oversized, garbage]).await;
    eventually("bad frames are counted", || async {
        client.metrics().await.map(|m| metric(&m, "panacea_p2p_bad_messages_total")).unwrap_or(0.0) >= 2.0
    })
    .await;
    let before = net.height(0).await;
    // A consortium's chain takes no opaque batches: those are for ordering-only chains.
    let opaque = OpaqueBatch::from_transactions([&[1u8; 512][..]]).unwrap();
    let refused = client.submit_opaque_batch(&opaque, Some(Duration::from_secs(5))).await.unwrap_err();
    assert_eq!(refused.code(), Some("not_ordering_only"), "{refused}");
    let mut nonces = BTreeMap::new();
    let tx = admin_tx(&net, 1, &mut nonces);
    let status = client.submit_and_wait(&tx, Duration::from_secs(60)).await.expect("the node still serves");
    assert_eq!(status.status, TxState::Committed);
    // The block that holds it (the node's reported height can trail its receipts by a
    // moment: a receipt is readable as soon as its block is stored).
    assert!(status.height.is_some_and(|h| h.0 > before), "{status:?} at {before}");

    // A transaction signed by a key no member registered is refused at admission, alone or
    // in a batch beside a good one, and never reaches a block.
    let stranger = Keypair::from_seed([0x5A; 32]);
    let call = Call::Identity(IdentityCall::Register {
        key: Keypair::from_seed([0x5B; 32]).public(),
        kind: IdentityKind::Staff { role: StaffRole::Physician },
    });
    let unknown = Transaction { chain_id: net.chain_id(), signer: stranger.public(), nonce: 1, call }.sign(&stranger);
    let refused = client.submit(&unknown).await.expect_err("an unregistered signer is refused");
    assert_eq!(refused.code(), Some("unknown_signer"), "{refused}");
    let good = admin_tx(&net, 2, &mut nonces);
    let items =
        client.submit_batch(&[unknown.clone(), good.clone()], Some(Duration::from_secs(60))).await.expect("batch");
    assert_eq!(items[0].error.as_ref().map(|e| e.code.as_str()), Some("unknown_signer"), "{:?}", items[0]);
    assert_eq!(items[1].status.as_ref().map(|s| &s.status), Some(&TxState::Committed), "{:?}", items[1]);
    for i in 0..4 {
        let status = net.client(i).transaction(&unknown.id()).await.expect("status");
        assert_eq!(status.status, TxState::Unknown, "node {i} holds the unregistered signer's transaction");
    }
    net.assert_running(0);
}

/// Gossip is validated before it is relayed, and its signed author answers for it. A
/// member's node gossips undecodable batches and a badly signed transaction to each honest
/// node, and another member's node gossips unsigned messages that name an honest node as
/// their author: each honest node penalises the sender, and none penalises another honest
/// node for relaying. With three of four validators running, one ban between two of them
/// would stop the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gossiped_garbage_penalises_its_author_never_an_honest_relay() {
    let mut net = Consortium::generate(4, 1);
    for i in 0..3 {
        net.start(i);
    }
    let honest: Vec<String> = (0..3).map(|i| net.peer_id(i).to_string()).collect();
    let mut nonces = BTreeMap::new();
    // Transactions gossiped through each node: the honest nodes' gossip meshes are formed.
    for i in 0..3 {
        let tx = admin_tx(&net, i, &mut nonces);
        let status = net.client(i).submit_and_wait(&tx, Duration::from_secs(60)).await.expect("submit");
        assert_eq!(status.status, TxState::Committed);
    }

    // Validator 3 (stopped) signs its gossip; the observer (stopped) forges authors.
    let topic = panacea_node::network::transactions_topic(net.chain_id().as_str()).to_string();
    let (signer, forger) = (net.network_identity(3), net.network_identity(4));
    let mut attacks = Vec::new();
    for i in 0..3u8 {
        let node = usize::from(i);
        // Undecodable: a list of one item of 200 bytes, cut short.
        let mut garbage: Vec<Vec<u8>> = (0..3u8).map(|k| vec![1, 200, i, k]).collect();
        // Well formed, but the transaction's signature does not verify.
        let mut forged_tx = admin_tx(&net, node, &mut BTreeMap::new());
        forged_tx.tx.nonce = 1_000;
        garbage.push(panacea_primitives::codec::encode(&vec![forged_tx.encode()]));
        let address = net.p2p_address(node);
        attacks.push(attack::gossip(signer.clone(), address.clone(), &topic, Authorship::Signed, garbage).await);
        let unsigned: Vec<Vec<u8>> = (0..5u8).map(|k| vec![2, 200, i, k]).collect();
        let author = Authorship::Forged(net.peer_id((node + 1) % 3));
        attacks.push(attack::gossip(forger.clone(), address, &topic, author, unsigned).await);
    }

    let (signer, forger) = (net.peer_id(3).to_string(), net.peer_id(4).to_string());
    let penalised = |i: usize, what: &str, peer: &str| net.log(i).lines().any(|l| l.contains(what) && l.contains(peer));
    for i in 0..3 {
        eventually("each honest node bans the author of the garbage", || async {
            penalised(i, "banning peer", &signer)
        })
        .await;
    }
    // The chain goes on: the honest validators still form a quorum.
    for i in 0..3 {
        let tx = admin_tx(&net, i, &mut nonces);
        let status = net.client(i).submit_and_wait(&tx, Duration::from_secs(60)).await.expect("submit");
        assert_eq!(status.status, TxState::Committed, "the honest validators lost their quorum");
    }
    // Unsigned gossip never reaches validation: gossipsub drops it and scores the peer
    // that sent it, which under strict validation everywhere is the forger.
    for i in 0..3 {
        eventually("each honest node graylists the forger", || async { penalised(i, "graylisted", &forger) }).await;
    }
    for i in 0..3 {
        let peers = net.client(i).status().await.expect("status").peers;
        for (j, peer) in honest.iter().enumerate() {
            assert!(j == i || peers.contains(peer), "node {i} is not connected to honest node {j}: {peers:?}");
        }
        for line in net.log(i).lines().filter(|l| l.contains("banning peer") || l.contains("graylisted")) {
            assert!(!honest.iter().any(|p| line.contains(p.as_str())), "node {i} penalised an honest node: {line}");
        }
    }
    for attack in attacks {
        attack.abort();
    }
}

/// The consensus-only benchmark's chain: opaque batches sent to any validator commit
/// exactly once, in blocks every node (observer included) agrees on, also with one
/// validator down; an observer and malformed framing are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ordering_only_chain_orders_opaque_batches_exactly_once() {
    let mut net = Consortium::generate_with_mode(4, 1, ChainMode::OrderingOnly);
    for i in 0..5 {
        net.start(i);
    }
    let batch = |v: usize, k: usize| {
        let txs: Vec<Vec<u8>> = (0..10u8)
            .map(|t| [vec![u8::try_from(v).unwrap(), u8::try_from(k).unwrap(), t], vec![0xA5; 509]].concat())
            .collect();
        OpaqueBatch::from_transactions(txs.iter().map(Vec::as_slice)).unwrap()
    };
    let mut sent = Vec::new();
    for round in 0..2 {
        if round == 1 {
            // f = 1 of 4: the other three still order.
            net.kill(3);
        }
        let running = if round == 0 { 4 } else { 3 };
        let mut tasks = Vec::new();
        for v in 0..running {
            for k in 0..3 {
                let (client, batch) = (net.client(v), batch(v, round * 3 + k));
                sent.push(batch.id());
                tasks.push(tokio::spawn(async move {
                    client.submit_opaque_batch(&batch, Some(Duration::from_secs(60))).await
                }));
            }
        }
        for task in tasks {
            let status = task.await.unwrap().expect("a validator takes the batch");
            if status.status != TxState::Committed {
                let logs: Vec<String> = (0..running).map(|v| format!("node {v}:\n{}", net.log_tail(v))).collect();
                panic!("{status:?} did not commit\n{}", logs.join("\n"));
            }
            assert_eq!(status.transactions, 10);
        }
    }

    let observer = net.client(4);
    let refused = observer.submit_opaque_batch(&batch(9, 9), None).await.unwrap_err();
    assert_eq!(refused.code(), Some("not_a_validator"), "{refused}");
    let cut = reqwest::Client::new()
        .post(format!("{}/v1/ordering/batches", net.api_url(0)))
        .body(vec![5u8, 0, 0, 0, 1])
        .send()
        .await
        .unwrap();
    assert_eq!(cut.status(), reqwest::StatusCode::BAD_REQUEST);

    // The highest height any running validator committed: a batch acknowledged by one
    // validator may not have reached another's committed tip yet.
    let mut height = 0;
    for v in 0..3 {
        height = height.max(net.height(v).await);
    }
    for node in [0, 1, 2, 4] {
        eventually("every running node reaches the highest committed height", || async {
            net.height(node).await >= height
        })
        .await;
    }
    assert_same_chain(&net, &[0, 1, 2, 4], height).await;
    let mut ordered = BTreeMap::new();
    for h in 1..=height {
        let block = net.client(4).block_signed(&net.operator(4), Height(h)).await.unwrap();
        for id in block.transactions.expect("an operator reads the transactions") {
            *ordered.entry(id).or_insert(0u32) += 1;
        }
    }
    for id in &sent {
        assert_eq!(ordered.get(id), Some(&1), "batch {id} is ordered exactly once");
    }
    assert_eq!(ordered.len(), sent.len(), "nothing else was ordered");
}

/// Sends `signal` (`STOP`, `CONT`) to process `pid`.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A frozen peer (SIGSTOP: its TCP connections stay open and the kernel still accepts new
/// ones, but it answers nothing) is noticed by ping and disconnected within seconds,
/// instead of counting as connected for ever; the others keep committing; once it thaws
/// it is redialled and catches up. Then two of four freeze: the others' status says they
/// reach no quorum, and once the two thaw, commits resume. The times are printed as
/// figures (docs/benchmarks.md, "Liveness"), not asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_peer_is_disconnected_and_redialled_once_it_thaws() {
    let mut net = Consortium::generate(4, 0);
    for i in 0..4 {
        net.start(i);
    }
    eventually("the consortium commits", || async { net.height(0).await >= 2 }).await;
    let frozen = net.peer_id(3).to_string();
    let pid = net.pid(3);
    signal(pid, "STOP");
    let began = std::time::Instant::now();
    for i in 0..3 {
        let node = net.client(i);
        eventually("the frozen peer is disconnected", || async {
            node.status().await.is_ok_and(|s| !s.peers.contains(&frozen))
        })
        .await;
    }
    // Before, a frozen peer stayed connected for ever: being dropped at all is the check;
    // how soon is a figure (printed below, recorded in docs/benchmarks.md), not a bound.
    let detected = began.elapsed();
    assert!(metric(&net.client(0).metrics().await.unwrap(), "panacea_p2p_peers_lost_total") >= 1.0);
    let before = net.height(0).await;
    eventually("three of four keep committing", || async { net.height(0).await >= before + 3 }).await;
    let status = net.client(0).status().await.unwrap();
    assert_eq!((status.validators_reachable, status.quorum_reachable), (3, true), "{status:?}");

    signal(pid, "CONT");
    let thawed = std::time::Instant::now();
    let node = net.client(0);
    eventually("the thawed peer is connected again", || async {
        node.status().await.is_ok_and(|s| s.peers.contains(&frozen))
    })
    .await;
    let reconnected = thawed.elapsed();
    eventually("it catches up", || async { net.height(3).await + 2 >= net.height(0).await }).await;

    // Two of four freeze: node 0 reaches itself and node 3, short of a quorum of three, and
    // says so rather than looking healthy.
    let others = [net.pid(1), net.pid(2)];
    for pid in others {
        signal(pid, "STOP");
    }
    eventually("node 0 knows it reaches no quorum", || async {
        node.status().await.is_ok_and(|s| s.validators_reachable == 2 && !s.quorum_reachable && s.peers.len() == 1)
    })
    .await;
    let stalled = net.height(0).await;
    for pid in others {
        signal(pid, "CONT");
    }
    let healed = std::time::Instant::now();
    // The first commit after the heal (an idle chain then goes on at its empty-block pace).
    eventually("commits resume once the two thaw", || async { net.height(0).await > stalled }).await;
    let resumed = healed.elapsed();
    eprintln!(
        "frozen peer dropped after {detected:?}, reconnected {reconnected:?} after it thawed; \
         commits resumed {resumed:?} after two of four thawed"
    );
}

/// A transaction stuck in a node's pool (the node cannot reach a quorum) does not make the
/// signer's next submissions to that node fail with `nonce_taken`: the node reports the
/// nonce after its pending ones, the SDK and CLI use it, and everything commits in order
/// once a quorum is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_transaction_does_not_block_the_signers_next_ones() {
    let mut net = Consortium::generate(4, 0);
    net.start(0);
    let client = net.client(0);
    let admin = net.nodes[0].admin.clone();
    let chain = net.chain_id();
    let register = |nonce: u64| {
        let staff = Keypair::from_seed([0x40 + u8::try_from(nonce).unwrap(); 32]).public();
        let call =
            Call::Identity(IdentityCall::Register { key: staff, kind: IdentityKind::Staff { role: StaffRole::Nurse } });
        Transaction { chain_id: chain.clone(), signer: admin.public(), nonce, call }.sign(&admin)
    };
    // Alone, node 0 cannot commit: the first transaction stays pending.
    let first = client.next_free_nonce(&admin.public()).await.unwrap();
    assert_eq!(client.submit(&register(first)).await.unwrap().status, TxState::Pending);
    let nonces = client.nonces(&admin.public()).await.unwrap();
    assert_eq!((nonces.next_nonce, nonces.next_free_nonce), (first, first + 1));
    // Taking the committed nonce again is what failed before: the pool holds it.
    let taken = client.submit(&register(first + 10)).await;
    assert!(taken.is_ok(), "a farther nonce within the window is pooled: {taken:?}");
    let again = Transaction { nonce: first, ..register(first + 11).tx }.sign(&admin);
    let refused = client.submit(&again).await.unwrap_err().to_string();
    assert!(refused.contains("nonce_taken"), "{refused}");
    // The free nonce is accepted and waits its turn.
    let second = client.next_free_nonce(&admin.public()).await.unwrap();
    assert_eq!(second, first + 1);
    let pending = client.submit(&register(second)).await.unwrap();
    assert_eq!(pending.status, TxState::Pending);

    net.start(1);
    net.start(2);
    eventually("both commit in order", || async {
        client.nonces(&admin.public()).await.is_ok_and(|n| n.next_nonce == second + 1)
    })
    .await;
}

/// Admission control (issue 20): a node whose chain cannot commit what it holds refuses
/// whole requests past its floor with 429 `overloaded` and a `Retry-After`, instead of
/// queueing without bound, and takes them once commits drain the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_capacity_refuses_whole_requests_with_retry_after_and_takes_them_once_it_commits() {
    let mut net = Consortium::generate(4, 0);
    for i in 0..4 {
        net.configure(i, |config| config.mempool.queue_floor_transactions = 10);
    }
    // Two of four validators: no quorum, nothing commits, the measured rate stays 0.
    net.start(0);
    net.start(1);
    let client = net.client(0);
    let mut nonces = BTreeMap::new();
    let first: Vec<_> = (0..8).map(|_| admin_tx(&net, 0, &mut nonces)).collect();
    let items = client.submit_batch(&first, None).await.expect("an empty pool takes a batch");
    assert!(items.iter().all(|i| i.status.as_ref().is_some_and(|s| s.status == TxState::Pending)), "{items:?}");
    let second: Vec<_> = (0..8).map(|_| admin_tx(&net, 0, &mut nonces)).collect();
    let refused = client.submit_batch(&second, None).await.expect_err("16 waiting is past the floor of 10");
    assert_eq!(refused.code(), Some("overloaded"), "{refused}");
    let wait = refused.retry_after().expect("a Retry-After");
    assert!((1..=30).contains(&wait.as_secs()), "Retry-After {wait:?}");
    // Nothing of the refused batch was taken: its first transaction is unknown.
    let unknown = client.transaction(&second[0].id()).await.unwrap();
    assert_eq!(unknown.status, TxState::Unknown, "{unknown:?}");
    let metrics = client.metrics().await.unwrap();
    assert!(metric(&metrics, "panacea_overloaded_total") >= 1.0, "counted");

    // With the other two validators the chain commits, the pool drains, and the same batch
    // is taken and committed.
    net.start(2);
    net.start(3);
    eventually("the refused batch is taken once the chain commits", || async {
        client.submit_batch(&second, None).await.is_ok()
    })
    .await;
    for tx in &second {
        let status = client.submit_and_wait(tx, Duration::from_secs(30)).await.unwrap();
        assert_eq!(status.status, TxState::Committed, "{status:?}");
    }
    eventually("a commit rate measured", || async {
        client.metrics().await.is_ok_and(|m| metric(&m, "panacea_capacity_transactions_per_second") > 0.0)
    })
    .await;
}
