//! The ETL's database session under faults, on the real PostgreSQL: a lock
//! another session holds, the run's backend terminated, the server
//! restarted and the network reset in the middle of a COPY, runs cut off by
//! the network at any point, a lock holder stuck in a COPY, and a month's
//! first events arriving while a dashboard query reads the facts.
//!
//! Over 400 lines on purpose: one case per fault, sharing the proxies and the
//! raw store set-up; each file under tests/ is its own test binary, linked
//! anew on every change.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use common::{
    assert_loaded_as_one_clean_run, event, small_batches, texts, traffic, traffic_backfill,
    traffic_hour, Warehouse,
};
use sbw_contract::EventType;
use sbw_etl::db::SessionLimits;
use sbw_etl::{EtlError, RawStore, RunOptions, RunRequest, RunStatus, RunSummary, Trigger};
use sbw_testkit::ndjson::write_stored_events;
use sbw_testkit::pg_server::PgServer;
use sbw_testkit::postgres::{connect, TestDb};
use sbw_testkit::tcp_proxy::TcpFaultProxy;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

/// `visits` visits of [`traffic`], five events an object.
fn write_traffic(raw: &Path, visits: i64) {
    write_stored_events(raw, &traffic(visits), 5);
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

/// A moment of a run, as `pg_stat_activity` shows it.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// In the middle of a batch's COPY.
    Copying,
    /// Between batches: one committed, the next not begun (on a migrated
    /// database: the condition reads the manifest).
    BetweenBatches,
    /// In a COPY, waiting for the client's next data.
    AwaitingCopyData,
}

impl Moment {
    fn condition(self) -> &'static str {
        match self {
            Moment::Copying => "state = 'active' AND query LIKE 'COPY%'",
            Moment::BetweenBatches => {
                "state = 'idle' AND query = 'COMMIT' AND EXISTS (SELECT FROM etl_objects)"
            }
            Moment::AwaitingCopyData => "state = 'active' AND wait_event = 'ClientRead'",
        }
    }
}

/// Starts a run on `client` in a task and returns it, with the run's
/// backend pid, once `observer` sees that backend in a COPY.
async fn run_until_copy(
    observer: &Client,
    raw: &Path,
    client: Client,
) -> (JoinHandle<Result<RunSummary, EtlError>>, i32) {
    run_until(observer, raw, client, small_batches(), Moment::Copying).await
}

/// Starts a run with `options` on `client` in a task and returns it, with
/// the run's backend pid, once `observer` sees that backend at `moment`.
async fn run_until(
    observer: &Client,
    raw: &Path,
    mut client: Client,
    options: RunOptions,
    moment: Moment,
) -> (JoinHandle<Result<RunSummary, EtlError>>, i32) {
    let pid = backend_pid(&client).await;
    let source = RawStore::Directory(raw.to_owned());
    let run = tokio::spawn(async move {
        sbw_etl::run(&source, &mut client, &traffic_backfill(), &options).await
    });
    wait_until_at(observer, pid, moment, || run.is_finished()).await;
    (run, pid)
}

/// Waits until `observer` sees the backend `pid` at `moment`, failing when
/// `ended` says it never will or after a minute.
async fn wait_until_at(observer: &Client, pid: i32, moment: Moment, ended: impl Fn() -> bool) {
    let seen = format!(
        "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1 AND {})",
        moment.condition()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let there: bool = observer.query_one(&seen, &[&pid]).await.unwrap().get(0);
        if there {
            return;
        }
        assert!(!ended(), "it ended before it was seen {moment:?}");
        assert!(Instant::now() < deadline, "not {moment:?} within a minute");
    }
}

/// After a run died mid-COPY: the next run on `client` gets the lock,
/// completes the load, and leaves the warehouse as one clean run of `raw`
/// into `clean` leaves it.
async fn assert_next_run_completes_the_load(client: &mut Client, raw: &Path, clean: &TestDb) {
    let source = RawStore::Directory(raw.to_owned());
    let next = sbw_etl::run(&source, client, &traffic_backfill(), &small_batches())
        .await
        .expect("the next run succeeds");
    assert_eq!(next.status, RunStatus::Succeeded, "{next:?}");
    let statuses = texts(client, "SELECT status FROM etl_runs ORDER BY run_id", &[]).await;
    assert_eq!(statuses, ["abandoned", "succeeded"]);
    assert_loaded_as_one_clean_run(client, &source, clean).await;
}

#[tokio::test]
async fn a_backend_terminated_mid_copy_frees_the_lock_and_the_next_run_loads_as_a_clean_one() {
    let mut w = Warehouse::new().await;
    write_traffic(w.raw(), 400);
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
    write_traffic(raw.path(), 400);
    let observer = connect(&server.admin_url()).await.unwrap();
    let (run, _) = run_until_copy(&observer, raw.path(), db.etl_client().await).await;
    server.restart().expect("the restart");
    let outcome = run.await.expect("the run does not panic");
    assert!(outcome.is_err(), "{outcome:?}");

    let mut client = db.etl_client().await;
    assert_next_run_completes_the_load(&mut client, raw.path(), &clean).await;
}

/// A TCP proxy in front of `db`'s server, and the ETL's URL of `db` through it.
async fn behind_a_proxy(db: &TestDb) -> (TcpFaultProxy, String) {
    let mut url = url::Url::parse(&db.etl_url()).expect("a database URL");
    let server = std::net::ToSocketAddrs::to_socket_addrs(&(
        url.host_str().expect("a host").to_owned(),
        url.port().unwrap_or(5432),
    ))
    .expect("the server's address")
    .next()
    .expect("an address");
    let proxy = TcpFaultProxy::start(server).await.expect("a TCP proxy");
    url.set_port(Some(proxy.address().port()))
        .expect("a URL with a host");
    (proxy, url.to_string())
}

/// Waits for the server to end the backend `pid` (its client is gone).
async fn assert_backend_ends(observer: &Client, pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let alive: bool = observer
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)",
                &[&pid],
            )
            .await
            .unwrap()
            .get(0);
        if !alive {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "backend {pid} outlived its connection by a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_connection_reset_by_the_network_mid_copy_frees_the_lock_and_the_next_run_loads_as_a_clean_one(
) {
    let mut w = Warehouse::new().await;
    write_traffic(w.raw(), 80);
    let (proxy, url) = behind_a_proxy(&w.db).await;
    let observer = w.db.etl_client().await;
    let through_proxy = connect(&url).await.expect("connecting through the proxy");
    let (run, pid) = run_until_copy(&observer, w.raw(), through_proxy).await;
    proxy.reset_all();
    let outcome = run.await.expect("the run does not panic");
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(proxy.counts().resets, 1);
    assert_backend_ends(&observer, pid).await;

    let clean = TestDb::create().await;
    let raw = w.raw().to_owned();
    assert_next_run_completes_the_load(&mut w.client, &raw, &clean).await;
}

#[tokio::test]
async fn a_network_stall_mid_copy_only_delays_the_run_which_then_loads_as_a_clean_one() {
    let w = Warehouse::new().await;
    write_traffic(w.raw(), 80);
    let (proxy, url) = behind_a_proxy(&w.db).await;
    let observer = w.db.etl_client().await;
    let through_proxy = connect(&url).await.expect("connecting through the proxy");
    let (run, _) = run_until_copy(&observer, w.raw(), through_proxy).await;
    proxy.stall();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !run.is_finished(),
        "the run waits while the network is stalled"
    );
    proxy.resume();
    let summary = run
        .await
        .expect("the run does not panic")
        .expect("the run succeeds once the network is back");
    assert_eq!(summary.status, RunStatus::Succeeded);

    let source = RawStore::Directory(w.raw().to_owned());
    assert_loaded_as_one_clean_run(&w.client, &source, &TestDb::create().await).await;
}

/// Session limits of a few seconds, so the tests need not wait minutes.
fn short_limits() -> RunOptions {
    RunOptions {
        limits: SessionLimits {
            statement: Duration::from_secs(2),
            lock: Duration::from_secs(2),
            idle_in_transaction: Duration::from_secs(2),
            idle_session: Duration::from_secs(2),
        },
        ..small_batches()
    }
}

/// Runs on `client`, whose statements may take two seconds (its session is
/// not idle long enough between runs for a shorter idle limit), until one is
/// not skipped for the lock (within a minute), and returns that one.
async fn next_run_that_gets_the_lock(client: &mut Client, raw: &Path) -> RunSummary {
    let options = RunOptions {
        limits: SessionLimits {
            statement: Duration::from_secs(2),
            ..SessionLimits::default()
        },
        ..small_batches()
    };
    let source = RawStore::Directory(raw.to_owned());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let summary = sbw_etl::run(&source, client, &traffic_backfill(), &options)
            .await
            .expect("the next run does not fail");
        if summary.status != RunStatus::Skipped {
            return summary;
        }
        assert!(
            Instant::now() < deadline,
            "the lock still held after a minute: {summary:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_run_cut_off_from_the_network_for_good_does_not_keep_the_next_run_from_loading() {
    for moment in [Moment::BetweenBatches, Moment::Copying] {
        let mut w = Warehouse::new().await;
        write_traffic(w.raw(), 80);
        sbw_etl::migrate::migrate(&mut w.client).await.unwrap();
        let (proxy, url) = behind_a_proxy(&w.db).await;
        let observer = w.db.etl_client().await;
        let through_proxy = connect(&url).await.expect("connecting through the proxy");
        let (run, pid) = run_until(&observer, w.raw(), through_proxy, short_limits(), moment).await;
        // The path goes silent for good and Lambda ends the function: the
        // server is left with a session whose client never speaks again,
        // which keepalives do not end (the proxy's end of the path answers
        // them). Between batches (the run lock held, no transaction open)
        // the idle-session limit ends it. Mid-COPY, when the client's data
        // stopped before its end, no limit does: the next run ends it.
        proxy.stall();
        run.abort();
        if let Moment::BetweenBatches = moment {
            assert_backend_ends(&observer, pid).await;
        }

        let raw = w.raw().to_owned();
        let next = next_run_that_gets_the_lock(&mut w.client, &raw).await;
        assert_eq!(next.status, RunStatus::Succeeded, "{moment:?}: {next:?}");
        assert_backend_ends(&observer, pid).await;
        let statuses = texts(
            &w.client,
            "SELECT status FROM etl_runs ORDER BY run_id",
            &[],
        )
        .await;
        assert_eq!(statuses, ["abandoned", "succeeded"], "{moment:?}");
        let source = RawStore::Directory(w.raw().to_owned());
        assert_loaded_as_one_clean_run(&w.client, &source, &TestDb::create().await).await;
    }
}

#[tokio::test]
async fn the_next_run_ends_a_lock_holder_stuck_in_a_copy_its_client_stopped_feeding() {
    let mut w = Warehouse::new().await;
    write_traffic(w.raw(), 20);
    sbw_etl::migrate::migrate(&mut w.client).await.unwrap();
    let holder = w.db.etl_client().await;
    let pid = backend_pid(&holder).await;
    assert!(
        sbw_etl::warehouse::try_lock_run(&holder, Duration::from_secs(120))
            .await
            .unwrap()
            .is_ok()
    );
    holder
        .batch_execute("CREATE TEMP TABLE half_sent (line text)")
        .await
        .unwrap();
    let copy = holder
        .copy_in::<_, bytes::Bytes>("COPY half_sent FROM STDIN")
        .await
        .expect("a COPY begins");
    // The client sends part of its data, then nothing: its connection stays
    // open, as when a middlebox keeps answering for a client that is gone.
    let mut copy = Box::pin(copy);
    futures_util::SinkExt::feed(&mut copy, bytes::Bytes::from_static(b"first line\n"))
        .await
        .unwrap();
    futures_util::SinkExt::flush(&mut copy).await.unwrap();

    // The server reads the sent line first, then waits for the next.
    wait_until_at(&w.client, pid, Moment::AwaitingCopyData, || false).await;
    // Not in the COPY for longer than a statement may run (two minutes by
    // default): the lock is busy.
    let early = sbw_etl::run(
        &RawStore::Directory(w.raw().to_owned()),
        &mut w.client,
        &traffic_backfill(),
        &small_batches(),
    )
    .await
    .unwrap();
    assert_eq!(early.status, RunStatus::Skipped, "{early:?}");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let raw = w.raw().to_owned();
    let next = next_run_that_gets_the_lock(&mut w.client, &raw).await;
    assert_eq!(next.status, RunStatus::Succeeded, "{next:?}");
    let observer = w.db.etl_client().await;
    assert_backend_ends(&observer, pid).await;
    let source = RawStore::Directory(w.raw().to_owned());
    assert_loaded_as_one_clean_run(&w.client, &source, &TestDb::create().await).await;
}

#[tokio::test]
async fn runs_cut_off_by_the_network_anywhere_then_one_clean_run_leave_the_warehouse_as_one_clean_run(
) {
    let mut w = Warehouse::new().await;
    // Few visits: eight runs; still dozens of COPYs each.
    write_traffic(w.raw(), 40);
    let source = RawStore::Directory(w.raw().to_owned());
    let (proxy, url) = behind_a_proxy(&w.db).await;
    let observer = w.db.etl_client().await;

    // What a whole run sends, measured on a database of its own.
    let measure = TestDb::create().await;
    let (measuring_proxy, measuring_url) = behind_a_proxy(&measure).await;
    let mut client = connect(&measuring_url)
        .await
        .expect("connecting through the proxy");
    sbw_etl::run(&source, &mut client, &traffic_backfill(), &small_batches())
        .await
        .expect("a run without faults succeeds");
    let whole_run = measuring_proxy.counts().bytes_to_server;

    // Cut at points through the run: its set-up and migrations, the
    // listing, early and late batches. Each run loads less (its
    // predecessors loaded some), so the last may end before its cut.
    let mut cut_runs = 0;
    for share in [0.005, 0.05, 0.2, 0.4, 0.7] {
        let mut client = connect(&url).await.expect("connecting through the proxy");
        let pid = backend_pid(&client).await;
        proxy.cut_after((whole_run as f64 * share) as u64);
        let outcome =
            sbw_etl::run(&source, &mut client, &traffic_backfill(), &small_batches()).await;
        drop(client);
        cut_runs += usize::from(outcome.is_err());
        assert_backend_ends(&observer, pid).await;
    }
    assert!(cut_runs >= 3, "only {cut_runs} runs were cut off");
    assert!(proxy.counts().resets >= cut_runs, "{:?}", proxy.counts());
    let loaded = w.count("fact_events").await;
    assert!(loaded > 0, "the cut runs loaded some batches");

    let last = w.run_request(traffic_backfill(), small_batches()).await;
    assert_eq!(last.status, RunStatus::Succeeded, "{last:?}");
    assert_loaded_as_one_clean_run(&w.client, &source, &TestDb::create().await).await;
}

#[tokio::test]
async fn a_lock_held_by_another_session_fails_the_run_at_the_lock_timeout_with_the_reason() {
    let mut w = Warehouse::new().await;
    w.write(
        traffic_hour(),
        &[event(1, EventType::PageView, traffic_hour())],
    );
    sbw_etl::migrate::migrate(&mut w.client).await.unwrap();
    let mut other = w.db.etl_client().await;
    let maintenance = other.transaction().await.unwrap();
    maintenance
        .batch_execute("LOCK TABLE fact_events IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let options = waiting_a_second_for_locks();
    let source = RawStore::Directory(w.raw().to_owned());
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        sbw_etl::run(&source, &mut w.client, &traffic_backfill(), &options),
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
    let summary = w
        .run_request(traffic_backfill(), RunOptions::default())
        .await;
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
