//! One ETL run, from the listing to the summary.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use sbw_contract::etl_run::{rfc3339, RunRequest, RunStatus, RunSummary, LAST_RUN_KEY};
use sbw_rawstore::decode::DecodeLimits;
use sbw_rawstore::{RawObject, RawStore, StoreError};
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::db::SessionLimits;
use crate::listing::{first_hours_prefix, hour_of_key};
pub use crate::listing::{plan_listing, Listing};
use crate::migrate::{migrate, MigrationError};
use crate::ops_history;
use crate::settings::{self, Applied, SettingsError, ShopSettings};
use crate::warehouse::{self, BatchStats, Partitions, RunRecord};

mod read;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Receive hours re-listed before the watermark, for objects written late.
    pub reprocess_window_hours: u32,
    /// A batch (one transaction) closes after the object that brings it to this many events.
    pub batch_events: usize,
    /// Objects fetched at once (S3 GETs in flight).
    pub read_ahead: usize,
    /// The shop's time zone and freshness objective.
    pub shop: ShopSettings,
    /// Statement, lock and idle timeouts of the run's session.
    pub limits: SessionLimits,
    /// What decoding one object may cost.
    pub decode: DecodeLimits,
    /// An incremental run stops listing after the window that ends past
    /// this much time from its start (the Lambda's: half of what it has
    /// left); the next run goes on from there. `None`: through the current hour.
    pub time_budget: Option<std::time::Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            reprocess_window_hours: 2,
            batch_events: 20_000,
            read_ahead: 16,
            shop: ShopSettings::default(),
            limits: SessionLimits::default(),
            decode: DecodeLimits::default(),
            time_budget: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// Not a `source`: the message carries PostgreSQL's reason already.
    #[error("database: {}", crate::db::describe(.0))]
    Database(tokio_postgres::Error),
    #[error(transparent)]
    Source(#[from] StoreError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("another ETL run holds the lock{}; try again when it is done",
            .holder_pid.map_or_else(String::new, |pid| format!(" (database backend pid {pid})")))]
    Busy { holder_pid: Option<i32> },
    #[error(
        "the raw store's first event key {0:?} is not events/year=YYYY/month=MM/day=DD/hour=HH/…"
    )]
    UnexpectedKey(String),
    #[error("run {run_id} failed: {message}")]
    RunFailed {
        run_id: i64,
        message: String,
        summary: Box<RunSummary>,
    },
}

impl From<tokio_postgres::Error> for EtlError {
    fn from(error: tokio_postgres::Error) -> Self {
        EtlError::Database(error)
    }
}

/// Runs the ETL once: migrations, the run lock, the listing, the batches,
/// the rebuild, the run record and the summary object.
pub async fn run(
    source: &RawStore,
    client: &mut Client,
    request: &RunRequest,
    options: &RunOptions,
) -> Result<RunSummary, EtlError> {
    options.limits.apply(client).await?;
    migrate(client).await?;
    settings::use_timezone(client, &options.shop.timezone).await?;
    let trigger = request.trigger().as_str();
    if let Err(busy) = warehouse::try_lock_run(client, options.limits.statement).await? {
        let now = rfc3339(Utc::now());
        let holder = busy
            .holder_pid
            .map_or_else(String::new, |pid| format!(" (database backend pid {pid})"));
        return Ok(RunSummary {
            run_id: None,
            trigger: trigger.to_owned(),
            status: RunStatus::Skipped,
            started_at: now.clone(),
            finished_at: now,
            objects_loaded: 0,
            objects_quarantined: 0,
            events_loaded: 0,
            duplicates: 0,
            rejected_lines: 0,
            sessions_rebuilt: 0,
            loaded_through: None,
            freshness_minutes: None,
            newest_event_received_at: None,
            error: Some(format!(
                "another ETL run holds the lock{holder}; this one exits without loading"
            )),
        });
    }
    let (run_id, started_at) = warehouse::start_run(client, trigger).await?;
    let mut partitions = Partitions::default();
    if let Err(error) = partitions.ensure_ahead(client, started_at).await {
        tracing::warn!(%error, "next month's partition was not created; the next run tries again");
    }
    log_applied(
        settings::apply(client, &options.shop, false).await?,
        &options.shop,
    );
    let watermark = warehouse::latest_listing(client).await?.listed_to;
    let listing = plan_listing(
        request,
        watermark,
        started_at,
        options.reprocess_window_hours,
    );
    tracing::info!(run_id, trigger, from = ?listing.from, to = %listing.to, "run started");

    let mut progress = Progress {
        run_id,
        partitions,
        stats: BatchStats::default(),
        objects_listed: 0,
    };
    let mut sessions_rebuilt = 0;
    // A backfill lists its whole range: its caller sized it to the function.
    let deadline = match request {
        RunRequest::Incremental(_) => options.time_budget.map(|budget| Instant::now() + budget),
        RunRequest::Backfill { .. } => None,
    };
    let outcome = async {
        let complete = load_windows(
            source,
            client,
            &listing,
            watermark,
            deadline,
            options,
            &mut progress,
        )
        .await?;
        // The ingest side's figures are for the dashboard: a missing or bad
        // snapshot is worth a warning, not a failed load.
        if let Err(error) = ops_history::record_latest(source, client, run_id).await {
            tracing::warn!(%error, "the operational snapshot was not recorded");
        }
        sessions_rebuilt = warehouse::rebuild(client).await?;
        Ok::<bool, EtlError>(complete)
    }
    .await;

    let error = outcome.as_ref().err().map(|e| e.to_string());
    let status = match outcome {
        Err(_) => RunStatus::Failed,
        Ok(false) => RunStatus::Partial,
        Ok(true) => RunStatus::Succeeded,
    };
    let stats = progress.stats;
    let finished_at = warehouse::finish_run(
        client,
        &RunRecord {
            run_id,
            status: status.as_str(),
            objects_listed: progress.objects_listed,
            stats: &stats,
            sessions_rebuilt,
            error: error.as_deref(),
        },
    )
    .await?;
    let loaded_through = warehouse::latest_listing(client).await?.started_at;
    let newest = warehouse::newest_received_at(client).await?;
    warehouse::unlock_run(client).await?;

    let summary = RunSummary {
        run_id: Some(run_id),
        trigger: trigger.to_owned(),
        status,
        started_at: rfc3339(started_at),
        finished_at: rfc3339(finished_at),
        objects_loaded: stats.objects_loaded,
        objects_quarantined: stats.objects_quarantined,
        events_loaded: stats.events_loaded,
        duplicates: stats.duplicates,
        rejected_lines: stats.rejected_lines,
        sessions_rebuilt,
        loaded_through: loaded_through.map(rfc3339),
        freshness_minutes: loaded_through.map(|t| {
            ((finished_at - t).num_milliseconds() as f64 / 60_000.0 * 100.0).round() / 100.0
        }),
        newest_event_received_at: newest.map(rfc3339),
        error: error.clone(),
    };
    let body = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    if let Err(e) = source.put_json(LAST_RUN_KEY, body).await {
        tracing::warn!(error = %e, "writing the run summary failed");
    }
    match error {
        None => Ok(summary),
        Some(message) => Err(EtlError::RunFailed {
            run_id,
            message,
            summary: Box::new(summary),
        }),
    }
}

fn log_applied(applied: Applied, shop: &ShopSettings) {
    if let Some(days_queued) = applied.days_queued {
        tracing::warn!(
            previous = applied.previous_timezone.as_deref().unwrap_or("none"),
            timezone = %shop.timezone,
            days_queued,
            "rebuilding every rollup in the shop's time zone"
        );
    }
}

/// What `rebuild_rollups` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRebuild {
    pub timezone: String,
    pub previous_timezone: Option<String>,
    pub days: u64,
}

/// Empties every rollup and builds it again from the facts, in the shop's
/// (possibly new) time zone: what a run does by itself when the time zone
/// changes, on demand (`sbwctl etl rebuild-rollups`).
pub async fn rebuild_rollups(
    client: &mut Client,
    shop: &ShopSettings,
) -> Result<RollupRebuild, EtlError> {
    migrate(client).await?;
    settings::use_timezone(client, &shop.timezone).await?;
    if let Err(busy) = warehouse::try_lock_run(client, SessionLimits::default().statement).await? {
        return Err(EtlError::Busy {
            holder_pid: busy.holder_pid,
        });
    }
    let result = async {
        let applied = settings::apply(client, shop, true).await?;
        warehouse::rebuild(client).await?;
        Ok::<_, EtlError>(applied)
    }
    .await;
    warehouse::unlock_run(client).await?;
    let applied = result?;
    Ok(RollupRebuild {
        timezone: shop.timezone.clone(),
        previous_timezone: applied.previous_timezone,
        days: applied.days_queued.unwrap_or_default(),
    })
}

/// What a run carries from window to window.
struct Progress {
    run_id: i64,
    partitions: Partitions,
    stats: BatchStats,
    objects_listed: i64,
}

/// Lists and loads the listing's hour windows in order, recording the
/// watermark after each window that loaded objects and at the end. Past
/// `deadline` the run stops after the first window that ends beyond
/// `watermark`, so every run gets further than the last. Returns whether
/// every window was listed.
async fn load_windows(
    source: &RawStore,
    client: &mut Client,
    listing: &Listing,
    watermark: Option<DateTime<Utc>>,
    deadline: Option<Instant>,
    options: &RunOptions,
    progress: &mut Progress,
) -> Result<bool, EtlError> {
    let first = match listing.from {
        Some(from) => from,
        None => match source.first_key(&first_hours_prefix()).await? {
            None => listing.to,
            Some(key) => hour_of_key(&key).ok_or(EtlError::UnexpectedKey(key))?,
        },
    };
    for (hour, prefix) in listing.windows(first) {
        let end = hour + Duration::hours(1);
        let listed = source.list(&prefix).await?;
        progress.objects_listed += listed.len() as i64;
        let mut pending = warehouse::new_objects(client, listed).await?;
        if !pending.is_empty() {
            pending.sort_by(|a, b| (a.last_modified, &a.key).cmp(&(b.last_modified, &b.key)));
            load_objects(source, client, progress, pending, options).await?;
            warehouse::record_listing(client, progress.run_id, first, end).await?;
        }
        let further = watermark.is_none_or(|previous| end > previous);
        if end < listing.to && further && deadline.is_some_and(|d| Instant::now() >= d) {
            warehouse::record_listing(client, progress.run_id, first, end).await?;
            tracing::info!(listed_to = %end, "the time budget is spent; the next run goes on from here");
            return Ok(false);
        }
    }
    warehouse::record_listing(client, progress.run_id, first, listing.to).await?;
    Ok(true)
}

/// Loads the objects in batches of whole objects. Another task fetches
/// (`read_ahead` at a time) and decodes the next batch while this one loads.
async fn load_objects(
    source: &RawStore,
    client: &mut Client,
    progress: &mut Progress,
    objects: Vec<RawObject>,
    options: &RunOptions,
) -> Result<(), EtlError> {
    let (sender, mut receiver) = mpsc::channel(1);
    let reader = tokio::spawn(read::read_batches(
        source.clone(),
        objects,
        options.clone(),
        sender,
    ));
    while let Some(batch) = receiver.recv().await {
        let batch = batch?;
        let loaded =
            warehouse::load_batch(client, &mut progress.partitions, progress.run_id, &batch)
                .await?;
        tracing::info!(
            run_id = progress.run_id,
            objects = batch.len(),
            events = loaded.events_loaded,
            duplicates = loaded.duplicates,
            "batch committed"
        );
        progress.stats += loaded;
    }
    reader.await.expect("the reader does not panic");
    Ok(())
}
