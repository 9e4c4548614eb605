//! One received message: its SQS facts, what it holds when its body is a
//! dead letter, and the objects that replay it in the raw store.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sbw_contract::rawkey::{object_key, ObjectKind};
use sbw_contract::{FieldError, RejectedEvent};
use sbw_rawstore::dead_letter::DeadLetterMessage;
use sbw_rawstore::decode::{decode_guarded, DecodeLimits, DecodedObject};
use sbw_rawstore::ndjson;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A message as received: who it is to SQS, and its content.
#[derive(Debug)]
pub struct Received {
    pub message_id: String,
    pub(super) receipt_handle: String,
    /// When the ingest function sent it.
    pub sent_at: Option<DateTime<Utc>>,
    pub body_bytes: usize,
    /// The dead letter, or why the body is not one.
    pub content: Result<Letter, String>,
}

/// A dead letter, its payload decoded and checked line by line as the ETL
/// reads stored events ([`sbw_rawstore::decode`]): the client's request is gone,
/// so what can have stopped being valid since the ingest function wrote the
/// lines is the stored-event contract (a new schema version, a tightened rule).
#[derive(Debug)]
pub struct Letter {
    pub request_id: String,
    /// Where the ingest function meant to store the events.
    pub key: String,
    pub reason: String,
    pub part: usize,
    pub parts: usize,
    pub gzip_bytes: usize,
    pub decoded: DecodedObject,
}

impl Received {
    pub(super) fn from_message(message: &aws_sdk_sqs::types::Message) -> Option<Received> {
        let body = message.body().unwrap_or_default();
        let sent_at = message
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp))
            .and_then(|ms| ms.parse().ok())
            .and_then(DateTime::from_timestamp_millis);
        Some(Received {
            message_id: message.message_id()?.to_owned(),
            receipt_handle: message.receipt_handle()?.to_owned(),
            sent_at,
            body_bytes: body.len(),
            content: Letter::parse(body),
        })
    }
}

impl Letter {
    fn parse(body: &str) -> Result<Letter, String> {
        let message: DeadLetterMessage = serde_json::from_str(body)
            .map_err(|e| format!("the body is not a dead-letter message: {e}"))?;
        if message.part == 0 || message.part > message.parts {
            return Err(format!(
                "the dead letter says it is part {} of {}",
                message.part, message.parts
            ));
        }
        let gzipped = message.gzipped_lines()?;
        Ok(Letter {
            request_id: message.request_id,
            key: message.key,
            reason: message.reason,
            part: message.part,
            parts: message.parts,
            gzip_bytes: gzipped.len(),
            decoded: decode_guarded(&gzipped, &DecodeLimits::default()),
        })
    }

    /// The reason without what differs from one message to the next (the
    /// object key, the SDK's debug dump with its request ids), so that
    /// messages dead-lettered by one outage count under one reason.
    pub fn reason_class(&self) -> String {
        let reason = crate::aws::without_debug_dump(&self.reason);
        // An unmodeled error's Display repeats its metadata, request id included.
        let reason = reason.split(" Error {").next().unwrap_or(reason);
        reason.replace(&self.key, "<key>")
    }
}

/// What redriving one message writes: its valid events under the current
/// hour, and a record of whatever no longer validates under `rejects/`.
#[derive(Debug)]
pub struct Replay {
    pub events_key: String,
    pub events: usize,
    pub events_object: Option<Bytes>,
    pub rejects_key: String,
    pub rejected: usize,
    pub rejects_object: Option<Bytes>,
}

impl Received {
    /// The objects replaying this message when stored at `now`. Their names
    /// derive from the message (the original key and part, or the SQS message
    /// id of a body that is no dead letter), so storing them again in the
    /// same hour overwrites them; in a later hour the ETL drops the copies by
    /// event id.
    pub fn replay(&self, now: DateTime<Utc>) -> Replay {
        let (name, events, rejects) = match &self.content {
            Ok(letter) => (
                format!(
                    "dead letter {} part {}/{}",
                    letter.key, letter.part, letter.parts
                ),
                letter.decoded.events.as_slice(),
                letter.rejected_lines(now),
            ),
            Err(reason) => (
                format!("sqs message {}", self.message_id),
                &[][..],
                vec![RejectedEvent {
                    received_at: now,
                    request_id: self.message_id.clone(),
                    index: 0,
                    event_id: None,
                    event_type: None,
                    errors: vec![FieldError::new(
                        "$",
                        format!("SQS message {}: {reason}", self.message_id),
                    )],
                }],
            ),
        };
        let id = object_id(&name);
        Replay {
            events_key: object_key(ObjectKind::Events, now, id),
            events: events.len(),
            events_object: gzipped_lines(events),
            rejects_key: object_key(ObjectKind::Rejects, now, id),
            rejected: rejects.len(),
            rejects_object: gzipped_lines(&rejects),
        }
    }
}

impl Letter {
    /// One rejected-event record per line that no longer validates, and one
    /// for a damaged payload's lost tail.
    fn rejected_lines(&self, now: DateTime<Utc>) -> Vec<RejectedEvent> {
        let lines_read = self.decoded.events.len() + self.decoded.rejected_lines();
        self.decoded
            .rejects
            .iter()
            .map(|reject| RejectedEvent {
                received_at: now,
                request_id: self.request_id.clone(),
                index: reject
                    .line_number
                    .map_or(lines_read, |n| (n as usize).saturating_sub(1)),
                event_id: None,
                event_type: None,
                errors: vec![FieldError::new(
                    "$",
                    format!(
                        "redriving part {}/{} of {}: {}",
                        self.part, self.parts, self.key, reject.reason
                    ),
                )],
            })
            .collect()
    }
}

/// A UUID (version 8) from the SHA-256 of `name`.
fn object_id(name: &str) -> Uuid {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// One gzipped NDJSON object as the ingest function writes it, or `None` for no records.
fn gzipped_lines<T: serde::Serialize>(records: &[T]) -> Option<Bytes> {
    if records.is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    for record in records {
        ndjson::push_line(&mut lines, record);
    }
    Some(ndjson::gzip(lines))
}
