//! Realistic raw stores for the benchmarks: the simulated shoppers' visits
//! (crate `sbw-shoppers`) over some receive hours, on the shop's daily
//! rhythm, written as the ingest function writes them, with what the ETL
//! must undo: SDK retries (the same events stored again seconds later, in
//! another object) and offline browsers' events delivered hours or days
//! late, into later hours (those received after the last hour are left out).
//!
//! Exactly [`RawEvents::lines`] lines are written (retried copies included);
//! visits are made one hour at a time, so memory stays bounded.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sbw_shoppers::history::{self, History, Volume, Written};
use sbw_shoppers::Shop;

/// Hashes the identifiers of benchmark data (no deployment reads them).
const HASH_KEY: &[u8] = b"gen-raw-events: benchmark identifier hashing key";

/// What [`RawEvents::new`] and `gen-raw-events` write unless told otherwise:
/// 72 receive hours from 2026-10-30, 25 events per object, in the demo shop's
/// time zone.
pub const DEFAULT_HOURS: u32 = 72;
pub const DEFAULT_START: &str = "2026-10-30T00:00:00Z";
pub const DEFAULT_SEED: u64 = 1;
pub const DEFAULT_PER_OBJECT: u64 = 25;

/// What to write.
#[derive(Debug, Clone)]
pub struct RawEvents {
    /// Lines written in all, retried copies included.
    pub lines: u64,
    /// Receive hours the visits start in, from `start`.
    pub hours: u32,
    pub start: DateTime<Utc>,
    pub seed: u64,
    /// Most events per object: successive requests of an hour share one
    /// (a request is never split; 1 gives one object per request).
    pub per_object: u64,
    /// The shop's time zone: the visits' daily rhythm.
    pub timezone: String,
}

impl RawEvents {
    /// `lines` with the defaults above.
    pub fn new(lines: u64) -> RawEvents {
        RawEvents {
            lines,
            hours: DEFAULT_HOURS,
            start: DateTime::parse_from_rfc3339(DEFAULT_START)
                .expect("a valid time")
                .to_utc(),
            seed: DEFAULT_SEED,
            per_object: DEFAULT_PER_OBJECT,
            timezone: sbw_shoppers::site::DEFAULT_TIMEZONE.name().to_owned(),
        }
    }

    /// Writes the raw store into `out` (created; objects go below `events/`).
    pub fn write(&self, out: &Path) -> anyhow::Result<Written> {
        let end = self.start + Duration::hours(i64::from(self.hours));
        let history = History {
            from: self.start,
            to: end,
            volume: Volume::Lines(self.lines),
            shop: Shop::new(sbw_shoppers::site::DEFAULT_ORIGIN, &self.timezone)?,
            seed: self.seed,
            // Late deliveries stay inside the hours (a window ending now has no future objects).
            received_until: Some(end),
            per_object: Some(self.per_object as usize),
        };
        history::write(&history, out, HASH_KEY)
            .with_context(|| format!("writing {}", out.display()))
    }
}

/// The counts of a written store, as `gen-raw-events` prints them.
pub fn counts_json(written: &Written) -> serde_json::Value {
    serde_json::json!({
        "lines": written.lines,
        "unique_events": written.unique_events,
        "duplicates": written.duplicates,
        "late": written.late,
        "sessions": written.visits,
        "objects": written.objects,
    })
}
