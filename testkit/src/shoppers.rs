//! Realistic shoppers of the demo computer store, as stored events (what the
//! ingest function writes): landing pages by channel, browsing, product views,
//! carts, a few purchases, idle gaps long enough to split a session, bots.
//! Seeded, so a test or benchmark sees the same traffic every time.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use sbw_contract::event::{StoredDevice, StoredGeo, STORED_SCHEMA_VERSION};
use sbw_contract::{DeviceType, Ecom, EventType, StoredEvent};
use uuid::Uuid;

const CATALOG_JS: &str = include_str!("../../examples/demo-shop/js/catalog.js");
const SHOP: &str = "https://shop.example";

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub category: String,
    pub price: Decimal,
}

/// The demo shop's products, read from its catalogue so both stay one list.
pub fn catalog() -> Vec<Product> {
    let field = |line: &str, name: &str| -> Option<String> {
        let rest = &line[line.find(&format!("{name}: "))? + name.len() + 2..];
        let rest = rest.trim_start_matches('\'');
        let end = rest.find(['\'', ','])?;
        Some(rest[..end].to_owned())
    };
    CATALOG_JS
        .lines()
        .filter_map(|line| {
            Some(Product {
                id: field(line, "id")?,
                category: field(line, "category")?,
                price: field(line, "price")?.parse().ok()?,
            })
        })
        .collect()
}

/// Where visits come from: (referrer, landing query), with weights.
const CHANNELS: &[(u32, Option<&str>, &str)] = &[
    (35, Some("https://www.google.com/"), ""),
    (20, None, ""),
    (12, Some("https://www.facebook.com/"), ""),
    (
        10,
        Some("https://www.google.com/"),
        "?utm_source=google&utm_medium=cpc&utm_campaign=back-to-school",
    ),
    (
        6,
        None,
        "?utm_source=newsletter&utm_medium=email&utm_campaign=weekly-deals",
    ),
    (5, Some("https://tinhte.vn/thread/laptop-review"), ""),
    (4, Some("https://www.bing.com/"), ""),
    (3, Some("https://t.co/x1"), ""),
    (5, Some("https://coccoc.com/search"), ""),
];
const COUNTRIES: &[(u32, &str, Option<&str>)] = &[
    (70, "VN", Some("Ho Chi Minh City")),
    (15, "VN", Some("Hanoi")),
    (5, "SG", None),
    (4, "US", None),
    (3, "JP", None),
    (3, "AU", None),
];

fn pick<'a, T>(rng: &mut StdRng, weighted: &'a [(u32, T)]) -> &'a T {
    let total: u32 = weighted.iter().map(|(w, _)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (weight, item) in weighted {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &weighted[weighted.len() - 1].1
}

fn pick3<'a, A, B>(rng: &mut StdRng, weighted: &'a [(u32, A, B)]) -> (&'a A, &'a B) {
    let total: u32 = weighted.iter().map(|(w, _, _)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (weight, a, b) in weighted {
        if roll < *weight {
            return (a, b);
        }
        roll -= weight;
    }
    let (_, a, b) = &weighted[weighted.len() - 1];
    (a, b)
}

/// Seeded generator of shopping sessions.
pub struct Shoppers {
    rng: StdRng,
    catalog: Vec<Product>,
    /// Returning visitors' anonymous ids.
    visitors: Vec<String>,
}

impl Shoppers {
    pub fn new(seed: u64) -> Shoppers {
        Shoppers {
            rng: StdRng::seed_from_u64(seed),
            catalog: catalog(),
            visitors: Vec::new(),
        }
    }

    /// The events of one visit starting at `start`, in event-time order.
    pub fn session(&mut self, start: DateTime<Utc>) -> Vec<StoredEvent> {
        let rng = &mut self.rng;
        let visitor = if !self.visitors.is_empty() && rng.random_bool(0.3) {
            self.visitors[rng.random_range(0..self.visitors.len())].clone()
        } else {
            let id = hex(rng.random::<u128>());
            self.visitors.push(id.clone());
            id
        };
        let signed_in = rng.random_bool(0.1).then(|| hex(rng.random::<u128>()));
        let bot = rng.random_bool(0.02);
        let device = *pick(
            rng,
            &[
                (55, DeviceType::Mobile),
                (38, DeviceType::Desktop),
                (7, DeviceType::Tablet),
            ],
        );
        let (browser, os) = match device {
            DeviceType::Desktop => ("Chrome", "Windows"),
            DeviceType::Mobile => ("Chrome Mobile", "Android"),
            DeviceType::Tablet => ("Mobile Safari", "iOS"),
        };
        let (country, city) = pick3(rng, COUNTRIES);
        let (referrer, landing_query) = pick3(rng, CHANNELS);
        let session = SessionContext {
            session_id: Uuid::from_u128(rng.random()),
            anonymous_id_hash: visitor,
            user_id_hash: signed_in,
            device: StoredDevice {
                device_type: device,
                browser: Some(browser.to_owned()),
                os: Some(os.to_owned()),
                family: None,
                bot,
            },
            geo: StoredGeo {
                country: Some((*country).to_owned()),
                city: city.map(str::to_owned),
            },
        };

        let mut events = Vec::new();
        let mut at = start;
        let mut page = format!("{SHOP}/{landing_query}");
        let mut previous_page: Option<String> = referrer.map(str::to_owned);
        let steps = 1 + (rng.random::<f64>().powi(2) * 12.0) as usize;
        let mut cart: Vec<usize> = Vec::new();
        for step in 0..steps {
            if step > 0 {
                // Mostly seconds to minutes; sometimes a pause of 20-90 minutes (over 30 splits the visit).
                let pause = if rng.random_bool(0.03) {
                    rng.random_range(20 * 60..90 * 60)
                } else {
                    rng.random_range(3..180)
                };
                at += Duration::seconds(pause);
                let product = rng.random_range(0..self.catalog.len());
                page = if rng.random_bool(0.7) {
                    format!("{SHOP}/p/{}", self.catalog[product].id)
                } else {
                    format!("{SHOP}/c/{}", self.catalog[product].category)
                };
            }
            events.push(session.event(
                rng,
                EventType::PageView,
                at,
                &page,
                previous_page.as_deref(),
                None,
            ));
            previous_page = Some(page.clone());
            if let Some(id) = page.strip_prefix(&format!("{SHOP}/p/")) {
                let product = self.catalog.iter().position(|p| p.id == id).unwrap_or(0);
                let ecom = self.catalog[product].ecom(1);
                at += Duration::milliseconds(rng.random_range(200..2000));
                events.push(session.event(
                    rng,
                    EventType::View,
                    at,
                    &page,
                    None,
                    Some(ecom.clone()),
                ));
                if rng.random_bool(0.12) {
                    at += Duration::seconds(rng.random_range(5..60));
                    events.push(session.event(
                        rng,
                        EventType::AddToCart,
                        at,
                        &page,
                        None,
                        Some(ecom),
                    ));
                    cart.push(product);
                }
            }
        }
        if !cart.is_empty() && rng.random_bool(0.45) {
            at += Duration::seconds(rng.random_range(20..240));
            let checkout = format!("{SHOP}/checkout");
            events.push(session.event(rng, EventType::Checkout, at, &checkout, None, None));
            if rng.random_bool(0.6) {
                at += Duration::seconds(rng.random_range(30..300));
                let order = format!("{SHOP}/order");
                for &product in &cart {
                    let qty = if rng.random_bool(0.85) { 1 } else { 2 };
                    let ecom = self.catalog[product].ecom(qty);
                    events.push(session.event(
                        rng,
                        EventType::Purchase,
                        at,
                        &order,
                        None,
                        Some(ecom),
                    ));
                }
            }
        }
        events
    }
}

impl Product {
    fn ecom(&self, qty: u32) -> Ecom {
        Ecom {
            product_id: Some(self.id.clone()),
            category: Some(self.category.clone()),
            currency: Some("VND".to_owned()),
            price: Some(self.price),
            qty: Some(qty),
        }
    }
}

struct SessionContext {
    session_id: Uuid,
    anonymous_id_hash: String,
    user_id_hash: Option<String>,
    device: StoredDevice,
    geo: StoredGeo,
}

impl SessionContext {
    fn event(
        &self,
        rng: &mut StdRng,
        event_type: EventType,
        ts: DateTime<Utc>,
        page_url: &str,
        referrer: Option<&str>,
        ecom: Option<Ecom>,
    ) -> StoredEvent {
        let skew_ms: i64 = rng.random_range(-3000..3000);
        let mut props = BTreeMap::new();
        if event_type == EventType::AddToCart {
            props.insert("button".to_owned(), serde_json::json!("add-to-cart"));
        }
        StoredEvent {
            schema_version: STORED_SCHEMA_VERSION,
            event_id: Uuid::from_u128(rng.random::<u128>() & !(0xf << 76) | (0x4 << 76)),
            event_type,
            ts,
            client_ts: ts - Duration::milliseconds(skew_ms),
            received_at: ts + Duration::milliseconds(rng.random_range(80..2500)),
            clock_skew_ms: Some(skew_ms),
            session_id: self.session_id,
            anonymous_id_hash: self.anonymous_id_hash.clone(),
            user_id_hash: self.user_id_hash.clone(),
            page_url: page_url.to_owned(),
            referrer: referrer.map(str::to_owned),
            device: self.device.clone(),
            geo: self.geo.clone(),
            ecom,
            props,
            request_id: hex(rng.random::<u128>()),
        }
    }
}

fn hex(n: u128) -> String {
    format!("{n:032x}")
}
