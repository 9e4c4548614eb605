//! Realistic raw events for the ETL benchmark: a local raw store (the keys the
//! ingest function writes) of seeded shopping sessions of the demo computer
//! store, generated one receive hour at a time so memory stays bounded.
//!
//! Besides the plain traffic, the raw store holds what the ETL must undo:
//! - duplicates (`--duplicates`, default 2 % of the events): an SDK retry of a
//!   request that was stored although its answer was lost: the same event
//!   (same `event_id`, same content) received again 5 s to 4 min later,
//!   with another `request_id`, in a later object;
//! - late events (`--late`, default 1 %): the SDK's offline queue (IndexedDB)
//!   replaying the tail of a visit 1 to 12 hours after it happened. They land
//!   in the partition of the hour they were received in, as the ingest
//!   function writes them; their event time is hours older, in sessions
//!   whose first events arrived long before.
//!
//! Usage: gen-raw-events --out DIR --events N [--hours H] [--seed S] [--per-object K]
//! Prints one JSON line of counts.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sbw_contract::rawkey::{object_key, ObjectKind};
use sbw_contract::StoredEvent;
use sbw_testkit::ndjson::stored_object;
use sbw_testkit::shoppers::Shoppers;
use uuid::Uuid;

#[derive(Parser)]
#[command(about = "Write realistic raw NDJSON.gz objects of shopping sessions")]
struct Args {
    /// The raw store directory (created; objects are added below `events/`).
    #[arg(long)]
    out: PathBuf,
    /// Lines written in all, duplicates included.
    #[arg(long)]
    events: u64,
    /// Receive hours the visits start in.
    #[arg(long, default_value_t = 72)]
    hours: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Events per object (one ingest request each, as the ingest function writes them).
    #[arg(long, default_value_t = 25)]
    per_object: usize,
    /// The first hour.
    #[arg(long, default_value = "2026-10-30T00:00:00Z")]
    start: DateTime<Utc>,
    /// Share of events received a second time.
    #[arg(long, default_value_t = 0.02)]
    duplicates: f64,
    /// Share of events the offline queue delivers hours late.
    #[arg(long, default_value_t = 0.01)]
    late: f64,
}

#[derive(Default)]
struct Counts {
    lines: u64,
    duplicates: u64,
    late: u64,
    sessions: u64,
    objects: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.hours > 0 && args.per_object > 0,
        "--hours and --per-object must be positive"
    );
    let mut shoppers = Shoppers::new(args.seed);
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed_0fd1);
    let start = args.start;
    // A late tail is about half a visit: twice as many visits go offline.
    let offline_visits = (args.late * 2.0).min(1.0);

    let mut counts = Counts::default();
    // Events waiting for their receive hour to close, by that hour.
    let mut waiting: BTreeMap<DateTime<Utc>, Vec<StoredEvent>> = BTreeMap::new();
    for h in 0..args.hours {
        let hour = start + Duration::hours(i64::from(h));
        let budget = args.events * u64::from(h + 1) / u64::from(args.hours);
        while counts.lines < budget {
            let at = hour + Duration::milliseconds(rng.random_range(0..3_600_000));
            let mut visit = shoppers.session(at);
            counts.sessions += 1;
            if rng.random_bool(offline_visits) {
                let cut = rng.random_range(0..visit.len());
                let delay = Duration::minutes(rng.random_range(60..12 * 60));
                for event in &mut visit[cut..] {
                    event.received_at += delay;
                }
                counts.late += (visit.len() - cut) as u64;
            }
            for event in visit {
                if counts.lines == args.events {
                    break;
                }
                counts.lines += 1;
                if counts.lines < args.events && rng.random_bool(args.duplicates) {
                    let mut copy = event.clone();
                    copy.received_at += Duration::milliseconds(rng.random_range(5_000..240_000));
                    copy.request_id = format!("{:032x}", rng.random::<u128>());
                    waiting
                        .entry(hour_of(copy.received_at))
                        .or_default()
                        .push(copy);
                    counts.lines += 1;
                    counts.duplicates += 1;
                }
                waiting
                    .entry(hour_of(event.received_at))
                    .or_default()
                    .push(event);
            }
        }
        // Visits of later hours are received later: this hour and earlier ones are complete.
        while let Some(entry) = waiting.first_entry() {
            if *entry.key() > hour {
                break;
            }
            write_hour(
                &args.out,
                entry.remove(),
                args.per_object,
                &mut rng,
                &mut counts,
            )?;
        }
    }
    for (_, events) in std::mem::take(&mut waiting) {
        write_hour(&args.out, events, args.per_object, &mut rng, &mut counts)?;
    }
    println!(
        "{}",
        serde_json::json!({
            "lines": counts.lines,
            "unique_events": counts.lines - counts.duplicates,
            "duplicates": counts.duplicates,
            "late": counts.late,
            "sessions": counts.sessions,
            "objects": counts.objects,
        })
    );
    Ok(())
}

fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp() - t.timestamp().rem_euclid(3600), 0).unwrap_or(t)
}

/// Writes one receive hour's events in receive order as objects of at most
/// `per_object` events; a retried event starts a new object (another request).
fn write_hour(
    root: &Path,
    mut events: Vec<StoredEvent>,
    per_object: usize,
    rng: &mut StdRng,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    events.sort_by(|a, b| (a.received_at, &a.request_id).cmp(&(b.received_at, &b.request_id)));
    let mut start = 0;
    let mut ids = HashSet::new();
    for (i, event) in events.iter().enumerate() {
        if i - start == per_object || !ids.insert(event.event_id) {
            write_object(root, &events[start..i], rng)?;
            counts.objects += 1;
            start = i;
            ids.clear();
            ids.insert(event.event_id);
        }
    }
    if start < events.len() {
        write_object(root, &events[start..], rng)?;
        counts.objects += 1;
    }
    Ok(())
}

fn write_object(root: &Path, events: &[StoredEvent], rng: &mut StdRng) -> anyhow::Result<()> {
    let id = Uuid::from_u128(rng.random());
    let path = root.join(object_key(ObjectKind::Events, events[0].received_at, id));
    let dir = path.parent().context("keys have directories")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&path, stored_object(events))
        .with_context(|| format!("writing {}", path.display()))
}
