//! A dead letter: an object the raw store refused, as the ingest function
//! sends it to the dead-letter queue and `sbwctl dlq` reads it back.

use base64::Engine;
use serde::{Deserialize, Serialize};

/// One dead-lettered object, or one part of it: where it should have gone
/// and what it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterMessage {
    pub request_id: String,
    /// The raw store key the object was meant for.
    pub key: String,
    /// Why the raw store write failed.
    pub reason: String,
    /// Part number and count, when the object was split to fit SQS.
    pub part: usize,
    pub parts: usize,
    /// Base64 of gzipped NDJSON lines.
    pub ndjson_gz_base64: String,
}

impl DeadLetterMessage {
    /// The message carrying `ndjson` (whole lines) as part `part` of `parts`.
    pub fn new(
        request_id: &str,
        key: &str,
        reason: &str,
        (part, parts): (usize, usize),
        ndjson: &[u8],
    ) -> DeadLetterMessage {
        DeadLetterMessage {
            request_id: request_id.to_owned(),
            key: key.to_owned(),
            reason: reason.to_owned(),
            part,
            parts,
            ndjson_gz_base64: base64::engine::general_purpose::STANDARD
                .encode(crate::ndjson::gzip(ndjson)),
        }
    }

    /// The gzipped NDJSON the message carries.
    pub fn gzipped_lines(&self) -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.ndjson_gz_base64)
            .map_err(|e| format!("ndjson_gz_base64 is not base64: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_sent_are_the_lines_read_back() {
        let lines = b"{\"event_id\":\"a\"}\n{\"event_id\":\"b\"}\n";
        let message = DeadLetterMessage::new("req-1", "events/k", "SlowDown", (2, 3), lines);
        let json = serde_json::to_string(&message).unwrap();
        let read: DeadLetterMessage = serde_json::from_str(&json).unwrap();
        assert_eq!((read.part, read.parts), (2, 3));
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&read.gzipped_lines().unwrap()[..]),
            &mut text,
        )
        .unwrap();
        assert_eq!(text, lines);
    }

    #[test]
    fn a_payload_that_is_not_base64_is_explained() {
        let mut message = DeadLetterMessage::new("r", "k", "x", (1, 1), b"{}\n");
        message.ndjson_gz_base64 = "%%% not base64 %%%".into();
        let error = message.gzipped_lines().unwrap_err();
        assert!(
            error.starts_with("ndjson_gz_base64 is not base64"),
            "{error}"
        );
    }
}
