//! The simulated shoppers' visits: what they send passes the event
//! contract, they are the same for the same seed, and their figures are
//! those of a small real shop (funnel, click-through rates by product and
//! position, channels, devices, countries, crawlers, retries, late deliveries).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{Duration, TimeZone, Utc};
use sbw_contract::{EventType, StoredEvent};
use sbw_shoppers::sdk::SentEvent;
use sbw_shoppers::{Delivery, Receiver, Request, Shoppers, Transport, Visit};
use uuid::Uuid;

const HASH_KEY: &[u8] = b"the identifier hashing key of these tests";

/// `count` visits of seed `seed`, one every 90 s from a Monday morning.
fn visits(seed: u64, count: i64) -> Vec<Visit> {
    let mut shoppers = Shoppers::new(seed);
    let monday = Utc.with_ymd_and_hms(2026, 11, 16, 1, 0, 0).unwrap();
    (0..count)
        .map(|i| shoppers.visit(monday + Duration::seconds(i * 90)))
        .collect()
}

/// Every request of `visits` as ingest stores it, with the delivery it came
/// in; asserts that the contract refuses nothing.
fn stored(visits: &[Visit]) -> Vec<(Delivery, StoredEvent)> {
    let mut receiver = Receiver::new(HASH_KEY).unwrap();
    let mut events = Vec::new();
    for request in visits.iter().flat_map(|v| &v.requests) {
        let received = receiver.receive(request).expect("a well-formed body");
        assert_eq!(received.refused, vec![], "the contract refused events");
        events.extend(received.events.into_iter().map(|e| (request.delivery, e)));
    }
    events
}

/// What most tests look at: 5,000 visits over five days, sent and stored.
struct Sample {
    visits: Vec<Visit>,
    stored: Vec<(Delivery, StoredEvent)>,
}

static SAMPLE: LazyLock<Sample> = LazyLock::new(|| {
    let visits = visits(33, 5000);
    let stored = stored(&visits);
    Sample { visits, stored }
});

fn requests(visits: &[Visit]) -> impl Iterator<Item = &Request> {
    visits.iter().flat_map(|v| &v.requests)
}

/// The events of human visits, each once, by session.
fn sessions(events: &[(Delivery, StoredEvent)]) -> HashMap<Uuid, Vec<&StoredEvent>> {
    let mut sessions: HashMap<Uuid, Vec<&StoredEvent>> = HashMap::new();
    for (delivery, event) in events {
        if *delivery != Delivery::Retry && !event.device.bot {
            sessions.entry(event.session_id).or_default().push(event);
        }
    }
    sessions
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole as f64
}

#[test]
fn the_same_seed_sends_the_same_visits_and_another_seed_others() {
    let first = visits(5, 60);
    assert_eq!(first, visits(5, 60));
    let ids = |visits: &[Visit]| -> HashSet<Uuid> {
        requests(visits).flat_map(|r| r.event_ids()).collect()
    };
    assert!(ids(&first).is_disjoint(&ids(&visits(6, 60))));
}

#[test]
fn every_event_sent_passes_the_contract_and_requests_are_what_the_sdk_sends() {
    // Making the sample asserted that the contract refused nothing.
    let Sample { visits, stored } = &*SAMPLE;
    assert!(stored.len() > 200_000, "{} events", stored.len());
    for request in requests(visits) {
        assert!((1..=500).contains(&request.events.len()));
        let body = request.body();
        assert!(body.len() < 400_000);
        if request.transport == Transport::Beacon {
            assert!(body.len() < 64 * 1024, "a beacon over 64 KiB");
        }
        let signed_in = request.customer.is_some();
        assert_eq!(request.path().ends_with("/signed-in"), signed_in);
        assert_eq!(request.id_token().is_some(), signed_in);
        assert!(request.received_at > request.sent_at);
        let body: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        for event in &body {
            // The SDK sets neither the user nor the device nor the place.
            for field in ["user_id", "device", "geo"] {
                assert!(event.get(field).is_none(), "{field} in {event}");
            }
            let page = event["page_url"].as_str().unwrap();
            assert!(page.starts_with("http://127.0.0.1:8000/"), "{page}");
            let query = page.split_once('?').map_or("", |(_, q)| q);
            assert!(
                query
                    .split('&')
                    .all(|p| p.is_empty() || p.starts_with("utm_")),
                "{page}"
            );
        }
    }
    // Signed-in customers are hashed users; everyone else is anonymous.
    let signed_in = stored
        .iter()
        .filter(|(_, e)| e.user_id_hash.is_some())
        .count();
    assert!(
        (0.05..0.25).contains(&share(signed_in, stored.len())),
        "{signed_in}"
    );
}

#[test]
fn the_funnel_is_a_small_shops() {
    let sessions = sessions(&SAMPLE.stored);
    let did = |event_type: EventType| {
        sessions
            .values()
            .filter(|events| events.iter().any(|e| e.event_type == event_type))
            .count()
    };
    let visits = sessions.len();
    let viewed = share(did(EventType::View), visits);
    let added = share(did(EventType::AddToCart), visits);
    let checked_out = share(did(EventType::Checkout), visits);
    let bought = share(did(EventType::Purchase), visits);
    let searched = share(did(EventType::Search), visits);
    let page_views = |events: &Vec<&StoredEvent>| {
        events
            .iter()
            .filter(|e| e.event_type == EventType::PageView)
            .count()
    };
    let bounced = share(
        sessions.values().filter(|e| page_views(e) == 1).count(),
        visits,
    );
    let figures = format!(
        "viewed {viewed:.3}, added {added:.3}, checked out {checked_out:.3}, bought {bought:.3}, searched {searched:.3}, bounced {bounced:.3}"
    );
    assert!((0.45..0.85).contains(&viewed), "{figures}");
    assert!((0.06..0.14).contains(&added), "{figures}");
    assert!((0.025..0.06).contains(&checked_out), "{figures}");
    assert!((0.018..0.035).contains(&bought), "{figures}");
    assert!((0.05..0.25).contains(&searched), "{figures}");
    assert!((0.28..0.5).contains(&bounced), "{figures}");
    // A purchase follows a checkout, which follows an add to cart.
    for events in sessions.values() {
        let first = |t: EventType| {
            events
                .iter()
                .filter(|e| e.event_type == t)
                .map(|e| e.ts)
                .min()
        };
        if let Some(bought) = first(EventType::Purchase) {
            assert!(first(EventType::Checkout).is_some_and(|c| c <= bought));
            assert!(first(EventType::AddToCart).is_some_and(|a| a <= bought));
        }
    }
}

#[test]
fn click_through_rates_fall_with_the_position_and_differ_by_product() {
    // (impressions, clicks) by product and by position (30 and below together).
    let mut by_product: HashMap<String, (u32, u32)> = HashMap::new();
    let mut by_position: HashMap<u64, (u32, u32)> = HashMap::new();
    for (delivery, event) in &SAMPLE.stored {
        if *delivery == Delivery::Retry || !event.event_type.is_product_in_list(event.ecom.as_ref())
        {
            continue;
        }
        let is_click = event.event_type == EventType::Click;
        let product = event
            .ecom
            .as_ref()
            .and_then(|e| e.product_id.clone())
            .unwrap();
        let position = event.props["position"].as_u64().unwrap();
        for counts in [
            by_product.entry(product).or_default(),
            by_position.entry(position.min(30)).or_default(),
        ] {
            counts.0 += u32::from(!is_click);
            counts.1 += u32::from(is_click);
        }
    }
    let rate =
        |(impressions, clicks): (u32, u32)| f64::from(clicks) / f64::from(impressions.max(1));
    let totals = by_product
        .values()
        .fold((0, 0), |(i, c), (pi, pc)| (i + pi, c + pc));
    let overall = rate(totals);
    assert!((0.008..0.05).contains(&overall), "CTR {overall}");
    // Among products shown often enough to measure.
    let rates: Vec<f64> = by_product
        .values()
        .filter(|(impressions, _)| *impressions >= 1_000)
        .map(|&counts| rate(counts))
        .collect();
    assert!(rates.len() >= 50, "{} products", rates.len());
    let best = rates.iter().cloned().fold(0.0, f64::max);
    let worst = rates.iter().cloned().fold(1.0, f64::min);
    assert!(best > 3.0 * worst, "best {best}, worst {worst}");
    let top = rate(by_position[&1]);
    let deep = rate(by_position[&30]);
    assert!(top > 3.0 * deep, "position 1: {top}, 30 and below: {deep}");
    assert!((0.02..0.15).contains(&top), "position 1: {top}");
}

#[test]
fn visits_come_from_every_channel_on_mostly_phones_mostly_in_vietnam() {
    let sessions = sessions(&SAMPLE.stored);
    let landings: Vec<&StoredEvent> = sessions
        .values()
        .map(|events| {
            *events
                .iter()
                .filter(|e| e.event_type == EventType::PageView)
                .min_by_key(|e| e.ts)
                .unwrap()
        })
        .collect();
    let total = landings.len();
    let share_of =
        |f: &dyn Fn(&StoredEvent) -> bool| share(landings.iter().filter(|e| f(e)).count(), total);
    let from = |hosts: &'static [&'static str]| {
        move |e: &StoredEvent| {
            !e.page_url.contains("utm_")
                && hosts
                    .iter()
                    .any(|h| e.referrer.as_deref().is_some_and(|r| r.contains(h)))
        }
    };
    let tagged = |mediums: &'static [&'static str]| {
        move |e: &StoredEvent| {
            mediums
                .iter()
                .any(|m| e.page_url.contains(&format!("utm_medium={m}&")))
        }
    };
    for (name, visits, low, high) in [
        (
            "direct",
            share_of(&|e| e.referrer.is_none() && !e.page_url.contains("utm_")),
            0.12,
            0.35,
        ),
        (
            "search",
            share_of(&from(&["google.", "coccoc.com", "bing.com"])),
            0.2,
            0.45,
        ),
        (
            "social",
            share_of(&from(&[
                "facebook.com",
                "tiktok.com",
                "youtube.com",
                "zalo.me",
            ])),
            0.06,
            0.2,
        ),
        ("email", share_of(&tagged(&["email"])), 0.02, 0.15),
        (
            "paid",
            share_of(&tagged(&["cpc", "paid_social"])),
            0.06,
            0.2,
        ),
        (
            "referral",
            share_of(&from(&["tinhte.vn", "voz.vn", "genk.vn", "vnexpress.net"])),
            0.04,
            0.14,
        ),
    ] {
        assert!((low..high).contains(&visits), "{name}: {visits:.3}");
    }
    // Deep links: many visits start on a product page.
    let on_product = share_of(&|e| e.page_url.contains("/product.html"));
    assert!((0.25..0.6).contains(&on_product), "{on_product}");
    let device = |name: &'static str| share_of(&move |e| e.device.device_type.as_str() == name);
    assert!((0.5..0.75).contains(&device("mobile")));
    assert!((0.2..0.45).contains(&device("desktop")));
    assert!((0.02..0.12).contains(&device("tablet")));
    assert!((0.85..0.95).contains(&share_of(&|e| e.geo.country.as_deref() == Some("VN"))));
    let countries: HashSet<_> = landings
        .iter()
        .filter_map(|e| e.geo.country.clone())
        .collect();
    assert!(countries.len() >= 8, "{countries:?}");
    let browsers: HashSet<_> = landings
        .iter()
        .filter_map(|e| e.device.browser.clone())
        .collect();
    assert!(browsers.len() >= 6, "{browsers:?}");
    // Some come back: the same anonymous id in more than one visit.
    let visitors: HashSet<_> = landings.iter().map(|e| &e.anonymous_id_hash).collect();
    assert!(
        (0.6..0.85).contains(&share(visitors.len(), total)),
        "{}",
        visitors.len()
    );
}

#[test]
fn crawlers_are_flagged_and_never_shop() {
    let Sample { visits, stored } = &*SAMPLE;
    let crawlers: Vec<Visit> = visits.iter().filter(|v| v.crawler).cloned().collect();
    assert!(
        (60..200).contains(&crawlers.len()),
        "{} crawler visits",
        crawlers.len()
    );
    let once = |events: &[(Delivery, StoredEvent)]| -> Vec<StoredEvent> {
        events
            .iter()
            .filter(|(delivery, _)| *delivery != Delivery::Retry)
            .map(|(_, e)| e.clone())
            .collect()
    };
    let bots: Vec<StoredEvent> = once(stored).into_iter().filter(|e| e.device.bot).collect();
    assert_eq!(
        bots,
        once(&self::stored(&crawlers)),
        "every crawler event and only those"
    );
    assert!(bots.iter().all(|e| matches!(
        e.event_type,
        EventType::PageView | EventType::View | EventType::Impression
    )));
    // A crawler keeps no storage: each page it renders is another visitor.
    let pages = bots
        .iter()
        .filter(|e| e.event_type == EventType::PageView)
        .count();
    let visitors: HashSet<_> = bots.iter().map(|e| &e.anonymous_id_hash).collect();
    assert_eq!(visitors.len(), pages);
}

#[test]
fn answers_get_lost_and_offline_visits_deliver_late() {
    let requests: Vec<&Request> = requests(&SAMPLE.visits).collect();
    let lines = |delivery: Delivery| -> usize {
        requests
            .iter()
            .filter(|r| r.delivery == delivery)
            .map(|r| r.events.len())
            .sum()
    };
    let all = lines(Delivery::OnTime) + lines(Delivery::Retry) + lines(Delivery::Late);
    let retried = share(lines(Delivery::Retry), all);
    assert!((0.003..0.03).contains(&retried), "retried {retried}");
    assert!(lines(Delivery::Late) > 50, "late {}", lines(Delivery::Late));
    let first_sent: HashMap<Uuid, &Request> = requests
        .iter()
        .filter(|r| r.delivery != Delivery::Retry)
        .flat_map(|r| r.event_ids().map(move |id| (id, *r)))
        .collect();
    for retry in requests.iter().filter(|r| r.delivery == Delivery::Retry) {
        // The same events 1-2 s later, each with the retry's own sent_at.
        let original = first_sent[&retry.event_ids().next().unwrap()];
        let after = retry.sent_at - original.sent_at;
        assert!((Duration::seconds(1)..=Duration::seconds(2)).contains(&after));
        let as_first_sent: Vec<SentEvent> = retry
            .events
            .iter()
            .map(|e| SentEvent {
                sent_at: original.events[0].sent_at,
                ..e.clone()
            })
            .collect();
        assert_eq!(as_first_sent, original.events);
        assert_eq!(retry.events[0].sent_at - original.events[0].sent_at, after);
    }
    for late in requests.iter().filter(|r| r.delivery == Delivery::Late) {
        // Sent at least 20 minutes after the events happened (device clock on both).
        assert!(late
            .events
            .iter()
            .all(|e| e.sent_at - e.ts >= Duration::minutes(20)));
    }
}
