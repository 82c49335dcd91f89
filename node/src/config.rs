//! `config.toml`: how one node runs. Every field has a default, so a file may name only
//! what it changes; [`TEMPLATE`] is the commented file `init` writes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Largest configuration file read, in bytes.
const CONFIG_BYTES_MAX: u64 = 1024 * 1024;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("config file {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not valid.
    #[error("config file {path} is not valid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Whether the node votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// Holds a validator key of the consortium and votes.
    Validator,
    /// Follows and verifies the chain and serves queries (a health authority's node).
    Observer,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A name for humans and logs (an organisation's node name, never a person's).
    pub moniker: String,
    /// Validator or observer.
    pub role: NodeRole,
    /// Peer-to-peer networking.
    pub p2p: P2pConfig,
    /// The HTTP API.
    pub api: ApiConfig,
    /// Consensus timing.
    pub consensus: ConsensusConfig,
    /// The transaction pool.
    pub mempool: MempoolConfig,
    /// The off-chain data plane.
    pub sharing: SharingConfig,
    /// The risk worker.
    pub risk: RiskConfig,
    /// Snapshots and state sync.
    pub state_sync: StateSyncConfig,
    /// The PostgreSQL analytics sink.
    pub analytics: AnalyticsConfig,
    /// The IHE ATNA export of the audit log to a syslog collector.
    pub atna: AtnaConfig,
    /// Logging.
    pub log: LogConfig,
}

/// The off-chain data plane (document deliveries between nodes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharingConfig {
    /// Most document bytes per second this node serves to other nodes, all deliveries
    /// together (0: no cap). Keeps imaging transfers from starving consensus traffic on a
    /// shared uplink.
    pub serve_bytes_per_second: u64,
    /// Chunk requests the requesting node keeps in flight per delivery (1 to 16).
    pub fetch_window: usize,
    /// Most bytes of document content the node's store holds for its organisation
    /// (uploads beyond it are refused until documents are erased).
    pub store_bytes_max: u64,
    /// Most uploads the node accepts at once (1 to 64); more are told to retry.
    pub uploads_max: usize,
}

/// Snapshots for joining nodes, and state sync for this one (`docs/decisions/0015-state-sync.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateSyncConfig {
    /// Make a snapshot of the state every this many committed blocks (0: none; the node
    /// still serves the ones it holds).
    pub snapshot_interval: u64,
    /// Snapshots kept (the newest ones; 1 to 16).
    pub snapshots_kept: usize,
    /// A node that has committed nothing but genesis and is far behind takes in a peer's
    /// snapshot instead of replaying the chain.
    pub enabled: bool,
}

impl Default for StateSyncConfig {
    fn default() -> StateSyncConfig {
        StateSyncConfig { snapshot_interval: 10_000, snapshots_kept: 2, enabled: true }
    }
}

/// The analytics sink (`docs/node.md`, "Analytics sink (PostgreSQL)"): mirrors committed
/// blocks, transactions, audit events, access decisions and consent versions into the
/// organisation's own PostgreSQL database, exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// Mirror the chain (off by default).
    pub enabled: bool,
    /// The database: a key-value string (`host=/run/postgresql port=5432 user=panacea
    /// dbname=panacea`) or a URL (`postgresql://panacea@127.0.0.1:5432/panacea`).
    pub postgres_url: String,
    /// Most blocks written in one PostgreSQL transaction while catching up (1 to 1,000).
    pub batch_blocks_max: u64,
    /// First wait before trying again after an error, in milliseconds (doubles per failure).
    pub retry_initial_ms: u64,
    /// Longest wait between tries, in milliseconds.
    pub retry_max_ms: u64,
}

impl Default for AnalyticsConfig {
    fn default() -> AnalyticsConfig {
        AnalyticsConfig {
            enabled: false,
            postgres_url: String::new(),
            batch_blocks_max: 64,
            retry_initial_ms: 500,
            retry_max_ms: 30_000,
        }
    }
}

/// The risk worker (`docs/risk.md`): assesses the organisation's inventory folder with
/// `panacea-risk` whenever it changes and submits the assessment on chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// The inventory folder (the ten input documents and `identities.json`); absent: no
    /// risk worker. Relative paths are from the node's home.
    pub inventory_dir: Option<std::path::PathBuf>,
    /// The key file of the organisation's risk service identity (registered with
    /// `panacea identity register-service`).
    pub service_key_file: Option<std::path::PathBuf>,
    /// The survey's salt (created on first use, mode 0600): the security survey is
    /// personal data, committed to only by a salted hash.
    pub survey_salt_file: Option<std::path::PathBuf>,
    /// How often the folder is checked for changes, in milliseconds (0: 60 s).
    pub poll_interval_ms: u64,
    /// Other organisations' assessments this node's worker recomputes and attests, each
    /// from the inventory that organisation shared for the purpose.
    pub attest: Vec<AttestConfig>,
}

/// One organisation whose assessments the risk worker attests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestConfig {
    /// The organisation assessed.
    pub org: panacea_contracts::ids::OrgId,
    /// The inventory it shared (relative paths are from the node's home).
    pub inventory_dir: std::path::PathBuf,
}

/// How the ATNA export writes each audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AtnaFormat {
    /// The IHE audit message: DICOM PS3.15 A.5 XML (syslog MSGID `IHE+RFC-3881`).
    #[default]
    Dicom,
    /// A FHIR R4 AuditEvent as JSON (IHE BALP; syslog MSGID `IHE+FHIR`).
    Fhir,
}

/// The IHE ATNA export (`docs/decisions/0019-atna-export.md`): every committed audit event,
/// once and in order, as an RFC 5424 syslog message over TLS (RFC 5425) to one collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AtnaConfig {
    /// The collector, `host:port` (absent: no export).
    pub collector: Option<String>,
    /// The name the collector's certificate must carry (default: the collector's host).
    pub server_name: Option<String>,
    /// The PEM file of the certificate authorities the collector's certificate must chain
    /// to (required with `collector`). Relative paths are from the node's home.
    pub ca_file: Option<PathBuf>,
    /// The node's client certificate chain (PEM), for collectors that require mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// The private key (PEM) of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// `dicom` or `fhir`.
    pub format: AtnaFormat,
    /// The syslog APP-NAME (1 to 48 printable ASCII characters).
    pub app_name: String,
    /// The syslog HOSTNAME and the DICOM AuditSourceID (default: the moniker).
    pub hostname: Option<String>,
    /// Most events sent on one connection before the collector confirms them (1 to 10,000).
    pub batch_events_max: usize,
    /// Largest syslog message, in bytes (2,048 to 1 MiB): at most the collector's limit
    /// (rsyslog's default is 8 KiB); an event that does not fit stops the export, loudly.
    pub message_bytes_max: usize,
    /// Longest a connection and TLS handshake may take, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Longest the collector may take to read a batch and close its side, in milliseconds.
    pub confirm_timeout_ms: u64,
}

impl Default for AtnaConfig {
    fn default() -> AtnaConfig {
        AtnaConfig {
            collector: None,
            server_name: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
            format: AtnaFormat::Dicom,
            app_name: "panacea".into(),
            hostname: None,
            batch_events_max: 500,
            message_bytes_max: 8192,
            connect_timeout_ms: 5_000,
            confirm_timeout_ms: 10_000,
        }
    }
}

impl AtnaConfig {
    /// Checks the values against each other.
    pub fn check(&self) -> Result<(), String> {
        let Some(collector) = &self.collector else { return Ok(()) };
        if collector.rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err()) {
            return Err(format!("atna.collector {collector:?} must be host:port"));
        }
        if self.ca_file.is_none() {
            return Err("atna.ca_file is required with atna.collector: the collector's certificate authority".into());
        }
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err("atna.cert_file and atna.key_file go together: give both or neither".into());
        }
        if self.app_name.is_empty()
            || self.app_name.len() > 48
            || !self.app_name.bytes().all(|b| (33..=126).contains(&b))
        {
            return Err("atna.app_name must be 1 to 48 printable ASCII characters without spaces".into());
        }
        if !(1..=10_000).contains(&self.batch_events_max) {
            return Err("atna.batch_events_max must be between 1 and 10000".into());
        }
        if !(2048..=1024 * 1024).contains(&self.message_bytes_max) {
            return Err("atna.message_bytes_max must be between 2048 and 1048576".into());
        }
        if self.connect_timeout_ms == 0 || self.confirm_timeout_ms == 0 {
            return Err("atna.connect_timeout_ms and atna.confirm_timeout_ms must be positive".into());
        }
        Ok(())
    }
}

/// Peer-to-peer networking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct P2pConfig {
    /// Listen address (a multiaddr); port 0 lets the system choose.
    pub listen: String,
    /// Peers to dial, as multiaddrs ending in `/p2p/<peer id>`.
    pub peers: Vec<String>,
    /// Largest consensus or sync message accepted, in bytes.
    pub message_bytes_max: usize,
}

/// The HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address; port 0 lets the system choose.
    pub listen: SocketAddr,
    /// Largest request body, in bytes.
    pub body_bytes_max: usize,
    /// Longest a submit-and-wait request waits for its commit, in milliseconds.
    pub wait_timeout_ms_max: u64,
    /// Most requests waiting for a commit at once.
    pub waiters_max: usize,
    /// Requests per second from one client address (bursts of twice as many).
    pub requests_per_second_per_address: u32,
    /// Signed reads per second by one key (bursts of twice as many).
    pub signed_reads_per_second_per_key: u32,
    /// Longest a request (other than submit-and-wait) may take, in milliseconds.
    pub request_timeout_ms: u64,
    /// The organisation's pseudonymisation key file (`panacea pseudonym new-key`), with
    /// which `POST /v1/pseudonyms` derives patient references for the organisation's
    /// staff. Absent: the route answers 404. Relative paths are from the node's home.
    pub pseudonym_key_file: Option<std::path::PathBuf>,
    /// The organisation the key belongs to (required with `pseudonym_key_file`).
    pub pseudonym_org: Option<panacea_contracts::ids::OrgId>,
}

/// Consensus timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusConfig {
    /// First round timeout, in milliseconds (doubles from the third consecutive failed round).
    pub round_timeout_ms: u64,
    /// Ceiling of the round timeout, in milliseconds.
    pub round_timeout_max_ms: u64,
    /// How long a leader with nothing to order waits before proposing an empty block,
    /// in milliseconds. Must stay well below `round_timeout_ms`.
    pub empty_block_interval_ms: u64,
    /// Most transactions in one block.
    pub block_transactions_max: usize,
    /// Most payload bytes in one block.
    pub block_bytes_max: usize,
}

/// The transaction pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub transactions_max: usize,
    /// Most bytes held.
    pub bytes_max: usize,
    /// How far ahead of a signer's next nonce a transaction may be.
    pub nonce_window: u64,
    /// Seconds after which a transaction that could not be included is dropped.
    pub ttl_secs: u64,
    /// Admission control: the pool takes clients' transactions while it holds less than
    /// this many milliseconds of the commit rate the node measures; past it they are
    /// refused with 429 `overloaded` and a `Retry-After`. 0 turns it off.
    pub queue_delay_target_ms: u64,
    /// The pool always takes clients' transactions up to this many, whatever the
    /// measured rate (an idle chain has measured little).
    pub queue_floor_transactions: u64,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `info,panacea_node=debug` (`RUST_LOG` wins).
    pub filter: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            moniker: "panacea-node".into(),
            role: NodeRole::Validator,
            p2p: P2pConfig::default(),
            api: ApiConfig::default(),
            consensus: ConsensusConfig::default(),
            mempool: MempoolConfig::default(),
            sharing: SharingConfig::default(),
            risk: RiskConfig::default(),
            state_sync: StateSyncConfig::default(),
            analytics: AnalyticsConfig::default(),
            atna: AtnaConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for P2pConfig {
    fn default() -> P2pConfig {
        P2pConfig {
            listen: "/ip4/0.0.0.0/tcp/26656".into(),
            peers: Vec::new(),
            message_bytes_max: panacea_consensus::MESSAGE_BYTES_MAX,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8645)),
            body_bytes_max: 256 * 1024,
            wait_timeout_ms_max: 60_000,
            waiters_max: 100_000,
            requests_per_second_per_address: 5_000,
            signed_reads_per_second_per_key: 100,
            request_timeout_ms: 10_000,
            pseudonym_key_file: None,
            pseudonym_org: None,
        }
    }
}

impl Default for ConsensusConfig {
    fn default() -> ConsensusConfig {
        ConsensusConfig {
            round_timeout_ms: 1_000,
            round_timeout_max_ms: 10_000,
            empty_block_interval_ms: 500,
            block_transactions_max: 10_000,
            block_bytes_max: 8 * 1024 * 1024,
        }
    }
}

impl Default for MempoolConfig {
    fn default() -> MempoolConfig {
        MempoolConfig {
            transactions_max: 100_000,
            bytes_max: 128 * 1024 * 1024,
            nonce_window: 1_000,
            ttl_secs: 600,
            queue_delay_target_ms: 1_000,
            queue_floor_transactions: 2_000,
        }
    }
}

impl Default for SharingConfig {
    fn default() -> SharingConfig {
        SharingConfig {
            serve_bytes_per_second: 0,
            fetch_window: 8,
            store_bytes_max: 256 * 1024 * 1024 * 1024,
            uploads_max: 4,
        }
    }
}

impl Default for RiskConfig {
    fn default() -> RiskConfig {
        RiskConfig {
            inventory_dir: None,
            service_key_file: None,
            survey_salt_file: None,
            poll_interval_ms: 60_000,
            attest: Vec::new(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { format: LogFormat::Human, filter: "info".into() }
    }
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|error| ConfigError::Io { path: shown.clone(), error })?;
        let invalid = |reason: String| ConfigError::Invalid { path: shown.clone(), reason };
        if meta.len() > CONFIG_BYTES_MAX {
            return Err(invalid("larger than 1 MiB".into()));
        }
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Io { path: shown.clone(), error })?;
        let config: Config = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        config.check().map_err(invalid)?;
        Ok(config)
    }

    /// Checks the values against each other.
    pub fn check(&self) -> Result<(), String> {
        let c = &self.consensus;
        if c.round_timeout_ms == 0 || c.round_timeout_max_ms < c.round_timeout_ms {
            return Err("consensus.round_timeout_ms must be positive and at most round_timeout_max_ms".into());
        }
        if c.empty_block_interval_ms.saturating_mul(2) > c.round_timeout_ms {
            return Err("consensus.empty_block_interval_ms must be at most half of round_timeout_ms".into());
        }
        if c.block_transactions_max == 0 || c.block_transactions_max > panacea_contracts::BLOCK_TRANSACTIONS_MAX {
            return Err(format!(
                "consensus.block_transactions_max must be between 1 and {}",
                panacea_contracts::BLOCK_TRANSACTIONS_MAX
            ));
        }
        if c.block_bytes_max < 64 * 1024 || c.block_bytes_max > 16 * 1024 * 1024 {
            return Err("consensus.block_bytes_max must be between 64 KiB and 16 MiB".into());
        }
        if self.p2p.message_bytes_max < c.block_bytes_max + 64 * 1024
            || self.p2p.message_bytes_max > panacea_consensus::MESSAGE_BYTES_MAX
        {
            return Err("p2p.message_bytes_max must exceed block_bytes_max and be at most 32 MiB".into());
        }
        if self.mempool.transactions_max == 0 || self.mempool.bytes_max < 64 * 1024 {
            return Err("mempool.transactions_max must be positive and mempool.bytes_max at least 64 KiB".into());
        }
        if self.mempool.queue_delay_target_ms > 60_000 {
            return Err("mempool.queue_delay_target_ms must be at most 60000 (a minute of queue)".into());
        }
        if self.api.requests_per_second_per_address == 0 || self.api.signed_reads_per_second_per_key == 0 {
            return Err("api rate limits must be positive".into());
        }
        if self.api.waiters_max == 0 || self.api.body_bytes_max < 1024 {
            return Err("api.waiters_max must be positive and api.body_bytes_max at least 1 KiB".into());
        }
        if self.state_sync.snapshots_kept == 0 || self.state_sync.snapshots_kept > 16 {
            return Err("state_sync.snapshots_kept must be between 1 and 16".into());
        }
        if self.state_sync.snapshot_interval != 0 && self.state_sync.snapshot_interval < 10 {
            return Err("state_sync.snapshot_interval must be 0 (no snapshots) or at least 10 blocks".into());
        }
        if self.sharing.fetch_window == 0 || self.sharing.fetch_window > crate::network::DOCS_IN_FLIGHT_MAX {
            return Err(format!("sharing.fetch_window must be between 1 and {}", crate::network::DOCS_IN_FLIGHT_MAX));
        }
        if self.sharing.serve_bytes_per_second != 0 && self.sharing.serve_bytes_per_second < 64 * 1024 {
            return Err("sharing.serve_bytes_per_second must be 0 (no cap) or at least 64 KiB".into());
        }
        if self.sharing.store_bytes_max < 1024 * 1024 {
            return Err("sharing.store_bytes_max must be at least 1 MiB (1048576)".into());
        }
        if !(1..=64).contains(&self.sharing.uploads_max) {
            return Err("sharing.uploads_max must be between 1 and 64".into());
        }
        let a = &self.analytics;
        if a.enabled && a.postgres_url.trim().is_empty() {
            return Err("analytics.postgres_url must name the database when analytics.enabled is true".into());
        }
        if a.enabled {
            a.postgres_url
                .parse::<tokio_postgres::Config>()
                .map_err(|e| format!("analytics.postgres_url is not a PostgreSQL connection string: {e}"))?;
        }
        if !(1..=1_000).contains(&a.batch_blocks_max) {
            return Err("analytics.batch_blocks_max must be between 1 and 1000".into());
        }
        if a.retry_initial_ms == 0 || a.retry_max_ms < a.retry_initial_ms {
            return Err("analytics.retry_initial_ms must be positive and at most analytics.retry_max_ms".into());
        }
        self.atna.check()?;
        self.p2p.listen.parse::<libp2p::Multiaddr>().map_err(|e| format!("p2p.listen: {e}"))?;
        for peer in &self.p2p.peers {
            peer.parse::<libp2p::Multiaddr>().map_err(|e| format!("p2p.peers entry {peer:?}: {e}"))?;
        }
        Ok(())
    }

    /// The commented file `init` writes.
    pub fn to_template(&self) -> Result<String, String> {
        let role = match self.role {
            NodeRole::Validator => "validator",
            NodeRole::Observer => "observer",
        };
        let peers_line = toml::Value::try_from(&self.p2p.peers).map_err(|e| e.to_string())?.to_string();
        Ok(TEMPLATE
            .replace("{moniker}", &toml::Value::String(self.moniker.clone()).to_string())
            .replace("{role}", role)
            .replace("{p2p_listen}", &toml::Value::String(self.p2p.listen.clone()).to_string())
            .replace("{p2p_peers}", &peers_line)
            .replace("{api_listen}", &toml::Value::String(self.api.listen.to_string()).to_string())
            .replace("{snapshot_interval}", &self.state_sync.snapshot_interval.to_string()))
        .and_then(|rendered| {
            // Every setting takes this configuration's value, keeping the template's
            // comments: a loaded, changed and saved file must keep every change.
            let mut document: toml_edit::DocumentMut = rendered.parse().map_err(|e| format!("template: {e}"))?;
            let toml::Value::Table(values) = toml::Value::try_from(self).map_err(|e| e.to_string())? else {
                return Err("a configuration serialises to a table".into());
            };
            overlay(document.as_table_mut(), &values)?;
            Ok(document.to_string())
        })
    }

    /// Writes the commented file to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let shown = path.display().to_string();
        let text = self.to_template().map_err(|reason| ConfigError::Invalid { path: shown.clone(), reason })?;
        std::fs::write(path, text).map_err(|error| ConfigError::Io { path: shown, error })
    }
}

/// Sets every value of `values` in `target`, keeping the comments around existing keys.
fn overlay(target: &mut toml_edit::Table, values: &toml::Table) -> Result<(), String> {
    for (key, value) in values {
        if let toml::Value::Table(inner) = value {
            if !target.get(key).is_some_and(toml_edit::Item::is_table) {
                target.insert(key, toml_edit::Item::Table(toml_edit::Table::new()));
            }
            let table = target.get_mut(key).and_then(toml_edit::Item::as_table_mut).ok_or("a table")?;
            overlay(table, inner)?;
            continue;
        }
        let item = item_of(value)?;
        match target.get_mut(key) {
            Some(toml_edit::Item::Value(old)) if item.is_value() => {
                let decor = old.decor().clone();
                *old = item.into_value().map_err(|_| "a value")?;
                *old.decor_mut() = decor;
            }
            Some(existing) => *existing = item,
            // An empty list the template leaves out stays out: written as `key = []` at the
            // end of its table, it would end up inside a `[[table.key]]` section an
            // operator (or `testnet/run.sh`) appends there.
            None if matches!(value, toml::Value::Array(items) if items.is_empty()) => {}
            None => {
                target.insert(key, item);
            }
        }
    }
    Ok(())
}

/// A value as `toml_edit` holds it; a list of tables as `[[key]]` sections.
fn item_of(value: &toml::Value) -> Result<toml_edit::Item, String> {
    match value {
        toml::Value::Table(table) => {
            let mut out = toml_edit::Table::new();
            overlay(&mut out, table)?;
            Ok(toml_edit::Item::Table(out))
        }
        toml::Value::Array(items) if !items.is_empty() && items.iter().all(toml::Value::is_table) => {
            let mut out = toml_edit::ArrayOfTables::new();
            for item in items {
                if let toml_edit::Item::Table(table) = item_of(item)? {
                    out.push(table);
                }
            }
            Ok(toml_edit::Item::ArrayOfTables(out))
        }
        other => Ok(toml_edit::Item::Value(other.to_string().parse().map_err(|e| format!("{other}: {e}"))?)),
    }
}

/// Where a node keeps its files.
#[derive(Debug, Clone)]
pub struct Home(pub PathBuf);

impl Home {
    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.0.join("config.toml")
    }
    /// `genesis.json`.
    pub fn genesis(&self) -> PathBuf {
        self.0.join("genesis.json")
    }
    /// The network key.
    pub fn node_key(&self) -> PathBuf {
        self.0.join("keys").join("node_key.json")
    }
    /// The validator key.
    pub fn validator_key(&self) -> PathBuf {
        self.0.join("keys").join("validator_key.json")
    }
    /// The organisation admin key (signs the organisation's transactions in a dev chain).
    pub fn admin_key(&self) -> PathBuf {
        self.0.join("keys").join("admin_key.json")
    }
    /// The sharing worker's signing key: a service identity of the organisation that
    /// confirms deliveries on chain (created on first start).
    pub fn sharing_key(&self) -> PathBuf {
        self.0.join("keys").join("sharing_key.json")
    }
    /// The key that wraps the document store's keys (created on first start).
    pub fn storage_key(&self) -> PathBuf {
        self.0.join("keys").join("storage_key.json")
    }
    /// The off-chain document store (its own RocksDB).
    pub fn documents(&self) -> PathBuf {
        self.0.join("documents")
    }
    /// The nudging worker's store (staff data, off chain).
    pub fn nudges(&self) -> PathBuf {
        self.0.join("nudges")
    }
    /// The ATNA export's folder (its cursor).
    pub fn atna(&self) -> PathBuf {
        self.0.join("atna")
    }
    /// The RocksDB database.
    pub fn data(&self) -> PathBuf {
        self.0.join("data")
    }
    /// The state snapshots this node made.
    pub fn snapshots(&self) -> PathBuf {
        self.0.join("snapshots")
    }
    /// Where a running node writes the addresses it listens on.
    pub fn addresses(&self) -> PathBuf {
        self.0.join("addresses.json")
    }
}

/// The configuration file `init` writes, with every option explained.
pub const TEMPLATE: &str = r#"# Panacea node configuration.
# Every option has a default; delete a line to use it.

# A name for logs and status (the organisation's node name, never a person's).
moniker = {moniker}
# "validator" (holds a consensus key of the consortium and votes) or "observer"
# (a health authority's node: follows and verifies the chain, serves queries).
role = "{role}"

[p2p]
# Where to accept peers (a libp2p multiaddr over TCP). Port 0 lets the system choose.
listen = {p2p_listen}
# Nodes to dial: "/ip4/ADDRESS/tcp/PORT/p2p/PEER_ID". Only nodes whose network key is
# registered on chain for a member organisation are admitted, in either direction.
peers = {p2p_peers}
# Largest consensus or block-sync message accepted from a peer, in bytes.
message_bytes_max = 33554432

[api]
# The HTTP API (and /metrics, /health). Keep it on a private interface or behind a proxy.
listen = {api_listen}
# Largest request body, in bytes.
body_bytes_max = 262144
# Longest a submit-and-wait request waits for its commit, in milliseconds.
wait_timeout_ms_max = 60000
# Most requests waiting for a commit at once.
waiters_max = 100000
# Requests per second from one client address, and signed reads per second by one key
# (bursts of twice as many); past them a client gets 429 "rate_limited".
requests_per_second_per_address = 5000
signed_reads_per_second_per_key = 100
# Longest a request other than submit-and-wait may take, in milliseconds.
request_timeout_ms = 10000
# The organisation's pseudonymisation key (`panacea pseudonym new-key`), with which
# POST /v1/pseudonyms derives patient references for the organisation's own staff.
# Keep the file readable by the node's user only, and back it up offline: without it the
# organisation can no longer find its patients' references.
# pseudonym_key_file = "pseudonym.key"
# pseudonym_org = "hospital-a"

[consensus]
# First round timeout; doubles from the third consecutive failed round, up to round_timeout_max_ms.
round_timeout_ms = 1000
round_timeout_max_ms = 10000
# How long a leader with nothing to order waits before proposing an empty block.
empty_block_interval_ms = 500
# Most transactions and payload bytes in one block.
block_transactions_max = 10000
block_bytes_max = 8388608

[mempool]
# Bounds of the transaction pool; when full, clients are told to try later.
transactions_max = 100000
bytes_max = 134217728
# How far ahead of a signer's next nonce a transaction is accepted.
nonce_window = 1000
# Seconds after which a transaction that could not be included is dropped.
ttl_secs = 600
# Admission control: clients' transactions are refused (429 overloaded, with Retry-After)
# once the pool holds this many milliseconds of the commit rate the node measures (0: off).
queue_delay_target_ms = 1000
# The pool always takes clients' transactions up to this many.
queue_floor_transactions = 2000

[sharing]
# Most document bytes per second served to other nodes' deliveries (0: no cap).
serve_bytes_per_second = 0
# Chunk requests (1 MiB each) kept in flight per delivery being fetched (1 to 16).
fetch_window = 8
# Most bytes of document content this node stores for its organisation (256 GiB);
# uploads beyond it are refused (507 store_full) until documents are erased.
store_bytes_max = 274877906944
# Most uploads accepted at once (1 to 64); more are answered 429 uploads_busy.
uploads_max = 4

[risk]
# The risk worker (docs/risk.md): assesses the organisation's inventory folder whenever it
# changes and submits the assessment, signed by its risk service identity.
# inventory_dir = "inventory"
# service_key_file = "keys/risk_key.json"
# survey_salt_file = "keys/survey.salt"
poll_interval_ms = 60000
# Other organisations' assessments to recompute and attest, from the inventory each shared:
# [[risk.attest]]
# org = "hospital-0"
# inventory_dir = "shared/hospital-0"

[state_sync]
# A snapshot of the state every this many committed blocks (0: none), exported to
# snapshots/ for hospitals that join later; the newest ones are kept.
snapshot_interval = {snapshot_interval}
snapshots_kept = 2
# With nothing committed but genesis and far behind, take in a peer's snapshot (checked
# against the state root a certified block attests) instead of replaying the chain.
enabled = true

[analytics]
# The PostgreSQL analytics sink (docs/node.md): mirrors committed blocks, transactions,
# audit events, access decisions and consent versions into the organisation's own
# database, exactly once (each block and the cursor in one PostgreSQL transaction). Only
# what is on chain goes there: pseudonymous patient references, never names.
enabled = false
# A key-value string or a URL: "host=/run/postgresql port=5432 user=panacea dbname=panacea"
# or "postgresql://panacea@127.0.0.1:5432/panacea".
postgres_url = ""
# Most blocks written in one PostgreSQL transaction while catching up (1 to 1000).
batch_blocks_max = 64
# After an error (PostgreSQL down, disk full), wait and try the same blocks again: from
# retry_initial_ms, doubling up to retry_max_ms. No block is ever skipped.
retry_initial_ms = 500
retry_max_ms = 30000
[atna]
# The IHE ATNA export (docs/node.md, "ATNA export"): every committed audit event this node
# holds, once and in order, as an RFC 5424 syslog message over TLS (RFC 5425) to the
# organisation's collector (its SIEM). Off while no collector is given.
# collector = "siem.hospital.example:6514"
# server_name = "siem.hospital.example"
# ca_file = "atna/ca.pem"
# Mutual TLS, for collectors that require a client certificate:
# cert_file = "atna/client.pem"
# key_file = "atna/client.key"
# "dicom" (the IHE audit message, DICOM PS3.15 A.5 XML) or "fhir" (FHIR AuditEvent JSON).
format = "dicom"
app_name = "panacea"
# Events sent per connection, each batch confirmed by the collector before the next.
batch_events_max = 500
# Largest syslog message in bytes: at most the collector's limit (rsyslog: 8 KiB).
message_bytes_max = 8192
connect_timeout_ms = 5000
confirm_timeout_ms = 10000

[log]
# "human" or "json" (one object per line). RUST_LOG overrides the filter.
format = "human"
filter = "info"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_back_to_the_same_config() {
        let mut config = Config { moniker: "hospital-a".into(), ..Config::default() };
        config.p2p.peers = vec!["/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into()];
        let text = config.to_template().unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, config);
        back.check().unwrap();
    }

    #[test]
    fn a_saved_configuration_keeps_every_change_and_the_comments() {
        // A regression: `save` used to write the template with its defaults, so an
        // operator's (or a test's) change to any other setting was silently dropped.
        let mut config = Config::default();
        config.mempool.queue_floor_transactions = 10;
        config.mempool.ttl_secs = 61;
        config.consensus.round_timeout_ms = 1_500;
        config.api.waiters_max = 7;
        config.atna.collector = Some("siem.hospital.example:6514".into());
        config.atna.ca_file = Some("atna/ca.pem".into());
        config.risk.attest = vec![
            AttestConfig {
                org: panacea_contracts::ids::OrgId::new("hospital-b").unwrap(),
                inventory_dir: "shared/b".into(),
            },
            AttestConfig {
                org: panacea_contracts::ids::OrgId::new("hospital-c").unwrap(),
                inventory_dir: "shared/c".into(),
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        config.save(&path).unwrap();
        let back = Config::load(&path).unwrap();
        assert_eq!(back, config);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# Seconds after which a transaction that could not be included is dropped.\nttl_secs = 61")
        );
        assert!(
            text.contains(
                "# The pool always takes clients' transactions up to this many.\nqueue_floor_transactions = 10"
            )
        );
    }

    #[test]
    fn a_list_section_appended_to_a_saved_file_parses() {
        // What testnet/run.sh does to configure hospital-1's risk worker.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        Config::default().save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "poll_interval_ms = 60000\n",
            "poll_interval_ms = 5000\n\n[[risk.attest]]\norg = \"hospital-0\"\ninventory_dir = \"shared/hospital-0\"\n",
        );
        let config: Config = toml::from_str(&text).unwrap();
        assert_eq!(config.risk.attest.len(), 1);
    }

    #[test]
    fn bad_values_are_refused_with_the_option_named() {
        let mut config = Config::default();
        config.consensus.empty_block_interval_ms = 10_000;
        assert!(config.check().unwrap_err().contains("empty_block_interval_ms"));
        let unknown = toml::from_str::<Config>("[p2p]\nlisten_typo = 1\n").unwrap_err().to_string();
        assert!(unknown.contains("listen_typo"), "{unknown}");
        let mut config = Config::default();
        config.sharing.uploads_max = 0;
        assert!(config.check().unwrap_err().contains("uploads_max"));
        let mut config = Config::default();
        config.sharing.store_bytes_max = 1;
        assert!(config.check().unwrap_err().contains("store_bytes_max"));
        let mut config = Config::default();
        config.analytics.enabled = true;
        assert!(config.check().unwrap_err().contains("postgres_url"));
        config.analytics.postgres_url = "host=/tmp/pg port=5432 user=panacea dbname=panacea".into();
        config.check().unwrap();
        config.analytics.postgres_url = "postgresql://panacea@127.0.0.1:5432/panacea".into();
        config.check().unwrap();
        config.analytics.postgres_url = "port=not-a-number".into();
        assert!(config.check().unwrap_err().contains("postgres_url"));
        let mut config = Config::default();
        config.analytics.retry_max_ms = 1;
        assert!(config.check().unwrap_err().contains("retry_initial_ms"));
        let mut config = Config::default();
        config.atna.collector = Some("collector.example:6514".into());
        assert!(config.check().unwrap_err().contains("atna.ca_file"));
        config.atna.ca_file = Some("ca.pem".into());
        config.check().unwrap();
        config.atna.collector = Some("no-port".into());
        assert!(config.check().unwrap_err().contains("host:port"));
    }
}
