//! Property: for random event streams, with duplicates, split into random
//! objects, loaded over random runs in random order with random batch sizes,
//! in the shop's time zone (UTC or UTC+7), the warehouse equals what a
//! straightforward model computes from the events.
//!
//! Over 400 lines on purpose: one property, whose model, readers of the
//! warehouse in the model's shape and comparison read as one piece.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use common::Warehouse;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use sbw_contract::{EventType, StoredEvent};
use sbw_etl::attribution::attribute;
use sbw_etl::{RunOptions, RunRequest, ShopSettings};
use sbw_testkit::shoppers::Shoppers;
use uuid::Uuid;

const CASES: u64 = 16;

#[tokio::test]
async fn the_warehouse_equals_the_reference_model() {
    for seed in 0..CASES {
        check(seed).await;
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 31, 21, 0, 0).unwrap()
}

/// A day of shoppers crossing midnight and a month end, with retried copies.
fn stream(rng: &mut StdRng, seed: u64) -> Vec<StoredEvent> {
    let mut shoppers = Shoppers::new(seed);
    let mut events = Vec::new();
    for _ in 0..rng.random_range(3..25) {
        let offset = Duration::seconds(rng.random_range(0..6 * 3600));
        events.extend(shoppers.session(start() + offset));
    }
    let originals = events.len();
    for _ in 0..rng.random_range(0..originals / 4 + 1) {
        let mut copy = events[rng.random_range(0..originals)].clone();
        copy.received_at += Duration::milliseconds(rng.random_range(-5_000..60_000));
        copy.request_id = format!("retry-{}", rng.random::<u32>());
        events.push(copy);
    }
    events
}

async fn check(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut events = stream(&mut rng, seed);
    events.shuffle(&mut rng);

    // Random objects, each under the receive hour of its first event.
    let mut objects: Vec<Vec<StoredEvent>> = Vec::new();
    let mut rest = events.as_slice();
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(12));
        objects.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    // Vietnam has no daylight saving time: a fixed offset is its local time.
    let (timezone, offset) = if seed.is_multiple_of(2) {
        ("UTC", FixedOffset::east_opt(0).unwrap())
    } else {
        ("Asia/Ho_Chi_Minh", FixedOffset::east_opt(7 * 3600).unwrap())
    };
    let shop = ShopSettings {
        timezone: timezone.to_owned(),
        ..ShopSettings::default()
    };
    let runs = rng.random_range(1..=4);
    let mut w = Warehouse::new().await;
    for run in 0..runs {
        let share: Vec<_> = objects
            .iter()
            .enumerate()
            .filter(|(i, _)| i % runs == run)
            .map(|(_, o)| o.clone())
            .collect();
        for object in &share {
            w.write(object[0].received_at, object);
        }
        let options = RunOptions {
            batch_events: rng.random_range(1..60),
            shop: shop.clone(),
            ..RunOptions::default()
        };
        let request =
            RunRequest::backfill(start() - Duration::hours(1), start() + Duration::hours(30))
                .unwrap();
        w.run_request(request, options).await;
    }

    let model = Model::of(&events, offset);
    assert_eq!(
        loaded_events(&w).await,
        model.events,
        "fact_events, seed {seed}"
    );
    assert_eq!(
        loaded_sessions(&w).await,
        model.sessions,
        "fact_sessions, seed {seed}"
    );
    assert_eq!(
        loaded_traffic(&w).await,
        model.traffic,
        "rollup_traffic, seed {seed}"
    );
    assert_eq!(
        loaded_products(&w).await,
        model.products,
        "rollup_products, seed {seed}"
    );
    assert_eq!(
        loaded_dim_product(&w).await,
        model.dim_product,
        "dim_product, seed {seed}"
    );
    assert_rollups_add_up(&w, seed).await;
}

/// The '*' rows of every rollup are the sums of the rows of each device and
/// country, and the month rows the sums of their days.
async fn assert_rollups_add_up(w: &Warehouse, seed: u64) {
    let measures = [
        ("rollup_traffic", "sessions", "category"),
        (
            "rollup_funnel",
            "product_view + 2 * add_to_cart + 3 * checkout + 5 * purchase",
            "category",
        ),
        ("rollup_acquisition", "sessions + conversions", "category"),
        (
            "rollup_pages",
            "page_views + entries",
            "category, page_path",
        ),
        (
            "rollup_products",
            "impressions + clicks + views + purchases",
            "product_id",
        ),
    ];
    for (table, measure, keys) in measures {
        for (all, detail) in [
            (
                "device_type = '*' AND country = '*'",
                "device_type <> '*' AND country <> '*'",
            ),
            (
                "device_type = '*' AND country <> '*'",
                "device_type <> '*' AND country <> '*'",
            ),
        ] {
            let mismatches: i64 = w
                .client
                .query_one(
                    &format!(
                        "WITH a AS (SELECT day, {keys}, sum({measure}) AS total FROM {table}
                                    WHERE grain = 'day' AND {all} GROUP BY day, {keys}),
                              d AS (SELECT day, {keys}, sum({measure}) AS total FROM {table}
                                    WHERE grain = 'day' AND {detail} GROUP BY day, {keys})
                         SELECT count(*) FROM a FULL JOIN d USING (day, {keys})
                         WHERE a.total IS DISTINCT FROM d.total"
                    ),
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(mismatches, 0, "{table}: {all} vs {detail}, seed {seed}");
        }
        let mismatches: i64 = w
            .client
            .query_one(
                &format!(
                    "WITH m AS (SELECT day, device_type, country, {keys}, sum({measure}) AS total
                                FROM {table} WHERE grain = 'month'
                                GROUP BY day, device_type, country, {keys}),
                          d AS (SELECT date_trunc('month', day)::date AS day, device_type, country,
                                       {keys}, sum({measure}) AS total
                                FROM {table} WHERE grain = 'day'
                                GROUP BY 1, device_type, country, {keys})
                     SELECT count(*) FROM m FULL JOIN d USING (day, device_type, country, {keys})
                     WHERE m.total IS DISTINCT FROM d.total"
                ),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(mismatches, 0, "{table}: months vs days, seed {seed}");
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Session {
    session_id: Uuid,
    seq: i32,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    events: i32,
    page_views: i32,
    bounce: bool,
    entry_page: String,
    exit_page: String,
    device_type: String,
    referrer_class: String,
    utm_source: Option<String>,
    converted: bool,
    revenue: Decimal,
}

/// (local day, device type, country or "unknown")
type TrafficKey = (NaiveDate, String, String);
type ProductKey = (NaiveDate, String);
type ProductFigures = (i64, i64, i64, i64, i64, i64, Decimal);

#[derive(Default)]
struct Model {
    /// (event_id, request_id of the kept copy)
    events: BTreeSet<(Uuid, String)>,
    sessions: Vec<Session>,
    /// sessions, visitors, page views, bounces
    traffic: BTreeMap<TrafficKey, (i64, i64, i64, i64)>,
    /// impressions, clicks, views, add to carts, purchases, units, revenue
    products: BTreeMap<ProductKey, ProductFigures>,
    /// product -> (category, price)
    dim_product: BTreeMap<String, (Option<String>, Option<Decimal>)>,
}

impl Model {
    fn of(all: &[StoredEvent], offset: FixedOffset) -> Model {
        let local_day = |t: DateTime<Utc>| t.with_timezone(&offset).date_naive();
        let mut kept: HashMap<Uuid, &StoredEvent> = HashMap::new();
        for e in all {
            let first = kept.entry(e.event_id).or_insert(e);
            if (e.received_at, &e.request_id) < (first.received_at, &first.request_id) {
                *first = e;
            }
        }
        let mut model = Model::default();
        let mut by_session: BTreeMap<Uuid, Vec<&StoredEvent>> = BTreeMap::new();
        for e in kept.values() {
            model.events.insert((e.event_id, e.request_id.clone()));
            if !e.device.bot {
                by_session.entry(e.session_id).or_default().push(e);
            }
        }
        let mut visitors: BTreeMap<TrafficKey, BTreeSet<String>> = BTreeMap::new();
        for (session_id, mut events) in by_session {
            events.sort_by_key(|e| (e.ts, e.event_id));
            let mut visits: Vec<Vec<&StoredEvent>> = vec![];
            for e in events {
                match visits.last_mut() {
                    Some(visit) if e.ts - visit.last().unwrap().ts <= Duration::minutes(30) => {
                        visit.push(e)
                    }
                    _ => visits.push(vec![e]),
                }
            }
            for (seq, visit) in visits.iter().enumerate() {
                let first = visit[0];
                let last = visit[visit.len() - 1];
                let count =
                    |t: EventType| visit.iter().filter(|e| e.event_type == t).count() as i32;
                let page_views = count(EventType::PageView);
                let revenue = visit
                    .iter()
                    .filter(|e| e.event_type == EventType::Purchase)
                    .filter_map(|e| e.ecom.as_ref())
                    .map(|ecom| {
                        ecom.price.unwrap_or_default() * Decimal::from(ecom.qty.unwrap_or(1))
                    })
                    .sum();
                let entry = attribute(&first.page_url, first.referrer.as_deref());
                let session = Session {
                    session_id,
                    seq: seq as i32,
                    started_at: first.ts,
                    ended_at: last.ts,
                    events: visit.len() as i32,
                    page_views,
                    bounce: page_views == 1,
                    entry_page: entry.page_path,
                    exit_page: attribute(&last.page_url, None).page_path,
                    device_type: first.device.device_type.as_str().to_owned(),
                    referrer_class: entry.referrer_class.to_owned(),
                    utm_source: entry.utm_source,
                    converted: count(EventType::Purchase) > 0,
                    revenue,
                };
                let key = (
                    local_day(session.started_at),
                    session.device_type.clone(),
                    first
                        .geo
                        .country
                        .clone()
                        .unwrap_or_else(|| "unknown".to_owned()),
                );
                let t = model.traffic.entry(key.clone()).or_default();
                t.0 += 1;
                t.2 += i64::from(page_views);
                t.3 += i64::from(session.bounce);
                visitors
                    .entry(key)
                    .or_default()
                    .insert(first.anonymous_id_hash.clone());
                model.sessions.push(session);
            }
        }
        for (key, set) in visitors {
            model.traffic.get_mut(&key).unwrap().1 = set.len() as i64;
        }
        model.sessions.sort();

        // Per product: when the kept category and price were seen.
        type Seen = Option<(DateTime<Utc>, Uuid)>;
        let mut latest: BTreeMap<String, [Seen; 2]> = BTreeMap::new();
        for e in kept.values() {
            let Some(ecom) = &e.ecom else { continue };
            let Some(product) = &ecom.product_id else {
                continue;
            };
            let dim = model.dim_product.entry(product.clone()).or_default();
            let seen = latest.entry(product.clone()).or_default();
            let at = Some((e.ts, e.event_id));
            if ecom.category.is_some() && at > seen[0] {
                seen[0] = at;
                dim.0 = ecom.category.clone();
            }
            if ecom.price.is_some() && at > seen[1] {
                seen[1] = at;
                dim.1 = ecom.price;
            }
            if e.device.bot {
                continue;
            }
            let p = model
                .products
                .entry((local_day(e.ts), product.clone()))
                .or_insert((0, 0, 0, 0, 0, 0, Decimal::ZERO));
            match e.event_type {
                EventType::Impression => p.0 += 1,
                EventType::Click => p.1 += 1,
                EventType::View => p.2 += 1,
                EventType::AddToCart => p.3 += 1,
                EventType::Purchase => {
                    let qty = ecom.qty.unwrap_or(1);
                    p.4 += 1;
                    p.5 += i64::from(qty);
                    p.6 += ecom.price.unwrap_or_default() * Decimal::from(qty);
                }
                _ => {}
            }
        }
        model
    }
}

async fn loaded_events(w: &Warehouse) -> BTreeSet<(Uuid, String)> {
    let rows = w
        .client
        .query("SELECT event_id, request_id FROM fact_events", &[])
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

async fn loaded_sessions(w: &Warehouse) -> Vec<Session> {
    let rows = w
        .client
        .query(
            "SELECT session_id, session_seq, started_at, ended_at, events, page_views, bounce,
                    entry_page, exit_page, device_type, referrer_class, utm_source, converted, revenue
             FROM fact_sessions",
            &[],
        )
        .await
        .unwrap();
    let mut sessions: Vec<Session> = rows
        .iter()
        .map(|r| Session {
            session_id: r.get(0),
            seq: r.get(1),
            started_at: r.get(2),
            ended_at: r.get(3),
            events: r.get(4),
            page_views: r.get(5),
            bounce: r.get(6),
            entry_page: r.get(7),
            exit_page: r.get(8),
            device_type: r.get(9),
            referrer_class: r.get(10),
            utm_source: r.get(11),
            converted: r.get(12),
            revenue: r.get(13),
        })
        .collect();
    sessions.sort();
    sessions
}

async fn loaded_traffic(w: &Warehouse) -> BTreeMap<TrafficKey, (i64, i64, i64, i64)> {
    let rows = w
        .client
        .query(
            "SELECT day, device_type, country, sessions,
                    round(hll_cardinality(visitors))::integer, page_views, bounces
             FROM rollup_traffic
             WHERE grain = 'day' AND category = '*' AND device_type <> '*' AND country <> '*'",
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                (r.get(0), r.get(1), r.get(2)),
                (
                    i64::from(r.get::<_, i32>(3)),
                    i64::from(r.get::<_, i32>(4)),
                    r.get(5),
                    i64::from(r.get::<_, i32>(6)),
                ),
            )
        })
        .collect()
}

async fn loaded_products(w: &Warehouse) -> BTreeMap<ProductKey, ProductFigures> {
    let rows = w
        .client
        .query(
            "SELECT day, product_id, impressions, clicks, views, add_to_carts, purchases, units,
                    revenue
             FROM rollup_products WHERE grain = 'day' AND device_type = '*' AND country = '*'",
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                (r.get(0), r.get(1)),
                (
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                    r.get(8),
                ),
            )
        })
        .collect()
}

async fn loaded_dim_product(w: &Warehouse) -> BTreeMap<String, (Option<String>, Option<Decimal>)> {
    let rows = w
        .client
        .query("SELECT product_id, category, price FROM dim_product", &[])
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
}
