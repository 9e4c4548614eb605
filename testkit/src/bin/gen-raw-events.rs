//! Realistic raw events for the benchmarks: a local raw store written by
//! [`sbw_testkit::raw_events`]. Prints one JSON line of counts.
//!
//! Usage: gen-raw-events --out DIR --events N [--hours H] [--start T] [--seed S] [--per-object K]

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Parser;
use sbw_shoppers::site::DEFAULT_TIMEZONE;
use sbw_testkit::raw_events::{
    counts_json, RawEvents, DEFAULT_HOURS, DEFAULT_PER_OBJECT, DEFAULT_SEED, DEFAULT_START,
};

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
    #[arg(long, default_value_t = DEFAULT_HOURS, value_parser = clap::value_parser!(u32).range(1..))]
    hours: u32,
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Most events per object: successive requests of an hour share one
    /// (a request is never split; 1 gives one object per request, as ingest writes them).
    #[arg(long, default_value_t = DEFAULT_PER_OBJECT, value_parser = clap::value_parser!(u64).range(1..))]
    per_object: u64,
    /// The first hour.
    #[arg(long, default_value = DEFAULT_START)]
    start: DateTime<Utc>,
    /// The shop's time zone: the visits' daily rhythm.
    #[arg(long, default_value = DEFAULT_TIMEZONE.name())]
    timezone: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spec = RawEvents {
        lines: args.events,
        hours: args.hours,
        start: args.start,
        seed: args.seed,
        per_object: args.per_object,
        timezone: args.timezone,
    };
    let written = spec.write(&args.out)?;
    println!("{}", counts_json(&written));
    Ok(())
}
