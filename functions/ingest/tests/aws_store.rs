//! The ingest handler in process with its AWS back ends, S3 for the raw
//! store and SQS for dead letters, served by moto.
//!
//! Over 400 lines on purpose: the cases share the handler and moto set-up;
//! each file under tests/ is its own test binary, linked anew on every change
//! and links the AWS SDKs.

mod aws_peers;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_peers::{
    dead_lettered_events, gunzip, is_hour_key, stored_events, unique_name, Aws, HASH_KEY, ORIGIN,
    SITE_KEY, USER_AGENT,
};
use bytes::Bytes;
use chrono::Utc;
use http::{HeaderValue, Method};
use sbw_contract::limits::MAX_BODY_BYTES;
use sbw_contract::rawkey::ObjectKind;
use sbw_contract::{IdentifierHasher, StoredEvent};
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::dead_letter::DeadLetter;
use sbw_ingest::lambda::AWS_CALLS;
use sbw_ingest::{Ingest, IngestRequest, IngestResponse};
use sbw_rawstore::RawStore;
use sbw_testkit::events::{event_cases, valid_event, Verdict};
use sbw_testkit::fault_proxy::{Fault, FaultProxy, Match, Rule};
use sbw_testkit::moto::sdk_config_timing_out;
use sbw_testkit::Moto;
use serde_json::{json, Value};

/// Largest body SQS takes.
const MAX_SQS_MESSAGE_BYTES: usize = 256 * 1024;

/// A handler writing to `bucket` and dead-lettering to a queue of its own.
struct Deployment {
    aws: Aws,
    bucket: String,
    queue_url: String,
    ingest: Arc<Ingest>,
}

impl Deployment {
    async fn create() -> Self {
        let aws = Aws::connect().await;
        let bucket = aws.create_bucket().await;
        Self::writing_to(aws, bucket).await
    }

    async fn writing_to(aws: Aws, bucket: String) -> Self {
        let config = aws.config.clone();
        Self::calling_aws_with(aws, bucket, &config).await
    }

    /// A handler whose S3 and SQS calls go through `proxy`, with the
    /// function's own call timeouts; the test reads moto directly.
    async fn behind(proxy: &FaultProxy) -> Self {
        let aws = Aws::connect().await;
        let bucket = aws.create_bucket().await;
        let config = sdk_config_timing_out(proxy.url(), AWS_CALLS.to_timeout_config()).await;
        Self::calling_aws_with(aws, bucket, &config).await
    }

    async fn calling_aws_with(aws: Aws, bucket: String, config: &SdkConfig) -> Self {
        let queue_url = aws.create_queue().await;
        let ingest = Ingest::new(
            AccessPolicy {
                site_keys: vec![SITE_KEY.to_owned()],
                allowed_origins: vec![ORIGIN.to_owned()],
            },
            IdentifierHasher::new(HASH_KEY.as_bytes()).unwrap(),
            RawStore::S3 {
                client: sbw_aws::s3_client(config),
                bucket: bucket.clone(),
            },
            DeadLetter::Sqs {
                client: aws_sdk_sqs::Client::new(config),
                queue_url: queue_url.clone(),
            },
        );
        Deployment {
            aws,
            bucket,
            queue_url,
            ingest: Arc::new(ingest),
        }
    }

    /// How many event objects the raw bucket holds.
    async fn event_objects(&self) -> usize {
        self.aws.objects(&self.bucket, "events/").await.len()
    }

    /// Posts `events` anonymously; returns the status and the JSON body.
    async fn post(&self, events: &Value) -> (u16, Value) {
        self.send(anonymous_post(events)).await
    }

    async fn send(&self, request: IngestRequest) -> (u16, Value) {
        status_and_body(self.ingest.handle(request).await)
    }

    /// Posts every batch at once; the answers in the batches' order.
    async fn post_concurrently(&self, batches: &[Value]) -> Vec<(u16, Value)> {
        let mut requests = tokio::task::JoinSet::new();
        for (index, batch) in batches.iter().enumerate() {
            let (ingest, request) = (self.ingest.clone(), anonymous_post(batch));
            requests.spawn(async move { (index, status_and_body(ingest.handle(request).await)) });
        }
        let mut answers = requests.join_all().await;
        answers.sort_by_key(|(index, _)| *index);
        answers.into_iter().map(|(_, answer)| answer).collect()
    }
}

fn status_and_body(response: IngestResponse) -> (u16, Value) {
    let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status.as_u16(), body)
}

fn anonymous_post(events: &Value) -> IngestRequest {
    let mut request = IngestRequest::anonymous_post(
        SITE_KEY,
        HeaderValue::from_static(ORIGIN),
        events.to_string(),
    );
    request
        .headers
        .insert("user-agent", HeaderValue::from_static(USER_AGENT));
    request
}

fn batch_of(count: usize) -> Value {
    let now = Utc::now();
    Value::Array((0..count).map(|_| valid_event(now)).collect())
}

fn sorted_ids(events: &Value) -> Vec<String> {
    let mut ids: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted_stored_ids(events: &[StoredEvent]) -> Vec<String> {
    let mut ids: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn an_accepted_request_becomes_one_object_under_its_receive_hour() {
    let deployment = Deployment::create().await;
    let batch = batch_of(3);

    let from = Utc::now();
    let (status, body) = deployment.post(&batch).await;
    let to = Utc::now();

    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(3)),
        "{body}"
    );
    let objects = deployment.aws.objects(&deployment.bucket, "").await;
    assert_eq!(
        objects.len(),
        1,
        "{:?}",
        objects.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    let (key, content) = &objects[0];
    assert!(is_hour_key(key, ObjectKind::Events, from, to), "{key}");
    let head = deployment
        .aws
        .s3
        .head_object()
        .bucket(&deployment.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/x-ndjson"));
    assert_eq!(head.content_encoding(), Some("gzip"));
    let stored = stored_events(&gunzip(content));
    assert_eq!(sorted_stored_ids(&stored), sorted_ids(&batch));
    let request_ids: HashSet<&str> = stored.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(request_ids.len(), 1, "one request, one request id");
    // Stored times are truncated to milliseconds.
    let from_ms = from - chrono::Duration::milliseconds(1);
    assert!(stored
        .iter()
        .all(|e| from_ms <= e.received_at && e.received_at <= to));
}

#[tokio::test]
async fn concurrent_requests_write_one_object_each_and_lose_no_event() {
    let deployment = Deployment::create().await;
    let batches: Vec<Value> = (0..12).map(|_| batch_of(2)).collect();

    let answers = deployment.post_concurrently(&batches).await;

    assert!(answers.iter().all(|(s, _)| *s == 202), "{answers:?}");
    assert_eq!(deployment.event_objects().await, batches.len());
    let mut sent: Vec<String> = batches.iter().flat_map(sorted_ids).collect();
    sent.sort();
    assert_eq!(
        sorted_stored_ids(&deployment.aws.events_in(&deployment.bucket).await),
        sent
    );
}

#[tokio::test]
async fn a_retried_request_is_answered_as_duplicate_and_not_stored_twice() {
    let deployment = Deployment::create().await;
    let batch = batch_of(3);
    let (first, _) = deployment.post(&batch).await;

    let (retry, body) = deployment.post(&batch).await;
    let mut partly_new = batch.clone();
    let new_event = valid_event(Utc::now());
    partly_new.as_array_mut().unwrap().push(new_event.clone());
    let (partial_retry, partial_body) = deployment.post(&partly_new).await;

    assert_eq!((first, retry, partial_retry), (202, 202, 202));
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(3)),
        "{body}"
    );
    assert!(body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "duplicate"));
    assert_eq!(
        (
            partial_body["accepted"].as_u64(),
            partial_body["duplicates"].as_u64()
        ),
        (Some(1), Some(3)),
        "{partial_body}"
    );
    assert_eq!(deployment.event_objects().await, 2);
    assert_eq!(
        sorted_stored_ids(&deployment.aws.events_in(&deployment.bucket).await),
        sorted_ids(&partly_new),
        "every event stored exactly once"
    );
}

#[tokio::test]
async fn a_large_batch_is_dead_lettered_in_parts_that_hold_every_event_once() {
    let aws = Aws::connect().await;
    let deployment = Deployment::writing_to(aws, unique_name("missing")).await;
    let now = Utc::now();
    let batch = Value::Array(
        (0..500)
            .map(|i| {
                let mut event = valid_event(now);
                event["props"] =
                    json!({"note": format!("{i:04}{}", "n".repeat(400)), "position": i});
                event
            })
            .collect(),
    );
    assert!(
        batch.to_string().len() <= MAX_BODY_BYTES,
        "the batch itself is acceptable"
    );

    let (status, body) = deployment.post(&batch).await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_unavailable");
    let messages = deployment.aws.dead_letters(&deployment.queue_url).await;
    let parts = messages[0].parts;
    assert!(parts >= 2, "a large batch is split, got {parts} part(s)");
    assert_eq!(messages.len(), parts);
    let mut part_numbers: Vec<usize> = messages.iter().map(|m| m.part).collect();
    part_numbers.sort();
    assert_eq!(part_numbers, (1..=parts).collect::<Vec<_>>());
    for message in &messages {
        assert_eq!(
            (message.key.as_str(), message.parts),
            (messages[0].key.as_str(), parts)
        );
        assert!(message.key.starts_with("events/year="), "{}", message.key);
        assert!(serde_json::to_string(message).unwrap().len() < MAX_SQS_MESSAGE_BYTES);
    }
    let dead_lettered: Vec<StoredEvent> = messages.iter().flat_map(dead_lettered_events).collect();
    assert_eq!(
        sorted_stored_ids(&dead_lettered),
        sorted_ids(&batch),
        "every accepted event exactly once"
    );
}

/// Requests no S3 failure may turn into a 5xx, each with its name and
/// the status it gets whatever the raw store does.
fn bad_requests() -> Vec<(&'static str, IngestRequest, u16)> {
    let invalid: Vec<Value> = event_cases(Utc::now())
        .into_iter()
        .filter(|case| matches!(case.verdict, Verdict::Invalid(_)))
        .map(|case| case.event)
        .collect();
    let mut malformed = anonymous_post(&Value::Null);
    malformed.body = Bytes::from_static(b"[{\"event_id\": ");
    let too_many = batch_of(sbw_contract::limits::MAX_EVENTS_PER_REQUEST + 1);
    vec![
        ("malformed JSON", malformed, 400),
        // Its rejected-event record is a write to S3 that fails: logged only.
        (
            "only invalid events",
            anonymous_post(&Value::Array(invalid)),
            400,
        ),
        ("too many events", anonymous_post(&too_many), 413),
    ]
}

/// What the answers promised about the events sent: a 202, stored in S3; a
/// 503 saying the events were queued, in the dead-letter queue; any 503,
/// to be retried by the client.
#[derive(Default)]
struct Ledger {
    sent: BTreeSet<String>,
    stored: BTreeSet<String>,
    dead_lettered: BTreeSet<String>,
    refused: Vec<Value>,
}

impl Ledger {
    fn record(&mut self, phase: &str, batch: &Value, (status, body): &(u16, Value)) {
        let ids = sorted_ids(batch);
        self.sent.extend(ids.iter().cloned());
        match status {
            202 => self.stored.extend(ids),
            503 => {
                assert_eq!(
                    body["error"]["code"], "storage_unavailable",
                    "{phase}: {body}"
                );
                let message = body["error"]["message"].as_str().unwrap_or_default();
                if message.contains("queued for recovery") {
                    self.dead_lettered.extend(ids);
                }
                self.refused.push(batch.clone());
            }
            _ => panic!("{phase}: answered {status}: {body}"),
        }
    }
}

fn ids_of(events: &[StoredEvent]) -> BTreeSet<String> {
    events.iter().map(|e| e.event_id.to_string()).collect()
}

#[tokio::test]
async fn under_s3_faults_every_accepted_event_is_in_s3_or_the_dead_letter_queue_and_bad_input_stays_4xx(
) {
    let proxy = FaultProxy::start(Moto::shared().endpoint()).await.unwrap();
    let deployment = Deployment::behind(&proxy).await;
    let writes = Match::service("s3")
        .method(Method::PUT)
        .path_prefix(&format!("/{}/", deployment.bucket));
    let rule = |fault| Rule::new(writes.clone(), fault);
    let phases = [
        ("503 SlowDown", rule(Fault::slow_down())),
        ("500 InternalError", rule(Fault::internal_error())),
        (
            "every other write throttled",
            rule(Fault::slow_down()).every(2),
        ),
        ("connection reset", rule(Fault::Reset)),
        ("reset after the write", rule(Fault::ResetAfterForwarding)),
        ("stalled past the call timeout", rule(Fault::Stall)),
    ];

    let mut ledger = Ledger::default();
    for (phase, fault) in phases {
        proxy.clear();
        proxy.inject(fault);
        let injected = proxy.counts().faults();
        let batches: Vec<Value> = (0..4).map(|_| batch_of(3)).collect();
        let bad_input = async {
            for (name, request, status) in bad_requests() {
                let (got, body) = deployment.send(request).await;
                assert_eq!(got, status, "{phase}, {name}: {body}");
                let explained = body["error"]["code"].is_string()
                    || body["rejected"].as_u64().is_some_and(|n| n > 0);
                assert!(explained, "{phase}, {name}: {body}");
            }
        };
        let (answers, ()) = tokio::join!(deployment.post_concurrently(&batches), bad_input);
        assert!(
            proxy.counts().faults() > injected,
            "{phase}: no fault was injected"
        );
        for (batch, answer) in batches.iter().zip(&answers) {
            ledger.record(phase, batch, answer);
        }
    }
    // S3 and the dead-letter queue both refuse: nothing can be kept, and
    // the client is told to retry.
    proxy.clear();
    proxy.inject(rule(Fault::slow_down()));
    proxy.inject(Rule::new(Match::service("sqs"), Fault::internal_error()));
    let batch = batch_of(2);
    let answer = deployment.post(&batch).await;
    assert_eq!(answer.0, 503, "{}", answer.1);
    ledger.record("S3 and SQS failing", &batch, &answer);

    // The faults end; the client's retries are stored.
    proxy.clear();
    for batch in std::mem::take(&mut ledger.refused) {
        let answer = deployment.post(&batch).await;
        assert_eq!(answer.0, 202, "a retry after the faults: {}", answer.1);
        ledger.record("retry", &batch, &answer);
    }

    let counts = proxy.counts();
    assert!(
        counts.errors > 0
            && counts.reset > 0
            && counts.reset_after_forwarding > 0
            && counts.stalled > 0,
        "{counts:?}"
    );
    let in_s3 = ids_of(&deployment.aws.events_in(&deployment.bucket).await);
    let in_queue: BTreeSet<String> = deployment
        .aws
        .drain_dead_letters(&deployment.queue_url)
        .await
        .iter()
        .flat_map(|message| ids_of(&dead_lettered_events(message)))
        .collect();
    assert!(ledger.stored.is_subset(&in_s3), "every 202 event is in S3");
    assert!(
        ledger.dead_lettered.is_subset(&in_queue),
        "every event a 503 said was queued is in the dead-letter queue"
    );
    assert!(
        !ledger.dead_lettered.is_empty(),
        "some events were dead-lettered"
    );
    let kept: BTreeSet<String> = in_s3.union(&in_queue).cloned().collect();
    assert_eq!(kept, ledger.sent, "no event lost, none invented");
}
