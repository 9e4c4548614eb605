//! Realistic shoppers of the demo computer store, as stored events (what the
//! ingest function writes): landing pages by channel, product lists shown
//! (impressions) and clicked, product views, carts, a few purchases, idle gaps
//! long enough to split a session, bots. Seeded, so a test or benchmark sees
//! the same traffic every time.

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

/// Most products a category page lists (its first page).
const CATEGORY_PAGE_SIZE: usize = 24;
/// Products under "You may also like" on a product page.
const RELATED_PRODUCTS: usize = 4;

/// A page of the shop and the product list it shows.
enum Page {
    /// The home page, `list` = `home:featured`.
    Home,
    Category(String),
    /// A product page (index into the catalogue); lists related products.
    Product(usize),
}

/// How likely a shopper is to click a product seen at `position` (from 1) of a
/// list: 2-12 % at the top, fixed per product (some products simply draw more clicks),
/// falling with the position as in any ranked list.
fn click_chance(product: &Product, position: usize) -> f64 {
    // FNV-1a of the id: the same appeal in every run and seed.
    let hash = product.id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let appeal = 0.02 + 0.1 * (hash % 1000) as f64 / 1000.0;
    appeal / (1.0 + 0.1 * (position - 1) as f64)
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
        let mut page = Page::Home;
        let mut url = format!("{SHOP}/{landing_query}");
        let mut previous_url: Option<String> = referrer.map(str::to_owned);
        // Pages chosen by the shopper; a product page reached by a click comes on top.
        let mut pages_left = 1 + (rng.random::<f64>().powi(2) * 12.0) as usize;
        let mut cart: Vec<usize> = Vec::new();
        loop {
            events.push(session.event(
                rng,
                EventType::PageView,
                at,
                &url,
                previous_url.as_deref(),
                None,
            ));
            at += Duration::milliseconds(rng.random_range(200..2000));
            let (list, shown) = match &page {
                Page::Home => {
                    let count = rng.random_range(8..=12).min(self.catalog.len());
                    let shown = rand::seq::index::sample(rng, self.catalog.len(), count).into_vec();
                    ("home:featured".to_owned(), shown)
                }
                Page::Category(category) => {
                    let shown = (0..self.catalog.len())
                        .filter(|&i| &self.catalog[i].category == category)
                        .take(CATEGORY_PAGE_SIZE)
                        .collect();
                    (format!("category:{category}"), shown)
                }
                Page::Product(product) => {
                    let product = *product;
                    let ecom = self.catalog[product].ecom(1);
                    events.push(session.event(rng, EventType::View, at, &url, None, Some(ecom)));
                    let related = (0..self.catalog.len())
                        .filter(|&i| {
                            i != product
                                && self.catalog[i].category == self.catalog[product].category
                        })
                        .take(RELATED_PRODUCTS)
                        .collect();
                    ("related".to_owned(), related)
                }
            };
            for (index, &product) in shown.iter().enumerate() {
                let place = ListPlace {
                    list: &list,
                    position: index + 1,
                };
                let listed = self.catalog[product].listed();
                events.push(session.in_list(rng, EventType::Impression, at, &url, listed, place));
            }
            if let Page::Product(product) = page {
                if rng.random_bool(0.12) {
                    at += Duration::seconds(rng.random_range(5..60));
                    let ecom = self.catalog[product].ecom(1);
                    events.push(session.event(
                        rng,
                        EventType::AddToCart,
                        at,
                        &url,
                        None,
                        Some(ecom),
                    ));
                    cart.push(product);
                }
            }
            // The first product of the list that catches the shopper's eye, if any.
            let clicked = shown.iter().enumerate().find(|&(index, &product)| {
                rng.random_bool(click_chance(&self.catalog[product], index + 1))
            });
            pages_left -= 1;
            if clicked.is_none() && pages_left == 0 {
                break;
            }
            // Mostly seconds to minutes; sometimes a pause of 20-90 minutes (over 30 splits the visit).
            let pause = if rng.random_bool(0.03) {
                rng.random_range(20 * 60..90 * 60)
            } else {
                rng.random_range(3..180)
            };
            at += Duration::seconds(pause);
            page = match clicked {
                Some((index, &product)) => {
                    let place = ListPlace {
                        list: &list,
                        position: index + 1,
                    };
                    let listed = self.catalog[product].listed();
                    let mut click = session.in_list(rng, EventType::Click, at, &url, listed, place);
                    click
                        .props
                        .insert("target".to_owned(), serde_json::json!("product-card"));
                    events.push(click);
                    at += Duration::milliseconds(rng.random_range(300..1500));
                    // A click always opens the product, even as the visit's last page.
                    pages_left = pages_left.max(1);
                    Page::Product(product)
                }
                // Back to the home page now and then; mostly to a category from the menu.
                None if rng.random_bool(0.2) => Page::Home,
                None => {
                    let product = rng.random_range(0..self.catalog.len());
                    Page::Category(self.catalog[product].category.clone())
                }
            };
            let next_url = match &page {
                Page::Home => format!("{SHOP}/"),
                Page::Category(category) => format!("{SHOP}/c/{category}"),
                Page::Product(product) => format!("{SHOP}/p/{}", self.catalog[*product].id),
            };
            previous_url = Some(std::mem::replace(&mut url, next_url));
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
    /// The product as a list shows it: id and category.
    fn listed(&self) -> Ecom {
        Ecom {
            product_id: Some(self.id.clone()),
            category: Some(self.category.clone()),
            ..Ecom::default()
        }
    }

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

/// Where a list showed a product: `props.list` and `props.position` (from 1).
#[derive(Clone, Copy)]
struct ListPlace<'a> {
    list: &'a str,
    position: usize,
}

impl SessionContext {
    /// An impression or a product click of `product` at `place`.
    fn in_list(
        &self,
        rng: &mut StdRng,
        event_type: EventType,
        ts: DateTime<Utc>,
        page_url: &str,
        product: Ecom,
        place: ListPlace,
    ) -> StoredEvent {
        let mut event = self.event(rng, event_type, ts, page_url, None, Some(product));
        event
            .props
            .insert("list".to_owned(), serde_json::json!(place.list));
        event
            .props
            .insert("position".to_owned(), serde_json::json!(place.position));
        event
    }
}

fn hex(n: u128) -> String {
    format!("{n:032x}")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn visits(seed: u64, count: i64) -> Vec<Vec<StoredEvent>> {
        let mut shoppers = Shoppers::new(seed);
        let start = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .unwrap()
            .to_utc();
        (0..count)
            .map(|i| shoppers.session(start + Duration::seconds(i * 60)))
            .collect()
    }

    fn place(event: &StoredEvent) -> (String, u64) {
        let list = event.props["list"].as_str().expect("a list name");
        (
            list.to_owned(),
            event.props["position"].as_u64().expect("a position"),
        )
    }

    fn product(event: &StoredEvent) -> &str {
        event
            .ecom
            .as_ref()
            .and_then(|e| e.product_id.as_deref())
            .expect("a product")
    }

    #[test]
    fn the_same_seed_gives_the_same_visits() {
        assert_eq!(visits(5, 50), visits(5, 50));
        assert_ne!(visits(5, 50), visits(6, 50));
    }

    #[test]
    fn every_page_lists_products_from_position_1_and_views_come_from_clicks_on_them() {
        for visit in visits(11, 400) {
            let mut shown: Vec<(String, u64, String)> = Vec::new();
            let mut clicked: Option<&str> = None;
            for event in &visit {
                match event.event_type {
                    EventType::PageView => {
                        assert!(shown.is_empty() || shown.len() >= 3, "{shown:?}");
                        shown.clear();
                    }
                    EventType::Impression => {
                        let (list, position) = place(event);
                        assert_eq!(position as usize, shown.len() + 1, "{list}");
                        assert!(shown.iter().all(|(l, _, _)| *l == list));
                        let ecom = event.ecom.as_ref().unwrap();
                        assert!(ecom.category.is_some() && ecom.price.is_none());
                        shown.push((list, position, product(event).to_owned()));
                    }
                    EventType::Click => {
                        let (list, position) = place(event);
                        let entry = (list, position, product(event).to_owned());
                        assert!(shown.contains(&entry), "{entry:?} was not shown");
                        clicked = Some(product(event));
                    }
                    EventType::View => {
                        assert_eq!(
                            clicked.take(),
                            Some(product(event)),
                            "a view without its click"
                        );
                    }
                    _ => {}
                }
                assert!(event.page_url.starts_with(SHOP));
            }
            assert_eq!(clicked, None, "a click without its product page");
            assert!(visit.windows(2).all(|pair| pair[0].ts <= pair[1].ts));
        }
    }

    #[test]
    fn click_through_rates_are_a_few_percent_and_differ_by_product() {
        // product -> (impressions, clicks)
        let mut counts: HashMap<String, (u32, u32)> = HashMap::new();
        for event in visits(3, 3000).iter().flatten() {
            let (impression, click) = match event.event_type {
                EventType::Impression => (1, 0),
                EventType::Click => (0, 1),
                _ => continue,
            };
            let entry = counts.entry(product(event).to_owned()).or_default();
            entry.0 += impression;
            entry.1 += click;
        }
        let (impressions, clicks) = counts
            .values()
            .fold((0, 0), |(i, c), (pi, pc)| (i + pi, c + pc));
        let overall = f64::from(clicks) / f64::from(impressions);
        assert!((0.02..0.08).contains(&overall), "CTR {overall}");
        let rates: Vec<f64> = counts
            .values()
            .map(|(i, c)| f64::from(*c) / f64::from(*i))
            .collect();
        let best = rates.iter().cloned().fold(0.0, f64::max);
        let worst = rates.iter().cloned().fold(1.0, f64::min);
        assert!(best > 2.0 * worst, "best {best}, worst {worst}");
        assert!(best <= 0.12, "best {best}");
    }
}
