//! The AWS side of the ingest tests, served by the test binary's one moto:
//! a bucket, queue and parameter of each test's own, and readers of what the
//! function left in them.

use std::io::Read;
use std::time::{Duration, Instant};

use flate2::read::MultiGzDecoder;
use sbw_contract::rawkey::{hour_prefix, ObjectKind};
use sbw_contract::StoredEvent;
use sbw_rawstore::dead_letter::DeadLetterMessage;
use sbw_rawstore::RawStore;
use sbw_testkit::Moto;

pub const ORIGIN: &str = "https://shop.example";
pub const SITE_KEY: &str = "pk_test_shop";
/// The identifier hashing key, kept in SSM in deployments.
pub const HASH_KEY: &str = "test-hashing-key-of-at-least-32-bytes";
pub const USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// A name no other test uses, valid for buckets, queues and parameters.
pub fn unique_name(what: &str) -> String {
    format!(
        "sbw-test-{what}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// NDJSON lines as stored events; panics on a line that is not one.
pub fn stored_events(ndjson: &[u8]) -> Vec<StoredEvent> {
    let text = std::str::from_utf8(ndjson).expect("NDJSON is UTF-8");
    assert!(text.ends_with('\n'), "NDJSON ends with a newline");
    text.lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a stored event ({e}): {line}"))
        })
        .collect()
}

/// Whether `key` is a raw-store key of `kind` for an hour between `from` and `to`.
pub fn is_hour_key(
    key: &str,
    kind: ObjectKind,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> bool {
    let name_is_uuid = |name: &str| {
        name.strip_prefix(&format!("{}-", kind.prefix()))
            .and_then(|rest| rest.strip_suffix(".ndjson.gz"))
            .is_some_and(|id| uuid::Uuid::try_parse(id).is_ok())
    };
    [from, to].iter().any(|at| {
        key.strip_prefix(&hour_prefix(kind, *at))
            .is_some_and(|name| name_is_uuid(name) && !name.contains('/'))
    })
}

/// S3, SQS and SSM clients for the shared moto.
pub struct Aws {
    pub config: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl Aws {
    /// Writes `value` to the SecureString `name`, as deploy and rotate do.
    #[allow(dead_code)] // aws_store.rs sets no parameter
    pub async fn put_secure_parameter(&self, name: &str, value: &str) {
        aws_sdk_ssm::Client::new(&self.config)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("put parameter");
    }

    pub async fn connect() -> Self {
        let config = Moto::shared().sdk_config().await;
        Aws {
            s3: sbw_aws::s3_client(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            config,
        }
    }

    pub async fn create_bucket(&self) -> String {
        let bucket = unique_name("raw");
        self.s3
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");
        bucket
    }

    /// A queue's URL.
    pub async fn create_queue(&self) -> String {
        let created = self
            .sqs
            .create_queue()
            .queue_name(unique_name("dlq"))
            .send()
            .await
            .expect("create queue");
        created.queue_url.expect("queue URL")
    }

    /// Every object under `prefix`: its key and content.
    pub async fn objects(&self, bucket: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
        let store = RawStore::S3 {
            client: self.s3.clone(),
            bucket: bucket.to_owned(),
        };
        let mut objects = Vec::new();
        for object in store.list(prefix).await.expect("list objects") {
            let body = store.get(&object.key).await.expect("get object");
            objects.push((object.key, body.to_vec()));
        }
        objects
    }

    /// The events stored in `bucket`, in object order.
    pub async fn events_in(&self, bucket: &str) -> Vec<StoredEvent> {
        let objects = self.objects(bucket, "events/").await;
        objects
            .iter()
            .flat_map(|(_, body)| stored_events(&gunzip(body)))
            .collect()
    }

    /// Receives dead-letter messages until all parts of one dead-lettered
    /// object arrived (or a deadline passed).
    pub async fn dead_letters(&self, queue_url: &str) -> Vec<DeadLetterMessage> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut messages: Vec<DeadLetterMessage> = Vec::new();
        while messages
            .first()
            .is_none_or(|first| messages.len() < first.parts)
            && Instant::now() < deadline
        {
            messages.extend(self.receive_dead_letters(queue_url).await);
        }
        messages
    }

    /// Every message in the queue (until a receive finds none left).
    pub async fn drain_dead_letters(&self, queue_url: &str) -> Vec<DeadLetterMessage> {
        let mut messages = Vec::new();
        loop {
            let received = self.receive_dead_letters(queue_url).await;
            if received.is_empty() {
                return messages;
            }
            messages.extend(received);
        }
    }

    /// The messages one receive returns (it waits up to a second for one).
    async fn receive_dead_letters(&self, queue_url: &str) -> Vec<DeadLetterMessage> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive messages");
        received
            .messages()
            .iter()
            .map(|message| {
                let body = message.body().expect("message body");
                serde_json::from_str(body)
                    .unwrap_or_else(|e| panic!("not a dead-letter message ({e}): {body}"))
            })
            .collect()
    }
}

/// The events a dead-letter message holds.
pub fn dead_lettered_events(message: &DeadLetterMessage) -> Vec<StoredEvent> {
    stored_events(&gunzip(&message.gzipped_lines().expect("a base64 payload")))
}
