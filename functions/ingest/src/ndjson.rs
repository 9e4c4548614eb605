//! NDJSON.gz encoding of the objects the function writes.

use std::io::Write;

use bytes::Bytes;
use flate2::{write::GzEncoder, Compression};
use serde::Serialize;

/// One JSON line, newline included.
pub fn line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).expect("stored records serialize");
    line.push(b'\n');
    line
}

/// Gzip at the fastest level: the function is billed by CPU time, and NDJSON
/// compresses well even so.
pub fn gzip(data: impl AsRef<[u8]>) -> Bytes {
    let data = data.as_ref();
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4 + 64), Compression::fast());
    encoder
        .write_all(data)
        .expect("writing to memory cannot fail");
    Bytes::from(encoder.finish().expect("writing to memory cannot fail"))
}
