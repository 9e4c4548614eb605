//! A backlog (a first run over months of raw data, a recovery after days of
//! failed runs) is loaded over as many runs as it takes, each within its
//! time budget and each further than the last; and poison objects (one huge
//! line, a decompression bomb, lines no warehouse can hold) are quarantined
//! without ending the run.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{event, texts, Warehouse};
use sbw_contract::EventType;
use sbw_etl::{RunOptions, RunRequest, RunStatus, Trigger};
use sbw_rawstore::decode::DecodeLimits;
use sbw_testkit::ndjson::{gzip, stored_object, write_raw_object};

const HOURS: i64 = 30;

async fn watermark(w: &Warehouse) -> Option<DateTime<Utc>> {
    sbw_etl::warehouse::latest_listing(&w.client)
        .await
        .unwrap()
        .listed_to
}

#[tokio::test]
async fn a_backlog_is_loaded_over_runs_within_their_budget_each_going_further_exactly_once() {
    let mut w = Warehouse::new().await;
    let now = Utc::now();
    let mut written = 0;
    for hours_ago in 0..HOURS {
        let received = now - chrono::Duration::hours(hours_ago + 1);
        for visit in 0..2 {
            let events: Vec<_> = (0..3)
                .map(|i| {
                    let ts = received - chrono::Duration::minutes(i);
                    let mut e = event(1, EventType::PageView, ts);
                    e.session_id = uuid::Uuid::from_u128((hours_ago * 2 + visit) as u128);
                    e
                })
                .collect();
            written += events.len() as u64;
            w.write(received, &events);
        }
    }
    // No time at all: each run lists what the last one did again (the
    // reprocess window) and one hour window beyond it, then stops.
    let options = RunOptions {
        time_budget: Some(Duration::ZERO),
        ..RunOptions::default()
    };
    let mut loaded = 0;
    let mut runs = 0;
    let mut previous = None;
    loop {
        let summary = w
            .run_request(RunRequest::Incremental(Trigger::Schedule), options.clone())
            .await;
        runs += 1;
        loaded += summary.events_loaded;
        assert_eq!(summary.duplicates, 0, "{summary:?}");
        let reached = watermark(&w).await;
        assert!(
            reached > previous,
            "run {runs}: {reached:?} after {previous:?}"
        );
        previous = reached;
        if summary.status == RunStatus::Succeeded {
            break;
        }
        assert_eq!(summary.status, RunStatus::Partial, "{summary:?}");
        // A partial run does not count as fresh: nothing was ever listed through its hour.
        assert_eq!(summary.loaded_through, None, "{summary:?}");
        assert!(runs <= HOURS + 2, "{runs} runs and not done");
    }
    assert!(runs >= HOURS - 1, "{runs} runs for {HOURS} hours");
    assert_eq!(loaded, written);
    assert_eq!(w.count("fact_events").await, written as i64);
    let statuses = texts(
        &w.client,
        "SELECT DISTINCT status FROM etl_runs ORDER BY 1",
        &[],
    )
    .await;
    assert_eq!(statuses, ["partial", "succeeded"]);
}

#[tokio::test]
async fn poison_objects_are_quarantined_with_their_reason_and_the_rest_is_loaded() {
    let mut w = Warehouse::new().await;
    let hour: DateTime<Utc> = "2026-11-20T08:00:00Z".parse().unwrap();
    let good = event(1, EventType::PageView, hour);
    let later = event(1, EventType::PageView, hour + chrono::Duration::minutes(1));
    w.write(hour, std::slice::from_ref(&good));

    // One line of 4 MiB (a stored event is at most a request body's worth)
    // between two good lines. Gzip members concatenated are one stream:
    // a MiB compressed once makes any size quickly.
    let mebibyte = |byte: u8| gzip(&vec![byte; 1 << 20]);
    let mut other = later.clone();
    other.event_id = uuid::Uuid::new_v4();
    let mut mixed = gzip(format!("{}\n", serde_json::to_string(&later).unwrap()).as_bytes());
    mixed.extend(mebibyte(b'x').repeat(4));
    mixed.extend(gzip(
        format!("\n{}\n", serde_json::to_string(&other).unwrap()).as_bytes(),
    ));
    write_raw_object(w.raw(), hour, &mixed);
    // A decompression bomb: 100 MiB of blank lines in 100 KB.
    let bomb = mebibyte(b'\n').repeat(100);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    write_raw_object(w.raw(), hour, &bomb);
    // An event the warehouse has no partition and no days for.
    let mut far = event(2, EventType::PageView, hour);
    far.ts = "9999-12-15T00:00:00Z".parse().unwrap();
    far.received_at = far.ts;
    write_raw_object(w.raw(), hour, &stored_object(&[far]));

    let run = w
        .run_request(
            RunRequest::backfill(hour, hour).unwrap(),
            RunOptions::default(),
        )
        .await;
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.events_loaded, 3);
    assert_eq!(run.objects_quarantined, 1, "the bomb");
    assert_eq!(run.rejected_lines, 2, "the huge line and the far one");
    let reasons = texts(
        &w.client,
        "SELECT coalesce(line_number::text, '-') || ' ' || reason FROM etl_rejects ORDER BY reject_id",
        &[],
    )
    .await;
    let limits = DecodeLimits::default();
    let has = |what: &str| reasons.iter().any(|r| r.contains(what));
    assert!(
        has(&format!("over the limit of {}", limits.line_bytes)),
        "{reasons:#?}"
    );
    assert!(
        has(&format!(
            "decompresses to more than {}",
            limits.object_bytes
        )),
        "{reasons:#?}"
    );
    assert!(has("outside the years the warehouse holds"), "{reasons:#?}");
    let statuses = texts(
        &w.client,
        "SELECT status || ' ' || records FROM etl_objects ORDER BY 1",
        &[],
    )
    .await;
    assert_eq!(
        statuses,
        ["loaded 0", "loaded 1", "loaded 2", "quarantined 0"]
    );
}
