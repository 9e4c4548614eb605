//! The last resort when the raw store refuses a write: the accepted events go
//! to the dead-letter queue (SQS in Lambda, a directory in dev), to be
//! redriven by `sbwctl dlq redrive`.

use std::path::PathBuf;

use sbw_rawstore::dead_letter::DeadLetterMessage;
use sbw_rawstore::directory::write_atomically;

/// Largest SQS message body is 256 KiB; the base64 payload stays below it.
const MAX_PAYLOAD_BYTES: usize = 180 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("dead-lettering {key} failed: {message}")]
pub struct DeadLetterError {
    pub key: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub enum DeadLetter {
    Sqs {
        client: aws_sdk_sqs::Client,
        queue_url: String,
    },
    Directory(PathBuf),
}

impl DeadLetter {
    /// Sends `ndjson` (one event per line) meant for `key`. Large objects
    /// are split on line boundaries into messages that fit SQS.
    pub async fn send(
        &self,
        request_id: &str,
        key: &str,
        reason: &str,
        ndjson: &[u8],
    ) -> Result<(), DeadLetterError> {
        let chunks = split_lines(ndjson, MAX_PAYLOAD_BYTES);
        let parts = chunks.len();
        for (part, chunk) in chunks.into_iter().enumerate() {
            let message = DeadLetterMessage::new(request_id, key, reason, (part + 1, parts), chunk);
            let body = serde_json::to_string(&message).expect("messages serialize");
            self.send_one(key, part + 1, body).await?;
        }
        Ok(())
    }

    async fn send_one(&self, key: &str, part: usize, body: String) -> Result<(), DeadLetterError> {
        let fail = |message: String| DeadLetterError {
            key: key.to_owned(),
            message,
        };
        match self {
            DeadLetter::Sqs { client, queue_url } => client
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail(sbw_aws::error::reason(&e))),
            DeadLetter::Directory(dir) => {
                let name = format!("{}.part{part}.json", key.replace('/', "_"));
                write_atomically(&dir.join(name), body.as_bytes()).map_err(|e| fail(e.to_string()))
            }
        }
    }
}

/// Groups lines into chunks whose uncompressed size stays under `max_bytes`
/// (compressed they are smaller still); a single longer line gets a chunk of its own.
fn split_lines(ndjson: &[u8], max_bytes: usize) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let (mut start, mut end) = (0, 0);
    for line in ndjson.split_inclusive(|&byte| byte == b'\n') {
        if end > start && end - start + line.len() > max_bytes {
            chunks.push(&ndjson[start..end]);
            start = end;
        }
        end += line.len();
    }
    if end > start {
        chunks.push(&ndjson[start..end]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_on_boundaries_and_none_is_lost() {
        let ndjson: Vec<u8> = (0..10)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect();
        let chunks = split_lines(&ndjson, 20);
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.len() <= 20));
        assert_eq!(chunks.concat(), ndjson);
        assert!(chunks.iter().all(|c| c.ends_with(b"\n")));
    }

    #[test]
    fn a_line_longer_than_the_limit_gets_its_own_chunk() {
        let long = format!("{}\n", "x".repeat(50));
        let ndjson = format!("short\n{long}tail\n");
        let chunks = split_lines(ndjson.as_bytes(), 20);
        assert_eq!(chunks, [&b"short\n"[..], long.as_bytes(), b"tail\n"]);
    }

    proptest::proptest! {
        /// Any lines, any limit: the chunks are the lines in order, none lost
        /// or cut, and a chunk over the limit is one line alone.
        #[test]
        fn chunks_are_whole_lines_in_order_within_the_limit(
            lines in proptest::collection::vec("[a-z{}:\"0-9]{0,40}", 0..60),
            max_bytes in 1usize..120,
        ) {
            let ndjson: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
            let chunks = split_lines(&ndjson, max_bytes);
            proptest::prop_assert_eq!(&chunks.concat(), &ndjson);
            for chunk in chunks {
                proptest::prop_assert!(chunk.ends_with(b"\n"));
                let lines_in_chunk = chunk.iter().filter(|&&b| b == b'\n').count();
                proptest::prop_assert!(chunk.len() <= max_bytes || lines_in_chunk == 1);
            }
        }
    }
}
