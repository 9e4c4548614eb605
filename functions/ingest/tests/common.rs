//! Helpers shared by the in-process ingest tests: a handler over temporary
//! directories, requests, and a reader of what reached the raw store.

#![allow(dead_code)] // each test file uses its own part

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderValue, Method};
use sbw_contract::IdentifierHasher;
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::dead_letter::DeadLetter;
use sbw_ingest::{Ingest, IngestRequest, IngestResponse};
use sbw_rawstore::RawStore;
use sbw_testkit::ndjson::lines_below;
#[allow(unused_imports)] // each test file uses its own part
pub use sbw_testkit::ndjson::{files_below, gzip};
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
        for line in lines_below(&self.raw_dir().join("events")) {
            let id = line["event_id"].as_str().unwrap().to_owned();
            let entry = events.entry(id).or_insert((0, line));
            entry.0 += 1;
        }
        events
    }

    pub fn rejected_records(&self) -> Vec<Value> {
        lines_below(&self.raw_dir().join("rejects"))
    }
}

/// A request builder; starts as a browser POST of `body` as JSON to the anonymous route.
pub struct Req(pub IngestRequest);

impl Req {
    pub fn post(body: impl Into<Bytes>) -> Self {
        let mut request =
            IngestRequest::anonymous_post(SITE_KEY, HeaderValue::from_static(ORIGIN), body);
        request.headers.insert("user-agent", HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"));
        Req(request)
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
