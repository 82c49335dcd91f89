//! `panacea-node`: run a Panacea consortium node.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use panacea_contracts::membership::ChainMode;
use panacea_node::chain::peer_id_of;
use panacea_node::config::{Config, Home, LogFormat, NodeRole};
use panacea_node::keys;
use panacea_node::testnet::{TestnetPlan, generate};
use panacea_primitives::Timestamp;
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(name = "panacea-node", version, about = "Run a node of a Panacea health-information consortium")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RoleArg {
    Validator,
    Observer,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogArg {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a node home: network and validator keys and a commented config.toml.
    Init {
        /// The node's home folder.
        #[arg(long, env = "PANACEA_HOME")]
        home: PathBuf,
        /// A name for logs and status (the organisation's node name).
        #[arg(long, default_value = "panacea-node")]
        moniker: String,
        /// Validator (votes) or observer (follows and verifies).
        #[arg(long, value_enum, default_value = "validator")]
        role: RoleArg,
    },
    /// Generate the homes of a local consortium sharing one genesis.
    Testnet {
        /// Where the homes go (node0, node1, ...); must be empty or absent.
        #[arg(long)]
        out: PathBuf,
        /// Hospitals running validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Health authorities running observers.
        #[arg(long, default_value_t = 1)]
        observers: usize,
        /// The chain id.
        #[arg(long, default_value = "panacea-local")]
        chain_id: String,
        /// The address nodes listen on and dial.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// First peer-to-peer port (node i uses port + i); 0 lets each node choose at start.
        #[arg(long, default_value_t = 26656)]
        p2p_port: u16,
        /// First API port (node i uses port + i); 0 lets each node choose at start.
        #[arg(long, default_value_t = 8645)]
        api_port: u16,
        /// A consensus-only benchmark chain: blocks carry opaque transactions that are
        /// ordered and stored but neither signed nor executed (fixed in genesis).
        #[arg(long)]
        ordering_only: bool,
    },
    /// Run the node.
    Start {
        /// The node's home folder.
        #[arg(long, env = "PANACEA_HOME")]
        home: PathBuf,
        /// Another peer to dial (repeatable), added to config.toml's peers.
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// Override p2p.listen.
        #[arg(long)]
        p2p_listen: Option<String>,
        /// Override api.listen.
        #[arg(long)]
        api_listen: Option<SocketAddr>,
        /// Override log.format.
        #[arg(long, value_enum)]
        log_format: Option<LogArg>,
    },
    /// Run a single-validator development chain in `home` (created on first use).
    Dev {
        /// The development home.
        #[arg(long, default_value = ".panacea-dev")]
        home: PathBuf,
        /// Where to serve the API.
        #[arg(long, default_value = "127.0.0.1:8645")]
        api_listen: SocketAddr,
        /// Log format.
        #[arg(long, value_enum)]
        log_format: Option<LogArg>,
    },
    /// Print the node's peer id and public keys.
    ShowNodeId {
        /// The node's home folder.
        #[arg(long, env = "PANACEA_HOME")]
        home: PathBuf,
    },
    /// Delete the node's chain data (blocks, state, consensus state); keys and config stay.
    Reset {
        /// The node's home folder.
        #[arg(long, env = "PANACEA_HOME")]
        home: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { std::process::ExitCode::from(2) } else { std::process::ExitCode::SUCCESS };
        }
    };
    if matches!(cli.command, Command::Start { .. } | Command::Dev { .. }) {
        fix_malloc_threshold();
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr, reason = "the binary reports its fatal error")]
            {
                eprintln!("error: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

/// The environment variable that fixes glibc's mmap threshold.
const MMAP_THRESHOLD_VAR: &str = "MALLOC_MMAP_THRESHOLD_";
/// 1 MiB: document chunks (1 MiB and more) are mapped and returned at once; smaller
/// buffers (transaction batches, frames) come from the arenas without a page fault per
/// use. 128 KiB kept memory as flat but cost the consensus-only benchmark half its
/// throughput in page faults (decision 0008).
const MMAP_THRESHOLD: &str = "1048576";

/// Keeps a node's memory flat while large documents stream through it (decision 0008).
///
/// glibc's malloc raises its mmap threshold after large blocks are freed; from then on the
/// 1 MiB document chunks (and RocksDB's buffers for them) come from per-thread arenas that
/// hold on to them, and peak memory grew with document size (+72 MiB for a 200 MiB study).
/// A fixed threshold of 1 MiB serves them with `mmap` and returns them at once (+21 MiB,
/// the bounded write buffers). glibc reads it only from the environment at start-up, and
/// setting it from inside would take `unsafe`, so a long-running node re-executes itself
/// once (same process id) with the variable set. Other allocators, Rust's and C++'s
/// alike, kept as much (mimalloc measured +35 MiB).
fn fix_malloc_threshold() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || std::env::var_os(MMAP_THRESHOLD_VAR).is_some() {
        return;
    }
    use std::os::unix::process::CommandExt as _;
    let Ok(exe) = std::env::current_exe() else { return };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(MMAP_THRESHOLD_VAR, MMAP_THRESHOLD)
        .exec();
    // `exec` returns only if it failed: run on with glibc's defaults.
    #[allow(clippy::print_stderr, reason = "before logging is set up")]
    {
        eprintln!(
            "warning: cannot re-execute with a fixed malloc threshold ({error}); memory may grow with document size"
        );
    }
}

#[allow(clippy::print_stdout, reason = "command output")]
fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init { home, moniker, role } => {
            let home = Home(home);
            init(&home, &moniker, role)?;
            println!("initialised {}", home.0.display());
            show(&home)
        }
        Command::Testnet { out, validators, observers, chain_id, host, p2p_port, api_port, ordering_only } => {
            let mode = if ordering_only { ChainMode::OrderingOnly } else { ChainMode::Contracts };
            let plan =
                TestnetPlan { out, validators, observers, chain_id, host, p2p_port, api_port, time: now(), mode };
            let nodes = generate(&plan)?;
            for node in nodes {
                println!("{}\t{:?}\t{}\t{}", node.home.display(), node.role, node.org, node.peer_id);
            }
            Ok(())
        }
        Command::Start { home, peers, p2p_listen, api_listen, log_format } => {
            let home = Home(home);
            let mut config = Config::load(&home.config())?;
            config.p2p.peers.extend(peers);
            if let Some(listen) = p2p_listen {
                config.p2p.listen = listen;
            }
            if let Some(api) = api_listen {
                config.api.listen = api;
            }
            if let Some(format) = log_format {
                config.log.format = log_arg(format);
            }
            config.check().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
            start(&home, config)
        }
        Command::Dev { home, api_listen, log_format } => {
            let home = Home(home);
            if !home.config().exists() {
                dev_init(&home)?;
            }
            let mut config = Config::load(&home.config())?;
            config.api.listen = api_listen;
            if let Some(format) = log_format {
                config.log.format = log_arg(format);
            }
            start(&home, config)
        }
        Command::ShowNodeId { home } => show(&Home(home)),
        Command::Reset { home, yes } => {
            let home = Home(home);
            let data = home.data();
            if !data.exists() {
                println!("nothing to reset: {} does not exist", data.display());
                return Ok(());
            }
            if !yes {
                print!("delete all chain data in {}? keys and config stay. type 'yes': ", data.display());
                std::io::stdout().flush()?;
                let mut answer = String::new();
                std::io::stdin().lock().read_line(&mut answer)?;
                if answer.trim() != "yes" {
                    bail!("not confirmed; nothing deleted");
                }
            }
            std::fs::remove_dir_all(&data).with_context(|| format!("deleting {}", data.display()))?;
            println!("deleted {}", data.display());
            // Snapshots are of this chain's state: they go with it.
            let snapshots = home.snapshots();
            if snapshots.exists() {
                std::fs::remove_dir_all(&snapshots).with_context(|| format!("deleting {}", snapshots.display()))?;
                println!("deleted {}", snapshots.display());
            }
            // The nudge store follows this chain's audit log by position: it goes too.
            let nudges = home.nudges();
            if nudges.exists() {
                std::fs::remove_dir_all(&nudges).with_context(|| format!("deleting {}", nudges.display()))?;
                println!("deleted {}", nudges.display());
            }
            Ok(())
        }
    }
}

fn log_arg(arg: LogArg) -> LogFormat {
    match arg {
        LogArg::Human => LogFormat::Human,
        LogArg::Json => LogFormat::Json,
    }
}

fn now() -> Timestamp {
    use panacea_node::shell::Clock;
    panacea_node::shell::SystemClock.now()
}

fn init(home: &Home, moniker: &str, role: RoleArg) -> anyhow::Result<()> {
    if home.config().exists() {
        bail!("{} already exists; choose another home", home.config().display());
    }
    std::fs::create_dir_all(home.0.join("keys")).with_context(|| format!("creating {}", home.0.display()))?;
    keys::save(&home.node_key(), "network", &keys::generate()?)?;
    keys::save(&home.sharing_key(), "sharing identity", &keys::generate()?)?;
    let role = match role {
        RoleArg::Validator => {
            keys::save(&home.validator_key(), "consensus", &keys::generate()?)?;
            NodeRole::Validator
        }
        RoleArg::Observer => NodeRole::Observer,
    };
    let config = Config { moniker: moniker.to_string(), role, ..Config::default() };
    config.save(&home.config())?;
    Ok(())
}

fn dev_init(home: &Home) -> anyhow::Result<()> {
    let plan = TestnetPlan {
        out: home.0.join("consortium"),
        validators: 1,
        observers: 0,
        chain_id: "panacea-dev".into(),
        host: "127.0.0.1".into(),
        p2p_port: 0,
        api_port: 0,
        time: now(),
        mode: ChainMode::Contracts,
    };
    let nodes = generate(&plan)?;
    let node = nodes.first().context("the dev chain has one node")?;
    // The dev home is the generated node's home, reached through the top folder.
    for entry in std::fs::read_dir(&node.home)? {
        let entry = entry?;
        std::fs::rename(entry.path(), home.0.join(entry.file_name()))?;
    }
    std::fs::remove_dir_all(&plan.out)?;
    Ok(())
}

#[allow(clippy::print_stdout, reason = "command output")]
fn show(home: &Home) -> anyhow::Result<()> {
    let network = keys::load(&home.node_key())?;
    let network_key = network.public().to_bytes();
    let peer = peer_id_of(&network_key).context("the network key is not a valid libp2p key")?;
    println!("peer id:       {peer}");
    println!("network key:   {}", hex::encode(network_key));
    if home.validator_key().exists() {
        println!("validator key: {}", hex::encode(keys::load(&home.validator_key())?.public().to_bytes()));
    }
    if home.sharing_key().exists() {
        // Register it as a service identity: panacea identity register-service --public-key ...
        println!("sharing key:   {}", hex::encode(keys::load(&home.sharing_key())?.public().to_bytes()));
    }
    Ok(())
}

fn start(home: &Home, config: Config) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .context("log.filter is not a valid tracing filter")?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
        });
        panacea_node::run::run(home, config, stop_rx).await
    })?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
