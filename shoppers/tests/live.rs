//! The shoppers against the real ingest server (`sbw_ingest::local`, what
//! `sbwctl dev ingest` and `dev up` run): what it stores of a request is
//! exactly what `Receiver` makes of it, live traffic is accepted and
//! counted, and refusals or an absent server are counted, never fatal.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use sbw_contract::StoredEvent;
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::local::{read_or_create_key, LocalServer, LocalSettings};
use sbw_shoppers::live::{self, Live, LiveError, LiveOptions, LiveStats};
use sbw_shoppers::{Delivery, Receiver, Request, Shop, Shoppers};
use sbw_testkit::ndjson::lines_below;
use url::Url;

const SITE_KEY: &str = "demo-shop";

/// An ingest server on a free port, stopped when dropped.
struct Ingest {
    endpoint: Url,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Ingest {
    async fn start(site_key: &str) -> Ingest {
        let dir = tempfile::tempdir().unwrap();
        let settings = LocalSettings {
            raw_dir: dir.path().join("raw"),
            dead_letter_dir: dir.path().join("dead-letter"),
            hash_key_file: dir.path().join("dev-hash-key"),
            access: AccessPolicy {
                site_keys: vec![site_key.to_owned()],
                allowed_origins: vec![Shop::default().origin().to_owned()],
            },
            accept_unverified_jwt: true,
        };
        let server = LocalServer::new(&settings).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        Ingest {
            endpoint,
            dir,
            stop: Some(stop),
        }
    }

    fn raw(&self) -> std::path::PathBuf {
        self.dir.path().join("raw")
    }

    fn stored(&self) -> Vec<StoredEvent> {
        stored_below(&self.raw())
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn stored_below(raw: &Path) -> Vec<StoredEvent> {
    lines_below(&raw.join("events"))
        .into_iter()
        .map(|line| serde_json::from_value(line).unwrap())
        .collect()
}

fn options(endpoint: &Url, site_key: &str) -> LiveOptions {
    LiveOptions {
        endpoint: endpoint.clone(),
        site_key: Some(site_key.to_owned()),
        shop: Shop::default(),
        visits_per_minute: 1200.0,
        seed: 7,
    }
}

/// Live traffic for `seconds`.
async fn play_for(options: LiveOptions, seconds: u64) -> LiveStats {
    live::run(options, tokio::time::sleep(Duration::from_secs(seconds)))
        .await
        .unwrap()
}

#[tokio::test]
async fn ingest_stores_exactly_what_the_receiver_makes_of_each_request() {
    let ingest = Ingest::start(SITE_KEY).await;
    let client = reqwest::Client::new();
    let key = read_or_create_key(&ingest.dir.path().join("dev-hash-key")).unwrap();
    let mut receiver = Receiver::new(key.as_bytes()).unwrap();
    let mut shoppers = Shoppers::new(11);
    let mut sent: Vec<Request> = Vec::new();
    // Enough visits for signed-in customers, retries and late deliveries.
    while sent.iter().filter(|r| r.customer.is_some()).count() < 3
        || !sent.iter().any(|r| r.delivery == Delivery::Retry)
        || !sent.iter().any(|r| r.delivery == Delivery::Late)
    {
        sent.extend(shoppers.visit(Utc::now()).requests);
    }
    let origin = Shop::default().origin().to_owned();
    for request in &sent {
        let post = live::post(&client, &ingest.endpoint, Some(SITE_KEY), &origin, request);
        let answer = post.send().await.unwrap().text().await.unwrap();
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        let n = request.events.len() as u64;
        let expected = match request.delivery {
            // The server stored the first copy a moment ago.
            Delivery::Retry => serde_json::json!({"accepted": 0, "duplicates": n, "rejected": 0}),
            _ => serde_json::json!({"accepted": n, "duplicates": 0, "rejected": 0}),
        };
        for field in ["accepted", "duplicates", "rejected"] {
            assert_eq!(answer[field], expected[field], "{answer}");
        }
    }
    let stored = ingest.stored();
    for request in sent.iter().filter(|r| r.delivery != Delivery::Retry) {
        let ids: Vec<_> = request.event_ids().collect();
        let mut by_server: Vec<&StoredEvent> = stored
            .iter()
            .filter(|e| ids.contains(&e.event_id))
            .collect();
        by_server.sort_by_key(|e| ids.iter().position(|id| *id == e.event_id));
        assert_eq!(by_server.len(), ids.len());
        // Received when and as the server received it.
        let as_received = Request {
            received_at: by_server[0].received_at,
            request_id: by_server[0].request_id.clone(),
            ..request.clone()
        };
        let ours = receiver.receive(&as_received).unwrap();
        assert_eq!(ours.refused, vec![]);
        assert_eq!(ours.events.iter().collect::<Vec<_>>(), by_server);
    }
    assert!(
        stored.iter().any(|e| e.user_id_hash.is_some()),
        "signed-in customers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_traffic_is_accepted_and_counted() {
    let ingest = Ingest::start(SITE_KEY).await;
    let live = Live::new(options(&ingest.endpoint, SITE_KEY)).unwrap();
    let counters = live.counters();
    let stats = live.run(tokio::time::sleep(Duration::from_secs(5))).await;
    assert_eq!(stats, counters.snapshot());
    // 1,200 visits a minute for 5 s; each sends its first page's events within seconds.
    assert!((50..150).contains(&stats.visits), "{stats}");
    assert!(stats.requests >= stats.visits / 2, "{stats}");
    assert_eq!((stats.rejected, stats.failed_requests), (0, 0), "{stats}");
    assert!(stats.accepted >= 5 * stats.visits, "{stats}");
    assert_eq!(
        stats.accepted + stats.duplicates,
        stats.events_sent,
        "{stats}"
    );
    let stored = ingest.stored();
    assert_eq!(stored.len() as u64, stats.accepted);
    // Stamped by the server just now, from the shop's pages, some signed in.
    let now = Utc::now();
    assert!(stored
        .iter()
        .all(|e| now - e.received_at < chrono::Duration::seconds(30)));
    assert!(stored
        .iter()
        .all(|e| e.page_url.starts_with("http://127.0.0.1:8000/")));
    assert!(stored.iter().any(|e| e.user_id_hash.is_some()));
    // Another run sends other visitors and events: nothing is a duplicate of the first.
    let again = play_for(options(&ingest.endpoint, SITE_KEY), 2).await;
    assert_eq!(
        again.accepted + again.duplicates,
        again.events_sent,
        "{again}"
    );
    let ids: std::collections::HashSet<_> = ingest.stored().iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len() as u64, stats.accepted + again.accepted);
}

#[tokio::test]
async fn refusals_and_an_absent_server_are_counted_and_traffic_goes_on() {
    let ingest = Ingest::start("another-shop").await;
    let refused = play_for(options(&ingest.endpoint, SITE_KEY), 2).await;
    assert!(refused.requests > 10, "{refused}");
    // The site key guards the anonymous route; signed-in customers' tokens get through.
    assert!(
        refused.failed_requests >= refused.requests * 2 / 3,
        "{refused}"
    );
    assert_eq!(refused.rejected, 0);
    let stored = ingest.stored();
    assert_eq!(stored.len() as u64, refused.accepted);
    assert!(stored.iter().all(|e| e.user_id_hash.is_some()));

    // Nothing listens there any more.
    let endpoint = ingest.endpoint.clone();
    drop(ingest);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let absent = play_for(options(&endpoint, SITE_KEY), 2).await;
    assert!(absent.requests > 10, "{absent}");
    assert_eq!(absent.failed_requests, absent.requests, "{absent}");
}

#[test]
fn bad_options_are_refused_with_the_reason() {
    let https = Url::parse("https://ingest.example").unwrap();
    let error = Live::new(options(&https, SITE_KEY)).err().unwrap();
    assert!(matches!(error, LiveError::Endpoint(_)));
    assert!(error.to_string().contains("not an http:// URL"), "{error}");
    let local = Url::parse("http://127.0.0.1:1").unwrap();
    for rate in [0.0, -3.0, f64::NAN] {
        let error = Live::new(LiveOptions {
            visits_per_minute: rate,
            ..options(&local, SITE_KEY)
        })
        .err()
        .unwrap();
        assert!(error.to_string().contains("is not a rate"), "{error}");
    }
}
