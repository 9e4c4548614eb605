//! `sbwctl dlq inspect | redrive` against moto's SQS and S3. The dead letters
//! are the ingest function's own: its handler in process, its raw store a
//! bucket that does not exist yet, its dead-letter queue a moto queue. The
//! replayed events then go through the ETL into a real PostgreSQL.
//!
//! Over 400 lines on purpose: the cases share the ingest handler, its queue
//! and the warehouse set-up; each file under tests/ is its own test binary,
//! linked anew on every change and links the AWS SDKs.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectOutput};
use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
use chrono::{DateTime, Duration, Utc};
use http::HeaderValue;
use sbw_contract::rawkey::{hour_prefix, object_key, ObjectKind};
use sbw_contract::{IdentifierHasher, RejectedEvent, StoredEvent};
use sbw_deploy::dlq::{inspect, redrive, Queue};
use sbw_etl::run::plan_listing;
use sbw_etl::{RunOptions, RunRequest, Trigger};
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::dead_letter::DeadLetter;
use sbw_ingest::{Ingest, IngestRequest};
use sbw_rawstore::ndjson;
use sbw_rawstore::RawStore;
use sbw_testkit::events::valid_event;
use sbw_testkit::ndjson::gunzip_lines;
use sbw_testkit::postgres::{texts, TestDb};
use sbw_testkit::shoppers::Shoppers;
use sbw_testkit::{unique_name, Moto};
use serde_json::{json, Value};

const ORIGIN: &str = "https://shop.example";
const SITE_KEY: &str = "pk_test_shop";
const HASH_KEY: &str = "test-hashing-key-of-at-least-32-bytes";

/// moto's S3 and SQS, and a queue of the test's own.
struct Aws {
    config: aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    queue: Queue,
}

impl Aws {
    async fn connect() -> Aws {
        let config = Moto::shared().sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let url = sqs
            .create_queue()
            .queue_name(unique_name("dlq"))
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue URL");
        Aws {
            s3: sbw_aws::s3_client(&config),
            queue: Queue::new(sqs, url),
            config,
        }
    }

    async fn create_bucket(&self, name: &str) {
        self.s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("create bucket");
    }

    fn store(&self, bucket: &str) -> RawStore {
        RawStore::S3 {
            client: self.s3.clone(),
            bucket: bucket.to_owned(),
        }
    }

    fn dead_letter(&self) -> DeadLetter {
        DeadLetter::Sqs {
            client: self.queue.sqs.clone(),
            queue_url: self.queue.url.clone(),
        }
    }

    /// Dead-letters the events `lines` of `request`, as ingest does when S3
    /// answers SlowDown to their object `key`.
    async fn dead_letter_after_slow_down(&self, request: &str, key: &str, lines: &[u8]) {
        self.dead_letter()
            .send(request, key, "writing failed: SlowDown", lines)
            .await
            .unwrap();
    }

    /// The ingest handler, storing in `bucket` and dead-lettering to the queue.
    fn ingest(&self, bucket: &str) -> Ingest {
        Ingest::new(
            AccessPolicy {
                site_keys: vec![SITE_KEY.to_owned()],
                allowed_origins: vec![ORIGIN.to_owned()],
            },
            IdentifierHasher::new(HASH_KEY.as_bytes()).unwrap(),
            self.store(bucket),
            self.dead_letter(),
        )
    }

    async fn send_raw(&self, body: &str) {
        self.queue
            .sqs
            .send_message()
            .queue_url(&self.queue.url)
            .message_body(body)
            .send()
            .await
            .expect("send message");
    }

    /// Key -> (etag, content) of every object under `prefix`.
    async fn objects(&self, bucket: &str, prefix: &str) -> BTreeMap<String, (String, Vec<u8>)> {
        let store = self.store(bucket);
        let mut objects = BTreeMap::new();
        for object in store.list(prefix).await.expect("list objects") {
            let body = store.get(&object.key).await.expect("get object").to_vec();
            objects.insert(object.key, (object.etag, body));
        }
        objects
    }
}

/// An anonymous POST of `events`, as the shop's pages send it.
async fn post(ingest: &Ingest, events: &Value) -> u16 {
    let response = ingest
        .handle(IngestRequest::anonymous_post(
            SITE_KEY,
            HeaderValue::from_static(ORIGIN),
            events.to_string(),
        ))
        .await;
    response.status.as_u16()
}

fn batch(count: usize, note_bytes: usize) -> Value {
    let now = Utc::now();
    Value::Array(
        (0..count)
            .map(|i| {
                let mut event = valid_event(now);
                event["props"] = json!({"note": "n".repeat(note_bytes), "position": i});
                event
            })
            .collect(),
    )
}

fn ids_of(events: &Value) -> Vec<String> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

fn ndjson_of(events: &[StoredEvent]) -> Vec<u8> {
    let mut lines = Vec::new();
    for event in events {
        ndjson::push_line(&mut lines, event);
    }
    lines
}

fn is_under_hour(key: &str, kind: ObjectKind, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    [from, to]
        .iter()
        .any(|at| key.starts_with(&hour_prefix(kind, *at)))
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

/// The whole path: requests the raw store refused, inspected, redriven (a dry
/// run first, then twice), with a message from days ago, one holding a line
/// that no longer validates, and two that are no dead letters; then the ETL
/// loads every event once, the old one too, and a client's successful retry
/// of a dead-lettered batch does not double it.
#[tokio::test]
async fn dead_letters_are_inspected_redriven_once_and_loaded_once() {
    let aws = Aws::connect().await;
    let bucket = unique_name("raw");
    let failing = aws.ingest(&bucket);

    // Three small requests and one the dead-letter queue takes in parts.
    let small: Vec<Value> = (0..3).map(|_| batch(4, 10)).collect();
    let large = batch(500, 400);
    for events in small.iter().chain([&large]) {
        assert_eq!(post(&failing, events).await, 503);
    }
    // A dead letter from three days ago: its hour is out of the ETL's reach.
    let days_ago = Utc::now() - Duration::days(3);
    let old_events = Shoppers::new(5).session(days_ago);
    let old_key = object_key(ObjectKind::Events, days_ago, uuid::Uuid::new_v4());
    aws.dead_letter_after_slow_down("old-request", &old_key, &ndjson_of(&old_events))
        .await;
    // One valid line and one of a schema version this ETL does not load.
    let mixed = Shoppers::new(6).session(Utc::now());
    assert!(mixed.len() >= 2, "a visit of one event");
    let mut newer = serde_json::to_value(&mixed[1]).unwrap();
    newer["schema_version"] = json!(2);
    let mut mixed_lines = ndjson_of(&mixed[..1]);
    mixed_lines.extend(format!("{newer}\n").into_bytes());
    let mixed_key = object_key(ObjectKind::Events, Utc::now(), uuid::Uuid::new_v4());
    aws.dead_letter_after_slow_down("mixed-request", &mixed_key, &mixed_lines)
        .await;
    // Bodies that are no dead letters.
    aws.send_raw("not json at all").await;
    aws.send_raw(
        &json!({"request_id": "r", "key": "events/k", "reason": "x", "part": 1, "parts": 1,
                "ndjson_gz_base64": "%%% not base64 %%%"})
        .to_string(),
    )
    .await;

    // inspect counts what waits and puts it back.
    let started = std::time::Instant::now();
    let report = inspect::inspect(&aws.queue, 1_000).await.unwrap();
    println!(
        "inspect of {} messages took {:.2?}",
        report.messages_read,
        started.elapsed()
    );
    let large_object = report
        .objects
        .iter()
        .find(|o| o.events == 500)
        .expect("the large request's object");
    let parts = large_object.parts;
    assert!(parts >= 2, "{large_object:?}");
    assert_eq!(large_object.parts_read, parts);
    let messages = 3 + parts + 2 + 2;
    let valid_events = 12 + 500 + old_events.len() + 1;
    assert_eq!(report.messages_read, messages, "{}", report.to_text());
    assert!(report.complete);
    assert_eq!(report.events, valid_events);
    assert_eq!(report.invalid_lines, 1);
    assert_eq!(report.unreadable.len(), 2);
    let reasons: BTreeMap<&str, (usize, usize)> = report
        .by_reason
        .iter()
        .map(|t| (t.key.as_str(), (t.messages, t.events)))
        .collect();
    let store_failure = format!("writing s3://{bucket}/<key> failed");
    let (ingest_reason, counted) = reasons
        .iter()
        .find(|(reason, _)| reason.starts_with(&store_failure))
        .unwrap_or_else(|| panic!("one reason for the ingest failures: {reasons:?}"));
    assert_eq!(*counted, (3 + parts, 512), "{ingest_reason}");
    assert!(!ingest_reason.contains("request_id"), "{ingest_reason}");
    assert_eq!(
        reasons["writing failed: SlowDown"],
        (2, old_events.len() + 1)
    );
    assert_eq!(reasons["not a dead letter"], (2, 0));
    assert_eq!(
        report.by_hour.iter().map(|t| t.messages).sum::<usize>(),
        messages
    );
    assert!(report.oldest_expires_in_hours.unwrap() > 13.0 * 24.0);
    let text = report.to_text();
    assert!(
        !text.contains(&old_events[0].anonymous_id_hash),
        "no event content:\n{text}"
    );
    assert_eq!(
        aws.queue.depth().await.unwrap().visible as usize,
        messages,
        "inspect released them"
    );

    // A dry run writes and deletes nothing.
    aws.create_bucket(&bucket).await;
    let dry = redrive::redrive(&aws.queue, &aws.store(&bucket), true)
        .await
        .unwrap();
    assert_eq!(
        (dry.messages, dry.events, dry.rejected),
        (messages, valid_events, 3)
    );
    assert!(aws.objects(&bucket, "").await.is_empty());
    assert_eq!(aws.queue.depth().await.unwrap().visible as usize, messages);

    // The ETL has run since: it has a watermark, and lists recent hours only.
    let db = TestDb::create().await;
    let mut client = db.etl_client().await;
    let source = RawStore::S3 {
        client: aws.s3.clone(),
        bucket: bucket.clone(),
    };
    let incremental = RunRequest::Incremental(Trigger::Manual);
    let options = RunOptions::default();
    sbw_etl::run(&source, &mut client, &incremental, &options)
        .await
        .unwrap();

    let before = Utc::now();
    let redriven = redrive::redrive(&aws.queue, &aws.store(&bucket), false)
        .await
        .unwrap();
    let after = Utc::now();
    assert_eq!(
        (
            redriven.messages,
            redriven.deleted,
            redriven.failed,
            redriven.not_deleted
        ),
        (messages, messages, 0, 0),
        "{}",
        redriven.to_text()
    );
    assert_eq!((redriven.events, redriven.rejected), (valid_events, 3));
    let depth = aws.queue.depth().await.unwrap();
    assert_eq!((depth.visible, depth.in_flight), (0, 0));
    let events = aws.objects(&bucket, "events/").await;
    assert_eq!(events.len(), messages - 2, "one object per dead letter");
    assert!(
        events
            .keys()
            .all(|k| is_under_hour(k, ObjectKind::Events, before, after)),
        "{events:?}"
    );
    let rejects = aws.objects(&bucket, "rejects/").await;
    assert_eq!(rejects.len(), 3);
    let rejected: Vec<RejectedEvent> = rejects
        .values()
        .flat_map(|(_, body)| gunzip_lines(body))
        .map(|line| serde_json::from_value(line).unwrap())
        .collect();
    let why: Vec<&str> = rejected
        .iter()
        .map(|r| r.errors[0].reason.as_str())
        .collect();
    assert_eq!(rejected.len(), 3, "{why:?}");
    assert!(
        why.iter()
            .any(|w| w.contains("schema_version 2") && w.contains(&mixed_key)),
        "{why:?}"
    );
    assert!(
        why.iter().any(|w| w.contains("not a dead-letter message")),
        "{why:?}"
    );
    assert!(why.iter().any(|w| w.contains("not base64")), "{why:?}");
    assert!(rejected
        .iter()
        .any(|r| r.request_id == "mixed-request" && r.index == 1));

    // Again: nothing waits, nothing changes.
    let again = redrive::redrive(&aws.queue, &aws.store(&bucket), false)
        .await
        .unwrap();
    assert_eq!(again, redrive::RedriveReport::default());
    assert_eq!(aws.objects(&bucket, "events/").await, events);
    assert_eq!(aws.objects(&bucket, "rejects/").await, rejects);

    // The client retries one refused request, now stored; and a dead letter
    // arrives twice (SQS delivers at least once): the same object again.
    assert_eq!(post(&aws.ingest(&bucket), &small[0]).await, 202);
    aws.dead_letter_after_slow_down("mixed-request", &mixed_key, &mixed_lines)
        .await;
    let twice = redrive::redrive(&aws.queue, &aws.store(&bucket), false)
        .await
        .unwrap();
    assert_eq!((twice.messages, twice.deleted), (1, 1));

    // The ETL's next run loads every event once, the one of three days ago too,
    // whose own hour the run does not list.
    let watermark = sbw_etl::warehouse::latest_listing(&client)
        .await
        .unwrap()
        .listed_to;
    let listing = plan_listing(
        &incremental,
        watermark,
        Utc::now(),
        options.reprocess_window_hours,
    );
    assert!(
        listing.from.is_some_and(|from| from > days_ago),
        "{listing:?} starts after {days_ago}"
    );
    let summary = sbw_etl::run(&source, &mut client, &incremental, &options)
        .await
        .unwrap();
    assert_eq!(summary.events_loaded as usize, valid_events, "{summary:?}");
    assert!(
        summary.duplicates >= 4,
        "the retried request's copies: {summary:?}"
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM fact_events").await,
        valid_events as i64
    );
    assert_eq!(
        count(&client, "SELECT count(DISTINCT event_id) FROM fact_events").await,
        valid_events as i64
    );
    let expected: HashSet<String> = small
        .iter()
        .chain([&large])
        .flat_map(ids_of)
        .chain(old_events.iter().map(|e| e.event_id.to_string()))
        .chain([mixed[0].event_id.to_string()])
        .collect();
    let loaded: HashSet<String> = texts(&client, "SELECT event_id::text FROM fact_events", &[])
        .await
        .into_iter()
        .collect();
    assert_eq!(loaded, expected);
    let rerun = sbw_etl::run(&source, &mut client, &incremental, &options)
        .await
        .unwrap();
    assert_eq!(rerun.events_loaded, 0);
}

#[tokio::test]
async fn a_missing_queue_is_one_sentence_that_says_so() {
    let aws = Aws::connect().await;
    let missing = Queue::new(
        aws.queue.sqs.clone(),
        aws.queue.url.replace("sbw-test-dlq", "sbw-test-gone"),
    );
    let inspected = inspect::inspect(&missing, 10)
        .await
        .unwrap_err()
        .to_string();
    let redriven = redrive::redrive(&missing, &aws.store("any"), false)
        .await
        .unwrap_err()
        .to_string();
    for error in [inspected, redriven] {
        assert!(error.contains("does not exist"), "{error}");
        assert!(error.contains(&missing.url), "{error}");
        assert!(
            !error.contains('\n') && !error.contains("ServiceError"),
            "{error}"
        );
    }
}

/// The raw store refuses writes part way through a redrive (a permission
/// taken away): what was stored is deleted from the queue, the rest stays.
/// moto's S3 cannot fail one PutObject among several, so the store's S3
/// client here is aws-smithy-mocks': four PutObjects succeed, then AccessDenied.
#[tokio::test]
async fn an_aws_error_mid_batch_deletes_only_what_was_stored() {
    let aws = Aws::connect().await;
    let failing = aws.ingest(&unique_name("missing"));
    let requests: Vec<Value> = (0..10).map(|_| batch(1, 10)).collect();
    for events in &requests {
        assert_eq!(post(&failing, events).await, 503);
    }
    let puts = Arc::new(AtomicUsize::new(0));
    let stored_keys = Arc::new(Mutex::new(Vec::new()));
    let rule = {
        let (puts, stored_keys) = (puts.clone(), stored_keys.clone());
        mock!(aws_sdk_s3::Client::put_object).then_compute_response(move |input| {
            if puts.fetch_add(1, Ordering::SeqCst) < 4 {
                stored_keys
                    .lock()
                    .unwrap()
                    .push(input.key().unwrap().to_owned());
                MockResponse::Output(PutObjectOutput::builder().build())
            } else {
                MockResponse::Error(PutObjectError::generic(
                    aws_sdk_s3::error::ErrorMetadata::builder()
                        .code("AccessDenied")
                        .message("Access Denied")
                        .build(),
                ))
            }
        })
    };
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, &[&rule]);
    let store = RawStore::S3 {
        client: s3,
        bucket: "raw".to_owned(),
    };

    let report = redrive::redrive(&aws.queue, &store, false).await.unwrap();

    assert_eq!(
        (report.deleted, report.events),
        (4, 4),
        "{}",
        report.to_text()
    );
    assert!(report.failed >= 1, "{report:?}");
    assert!(
        report.errors.iter().all(|e| e.contains("AccessDenied")),
        "{report:?}"
    );
    assert!(report.to_text().contains("stay in the queue"));
    // What stays is exactly what was not stored, visible again at once.
    assert_eq!(aws.queue.depth().await.unwrap().visible, 6);
    let bucket = unique_name("raw");
    aws.create_bucket(&bucket).await;
    let rest = redrive::redrive(&aws.queue, &aws.store(&bucket), false)
        .await
        .unwrap();
    assert_eq!((rest.deleted, rest.failed), (6, 0));
    let stored_now: Vec<String> = aws.objects(&bucket, "events/").await.into_keys().collect();
    let stored_first = stored_keys.lock().unwrap().clone();
    assert_eq!(stored_now.len(), 6);
    assert!(
        stored_now.iter().all(|k| !stored_first.contains(k)),
        "{stored_first:?} {stored_now:?}"
    );
}

/// The 10,000 dead letters of the issue's target, redriven and loaded once;
/// the time is printed. `cargo test -p sbw-deploy --test dlq -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a benchmark: minutes against moto"]
async fn ten_thousand_dead_letters_are_redriven_and_loaded_once() {
    let aws = Aws::connect().await;
    let bucket = unique_name("raw");
    let failing = Arc::new(aws.ingest(&bucket));
    let started = std::time::Instant::now();
    let mut expected = 0;
    for chunk in 0..100 {
        let posts = (0..100).map(|_| {
            let failing = failing.clone();
            let events = batch(3, 10);
            async move { post(&failing, &events).await }
        });
        let statuses = futures_util::future::join_all(posts).await;
        assert!(statuses.iter().all(|s| *s == 503), "chunk {chunk}");
        expected += 300;
    }
    println!("dead-lettered 10,000 requests in {:.1?}", started.elapsed());
    assert_eq!(aws.queue.depth().await.unwrap().visible, 10_000);
    aws.create_bucket(&bucket).await;

    let started = std::time::Instant::now();
    let report = redrive::redrive(&aws.queue, &aws.store(&bucket), false)
        .await
        .unwrap();
    let redrive_took = started.elapsed();
    assert_eq!(
        (report.messages, report.deleted, report.events),
        (10_000, 10_000, expected)
    );

    let db = TestDb::create().await;
    let mut client = db.etl_client().await;
    let source = RawStore::S3 {
        client: sbw_aws::s3_client(&aws.config),
        bucket,
    };
    let started = std::time::Instant::now();
    let summary = sbw_etl::run(
        &source,
        &mut client,
        &RunRequest::Incremental(Trigger::Manual),
        &RunOptions::default(),
    )
    .await
    .unwrap();
    let etl_took = started.elapsed();
    assert_eq!(summary.events_loaded as usize, expected);
    assert_eq!(
        count(&client, "SELECT count(DISTINCT event_id) FROM fact_events").await,
        expected as i64
    );
    println!(
        "redrive of 10,000 dead letters ({expected} events): {redrive_took:.1?}; the ETL run that loaded them: {etl_took:.1?}"
    );
}
