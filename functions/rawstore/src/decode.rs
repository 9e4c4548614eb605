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
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    fn decode(gzipped: &[u8]) -> DecodedObject {
        decode_guarded(gzipped, &DecodeLimits::default())
    }

    fn line(id: u128) -> String {
        serde_json::json!({
            "schema_version": 1, "event_id": uuid::Uuid::from_u128(id), "event_type": "page_view",
            "ts": "2026-11-20T08:00:00.000Z", "client_ts": "2026-11-20T08:00:00.000Z",
            "received_at": "2026-11-20T08:00:01.000Z", "clock_skew_ms": null,
            "session_id": uuid::Uuid::from_u128(7), "anonymous_id_hash": "a", "user_id_hash": null,
            "page_url": "https://shop.example/", "referrer": null,
            "device": {"type": "desktop", "browser": null, "os": null, "family": null, "bot": false},
            "geo": {"country": null, "city": null}, "ecom": null, "props": {}, "request_id": "r"
        })
        .to_string()
    }

    #[test]
    fn every_line_is_an_event_and_the_last_newline_is_optional() {
        let decoded = decode(&gzip(&format!("{}\n\n{}", line(1), line(2))));
        // Blank lines are skipped, not refused.
        assert_eq!(decoded.events.len(), 2);
        assert!(decoded.rejects.is_empty());
        assert!(!decoded.damaged);
    }

    #[test]
    fn concatenated_gzip_members_are_one_object() {
        let mut bytes = gzip(&format!("{}\n", line(1)));
        bytes.extend(gzip(&format!("{}\n", line(2))));
        assert_eq!(decode(&bytes).events.len(), 2);
    }

    #[test]
    fn bad_lines_are_refused_with_their_number_and_reason() {
        let unknown = line(3).replacen('{', "{\"extra\":1,", 1);
        let version = line(4).replace("\"schema_version\":1", "\"schema_version\":2");
        let zero_qty = line(5).replace(
            "\"ecom\":null",
            "\"ecom\":{\"product_id\":\"p\",\"category\":null,\"currency\":null,\"price\":null,\"qty\":0}",
        );
        let text = [
            line(1),
            "[]".into(),
            unknown,
            version,
            zero_qty,
            "\u{fffd}".into(),
        ]
        .join("\n");
        let decoded = decode(&gzip(&text));
        assert_eq!(decoded.events.len(), 1);
        let got: Vec<(Option<i32>, bool)> = decoded
            .rejects
            .iter()
            .map(|r| (r.line_number, r.excerpt.is_some()))
            .collect();
        assert_eq!(got, [2, 3, 4, 5, 6].map(|n| (Some(n), true)));
        assert!(decoded.rejects[1].reason.contains("unknown field `extra`"));
        assert!(decoded.rejects[2].reason.contains("schema_version 2"));
        assert!(decoded.rejects[3].reason.contains("ecom.qty is 0"));
        assert_eq!(decoded.rejected_lines(), 5);
        assert!(!decoded.damaged);
    }

    #[test]
    fn a_truncated_object_keeps_its_complete_lines_and_is_damaged() {
        let whole = gzip(&format!("{}\n{}\n{}\n", line(1), line(2), line(3)));
        let decoded = decode(&whole[..whole.len() - 10]);
        assert!(decoded.damaged);
        assert!(decoded.events.len() <= 3);
        assert_eq!(decoded.rejects.len(), 1);
        assert_eq!(decoded.rejects[0].line_number, None);
        assert!(decoded.rejects[0].reason.contains("corrupt or truncated"));
    }

    #[test]
    fn bytes_that_are_not_gzip_are_damaged_with_nothing_loaded() {
        let decoded = decode(b"{\"event_id\": 1}\n");
        assert!(decoded.damaged);
        assert!(decoded.events.is_empty());
        let empty = decode(b"");
        assert!(empty.damaged, "zero bytes are no gzip stream either");
    }

    #[test]
    fn a_line_over_the_limit_is_refused_with_its_length_and_the_next_lines_load() {
        let limits = DecodeLimits {
            line_bytes: 2048,
            ..DecodeLimits::default()
        };
        let long = "x".repeat(10_000);
        let decoded = decode_object(&gzip(&format!("{}\n{long}\n{}", line(1), line(2))), &limits);
        assert_eq!(decoded.events.len(), 2);
        assert_eq!(decoded.rejects.len(), 1);
        assert_eq!(decoded.rejects[0].line_number, Some(2));
        assert!(
            decoded.rejects[0]
                .reason
                .contains("10001 bytes long, over the limit of 2048"),
            "{:?}",
            decoded.rejects
        );
        assert!(!decoded.damaged);
    }

    #[test]
    fn an_object_decompressing_past_the_limit_is_quarantined() {
        let limits = DecodeLimits {
            object_bytes: 4096,
            ..DecodeLimits::default()
        };
        let bomb = format!("{}\n{}", line(1), "\n".repeat(1 << 20));
        let decoded = decode_object(&gzip(&bomb), &limits);
        assert!(decoded.damaged);
        assert!(
            decoded.rejects[0].reason.contains("more than 4096 bytes"),
            "{:?}",
            decoded.rejects
        );
    }

    #[test]
    fn events_at_times_the_warehouse_cannot_hold_are_refused() {
        let at = |ts: &str, received: &str| {
            line(1)
                .replace(
                    "\"ts\":\"2026-11-20T08:00:00.000Z\"",
                    &format!("\"ts\":\"{ts}\""),
                )
                .replace(
                    "\"received_at\":\"2026-11-20T08:00:01.000Z\"",
                    &format!("\"received_at\":\"{received}\""),
                )
        };
        let text = [
            at("9999-12-15T00:00:00Z", "9999-12-15T00:00:00Z"),
            at("2026-12-20T08:00:00Z", "2026-11-20T08:00:01Z"),
            at("2026-11-20T08:04:00Z", "2026-11-20T08:00:01Z"),
        ]
        .join("\n");
        let decoded = decode(&gzip(&text));
        assert_eq!(decoded.events.len(), 1, "{:?}", decoded.rejects);
        assert!(decoded.rejects[0].reason.contains("outside the years"));
        assert!(decoded.rejects[1]
            .reason
            .contains("is not within 30 days before"));
    }
}
