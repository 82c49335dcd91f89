//! Prometheus metrics, served at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Every metric the node exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Committed height.
    pub height: Gauge,
    /// The current consensus epoch.
    pub epoch: Gauge,
    /// Misbehaviour evidence the replica reported and the node queued for the chain.
    pub evidence_reported: Counter,
    /// Current consensus round.
    pub round: Gauge,
    /// Transactions in the pool.
    pub mempool_transactions: Gauge,
    /// Bytes in the pool.
    pub mempool_bytes: Gauge,
    /// Connected peers.
    pub peers: Gauge,
    /// Connections closed because the peer stopped answering pings.
    pub peers_lost: Counter,
    /// Validators of the current epoch this node reaches (itself included).
    pub validators_reachable: Gauge,
    /// Blocks committed.
    pub committed_blocks: Counter,
    /// Transactions executed in committed blocks.
    pub executed_transactions: Counter,
    /// Transactions refused by the pool because it was full.
    pub mempool_full: Counter,
    /// Client requests refused by admission control.
    pub overloaded: Counter,
    /// Signature checks skipped at execution: checked when admitted to this node's pool.
    pub signatures_reused: Counter,
    /// The commit rate admission control measures, transactions per second.
    pub capacity: Gauge,
    /// Bytes the chain database holds, by column family and where (`tables` on disk,
    /// `memtables` in memory and the write-ahead log).
    pub storage_bytes: Family<Vec<(&'static str, &'static str)>, Gauge>,
    /// Seconds from a block's time (its proposer's clock) to its commit here.
    pub block_commit_latency: Histogram,
    /// Seconds from admission to this node's pool to commit, for transactions it admitted.
    pub tx_commit_latency: Histogram,
    /// Consensus rounds that ended by timeout here.
    pub round_timeouts: Counter,
    /// Consensus inputs rejected.
    pub consensus_rejected: Counter,
    /// Frames from peers that did not decode.
    pub bad_messages: Counter,
    /// Connections refused because the peer is not a member.
    pub connections_denied: Counter,
    /// Peers banned for bad messages.
    pub peers_banned: Counter,
    /// Gossiped messages admission refused (their authors are penalised).
    pub gossip_rejected: Counter,
    /// Times a peer was graylisted by gossipsub's score (its gossip ignored).
    pub gossip_graylisted: Counter,
    /// Network events dropped because the shell's queue was full.
    pub dropped_events: Counter,
    /// Blocks applied by catch-up.
    pub synced_blocks: Counter,
    /// Snapshots this node made.
    pub snapshots_made: Counter,
    /// Height of the newest snapshot this node holds (0: none).
    pub snapshot_height: Gauge,
    /// Height of the snapshot this node's state was imported from (0: replayed from genesis).
    pub state_synced_from: Gauge,
    /// Snapshot chunks taken in by state sync.
    pub state_sync_chunks: Counter,
    /// Snapshot chunks refused by state sync (they did not match the attested roots).
    pub state_sync_refused: Counter,
    /// API requests refused as unauthenticated (401) or not allowed (403).
    pub api_refusals: Counter,
    /// Live audit event streams open.
    pub audit_streams: Gauge,
    /// Inventory checks the risk worker made.
    pub risk_checks: Counter,
    /// Assessments the risk worker submitted.
    pub risk_submissions: Counter,
    /// The last height the analytics sink mirrored into PostgreSQL.
    pub analytics_height: Gauge,
    /// Committed blocks not yet mirrored by the analytics sink.
    pub analytics_lag_blocks: Gauge,
    /// Errors of the analytics sink (each followed by a retry of the same blocks).
    pub analytics_errors: Counter,
    /// Audit events the ATNA export delivered (confirmed by the collector).
    pub atna_sent: Counter,
    /// Audit events committed but not yet delivered by the ATNA export.
    pub atna_lag_events: Gauge,
    /// Failed ATNA deliveries (each batch is retried until it is confirmed).
    pub atna_errors: Counter,
    /// 1 while the last ATNA delivery succeeded, 0 after a failure.
    pub atna_connected: Gauge,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0].into_iter()
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("panacea");
        let m = Metrics {
            height: Gauge::default(),
            epoch: Gauge::default(),
            evidence_reported: Counter::default(),
            round: Gauge::default(),
            mempool_transactions: Gauge::default(),
            mempool_bytes: Gauge::default(),
            peers: Gauge::default(),
            committed_blocks: Counter::default(),
            executed_transactions: Counter::default(),
            mempool_full: Counter::default(),
            overloaded: Counter::default(),
            signatures_reused: Counter::default(),
            capacity: Gauge::default(),
            storage_bytes: Family::default(),
            block_commit_latency: Histogram::new(latency_buckets()),
            tx_commit_latency: Histogram::new(latency_buckets()),
            round_timeouts: Counter::default(),
            consensus_rejected: Counter::default(),
            bad_messages: Counter::default(),
            connections_denied: Counter::default(),
            peers_banned: Counter::default(),
            gossip_rejected: Counter::default(),
            gossip_graylisted: Counter::default(),
            dropped_events: Counter::default(),
            synced_blocks: Counter::default(),
            peers_lost: Counter::default(),
            validators_reachable: Gauge::default(),
            snapshots_made: Counter::default(),
            snapshot_height: Gauge::default(),
            state_synced_from: Gauge::default(),
            state_sync_chunks: Counter::default(),
            state_sync_refused: Counter::default(),
            api_refusals: Counter::default(),
            audit_streams: Gauge::default(),
            risk_checks: Counter::default(),
            risk_submissions: Counter::default(),
            analytics_height: Gauge::default(),
            analytics_lag_blocks: Gauge::default(),
            analytics_errors: Counter::default(),
            atna_sent: Counter::default(),
            atna_lag_events: Gauge::default(),
            atna_errors: Counter::default(),
            atna_connected: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("height", "Committed block height", m.height.clone());
        registry.register("epoch", "Current consensus epoch", m.epoch.clone());
        registry.register(
            "evidence_reported",
            "Misbehaviour evidence seen by this node's replica and queued for the chain",
            m.evidence_reported.clone(),
        );
        registry.register("round", "Current consensus round", m.round.clone());
        registry.register("mempool_transactions", "Transactions in the pool", m.mempool_transactions.clone());
        registry.register("mempool_bytes", "Bytes in the pool", m.mempool_bytes.clone());
        registry.register("peers", "Connected peers", m.peers.clone());
        registry.register("committed_blocks", "Blocks committed", m.committed_blocks.clone());
        registry.register("executed_transactions", "Transactions executed", m.executed_transactions.clone());
        registry.register("mempool_full", "Transactions refused because the pool was full", m.mempool_full.clone());
        registry.register(
            "overloaded",
            "Client requests refused by admission control (429 overloaded, with Retry-After)",
            m.overloaded.clone(),
        );
        registry.register(
            "signatures_reused",
            "Signature checks skipped at execution because admission to this node's pool checked them",
            m.signatures_reused.clone(),
        );
        registry.register(
            "capacity_transactions_per_second",
            "The commit rate admission control sizes the pool by (highest recent, decaying)",
            m.capacity.clone(),
        );
        registry.register(
            "storage_bytes",
            "Bytes of the chain database by column family: table files on disk, memtables",
            m.storage_bytes.clone(),
        );
        registry.register(
            "block_commit_latency_seconds",
            "From a block's time to its commit on this node",
            m.block_commit_latency.clone(),
        );
        registry.register(
            "tx_commit_latency_seconds",
            "From admission to this node's pool to commit",
            m.tx_commit_latency.clone(),
        );
        registry.register("round_timeouts", "Rounds that ended by timeout", m.round_timeouts.clone());
        registry.register("consensus_rejected", "Consensus inputs rejected", m.consensus_rejected.clone());
        registry.register("p2p_bad_messages", "Peer frames that did not decode", m.bad_messages.clone());
        registry.register(
            "p2p_connections_denied",
            "Connections refused: peer not a member",
            m.connections_denied.clone(),
        );
        registry.register("p2p_peers_banned", "Peers banned for bad messages", m.peers_banned.clone());
        registry.register(
            "p2p_gossip_rejected",
            "Gossiped messages refused by admission; their authors are penalised",
            m.gossip_rejected.clone(),
        );
        registry.register(
            "p2p_gossip_graylisted",
            "Peers graylisted by gossipsub's score for invalid messages",
            m.gossip_graylisted.clone(),
        );
        registry.register("p2p_dropped_events", "Network events dropped: node overloaded", m.dropped_events.clone());
        registry.register("synced_blocks", "Blocks applied by catch-up", m.synced_blocks.clone());
        registry.register(
            "validators_reachable",
            "Validators of the current epoch this node reaches, itself included",
            m.validators_reachable.clone(),
        );
        registry.register(
            "p2p_peers_lost",
            "Connections closed because the peer stopped answering pings",
            m.peers_lost.clone(),
        );
        registry.register("snapshots_made", "State snapshots this node made", m.snapshots_made.clone());
        registry.register("snapshot_height", "Height of the newest snapshot held (0: none)", m.snapshot_height.clone());
        registry.register(
            "state_synced_from",
            "Height of the snapshot the state was imported from (0: replayed from genesis)",
            m.state_synced_from.clone(),
        );
        registry.register("state_sync_chunks", "Snapshot chunks taken in by state sync", m.state_sync_chunks.clone());
        registry.register(
            "state_sync_refused",
            "Snapshot chunks refused by state sync: not matching the attested roots",
            m.state_sync_refused.clone(),
        );
        registry.register("api_refusals", "API requests refused: 401 or 403", m.api_refusals.clone());
        registry.register("api_audit_streams", "Live audit event streams open", m.audit_streams.clone());
        registry.register("risk_checks", "Inventory checks made by the risk worker", m.risk_checks.clone());
        registry.register("risk_submissions", "Assessments submitted by the risk worker", m.risk_submissions.clone());
        registry.register(
            "analytics_height",
            "Last height the analytics sink mirrored into PostgreSQL",
            m.analytics_height.clone(),
        );
        registry.register(
            "analytics_lag_blocks",
            "Committed blocks not yet mirrored into PostgreSQL",
            m.analytics_lag_blocks.clone(),
        );
        registry.register(
            "analytics_errors",
            "Analytics sink errors, each followed by a retry of the same blocks",
            m.analytics_errors.clone(),
        );
        registry.register("atna_sent", "Audit events delivered to the ATNA collector", m.atna_sent.clone());
        registry.register(
            "atna_lag_events",
            "Committed audit events not yet delivered to the ATNA collector",
            m.atna_lag_events.clone(),
        );
        registry.register("atna_errors", "Failed deliveries to the ATNA collector", m.atna_errors.clone());
        registry.register(
            "atna_connected",
            "1 while the last delivery to the ATNA collector succeeded",
            m.atna_connected.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
