//! Back-filled history: the visits of a span of time, on the shop's daily
//! and weekly rhythm, written to a local raw store exactly as the ingest
//! function writes them — each request's accepted events enriched by the
//! contract's code, one NDJSON.gz object per request (ingest's encoder and
//! atomic writes) under the hour it was received in. Retried requests are
//! stored twice (another Lambda container answered the retry) and offline
//! visits' last events land in later hours, as they would.
//!
//! Visits are made one hour at a time and each receive hour is written as
//! soon as no later visit can add to it, so memory stays small whatever the span.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sbw_contract::pii::WeakHashKey;
use sbw_contract::rawkey::{hour_floor, object_key, ObjectKind};
use sbw_contract::StoredEvent;
use sbw_rawstore::directory::write_atomically;
use sbw_rawstore::ndjson;
use sbw_rawstore::StoreError;
use serde::Serialize;

use crate::receive::Receiver;
use crate::rhythm::Rhythm;
use crate::sdk::{Delivery, Request};
use crate::shoppers::Shoppers;
use crate::site::Shop;

/// How much traffic to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volume {
    /// Exactly this many stored lines (retried copies included) over the
    /// whole span, spread by the rhythm; the last request is cut to fit.
    /// Requests received after `received_until` do not count.
    Lines(u64),
    /// About this many lines on an average day; each day its weekday's
    /// share and its own seeded variation.
    LinesPerDay(u64),
}

/// What to write.
#[derive(Debug, Clone)]
pub struct History {
    /// Visits start at or after `from` and before `to`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub volume: Volume,
    pub shop: Shop,
    pub seed: u64,
    /// Requests received after this are left out: they have not arrived yet
    /// (`Some(now)` for history that ends now). `None` writes them all.
    pub received_until: Option<DateTime<Utc>>,
    /// `None`: one object per request, as ingest writes them. `Some(k)`:
    /// successive requests of an hour share an object of at most `k` events
    /// (fewer, larger objects for benchmarks; a request is never split).
    pub per_object: Option<usize>,
}

impl History {
    /// The history `sbwctl dev seed` writes: the last `days` whole local
    /// days of `shop` before today and today until `now`, about
    /// `events_per_day` stored events a day, nothing received after `now`,
    /// one object per request.
    pub fn last_days(
        days: u32,
        now: DateTime<Utc>,
        events_per_day: u64,
        shop: Shop,
        seed: u64,
    ) -> History {
        let today = now.with_timezone(&shop.timezone).date_naive();
        let first_day = today - chrono::Days::new(u64::from(days));
        let from = shop
            .timezone
            .from_local_datetime(&first_day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|midnight| midnight.with_timezone(&Utc))
            // A midnight that daylight saving time skips: `days` days ago, to the hour.
            .unwrap_or_else(|| hour_floor(now - Duration::days(i64::from(days))));
        History {
            from,
            to: now,
            volume: Volume::LinesPerDay(events_per_day),
            shop,
            seed,
            received_until: Some(now),
            per_object: None,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Written {
    pub visits: u64,
    pub crawler_visits: u64,
    pub requests: u64,
    pub objects: u64,
    /// Stored events, retried copies included: NDJSON lines.
    pub lines: u64,
    pub unique_events: u64,
    /// Lines that are a retried copy of an event stored before.
    pub duplicates: u64,
    /// Lines an offline visit delivered hours or days after it happened.
    pub late: u64,
    /// Events the contract refused (zero unless the shoppers break the contract).
    pub refused: u64,
    /// Events sent after `received_until`, not written.
    pub not_yet_arrived: u64,
    pub first_received_at: Option<DateTime<Utc>>,
    pub last_received_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("the span to fill is empty: {from} is not before {to}")]
    EmptySpan {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    #[error("objects must hold at least one event (per_object is 0)")]
    EmptyObjects,
    #[error(transparent)]
    HashKey(#[from] WeakHashKey),
    #[error("cannot create the raw store {dir}: {source}")]
    RawDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the raw store: {0}")]
    Write(#[from] StoreError),
}

/// Mixed into the seed for the random draws besides the visits' own, so
/// they do not follow the same sequence.
const OBJECT_NAMES: u64 = 0x6f62_6a65_6374_7321;
const VISIT_STARTS: u64 = 0x7374_6172_7473_2121;

/// The hours of the span with the part of each that is inside it.
fn hours_of(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut hours = Vec::new();
    let mut hour = hour_floor(from);
    while hour < to {
        let next = hour + Duration::hours(1);
        hours.push((hour.max(from), next.min(to)));
        hour = next;
    }
    hours
}

/// Writes `history` below `raw_dir`, hashing identifiers with `hash_key`.
pub fn write(history: &History, raw_dir: &Path, hash_key: &[u8]) -> Result<Written, HistoryError> {
    if history.from >= history.to {
        return Err(HistoryError::EmptySpan {
            from: history.from,
            to: history.to,
        });
    }
    if history.per_object == Some(0) {
        return Err(HistoryError::EmptyObjects);
    }
    let mut store = Store {
        root: raw_dir.to_path_buf(),
        receiver: Receiver::new(hash_key)?,
        names: StdRng::seed_from_u64(history.seed ^ OBJECT_NAMES),
        per_object: history.per_object,
        written: Written::default(),
    };
    std::fs::create_dir_all(raw_dir).map_err(|source| HistoryError::RawDir {
        dir: raw_dir.to_path_buf(),
        source,
    })?;

    let rhythm = Rhythm::new(history.shop.timezone, history.seed);
    let hours = hours_of(history.from, history.to);
    // Each hour's share of the span's traffic: its share of an average day, for the part inside the span.
    let weights: Vec<f64> = hours
        .iter()
        .map(|&(start, end)| {
            let inside = (end - start).num_milliseconds() as f64 / 3_600_000.0;
            rhythm.hour_share(hour_floor(start)) * inside
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut shoppers = Shoppers::for_shop(history.seed, history.shop.clone());
    let mut starts = StdRng::seed_from_u64(history.seed ^ VISIT_STARTS);
    // Requests waiting for their receive hour to be complete, by that hour.
    let mut waiting: BTreeMap<DateTime<Utc>, Vec<Request>> = BTreeMap::new();
    // Lines made so far: what the volume counts.
    let mut made = 0u64;
    let mut cumulative = 0.0;
    'hours: for (&(start, end), weight) in hours.iter().zip(&weights) {
        cumulative += weight;
        let target = match history.volume {
            Volume::Lines(lines) => (lines as f64 * cumulative / total).round() as u64,
            Volume::LinesPerDay(lines) => (lines as f64 * cumulative).round() as u64,
        };
        while made < target {
            let span = (end - start).num_milliseconds().max(1);
            let visit =
                shoppers.visit(start + Duration::milliseconds(starts.random_range(0..span)));
            store.written.visits += 1;
            store.written.crawler_visits += u64::from(visit.crawler);
            for mut request in visit.requests {
                let mut lines = request.events.len() as u64;
                let arrived = history
                    .received_until
                    .is_none_or(|until| request.received_at <= until);
                if !arrived {
                    store.written.not_yet_arrived += lines;
                    // An exact volume is what is written; a daily one, the traffic made.
                    if let Volume::LinesPerDay(_) = history.volume {
                        made += lines;
                    }
                    continue;
                }
                if let Volume::Lines(limit) = history.volume {
                    if made + lines > limit {
                        lines = limit - made;
                        request.events.truncate(lines as usize);
                    }
                }
                if lines == 0 {
                    break 'hours;
                }
                made += lines;
                waiting
                    .entry(hour_floor(request.received_at))
                    .or_default()
                    .push(request);
            }
        }
        // Later visits start later: every receive hour up to this one is complete.
        while let Some(entry) = waiting.first_entry() {
            if *entry.key() > hour_floor(start) {
                break;
            }
            store.write_hour(entry.remove())?;
        }
    }
    for (_, requests) in std::mem::take(&mut waiting) {
        store.write_hour(requests)?;
    }
    Ok(store.written)
}

struct Store {
    root: PathBuf,
    receiver: Receiver,
    /// Draws the objects' names, so the same seed writes the same keys.
    names: StdRng,
    per_object: Option<usize>,
    written: Written,
}

impl Store {
    /// One receive hour's requests, in the order they arrived.
    fn write_hour(&mut self, mut requests: Vec<Request>) -> Result<(), HistoryError> {
        requests
            .sort_by(|a, b| (a.received_at, &a.request_id).cmp(&(b.received_at, &b.request_id)));
        let mut object: Vec<StoredEvent> = Vec::new();
        let mut ids = HashSet::new();
        for request in &requests {
            let received = match self.receiver.receive(request) {
                Ok(received) => received,
                Err(_) => {
                    self.written.refused += request.events.len() as u64;
                    continue;
                }
            };
            self.count(request, &received.events, received.refused.len());
            let full = match self.per_object {
                None => true,
                Some(limit) => {
                    object.len() + received.events.len() > limit
                        || received.events.iter().any(|e| ids.contains(&e.event_id))
                }
            };
            if full && !object.is_empty() {
                self.write_object(&object)?;
                object.clear();
                ids.clear();
            }
            ids.extend(received.events.iter().map(|e| e.event_id));
            object.extend(received.events);
        }
        if !object.is_empty() {
            self.write_object(&object)?;
        }
        Ok(())
    }

    fn count(&mut self, request: &Request, stored: &[StoredEvent], refused: usize) {
        let written = &mut self.written;
        let lines = stored.len() as u64;
        written.requests += 1;
        written.lines += lines;
        written.refused += refused as u64;
        match request.delivery {
            Delivery::Retry => written.duplicates += lines,
            Delivery::Late => written.late += lines,
            Delivery::OnTime => {}
        }
        written.unique_events = written.lines - written.duplicates;
        if lines > 0 {
            let at = request.received_at;
            written.first_received_at = Some(written.first_received_at.map_or(at, |t| t.min(at)));
            written.last_received_at = Some(written.last_received_at.map_or(at, |t| t.max(at)));
        }
    }

    /// One object under the receive hour of its first event, as ingest names them.
    fn write_object(&mut self, events: &[StoredEvent]) -> Result<(), HistoryError> {
        let mut lines = Vec::with_capacity(events.len() * 1024);
        for event in events {
            ndjson::push_line(&mut lines, event);
        }
        let name = uuid::Builder::from_random_bytes(self.names.random()).into_uuid();
        let key = object_key(ObjectKind::Events, events[0].received_at, name);
        write_atomically(&self.root.join(key), &ndjson::gzip(&lines))?;
        self.written.objects += 1;
        Ok(())
    }
}
