//! The ETL's side of the operational snapshot (`sbw_contract::ops`): each
//! run records the latest `_ops/snapshot.json` of the raw store in
//! `ops_snapshots`, the history the dashboard's Reliability module draws.

use chrono::{DateTime, Utc};
use sbw_contract::ops::{OpsSnapshot, OpsSource, OPS_SNAPSHOT_KEY};
use tokio_postgres::Client;

use sbw_rawstore::{RawStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OpsHistoryError {
    #[error(transparent)]
    Source(#[from] StoreError),
    #[error("{OPS_SNAPSHOT_KEY} is not an operational snapshot: {0}")]
    Shape(String),
    #[error("recording the operational snapshot: {0}")]
    Database(#[from] tokio_postgres::Error),
}

/// Records the snapshot the raw store holds, unless it is already recorded;
/// returns its time, or `None` when there is none.
pub async fn record_latest(
    source: &RawStore,
    client: &Client,
    run_id: i64,
) -> Result<Option<DateTime<Utc>>, OpsHistoryError> {
    let Some(body) = source.get_if_exists(OPS_SNAPSHOT_KEY).await? else {
        return Ok(None);
    };
    let snapshot: OpsSnapshot =
        serde_json::from_slice(&body).map_err(|e| OpsHistoryError::Shape(e.to_string()))?;
    let taken_at: DateTime<Utc> = snapshot
        .taken_at
        .parse()
        .map_err(|e| OpsHistoryError::Shape(format!("taken_at {:?}: {e}", snapshot.taken_at)))?;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let source_name = match snapshot.source {
        OpsSource::Aws => "aws",
        OpsSource::Local => "local",
    };
    client
        .execute(
            "INSERT INTO ops_snapshots (taken_at, source, window_minutes, ingest_requests,
                 ingest_client_errors, ingest_server_errors, dead_letters,
                 dead_letter_oldest_seconds, run_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (taken_at) DO NOTHING",
            &[
                &taken_at,
                &source_name,
                &(snapshot.window_minutes as i32),
                &count(snapshot.ingest.requests),
                &count(snapshot.ingest.client_errors),
                &count(snapshot.ingest.server_errors),
                &count(snapshot.dead_letters.messages),
                &snapshot.dead_letters.oldest_age_seconds.map(count),
                &run_id,
            ],
        )
        .await?;
    Ok(Some(taken_at))
}
