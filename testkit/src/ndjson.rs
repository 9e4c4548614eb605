//! Reading and writing the raw store's NDJSON.gz objects in tests.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// The JSON lines of one gzipped NDJSON object.
pub fn gunzip_lines(gzipped: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(gzipped)
        .read_to_string(&mut text)
        .expect("a gzipped UTF-8 object");
    text.lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect()
}

/// Every file below `dir`, depth first; none when `dir` does not exist.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.expect("a readable directory").path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The lines of every object below `dir` of a local raw store. Panics on a
/// leftover temporary file or anything that is not `*.ndjson.gz`.
pub fn lines_below(dir: &Path) -> Vec<Value> {
    let mut lines = Vec::new();
    for path in files_below(dir) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            !name.starts_with('.'),
            "a temporary file was left behind: {}",
            path.display()
        );
        assert!(
            name.ends_with(".ndjson.gz"),
            "unexpected object {}",
            path.display()
        );
        lines.extend(gunzip_lines(
            &std::fs::read(&path).expect("a readable object"),
        ));
    }
    lines
}

/// The NDJSON.gz bytes of `events`, as the ingest function writes them.
pub fn stored_object(events: &[sbw_contract::StoredEvent]) -> Vec<u8> {
    let mut text = Vec::new();
    for event in events {
        serde_json::to_writer(&mut text, event).expect("a stored event serialises");
        text.push(b'\n');
    }
    gzip(&text)
}

/// Writes `bytes` as a new raw object of the receive hour of `hour` below
/// `root`, as the ingest function writes one locally; returns its key.
pub fn write_raw_object(root: &Path, hour: chrono::DateTime<chrono::Utc>, bytes: &[u8]) -> String {
    use sbw_contract::rawkey::{object_key, ObjectKind};
    let key = object_key(ObjectKind::Events, hour, uuid::Uuid::new_v4());
    sbw_rawstore::directory::write_atomically(&root.join(&key), bytes)
        .expect("writing a raw object");
    key
}

/// Writes `events` as objects of at most `per_object` events, each under the
/// receive hour of its first event; returns the keys.
pub fn write_stored_events(
    root: &Path,
    events: &[sbw_contract::StoredEvent],
    per_object: usize,
) -> Vec<String> {
    events
        .chunks(per_object.max(1))
        .map(|chunk| write_raw_object(root, chunk[0].received_at, &stored_object(chunk)))
        .collect()
}
