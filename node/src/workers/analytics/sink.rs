//! The PostgreSQL side of the analytics sink: a connection, the schema, the cursor, and
//! the write of a batch of blocks' rows with the cursor in one transaction.
//!
//! Exactly once: the cursor (`panacea_cursor.height`, the last height mirrored) is read
//! under `FOR UPDATE` and checked against what the worker expects at the start of every
//! write, and moved in the same transaction as the rows. A write either lands whole with
//! its cursor or not at all; after any error the worker reconnects and reads the cursor
//! again, which settles a commit whose answer was lost. Primary keys on every table (block
//! height, transaction id, audit seq, decision id, consent id and version) make a second
//! copy of a row impossible even for a writer that got this wrong.

use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use super::rows::BlockRows;

/// Longest a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest one batch's transaction may take before the worker gives up on the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);
/// PostgreSQL's SQLSTATE for a full disk.
const DISK_FULL: &str = "53100";

/// The sink could not do what it was asked. Nothing was written (PostgreSQL rolls the
/// transaction back), and the worker tries the same blocks again.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// PostgreSQL refused or failed, or could not be reached.
    #[error("PostgreSQL failed while {doing}: {message}{hint}")]
    Postgres {
        /// What was being done.
        doing: &'static str,
        /// PostgreSQL's SQLSTATE, when it answered.
        code: Option<String>,
        /// What it said.
        message: String,
        /// What the operator can do, when known.
        hint: &'static str,
    },
    /// It did not answer in time.
    #[error("PostgreSQL did not answer within {seconds} s while {doing}")]
    Timeout {
        /// What was being done.
        doing: &'static str,
        /// The limit.
        seconds: u64,
    },
    /// The database's schema is newer than this node's.
    #[error(
        "the analytics database's schema is at version {found}, newer than this node knows ({known}): upgrade the node or point analytics.postgres_url at another database"
    )]
    SchemaTooNew {
        /// The database's version.
        found: i32,
        /// This node's.
        known: i32,
    },
    /// The database mirrors another chain.
    #[error(
        "the analytics database mirrors chain {found}, not {ours}: point analytics.postgres_url at this chain's database"
    )]
    OtherChain {
        /// Its chain.
        found: String,
        /// Ours.
        ours: String,
    },
    /// The database's block at a height is not this chain's.
    #[error(
        "the analytics database holds block {found} at height {height}, but this chain's is {ours}: it was written from another chain; use a fresh database"
    )]
    OtherBlock {
        /// The height.
        height: u64,
        /// Its block id.
        found: String,
        /// Ours.
        ours: String,
    },
    /// The cursor is not where this worker left it: another writer uses the database.
    #[error(
        "the analytics cursor moved under this node (expected {expected:?}, found {found:?}): is another node writing to the same database?"
    )]
    CursorMoved {
        /// Where this worker left it.
        expected: Option<u64>,
        /// Where it is.
        found: Option<u64>,
    },
}

impl SinkError {
    /// A mapper from a PostgreSQL error while `doing`.
    pub fn from_pg(doing: &'static str) -> impl FnOnce(tokio_postgres::Error) -> SinkError {
        move |error| {
            let code = error.code().map(|c| c.code().to_string());
            let message = match error.as_db_error() {
                Some(db) => format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code()),
                None => {
                    // The interesting part of a connection error is in its sources.
                    let mut text = error.to_string();
                    let mut source = std::error::Error::source(&error);
                    while let Some(inner) = source {
                        text.push_str(": ");
                        text.push_str(&inner.to_string());
                        source = inner.source();
                    }
                    text
                }
            };
            let hint = if code.as_deref() == Some(DISK_FULL) || message.contains("No space left on device") {
                "; the database server's disk is full: free space there (nothing is lost, the same blocks are written once it has room)"
            } else if error.as_db_error().is_none() {
                "; is PostgreSQL running, and is analytics.postgres_url right? (nothing is lost: the worker retries from its cursor)"
            } else {
                ""
            };
            SinkError::Postgres { doing, code, message, hint }
        }
    }

    /// True for a full disk on the database server.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, SinkError::Postgres { code: Some(code), .. } if code == DISK_FULL)
    }
}

/// A connection to the analytics database.
pub struct Sink {
    client: Client,
    connection: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").finish_non_exhaustive()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl Sink {
    /// Connects to `url` (a key-value string or a URL; no TLS: use a unix socket, a
    /// loopback address or a tunnel).
    pub async fn connect(url: &str) -> Result<Sink, SinkError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(SinkError::from_pg("reading analytics.postgres_url"))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("panacea-node analytics");
        let connecting = config.connect(NoTls);
        let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), connecting)
            .await
            .map_err(|_| SinkError::Timeout { doing: "connecting", seconds: CONNECT_TIMEOUT.as_secs() })?
            .map_err(SinkError::from_pg("connecting"))?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "analytics: the PostgreSQL connection closed");
            }
        });
        Ok(Sink { client, connection })
    }

    /// Brings the schema to this node's version; returns the versions it applied.
    pub async fn migrate(&mut self) -> Result<Vec<i32>, SinkError> {
        super::schema::migrate(&mut self.client).await
    }

    /// The last height mirrored (`None`: nothing yet), after checking that the database
    /// mirrors `chain_id`.
    pub async fn cursor(&self, chain_id: &str) -> Result<Option<u64>, SinkError> {
        let row = self
            .client
            .query_opt("SELECT chain_id, height FROM panacea_cursor", &[])
            .await
            .map_err(SinkError::from_pg("reading the cursor"))?;
        cursor_of(row.as_ref(), chain_id)
    }

    /// The id of the block mirrored at `height`, if any.
    pub async fn block_id(&self, height: u64) -> Result<Option<String>, SinkError> {
        let height = i64::try_from(height).unwrap_or(i64::MAX);
        let row = self
            .client
            .query_opt("SELECT id FROM panacea_blocks WHERE height = $1", &[&height])
            .await
            .map_err(SinkError::from_pg("reading a mirrored block"))?;
        row.map(|r| r.try_get(0)).transpose().map_err(SinkError::from_pg("reading a mirrored block"))
    }

    /// Writes `blocks` (consecutive, following `expected`) and moves the cursor to the last
    /// of them, in one transaction.
    pub async fn write(
        &mut self,
        chain_id: &str,
        expected: Option<u64>,
        blocks: &[BlockRows],
    ) -> Result<(), SinkError> {
        tokio::time::timeout(WRITE_TIMEOUT, self.write_now(chain_id, expected, blocks))
            .await
            .map_err(|_| SinkError::Timeout { doing: "writing blocks", seconds: WRITE_TIMEOUT.as_secs() })?
    }

    async fn write_now(
        &mut self,
        chain_id: &str,
        expected: Option<u64>,
        blocks: &[BlockRows],
    ) -> Result<(), SinkError> {
        let Some(last) = blocks.last() else { return Ok(()) };
        let pg = SinkError::from_pg;
        let tx = self.client.transaction().await.map_err(pg("starting a transaction"))?;
        let row = tx
            .query_opt("SELECT chain_id, height FROM panacea_cursor FOR UPDATE", &[])
            .await
            .map_err(pg("reading the cursor"))?;
        let found = cursor_of(row.as_ref(), chain_id)?;
        if found != expected {
            return Err(SinkError::CursorMoved { expected, found });
        }

        let b: Vec<_> = blocks.iter().map(|r| &r.block).collect();
        tx.execute(
            "INSERT INTO panacea_blocks (height, id, parent, epoch, round, author, time_ms, state_root,
                transaction_count, audit_from, audit_count)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::int[],
                $7::bigint[], $8::text[], $9::int[], $10::bigint[], $11::int[])",
            &[
                &b.iter().map(|r| r.height).collect::<Vec<_>>(),
                &b.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                &b.iter().map(|r| r.parent.clone()).collect::<Vec<_>>(),
                &b.iter().map(|r| r.epoch).collect::<Vec<_>>(),
                &b.iter().map(|r| r.round).collect::<Vec<_>>(),
                &b.iter().map(|r| r.author).collect::<Vec<_>>(),
                &b.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
                &b.iter().map(|r| r.state_root.clone()).collect::<Vec<_>>(),
                &b.iter().map(|r| r.transaction_count).collect::<Vec<_>>(),
                &b.iter().map(|r| r.audit_from).collect::<Vec<_>>(),
                &b.iter().map(|r| r.audit_count).collect::<Vec<_>>(),
            ],
        )
        .await
        .map_err(pg("writing blocks"))?;

        let t: Vec<_> = blocks.iter().flat_map(|r| &r.transactions).collect();
        if !t.is_empty() {
            tx.execute(
                "INSERT INTO panacea_transactions (id, height, position, signer, nonce, module, call, ok,
                    error_code, error_message, body)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::text[], $5::bigint[], $6::text[],
                    $7::text[], $8::bool[], $9::text[], $10::text[], $11::jsonb[])",
                &[
                    &t.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.height).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.position).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.signer.clone()).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.nonce).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.module.clone()).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.call.clone()).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.ok).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.error_code.clone()).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.error_message.clone()).collect::<Vec<_>>(),
                    &t.iter().map(|r| r.body.clone()).collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(pg("writing transactions"))?;
        }

        let e: Vec<_> = blocks.iter().flat_map(|r| &r.events).collect();
        if !e.is_empty() {
            tx.execute(
                "INSERT INTO panacea_audit_events (seq, height, tx, kind, action, outcome, time_ms, patient,
                    requester_org, requester, consent_id, consent_version, decision, purpose, data_class,
                    agents, entity, hash, prev)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::text[],
                    $14::text[], $15::text[], $16::jsonb[], $17::jsonb[], $18::text[], $19::text[])",
                &[
                    &e.iter().map(|r| r.seq).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.height).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.tx.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.kind.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.action.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.outcome.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.time_ms).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.patient.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.requester_org.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.requester.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.consent_id.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.consent_version).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.decision.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.purpose.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.data_class.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.agents.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.entity.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.hash.clone()).collect::<Vec<_>>(),
                    &e.iter().map(|r| r.prev.clone()).collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(pg("writing audit events"))?;
        }

        let d: Vec<_> = blocks.iter().flat_map(|r| &r.decisions).collect();
        if !d.is_empty() {
            tx.execute(
                "INSERT INTO panacea_decisions (id, height, event_seq, requester, requester_org, custodian, patient,
                    data_class, resource_type, purpose, outcome, reason, decided_at_ms, expires_at_ms, document,
                    justification, consents, overridden)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[],
                    $14::bigint[], $15::text[], $16::text[], $17::jsonb[], $18::jsonb[])",
                &[
                    &d.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.height).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.event_seq).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.requester.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.requester_org.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.custodian.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.patient.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.data_class.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.resource_type.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.purpose.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.outcome.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.reason.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.decided_at_ms).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.expires_at_ms).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.document.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.justification.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.consents.clone()).collect::<Vec<_>>(),
                    &d.iter().map(|r| r.overridden.clone()).collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(pg("writing decisions"))?;
        }

        let c: Vec<_> = blocks.iter().flat_map(|r| &r.consents).collect();
        if !c.is_empty() {
            tx.execute(
                "INSERT INTO panacea_consent_versions (consent_id, version, height, event_seq, change, patient, status,
                    scope, policy_rule, recorder_org, recorder_identity, recorder_key, recorded_at_ms, terms)
                 SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::text[],
                    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[],
                    $14::jsonb[])",
                &[
                    &c.iter().map(|r| r.consent_id.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.version).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.height).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.event_seq).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.change.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.patient.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.status.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.scope.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.policy_rule.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.recorder_org.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.recorder_identity.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.recorder_key.clone()).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.recorded_at_ms).collect::<Vec<_>>(),
                    &c.iter().map(|r| r.terms.clone()).collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(pg("writing consent versions"))?;
        }

        tx.execute(
            "INSERT INTO panacea_cursor (only_row, chain_id, height) VALUES (true, $1, $2)
             ON CONFLICT (only_row) DO UPDATE SET height = EXCLUDED.height, updated_at = now()",
            &[&chain_id, &last.block.height],
        )
        .await
        .map_err(pg("moving the cursor"))?;
        tx.commit().await.map_err(pg("committing blocks"))
    }
}

/// The cursor in `row` (of `panacea_cursor`), checked against `chain_id`.
fn cursor_of(row: Option<&tokio_postgres::Row>, chain_id: &str) -> Result<Option<u64>, SinkError> {
    let Some(row) = row else { return Ok(None) };
    let found: String = row.try_get(0).map_err(SinkError::from_pg("reading the cursor"))?;
    if found != chain_id {
        return Err(SinkError::OtherChain { found, ours: chain_id.to_string() });
    }
    let height: i64 = row.try_get(1).map_err(SinkError::from_pg("reading the cursor"))?;
    Ok(Some(u64::try_from(height).unwrap_or(0)))
}
