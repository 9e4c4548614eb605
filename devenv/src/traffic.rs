//! Simulated shoppers for `--demo`: visits of the demo shop sent to the
//! ingest endpoint over HTTP, as the browser SDK sends them (a JSON array
//! as text/plain, the site key in the query, the shop's Origin).

use std::fmt;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::stop::StopSignal;

/// Where and how fast to send visits.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// The ingest server's base URL (`http://127.0.0.1:8787`).
    pub endpoint: String,
    /// The demo shop's origin, one the ingest server allows.
    pub origin: String,
    pub site_key: String,
    pub visits_per_minute: f64,
    pub seed: u64,
}

/// What the shoppers sent and how the endpoint answered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrafficStats {
    pub visits: u64,
    pub events_sent: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Requests that got no 2xx answer.
    pub failed_requests: u64,
}

impl fmt::Display for TrafficStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} visits, {} events sent, {} accepted, {} rejected, {} requests failed",
            self.visits, self.events_sent, self.accepted, self.rejected, self.failed_requests
        )
    }
}

/// Plays visits until `stop`, then says what was sent.
pub async fn play(traffic: Traffic, mut stop: StopSignal) -> TrafficStats {
    let client = crate::probe::client(Duration::from_secs(10));
    let url = format!(
        "{}/v1/events?site_key={}",
        traffic.endpoint.trim_end_matches('/'),
        traffic.site_key
    );
    let pause = Duration::from_secs_f64(60.0 / traffic.visits_per_minute.max(0.01));
    let mut random = SplitMix(traffic.seed);
    let mut stats = TrafficStats::default();
    loop {
        let events = visit(&mut random, &traffic.origin);
        stats.visits += 1;
        stats.events_sent += events.len() as u64;
        let sent = client
            .post(&url)
            .header("content-type", "text/plain;charset=UTF-8")
            .header("origin", &traffic.origin)
            .header("user-agent", USER_AGENTS[random.below(USER_AGENTS.len())])
            .body(Value::Array(events).to_string())
            .send();
        let answer = tokio::select! {
            answer = sent => answer,
            _ = stop.stopped() => return stats,
        };
        match answer {
            Ok(response) if response.status().is_success() => {
                let body = response.text().await.unwrap_or_default();
                let counts: Value = serde_json::from_str(&body).unwrap_or_default();
                stats.accepted += counts["accepted"].as_u64().unwrap_or_default();
                stats.rejected += counts["rejected"].as_u64().unwrap_or_default();
            }
            _ => stats.failed_requests += 1,
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.stopped() => return stats,
        }
    }
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
];

const PRODUCTS: &[(&str, &str, u64)] = &[
    ("lap-asus-zenbook-14", "laptops", 24_990_000),
    ("lap-acer-aspire5-a515", "laptops", 14_490_000),
    ("mon-lg-27gp850", "monitors", 8_490_000),
    ("mon-samsung-g5-32", "monitors", 6_790_000),
];

/// One visit: the home page, a product seen in its list, clicked and
/// viewed, and for some visits the cart, the checkout and the purchase.
fn visit(random: &mut SplitMix, origin: &str) -> Vec<Value> {
    let session = uuid::Uuid::new_v4().to_string();
    let visitor = uuid::Uuid::new_v4().to_string();
    let (product, category, price) = PRODUCTS[random.below(PRODUCTS.len())];
    let position = 1 + random.below(8);
    let device = ["mobile", "mobile", "desktop", "tablet"][random.below(4)];
    let home = format!("{origin}/");
    let page = format!("{origin}/product.html?id={product}");
    let list = json!({"list": "home:featured", "position": position});
    let ecom = json!({"product_id": product, "category": category});
    let bought = json!({"product_id": product, "category": category, "currency": "VND", "price": price, "qty": 1});
    let mut steps = vec![
        ("page_view", &home, Value::Null, Value::Null),
        ("impression", &home, ecom.clone(), list.clone()),
        ("click", &home, ecom.clone(), list),
        ("page_view", &page, Value::Null, Value::Null),
        ("view", &page, ecom, Value::Null),
    ];
    if random.below(3) == 0 {
        steps.push(("add_to_cart", &page, bought.clone(), Value::Null));
        if random.below(2) == 0 {
            steps.push(("checkout", &page, Value::Null, Value::Null));
            steps.push(("purchase", &page, bought, Value::Null));
        }
    }
    let now = Utc::now();
    let count = steps.len() as i64;
    steps
        .into_iter()
        .enumerate()
        .map(|(i, (event_type, url, ecom, props))| {
            let ts = now - chrono::Duration::seconds(5 * (count - i as i64));
            let mut event = json!({
                "event_id": uuid::Uuid::new_v4().to_string(),
                "ts": ts.to_rfc3339_opts(SecondsFormat::Millis, true),
                "sent_at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
                "event_type": event_type,
                "session_id": session,
                "anonymous_id": visitor,
                "page_url": url,
                "referrer": "https://www.google.com/",
                "device": {"type": device},
            });
            if !ecom.is_null() {
                event["ecom"] = ecom;
            }
            if !props.is_null() {
                event["props"] = props;
            }
            event
        })
        .collect()
}

/// A small seeded generator (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}
