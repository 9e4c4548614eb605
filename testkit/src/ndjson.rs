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
