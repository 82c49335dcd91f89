//! The analytics database's schema and its migrations (`docs/decisions/0020-analytics-sink.md`).
//!
//! Each migration is a SQL file compiled into the binary, applied once, in its own
//! PostgreSQL transaction together with its row in `panacea_schema_version`, so a database
//! is always at exactly one version. A database at a version newer than this node knows is
//! refused (an older node must not write into a schema it does not understand).

use tokio_postgres::Client;

use super::sink::SinkError;

/// The migrations, in order: (version, name, SQL).
pub const MIGRATIONS: &[(i32, &str, &str)] = &[(1, "initial", include_str!("migrations/0001_initial.sql"))];

/// The schema version this node writes.
pub fn current_version() -> i32 {
    MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
}

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS panacea_schema_version (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Brings the database to [`current_version`]; returns the versions it applied.
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, SinkError> {
    client.batch_execute(VERSION_TABLE).await.map_err(SinkError::from_pg("creating panacea_schema_version"))?;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let tx = client.transaction().await.map_err(SinkError::from_pg("starting a migration"))?;
        // One migrator at a time: a second node pointed at the same database waits here.
        tx.batch_execute("LOCK TABLE panacea_schema_version IN EXCLUSIVE MODE")
            .await
            .map_err(SinkError::from_pg("locking panacea_schema_version"))?;
        let newest: Option<i32> = tx
            .query_one("SELECT max(version) FROM panacea_schema_version", &[])
            .await
            .map_err(SinkError::from_pg("reading the schema version"))?
            .try_get(0)
            .map_err(SinkError::from_pg("reading the schema version"))?;
        if let Some(newest) = newest
            && newest > current_version()
        {
            return Err(SinkError::SchemaTooNew { found: newest, known: current_version() });
        }
        let done = tx
            .query_opt("SELECT 1 FROM panacea_schema_version WHERE version = $1", &[version])
            .await
            .map_err(SinkError::from_pg("reading the schema version"))?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql).await.map_err(SinkError::from_pg("applying a schema migration"))?;
        tx.execute("INSERT INTO panacea_schema_version (version, name) VALUES ($1, $2)", &[version, name])
            .await
            .map_err(SinkError::from_pg("recording a schema migration"))?;
        tx.commit().await.map_err(SinkError::from_pg("committing a schema migration"))?;
        applied.push(*version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps_and_name_every_table() {
        for (index, (version, name, sql)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i32::try_from(index).unwrap() + 1, "migration {name}");
            assert!(!sql.trim().is_empty());
        }
        let all: String = MIGRATIONS.iter().map(|(_, _, sql)| *sql).collect();
        for table in [
            "panacea_cursor",
            "panacea_blocks",
            "panacea_transactions",
            "panacea_audit_events",
            "panacea_decisions",
            "panacea_consent_versions",
        ] {
            assert!(all.contains(&format!("CREATE TABLE {table} (")), "{table} is created");
        }
    }
}
