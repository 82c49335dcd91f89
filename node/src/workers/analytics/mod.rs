//! The analytics sink: mirrors committed blocks, transactions, audit events, access
//! decisions and consent versions into the organisation's own PostgreSQL database, for
//! SQL analytics (`docs/node.md`, "Analytics sink (PostgreSQL)";
//! `docs/decisions/0020-analytics-sink.md`).
//!
//! - `source.rs` reads a committed block and what it implies from storage;
//! - `rows.rs` maps it to rows (pure, unit-tested);
//! - `sink.rs` writes a batch of blocks' rows and the cursor in one PostgreSQL transaction;
//! - `schema.rs` applies the SQL migrations in `migrations/`.
//!
//! Exactly once: the cursor lives in PostgreSQL, beside the rows, and moves in the same
//! transaction as them. The worker follows blocks by height from the cursor (storage is
//! the truth; the shell's broadcast only wakes it). After any error (PostgreSQL down or
//! restarting, a full disk, a timeout) it counts the error, waits (bounded exponential
//! back-off), reconnects, reads the cursor again and writes the same blocks again: it never
//! skips a block, and never writes one twice.
//!
//! Privacy: only what is on chain goes to PostgreSQL (pseudonymous patient references,
//! organisation and identity ids, hashes, codes); nothing that names a patient is on chain.

pub mod rows;
pub mod schema;
pub mod sink;
pub mod source;

use std::sync::Arc;
use std::time::Duration;

use self::sink::{Sink, SinkError};
use self::source::SourceError;
use crate::config::AnalyticsConfig;
use crate::shared::{CommittedEvents, Shared};

/// How often the worker looks at the committed height when no commit woke it.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Why a pass of the worker stopped; it waits and starts again from the cursor.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// PostgreSQL.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The chain.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The database needs blocks this node does not hold.
    #[error(
        "the analytics database has blocks up to height {cursor}, but this node's history starts at {first} (it state-synced): point analytics at a node that holds blocks from {next} on, or use a fresh database"
    )]
    HistoryGap {
        /// The database's cursor.
        cursor: u64,
        /// This node's first full block.
        first: u64,
        /// The block the database needs next.
        next: u64,
    },
    /// A blocking read was lost.
    #[error("reading blocks: {0}")]
    Task(String),
}

/// Exponential back-off between `initial` and `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// From `initial`, doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff { initial, max, next: initial }
    }

    /// The wait before the next try; doubles the one after it.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        wait
    }

    /// Back to `initial` (after a success).
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// The worker.
#[derive(Debug)]
pub struct AnalyticsWorker {
    shared: Arc<Shared>,
    config: AnalyticsConfig,
    chain_id: String,
    /// The last height known mirrored (for the lag metric while PostgreSQL is away).
    mirrored: Option<u64>,
}

impl AnalyticsWorker {
    /// A worker for `config` (which is enabled).
    pub fn new(shared: Arc<Shared>, config: AnalyticsConfig) -> AnalyticsWorker {
        let chain_id = shared.chain.chain_id().to_string();
        AnalyticsWorker { shared, config, chain_id, mirrored: None }
    }

    /// Runs until shutdown.
    pub async fn run(
        mut self,
        mut events: tokio::sync::broadcast::Receiver<Arc<CommittedEvents>>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut backoff = Backoff::new(
            Duration::from_millis(self.config.retry_initial_ms),
            Duration::from_millis(self.config.retry_max_ms),
        );
        loop {
            match self.pass(&mut events, &mut shutdown, &mut backoff).await {
                Ok(()) => return,
                Err(e) => {
                    self.shared.metrics.analytics_errors.inc();
                    self.update_lag();
                    let wait = backoff.next_wait();
                    tracing::error!(
                        error = %e,
                        retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        mirrored = ?self.mirrored,
                        "analytics: mirroring into PostgreSQL failed; nothing is lost, the worker retries from its cursor"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                }
            }
        }
    }

    /// Connects, migrates, checks the database against the chain, then mirrors until
    /// shutdown (`Ok`) or the first error.
    async fn pass(
        &mut self,
        events: &mut tokio::sync::broadcast::Receiver<Arc<CommittedEvents>>,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Result<(), AnalyticsError> {
        let mut sink = Sink::connect(&self.config.postgres_url).await?;
        let applied = sink.migrate().await?;
        if !applied.is_empty() {
            tracing::info!(versions = ?applied, "analytics: applied schema migrations");
        }
        let mut cursor = sink.cursor(&self.chain_id).await?;
        let storage = self.shared.storage.clone();
        let first = source::first_height(&storage)?;
        if let Some(at) = cursor {
            if at.saturating_add(1) < first {
                return Err(AnalyticsError::HistoryGap { cursor: at, first, next: at.saturating_add(1) });
            }
            // The database's last block must be this chain's (when this node holds it).
            if let (Some(ours), Some(found)) =
                (storage.block(panacea_primitives::Height(at)).map_err(SourceError::from)?, sink.block_id(at).await?)
                && ours.id().to_string() != found
            {
                return Err(SinkError::OtherBlock { height: at, found, ours: ours.id().to_string() }.into());
            }
        }
        self.mirrored = cursor;
        tracing::info!(mirrored = ?cursor, "analytics: connected to PostgreSQL");
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let tip = storage.committed_height().map_err(SourceError::from)?.map_or(0, |h| h.0);
            let next = cursor.map_or(first, |c| c.saturating_add(1));
            self.update_lag();
            if next <= tip {
                let last = tip.min(next.saturating_add(self.config.batch_blocks_max - 1));
                let reading = storage.clone();
                let genesis_time = self.shared.chain.genesis.time;
                let batch = tokio::task::spawn_blocking(move || -> Result<Vec<rows::BlockRows>, SourceError> {
                    (next..=last)
                        .map(|height| Ok(rows::rows(&source::read_block(&reading, genesis_time, height)?)?))
                        .collect()
                })
                .await
                .map_err(|e| AnalyticsError::Task(e.to_string()))??;
                sink.write(&self.chain_id, cursor, &batch).await?;
                cursor = Some(last);
                self.mirrored = cursor;
                backoff.reset();
                continue;
            }
            tokio::select! {
                woken = events.recv() => match woken {
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
            }
        }
    }

    /// Sets the height and lag metrics from the last height known mirrored.
    fn update_lag(&self) {
        let tip = self.shared.storage.committed_height().ok().flatten().map_or(0, |h| h.0);
        let metrics = &self.shared.metrics;
        let mirrored = self.mirrored.map_or(0, |m| m);
        metrics.analytics_height.set(i64::try_from(mirrored).unwrap_or(i64::MAX));
        let behind = match self.mirrored {
            Some(m) => tip.saturating_sub(m),
            None => tip.saturating_add(1),
        };
        metrics.analytics_lag_blocks.set(i64::try_from(behind).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_its_bound_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(450));
        let waits: Vec<u128> = (0..5).map(|_| backoff.next_wait().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 450, 450]);
        backoff.reset();
        assert_eq!(backoff.next_wait().as_millis(), 100);
    }
}
