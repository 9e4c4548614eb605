//! `sbwctl dev seed`: the simulated shoppers' history of the last days in a
//! local raw store, written as the ingest server writes it, then (with
//! --database-url) one ETL run so the dashboard has it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use sbw_etl::{RawStore, RunOptions, RunRequest, RunStatus, ShopSettings, Trigger};
use sbw_shoppers::history::{self, History, Written};
use sbw_shoppers::Shop;

use crate::commands::etl;

#[derive(Args)]
pub struct SeedArgs {
    /// Whole days of history before today (today until now comes with them): 1 to 400.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=400))]
    days: u32,
    /// Stored events on an average day (weekends and each day's own
    /// variation move it; retried copies count): 100 to 10,000,000.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    events_per_day: u64,
    /// The raw store to fill: what `dev up` (<dir>/raw) and `dev ingest --raw-dir` write.
    #[arg(long, default_value = ".sbw/dev/raw")]
    raw_dir: PathBuf,
    /// The identifier hashing key, shared with the ingest server writing the
    /// same raw store; created if missing [default: <raw-dir>/../dev-hash-key].
    #[arg(long)]
    hash_key_file: Option<PathBuf>,
    /// The shop's time zone (IANA name): visits follow its days and evenings.
    #[arg(long, env = "SBW_TIMEZONE", default_value = sbw_shoppers::site::DEFAULT_TIMEZONE.name())]
    timezone: String,
    /// The demo shop's origin, in the visits' page URLs.
    #[arg(long, default_value = sbw_shoppers::site::DEFAULT_ORIGIN)]
    shop_origin: String,
    /// Seed of the simulated shoppers: the same seed and days give the same visits.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Then load the raw store into this warehouse with one ETL run (as
    /// `sbwctl etl run`), e.g. postgresql://sbw_etl@127.0.0.1:5432/sbw.
    /// It is reached before anything is written.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

pub fn run(args: SeedArgs) -> anyhow::Result<ExitCode> {
    let shop = Shop::new(&args.shop_origin, &args.timezone)?;
    let hash_key_file = args.hash_key_file.clone().unwrap_or_else(|| {
        args.raw_dir
            .parent()
            .unwrap_or(&args.raw_dir)
            .join("dev-hash-key")
    });
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let mut warehouse = match &args.database_url {
            Some(url) => Some(etl::connect(url).await?),
            None => None,
        };
        // The raw store before the key beside it: the directory the user named is the likelier problem.
        std::fs::create_dir_all(&args.raw_dir).with_context(|| {
            format!("cannot create the raw store {}", args.raw_dir.display())
        })?;
        let key = sbw_ingest::local::read_or_create_key(&hash_key_file)?;
        let now = Utc::now();
        let history = History::last_days(args.days, now, args.events_per_day, shop, args.seed);
        let started = Instant::now();
        let raw_dir = args.raw_dir.clone();
        let span = (history.from, history.to);
        let written = tokio::task::spawn_blocking(move || {
            history::write(&history, &raw_dir, key.as_bytes())
        })
        .await
        .context("writing the history")??;
        print_written(&args, &written, span, started.elapsed().as_secs_f64());
        let Some(client) = warehouse.as_mut() else {
            println!(
                "load it with `sbwctl etl run --raw-dir {} --database-url URL`, or let `sbwctl dev up` load it",
                args.raw_dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        };
        load(client, &args, &written).await
    })
}

fn print_written(
    args: &SeedArgs,
    written: &Written,
    (from, to): (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    seconds: f64,
) {
    println!(
        "wrote {} events ({} unique, {} retried copies, {} delivered late by offline visits) of {} visits ({} by crawlers) in {} objects to {} in {:.1} s ({:.0} events/s)",
        written.lines,
        written.unique_events,
        written.duplicates,
        written.late,
        written.visits,
        written.crawler_visits,
        written.objects,
        args.raw_dir.display(),
        seconds,
        written.lines as f64 / seconds.max(1e-3),
    );
    println!(
        "  visits from {} to {} ({} days before today and today so far, {})",
        from.format("%Y-%m-%d %H:%M UTC"),
        to.format("%Y-%m-%d %H:%M UTC"),
        args.days,
        args.timezone
    );
    if written.refused > 0 {
        println!(
            "  {} events were refused by the event contract and not written: a bug in the simulated shoppers",
            written.refused
        );
    }
}

/// One ETL run over what was written: the first run of a warehouse loads
/// the whole raw store; a warehouse that has run before gets the seeded
/// hours as a backfill (its incremental runs only look back a few hours).
async fn load(
    client: &mut tokio_postgres::Client,
    args: &SeedArgs,
    written: &Written,
) -> anyhow::Result<ExitCode> {
    sbw_etl::migrate::migrate(client).await?;
    let loaded_before = sbw_etl::warehouse::latest_listing(client).await?.listed_to;
    let request = match (
        loaded_before,
        written.first_received_at,
        written.last_received_at,
    ) {
        (Some(_), Some(first), Some(last)) => RunRequest::backfill(first, last)?,
        _ => RunRequest::Incremental(Trigger::Manual),
    };
    let options = RunOptions {
        shop: ShopSettings {
            timezone: args.timezone.clone(),
            ..ShopSettings::default()
        },
        ..RunOptions::default()
    };
    let source = RawStore::Directory(args.raw_dir.clone());
    let summary = match sbw_etl::run(&source, client, &request, &options).await {
        Ok(summary) => summary,
        Err(sbw_etl::EtlError::RunFailed { summary, .. }) => *summary,
        Err(error) => return Err(error.into()),
    };
    etl::print_summary(&summary);
    Ok(match summary.status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}
