//! Server-side enrichment: user agent, country, clock skew, PII, URLs.

use chrono::{DateTime, Duration, Utc};
use sbw_contract::enrich::parse_user_agent;
use sbw_contract::{enrich, BatchHasher, DeviceType, IdentifierHasher, RequestMeta, StoredEvent};
use sbw_testkit::events::{rfc3339, valid_event, validate};
use serde_json::{json, Value};

const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1";
const ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const ANDROID_PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

fn hasher() -> IdentifierHasher {
    IdentifierHasher::new(b"test-key-test-key-test-key-test-key").unwrap()
}

fn meta(now: DateTime<Utc>) -> RequestMeta {
    RequestMeta {
        request_id: "req-1".into(),
        received_at: now,
        user_agent: parse_user_agent(CHROME_WINDOWS),
        viewer_country: None,
        verified_subject: None,
    }
}

fn stored(event: Value, meta: &RequestMeta) -> (StoredEvent, Vec<sbw_contract::FieldError>) {
    let event = validate(&event, meta.received_at).expect("the test event is valid");
    enrich(event, meta, &mut BatchHasher::new(&hasher()))
}

#[test]
fn user_agents_become_families_and_device_types() {
    let chrome = parse_user_agent(CHROME_WINDOWS);
    assert_eq!(chrome.browser.as_deref(), Some("Chrome"));
    assert_eq!(chrome.os.as_deref(), Some("Windows"));
    assert_eq!(chrome.device_type, Some(DeviceType::Desktop));
    assert!(!chrome.bot);
    let iphone = parse_user_agent(IPHONE);
    assert_eq!(
        (iphone.os.as_deref(), iphone.family.as_deref()),
        (Some("iOS"), Some("iPhone"))
    );
    assert_eq!(iphone.device_type, Some(DeviceType::Mobile));
    assert_eq!(parse_user_agent(IPAD).device_type, Some(DeviceType::Tablet));
    assert_eq!(
        parse_user_agent(ANDROID_TABLET).device_type,
        Some(DeviceType::Tablet)
    );
    assert_eq!(
        parse_user_agent(ANDROID_PHONE).device_type,
        Some(DeviceType::Mobile)
    );
    assert!(parse_user_agent(GOOGLEBOT).bot);
    let garbage = parse_user_agent("\u{0}\u{1}💥");
    assert_eq!((garbage.browser, garbage.os), (None, None));
}

#[test]
fn the_raw_user_agent_is_not_stored() {
    let now = Utc::now();
    let (stored, _) = stored(valid_event(now), &meta(now));
    let line = serde_json::to_string(&stored).unwrap();
    assert!(!line.contains("Mozilla"), "{line}");
    assert_eq!(stored.device.browser.as_deref(), Some("Chrome"));
}

#[test]
fn the_client_device_type_wins_over_the_user_agent() {
    let now = Utc::now();
    let mut event = valid_event(now);
    event["device"] = json!({"type": "tablet"});
    assert_eq!(
        stored(event, &meta(now)).0.device.device_type,
        DeviceType::Tablet
    );
    let mut event = valid_event(now);
    event["device"] = Value::Null;
    let mut phone = meta(now);
    phone.user_agent = parse_user_agent(IPHONE);
    assert_eq!(
        stored(event, &phone).0.device.device_type,
        DeviceType::Mobile
    );
}

#[test]
fn cloudfront_country_wins_and_bad_headers_are_ignored() {
    let now = Utc::now();
    let mut m = meta(now);
    m.viewer_country = Some("SG".into());
    assert_eq!(
        stored(valid_event(now), &m).0.geo.country.as_deref(),
        Some("SG")
    );
    m.viewer_country = Some("not-a-country".into());
    assert_eq!(
        stored(valid_event(now), &m).0.geo.country.as_deref(),
        Some("VN")
    );
}

#[test]
fn clock_skew_is_measured_and_corrected() {
    let now: DateTime<Utc> = "2026-11-26T05:00:00Z".parse().unwrap();
    let mut event = valid_event(now);
    // The client clock runs 10 minutes fast.
    event["ts"] = json!(rfc3339(now + Duration::minutes(10) - Duration::seconds(3)));
    event["sent_at"] = json!(rfc3339(now + Duration::minutes(10)));
    let (stored, _) = stored(event, &meta(now));
    assert_eq!(stored.clock_skew_ms, Some(-600_000));
    assert_eq!(stored.ts, now - Duration::seconds(3));
    assert_eq!(
        stored.client_ts,
        now + Duration::minutes(10) - Duration::seconds(3)
    );
    let line = serde_json::to_value(&stored).unwrap();
    assert_eq!(line["ts"], "2026-11-26T04:59:57.000Z");
}

#[test]
fn identifiers_are_hashed_and_the_verified_subject_wins() {
    let now = Utc::now();
    let mut event = valid_event(now);
    event["user_id"] = json!("alice");
    let (anonymous, _) = stored(event.clone(), &meta(now));
    let h = hasher();
    // A claim on the anonymous route is no signed-in user, and cannot pose as
    // the verified user "alice".
    assert_eq!(anonymous.user_id_hash, None);
    assert_eq!(
        anonymous.claimed_user_id_hash,
        Some(h.hash("claimed_user", "alice"))
    );
    assert_ne!(
        anonymous.claimed_user_id_hash,
        Some(h.hash("user", "alice"))
    );
    assert_eq!(
        anonymous.anonymous_id_hash,
        h.hash("anonymous", "a1b2c3d4-anon")
    );
    let mut signed_in = meta(now);
    signed_in.verified_subject = Some("cognito-sub-1".into());
    let (verified, _) = stored(event, &signed_in);
    assert_eq!(verified.user_id_hash, Some(h.hash("user", "cognito-sub-1")));
    assert_eq!(verified.claimed_user_id_hash, None);
    let line = serde_json::to_string(&verified).unwrap();
    assert!(
        !line.contains("alice")
            && !line.contains("cognito-sub-1")
            && !line.contains("a1b2c3d4-anon")
    );
}

#[test]
fn pii_props_are_dropped_with_a_warning_and_identifiers_hashed() {
    let now = Utc::now();
    let mut event = valid_event(now);
    event["props"] = json!({"email": "bob@example.com", "Phone": "+84 90 000 0000", "note": "mail me: bob@example.com", "order_id": "ORD-7", "button": "buy"});
    let (stored, warnings) = stored(event, &meta(now));
    let mut dropped: Vec<&str> = warnings.iter().map(|w| w.path.as_str()).collect();
    dropped.sort();
    assert_eq!(dropped, ["$.props.Phone", "$.props.email", "$.props.note"]);
    assert_eq!(
        stored.props.keys().collect::<Vec<_>>(),
        ["button", "order_id"]
    );
    assert_eq!(
        stored.props["order_id"],
        json!(hasher().hash("order_id", "ORD-7"))
    );
}

#[test]
fn urls_are_stripped_of_personal_parts() {
    let now = Utc::now();
    let mut event = valid_event(now);
    event["page_url"] =
        json!("https://shop.example/checkout?email=bob%40x.com&utm_campaign=sale#pay");
    event["referrer"] = json!("https://mail.example/inbox?token=secret");
    let (stored, _) = stored(event, &meta(now));
    assert_eq!(
        stored.page_url,
        "https://shop.example/checkout?utm_campaign=sale"
    );
    assert_eq!(
        stored.referrer.as_deref(),
        Some("https://mail.example/inbox")
    );
}

#[test]
fn stored_lines_round_trip_and_refuse_unknown_fields() {
    let now = Utc::now();
    let (stored, _) = stored(valid_event(now), &meta(now));
    let line = serde_json::to_string(&stored).unwrap();
    let back: StoredEvent = serde_json::from_str(&line).unwrap();
    assert_eq!(back, stored);
    let mut extra: Value = serde_json::from_str(&line).unwrap();
    extra["surprise"] = json!(1);
    assert!(serde_json::from_value::<StoredEvent>(extra).is_err());
}
