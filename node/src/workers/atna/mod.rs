//! The IHE ATNA export: every committed audit event this node holds, in order, as an
//! RFC 5424 syslog message over TLS (RFC 5425) to the organisation's collector, in the IHE
//! audit message format (DICOM PS3.15 A.5 XML, `dicom.rs`) or as FHIR AuditEvent JSON
//! (IHE BALP), as `[atna]` in `config.toml` says.
//!
//! The worker follows the audit log from its cursor (`cursor.rs`): it reads up to
//! `batch_events_max` events from storage, sends them on one TLS connection and waits for
//! the collector to confirm by closing its side (`transport.rs`); only then it advances
//! and syncs the cursor. A batch that is not confirmed (collector down, unreachable,
//! slow, wrong certificate) is sent again after a back-off of [`BACKOFF_MIN`] doubling to
//! [`BACKOFF_MAX`], so an outage delays events and loses none; the lag and the errors are
//! metrics. The node's own events are not special: it exports all the events it holds,
//! which are the chain's (`docs/decisions/0019-atna-export.md`).
//!
//! The events carry pseudonymous patient references and no clinical content, as the chain
//! does; the worker's logs name the collector and sequence numbers, never an event's
//! content.

pub mod cursor;
pub mod dicom;
pub mod syslog;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use panacea_contracts::audit::AuditEvent;

use self::cursor::Cursor;
use self::syslog::Origin;
use self::transport::Collector;
use crate::config::{AtnaConfig, AtnaFormat, Home};
use crate::shared::{CommittedEvents, Shared};

/// The first wait after a failed delivery.
pub const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// The longest wait between deliveries that fail.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How often the log is checked even without news of a commit (a missed broadcast).
const POLL: Duration = Duration::from_secs(5);

/// Why a step of the export failed.
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// The delivery failed; the batch is sent again.
    #[error(transparent)]
    Delivery(#[from] transport::DeliveryError),
    /// An event does not fit a syslog message; the export waits for a larger limit.
    #[error(
        "audit event {seq} makes a syslog message of {bytes} bytes, more than atna.message_bytes_max ({max}): raise the collector's limit and the option, and restart"
    )]
    TooLarge {
        /// The event.
        seq: u64,
        /// Its message's size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Storage could not be read, or the cursor not written: the worker stops.
    #[error("{0}")]
    Fatal(String),
}

/// The export worker.
pub struct AtnaWorker {
    shared: Arc<Shared>,
    collector: Collector,
    cursor: Cursor,
    format: AtnaFormat,
    origin: Origin,
    source: dicom::Source,
    batch_events_max: usize,
    message_bytes_max: usize,
}

impl std::fmt::Debug for AtnaWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtnaWorker").field("collector", &self.collector).field("next", &self.cursor.next()).finish()
    }
}

impl AtnaWorker {
    /// The worker of `config`, or `None` when no collector is configured. An error names the
    /// option that cannot be used (a certificate file that does not load, for example).
    pub fn new(
        shared: Arc<Shared>,
        home: &Home,
        moniker: &str,
        config: &AtnaConfig,
    ) -> Result<Option<AtnaWorker>, String> {
        if config.collector.is_none() {
            return Ok(None);
        }
        config.check()?;
        let collector = Collector::new(config, &home.0)?;
        let cursor = Cursor::open(&home.atna()).map_err(|e| e.to_string())?;
        let hostname = config.hostname.as_deref().unwrap_or(moniker);
        let origin = Origin::new(hostname, &config.app_name);
        let source = dicom::Source { id: origin.hostname.clone(), site: shared.chain.chain_id().to_string() };
        Ok(Some(AtnaWorker {
            shared,
            collector,
            cursor,
            format: config.format,
            origin,
            source,
            batch_events_max: config.batch_events_max,
            message_bytes_max: config.message_bytes_max,
        }))
    }

    /// The syslog message of one event.
    pub fn message(&self, event: &AuditEvent) -> Vec<u8> {
        let body = match self.format {
            AtnaFormat::Dicom => dicom::audit_message(event, &self.source),
            AtnaFormat::Fhir => panacea_contracts::fhir::audit_event::export(event).to_string(),
        };
        syslog::message(&self.origin, self.format, event, &body)
    }

    /// Runs until shutdown: delivers every event from the cursor on, then waits for commits.
    pub async fn run(
        mut self,
        mut events: tokio::sync::broadcast::Receiver<Arc<CommittedEvents>>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let metrics = self.shared.metrics.clone();
        tracing::info!(
            collector = self.collector.address(),
            next = self.cursor.next(),
            format = ?self.format,
            "ATNA export started"
        );
        let mut backoff = BACKOFF_MIN;
        let mut failing = false;
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.step().await {
                Ok(0) => {
                    tokio::select! {
                        block = events.recv() => {
                            if let Err(tokio::sync::broadcast::error::RecvError::Closed) = block {
                                return;
                            }
                        }
                        () = tokio::time::sleep(POLL) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                }
                Ok(sent) => {
                    if failing {
                        tracing::info!(collector = self.collector.address(), "ATNA collector reachable again");
                        failing = false;
                    }
                    backoff = BACKOFF_MIN;
                    tracing::debug!(sent, next = self.cursor.next(), "ATNA batch confirmed");
                }
                Err(StepError::Fatal(reason)) => {
                    metrics.atna_errors.inc();
                    metrics.atna_connected.set(0);
                    tracing::error!(error = %reason, "the ATNA export stopped");
                    return;
                }
                Err(e) => {
                    metrics.atna_errors.inc();
                    metrics.atna_connected.set(0);
                    // One warning per outage, then quieter: the metrics carry the rest.
                    if failing {
                        tracing::debug!(error = %e, next = self.cursor.next(), "ATNA delivery failed again");
                    } else {
                        tracing::warn!(
                            error = %e,
                            next = self.cursor.next(),
                            retry_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                            "ATNA delivery failed; the events wait and are sent again, none is lost"
                        );
                        failing = true;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Delivers the next batch, if any; returns how many events it delivered.
    async fn step(&mut self) -> Result<usize, StepError> {
        let metrics = self.shared.metrics.clone();
        let next = self.cursor.next();
        let (count, frames, sent) = {
            let state = self.shared.storage.state();
            let count = panacea_contracts::state::Meta::load(&state)
                .map_err(|e| StepError::Fatal(format!("reading the audit log's length: {e}")))?
                .audit_count;
            metrics.atna_lag_events.set(i64::try_from(count.saturating_sub(next)).unwrap_or(i64::MAX));
            if next > count {
                // A cursor from another chain, or a data folder replaced under it.
                return Err(StepError::Fatal(format!(
                    "the ATNA cursor ({next}) is beyond the audit log ({count} events): is atna/cursor from another chain? Delete it to export this chain from the start"
                )));
            }
            let end = count.min(next.saturating_add(u64::try_from(self.batch_events_max).unwrap_or(u64::MAX)));
            let mut frames = Vec::new();
            let mut sent = 0usize;
            for seq in next..end {
                let event = panacea_contracts::audit::event(&state, seq)
                    .map_err(|e| StepError::Fatal(format!("reading audit event {seq}: {e}")))?
                    .ok_or_else(|| StepError::Fatal(format!("audit event {seq} is missing from storage")))?;
                let message = self.message(&event);
                if message.len() > self.message_bytes_max {
                    if sent > 0 {
                        break; // Deliver what fits first; the next step reports this one.
                    }
                    return Err(StepError::TooLarge { seq, bytes: message.len(), max: self.message_bytes_max });
                }
                syslog::frame(&message, &mut frames);
                sent += 1;
            }
            (count, frames, sent)
        };
        if sent == 0 {
            return Ok(0);
        }
        self.collector.deliver(&frames).await?;
        let delivered = next + u64::try_from(sent).unwrap_or(u64::MAX);
        // Synced before the next batch: a crash from here on resends at most this batch.
        self.cursor.advance(delivered).map_err(|e| StepError::Fatal(e.to_string()))?;
        metrics.atna_connected.set(1);
        metrics.atna_sent.inc_by(u64::try_from(sent).unwrap_or(u64::MAX));
        metrics.atna_lag_events.set(i64::try_from(count.saturating_sub(delivered)).unwrap_or(i64::MAX));
        Ok(sent)
    }
}
