//! Shared by the ETL suites: a test database, a raw directory, and runs.

#![allow(dead_code)] // each suite uses its own subset

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sbw_contract::StoredEvent;
use sbw_etl::{RawStore, RunOptions, RunRequest, RunSummary, Trigger};
pub use sbw_testkit::postgres::texts;
use sbw_testkit::postgres::TestDb;
use sbw_testkit::shoppers::Shoppers;
use tokio_postgres::Client;

pub struct Warehouse {
    pub db: TestDb,
    pub client: Client,
    pub raw: tempfile::TempDir,
}

impl Warehouse {
    pub async fn new() -> Warehouse {
        let db = TestDb::create().await;
        let client = db.etl_client().await;
        Warehouse {
            db,
            client,
            raw: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn raw(&self) -> &Path {
        self.raw.path()
    }

    pub async fn run(&mut self) -> RunSummary {
        self.run_request(
            RunRequest::Incremental(Trigger::Manual),
            RunOptions::default(),
        )
        .await
    }

    pub async fn run_request(&mut self, request: RunRequest, options: RunOptions) -> RunSummary {
        let source = RawStore::Directory(self.raw().to_owned());
        sbw_etl::run(&source, &mut self.client, &request, &options)
            .await
            .expect("the run succeeds")
    }

    /// Loads every receive hour between `from` and `to` not loaded yet.
    pub async fn backfill(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> RunSummary {
        self.run_request(
            RunRequest::backfill(from, to).expect("a valid range"),
            RunOptions::default(),
        )
        .await
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .expect("counting")
            .get(0)
    }

    /// Writes `events` as one raw object under the receive hour of `hour`.
    pub fn write(&self, hour: DateTime<Utc>, events: &[StoredEvent]) -> String {
        sbw_testkit::ndjson::write_raw_object(
            self.raw(),
            hour,
            &sbw_testkit::ndjson::stored_object(events),
        )
    }
}

/// A minimal stored event of `session` at `ts`, received a second later.
pub fn event(session: u128, event_type: sbw_contract::EventType, ts: DateTime<Utc>) -> StoredEvent {
    let mut shoppers = sbw_testkit::shoppers::Shoppers::new(session as u64);
    let mut e = shoppers.session(ts).remove(0);
    e.event_id = uuid::Uuid::new_v4();
    e.session_id = uuid::Uuid::from_u128(session);
    e.event_type = event_type;
    e.ts = ts;
    e.client_ts = ts;
    e.received_at = ts + Duration::seconds(1);
    e.device.bot = false;
    e.ecom = None;
    e.referrer = None;
    e.page_url = "https://shop.example/".to_owned();
    e
}

/// Every row of `table`, each as JSON text with its HLL columns in their
/// text form (the hex of their bytes), sorted.
async fn rows(client: &Client, table: &str) -> Vec<String> {
    let columns = texts(
        client,
        "SELECT CASE WHEN udt_name = 'hll' THEN format('%I::text AS %I', column_name, column_name)
                     ELSE format('%I', column_name) END
           FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name = $1
          ORDER BY ordinal_position",
        &[&table],
    )
    .await;
    assert!(!columns.is_empty(), "{table} has columns");
    let select = format!(
        "SELECT to_jsonb(r)::text FROM (SELECT {} FROM {table}) r ORDER BY 1",
        columns.join(", ")
    );
    texts(client, &select, &[]).await
}

/// What the dashboards read and what the rollups are made from: every
/// rollup table, the product dimension, the sessions and the facts.
pub async fn snapshot(client: &Client) -> Vec<(String, Vec<String>)> {
    let rollups = texts(
        client,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'rollup\\_%' ORDER BY 1",
        &[],
    )
    .await;
    assert!(rollups.len() >= 5, "the rollup tables: {rollups:?}");
    let mut tables = rollups;
    tables.extend(
        [
            "dim_product",
            "fact_sessions",
            "fact_session_categories",
            "fact_events",
        ]
        .map(String::from),
    );
    let mut snapshot = Vec::new();
    for table in tables {
        let rows = rows(client, &table).await;
        snapshot.push((table, rows));
    }
    snapshot
}

pub fn rows_of<'a>(snapshot: &'a [(String, Vec<String>)], table: &str) -> &'a [String] {
    &snapshot.iter().find(|(t, _)| t == table).unwrap().1
}

/// Fails on the first table whose rows differ between the two snapshots
/// (every table of `expected` must have rows).
pub fn assert_same_warehouse(expected: &[(String, Vec<String>)], actual: &[(String, Vec<String>)]) {
    for ((table, want), (_, got)) in expected.iter().zip(actual) {
        assert!(!want.is_empty(), "{table} has rows");
        assert_eq!(got.len(), want.len(), "{table}: row count");
        if let Some((w, g)) = want.iter().zip(got).find(|(w, g)| w != g) {
            panic!("{table} differs:\n expected {w}\n got      {g}");
        }
    }
}

/// The first receive hour of [`traffic`].
pub fn traffic_hour() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

/// `visits` visits starting evenly over [`traffic_hour`] and the next,
/// the events received within those hours, in receive order.
pub fn traffic(visits: i64) -> Vec<StoredEvent> {
    let mut shoppers = Shoppers::new(23);
    let mut events = Vec::new();
    for visit in 0..visits {
        let start = traffic_hour() + Duration::seconds(visit * 7000 / visits);
        events.extend(shoppers.session(start));
    }
    events.retain(|e| e.received_at < traffic_hour() + Duration::hours(2));
    events.sort_by_key(|e| e.received_at);
    events
}

/// The hours of [`traffic`], as a backfill.
pub fn traffic_backfill() -> RunRequest {
    RunRequest::backfill(traffic_hour(), traffic_hour() + Duration::hours(1)).unwrap()
}

/// Small batches: a run is many COPYs, so a fault finds one in progress.
pub fn small_batches() -> RunOptions {
    RunOptions {
        batch_events: 100,
        ..RunOptions::default()
    }
}

/// The manifest without its run ids and times.
pub async fn manifest(client: &Client) -> Vec<String> {
    texts(
        client,
        "SELECT concat_ws(' ', object_key, etag, status, records, duplicates, rejected)
         FROM etl_objects ORDER BY 1",
        &[],
    )
    .await
}

/// Fails unless the warehouse of `client` is the one a single clean run of
/// [`traffic_backfill`] from `source` makes in the empty database `clean`:
/// the same facts, sessions, rollups and manifest.
pub async fn assert_loaded_as_one_clean_run(client: &Client, source: &RawStore, clean: &TestDb) {
    let mut clean_client = clean.etl_client().await;
    let summary = sbw_etl::run(
        source,
        &mut clean_client,
        &traffic_backfill(),
        &small_batches(),
    )
    .await
    .expect("the clean run succeeds");
    assert!(summary.events_loaded > 0, "{summary:?}");
    assert_same_warehouse(&snapshot(&clean_client).await, &snapshot(client).await);
    assert_eq!(manifest(client).await, manifest(&clean_client).await);
}
