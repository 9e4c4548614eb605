//! `sbwctl dlq inspect`: what waits in the dead-letter queue, counted by
//! reason and by hour, without the events' contents.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use serde::Serialize;

use super::{Depth, Queue, Received};
use crate::aws::AwsError;

/// How long inspect hides the messages it reads from other readers (a
/// redrive, another inspect) should it stop before releasing them.
pub const VISIBILITY_SECONDS: i32 = 30;
/// Dead letters expire after the queue's retention (14 days in the ingest template).
const RETENTION: Duration = Duration::days(14);
/// How many dead-lettered objects the text report lists one by one.
const LISTED_OBJECTS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectReport {
    pub queue_url: String,
    /// The queue's depth before inspect read it.
    pub depth: Depth,
    /// Distinct messages read (at most the limit).
    pub messages_read: usize,
    /// Every visible message was read (the queue ran dry before the limit).
    pub complete: bool,
    pub events: usize,
    /// Lines that would go to `rejects/` on a redrive.
    pub invalid_lines: usize,
    /// Messages whose body is not a dead letter (a redrive records them under `rejects/`).
    pub unreadable: Vec<Unreadable>,
    pub oldest_sent_at: Option<String>,
    pub oldest_age_hours: Option<f64>,
    /// Hours left before the oldest message expires.
    pub oldest_expires_in_hours: Option<f64>,
    pub by_reason: Vec<Tally>,
    /// By the UTC hour the ingest function dead-lettered them.
    pub by_hour: Vec<Tally>,
    /// The dead-lettered objects, oldest first.
    pub objects: Vec<DeadObject>,
    /// Messages SQS did not make visible again: they return by themselves
    /// after [`VISIBILITY_SECONDS`].
    pub not_released: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub key: String,
    pub messages: usize,
    pub events: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub message_id: String,
    pub body_bytes: usize,
    pub why: String,
}

/// One object the raw store refused, from the parts of it read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadObject {
    pub key: String,
    pub request_id: String,
    pub parts: usize,
    pub parts_read: usize,
    pub events: usize,
    pub gzip_bytes: usize,
    pub sent_at: Option<String>,
}

/// Reads up to `limit` messages, hiding them for [`VISIBILITY_SECONDS`], and
/// makes them visible again before returning.
pub async fn inspect(queue: &Queue, limit: usize) -> Result<InspectReport, AwsError> {
    let depth = queue.depth().await?;
    let read = queue.read(limit, VISIBILITY_SECONDS).await?;
    let not_released = queue.release(&read.iter().collect::<Vec<_>>()).await;
    let mut report = summarize(&queue.url, depth, &read, Utc::now());
    report.complete = read.len() < limit;
    report.not_released = not_released;
    Ok(report)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn hours(d: Duration) -> f64 {
    (d.num_seconds() as f64 / 360.0).round() / 10.0
}

pub(super) fn summarize(
    queue_url: &str,
    depth: Depth,
    read: &[Received],
    now: DateTime<Utc>,
) -> InspectReport {
    let mut by_reason: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_hour: BTreeMap<String, Tally> = BTreeMap::new();
    let mut objects: BTreeMap<&str, DeadObject> = BTreeMap::new();
    let mut unreadable = Vec::new();
    let (mut events, mut invalid_lines) = (0, 0);
    let tally = |map: &mut BTreeMap<String, Tally>, key: String, count: usize| {
        let entry = map.entry(key.clone()).or_insert(Tally {
            key,
            messages: 0,
            events: 0,
        });
        entry.messages += 1;
        entry.events += count;
    };
    for message in read {
        let hour = message.sent_at.map_or_else(
            || "unknown".to_owned(),
            |t| rfc3339(t.duration_trunc(Duration::hours(1)).unwrap_or(t)),
        );
        let letter = match &message.content {
            Ok(letter) => letter,
            Err(why) => {
                unreadable.push(Unreadable {
                    message_id: message.message_id.clone(),
                    body_bytes: message.body_bytes,
                    why: why.clone(),
                });
                tally(&mut by_reason, "not a dead letter".to_owned(), 0);
                tally(&mut by_hour, hour, 0);
                continue;
            }
        };
        let count = letter.decoded.events.len();
        events += count;
        invalid_lines += letter.decoded.rejects.len();
        tally(&mut by_reason, letter.reason_class(), count);
        tally(&mut by_hour, hour, count);
        let object = objects.entry(&letter.key).or_insert_with(|| DeadObject {
            key: letter.key.clone(),
            request_id: letter.request_id.clone(),
            parts: letter.parts,
            parts_read: 0,
            events: 0,
            gzip_bytes: 0,
            sent_at: None,
        });
        object.parts_read += 1;
        object.events += count;
        object.gzip_bytes += letter.gzip_bytes;
        object.sent_at = match (object.sent_at.take(), message.sent_at.map(rfc3339)) {
            (Some(earlier), Some(this)) => Some(earlier.min(this)),
            (earlier, this) => earlier.or(this),
        };
    }
    let oldest = read.iter().filter_map(|m| m.sent_at).min();
    let mut objects: Vec<DeadObject> = objects.into_values().collect();
    objects.sort_by(|a, b| (&a.sent_at, &a.key).cmp(&(&b.sent_at, &b.key)));
    InspectReport {
        queue_url: queue_url.to_owned(),
        depth,
        messages_read: read.len(),
        complete: false,
        events,
        invalid_lines,
        unreadable,
        oldest_sent_at: oldest.map(rfc3339),
        oldest_age_hours: oldest.map(|t| hours(now - t)),
        oldest_expires_in_hours: oldest.map(|t| hours(t + RETENTION - now)),
        by_reason: by_reason.into_values().collect(),
        by_hour: by_hour.into_values().collect(),
        objects,
        not_released: 0,
    }
}

impl InspectReport {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "QUEUE          {}\nWAITING        {} visible, {} in flight (before this inspect)\n",
            self.queue_url, self.depth.visible, self.depth.in_flight
        );
        out.push_str(&format!(
            "READ           {} messages{}: {} events, {} invalid lines, {} not dead letters\n",
            self.messages_read,
            if self.complete {
                " (all)"
            } else {
                " (the limit; more may wait)"
            },
            self.events,
            self.invalid_lines,
            self.unreadable.len()
        ));
        if let (Some(sent), Some(age), Some(left)) = (
            &self.oldest_sent_at,
            self.oldest_age_hours,
            self.oldest_expires_in_hours,
        ) {
            out.push_str(&format!(
                "OLDEST         {sent} ({age} h ago; expires in {left} h)\n"
            ));
        }
        for (title, tallies) in [
            ("BY REASON", &self.by_reason),
            ("BY HOUR (UTC)", &self.by_hour),
        ] {
            if tallies.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title:<40} MESSAGES   EVENTS\n"));
            for tally in tallies {
                out.push_str(&format!(
                    "{:<40} {:>8} {:>8}\n",
                    tally.key, tally.messages, tally.events
                ));
            }
        }
        if !self.objects.is_empty() {
            out.push_str(&format!(
                "\n{:<24} {:<40} {:>5} {:>6} {:>8}  KEY\n",
                "SENT", "REQUEST ID", "PARTS", "EVENTS", "GZIP B"
            ));
            for object in self.objects.iter().take(LISTED_OBJECTS) {
                out.push_str(&format!(
                    "{:<24} {:<40} {:>5} {:>6} {:>8}  {}\n",
                    object.sent_at.as_deref().unwrap_or("-"),
                    object.request_id,
                    format!("{}/{}", object.parts_read, object.parts),
                    object.events,
                    object.gzip_bytes,
                    object.key
                ));
            }
            if self.objects.len() > LISTED_OBJECTS {
                out.push_str(&format!(
                    "... and {} more objects (--output json lists them all)\n",
                    self.objects.len() - LISTED_OBJECTS
                ));
            }
        }
        for message in &self.unreadable {
            out.push_str(&format!(
                "NOT A DEAD LETTER  message {} ({} bytes): {}\n",
                message.message_id, message.body_bytes, message.why
            ));
        }
        if self.not_released > 0 {
            out.push_str(&format!(
                "\n{} messages could not be made visible again at once; they are back within {VISIBILITY_SECONDS} s\n",
                self.not_released
            ));
        }
        out
    }
}
