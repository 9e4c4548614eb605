//! NDJSON.gz encoding of the objects the function writes.

use std::cell::RefCell;
use std::io::Write;

use bytes::Bytes;
use flate2::{write::DeflateEncoder, Compression, Crc};
use serde::Serialize;

/// Appends `value` as one JSON line, newline included. JSON text never holds
/// a raw newline, so the lines of an object can be split on `\n` again.
/// sonic-rs escapes strings with SIMD, where serde_json goes byte by byte;
/// its output is the same text (tested below), which readers take with serde_json.
pub fn push_line<T: Serialize>(ndjson: &mut Vec<u8>, value: &T) {
    sonic_rs::to_writer(&mut *ndjson, value).expect("stored records serialize");
    ndjson.push(b'\n');
}

/// The fixed gzip member header: deflate, no name, no mtime, unknown OS (RFC 1952).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

thread_local! {
    /// A deflate state of a few hundred KiB, reset between objects instead of
    /// allocated and zeroed for each request.
    static DEFLATE: RefCell<DeflateEncoder<Vec<u8>>> =
        RefCell::new(DeflateEncoder::new(Vec::new(), Compression::fast()));
}

/// Gzip at the fastest level: the function is billed by CPU time, and NDJSON
/// compresses well even so.
pub fn gzip(data: impl AsRef<[u8]>) -> Bytes {
    let data = data.as_ref();
    let mut out = DEFLATE.with_borrow_mut(|encoder| {
        let mut start = Vec::with_capacity(data.len() / 4 + 64);
        start.extend_from_slice(&GZIP_HEADER);
        // A reset clears the 128 KiB match table: once per object, so the
        // output is taken out of the finished encoder rather than reset out.
        encoder.reset(start).expect("writing to memory cannot fail");
        encoder
            .write_all(data)
            .expect("writing to memory cannot fail");
        encoder.try_finish().expect("writing to memory cannot fail");
        std::mem::take(encoder.get_mut())
    });
    let mut crc = Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn lines_are_the_text_serde_json_writes() {
        let all_low_bytes: String = (0u8..0x80).map(char::from).collect();
        let values = [
            serde_json::json!({
                "plain": "https://shop.example/p/SKU-1?utm_source=a",
                "escapes": all_low_bytes,
                "quotes": "say \"hi\" \\ bye/",
                "unicode": "Tiếng Việt \u{2028}\u{2029} 🛒 \u{7f} \u{fffd}",
                "long": "x\u{1}".repeat(300),
            }),
            serde_json::json!([
                0,
                -1,
                u64::MAX,
                i64::MIN,
                0.1,
                -0.0,
                1e-7,
                1.5e300,
                12345678.9,
                2.5e-308
            ]),
            serde_json::json!({"nested": {"empty": {}, "list": [], "null": null, "bools": [true, false]}}),
            serde_json::json!(""),
        ];
        for value in values {
            let mut line = Vec::new();
            push_line(&mut line, &value);
            let mut expected = serde_json::to_vec(&value).unwrap();
            expected.push(b'\n');
            assert_eq!(
                String::from_utf8(line).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }

    #[test]
    fn objects_are_gzip_that_standard_readers_decode_one_after_another() {
        for text in [
            "",
            "{\"a\":1}\n",
            &"{\"event\":\"page_view\"}\n".repeat(5_000),
        ] {
            let mut decoded = String::new();
            flate2::read::GzDecoder::new(&gzip(text)[..])
                .read_to_string(&mut decoded)
                .unwrap();
            assert_eq!(decoded, text);
        }
    }
}
