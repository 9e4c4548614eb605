//! Back-filled history: objects as the ingest function writes them (keys by
//! receive hour, one request each, enriched lines), the volume asked for,
//! retried copies and late deliveries, the shop's rhythm, the same objects
//! for the same seed, and clear errors.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use sbw_contract::{EventType, StoredEvent};
use sbw_shoppers::history::{self, History, HistoryError, Volume, Written};
use sbw_shoppers::Shop;
use sbw_testkit::ndjson::{files_below, gunzip_lines};

const HASH_KEY: &[u8] = b"the identifier hashing key of these tests";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

fn history(from: DateTime<Utc>, to: DateTime<Utc>, volume: Volume) -> History {
    History {
        from,
        to,
        volume,
        shop: Shop::default(),
        seed: 3,
        received_until: None,
        per_object: None,
    }
}

/// Every object below `root`: its key (relative path) and bytes.
fn objects(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_below(root)
        .into_iter()
        .map(|path| {
            let key = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (key, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// The stored events of one object, as the ETL reads them.
fn lines(gzipped: &[u8]) -> Vec<StoredEvent> {
    gunzip_lines(gzipped)
        .into_iter()
        .map(|line| serde_json::from_value(line).expect("a stored event"))
        .collect()
}

fn write(history: &History) -> (tempfile::TempDir, Written) {
    let dir = tempfile::tempdir().unwrap();
    let written = history::write(history, dir.path(), HASH_KEY).unwrap();
    (dir, written)
}

#[test]
fn objects_are_what_ingest_writes_one_per_request_under_its_receive_hour() {
    let until = at(18, 12);
    let history = History {
        received_until: Some(until),
        ..history(at(16, 12), until, Volume::LinesPerDay(6_000))
    };
    let (dir, written) = write(&history);
    let objects = objects(dir.path());
    assert_eq!(written.objects, objects.len() as u64);
    assert_eq!(written.requests, written.objects);
    let mut seen: HashMap<uuid::Uuid, u32> = HashMap::new();
    let mut all = Vec::new();
    for (key, bytes) in &objects {
        let events = lines(bytes);
        assert!(!events.is_empty());
        let first = &events[0];
        assert_eq!(
            key.rsplit_once('/').unwrap().0,
            format!(
                "events/year={}/month={:02}/day={:02}/hour={:02}",
                first.received_at.year(),
                first.received_at.month(),
                first.received_at.day(),
                first.received_at.hour()
            ),
            "{key}"
        );
        assert!(
            key.rsplit('/').next().unwrap().starts_with("events-"),
            "{key}"
        );
        assert!(key.ends_with(".ndjson.gz"), "{key}");
        // One request: one receive time, one request id, one visitor.
        assert!(events.iter().all(|e| e.received_at == first.received_at
            && e.request_id == first.request_id
            && e.anonymous_id_hash == first.anonymous_id_hash));
        for event in &events {
            *seen.entry(event.event_id).or_default() += 1;
            assert!(event.received_at <= until);
        }
        all.extend(events);
    }
    assert_eq!(written.lines, all.len() as u64);
    assert_eq!(written.unique_events, seen.len() as u64);
    assert_eq!(written.duplicates, written.lines - written.unique_events);
    assert!(seen.values().all(|&copies| copies <= 2));
    assert!(written.duplicates > 0, "{written:?}");
    assert!(
        written.not_yet_arrived > 0,
        "visits of the last minutes are still on their way"
    );
    // Two days of about 6,000 lines each.
    assert!((9_000..15_000).contains(&written.lines), "{written:?}");
    // Late lines happened long before they were received.
    let late = all
        .iter()
        .filter(|e| e.received_at - e.ts > Duration::minutes(19))
        .count();
    assert!(late as u64 >= written.late, "{late} vs {written:?}");
    let visits_from = all
        .iter()
        .filter(|e| e.event_type == EventType::PageView)
        .map(|e| e.ts)
        .min()
        .unwrap();
    assert!(visits_from >= history.from && visits_from < history.from + Duration::minutes(30));
    assert_eq!(
        written.first_received_at,
        all.iter().map(|e| e.received_at).min()
    );
    assert_eq!(written.refused, 0);
}

#[test]
fn the_same_seed_writes_the_same_objects_and_another_seed_others() {
    let history = history(at(20, 0), at(20, 6), Volume::Lines(3_000));
    let (first, _) = write(&history);
    let (again, _) = write(&history);
    assert_eq!(objects(first.path()), objects(again.path()));
    let (other, _) = write(&History { seed: 4, ..history });
    let keys = |dir: &tempfile::TempDir| objects(dir.path()).into_keys().collect::<HashSet<_>>();
    assert!(keys(&first).is_disjoint(&keys(&other)));
}

#[test]
fn a_volume_of_lines_is_exact_and_objects_share_requests_up_to_the_limit() {
    let history = History {
        per_object: Some(25),
        ..history(at(20, 0), at(21, 0), Volume::Lines(5_000))
    };
    let (dir, written) = write(&history);
    assert_eq!(written.lines, 5_000);
    let objects = objects(dir.path());
    let mut total = 0;
    for bytes in objects.values() {
        let events = lines(bytes);
        total += events.len();
        let requests: HashSet<_> = events.iter().map(|e| &e.request_id).collect();
        // Several requests up to 25 events, or one larger request alone.
        assert!(
            events.len() <= 25 || requests.len() == 1,
            "{} events",
            events.len()
        );
        let ids: HashSet<_> = events.iter().map(|e| e.event_id).collect();
        assert_eq!(
            ids.len(),
            events.len(),
            "a retry shares an object with its original"
        );
    }
    assert_eq!(total, 5_000);
    assert!(written.objects < written.requests * 3 / 4, "{written:?}");
}

#[test]
fn visits_follow_the_shops_day_and_week_in_its_time_zone() {
    // Eight weeks from Monday 2026-10-05 00:00 in Ho Chi Minh City (UTC+7).
    let from = Utc.with_ymd_and_hms(2026, 10, 4, 17, 0, 0).unwrap();
    let history = history(from, from + Duration::weeks(8), Volume::LinesPerDay(2_500));
    let (dir, written) = write(&history);
    let mut starts: HashMap<uuid::Uuid, DateTime<Utc>> = HashMap::new();
    for bytes in objects(dir.path()).values() {
        for event in lines(bytes) {
            if event.event_type == EventType::PageView && !event.device.bot {
                let start = starts.entry(event.session_id).or_insert(event.ts);
                *start = (*start).min(event.ts);
            }
        }
    }
    assert!(
        starts.len() > 1_500,
        "{} visits ({written:?})",
        starts.len()
    );
    // Offline browsers delivered some of it hours or days later.
    assert!(written.late > 0, "{written:?}");
    // Visits by weekend or not, and local hour.
    let mut by_hour: HashMap<(bool, u32), u32> = HashMap::new();
    for start in starts.values() {
        let local = start.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
        let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
        *by_hour.entry((weekend, local.hour())).or_default() += 1;
    }
    let hours = |weekend: bool, hours: std::ops::Range<u32>| -> f64 {
        hours
            .map(|h| f64::from(by_hour.get(&(weekend, h)).copied().unwrap_or(0)))
            .sum()
    };
    let evening = hours(false, 20..21) + hours(true, 20..21);
    let night = hours(false, 3..4) + hours(true, 3..4);
    assert!(
        evening > 8.0 * night.max(1.0),
        "20:00 {evening}, 03:00 {night}"
    );
    // Weekends start later and stay busy through the afternoon.
    let weekday = hours(false, 14..17) / hours(false, 6..9);
    let weekend = hours(true, 14..17) / hours(true, 6..9);
    assert!(
        weekend > 1.4 * weekday,
        "afternoon/morning: weekdays {weekday:.2}, weekends {weekend:.2}"
    );
}

#[test]
fn bad_requests_are_errors_that_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let empty = history(at(20, 0), at(20, 0), Volume::Lines(10));
    let error = history::write(&empty, dir.path(), HASH_KEY).unwrap_err();
    assert!(error.to_string().contains("is not before"), "{error}");
    let no_objects = History {
        per_object: Some(0),
        ..history(at(20, 0), at(20, 1), Volume::Lines(10))
    };
    assert!(matches!(
        history::write(&no_objects, dir.path(), HASH_KEY),
        Err(HistoryError::EmptyObjects)
    ));
    let weak = history::write(
        &history(at(20, 0), at(20, 1), Volume::Lines(10)),
        dir.path(),
        b"short",
    );
    assert!(weak.unwrap_err().to_string().contains("at least 32 bytes"));
    // A raw store below a file cannot be made.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let under_a_file: PathBuf = file.join("raw");
    let error = history::write(
        &history(at(20, 0), at(20, 1), Volume::Lines(10)),
        &under_a_file,
        HASH_KEY,
    )
    .unwrap_err();
    assert!(
        error.to_string().starts_with("cannot create the raw store"),
        "{error}"
    );
    assert!(error.to_string().contains("a-file/raw"), "{error}");
}
