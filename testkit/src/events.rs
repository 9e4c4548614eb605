//! Events for tests: a valid one to start from, and a table of cases that
//! the contract's validator, the JSON Schema and the ingest endpoint must all
//! judge the same way.
//!
//! Over 400 lines on purpose: most of it is one table of cases, one or more
//! per contract rule, which the contract, the JSON Schema and ingest all
//! read.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use sbw_contract::{validate_event, Event, FieldError, Json};
use serde_json::{json, Value};
use uuid::Uuid;

/// Validates `event` the way the ingest handler does: from its JSON text.
pub fn validate(event: &Value, received_at: DateTime<Utc>) -> Result<Event, Vec<FieldError>> {
    let text = serde_json::to_vec(event).expect("a Value serializes");
    let parsed: Json = serde_json::from_slice(&text).expect("serde_json wrote valid JSON");
    validate_event(&parsed, received_at)
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A complete, valid `add_to_cart` event stamped `now`, with a fresh id.
pub fn valid_event(now: DateTime<Utc>) -> Value {
    json!({
        "event_id": Uuid::new_v4().to_string(),
        "ts": rfc3339(now - Duration::seconds(2)),
        "sent_at": rfc3339(now),
        "event_type": "add_to_cart",
        "session_id": Uuid::new_v4().to_string(),
        "user_id": null,
        "anonymous_id": "a1b2c3d4-anon",
        "page_url": "https://shop.example/p/laptop-14?utm_source=newsletter",
        "referrer": "https://www.google.com/",
        "device": {"type": "desktop"},
        "geo": {"country": "VN", "city": "Hà Nội"},
        "ecom": {"product_id": "LAP-014", "category": "laptops", "currency": "VND", "price": 18990000, "qty": 1},
        "props": {"button": "add-to-cart", "position": 3, "in_stock": true, "coupon": null}
    })
}

/// A valid `impression` stamped `now`: `valid_event(now)`'s product, shown
/// third in the laptops category list.
pub fn impression(now: DateTime<Utc>) -> Value {
    product_in_list(now, "impression")
}

/// A valid product click stamped `now`: a `click` on the product of [`impression`].
pub fn product_click(now: DateTime<Utc>) -> Value {
    product_in_list(now, "click")
}

fn product_in_list(now: DateTime<Utc>, event_type: &str) -> Value {
    let mut event = valid_event(now);
    event["event_type"] = json!(event_type);
    event["ecom"] = json!({"product_id": "LAP-014", "category": "laptops"});
    event["props"] = json!({"list": "category:laptops", "position": 3});
    event
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// Rejected, with (at least) an error at this path.
    Invalid(String),
}

pub struct EventCase {
    pub name: &'static str,
    pub event: Value,
    pub verdict: Verdict,
    /// False for rules the JSON Schema cannot state (times relative to now,
    /// decimal places, URL parsing); the schema then accepts the event.
    pub schema_states_it: bool,
}

/// `valid_event(now)` with `path` (dotted, top-level or one level deep) set to `value`,
/// or removed when `value` is `None`.
pub fn with(now: DateTime<Utc>, path: &str, value: Option<Value>) -> Value {
    let mut event = valid_event(now);
    let (parent, key) = match path.split_once('.') {
        Some((parent, key)) => (&mut event[parent], key),
        None => (&mut event, path),
    };
    let object = parent.as_object_mut().expect("the parent is an object");
    match value {
        Some(value) => object.insert(key.to_owned(), value),
        None => object.remove(key),
    };
    event
}

/// `event` with `props.<key>` set to `value`.
fn in_list(mut event: Value, key: &str, value: Value) -> Value {
    event["props"][key] = value;
    event
}

pub fn event_cases(now: DateTime<Utc>) -> Vec<EventCase> {
    let case = |name, event, verdict| EventCase {
        name,
        event,
        verdict,
        schema_states_it: true,
    };
    let server_only = |name, event, verdict| EventCase {
        name,
        event,
        verdict,
        schema_states_it: false,
    };
    let set = |path: &str, value: Value| with(now, path, Some(value));
    let drop = |path: &str| with(now, path, None);
    let bad = |path: &str| Verdict::Invalid(path.to_owned());
    use Verdict::Valid;
    let long = |n: usize| "x".repeat(n);
    let mut many_props = serde_json::Map::new();
    for i in 0..33 {
        many_props.insert(format!("p{i}"), json!(i));
    }
    vec![
        case("valid add_to_cart", valid_event(now), Valid),
        case(
            "valid page_view without ecom",
            {
                let mut e = drop("ecom");
                e["event_type"] = json!("page_view");
                e
            },
            Valid,
        ),
        case(
            "valid unicode everywhere",
            set(
                "props",
                json!({"ghi_chú": "Bàn phím cơ 🎹", "日本": "キーボード"}),
            ),
            Valid,
        ),
        case(
            "valid null optionals",
            {
                let mut e = set("referrer", Value::Null);
                e["device"] = Value::Null;
                e["geo"] = Value::Null;
                e["props"] = Value::Null;
                e
            },
            Valid,
        ),
        case("valid empty referrer", set("referrer", json!("")), Valid),
        case("valid price zero", set("ecom.price", json!(0)), Valid),
        case(
            "valid price with 4 decimals",
            set("ecom.price", json!(19.9999)),
            Valid,
        ),
        case("valid impression", impression(now), Valid),
        case(
            "valid impression without list and position",
            {
                let mut e = impression(now);
                e["props"] = Value::Null;
                e
            },
            Valid,
        ),
        case("valid product click", product_click(now), Valid),
        case(
            "valid click without ecom has free props",
            {
                let mut e = product_click(now);
                e.as_object_mut().unwrap().remove("ecom");
                e["props"] = json!({"list": 7, "position": "hero"});
                e
            },
            Valid,
        ),
        case("event is not an object", json!("hello"), bad("$")),
        case("event is an array", json!([1, 2]), bad("$")),
        case(
            "unknown top-level field",
            set("email", json!("a@b.c")),
            bad("$.email"),
        ),
        case(
            "unknown ecom field",
            set("ecom.discount", json!(5)),
            bad("$.ecom.discount"),
        ),
        case("missing event_id", drop("event_id"), bad("$.event_id")),
        case(
            "event_id not a UUID",
            set("event_id", json!("12345")),
            bad("$.event_id"),
        ),
        case(
            "event_id UUID v1",
            set("event_id", json!("c232ab00-9414-11ec-b3c8-9f6bdeced846")),
            bad("$.event_id"),
        ),
        case(
            "event_id a number",
            set("event_id", json!(42)),
            bad("$.event_id"),
        ),
        case("missing ts", drop("ts"), bad("$.ts")),
        case(
            "ts not RFC 3339",
            set("ts", json!("26/11/2026 05:00")),
            bad("$.ts"),
        ),
        case(
            "ts without time zone",
            set("ts", json!("2026-11-26T05:00:00.000")),
            bad("$.ts"),
        ),
        case(
            "ts a number",
            set("ts", json!(1764134214000u64)),
            bad("$.ts"),
        ),
        server_only(
            "ts in the future",
            {
                let mut e = set("ts", json!(rfc3339(now + Duration::hours(1))));
                e.as_object_mut().unwrap().remove("sent_at");
                e
            },
            bad("$.ts"),
        ),
        server_only(
            "ts too old",
            {
                let mut e = set("ts", json!(rfc3339(now - Duration::days(40))));
                e.as_object_mut().unwrap().remove("sent_at");
                e
            },
            bad("$.ts"),
        ),
        server_only(
            "client clock a day fast is corrected by sent_at",
            {
                let mut e = set("ts", json!(rfc3339(now + Duration::days(1))));
                e["sent_at"] = json!(rfc3339(now + Duration::days(1) + Duration::seconds(1)));
                e
            },
            Valid,
        ),
        case(
            "sent_at garbage",
            set("sent_at", json!("yesterday")),
            bad("$.sent_at"),
        ),
        case(
            "missing event_type",
            drop("event_type"),
            bad("$.event_type"),
        ),
        case(
            "unknown event_type",
            set("event_type", json!("hover")),
            bad("$.event_type"),
        ),
        case(
            "event_type wrong case",
            set("event_type", json!("PAGE_VIEW")),
            bad("$.event_type"),
        ),
        case(
            "missing session_id",
            drop("session_id"),
            bad("$.session_id"),
        ),
        case(
            "session_id with braces",
            set(
                "session_id",
                json!("{3f1c3c5e-8d1a-4b7e-9c41-0a6f2b8e9d10}"),
            ),
            bad("$.session_id"),
        ),
        case(
            "missing anonymous_id",
            drop("anonymous_id"),
            bad("$.anonymous_id"),
        ),
        case(
            "empty anonymous_id",
            set("anonymous_id", json!("")),
            bad("$.anonymous_id"),
        ),
        case(
            "blank anonymous_id",
            set("anonymous_id", json!("   ")),
            bad("$.anonymous_id"),
        ),
        case(
            "anonymous_id too long",
            set("anonymous_id", json!(long(129))),
            bad("$.anonymous_id"),
        ),
        case(
            "anonymous_id an object",
            set("anonymous_id", json!({"id": 1})),
            bad("$.anonymous_id"),
        ),
        case(
            "user_id with NUL",
            set("user_id", json!("bob\u{0}")),
            bad("$.user_id"),
        ),
        case(
            "user_id a number",
            set("user_id", json!(42)),
            bad("$.user_id"),
        ),
        case("missing page_url", drop("page_url"), bad("$.page_url")),
        case(
            "page_url relative",
            set("page_url", json!("/p/laptop-14")),
            bad("$.page_url"),
        ),
        case(
            "page_url javascript scheme",
            set("page_url", json!("javascript:alert(1)")),
            bad("$.page_url"),
        ),
        case(
            "page_url too long",
            set(
                "page_url",
                json!(format!("https://shop.example/{}", long(2100))),
            ),
            bad("$.page_url"),
        ),
        case(
            "referrer not a URL",
            set("referrer", json!("google")),
            bad("$.referrer"),
        ),
        case(
            "device type unknown",
            set("device.type", json!("smartwatch")),
            bad("$.device.type"),
        ),
        case(
            "device a string",
            set("device", json!("desktop")),
            bad("$.device"),
        ),
        case(
            "country lower case",
            set("geo.country", json!("vn")),
            bad("$.geo.country"),
        ),
        case(
            "country three letters",
            set("geo.country", json!("VNM")),
            bad("$.geo.country"),
        ),
        case(
            "city too long",
            set("geo.city", json!(long(65))),
            bad("$.geo.city"),
        ),
        case("ecom an array", set("ecom", json!([1])), bad("$.ecom")),
        case(
            "add_to_cart without ecom",
            drop("ecom"),
            bad("$.ecom.product_id"),
        ),
        case(
            "add_to_cart without qty",
            drop("ecom.qty"),
            bad("$.ecom.qty"),
        ),
        case(
            "view without product_id",
            {
                let mut e = drop("ecom.product_id");
                e["event_type"] = json!("view");
                e
            },
            bad("$.ecom.product_id"),
        ),
        case(
            "impression without product_id",
            {
                let mut e = impression(now);
                e["ecom"] = json!({"category": "laptops"});
                e
            },
            bad("$.ecom.product_id"),
        ),
        case(
            "impression without ecom",
            {
                let mut e = impression(now);
                e.as_object_mut().unwrap().remove("ecom");
                e
            },
            bad("$.ecom.product_id"),
        ),
        case(
            "impression position zero",
            in_list(impression(now), "position", json!(0)),
            bad("$.props.position"),
        ),
        case(
            "impression position fractional",
            in_list(impression(now), "position", json!(2.5)),
            bad("$.props.position"),
        ),
        case(
            "impression position as string",
            in_list(impression(now), "position", json!("3")),
            bad("$.props.position"),
        ),
        case(
            "impression position too large",
            in_list(impression(now), "position", json!(10_001)),
            bad("$.props.position"),
        ),
        case(
            "impression list blank",
            in_list(impression(now), "list", json!("  ")),
            bad("$.props.list"),
        ),
        case(
            "impression list a number",
            in_list(impression(now), "list", json!(4)),
            bad("$.props.list"),
        ),
        case(
            "product click position negative",
            in_list(product_click(now), "position", json!(-1)),
            bad("$.props.position"),
        ),
        case(
            "purchase without currency",
            {
                let mut e = drop("ecom.currency");
                e["event_type"] = json!("purchase");
                e
            },
            bad("$.ecom.currency"),
        ),
        case(
            "negative price",
            set("ecom.price", json!(-1)),
            bad("$.ecom.price"),
        ),
        case(
            "price too large",
            set("ecom.price", json!(1e12)),
            bad("$.ecom.price"),
        ),
        case(
            "price as string",
            set("ecom.price", json!("19.99")),
            bad("$.ecom.price"),
        ),
        server_only(
            "price with 5 decimals",
            set("ecom.price", json!(1.23456)),
            bad("$.ecom.price"),
        ),
        case("zero qty", set("ecom.qty", json!(0)), bad("$.ecom.qty")),
        case(
            "negative qty",
            set("ecom.qty", json!(-2)),
            bad("$.ecom.qty"),
        ),
        case(
            "fractional qty",
            set("ecom.qty", json!(1.5)),
            bad("$.ecom.qty"),
        ),
        case(
            "qty too large",
            set("ecom.qty", json!(10_001)),
            bad("$.ecom.qty"),
        ),
        case(
            "unknown currency",
            set("ecom.currency", json!("XYZ")),
            bad("$.ecom.currency"),
        ),
        case(
            "currency lower case",
            set("ecom.currency", json!("usd")),
            bad("$.ecom.currency"),
        ),
        case(
            "product_id too long",
            set("ecom.product_id", json!(long(129))),
            bad("$.ecom.product_id"),
        ),
        case(
            "category with NUL",
            set("ecom.category", json!("lap\u{0}tops")),
            bad("$.ecom.category"),
        ),
        case("props an array", set("props", json!(["a"])), bad("$.props")),
        case(
            "props nested object",
            set("props", json!({"cart": {"items": 2}})),
            bad("$.props.cart"),
        ),
        case(
            "props nested array",
            set("props", json!({"tags": ["a", "b"]})),
            bad("$.props.tags"),
        ),
        case(
            "props too many",
            set("props", Value::Object(many_props)),
            bad("$.props"),
        ),
        case(
            "props key too long",
            set("props", json!({ long(65): 1 })),
            bad(&format!("$.props.{}", long(65))),
        ),
        case(
            "props value too long",
            set("props", json!({"note": long(513)})),
            bad("$.props.note"),
        ),
        case(
            "props value with NUL",
            set("props", json!({"note": "a\u{0}b"})),
            bad("$.props.note"),
        ),
    ]
}
