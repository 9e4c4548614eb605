//! Delivery guarantees: retries are answered as duplicates, a failed raw
//! store write dead-letters the events and asks the client to retry, and
//! nothing accepted is lost.

mod common;

use chrono::Utc;
use common::{files_below, Harness, Req};
use sbw_rawstore::dead_letter::DeadLetterMessage;
use sbw_testkit::events::valid_event;
use serde_json::{json, Value};

#[tokio::test]
async fn a_retried_request_is_stored_once() {
    let harness = Harness::deployed();
    let now = Utc::now();
    let events = json!([valid_event(now), valid_event(now)]);
    let (first, body) = harness.send(Req::json(&events).0).await;
    assert_eq!(first.status, 202);
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    let (retry, body) = harness.send(Req::json(&events).0).await;
    assert_eq!(
        retry.status, 202,
        "a retry is not an error: the client must stop retrying"
    );
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
    assert!(body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "duplicate"));
    let stored = harness.stored_events();
    assert_eq!(stored.len(), 2);
    assert!(stored.values().all(|(n, _)| *n == 1));
}

#[tokio::test]
async fn the_same_event_twice_in_one_batch_is_stored_once() {
    let harness = Harness::deployed();
    let event = valid_event(Utc::now());
    let (response, body) = harness.send(Req::json(&json!([event, event])).0).await;
    assert_eq!(response.status, 202);
    assert_eq!(body["results"][0]["status"], "accepted");
    assert_eq!(body["results"][1]["status"], "duplicate");
    assert_eq!(harness.stored_events().len(), 1);
}

/// Makes the raw store unwritable: its directory is a file.
fn break_raw_store(harness: &Harness) {
    std::fs::write(harness.raw_dir(), b"not a directory").unwrap();
}

fn dead_lettered_events(harness: &Harness) -> Vec<Value> {
    files_below(&harness.dead_letter_dir())
        .into_iter()
        .flat_map(|path| {
            let message: DeadLetterMessage =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            sbw_testkit::ndjson::gunzip_lines(&message.gzipped_lines().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn a_failed_store_write_dead_letters_the_events_and_asks_for_a_retry() {
    let harness = Harness::deployed();
    break_raw_store(&harness);
    let now = Utc::now();
    let events = json!([valid_event(now), valid_event(now), {"broken": true}]);
    let (response, body) = harness.send(Req::json(&events).0).await;
    assert_eq!(response.status, 503, "{body}");
    assert_eq!(response.headers["retry-after"], "30");
    assert_eq!(body["error"]["code"], "storage_unavailable");
    let queued: Vec<String> = dead_lettered_events(&harness)
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    let sent: Vec<String> = events.as_array().unwrap()[..2]
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        queued, sent,
        "the accepted events are in the dead-letter queue, in order"
    );

    // The store recovers; the client's retry is stored, not answered as a duplicate.
    std::fs::remove_file(harness.raw_dir()).unwrap();
    let (retry, body) = harness.send(Req::json(&events).0).await;
    assert_eq!(retry.status, 202, "{body}");
    assert_eq!(body["accepted"], 2);
    assert_eq!(harness.stored_events().len(), 2);
}

#[tokio::test]
async fn when_the_dead_letter_queue_fails_too_the_client_still_gets_a_retryable_status() {
    let harness = Harness::deployed();
    break_raw_store(&harness);
    std::fs::write(harness.dead_letter_dir(), b"also not a directory").unwrap();
    let (response, body) = harness.send(Req::json(&valid_event(Utc::now())).0).await;
    assert_eq!(response.status, 503);
    assert_eq!(body["error"]["code"], "storage_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("retry"));
}

#[tokio::test]
async fn without_site_keys_and_origins_anonymous_events_need_neither() {
    let harness = Harness::with_access(Default::default());
    let (response, _) = harness
        .send(
            Req::json(&valid_event(Utc::now()))
                .query(None)
                .without("origin")
                .0,
        )
        .await;
    assert_eq!(response.status, 202);
}
