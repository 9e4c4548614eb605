//! Versioned SQL migrations (`functions/etl/migrations/NNNN_name.sql`),
//! compiled in and applied in order, each in its own transaction, under an
//! advisory lock so concurrent callers apply each one exactly once.

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

/// `pg_advisory_lock` key held while migrating ("sbw-migr").
const MIGRATION_LOCK: i64 = 0x7362_772d_6d69_6772;

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. Never edit one that has shipped: add the next.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "warehouse",
        sql: include_str!("../migrations/0001_warehouse.sql"),
    },
    Migration {
        version: 2,
        name: "dashboard",
        sql: include_str!("../migrations/0002_dashboard.sql"),
    },
    Migration {
        version: 3,
        name: "claimed_user",
        sql: include_str!("../migrations/0003_claimed_user.sql"),
    },
    Migration {
        version: 4,
        name: "partial_runs",
        sql: include_str!("../migrations/0004_partial_runs.sql"),
    },
];

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("migration {version:04} ({name}) failed: {source}")]
    Failed {
        version: i32,
        name: &'static str,
        source: tokio_postgres::Error,
    },
    #[error(
        "migration {version:04} ({name}) was changed after it was applied to this database \
         (checksum {applied} there, {current} here); add a new migration instead"
    )]
    Changed {
        version: i32,
        name: &'static str,
        applied: String,
        current: String,
    },
    #[error(
        "the database knows migration {0:04}, which this ETL does not: is an older ETL running?"
    )]
    Unknown(i32),
    #[error("reading the migration table failed: {0}")]
    Bookkeeping(#[from] tokio_postgres::Error),
}

/// Applies the migrations the database lacks; returns their versions.
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, MigrationError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 checksum   text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = apply_missing(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let applied = result?;
    unlocked?;
    Ok(applied)
}

async fn apply_missing(client: &mut Client) -> Result<Vec<i32>, MigrationError> {
    let rows = client
        .query("SELECT version, checksum FROM schema_migrations", &[])
        .await?;
    let known: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    if let Some((version, _)) = known
        .iter()
        .find(|(v, _)| !MIGRATIONS.iter().any(|m| m.version == *v))
    {
        return Err(MigrationError::Unknown(*version));
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let checksum = hex::encode(Sha256::digest(migration.sql.as_bytes()));
        if let Some((_, previous)) = known.iter().find(|(v, _)| *v == migration.version) {
            if *previous != checksum {
                return Err(MigrationError::Changed {
                    version: migration.version,
                    name: migration.name,
                    applied: previous.clone(),
                    current: checksum,
                });
            }
            continue;
        }
        let failed = |source| MigrationError::Failed {
            version: migration.version,
            name: migration.name,
            source,
        };
        let transaction = client.transaction().await.map_err(failed)?;
        transaction
            .batch_execute(migration.sql)
            .await
            .map_err(failed)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&migration.version, &migration.name, &checksum],
            )
            .await
            .map_err(failed)?;
        transaction.commit().await.map_err(failed)?;
        applied.push(migration.version);
    }
    Ok(applied)
}
