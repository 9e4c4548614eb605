//! Helpers shared by the in-process ingest tests: a handler over temporary
//! directories, requests, and a reader of what reached the raw store.

#![allow(dead_code)] // each test file uses its own part

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use sbw_contract::IdentifierHasher;
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::dead_letter::DeadLetter;
use sbw_ingest::store::RawStore;
use sbw_ingest::{Ingest, IngestRequest, IngestResponse};
use serde_json::Value;

pub const ORIGIN: &str = "https://shop.example";
pub const SITE_KEY: &str = "pk_test_shop";

pub struct Harness {
    pub ingest: Ingest,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// A handler with a site key and an Origin allow-list, like a deployment.
    pub fn deployed() -> Self {
        Self::with_access(AccessPolicy {
            site_keys: vec![SITE_KEY.into()],
            allowed_origins: vec![ORIGIN.into()],
        })
    }

    pub fn with_access(access: AccessPolicy) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let hasher = IdentifierHasher::new(&[42u8; 32]).unwrap();
        let ingest = Ingest::new(
            access,
            hasher,
            RawStore::Directory(dir.path().join("raw")),
            DeadLetter::Directory(dir.path().join("dead-letter")),
        );
        Harness { ingest, dir }
    }

    pub fn raw_dir(&self) -> PathBuf {
        self.dir.path().join("raw")
    }

    pub fn dead_letter_dir(&self) -> PathBuf {
        self.dir.path().join("dead-letter")
    }

    pub async fn send(&self, request: IngestRequest) -> (IngestResponse, Value) {
        let response = self.ingest.handle(request).await;
        let body = if response.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&response.body).expect("every response body is JSON")
        };
        (response, body)
    }

    /// Every stored event line, keyed by event id, with how often it was stored.
    pub fn stored_events(&self) -> HashMap<String, (usize, Value)> {
        let mut events: HashMap<String, (usize, Value)> = HashMap::new();
        for line in ndjson_lines(&self.raw_dir().join("events")) {
            let id = line["event_id"].as_str().unwrap().to_owned();
            let entry = events.entry(id).or_insert((0, line));
            entry.0 += 1;
        }
        events
    }

    pub fn rejected_records(&self) -> Vec<Value> {
        ndjson_lines(&self.raw_dir().join("rejects"))
    }
}

/// The lines of every `*.ndjson.gz` object below `dir`.
pub fn ndjson_lines(dir: &Path) -> Vec<Value> {
    let mut lines = Vec::new();
    for path in files_below(dir) {
        let name = path.file_name().unwrap().to_str().unwrap();
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
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        lines.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    lines
}

pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A request builder; starts as a browser POST of `body` as JSON to the anonymous route.
pub struct Req(pub IngestRequest);

impl Req {
    pub fn post(body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("origin", HeaderValue::from_static(ORIGIN));
        headers.insert("user-agent", HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"));
        Req(IngestRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            method: Method::POST,
            path: "/v1/events".into(),
            query: Some(format!("site_key={SITE_KEY}")),
            headers,
            body: body.into(),
            verified_subject: None,
        })
    }

    pub fn json(value: &Value) -> Self {
        Self::post(serde_json::to_vec(value).unwrap())
    }

    pub fn method(mut self, method: Method) -> Self {
        self.0.method = method;
        self
    }

    pub fn path(mut self, path: &str) -> Self {
        self.0.path = path.into();
        self
    }

    pub fn query(mut self, query: Option<&str>) -> Self {
        self.0.query = query.map(str::to_owned);
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.0
            .headers
            .insert(name, HeaderValue::from_str(value).unwrap());
        self
    }

    pub fn without(mut self, name: &'static str) -> Self {
        self.0.headers.remove(name);
        self
    }

    pub fn subject(mut self, sub: &str) -> Self {
        self.0.verified_subject = Some(sub.into());
        self
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}
