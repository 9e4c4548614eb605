//! Shared by the ETL suites: a test database, a raw directory, and runs.

#![allow(dead_code)] // each suite uses its own subset

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use sbw_contract::StoredEvent;
use sbw_etl::{RawSource, RunOptions, RunRequest, RunSummary, Trigger};
use sbw_testkit::postgres::TestDb;
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
        let source = RawSource::Directory(self.raw().to_owned());
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
