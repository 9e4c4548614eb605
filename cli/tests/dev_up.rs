//! `sbwctl dev up` as a newcomer runs it: a real process tree (PostgreSQL
//! from the distribution's binaries, the Shiny dashboard when R is
//! installed), simulated shoppers over HTTP, the warehouse filled by the
//! scheduled ETL, and a stop that leaves nothing behind.
//!
//! Over 400 lines on purpose: the cases share one running platform's set-up
//! and checks; each file under tests/ is its own test binary, linked anew on
//! every change.

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Each of the platform's listeners on a port the system picks.
const ANY_FREE_PORTS: &[&str] = &[
    "--shop-port",
    "0",
    "--ingest-port",
    "0",
    "--dashboard-port",
    "0",
];

const TABLES: &[&str] = &[
    "fact_events",
    "fact_sessions",
    "rollup_traffic",
    "rollup_pages",
    "rollup_funnel",
    "rollup_acquisition",
    "rollup_products",
];

/// A platform directory PostgreSQL can reach: as root the server runs as
/// the user postgres, which cannot enter tempfile's private (0700) directories.
fn platform_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn sbwctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sbwctl"))
}

/// A running `sbwctl dev up`, its output (stdout and stderr) collected.
struct Up {
    child: Option<Child>,
    dir: PathBuf,
    output: Arc<Mutex<String>>,
    started: Instant,
}

impl Up {
    fn start(dir: &Path, extra: &[&str]) -> Up {
        let mut child = sbwctl()
            .args(["dev", "up", "--dir"])
            .arg(dir)
            .args(ANY_FREE_PORTS)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for mut stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buffer = [0; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buffer) {
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            });
        }
        Up {
            child: Some(child),
            dir: dir.to_path_buf(),
            output,
            started: Instant::now(),
        }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits for the ready notice; returns the state file then.
    fn wait_ready(&mut self, within: Duration) -> Value {
        while !self.output().contains("Ctrl-C stops everything.") {
            if let Ok(Some(status)) = self.child.as_mut().unwrap().try_wait() {
                panic!(
                    "dev up exited ({status}) before it was ready:\n{}",
                    self.output()
                );
            }
            assert!(
                self.started.elapsed() < within,
                "dev up was not ready within {within:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let state: Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir.join("state.json")).unwrap())
                .unwrap();
        assert_eq!(state["phase"], "ready", "{state}");
        state
    }

    /// Sends `signal` and waits for the exit: its status and how long it took.
    fn stop(&mut self, signal: i32) -> (ExitStatus, Duration) {
        let mut child = self.child.take().unwrap();
        let asked = Instant::now();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let status = wait_at_most(&mut child, Duration::from_secs(30)).unwrap_or_else(|| {
            panic!(
                "dev up did not exit 30 s after the signal:\n{}",
                self.output()
            )
        });
        (status, asked.elapsed())
    }
}

impl Drop for Up {
    /// A failed test still stops the platform it started.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            if wait_at_most(&mut child, Duration::from_secs(15)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn wait_at_most(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let began = Instant::now();
    while began.elapsed() < within {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Whether the process runs: it exists and is not a zombie (a detached
/// supervisor's parent has exited, and this machine's init may not reap).
fn runs(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

fn pids(state: &Value) -> Vec<(String, i32)> {
    state["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["pid"].as_i64().unwrap() as i32,
            )
        })
        .collect()
}

/// The ports of these URLs of the state (shop, ingest, dashboard, database).
fn ports(state: &Value, urls: &[&str]) -> Vec<u16> {
    urls.iter()
        .filter_map(|name| state["urls"][name].as_str())
        .filter_map(|url| url::Url::parse(url).ok()?.port())
        .collect()
}

/// Nothing of the platform is left: its processes and their groups are
/// gone, its ports free, the cluster stopped, the state file removed.
fn assert_nothing_left(dir: &Path, state: &Value) {
    let children = pids(state);
    assert!(
        children.iter().any(|(name, _)| name == "PostgreSQL"),
        "{state}"
    );
    for (name, pid) in children {
        // SAFETY: signal 0 only checks that the process (group) exists.
        let (process, group) = unsafe { (libc::kill(pid, 0), libc::killpg(pid, 0)) };
        assert_eq!(process, -1, "{name} (pid {pid}) still runs");
        assert_eq!(
            group, -1,
            "a process of {name}'s group (pgid {pid}) still runs"
        );
    }
    for port in ports(state, &["shop", "ingest", "dashboard", "database"]) {
        assert!(
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok(),
            "port {port} is still taken"
        );
    }
    assert!(
        !dir.join("pg/postmaster.pid").exists(),
        "the cluster still runs"
    );
    assert!(!dir.join("state.json").exists());
}

async fn counts(database_url: &str) -> Vec<(&'static str, i64)> {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut counts = Vec::new();
    for table in TABLES {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap();
        counts.push((*table, row.get::<_, i64>(0)));
    }
    counts
}

/// Waits until every fact table and rollup has rows.
async fn wait_for_rows(database_url: &str, within: Duration) -> Vec<(&'static str, i64)> {
    let began = Instant::now();
    loop {
        let counts = counts(database_url).await;
        if counts.iter().all(|(_, n)| *n > 0) {
            return counts;
        }
        assert!(
            began.elapsed() < within,
            "tables still empty after {within:?}: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The dashboard answers its health check, and its page lists what the
/// warehouse holds (the categories of the filter come from the rollups).
async fn assert_dashboard_shows_data(url: &str) {
    let client = reqwest::Client::new();
    let health = client.get(format!("{url}healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let began = Instant::now();
    loop {
        let page = client.get(url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        if html.contains(r#"<option value="laptops">laptops</option>"#) {
            assert!(html.contains("Traffic &amp; Engagement"), "{html}");
            return;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "the dashboard's page shows no category:\n{html}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One run of the platform until `signal`: it fills the warehouse and the
/// dashboard, then stops within 5 s leaving nothing behind. Returns the
/// events in the warehouse.
async fn run_until(dir: &Path, signal: i32, signal_name: &str) -> i64 {
    let mut up = Up::start(
        dir,
        &["--demo", "--etl-every", "2s", "--visits-per-minute", "600"],
    );
    let state = up.wait_ready(Duration::from_secs(240));
    let ready = up.started.elapsed();
    let database_url = state["urls"]["database"].as_str().unwrap().to_owned();
    let counts = wait_for_rows(&database_url, Duration::from_secs(90)).await;
    match state["urls"]["dashboard"].as_str() {
        Some(url) => assert_dashboard_shows_data(url).await,
        None => println!(
            "the dashboard checks are skipped: {}",
            up.output()
                .lines()
                .find(|l| l.starts_with("dashboard: off"))
                .unwrap_or("no reason printed")
        ),
    }
    let filled = up.started.elapsed();
    let (status, took) = up.stop(signal);
    let output = up.output();
    println!(
        "dev up --demo: ready in {:.1} s, every table filled and the dashboard showing it in {:.1} s ({counts:?}); {signal_name} -> exited in {:.2} s",
        ready.as_secs_f64(),
        filled.as_secs_f64(),
        took.as_secs_f64()
    );
    assert!(
        status.success(),
        "exit {status} after {signal_name}:\n{output}"
    );
    assert!(
        took < Duration::from_secs(5),
        "stopping took {took:?}:\n{output}"
    );
    assert!(output.contains("nothing is left running"), "{output}");
    assert!(output.contains("simulated shoppers: "), "{output}");
    assert!(!output.contains("panicked"), "{output}");
    assert_nothing_left(dir, &state);
    counts[0].1
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_up_demo_fills_the_warehouse_and_stops_cleanly_on_sigint_then_sigterm() {
    let dir = platform_dir();
    // As scripts/run.sh does: a month of history first, which the first run loads.
    let seed = sbwctl()
        .args([
            "dev",
            "seed",
            "--days",
            "30",
            "--events-per-day",
            "2000",
            "--raw-dir",
        ])
        .arg(dir.path().join("raw"))
        .output()
        .unwrap();
    assert!(seed.status.success(), "{seed:?}");
    let events = run_until(dir.path(), libc::SIGINT, "SIGINT").await;
    // Started again on the same directory: the cluster and its data are kept.
    let events_again = run_until(dir.path(), libc::SIGTERM, "SIGTERM").await;
    assert!(events_again > events, "{events_again} <= {events}");
}

/// Runs a `dev up` that must fail: its one-sentence error.
fn failure(args: &[&str]) -> String {
    let output = sbwctl().args(["dev", "up"]).args(args).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence, not {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr.trim_end().to_owned()
}

#[test]
fn what_stops_dev_up_is_one_sentence() {
    let dir = platform_dir();
    let dir_arg = dir.path().join("p");
    let dir_arg = dir_arg.to_str().unwrap();

    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_eq!(
        failure(&["--dir", dir_arg, "--shop-port", &port, "--ingest-port", "0"]),
        format!("error: port {port} is in use, and the demo shop needs it; stop what listens there or pass --shop-port with another port (0 picks a free one)")
    );
    assert_eq!(
        failure(&["--dir", dir_arg, "--shop-port", "0", "--ingest-port", &port]),
        format!("error: port {port} is in use, and the ingest server needs it; stop what listens there or pass --ingest-port with another port (0 picks a free one)")
    );
    drop(taken);
    assert_eq!(
        failure(&["--dir", dir_arg, "--shop-port", "3838", "--ingest-port", "0"]),
        "error: the demo shop (--shop-port) and the dashboard (--dashboard-port) would both listen on port 3838; pass another port to one of them (0 picks a free one)"
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("dev");
    assert_eq!(
        failure(&["--dir", under_a_file.to_str().unwrap()]),
        format!(
            "error: cannot use {} for the platform's files (Not a directory (os error 20)); pass --dir with a directory you can write",
            under_a_file.display()
        )
    );

    // A port nothing listens on.
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://postgres@127.0.0.1:{closed}/postgres");
    let error = failure(&[&["--dir", dir_arg, "--database-url", &url], ANY_FREE_PORTS].concat());
    assert!(
        error.starts_with(&format!(
            "error: cannot reach the PostgreSQL server at {url}: "
        )),
        "{error}"
    );
    assert!(error.contains("Connection refused"), "{error}");
    assert!(!Path::new(dir_arg).join("state.json").exists());
}

#[test]
fn detached_platform_answers_status_refuses_a_second_up_and_stops_with_down() {
    let admin_url = sbw_testkit::postgres::admin_url();
    let database = format!("sbw_devup_{}", std::process::id());
    let dir = platform_dir();
    let dir_arg = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let output = sbwctl().args(["dev"]).args(args).output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let up = [
        "up",
        "--detach",
        "--dir",
        dir_arg,
        "--database-url",
        &admin_url,
        "--database-name",
        &database,
    ];
    let (code, output) = run(&[&up[..], ANY_FREE_PORTS].concat());
    let drop_database = DropDatabase {
        admin_url: admin_url.clone(),
        database: database.clone(),
    };
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("It runs in the background"), "{output}");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();

    let (code, status) = run(&["status", "--dir", dir_arg]);
    assert_eq!(code, Some(0), "{status}");
    assert!(status.contains("is running"), "{status}");
    assert!(!status.contains("DOES NOT ANSWER"), "{status}");
    assert!(status.contains("last ETL run"), "{status}");

    let (code, second) = run(&[
        "up",
        "--dir",
        dir_arg,
        "--shop-port",
        "0",
        "--ingest-port",
        "0",
    ]);
    assert_eq!(code, Some(1), "{second}");
    assert!(
        second.starts_with(&format!(
            "error: another `sbwctl dev up` (pid {}) already runs on {dir_arg}",
            state["pid"]
        )),
        "{second}"
    );

    let (code, down) = run(&["down", "--dir", dir_arg]);
    assert_eq!(code, Some(0), "{down}");
    assert!(
        down.starts_with(&format!("stopped the platform on {dir_arg} in ")),
        "{down}"
    );
    assert!(!runs(state["pid"].as_i64().unwrap() as i32));
    for (name, pid) in pids(&state) {
        // SAFETY: as above, for the child's process group.
        assert_eq!(unsafe { libc::killpg(pid, 0) }, -1, "{name} still runs");
    }
    // The database is the shared test server: it runs on.
    for port in ports(&state, &["shop", "ingest", "dashboard"]) {
        assert!(
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok(),
            "port {port}"
        );
    }
    let (code, status) = run(&["status", "--dir", dir_arg]);
    assert_eq!(code, Some(5), "nothing runs: broken\n{status}");
    assert!(status.starts_with("nothing runs on"), "{status}");
    drop(drop_database);
}

/// Drops the test's warehouse database, whatever happens to the test.
struct DropDatabase {
    admin_url: String,
    database: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(&self.admin_url)
            .args([
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            ])
            .status();
    }
}
