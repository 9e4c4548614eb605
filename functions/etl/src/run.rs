//! One ETL run, from the listing to the summary.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use futures_util::StreamExt;
use sbw_contract::rawkey::{hour_prefix, ObjectKind};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::decode::decode_object;
use crate::migrate::{migrate, MigrationError};
use crate::ops_history;
use crate::settings::{self, Applied, SettingsError, ShopSettings};
use crate::source::{RawObject, RawSource, SourceError};
use crate::summary::{RunStatus, RunSummary, LAST_RUN_KEY};
use crate::warehouse::{self, BatchStats, LoadedObject, Partitions, RunRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
    Backfill,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Backfill => "backfill",
        }
    }
}

/// What to load: everything new since the watermark, or a backfill of the
/// receive hours from `from` to `to` (both included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRequest {
    Incremental(Trigger),
    Backfill {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

impl RunRequest {
    pub fn trigger(&self) -> Trigger {
        match self {
            RunRequest::Incremental(trigger) => *trigger,
            RunRequest::Backfill { .. } => Trigger::Backfill,
        }
    }
}

/// The Lambda's input: the schedule's `{"trigger": "schedule"}`, an
/// EventBridge scheduled event as is, `{"trigger": "manual"}`, or a
/// backfill `{"from": "...", "to": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Invocation {
    Backfill {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    Named {
        trigger: String,
    },
    Scheduled {
        #[serde(rename = "detail-type")]
        detail_type: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(
        "the input is not an ETL request: expected {{\"trigger\": \"schedule\"|\"manual\"}}, \
         an EventBridge scheduled event, or {{\"from\": RFC 3339, \"to\": RFC 3339}} ({0})"
    )]
    Shape(String),
    #[error("unknown trigger {0:?}: use \"schedule\" or \"manual\"")]
    Trigger(String),
    #[error("a backfill needs from <= to (got {from} > {to})")]
    Range { from: String, to: String },
}

impl RunRequest {
    pub fn from_json(input: &serde_json::Value) -> Result<RunRequest, RequestError> {
        let invocation: Invocation = serde_json::from_value(input.clone())
            .map_err(|e| RequestError::Shape(e.to_string()))?;
        match invocation {
            Invocation::Backfill { from, to } => RunRequest::backfill(from, to),
            Invocation::Named { trigger } => match trigger.as_str() {
                "schedule" => Ok(RunRequest::Incremental(Trigger::Schedule)),
                "manual" => Ok(RunRequest::Incremental(Trigger::Manual)),
                _ => Err(RequestError::Trigger(trigger)),
            },
            Invocation::Scheduled { detail_type } if detail_type == "Scheduled Event" => {
                Ok(RunRequest::Incremental(Trigger::Schedule))
            }
            Invocation::Scheduled { detail_type } => Err(RequestError::Shape(format!(
                "detail-type {detail_type:?} is not \"Scheduled Event\""
            ))),
        }
    }

    /// The Lambda input that [`RunRequest::from_json`] reads back as this
    /// request (what `sbwctl etl invoke` and `etl backfill --remote` send).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            RunRequest::Incremental(trigger) => serde_json::json!({"trigger": trigger.as_str()}),
            RunRequest::Backfill { from, to } => {
                serde_json::json!({"from": rfc3339(*from), "to": rfc3339(*to)})
            }
        }
    }

    pub fn backfill(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<RunRequest, RequestError> {
        if from > to {
            return Err(RequestError::Range {
                from: rfc3339(from),
                to: rfc3339(to),
            });
        }
        Ok(RunRequest::Backfill { from, to })
    }
}

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
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            reprocess_window_hours: 2,
            batch_events: 20_000,
            read_ahead: 16,
            shop: ShopSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    #[error(transparent)]
    Migration(#[from] MigrationError),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("another ETL run holds the lock{}; try again when it is done",
            .holder_pid.map_or_else(String::new, |pid| format!(" (database backend pid {pid})")))]
    Busy { holder_pid: Option<i32> },
    #[error("run {run_id} failed: {message}")]
    RunFailed {
        run_id: i64,
        message: String,
        summary: Box<RunSummary>,
    },
}

/// The hour partitions a run lists, and the receive-time range they cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub prefixes: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: DateTime<Utc>,
}

/// Plans the listing. The first run lists every event; later runs list
/// from the hour the previous listing ended in (it may have been written
/// to since), less the reprocess window, through the current hour.
pub fn plan_listing(
    request: &RunRequest,
    watermark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    reprocess_window_hours: u32,
) -> Listing {
    let next_hour = hour_floor(now) + Duration::hours(1);
    let (from, to) = match (request, watermark) {
        (RunRequest::Backfill { from, to }, _) => {
            (hour_floor(*from), hour_floor(*to) + Duration::hours(1))
        }
        (RunRequest::Incremental(_), None) => {
            return Listing {
                prefixes: vec![format!("{}/", ObjectKind::Events.prefix())],
                from: None,
                to: next_hour,
            }
        }
        (RunRequest::Incremental(_), Some(previous_end)) => (
            hour_floor(previous_end)
                - Duration::hours(1)
                - Duration::hours(i64::from(reprocess_window_hours)),
            next_hour,
        ),
    };
    let mut prefixes = Vec::new();
    let mut hour = from;
    while hour < to {
        prefixes.push(hour_prefix(ObjectKind::Events, hour));
        hour += Duration::hours(1);
    }
    Listing {
        prefixes,
        from: Some(from),
        to,
    }
}

/// The first instant of the hour that holds `t`.
pub fn hour_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = t.timestamp() - t.timestamp().rem_euclid(3600);
    Utc.timestamp_opt(seconds, 0).single().unwrap_or(t)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Runs the ETL once: migrations, the run lock, the listing, the batches,
/// the rebuild, the run record and the summary object.
pub async fn run(
    source: &RawSource,
    client: &mut Client,
    request: &RunRequest,
    options: &RunOptions,
) -> Result<RunSummary, EtlError> {
    migrate(client).await?;
    settings::use_timezone(client, &options.shop.timezone).await?;
    let trigger = request.trigger().as_str();
    if let Err(busy) = warehouse::try_lock_run(client).await? {
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
    tracing::info!(run_id, trigger, prefixes = listing.prefixes.len(), from = ?listing.from, "run started");

    let mut stats = BatchStats::default();
    let mut objects_listed = 0i64;
    let mut sessions_rebuilt = 0;
    let outcome = async {
        let mut listed = Vec::new();
        for prefix in &listing.prefixes {
            listed.extend(source.list(prefix).await?);
        }
        objects_listed = listed.len() as i64;
        let mut pending = warehouse::new_objects(client, listed).await?;
        pending.sort_by(|a, b| (a.last_modified, &a.key).cmp(&(b.last_modified, &b.key)));
        load_objects(source, client, run_id, pending, options, &mut stats).await?;
        // The ingest side's figures are for the dashboard: a missing or bad
        // snapshot is worth a warning, not a failed load.
        if let Err(error) = ops_history::record_latest(source, client, run_id).await {
            tracing::warn!(%error, "the operational snapshot was not recorded");
        }
        sessions_rebuilt = warehouse::rebuild(client).await?;
        Ok::<(), EtlError>(())
    }
    .await;

    let error = outcome.as_ref().err().map(|e| e.to_string());
    let status = if error.is_some() {
        RunStatus::Failed
    } else {
        RunStatus::Succeeded
    };
    let finished_at = warehouse::finish_run(
        client,
        &RunRecord {
            run_id,
            status: if error.is_some() {
                "failed"
            } else {
                "succeeded"
            },
            listed_from: listing.from,
            listed_to: Some(listing.to),
            objects_listed,
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
    if let Err(e) = source.put(LAST_RUN_KEY, body).await {
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
    if let Err(busy) = warehouse::try_lock_run(client).await? {
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

/// Objects decoded together in one blocking task, at most this many or
/// this many compressed bytes.
const DECODE_OBJECTS: usize = 64;
const DECODE_BYTES: usize = 8 << 20;

/// Loads the objects in batches of whole objects. Another task fetches
/// (`read_ahead` at a time) and decodes the next batch while this one loads.
async fn load_objects(
    source: &RawSource,
    client: &mut Client,
    run_id: i64,
    objects: Vec<RawObject>,
    options: &RunOptions,
    stats: &mut BatchStats,
) -> Result<(), EtlError> {
    let (sender, mut receiver) = mpsc::channel(1);
    let reader = tokio::spawn(read_batches(
        source.clone(),
        objects,
        options.clone(),
        sender,
    ));
    let mut partitions = Partitions::default();
    while let Some(batch) = receiver.recv().await {
        let batch = batch?;
        let loaded = warehouse::load_batch(client, &mut partitions, run_id, &batch).await?;
        tracing::info!(
            run_id,
            objects = batch.len(),
            events = loaded.events_loaded,
            duplicates = loaded.duplicates,
            "batch committed"
        );
        *stats += loaded;
    }
    reader.await.expect("the reader does not panic");
    Ok(())
}

type Batch = Result<Vec<LoadedObject>, SourceError>;

async fn read_batches(
    source: RawSource,
    objects: Vec<RawObject>,
    options: RunOptions,
    sender: mpsc::Sender<Batch>,
) {
    let mut fetched = futures_util::stream::iter(objects)
        .map(|object| {
            let source = source.clone();
            async move {
                let bytes = source.get(&object.key).await?;
                Ok::<_, SourceError>((object, bytes))
            }
        })
        .buffered(options.read_ahead.max(1));
    let mut undecoded = Vec::new();
    let mut undecoded_bytes = 0;
    let mut batch: Vec<LoadedObject> = Vec::new();
    let mut batch_events = 0;
    loop {
        let next = fetched.next().await;
        let done = next.is_none();
        match next {
            Some(Err(error)) => {
                let _ = sender.send(Err(error)).await;
                return;
            }
            Some(Ok((object, bytes))) => {
                undecoded_bytes += bytes.len();
                undecoded.push((object, bytes));
            }
            None => {}
        }
        if undecoded.len() >= DECODE_OBJECTS || undecoded_bytes >= DECODE_BYTES || done {
            let chunk = std::mem::take(&mut undecoded);
            undecoded_bytes = 0;
            let decoded = tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|(object, bytes)| LoadedObject {
                        object,
                        decoded: decode_object(&bytes),
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .expect("decoding does not panic");
            for loaded in decoded {
                batch_events += loaded.decoded.events.len();
                batch.push(loaded);
            }
        }
        if !batch.is_empty() && (batch_events >= options.batch_events || done) {
            batch_events = 0;
            if sender.send(Ok(std::mem::take(&mut batch))).await.is_err() {
                return;
            }
        }
        if done {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn lambda_inputs() {
        let parse = |v: serde_json::Value| RunRequest::from_json(&v);
        assert_eq!(
            parse(json!({"trigger": "schedule"})).unwrap(),
            RunRequest::Incremental(Trigger::Schedule)
        );
        assert_eq!(
            parse(json!({"trigger": "manual"})).unwrap(),
            RunRequest::Incremental(Trigger::Manual)
        );
        let scheduled = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event",
                               "source": "aws.events", "time": "2026-11-20T08:00:00Z", "detail": {}});
        assert_eq!(
            parse(scheduled).unwrap(),
            RunRequest::Incremental(Trigger::Schedule)
        );
        assert_eq!(
            parse(json!({"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T05:00:00Z"})).unwrap(),
            RunRequest::Backfill {
                from: t("2026-11-01T00:00:00Z"),
                to: t("2026-11-02T05:00:00Z")
            }
        );
    }

    #[test]
    fn requests_survive_the_trip_through_the_lambda_input() {
        let requests = [
            RunRequest::Incremental(Trigger::Manual),
            RunRequest::Incremental(Trigger::Schedule),
            RunRequest::backfill(t("2026-11-01T00:00:00Z"), t("2026-11-02T05:00:00Z")).unwrap(),
        ];
        for request in requests {
            assert_eq!(RunRequest::from_json(&request.to_json()).unwrap(), request);
        }
    }

    #[test]
    fn bad_lambda_inputs_say_what_is_expected() {
        let error = |v: serde_json::Value| RunRequest::from_json(&v).unwrap_err().to_string();
        assert!(error(json!({"trigger": "nightly"})).contains("unknown trigger \"nightly\""));
        assert!(
            error(json!({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}))
                .contains("from <= to")
        );
        assert!(
            error(json!({"from": "yesterday", "to": "2026-11-01T00:00:00Z"}))
                .contains("not an ETL request")
        );
        assert!(error(json!([1, 2])).contains("not an ETL request"));
        assert!(error(json!({"detail-type": "Object Created"})).contains("Scheduled Event"));
    }

    #[test]
    fn the_first_run_lists_everything() {
        let listing = plan_listing(
            &RunRequest::Incremental(Trigger::Schedule),
            None,
            t("2026-11-20T08:30:00Z"),
            2,
        );
        assert_eq!(listing.prefixes, ["events/"]);
        assert_eq!(listing.from, None);
        assert_eq!(listing.to, t("2026-11-20T09:00:00Z"));
    }

    #[test]
    fn later_runs_relist_the_last_hour_and_the_window() {
        // The previous run listed through 08:59:59 (its listing ended at 09:00).
        let listing = plan_listing(
            &RunRequest::Incremental(Trigger::Schedule),
            Some(t("2026-11-20T09:00:00Z")),
            t("2026-11-20T10:05:00Z"),
            2,
        );
        assert_eq!(
            listing.prefixes,
            [
                "events/year=2026/month=11/day=20/hour=06/",
                "events/year=2026/month=11/day=20/hour=07/",
                "events/year=2026/month=11/day=20/hour=08/",
                "events/year=2026/month=11/day=20/hour=09/",
                "events/year=2026/month=11/day=20/hour=10/",
            ]
        );
        assert_eq!(listing.from, Some(t("2026-11-20T06:00:00Z")));
        assert_eq!(listing.to, t("2026-11-20T11:00:00Z"));
        let no_window = plan_listing(
            &RunRequest::Incremental(Trigger::Schedule),
            Some(t("2026-11-20T09:00:00Z")),
            t("2026-11-20T09:10:00Z"),
            0,
        );
        assert_eq!(
            no_window.prefixes,
            [
                "events/year=2026/month=11/day=20/hour=08/",
                "events/year=2026/month=11/day=20/hour=09/"
            ]
        );
    }

    #[test]
    fn a_backfill_lists_its_hours_across_midnight() {
        let request =
            RunRequest::backfill(t("2026-11-30T23:20:00Z"), t("2026-12-01T00:10:00Z")).unwrap();
        let listing = plan_listing(
            &request,
            Some(t("2026-12-05T00:00:00Z")),
            t("2026-12-05T00:00:00Z"),
            2,
        );
        assert_eq!(
            listing.prefixes,
            [
                "events/year=2026/month=11/day=30/hour=23/",
                "events/year=2026/month=12/day=01/hour=00/"
            ]
        );
    }
}
