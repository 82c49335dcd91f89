//! Governance on real node processes: four hospitals vote in a fifth, which starts from
//! the genesis file and its own keys, catches up and becomes a validator at the next epoch
//! (proved by the chain committing with one of the original four down); then the
//! consortium votes a hospital out: its node is disconnected and its votes stop counting.
//! Throughout, a client keeps submitting; at the end every acknowledged transaction is on
//! every node's chain exactly once, every node holds the same block at every height, and a
//! light client follows the validator-set changes from the genesis file alone.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Consortium, commit, eventually, metric};
use panacea_client_sdk::types::TxState;
use panacea_client_sdk::{Client, ProvableRecord, RequestSigner, TrustAnchor};
use panacea_contracts::access::AccessCall;
use panacea_contracts::codes::{DataClass, OrgKind, Purpose, StaffRole};
use panacea_contracts::governance::{Action, GovernanceCall, NewMember, ProposalId, ProposalStatus};
use panacea_contracts::identity::{IdentityCall, IdentityKind};
use panacea_contracts::ids::{OrgId, PatientRef};
use panacea_contracts::membership::{OrgStatus, Organisation};
use panacea_contracts::{Call, Transaction};
use panacea_primitives::{ChainId, Hash, Height, Keypair, Timestamp};

fn now() -> Timestamp {
    Timestamp(
        u64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap(),
    )
}

/// Proposes `action` as `admin` (whose approval it carries); returns the proposal id.
async fn propose(client: &Client, chain: &ChainId, admin: &Keypair, action: Action) -> ProposalId {
    let deadline = now().plus_millis(60 * 60 * 1000);
    let call = Call::Governance(GovernanceCall::Propose { action, deadline, rationale: None, cites: Vec::new() });
    ProposalId(commit(client, chain, admin, call).await)
}

async fn vote(client: &Client, chain: &ChainId, admin: &Keypair, proposal: ProposalId) {
    commit(client, chain, admin, Call::Governance(GovernanceCall::Vote { proposal, approve: true })).await;
}

async fn epoch_of(client: &Client) -> (u64, usize) {
    match client.validators().await {
        Ok(view) => (view.epoch, view.validators.len()),
        Err(_) => (0, 0),
    }
}

/// Waits until node `i` commits `blocks` more blocks.
async fn commits(net: &Consortium, i: usize, blocks: u64, what: &str) {
    let from = net.height(i).await;
    eventually(what, || async { net.height(i).await >= from + blocks }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hospitals_vote_a_fifth_in_and_one_out_while_the_chain_keeps_committing() {
    let mut net = Consortium::generate(4, 0);
    for i in 0..4 {
        // Snapshots every ten blocks, so that the fifth hospital takes one in.
        net.configure(i, |config| config.state_sync.snapshot_interval = 10);
        net.start(i);
    }
    let chain = net.chain_id();
    let client = net.client(0);
    eventually("the consortium commits", || async { net.height(0).await >= 2 }).await;

    // A physician of hospital-0 keeps requesting access to patients' records through
    // hospital-0's node (permit or deny, each decision is a committed transaction): every
    // acknowledged transaction is checked at the end.
    let physician = Keypair::from_seed([0x77; 32]);
    let register = Call::Identity(IdentityCall::Register {
        key: physician.public(),
        kind: IdentityKind::Staff { role: StaffRole::Physician },
    });
    commit(&client, &chain, &net.nodes[0].admin, register).await;
    let acknowledged: Arc<Mutex<Vec<Hash>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (client, acknowledged, stop, chain) = (net.client(0), acknowledged.clone(), stop.clone(), chain.clone());
        tokio::spawn(async move {
            let mut nonce = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                nonce += 1;
                let call = Call::Access(AccessCall::Request {
                    patient: PatientRef(Hash::digest(&nonce.to_le_bytes())),
                    data_class: DataClass::LabResults,
                    resource_type: None,
                    purpose: Purpose::Treatment,
                    custodian: OrgId::new("hospital-1").unwrap(),
                    document: None,
                    data_time: None,
                    justification: None,
                });
                let tx =
                    Transaction { chain_id: chain.clone(), signer: physician.public(), nonce, call }.sign(&physician);
                match client.submit_and_wait(&tx, Duration::from_secs(30)).await {
                    Ok(status) if status.status == TxState::Committed => acknowledged.lock().unwrap().push(status.id),
                    other => panic!("load: {other:?}"),
                }
            }
        })
    };

    // The fifth hospital's operator runs `panacea-node init` and sends the consortium its
    // keys; hospital-0 proposes its admission, two more approve: 3 of 4 is more than 2/3.
    let fifth = net.prepare_joining("hospital-4");
    let home = net.home(fifth);
    let validator_key = panacea_node::keys::load(&home.validator_key()).unwrap().public();
    let network_key = panacea_node::keys::load(&home.node_key()).unwrap().public().to_bytes();
    let fifth_admin = net.nodes[fifth].admin.clone();
    let admit = Action::Admit(NewMember {
        id: OrgId::new("hospital-4").unwrap(),
        name: "Hospital 4".into(),
        kind: OrgKind::Hospital,
        validator_key: Some(validator_key),
        network_key: Some(network_key),
        admin_keys: vec![fifth_admin.public()],
        admin_threshold: 1,
    });
    let admins: Vec<Keypair> = (0..4).map(|i| net.nodes[i].admin.clone()).collect();
    let proposal = propose(&client, &chain, &admins[0], admit).await;
    vote(&client, &chain, &admins[1], proposal).await;
    let member = RequestSigner::new(admins[0].clone(), chain.clone());
    assert_eq!(client.proposal(&member, &proposal).await.unwrap().status, ProposalStatus::Open, "2 of 4");
    vote(&client, &chain, &admins[2], proposal).await;
    assert!(matches!(client.proposal(&member, &proposal).await.unwrap().status, ProposalStatus::Executed { .. }));
    eventually("epoch 1 with five validators", || async { epoch_of(&client).await == (1, 5) }).await;

    // The members' nodes snapshot the state of epoch 1. A snapshot is usable once a block
    // attests exactly its height, which the blocks right around an epoch change may skip:
    // wait for one a little past it, with blocks above.
    let changed_at = net.height(0).await;
    eventually("a snapshot of epoch 1 on every member's node, with blocks above it", || async {
        let top = net.height(0).await;
        (0..4).all(|i| snapshot_heights(&net, i).iter().any(|h| *h > changed_at + 10 && *h + 4 <= top))
    })
    .await;

    // It starts from the genesis file and its keys, follows the epoch change from genesis,
    // takes in a snapshot from its peers instead of replaying, catches up by blocks from
    // there, and votes in epoch 1.
    net.start(fifth);
    let joined = net.client(fifth);
    eventually("the fifth node catches up and votes", || async {
        let Ok(status) = joined.status().await else { return false };
        status.validator_index.is_some() && status.height.0 + 2 >= net.height(0).await
    })
    .await;
    assert_eq!(epoch_of(&joined).await, (1, 5));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a height, exact in an f64")]
    let synced_from = metric(&joined.metrics().await.unwrap(), "panacea_state_synced_from") as u64;
    assert!(synced_from > changed_at, "state-synced from {synced_from}, epoch 1 began by {changed_at}");
    assert!(joined.block(Height(1)).await.is_err(), "no history below the snapshot");
    // With hospital-3 down, four of five validators are left: a quorum only if the fifth votes.
    net.kill(3);
    commits(&net, 0, 5, "commits without hospital-3, the fifth voting").await;
    net.start(3);

    // The consortium votes hospital-3 out: four of five approvals carry it.
    let remove = propose(&client, &chain, &admins[0], Action::Remove(OrgId::new("hospital-3").unwrap())).await;
    vote(&client, &chain, &admins[1], remove).await;
    vote(&client, &chain, &admins[2], remove).await;
    assert_eq!(client.proposal(&member, &remove).await.unwrap().status, ProposalStatus::Open, "3 of 5");
    vote(&client, &chain, &fifth_admin, remove).await;
    assert!(matches!(client.proposal(&member, &remove).await.unwrap().status, ProposalStatus::Executed { .. }));
    eventually("epoch 2 with four validators", || async { epoch_of(&client).await == (2, 4) }).await;
    let removed_peer = net.peer_id(3).to_string();
    for i in [0, 1, 2, fifth] {
        let node = net.client(i);
        eventually("the removed hospital's node is disconnected", || async {
            node.status().await.is_ok_and(|s| !s.peers.contains(&removed_peer))
        })
        .await;
    }
    let organisations = client.organisations().await.unwrap();
    let removed: &Organisation = organisations.iter().find(|o| o.id.as_str() == "hospital-3").unwrap();
    assert_eq!(removed.status, OrgStatus::Removed);

    // Its votes stop counting: with hospitals 1 and 2 down, hospital-0 and the fifth are
    // two of four validators (quorum three), and hospital-3's node, still running, cannot
    // make up the third.
    net.kill(1);
    net.kill(2);
    let stalled = net.height(0).await;
    let before = std::time::Instant::now();
    // No fixed sleep: keep checking over a few rounds' worth of time that nothing commits.
    while before.elapsed() < Duration::from_secs(5) {
        assert!(net.height(0).await <= stalled + 2, "committed without a quorum of the current set");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    net.start(1);
    net.start(2);
    commits(&net, 0, 3, "commits again once hospitals 1 and 2 are back").await;

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.await.unwrap();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 10, "the load ran: {} acknowledged", acknowledged.len());

    // Every acknowledged transaction on every current member's node, at one height.
    let nodes = [0, 1, 2, fifth];
    let top = {
        let mut top = u64::MAX;
        for i in nodes {
            top = top.min(net.height(i).await);
        }
        top
    };
    for id in &acknowledged {
        let mut heights = Vec::new();
        let committed_at = net.client(0).transaction(id).await.unwrap().height;
        for i in nodes {
            // The fifth holds transactions from its snapshot on (the state has the rest).
            if i == fifth && committed_at.is_none_or(|h| h.0 <= synced_from) {
                continue;
            }
            let status = net.client(i).transaction(id).await.unwrap();
            assert_eq!(status.status, TxState::Committed, "{id} on node {i}");
            heights.push(status.height);
        }
        assert!(heights.windows(2).all(|w| w[0] == w[1]), "{id} at {heights:?}");
    }
    // No fork: the same block at every height on every node.
    for height in 1..=top {
        let reference = net.client(0).block(Height(height)).await.unwrap().id;
        for i in &nodes[1..] {
            if *i == fifth && height < synced_from {
                continue;
            }
            assert_eq!(net.client(*i).block(Height(height)).await.unwrap().id, reference, "height {height}");
        }
    }

    // A light client trusts only the genesis file: it follows both epoch changes and
    // checks a proof of the new member against the current set.
    let genesis = std::fs::read_to_string(net.home(0).genesis()).unwrap();
    let mut anchor = TrustAnchor::from_genesis_json(&genesis).unwrap();
    let changes = client.epoch_changes(1).await.unwrap();
    assert_eq!(changes.len(), 2);
    anchor.follow_all(&changes).unwrap();
    assert_eq!(anchor.validators().epoch().0, 2);
    let proof = client.proof(&member, &ProvableRecord::Organisation(OrgId::new("hospital-4").unwrap())).await.unwrap();
    let verified = anchor.verify_proof(&proof, now()).unwrap();
    assert!(verified.values.iter().any(|(_, v)| v.is_some()));
    // A change that does not verify is refused: out of order, or with any part altered.
    let mut fresh = TrustAnchor::from_genesis_json(&genesis).unwrap();
    assert!(fresh.follow(&changes[1]).is_err(), "epoch 1's change first");
    let mut pending = changes[0].clone();
    let last = pending.pending.len() - 1;
    pending.pending[last] ^= 1;
    let mut meta = changes[0].clone();
    meta.meta[0] ^= 1;
    let mut state = changes[0].clone();
    state.state.audit_count += 1;
    let mut header = changes[0].clone();
    header.header.round = panacea_primitives::Round(header.header.round.0 + 1);
    let mut certificate = changes[0].clone();
    certificate.certificate = changes[1].certificate.clone();
    for (what, forged) in
        [("set", pending), ("meta", meta), ("bookkeeping", state), ("header", header), ("certificate", certificate)]
    {
        let mut anchor = TrustAnchor::from_genesis_json(&genesis).unwrap();
        assert!(anchor.follow(&forged).is_err(), "a change with another {what} is refused");
        assert_eq!(anchor.validators().epoch().0, 0, "and the anchor is unchanged");
    }
}

/// Heights of the complete snapshots node `i` holds.
fn snapshot_heights(net: &Consortium, i: usize) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(net.home(i).snapshots()) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("info").exists())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect()
}
