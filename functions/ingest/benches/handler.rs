//! CPU cost of the ingest handler per event, in process (no HTTP): the same
//! 25-event batches as `bench/ingest-batch.lua`, written to a directory store.
//! Prints the whole handler and each stage on its own, so a change can be
//! weighed against the parse of the body measured in the same run.
//! Usage: cargo bench -p sbw-ingest --bench handler [-- REQUESTS]

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http::{HeaderMap, HeaderValue, Method};
use sbw_contract::enrich::parse_user_agent;
use sbw_contract::{
    enrich, parse_batch, validate_event, BatchHasher, IdentifierHasher, RequestMeta,
};
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::dead_letter::DeadLetter;
use sbw_ingest::handler::Ingest;
use sbw_ingest::request::IngestRequest;
use sbw_rawstore::ndjson;
use sbw_rawstore::RawStore;
use uuid::Uuid;

// The allocator of the `ingest` and `sbwctl` binaries.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS_PER_REQUEST: usize = 25;
const KINDS: [&str; 7] = [
    "page_view",
    "view",
    "view",
    "click",
    "search",
    "view",
    "add_to_cart",
];
const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn batch(now: DateTime<Utc>, request: usize) -> Bytes {
    let now = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    let (session, anonymous) = (Uuid::new_v4(), Uuid::new_v4());
    let events: Vec<String> = (1..=EVENTS_PER_REQUEST)
        .map(|i| {
            let kind = KINDS[i % KINDS.len()];
            let product = format!("SKU-{:04}", (request * 31 + i * 7) % 400 + 1);
            format!(
                r#"{{"event_id":"{}","ts":"{now}","sent_at":"{now}","event_type":"{kind}","session_id":"{session}","anonymous_id":"{anonymous}","page_url":"https://shop.example/products/{product}?utm_source=newsletter&utm_medium=email","referrer":"https://www.google.com/","device":{{"type":"desktop"}},"ecom":{{"product_id":"{product}","category":"laptops","currency":"VND","price":18990000,"qty":1}},"props":{{"position":{i},"list":"search results"}}}}"#,
                Uuid::new_v4()
            )
        })
        .collect();
    Bytes::from(format!("[{}]", events.join(",")))
}

fn request(body: Bytes) -> IngestRequest {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("content-type", "text/plain;charset=UTF-8"),
        ("origin", "https://shop.example"),
        ("user-agent", USER_AGENT),
        ("cloudfront-viewer-country", "VN"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    IngestRequest {
        request_id: Uuid::new_v4().to_string(),
        method: Method::POST,
        path: "/v1/events".into(),
        query: None,
        headers,
        body,
        verified_subject: None,
    }
}

fn per_event(elapsed: Duration, requests: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / (requests * EVENTS_PER_REQUEST) as f64
}

fn main() {
    let requests: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|n| n.parse().expect("REQUESTS is a number"))
        .unwrap_or(4_000);
    let now = Utc::now();
    let bodies: Vec<Bytes> = (0..requests).map(|r| batch(now, r)).collect();
    let store_dir = tempfile::tempdir_in(std::env::var("SBW_BENCH_DIR").unwrap_or("/tmp".into()))
        .expect("a temporary directory");
    let hasher = IdentifierHasher::new(&[7; 32]).expect("a 32-byte key");
    sbw_contract::enrich::warm_up_user_agent_parser();
    let ingest = Ingest::new(
        AccessPolicy::default(),
        hasher.clone(),
        RawStore::Directory(store_dir.path().join("raw")),
        DeadLetter::Directory(store_dir.path().join("dead-letter")),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");

    // Stage by stage, one request at a time like the server.
    let meta = RequestMeta {
        request_id: Uuid::new_v4().to_string(),
        received_at: Utc::now(),
        user_agent: parse_user_agent(USER_AGENT),
        viewer_country: Some("VN".into()),
        verified_subject: None,
    };
    let mut stages = [Duration::ZERO; 6];
    let stage_store = RawStore::Directory(store_dir.path().join("stages"));
    let mut object_bytes = 0;
    let mut timed = |stage: usize, started: Instant| {
        stages[stage] += started.elapsed();
        Instant::now()
    };
    for body in &bodies {
        let started = Instant::now();
        let values = parse_batch(body).expect("valid batches");
        let started = timed(0, started);
        let events: Vec<_> = values
            .iter()
            .map(|v| validate_event(v, meta.received_at).expect("valid events"))
            .collect();
        let started = timed(1, started);
        let mut batch_hasher = BatchHasher::new(&hasher);
        let stored: Vec<_> = events
            .into_iter()
            .map(|e| enrich(e, &meta, &mut batch_hasher).0)
            .collect();
        let started = timed(2, started);
        let mut object = Vec::new();
        for event in &stored {
            ndjson::push_line(&mut object, event);
        }
        let started = timed(3, started);
        let gzipped = ndjson::gzip(&object);
        let started = timed(4, started);
        let key = sbw_contract::rawkey::object_key(
            sbw_contract::rawkey::ObjectKind::Events,
            meta.received_at,
            Uuid::new_v4(),
        );
        runtime
            .block_on(stage_store.put(&key, gzipped))
            .expect("the object is written");
        timed(5, started);
        object_bytes += object.len();
    }
    let object_bytes = object_bytes / requests;

    // The whole handler: the stages above plus the response and the log line.
    let started = Instant::now();
    runtime.block_on(async {
        for body in &bodies {
            let response = ingest.handle(request(body.clone())).await;
            assert_eq!(response.status, 202, "{:?}", response.body);
        }
    });
    let handler = started.elapsed();

    println!("{requests} requests of {EVENTS_PER_REQUEST} events, stored lines {object_bytes} B per request");
    println!("{:<34}{:>12}", "stage", "us/event");
    let names = [
        "parse body (borrowed JSON tree)",
        "validate",
        "enrich (hash, URLs, UA facts)",
        "serialize NDJSON lines",
        "gzip",
        "write the object",
    ];
    for (stage, elapsed) in names.into_iter().zip(stages) {
        println!("{stage:<34}{:>12.2}", per_event(elapsed, requests));
    }
    let parse = stages[0];
    for (stage, elapsed) in [
        ("stages together", stages.iter().sum()),
        ("whole handler, with the write", handler),
    ] {
        println!("{stage:<34}{:>12.2}", per_event(elapsed, requests));
    }
    println!(
        "handler / parse of the body: {:.1}x",
        handler.as_secs_f64() / parse.as_secs_f64()
    );
}
