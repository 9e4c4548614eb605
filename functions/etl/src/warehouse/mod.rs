//! The warehouse side of a run: the run record and lock, the watermark, the
//! object manifest, loading a batch of decoded objects in one transaction,
//! and the rebuild of sessions and rollups. Which copy of an event is kept
//! is decided in `copies`; the rows written in `fact_events` and
//! `products`; the manifest's rows in `manifest`.

mod copies;
mod fact_events;
mod manifest;
mod products;
mod run_lock;

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sbw_rawstore::decode::DecodedObject;
use sbw_rawstore::RawObject;
use tokio_postgres::Client;
use uuid::Uuid;

use copies::Copies;
use fact_events::{copy_events, copy_keys};
pub use manifest::new_objects;
use manifest::record_objects;
use products::upsert_products;
pub use run_lock::{try_lock_run, unlock_run, Busy};

const REBUILD_SQL: &str = include_str!("../../sql/rebuild.sql");

pub type DbResult<T> = Result<T, tokio_postgres::Error>;

/// Records the start of a run. Runs still marked running died without
/// recording their end (the lock proves no one else is running): they are
/// marked abandoned.
pub async fn start_run(client: &Client, trigger: &str) -> DbResult<(i64, DateTime<Utc>)> {
    client
        .execute(
            "UPDATE etl_runs SET status = 'abandoned',
                    error = coalesce(error, 'the run stopped before recording its end')
             WHERE status = 'running'",
            &[],
        )
        .await?;
    let row = client
        .query_one(
            "INSERT INTO etl_runs (trigger, status) VALUES ($1, 'running')
             RETURNING run_id, started_at",
            &[&trigger],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// How far the scheduled and manual runs have listed.
#[derive(Debug, Clone, Copy, Default)]
pub struct LatestListing {
    /// The watermark: the end of the latest hour window a run listed and
    /// loaded whole, whatever became of the run after it. The next listing
    /// starts there, less the reprocess window.
    pub listed_to: Option<DateTime<Utc>>,
    /// When the latest run that listed through its current hour started:
    /// every event received before then is loaded.
    pub started_at: Option<DateTime<Utc>>,
}

/// Records that the run listed and loaded every hour of `[from, to)`: its
/// watermark, committed as soon as the window's objects are.
pub async fn record_listing(
    client: &Client,
    run_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DbResult<()> {
    client
        .execute(
            "UPDATE etl_runs SET listed_from = $2, listed_to = $3 WHERE run_id = $1",
            &[&run_id, &from, &to],
        )
        .await
        .map(|_| ())
}

pub async fn latest_listing(client: &Client) -> DbResult<LatestListing> {
    let row = client
        .query_one(
            "SELECT max(listed_to), max(started_at) FILTER (WHERE status = 'succeeded')
             FROM etl_runs WHERE trigger <> 'backfill'",
            &[],
        )
        .await?;
    Ok(LatestListing {
        listed_to: row.get(0),
        started_at: row.get(1),
    })
}

pub async fn newest_received_at(client: &Client) -> DbResult<Option<DateTime<Utc>>> {
    client
        .query_one("SELECT max(newest_received_at) FROM etl_runs", &[])
        .await
        .map(|row| row.get(0))
}

/// What loading a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchStats {
    pub objects_loaded: u64,
    pub objects_quarantined: u64,
    pub events_loaded: u64,
    pub duplicates: u64,
    pub rejected_lines: u64,
    pub newest_received_at: Option<DateTime<Utc>>,
}

impl std::ops::AddAssign for BatchStats {
    fn add_assign(&mut self, other: BatchStats) {
        self.objects_loaded += other.objects_loaded;
        self.objects_quarantined += other.objects_quarantined;
        self.events_loaded += other.events_loaded;
        self.duplicates += other.duplicates;
        self.rejected_lines += other.rejected_lines;
        self.newest_received_at = self.newest_received_at.max(other.newest_received_at);
    }
}

/// A decoded object, ready to load.
pub struct LoadedObject {
    pub object: RawObject,
    pub decoded: DecodedObject,
}

/// Partitions `fact_events` has, as (year, month); created on demand before
/// a batch's transaction, because creating one locks the parent table.
#[derive(Default)]
pub struct Partitions(HashSet<(i32, u32)>);

impl Partitions {
    pub async fn ensure(&mut self, client: &Client, months: &BTreeSet<(i32, u32)>) -> DbResult<()> {
        for &(year, month) in months {
            if self.0.contains(&(year, month)) {
                continue;
            }
            let from = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
            let to = from
                .checked_add_months(chrono::Months::new(1))
                .expect("dates near now");
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS fact_events_{year:04}_{month:02}
                     PARTITION OF fact_events
                     FOR VALUES FROM ('{from} 00:00:00+00') TO ('{to} 00:00:00+00')"
                ))
                .await?;
            self.0.insert((year, month));
        }
        Ok(())
    }

    /// Creates the partitions of `now`'s month and the next, before any
    /// event needs them. Creating a partition locks `fact_events` exclusively:
    /// it waits behind every dashboard query in progress and every later one
    /// waits behind it. A month ahead, a run whose creation gave up at the
    /// lock timeout leaves weeks of runs to try again, and the month's first
    /// events find their partition there.
    pub async fn ensure_ahead(&mut self, client: &Client, now: DateTime<Utc>) -> DbResult<()> {
        let (year, month) = month_of(now);
        let next = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        self.ensure(client, &BTreeSet::from([(year, month), next]))
            .await
    }
}

/// Partitions are by UTC month, whatever the shop's time zone.
fn month_of(t: DateTime<Utc>) -> (i32, u32) {
    (t.year(), t.month())
}

/// Loads the events and the manifest rows of `objects` in one transaction.
pub async fn load_batch(
    client: &mut Client,
    partitions: &mut Partitions,
    run_id: i64,
    objects: &[LoadedObject],
) -> DbResult<BatchStats> {
    let mut copies = Copies::within(objects);
    let months: BTreeSet<(i32, u32)> = copies.events().map(|event| month_of(event.ts)).collect();
    partitions.ensure(client, &months).await?;

    let transaction = client.transaction().await?;

    // Across runs: the warehouse may hold another copy already. Most ids are
    // new, so only those `event_keys` knows are looked up in `fact_events`.
    let ids = copies.event_ids();
    let known: Vec<Uuid> = transaction
        .query(
            "SELECT event_id FROM event_keys WHERE event_id = ANY($1)",
            &[&ids],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let held = if known.is_empty() {
        Vec::new()
    } else {
        transaction
            .query(
                "SELECT k.event_id, k.ts, f.received_at, f.request_id, f.session_id
                 FROM event_keys k JOIN fact_events f ON f.event_id = k.event_id AND f.ts = k.ts
                 WHERE k.event_id = ANY($1)",
                &[&known],
            )
            .await?
    };
    let mut replaced_ids = Vec::new();
    let mut replaced_ts = Vec::new();
    let mut dirty_sessions: HashSet<Uuid> = HashSet::new();
    // Event times whose local days need their rollups rebuilt; PostgreSQL
    // turns them into days in the session's (the shop's) time zone.
    let mut dirty_times: Vec<DateTime<Utc>> = Vec::new();
    for row in held {
        let id: Uuid = row.get(0);
        if copies.replaces_held(id, row.get(2), row.get::<_, &str>(3)) {
            let old_ts: DateTime<Utc> = row.get(1);
            replaced_ids.push(id);
            replaced_ts.push(old_ts);
            dirty_sessions.insert(row.get(4));
            dirty_times.push(old_ts);
        }
    }
    if !replaced_ids.is_empty() {
        transaction
            .execute(
                "DELETE FROM fact_events f USING unnest($1::uuid[], $2::timestamptz[]) AS r(event_id, ts)
                 WHERE f.event_id = r.event_id AND f.ts = r.ts",
                &[&replaced_ids, &replaced_ts],
            )
            .await?;
        transaction
            .execute(
                "DELETE FROM event_keys WHERE event_id = ANY($1)",
                &[&replaced_ids],
            )
            .await?;
    }

    let events = copies.to_load();
    copy_events(&transaction, &events).await?;
    copy_keys(&transaction, &events).await?;

    for event in &events {
        dirty_sessions.insert(event.session_id);
        dirty_times.push(event.ts);
    }
    let dirty_sessions: Vec<Uuid> = dirty_sessions.into_iter().collect();
    transaction
        .execute(
            "INSERT INTO etl_dirty_sessions SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING",
            &[&dirty_sessions],
        )
        .await?;
    transaction
        .execute(
            "INSERT INTO etl_dirty_days SELECT DISTINCT t::date FROM unnest($1::timestamptz[]) AS t
             ON CONFLICT DO NOTHING",
            &[&dirty_times],
        )
        .await?;
    upsert_products(&transaction, &events).await?;

    let mut stats = record_objects(
        &transaction,
        run_id,
        objects,
        &copies.loaded_per_object(),
        copies.duplicates_per_object(),
    )
    .await?;
    stats.newest_received_at = events.iter().map(|e| e.received_at).max();
    transaction.commit().await?;
    Ok(stats)
}

/// Rebuilds the sessions and rollups that committed batches touched;
/// returns how many SDK sessions were rebuilt.
pub async fn rebuild(client: &mut Client) -> DbResult<u64> {
    let transaction = client.transaction().await?;
    let dirty: i64 = transaction
        .query_one("SELECT count(*) FROM etl_dirty_sessions", &[])
        .await?
        .get(0);
    transaction.batch_execute(REBUILD_SQL).await?;
    transaction.commit().await?;
    Ok(dirty as u64)
}

/// What a run records about itself at the end.
#[derive(Debug, Clone)]
pub struct RunRecord<'a> {
    pub run_id: i64,
    pub status: &'a str,
    pub objects_listed: i64,
    pub stats: &'a BatchStats,
    pub sessions_rebuilt: u64,
    pub error: Option<&'a str>,
}

pub async fn finish_run(client: &Client, record: &RunRecord<'_>) -> DbResult<DateTime<Utc>> {
    let stats = record.stats;
    client
        .query_one(
            "UPDATE etl_runs SET status = $2, finished_at = clock_timestamp(),
                 objects_listed = $3, objects_loaded = $4,
                 objects_quarantined = $5, events_loaded = $6, duplicates = $7,
                 rejected_lines = $8, sessions_rebuilt = $9, error = $10,
                 newest_received_at = $11
             WHERE run_id = $1 RETURNING finished_at",
            &[
                &record.run_id,
                &record.status,
                &(record.objects_listed as i32),
                &(stats.objects_loaded as i32),
                &(stats.objects_quarantined as i32),
                &(stats.events_loaded as i64),
                &(stats.duplicates as i64),
                &(stats.rejected_lines as i64),
                &(record.sessions_rebuilt as i64),
                &record.error,
                &stats.newest_received_at,
            ],
        )
        .await
        .map(|row| row.get(0))
}
