//! `sbwctl etl …`: one ETL run, a backfill or the migrations, on this
//! machine against a raw directory and a PostgreSQL URL (the Lambda's code).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand};
use sbw_etl::{RawStore, RunOptions, RunRequest, RunStatus, RunSummary, ShopSettings, Trigger};

use super::shell::{Output, OutputArg, UsageError};

#[derive(Subcommand)]
pub enum EtlCommand {
    /// Load what is new in the raw store since the last run.
    ///
    /// Exit codes: 0 loaded (or skipped because another run holds the lock),
    /// 1 the run failed (what was committed stays; the next run goes on from there).
    Run(RunArgs),
    /// Load the receive hours from --from to --to (both included) again;
    /// objects already loaded are skipped. With --remote, the deployed function does it.
    Backfill(BackfillArgs),
    /// Run the deployed ETL function now (what its schedule does) and print its run summary.
    Invoke(super::etl_remote::InvokeArgs),
    /// Apply the warehouse migrations the database lacks.
    Migrate(DatabaseArgs),
    /// Build every rollup again from the facts, in the shop's time zone.
    ///
    /// A run does this by itself when the time zone it is given differs from
    /// the one the rollups were built in; this does it now. Until it is done
    /// the dashboard shows empty ranges.
    /// Exit codes: 0 rebuilt, 1 failed (another run holds the lock, or the database).
    RebuildRollups(RebuildArgs),
}

/// The shop's settings every run records in the warehouse.
#[derive(Args)]
pub struct ShopArgs {
    /// The shop's time zone (IANA name): rollup days are its local days.
    #[arg(long, env = "SBW_TIMEZONE", default_value_t = ShopSettings::default().timezone)]
    timezone: String,
    /// The freshness objective the dashboard measures against, in minutes.
    #[arg(long, default_value_t = ShopSettings::default().freshness_slo_minutes,
          value_parser = clap::value_parser!(u32).range(1..=10_080))]
    freshness_slo_minutes: u32,
}

impl ShopArgs {
    fn settings(&self) -> ShopSettings {
        ShopSettings {
            timezone: self.timezone.clone(),
            freshness_slo_minutes: self.freshness_slo_minutes,
        }
    }
}

#[derive(Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    shop: ShopArgs,
}

#[derive(Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL of the warehouse, e.g. postgresql://sbw_etl@127.0.0.1:5432/sbw.
    #[arg(long, env = "SBW_DATABASE_URL")]
    database_url: String,
}

#[derive(Args)]
pub struct SourceArgs {
    /// Raw store directory (what `sbwctl dev ingest --raw-dir` writes).
    #[arg(long, default_value = ".sbw/raw")]
    raw_dir: PathBuf,
    /// PostgreSQL URL of the warehouse, e.g. postgresql://sbw_etl@127.0.0.1:5432/sbw.
    #[arg(long, env = "SBW_DATABASE_URL")]
    database_url: Option<String>,
    /// Receive hours re-read before the watermark, for objects written late.
    #[arg(long, default_value_t = RunOptions::default().reprocess_window_hours,
          value_parser = clap::value_parser!(u32).range(0..=48))]
    reprocess_window_hours: u32,
    #[command(flatten)]
    shop: ShopArgs,
    /// `--output json` prints the run summary as the `_etl/last-run.json` document.
    #[command(flatten)]
    output: OutputArg,
}

#[derive(Args)]
#[command(group(ArgGroup::new("warehouse").args(["database_url"]).required(true)))]
pub struct RunArgs {
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Args)]
#[command(group(ArgGroup::new("warehouse").args(["database_url", "remote"]).required(true).multiple(true)))]
pub struct BackfillArgs {
    /// First receive hour, RFC 3339 (e.g. 2026-11-20T00:00:00Z).
    #[arg(long)]
    from: DateTime<Utc>,
    /// Last receive hour, RFC 3339.
    #[arg(long)]
    to: DateTime<Utc>,
    #[command(flatten)]
    remote: super::etl_remote::RemoteArgs,
    #[command(flatten)]
    source: SourceArgs,
}

pub fn run(command: EtlCommand) -> anyhow::Result<ExitCode> {
    super::log_to_stderr();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        match command {
            EtlCommand::Run(args) => {
                load(args.source, RunRequest::Incremental(Trigger::Manual)).await
            }
            EtlCommand::Backfill(args) => {
                let request = RunRequest::backfill(args.from, args.to)
                    .map_err(|error| UsageError(error.to_string()))?;
                if args.remote.remote {
                    let output = args.source.output.output;
                    super::etl_remote::backfill(&args.remote, args.from, args.to, output).await
                } else {
                    load(args.source, request).await
                }
            }
            EtlCommand::Invoke(args) => super::etl_remote::invoke(args).await,
            EtlCommand::Migrate(args) => {
                let mut client = connect(&args.database_url).await?;
                let applied = sbw_etl::migrate::migrate(&mut client).await?;
                match applied.as_slice() {
                    [] => println!("the warehouse schema is up to date"),
                    versions => println!("applied migrations {versions:?}"),
                }
                Ok(ExitCode::SUCCESS)
            }
            EtlCommand::RebuildRollups(args) => {
                let mut client = connect(&args.database.database_url).await?;
                let started = std::time::Instant::now();
                let rebuilt = sbw_etl::rebuild_rollups(&mut client, &args.shop.settings()).await?;
                let previous = match rebuilt.previous_timezone {
                    Some(zone) if zone != rebuilt.timezone => format!(" (they were in {zone})"),
                    _ => String::new(),
                };
                println!(
                    "rebuilt the rollups of {} days in {}{previous} in {:.1} s",
                    rebuilt.days,
                    rebuilt.timezone,
                    started.elapsed().as_secs_f64()
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

pub(crate) async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let config: tokio_postgres::Config = url.parse().with_context(|| {
        "the database URL is not a PostgreSQL URL (postgresql://user@host:port/db)"
    })?;
    sbw_etl::db::connect(&config)
        .await
        .with_context(|| format!("connecting to the warehouse {}", redacted(url)))
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

async fn load(args: SourceArgs, request: RunRequest) -> anyhow::Result<ExitCode> {
    if !args.raw_dir.is_dir() {
        anyhow::bail!(
            "the raw directory {} does not exist (start `sbwctl dev ingest --raw-dir {}` first, or pass --raw-dir)",
            args.raw_dir.display(),
            args.raw_dir.display()
        );
    }
    let Some(database_url) = &args.database_url else {
        anyhow::bail!("--database-url (or SBW_DATABASE_URL) is required");
    };
    let mut client = connect(database_url).await?;
    let options = RunOptions {
        reprocess_window_hours: args.reprocess_window_hours,
        shop: args.shop.settings(),
        ..RunOptions::default()
    };
    let source = RawStore::Directory(args.raw_dir);
    let (summary, code) = match sbw_etl::run(&source, &mut client, &request, &options).await {
        Ok(summary) => (summary, ExitCode::SUCCESS),
        Err(sbw_etl::EtlError::RunFailed { summary, .. }) => (*summary, ExitCode::FAILURE),
        Err(error) => return Err(error.into()),
    };
    match args.output.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        Output::Text => print_summary(&summary),
    }
    Ok(code)
}

pub(crate) fn print_summary(s: &RunSummary) {
    let run = s.run_id.map_or_else(String::new, |id| format!("run {id} "));
    match s.status {
        RunStatus::Skipped => {
            println!("skipped: {}", s.error.as_deref().unwrap_or_default());
            return;
        }
        RunStatus::Succeeded => println!("{run}succeeded in {}", span(s)),
        RunStatus::Partial => println!(
            "{run}loaded part of the backlog in {} (its time budget); the next run goes on",
            span(s)
        ),
        RunStatus::Failed => println!(
            "{run}FAILED after {}: {}",
            span(s),
            s.error.as_deref().unwrap_or_default()
        ),
    }
    println!(
        "  objects loaded {}, quarantined {}; events loaded {}, duplicates {}, rejected lines {}; sessions rebuilt {}",
        s.objects_loaded,
        s.objects_quarantined,
        s.events_loaded,
        s.duplicates,
        s.rejected_lines,
        s.sessions_rebuilt
    );
    if s.rejected_lines > 0 || s.objects_quarantined > 0 {
        println!("  see the etl_rejects table for what was refused and why");
    }
    if let Some(freshness) = s.freshness_minutes {
        println!("  data freshness {freshness:.1} min");
    }
}

fn span(s: &RunSummary) -> String {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok();
    match (parse(&s.started_at), parse(&s.finished_at)) {
        (Some(start), Some(end)) => {
            format!("{:.2} s", (end - start).num_milliseconds() as f64 / 1000.0)
        }
        _ => "?".to_owned(),
    }
}
