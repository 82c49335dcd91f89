//! Assembles a node from its home folder and runs it until shutdown.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use libp2p::Multiaddr;
use panacea_consensus::Role;
use panacea_contracts::membership::ChainMode;
use serde::Serialize;
use tokio::sync::{Notify, mpsc, watch};

use crate::chain::{ChainError, ChainSpec, member_peers};
use crate::config::{Config, Home, NodeRole};
use crate::keys::{self, KeyError};
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::network::{self, Gossiped, NetCommand, Network, NetworkError, NetworkSettings, TX_BATCH_BYTES_MAX};
use crate::ordering::BatchPool;
use crate::shared::{NodeStatus, Shared, Waiters};
use crate::shell::{Shell, ShellError, ShellSettings, SystemClock};
use crate::storage::{Storage, StorageError};

/// Most transactions waiting to be gossiped.
const GOSSIP_QUEUE_MAX: usize = 65_536;
/// Most opaque batches pending on an ordering-only chain (bytes are bounded by the pool's
/// byte limit).
const ORDERING_BATCHES_MAX: usize = 4_096;
/// Most network events waiting for the shell.
const EVENTS_MAX: usize = 16_384;
/// Most transactions in one gossiped batch.
const GOSSIP_BATCH_MAX: usize = 2_000;

/// The node cannot run.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Genesis.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Keys.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Storage.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// Network.
    #[error("network: {0}")]
    Network(#[from] NetworkError),
    /// Consensus and execution.
    #[error("the node stopped: {0}")]
    Shell(#[from] ShellError),
    /// The configuration does not fit the chain.
    #[error("{0}")]
    Config(String),
    /// The data folder could not be created.
    #[error("cannot create the data folder {path}: {error}")]
    DataDir {
        /// The folder.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The API could not start.
    #[error("cannot serve the API on {addr}: {error}")]
    Api {
        /// The address.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
}

/// What a running node writes to `addresses.json`, so that scripts and tests find it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Addresses {
    /// The API's base URL.
    pub api: String,
    /// The peer-to-peer addresses, with `/p2p/<peer id>`.
    pub p2p: Vec<String>,
    /// The libp2p peer id.
    pub peer_id: String,
}

/// Runs the node in `home` with `config` until `shutdown` turns true.
pub async fn run(home: &Home, config: Config, shutdown: watch::Receiver<bool>) -> Result<(), NodeError> {
    let chain = ChainSpec::load(&home.genesis())?;
    let node_key = keys::load(&home.node_key())?;
    let identity = keys::network_identity(&node_key)?;
    let role = match config.role {
        NodeRole::Validator => {
            // A key not (yet) in the current set follows as an observer and starts voting
            // at the epoch whose set holds it (a hospital voted in by the consortium).
            Role::Validator(keys::load(&home.validator_key())?)
        }
        NodeRole::Observer => Role::Observer,
    };
    let role_name = match config.role {
        NodeRole::Validator => "validator",
        NodeRole::Observer => "observer",
    };
    std::fs::create_dir_all(home.data())
        .map_err(|error| NodeError::DataDir { path: home.data().display().to_string(), error })?;
    let storage = Arc::new(Storage::open(&home.data())?);
    let metrics = Arc::new(Metrics::new());
    let snapshots = Arc::new(
        crate::statesync::Snapshots::open(
            &home.snapshots(),
            config.state_sync.snapshot_interval,
            config.state_sync.snapshots_kept,
            metrics.clone(),
        )
        .map_err(NodeError::Config)?,
    );
    let connected = Arc::new(Mutex::new(BTreeSet::new()));
    let (net_tx, net_rx) = mpsc::channel(network::COMMANDS_MAX);
    let (events_tx, events_rx) = mpsc::channel(EVENTS_MAX);
    let (gossip_tx, gossip_rx) = mpsc::channel(GOSSIP_QUEUE_MAX);
    let (gossiped_tx, gossiped_rx) = mpsc::channel(network::GOSSIP_VALIDATION_QUEUE_MAX);

    let listen: Multiaddr =
        config.p2p.listen.parse().map_err(|e| NodeError::Config(format!("p2p.listen {:?}: {e}", config.p2p.listen)))?;
    let mut peers = Vec::new();
    for peer in &config.p2p.peers {
        peers.push(peer.parse::<Multiaddr>().map_err(|e| NodeError::Config(format!("p2p.peers {peer:?}: {e}")))?);
    }
    let settings = NetworkSettings {
        listen,
        peers,
        members: member_peers(&chain.genesis.organisations),
        chain_id: chain.chain_id().to_string(),
        message_bytes_max: config.p2p.message_bytes_max,
    };
    let (docs_tx, docs_rx) = mpsc::channel(network::DOCS_IN_FLIGHT_MAX);
    let (network, info) =
        Network::start(identity, settings, events_tx, gossiped_tx, docs_tx, connected.clone(), metrics.clone()).await?;

    let chain_validators = chain.validators.clone();
    let shared = Arc::new(Shared {
        chain,
        storage,
        mempool: Mutex::new(Mempool::new(config.mempool.clone())),
        batches: Mutex::new(BatchPool::new(ORDERING_BATCHES_MAX, config.mempool.bytes_max)),
        mempool_notify: Notify::new(),
        capacity: crate::admission::Capacity::new(
            crate::admission::OverloadConfig {
                target: std::time::Duration::from_millis(config.mempool.queue_delay_target_ms),
                floor_transactions: config.mempool.queue_floor_transactions,
            },
            std::time::Instant::now(),
        ),
        status: RwLock::new(NodeStatus::default()),
        waiters: Waiters::new(config.api.waiters_max),
        metrics,
        connected,
        net: net_tx.clone(),
        gossip: gossip_tx,
        peer_id: info.peer_id,
        moniker: config.moniker.clone(),
        replay: crate::auth::ReplayCache::default(),
        committed_events: tokio::sync::broadcast::channel(crate::shared::COMMITTED_EVENTS_QUEUE).0,
        validators: RwLock::new(chain_validators),
        evidence: Mutex::new(std::collections::VecDeque::new()),
        snapshots,
        state_sync: config.state_sync.enabled,
    });
    let shell_settings = ShellSettings {
        block_transactions_max: config.consensus.block_transactions_max,
        block_bytes_max: config.consensus.block_bytes_max,
        empty_block_interval: Duration::from_millis(config.consensus.empty_block_interval_ms),
        round_timeout_ms: config.consensus.round_timeout_ms,
        round_timeout_max_ms: config.consensus.round_timeout_max_ms,
    };
    let shell = Shell::open(shared.clone(), role, shell_settings, Arc::new(SystemClock))?;

    let api_listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .map_err(|error| NodeError::Api { addr: config.api.listen.to_string(), error })?;
    let api_addr =
        api_listener.local_addr().map_err(|error| NodeError::Api { addr: config.api.listen.to_string(), error })?;
    let addresses = Addresses {
        api: format!("http://{api_addr}"),
        p2p: info.listen.iter().map(ToString::to_string).collect(),
        peer_id: info.peer_id.to_string(),
    };
    write_addresses(home, &addresses);
    tracing::info!(
        moniker = %config.moniker,
        role = role_name,
        peer_id = %info.peer_id,
        api = %addresses.api,
        p2p = ?addresses.p2p,
        "node started"
    );

    let network_task = tokio::spawn(network.run(net_rx));
    tokio::spawn(gossip_batches(gossip_rx, net_tx));
    tokio::spawn(admission(shared.clone(), gossiped_rx));
    // The data plane: its own store and worker. An ordering-only chain has no documents.
    let worker = if shared.chain.genesis.mode == ChainMode::Contracts {
        let storage_key = load_or_create(&home.storage_key(), "document storage")?;
        let documents = Arc::new(
            crate::workers::sharing::docstore::DocStore::open(&home.documents(), storage_key.seed())
                .map_err(|e| NodeError::Config(format!("opening the document store: {e}")))?,
        );
        // The sharing identity confirms deliveries on chain. The organisation admin key,
        // kept on dev and test homes only, registers it when the operator has not.
        let sharing_key = load_or_create(&home.sharing_key(), "sharing identity")?;
        let admin_key = crate::keys::load(&home.admin_key()).ok();
        tokio::spawn(
            crate::workers::evidence::EvidenceWorker::new(shared.clone(), sharing_key.clone()).run(shutdown.clone()),
        );
        let worker = crate::workers::sharing::SharingWorker::new(
            shared.clone(),
            documents.clone(),
            sharing_key,
            admin_key,
            config.sharing.clone(),
        );
        tokio::spawn(worker.clone().run(docs_rx, shared.committed_events.subscribe(), shutdown.clone()));
        Some(worker)
    } else {
        None
    };
    if shared.chain.genesis.mode == ChainMode::Contracts
        && let Some(worker) =
            crate::workers::risk::RiskWorker::new(shared.clone(), &home.0, &config.risk).map_err(NodeError::Config)?
    {
        tokio::spawn(worker.run(shutdown.clone()));
    }
    let pseudonyms = match (&config.api.pseudonym_key_file, &config.api.pseudonym_org) {
        (Some(file), Some(org)) => {
            let path = if file.is_absolute() { file.clone() } else { home.0.join(file) };
            let key = crate::keys::load_pseudonym_key(&path)
                .map_err(|e| NodeError::Config(format!("api.pseudonym_key_file: {e}")))?;
            Some((org.clone(), key))
        }
        (None, None) => None,
        _ => {
            return Err(NodeError::Config(
                "api.pseudonym_key_file and api.pseudonym_org go together: give both or neither".into(),
            ));
        }
    };
    // The nudging worker: its own store (staff data, off chain), for the node's organisation.
    let nudges = if shared.chain.genesis.mode == ChainMode::Contracts {
        let store = Arc::new(
            crate::workers::nudging::store::NudgeStore::open(&home.nudges())
                .map_err(|e| NodeError::Config(format!("opening the nudge store: {e}")))?,
        );
        let org = worker.as_ref().and_then(|w| w.org().cloned());
        let nudges = crate::workers::nudging::NudgingWorker::new(shared.clone(), store, org);
        if let Some(nudges) = &nudges {
            tokio::spawn(nudges.clone().run(shared.committed_events.subscribe(), shutdown.clone()));
        }
        nudges
    } else {
        None
    };
    // The analytics sink: the chain mirrored into the organisation's PostgreSQL database.
    if config.analytics.enabled {
        if shared.chain.genesis.mode == ChainMode::Contracts {
            let analytics = crate::workers::analytics::AnalyticsWorker::new(shared.clone(), config.analytics.clone());
            tokio::spawn(analytics.run(shared.committed_events.subscribe(), shutdown.clone()));
        } else {
            tracing::warn!("analytics is enabled, but an ordering-only chain has nothing to mirror");
        }
    }
    // The ATNA export to the organisation's syslog collector, when one is configured.
    if shared.chain.genesis.mode == ChainMode::Contracts
        && let Some(atna) = crate::workers::atna::AtnaWorker::new(shared.clone(), home, &config.moniker, &config.atna)
            .map_err(NodeError::Config)?
    {
        tokio::spawn(atna.run(shared.committed_events.subscribe(), shutdown.clone()));
    }
    let router = crate::api::router(shared.clone(), config.api.clone(), role_name, worker, pseudonyms, nudges);
    let mut api_shutdown = shutdown.clone();
    let api_task = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let serve = axum::serve(api_listener, service).with_graceful_shutdown(async move {
            let _ = api_shutdown.wait_for(|stop| *stop).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "API server failed");
        }
    });
    let result = shell.run(events_rx, shutdown).await;
    network_task.abort();
    let _ = tokio::time::timeout(Duration::from_secs(5), api_task).await;
    let _ = std::fs::remove_file(home.addresses());
    match &result {
        Ok(()) => tracing::info!("node stopped"),
        Err(e) => tracing::error!(error = %e, "node stopped on an error"),
    }
    Ok(result?)
}

fn write_addresses(home: &Home, addresses: &Addresses) {
    let tmp = home.0.join("addresses.json.tmp");
    let written = serde_json::to_vec_pretty(addresses)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, home.addresses()));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot write addresses.json");
    }
}

/// Gossips admitted transactions in batches: whatever queued while the last batch was
/// being sent goes in the next one.
async fn gossip_batches(mut queue: mpsc::Receiver<Vec<u8>>, net: mpsc::Sender<NetCommand>) {
    while let Some(first) = queue.recv().await {
        let mut bytes = first.len();
        let mut batch = vec![first];
        while batch.len() < GOSSIP_BATCH_MAX && bytes < TX_BATCH_BYTES_MAX / 2 {
            match queue.try_recv() {
                Ok(tx) => {
                    bytes += tx.len();
                    batch.push(tx);
                }
                Err(_) => break,
            }
        }
        if net.send(NetCommand::PublishTransactions(batch)).await.is_err() {
            return;
        }
    }
}

/// Checks gossiped messages off the consensus path, and tells the network its verdict
/// (gossipsub relays only what admission accepted).
async fn admission(shared: Arc<Shared>, mut queue: mpsc::Receiver<Gossiped>) {
    while let Some(Gossiped { id, relay, author, data, held }) = queue.recv().await {
        let checking = shared.clone();
        let checked =
            tokio::task::spawn_blocking(move || crate::admission::admit_gossiped(&checking, author, &data)).await;
        let Ok(verdict) = checked else { return };
        // A full command queue loses the verdict: gossipsub then drops the message
        // unrelayed when it leaves its cache, and nobody is penalised.
        if shared.net.try_send(NetCommand::GossipVerdict { id, relay, author, verdict }).is_err() {
            shared.metrics.dropped_events.inc();
        }
        drop(held);
    }
}

/// The key in `path`, created (for `purpose`) if the file does not exist.
fn load_or_create(path: &std::path::Path, purpose: &str) -> Result<panacea_primitives::Keypair, NodeError> {
    match crate::keys::load(path) {
        Ok(key) => Ok(key),
        Err(_) if !path.exists() => {
            let key = crate::keys::generate()?;
            crate::keys::save(path, purpose, &key)?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}
