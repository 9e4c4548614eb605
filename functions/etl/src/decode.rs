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
