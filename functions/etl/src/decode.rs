//! Schema-on-read: one raw object's gzip stream -> stored events, plus the
//! lines and damage the ETL refuses. Nothing here touches the database.

use std::io::{BufRead, BufReader};

use flate2::read::MultiGzDecoder;
use rust_decimal::Decimal;
use sbw_contract::event::STORED_SCHEMA_VERSION;
use sbw_contract::StoredEvent;

/// How much of a refused line is kept for the operator (raw lines are
/// already PII-free: the ingest function wrote them).
const EXCERPT_CHARS: usize = 300;

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
    /// The gzip stream was corrupt or truncated: the complete lines before
    /// the damage are kept, the object is recorded as quarantined.
    pub damaged: bool,
}

impl DecodedObject {
    pub fn rejected_lines(&self) -> usize {
        self.rejects
            .iter()
            .filter(|r| r.line_number.is_some())
            .count()
    }
}

pub fn decode_object(gzipped: &[u8]) -> DecodedObject {
    let mut decoded = DecodedObject::default();
    let mut reader = BufReader::with_capacity(64 * 1024, MultiGzDecoder::new(gzipped));
    let mut line = Vec::with_capacity(1024);
    let mut line_number = 0i32;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {
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
            // `read_until` drops a partial line when the stream fails under it.
            Err(error) => {
                decoded.damaged = true;
                decoded.rejects.push(Reject {
                    line_number: None,
                    reason: format!(
                        "the gzip stream is corrupt or truncated after {line_number} complete lines \
                         ({error}); those lines were loaded, the rest of the object is lost"
                    ),
                    excerpt: None,
                });
                break;
            }
        }
    }
    decoded
}

fn parse_line(line: &[u8]) -> Result<StoredEvent, String> {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let event: StoredEvent =
        serde_json::from_slice(text).map_err(|e| format!("not a stored event: {e}"))?;
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
        let decoded = decode_object(&gzip(&format!("{}\n\n{}", line(1), line(2))));
        // Blank lines are skipped, not refused.
        assert_eq!(decoded.events.len(), 2);
        assert!(decoded.rejects.is_empty());
        assert!(!decoded.damaged);
    }

    #[test]
    fn concatenated_gzip_members_are_one_object() {
        let mut bytes = gzip(&format!("{}\n", line(1)));
        bytes.extend(gzip(&format!("{}\n", line(2))));
        assert_eq!(decode_object(&bytes).events.len(), 2);
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
        let decoded = decode_object(&gzip(&text));
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
        let decoded = decode_object(&whole[..whole.len() - 10]);
        assert!(decoded.damaged);
        assert!(decoded.events.len() <= 3);
        assert_eq!(decoded.rejects.len(), 1);
        assert_eq!(decoded.rejects[0].line_number, None);
        assert!(decoded.rejects[0].reason.contains("corrupt or truncated"));
    }

    #[test]
    fn bytes_that_are_not_gzip_are_damaged_with_nothing_loaded() {
        let decoded = decode_object(b"{\"event_id\": 1}\n");
        assert!(decoded.damaged);
        assert!(decoded.events.is_empty());
        let empty = decode_object(b"");
        assert!(empty.damaged, "zero bytes are no gzip stream either");
    }
}
