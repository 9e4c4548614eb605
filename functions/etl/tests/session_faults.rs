//! The ETL's database session under faults, on the real PostgreSQL: a lock
//! another session holds, the run's backend terminated and the server
//! restarted in the middle of a COPY, and a month's first events arriving
//! while a dashboard query reads the facts.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use common::{assert_same_warehouse, event, snapshot, texts, Warehouse};
use sbw_contract::EventType;
use sbw_etl::db::SessionLimits;
use sbw_etl::{EtlError, RawSource, RunOptions, RunRequest, RunStatus, RunSummary, Trigger};
use sbw_testkit::ndjson::write_stored_events;
use sbw_testkit::pg_server::PgServer;
use sbw_testkit::postgres::{connect, TestDb};
use sbw_testkit::shoppers::Shoppers;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

fn hour() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

/// The hour of [`traffic`] and the next, as a backfill.
fn request() -> RunRequest {
    RunRequest::backfill(hour(), hour() + chrono::Duration::hours(1)).unwrap()
}

/// Small batches: a run is many COPYs, so a fault finds one in progress.
fn options() -> RunOptions {
    RunOptions {
        batch_events: 100,
        ..RunOptions::default()
    }
}

/// 400 visits received within the hour, five events an object.
fn write_traffic(raw: &Path) {
    let mut shoppers = Shoppers::new(23);
    let mut events = Vec::new();
    for visit in 0..400 {
        events.extend(shoppers.session(hour() + chrono::Duration::seconds(visit * 8)));
    }
    events.retain(|e| e.received_at < hour() + chrono::Duration::hours(2));
    events.sort_by_key(|e| e.received_at);
    write_stored_events(raw, &events, 5);
}

/// A run that gives up on a lock after a second.
fn waiting_a_second_for_locks() -> RunOptions {
    RunOptions {
        limits: SessionLimits {
            lock: Duration::from_secs(1),
            ..SessionLimits::default()
        },
        ..RunOptions::default()
    }
}

async fn backend_pid(client: &Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// Starts a run on `client` in a task and returns it, with the run's
/// backend pid, once `observer` sees that backend in a COPY.
async fn run_until_copy(
    observer: &Client,
    raw: &Path,
    mut client: Client,
) -> (JoinHandle<Result<RunSummary, EtlError>>, i32) {
    let pid = backend_pid(&client).await;
    let source = RawSource::Directory(raw.to_owned());
    let run =
        tokio::spawn(
            async move { sbw_etl::run(&source, &mut client, &request(), &options()).await },
        );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let copying: bool = observer
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_stat_activity
                                WHERE pid = $1 AND state = 'active' AND query LIKE 'COPY%')",
                &[&pid],
            )
            .await
            .unwrap()
            .get(0);
        if copying {
            return (run, pid);
        }
        assert!(
            !run.is_finished(),
            "the run ended before it was seen in a COPY"
        );
        assert!(Instant::now() < deadline, "no COPY within a minute");
    }
}

/// The manifest without its run ids and times.
async fn manifest(client: &Client) -> Vec<String> {
    texts(
        client,
        "SELECT concat_ws(' ', object_key, etag, status, records, duplicates, rejected)
         FROM etl_objects ORDER BY 1",
        &[],
    )
    .await
}

/// After a run died mid-COPY: the next run on `client` gets the lock,
/// completes the load, and leaves the warehouse as one clean run of `raw`
/// into `clean` leaves it.
async fn assert_next_run_completes_the_load(client: &mut Client, raw: &Path, clean: &TestDb) {
    let source = RawSource::Directory(raw.to_owned());
    let next = sbw_etl::run(&source, client, &request(), &options())
        .await
        .expect("the next run succeeds");
    assert_eq!(next.status, RunStatus::Succeeded, "{next:?}");
    let statuses = texts(client, "SELECT status FROM etl_runs ORDER BY run_id", &[]).await;
    assert_eq!(statuses, ["abandoned", "succeeded"]);

    let mut clean_client = clean.etl_client().await;
    sbw_etl::run(&source, &mut clean_client, &request(), &options())
        .await
        .expect("the clean run succeeds");
    assert_same_warehouse(&snapshot(&clean_client).await, &snapshot(client).await);
    assert_eq!(manifest(client).await, manifest(&clean_client).await);
}

#[tokio::test]
async fn a_backend_terminated_mid_copy_frees_the_lock_and_the_next_run_loads_as_a_clean_one() {
    let mut w = Warehouse::new().await;
    write_traffic(w.raw());
    let observer = w.db.etl_client().await;
    let (run, pid) = run_until_copy(&observer, w.raw(), w.db.etl_client().await).await;
    let terminated: bool = observer
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(terminated);
    let outcome = run.await.expect("the run does not panic");
    assert!(outcome.is_err(), "{outcome:?}");

    let clean = TestDb::create().await;
    let raw = w.raw().to_owned();
    assert_next_run_completes_the_load(&mut w.client, &raw, &clean).await;
}

#[tokio::test]
async fn a_server_restarted_mid_copy_frees_the_lock_and_the_next_run_loads_as_a_clean_one() {
    let server = PgServer::start().expect("a PostgreSQL server of this test's own");
    let db = TestDb::create_on(&server.admin_url()).await;
    let clean = TestDb::create_on(&server.admin_url()).await;
    let raw = tempfile::tempdir().unwrap();
    write_traffic(raw.path());
    let observer = connect(&server.admin_url()).await.unwrap();
    let (run, _) = run_until_copy(&observer, raw.path(), db.etl_client().await).await;
    server.restart().expect("the restart");
    let outcome = run.await.expect("the run does not panic");
    assert!(outcome.is_err(), "{outcome:?}");

    let mut client = db.etl_client().await;
    assert_next_run_completes_the_load(&mut client, raw.path(), &clean).await;
}

#[tokio::test]
async fn a_lock_held_by_another_session_fails_the_run_at_the_lock_timeout_with_the_reason() {
    let mut w = Warehouse::new().await;
    w.write(hour(), &[event(1, EventType::PageView, hour())]);
    sbw_etl::migrate::migrate(&mut w.client).await.unwrap();
    let mut other = w.db.etl_client().await;
    let maintenance = other.transaction().await.unwrap();
    maintenance
        .batch_execute("LOCK TABLE fact_events IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let options = waiting_a_second_for_locks();
    let source = RawSource::Directory(w.raw().to_owned());
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        sbw_etl::run(&source, &mut w.client, &request(), &options),
    )
    .await
    .expect("the run gives up waiting for the lock");
    let took = started.elapsed();
    let Err(EtlError::RunFailed {
        message, summary, ..
    }) = outcome
    else {
        panic!("the run fails: {outcome:?}");
    };
    assert!(message.contains("lock timeout"), "{message}");
    assert_eq!(summary.status, RunStatus::Failed);
    assert!(took < Duration::from_secs(15), "{took:?}");

    maintenance.rollback().await.unwrap();
    let summary = w.run_request(request(), RunOptions::default()).await;
    assert_eq!(summary.events_loaded, 1);
}

#[tokio::test]
async fn next_months_partition_is_made_ahead_so_its_first_events_wait_for_no_dashboard_query() {
    let mut w = Warehouse::new().await;
    let first = w.run().await;
    let started: DateTime<Utc> = first.started_at.parse().unwrap();
    let (year, month) = match started.month() {
        12 => (started.year() + 1, 1),
        month => (started.year(), month + 1),
    };
    let partition = format!("fact_events_{year:04}_{month:02}");
    let exists = texts(
        &w.client,
        "SELECT relname::text FROM pg_class WHERE relname = $1",
        &[&partition],
    )
    .await;
    assert_eq!(
        exists,
        [partition.as_str()],
        "{partition} after the first run"
    );

    // A dashboard query in progress: its transaction holds fact_events'
    // share lock, which creating a partition would wait for.
    let mut dashboard = connect(&w.db.url_as("sbw_dashboard")).await.unwrap();
    let reading = dashboard.transaction().await.unwrap();
    reading
        .query_one("SELECT count(*) FROM fact_events", &[])
        .await
        .unwrap();

    // The month's first event (received then; written where this run lists).
    let month_start = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 1).unwrap();
    let mut early = event(2, EventType::PageView, month_start);
    early.received_at = month_start;
    w.write(Utc::now(), &[early]);
    let options = waiting_a_second_for_locks();
    let loaded = w
        .run_request(RunRequest::Incremental(Trigger::Manual), options)
        .await;
    assert_eq!(loaded.events_loaded, 1, "{loaded:?}");
    reading.commit().await.unwrap();
}
