//! Schema-on-read: one raw object's gzip stream -> stored events, plus the
//! lines and damage the ETL refuses. Nothing here touches the database.
//!
//! Decoding streams, within [`DecodeLimits`]: a poison object (one line of
//! gigabytes, a decompression bomb) costs at most a line's and an object's
//! limit of memory, and is quarantined; it never takes the run down.

use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use flate2::read::MultiGzDecoder;
use rust_decimal::Decimal;
use sbw_contract::event::STORED_SCHEMA_VERSION;
use sbw_contract::limits::{MAX_AGE_DAYS, MAX_BODY_BYTES, MAX_FUTURE_SECS};
use sbw_contract::StoredEvent;

/// How much of a refused line is kept for the operator (raw lines are
/// already PII-free: the ingest function wrote them).
const EXCERPT_CHARS: usize = 300;

/// What one object may cost to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// One line: no stored event is longer than the request body it came in
    /// (plus what the ingest function adds), so a longer line is refused
    /// after reading this much of it.
    pub line_bytes: usize,
    /// The object, decompressed. An ingest request writes at most a body's
    /// worth; past this the object is quarantined (a decompression bomb).
    pub object_bytes: u64,
    /// The object as stored: larger ones are quarantined without reading.
    pub stored_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            line_bytes: 2 * MAX_BODY_BYTES,
            object_bytes: 64 << 20,
            stored_bytes: 64 << 20,
        }
    }
}

/// The event times the warehouse can hold: `dim_date` has the days of
/// 2020 to 2045 (migration 0001), less a day each side for time zones.
fn storable(t: DateTime<Utc>) -> bool {
    let day = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    };
    day(2020, 1, 2) <= Some(t) && Some(t) < day(2045, 12, 31)
}

/// A line or object the ETL refused: recorded in `etl_rejects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based; `None` for the object as a whole.
    pub line_number: Option<i32>,
    pub reason: String,
    pub excerpt: Option<String>,
}

#[derive(Debug, Default)]
pub struct DecodedObject {
    pub events: Vec<StoredEvent>,
    pub rejects: Vec<Reject>,
    /// The object is quarantined: its gzip stream was corrupt or truncated,
    /// it was over a [`DecodeLimits`] limit, or decoding it failed. The
    /// complete lines before the damage are kept.
    pub damaged: bool,
}

impl DecodedObject {
    pub fn rejected_lines(&self) -> usize {
        self.rejects
            .iter()
            .filter(|r| r.line_number.is_some())
            .count()
    }

    /// An object refused as a whole, none of it loaded.
    pub fn quarantined(reason: String) -> DecodedObject {
        let mut decoded = DecodedObject::default();
        decoded.quarantine(reason);
        decoded
    }

    fn quarantine(&mut self, reason: String) {
        self.damaged = true;
        self.rejects.push(Reject {
            line_number: None,
            reason,
            excerpt: None,
        });
    }
}

/// [`decode_object`], with a panic in decoding turned into a quarantine:
/// one object's surprise must not end the run (and, retried at every run,
/// every run after it).
pub fn decode_guarded(gzipped: &[u8], limits: &DecodeLimits) -> DecodedObject {
    std::panic::catch_unwind(|| decode_object(gzipped, limits)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        DecodedObject::quarantined(format!("decoding the object panicked: {message}"))
    })
}

pub fn decode_object(gzipped: &[u8], limits: &DecodeLimits) -> DecodedObject {
    let mut decoded = DecodedObject::default();
    let decompressed = MultiGzDecoder::new(gzipped).take(limits.object_bytes + 1);
    let mut reader = BufReader::with_capacity(64 * 1024, decompressed);
    let mut line = Vec::with_capacity(1024);
    let mut line_number = 0i32;
    loop {
        let read = next_line(&mut reader, &mut line, limits.line_bytes);
        if reader.get_ref().limit() == 0 {
            decoded.quarantine(format!(
                "the object decompresses to more than {} bytes (a decompression bomb?); \
                 its {line_number} complete lines before that were loaded, the rest is refused",
                limits.object_bytes
            ));
            break;
        }
        match read {
            Ok(Line::End) => break,
            Ok(Line::Complete) => {
                line_number += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match parse_line(&line) {
                    Ok(event) => decoded.events.push(event),
                    Err(reason) => decoded.rejects.push(Reject {
                        line_number: Some(line_number),
                        reason,
                        excerpt: Some(excerpt(&line)),
                    }),
                }
            }
            Ok(Line::TooLong { bytes }) => {
                line_number += 1;
                decoded.rejects.push(Reject {
                    line_number: Some(line_number),
                    reason: format!(
                        "the line is {bytes} bytes long, over the limit of {} \
                         (no stored event is that long)",
                        limits.line_bytes
                    ),
                    excerpt: Some(excerpt(&line)),
                });
            }
            // A partial line is dropped when the stream fails under it.
            Err(error) => {
                decoded.quarantine(format!(
                    "the gzip stream is corrupt or truncated after {line_number} complete lines \
                     ({error}); those lines were loaded, the rest of the object is lost"
                ));
                break;
            }
        }
    }
    decoded
}

enum Line {
    End,
    /// `line` holds the line.
    Complete,
    /// The line was longer than the limit: `line` holds its first bytes.
    TooLong {
        bytes: u64,
    },
}

/// Reads the next line (its newline optional at the end of the stream) into
/// `line`, keeping at most `max` bytes of it.
fn next_line(reader: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    line.clear();
    let mut bytes = 0u64;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        let (take, ends) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buffer.len(), false),
        };
        let room = max.saturating_sub(line.len());
        line.extend_from_slice(&buffer[..take.min(room)]);
        bytes += take as u64;
        reader.consume(take);
        if ends {
            break;
        }
    }
    Ok(match bytes {
        0 => Line::End,
        long if long > max as u64 => Line::TooLong { bytes: long },
        _ => Line::Complete,
    })
}

fn parse_line(line: &[u8]) -> Result<StoredEvent, String> {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let event: StoredEvent =
        serde_json::from_slice(text).map_err(|e| format!("not a stored event: {e}"))?;
    if !storable(event.received_at) {
        return Err(format!(
            "received_at {} is outside the years the warehouse holds",
            event.received_at
        ));
    }
    if event.ts > event.received_at + Duration::seconds(MAX_FUTURE_SECS)
        || event.ts < event.received_at - Duration::days(MAX_AGE_DAYS)
    {
        return Err(format!(
            "ts {} is not within {MAX_AGE_DAYS} days before to {MAX_FUTURE_SECS} s after \
             received_at {}, as the ingest function makes it",
            event.ts, event.received_at
        ));
    }
    if event.schema_version != STORED_SCHEMA_VERSION {
        return Err(format!(
            "schema_version {} is not {STORED_SCHEMA_VERSION}, the version this ETL loads",
            event.schema_version
        ));
    }
    if let Some(ecom) = &event.ecom {
        if ecom.price.is_some_and(|p| p < Decimal::ZERO) {
            return Err("ecom.price is negative".to_owned());
        }
        if ecom.qty == Some(0) {
            return Err("ecom.qty is 0".to_owned());
        }
    }
    Ok(event)
}

fn excerpt(line: &[u8]) -> String {
    String::from_utf8_lossy(line)
        .trim_end()
        .chars()
        .take(EXCERPT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests;
