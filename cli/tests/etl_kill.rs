//! Exactly once under SIGKILL: `sbwctl etl run` is killed at each stage of a
//! run — during the COPY, during the merge, during the rebuild, after the
//! commits but before the run record — then run again; the warehouse must
//! equal the one a single clean run builds from the same raw objects.
//!
//! A stage is caught without hooks in the ETL: the test either sees the
//! statement running in `pg_stat_activity`, or holds a lock the statement
//! needs and waits until the ETL queues behind it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use sbw_testkit::postgres::{connect, texts, TestDb};
use sbw_testkit::shoppers::Shoppers;
use tokio_postgres::Client;

/// Tables whose content a clean run decides; ids and times of the runs
/// themselves differ between runs and are left out.
const SNAPSHOT: &[(&str, &str)] = &[
    ("fact_events", "SELECT t::text FROM fact_events t"),
    ("event_keys", "SELECT t::text FROM event_keys t"),
    ("fact_sessions", "SELECT t::text FROM fact_sessions t"),
    ("dim_product", "SELECT t::text FROM dim_product t"),
    (
        "fact_session_categories",
        "SELECT t::text FROM fact_session_categories t",
    ),
    ("rollup_traffic", "SELECT t::text FROM rollup_traffic t"),
    ("rollup_pages", "SELECT t::text FROM rollup_pages t"),
    ("rollup_funnel", "SELECT t::text FROM rollup_funnel t"),
    (
        "rollup_acquisition",
        "SELECT t::text FROM rollup_acquisition t",
    ),
    ("rollup_products", "SELECT t::text FROM rollup_products t"),
    (
        "etl_objects",
        "SELECT concat_ws(' ', object_key, etag, size_bytes, status, records, duplicates, rejected)
         FROM etl_objects",
    ),
    (
        "etl_dirty_sessions",
        "SELECT t::text FROM etl_dirty_sessions t",
    ),
];

async fn snapshot(client: &Client) -> Vec<(String, Vec<String>)> {
    let mut tables = Vec::new();
    for (table, query) in SNAPSHOT {
        let mut rows: Vec<String> = client
            .query(*query, &[])
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"))
            .iter()
            .map(|r| r.get(0))
            .collect();
        rows.sort();
        tables.push((table.to_string(), rows));
    }
    tables
}

fn raw_store(dir: &Path) -> usize {
    let mut shoppers = Shoppers::new(42);
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap();
    let mut events = Vec::new();
    for i in 0..1_500 {
        events.extend(shoppers.session(start + chrono::Duration::seconds(i * 7)));
    }
    events.sort_by_key(|e| e.received_at);
    // A retry of the first hundred events, in later objects.
    let retries: Vec<_> = events[..100]
        .iter()
        .map(|e| {
            let mut copy = e.clone();
            copy.received_at += chrono::Duration::seconds(30);
            copy.request_id = format!("retry-{}", copy.request_id);
            copy
        })
        .collect();
    sbw_testkit::ndjson::write_stored_events(dir, &events, 50);
    sbw_testkit::ndjson::write_stored_events(dir, &retries, 50);
    events.len()
}

fn etl_run(raw: &Path, db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sbwctl"));
    command
        .args(["etl", "run", "--raw-dir"])
        .arg(raw)
        .args(["--database-url", &db.etl_url()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn complete_run(raw: &Path, db: &TestDb) {
    let output = etl_run(raw, db).output().expect("running sbwctl");
    assert!(
        output.status.success(),
        "sbwctl etl run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Polls until `sql` (over the ETL's backends) returns a row, or panics.
async fn wait_for(observer: &Client, what: &str, sql: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = observer.query(sql, &[]).await.expect("observing the ETL");
        if !rows.is_empty() {
            return;
        }
        if let Some(status) = child.try_wait().expect("polling sbwctl") {
            panic!("sbwctl ended ({status}) before the test saw it {what}");
        }
        assert!(Instant::now() < deadline, "never saw the ETL {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn etl_backend(db: &TestDb, condition: &str) -> String {
    format!(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = '{}' AND usename = 'sbw_etl' AND pid <> pg_backend_pid() AND {condition}",
        db.name
    )
}

/// How the test stops the ETL at one stage.
enum Stage {
    /// Kill as soon as this statement is seen running.
    Running(&'static str),
    /// Hold `lock_sql` in a transaction; kill once the ETL waits on a lock
    /// in a statement matching the LIKE pattern `waiting_for`.
    Blocked {
        lock_sql: &'static str,
        waiting_for: &'static str,
    },
}

async fn kill_at(stage: &Stage, raw: &Path) -> Vec<(String, Vec<String>)> {
    let db = TestDb::create().await;
    let mut blocker = connect(&db.url_as("sbw_etl")).await.unwrap();
    let observer = connect(&db.url_as("sbw_etl")).await.unwrap();
    // The schema must exist for the blocker's locks.
    sbw_etl::migrate::migrate(&mut blocker).await.unwrap();
    let blocker_pid: i32 = blocker
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);

    let mut child = etl_run(raw, &db).spawn().expect("starting sbwctl");
    match stage {
        Stage::Running(statement) => {
            let sql = etl_backend(
                &db,
                &format!("state = 'active' AND query LIKE '{statement}%'"),
            );
            wait_for(&observer, statement, &sql, &mut child).await;
            child.kill().expect("SIGKILL");
        }
        Stage::Blocked {
            lock_sql,
            waiting_for,
        } => {
            let transaction = blocker.transaction().await.unwrap();
            if lock_sql.contains("etl_runs") {
                // The run record exists once the run started. NO KEY: the
                // manifest's foreign key must still be able to share it.
                let deadline = Instant::now() + Duration::from_secs(60);
                while transaction.query(*lock_sql, &[]).await.unwrap().is_empty() {
                    assert!(
                        Instant::now() < deadline,
                        "the run never recorded its start"
                    );
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            } else {
                transaction.batch_execute(lock_sql).await.unwrap();
            }
            let sql = etl_backend(
                &db,
                &format!("wait_event_type = 'Lock' AND query LIKE '{waiting_for}'"),
            );
            wait_for(&observer, waiting_for, &sql, &mut child).await;
            child.kill().expect("SIGKILL");
            transaction.rollback().await.unwrap();
        }
    }
    child.wait().expect("reaping sbwctl");
    // A killed client's backend ends only when it next reads its socket;
    // until then it holds the run lock, and a new run would rightly skip.
    let killed_backends = etl_backend(&db, &format!("pid <> {blocker_pid}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !observer
        .query(&killed_backends, &[])
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "the killed ETL's backend never ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    complete_run(raw, &db);
    let client = db.etl_client().await;
    let runs = texts(&client, "SELECT status FROM etl_runs ORDER BY run_id", &[]).await;
    assert_eq!(
        runs.last().map(String::as_str),
        Some("succeeded"),
        "{runs:?}"
    );
    assert!(
        !runs.iter().any(|s| s == "running"),
        "the killed run is marked abandoned: {runs:?}"
    );
    snapshot(&client).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_at_any_stage_and_run_again_equals_one_clean_run() {
    let raw = tempfile::tempdir().unwrap();
    let events = raw_store(raw.path());

    let clean = TestDb::create().await;
    complete_run(raw.path(), &clean);
    let expected = snapshot(&clean.etl_client().await).await;
    assert_eq!(expected[0].1.len(), events, "every event, once");

    let stages = [
        ("during COPY", Stage::Running("COPY fact_events")),
        (
            "during the merge",
            Stage::Blocked {
                lock_sql: "LOCK TABLE etl_dirty_days IN ACCESS EXCLUSIVE MODE",
                waiting_for: "INSERT INTO etl_dirty_days SELECT DISTINCT t::date%",
            },
        ),
        (
            "during the rebuild",
            Stage::Blocked {
                lock_sql: "LOCK TABLE rollup_products IN ACCESS EXCLUSIVE MODE",
                // The rebuild is one multi-statement query.
                waiting_for: "%The rebuild step%",
            },
        ),
        (
            "after commit, before the run record",
            Stage::Blocked {
                lock_sql: "SELECT run_id FROM etl_runs WHERE status = 'running' FOR NO KEY UPDATE",
                waiting_for: "UPDATE etl_runs SET status = $2%",
            },
        ),
    ];
    for (name, stage) in &stages {
        let after_kill = kill_at(stage, raw.path()).await;
        for ((table, want), (_, got)) in expected.iter().zip(&after_kill) {
            assert!(
                want == got,
                "killed {name}: {table} differs from a clean run ({} rows vs {})",
                got.len(),
                want.len()
            );
        }
    }
}
