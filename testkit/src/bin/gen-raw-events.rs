//! Realistic raw events for the benchmarks: a local raw store of the
//! simulated shoppers' visits (crate `sbw-shoppers`) over `--hours` receive
//! hours from `--start`, on the shop's daily rhythm, written as the ingest
//! function writes them, with what the ETL must undo: SDK retries (the same
//! events stored again seconds later, in another object) and offline
//! browsers' events delivered hours or days late, into later hours (those
//! received after the last hour are left out).
//!
//! Exactly `--events` lines are written (retried copies included); visits
//! are made one hour at a time, so memory stays bounded.
//!
//! Usage: gen-raw-events --out DIR --events N [--hours H] [--start T] [--seed S] [--per-object K]
//! Prints one JSON line of counts.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use sbw_shoppers::history::{self, History, Volume};
use sbw_shoppers::Shop;

/// Hashes the identifiers of benchmark data (no deployment reads them).
const HASH_KEY: &[u8] = b"gen-raw-events: benchmark identifier hashing key";

#[derive(Parser)]
#[command(about = "Write realistic raw NDJSON.gz objects of shopping visits")]
struct Args {
    /// The raw store directory (created; objects are added below `events/`).
    #[arg(long)]
    out: PathBuf,
    /// Lines written in all, retried copies included.
    #[arg(long)]
    events: u64,
    /// Receive hours the visits start in.
    #[arg(long, default_value_t = 72, value_parser = clap::value_parser!(u32).range(1..))]
    hours: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Most events per object: successive requests of an hour share one
    /// (a request is never split; 1 gives one object per request, as ingest writes them).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..))]
    per_object: u64,
    /// The first hour.
    #[arg(long, default_value = "2026-10-30T00:00:00Z")]
    start: DateTime<Utc>,
    /// The shop's time zone: the visits' daily rhythm.
    #[arg(long, default_value = "Asia/Ho_Chi_Minh")]
    timezone: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let end = args.start + Duration::hours(i64::from(args.hours));
    let history = History {
        from: args.start,
        to: end,
        volume: Volume::Lines(args.events),
        shop: Shop::new(sbw_shoppers::site::DEFAULT_ORIGIN, &args.timezone)?,
        seed: args.seed,
        // Late deliveries stay inside the hours (a window ending now has no future objects).
        received_until: Some(end),
        per_object: Some(args.per_object as usize),
    };
    let written = history::write(&history, &args.out, HASH_KEY)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}",
        serde_json::json!({
            "lines": written.lines,
            "unique_events": written.unique_events,
            "duplicates": written.duplicates,
            "late": written.late,
            "sessions": written.visits,
            "objects": written.objects,
        })
    );
    Ok(())
}
