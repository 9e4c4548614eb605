//! `cargo xtask bench-etl`: the ETL end to end (the release `sbwctl etl
//! run`, one run into an empty warehouse) against the floor measured in the
//! same run, for each number of events: wall time, events/s, and the peak
//! RSS of the ETL process (flat in N when it streams) and of its PostgreSQL
//! backend.
//!
//! The raw store is realistic traffic from [`sbw_testkit::raw_events`]:
//! visits of the demo shop over 72 receive hours, 25 events per object, 2 %
//! duplicates (SDK retries) and 1 % late events (offline queues replaying a
//! visit's tail hours later, so their sessions span partitions far apart).
//!
//! The floor: the rows the ETL loaded, exported to CSV before the clock
//! starts, then COPY FROM STDIN into `floor_events`, a table with the
//! partitions and indexes of `fact_events`, in the same database. The ETL
//! also writes `event_keys` (the global event_id index), the manifest,
//! sessions and rollups: the floor with `event_keys` is shown too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, ensure, Context};
use bytes::Bytes;
use futures_util::{pin_mut, SinkExt, StreamExt};
use sbw_testkit::postgres::{admin_url, connect, TestDb};
use sbw_testkit::raw_events::{counts_json, RawEvents};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::Client;

use crate::measure::{run_measured, MB};

mod backend;
use backend::{Backend, BackendSampler};

#[derive(clap::Args)]
pub struct Options {
    /// Numbers of events (raw lines, duplicates included) to load, one run each.
    #[arg(default_values_t = [500_000, 2_000_000])]
    events: Vec<u64>,
    /// Where the raw files and the CSV go (/dev/shm keeps them off the disk).
    #[arg(long, env = "SBW_BENCH_DIR")]
    dir: Option<PathBuf>,
}

/// One size's figures.
struct Figures {
    events: u64,
    unique: u64,
    etl: Duration,
    etl_rss_bytes: u64,
    etl_cpu: Duration,
    backend: Backend,
    phases: Phases,
    floor: Duration,
    floor_with_keys: Duration,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let work = match &options.dir {
        Some(dir) => tempfile::tempdir_in(dir).with_context(|| {
            format!(
                "making a work directory in {} (--dir, SBW_BENCH_DIR)",
                dir.display()
            )
        })?,
        None => tempfile::tempdir().context("making a work directory")?,
    };
    let sbwctl =
        tokio::task::spawn_blocking(|| crate::cargo::release_binary("sbwctl", "sbwctl")).await??;
    let filesystem = filesystem_type(work.path())?;
    let admin = connect(&admin_url())
        .await
        .with_context(|| format!("connecting to {}", admin_url()))?;
    eprintln!(
        "==> raw files and CSV in {} ({filesystem})",
        work.path().display()
    );

    let mut results = Vec::new();
    for &events in &options.events {
        results.push(bench(events, &sbwctl, work.path(), &admin).await?);
    }
    let server: String = admin
        .query_one(
            "SELECT 'PostgreSQL ' || current_setting('server_version') || ', fsync ' || current_setting('fsync') \
             || ', shared_buffers ' || current_setting('shared_buffers')",
            &[],
        )
        .await?
        .get(0);
    report(&results, &filesystem, &server);
    Ok(())
}

async fn bench(events: u64, sbwctl: &Path, work: &Path, admin: &Client) -> anyhow::Result<Figures> {
    let raw = work.join(format!("raw-{events}"));
    eprintln!("==> N={events}: generating the raw store");
    let spec = RawEvents {
        seed: 42,
        ..RawEvents::new(events)
    };
    let written = {
        let raw = raw.clone();
        tokio::task::spawn_blocking(move || spec.write(&raw)).await??
    };
    eprintln!("    {}", counts_json(&written));

    let db = TestDb::create().await;
    let client = db.etl_client().await;
    admin.batch_execute("CHECKPOINT").await?;
    eprintln!("==> N={events}: sbwctl etl run");
    let sampler = BackendSampler::start(admin_url(), db.name.clone());
    let started = SystemTime::now();
    let summary_path = work.join("etl.json");
    let mut command = Command::new(sbwctl);
    command
        .args(["etl", "run", "--output", "json", "--raw-dir"])
        .arg(&raw)
        .args(["--database-url", &db.etl_url()])
        .stdout(std::fs::File::create(&summary_path)?)
        .stderr(Stdio::inherit());
    let etl = tokio::task::spawn_blocking(move || run_measured(&mut command)).await??;
    let backend = sampler.stop().await?;
    ensure!(
        etl.status.success(),
        "sbwctl etl run failed ({}); its output is above",
        etl.status
    );
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary_path)?)?;
    let fields = [
        "status",
        "objects_loaded",
        "events_loaded",
        "duplicates",
        "rejected_lines",
        "sessions_rebuilt",
    ];
    let shown: BTreeMap<&str, &serde_json::Value> =
        fields.iter().map(|f| (*f, &summary[f])).collect();
    eprintln!("    ETL: {}", serde_json::to_string(&shown)?);

    let loaded: i64 = client
        .query_one("SELECT count(*) FROM fact_events", &[])
        .await?
        .get(0);
    if loaded as u64 != written.unique_events {
        bail!(
            "the ETL loaded {loaded} events, the raw store holds {}",
            written.unique_events
        );
    }
    let phases = Phases::read(&client, started).await?;

    eprintln!("==> N={events}: the floor (COPY of the same rows)");
    let (floor, floor_with_keys) = floor(&client, admin, work).await?;
    std::fs::remove_dir_all(&raw)?;
    Ok(Figures {
        events,
        unique: written.unique_events,
        etl: etl.wall,
        etl_rss_bytes: etl.peak_rss_bytes,
        etl_cpu: etl.cpu,
        backend,
        phases,
        floor,
        floor_with_keys,
    })
}

/// COPY of the loaded rows (then of their keys) into copies of the tables;
/// returns the time of the rows, and of the rows and keys.
async fn floor(
    client: &Client,
    admin: &Client,
    work: &Path,
) -> anyhow::Result<(Duration, Duration)> {
    let rows = work.join("rows.csv");
    let keys = work.join("keys.csv");
    copy_out(
        client,
        "SELECT * FROM fact_events ORDER BY received_at, event_id",
        &rows,
    )
    .await?;
    copy_out(
        client,
        "SELECT event_id, ts FROM fact_events ORDER BY received_at, event_id",
        &keys,
    )
    .await?;
    client.batch_execute(FLOOR_TABLES).await?;
    admin.batch_execute("CHECKPOINT").await?;
    let started = Instant::now();
    copy_in(client, "floor_events", &rows).await?;
    let floor = started.elapsed();
    copy_in(client, "floor_keys", &keys).await?;
    let floor_with_keys = started.elapsed();
    std::fs::remove_file(&rows)?;
    std::fs::remove_file(&keys)?;
    Ok((floor, floor_with_keys))
}

/// Tables shaped as `fact_events` (with its partitions) and `event_keys`.
const FLOOR_TABLES: &str = r#"
CREATE TABLE floor_events (LIKE fact_events INCLUDING ALL) PARTITION BY RANGE (ts);
CREATE TABLE floor_keys (LIKE event_keys INCLUDING ALL);
DO $$ DECLARE p record; BEGIN
  FOR p IN SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'fact_events'::regclass LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF floor_events %s', replace(p.relname, 'fact_', 'floor_'), p.bound);
  END LOOP;
END $$;
"#;

async fn copy_out(client: &Client, query: &str, path: &Path) -> anyhow::Result<()> {
    let stream = client
        .copy_out(&format!("COPY ({query}) TO STDOUT (FORMAT csv)"))
        .await?;
    pin_mut!(stream);
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(path).await?);
    while let Some(chunk) = stream.next().await {
        file.write_all(&chunk?).await?;
    }
    file.flush().await?;
    Ok(())
}

async fn copy_in(client: &Client, table: &str, path: &Path) -> anyhow::Result<()> {
    let sink = client
        .copy_in(&format!("COPY {table} FROM STDIN (FORMAT csv)"))
        .await?;
    pin_mut!(sink);
    let mut file = tokio::fs::File::open(path).await?;
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        sink.send(Bytes::copy_from_slice(&buffer[..read])).await?;
    }
    sink.finish().await?;
    Ok(())
}

/// Where the ETL's time went, from the run record and its batches'
/// transaction starts (seconds).
struct Phases {
    /// Start of the process to the run's start: connecting, migrations.
    before: f64,
    /// The run's start to the first batch: listing, first decode.
    to_first_batch: f64,
    batches: i64,
    per_batch: Option<f64>,
    /// Last batch to the run's end: rebuilds, run record.
    after: f64,
}

impl Phases {
    async fn read(client: &Client, process_started: SystemTime) -> anyhow::Result<Phases> {
        let started = process_started
            .duration_since(SystemTime::UNIX_EPOCH)?
            .as_secs_f64();
        let row = client
            .query_one(
                "WITH b AS (SELECT DISTINCT extract(epoch FROM loaded_at)::float8 AS t FROM etl_objects),
                      r AS (SELECT extract(epoch FROM started_at)::float8 AS s,
                                   extract(epoch FROM finished_at)::float8 AS f FROM etl_runs)
                 SELECT r.s - $1, min(b.t) - r.s, count(*),
                        (max(b.t) - min(b.t)) / nullif(count(*) - 1, 0), r.f - max(b.t)
                 FROM b, r GROUP BY r.s, r.f",
                &[&started],
            )
            .await?;
        Ok(Phases {
            before: row.get(0),
            to_first_batch: row.get(1),
            batches: row.get(2),
            per_batch: row.get(3),
            after: row.get(4),
        })
    }
}

fn filesystem_type(path: &Path) -> anyhow::Result<String> {
    let output = Command::new("df")
        .args(["--output=fstype"])
        .arg(path)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .nth(1)
        .unwrap_or("unknown filesystem")
        .trim()
        .to_owned())
}

fn report(results: &[Figures], filesystem: &str, server: &str) {
    println!("ETL: release `sbwctl etl run`, one run into an empty warehouse. Floor: COPY FROM STDIN of the");
    println!("loaded rows from a CSV into a table with fact_events' partitions and indexes (+keys: and event_keys).");
    println!("raw files and CSV on {filesystem}; {server}");
    println!(
        "{:>9}{:>8}{:>10}{:>9}{:>11}{:>12}{:>9}{:>11}{:>15}",
        "N",
        "ETL s",
        "events/s",
        "floor s",
        "ETL/floor",
        "ETL RSS MB",
        "+keys s",
        "ETL/+keys",
        "PG backend MB"
    );
    for r in results {
        let (etl, floor, keys) = (
            r.etl.as_secs_f64(),
            r.floor.as_secs_f64(),
            r.floor_with_keys.as_secs_f64(),
        );
        println!(
            "{:>9}{:>8.1}{:>10.0}{:>9.1}{:>11.2}{:>12.0}{:>9.1}{:>11.2}{:>8.0} ({:.0})",
            r.events,
            etl,
            r.events as f64 / etl,
            floor,
            etl / floor,
            r.etl_rss_bytes as f64 / MB,
            keys,
            etl / keys,
            r.backend.peak_rss_kb as f64 / 1024.0,
            r.backend.peak_anon_kb as f64 / 1024.0,
        );
    }
    for r in results {
        let p = &r.phases;
        let per_batch = p.per_batch.map_or("?".to_owned(), |s| format!("{s:.2}"));
        println!(
            "N={}: {} unique events; CPU: ETL process {:.1} s, its PG backend {:.1} s; phases: connect + \
             migrations {:.2} s, listing + first decode {:.2} s, {} batches x {per_batch} s, rebuild + run record {:.2} s",
            r.events,
            r.unique,
            r.etl_cpu.as_secs_f64(),
            r.backend.cpu().as_secs_f64(),
            p.before,
            p.to_first_batch,
            p.batches,
            p.after,
        );
    }
    println!(
        "events/s: raw lines (duplicates included) per ETL second. PG backend MB: peak RSS of the"
    );
    println!(
        "ETL's backend, shared buffers it touched included (its private memory in parentheses)."
    );
    let rss: Vec<f64> = results.iter().map(|r| r.etl_rss_bytes as f64).collect();
    let spread = match (
        rss.iter().cloned().reduce(f64::max),
        rss.iter().cloned().reduce(f64::min),
    ) {
        (Some(max), Some(min)) if rss.len() > 1 => {
            format!(" (largest / smallest: {:.2})", max / min)
        }
        _ => String::new(),
    };
    println!("targets: ETL/floor <= 2 (aim 1.3); ETL RSS flat in N{spread}");
}
