//! The disaster-recovery rebuild of runbooks/disaster-recovery.md on the real
//! PostgreSQL: a warehouse loaded the way the schedule loads it (a run every
//! few hours while traffic arrives, objects landing in an hour after it was
//! listed, retried and late events), then dropped and rebuilt by one backfill
//! of the same raw store, holds the same facts, sessions and rollups, HLL
//! visitor sketches byte for byte.

mod common;

use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use common::{assert_same_warehouse, rows_of, snapshot, Warehouse};
use sbw_contract::StoredEvent;
use sbw_etl::{RunOptions, RunRequest, RunStatus, ShopSettings};
use sbw_testkit::ndjson::{stored_object, write_raw_object};
use sbw_testkit::postgres::TestDb;
use sbw_testkit::shoppers::Shoppers;

/// Events per raw object (one ingest request carries a few to a few dozen).
const PER_OBJECT: usize = 20;
/// Hours between the simulated scheduled runs.
const RUN_EVERY_HOURS: i64 = 3;

fn options() -> RunOptions {
    RunOptions {
        shop: ShopSettings {
            timezone: "Asia/Ho_Chi_Minh".to_owned(),
            ..ShopSettings::default()
        },
        ..RunOptions::default()
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 30, 17, 0, 0).unwrap()
}

/// Three days of visits across a month's end in the shop's time zone, every
/// 37th event retried (a second copy received 40 s later) and every 53rd
/// delivered 5 hours late from the SDK's offline queue, in receive order.
fn traffic() -> Vec<StoredEvent> {
    let mut shoppers = Shoppers::new(18);
    let mut events = Vec::new();
    for visit in 0..300 {
        events.extend(shoppers.session(start() + Duration::minutes(visit * 14)));
    }
    let mut retries = Vec::new();
    for (i, event) in events.iter_mut().enumerate() {
        if i % 53 == 0 {
            event.received_at += Duration::hours(5);
        }
        if i % 37 == 0 {
            let mut retry = event.clone();
            retry.received_at += Duration::seconds(40);
            retry.request_id = format!("{}-retry", retry.request_id);
            retries.push(retry);
        }
    }
    events.extend(retries);
    events.sort_by_key(|e| e.received_at);
    events
}

fn hour_of(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(Duration::hours(1)).unwrap()
}

/// Writes `events` (in receive order) as objects of one receive hour each.
fn write_objects(raw: &std::path::Path, events: &[StoredEvent]) {
    for hour in events.chunk_by(|a, b| hour_of(a.received_at) == hour_of(b.received_at)) {
        for object in hour.chunks(PER_OBJECT) {
            write_raw_object(raw, hour_of(object[0].received_at), &stored_object(object));
        }
    }
}

async fn load(w: &mut Warehouse, from: DateTime<Utc>, to: DateTime<Utc>) {
    let summary = w
        .run_request(RunRequest::backfill(from, to).unwrap(), options())
        .await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
}

#[tokio::test]
async fn a_warehouse_rebuilt_from_the_raw_store_by_one_backfill_equals_the_original() {
    let events = traffic();
    let first_hour = hour_of(events[0].received_at);
    let last_hour = hour_of(events.last().unwrap().received_at);
    assert!(last_hour - first_hour >= Duration::days(3));

    // The original: a run every RUN_EVERY_HOURS at half past, over the hours
    // since the last one less the reprocess window; the objects received
    // before each run are in the store, those of its second half-hour land
    // after it, in an hour it has already listed.
    let mut original = Warehouse::new().await;
    let window = Duration::hours(i64::from(options().reprocess_window_hours));
    let mut written = 0;
    let mut listed_until = first_hour;
    let mut run_at = first_hour + Duration::minutes(30);
    let mut runs = 0;
    while written < events.len() {
        let arrived = events[written..].partition_point(|e| e.received_at < run_at);
        write_objects(original.raw(), &events[written..written + arrived]);
        written += arrived;
        let now_hour = hour_of(run_at);
        load(&mut original, listed_until - window, now_hour).await;
        listed_until = now_hour;
        run_at += Duration::hours(RUN_EVERY_HOURS);
        runs += 1;
    }
    load(&mut original, listed_until - window, last_hour).await;
    assert!(runs >= 24, "{runs} scheduled runs");
    let expected = snapshot(&original.client).await;
    let sessions = rows_of(&expected, "fact_sessions");
    assert!(sessions.len() >= 250, "{} sessions", sessions.len());
    let facts = rows_of(&expected, "fact_events");
    let unique: std::collections::HashSet<_> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(facts.len(), unique.len(), "every event once");

    // Disaster: the warehouse is gone; the raw store is not.
    let Warehouse { db, client, raw } = original;
    drop(client);
    drop(db);

    // The runbook: an empty warehouse, one backfill of every raw hour.
    let db = TestDb::create().await;
    let client = db.etl_client().await;
    let mut rebuilt = Warehouse { db, client, raw };
    let summary = rebuilt
        .run_request(
            RunRequest::backfill(first_hour, last_hour).unwrap(),
            options(),
        )
        .await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.events_loaded, unique.len() as u64);
    assert_eq!(summary.duplicates, (events.len() - unique.len()) as u64);

    let actual = snapshot(&rebuilt.client).await;
    assert_same_warehouse(&expected, &actual);
}
