//! Schema-on-write: turns untrusted JSON into [`Event`]s, reporting every
//! problem of an event with its field path and a reason.
//!
//! Over 400 lines on purpose: one `Checker` method per field of the contract,
//! in the schema's order, so each rule reads next to its neighbours and
//! against the schema.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use chrono::{DateTime, Duration, Utc};
use lru::LruCache;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::event::{DeviceType, Ecom, Event, EventType, FieldError, PropValue};
use crate::json::{Entry, Json};
use crate::limits::*;

/// Why a whole request body was refused before looking at single events.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("body is not valid JSON: {0}")]
    Malformed(String),
    #[error("body must be one event object or an array of event objects")]
    NotObjectOrArray,
    #[error("body holds no events")]
    Empty,
    #[error("body holds {count} events, at most {MAX_EVENTS_PER_REQUEST} are allowed per request")]
    TooManyEvents { count: usize },
}

/// Parses a decoded body: one event object or an array of them.
pub fn parse_batch(body: &[u8]) -> Result<Vec<Json<'_>>, BatchError> {
    // One UTF-8 check of the whole body costs less than serde_json's check of each string.
    let text = std::str::from_utf8(body).map_err(|e| BatchError::Malformed(e.to_string()))?;
    let value: Json =
        serde_json::from_str(text).map_err(|e| BatchError::Malformed(e.to_string()))?;
    let events = match value {
        Json::Array(items) => items,
        object @ Json::Object(_) => vec![object],
        _ => return Err(BatchError::NotObjectOrArray),
    };
    match events.len() {
        0 => Err(BatchError::Empty),
        count if count > MAX_EVENTS_PER_REQUEST => Err(BatchError::TooManyEvents { count }),
        _ => Ok(events),
    }
}

const EVENT_FIELDS: [&str; 13] = [
    "event_id",
    "ts",
    "sent_at",
    "event_type",
    "session_id",
    "user_id",
    "anonymous_id",
    "page_url",
    "referrer",
    "device",
    "geo",
    "ecom",
    "props",
];
const DEVICE_FIELDS: [&str; 1] = ["type"];
const GEO_FIELDS: [&str; 2] = ["country", "city"];
const ECOM_FIELDS: [&str; 5] = ["product_id", "category", "currency", "price", "qty"];

/// Validates one event. `received_at` bounds how old or new its time may be.
pub fn validate_event(value: &Json, received_at: DateTime<Utc>) -> Result<Event, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldError::new("$", "an event must be a JSON object")]);
    };
    let mut c = Checker::default();
    let [event_id, ts, sent_at, event_type, session_id, user_id, anonymous_id, page_url, referrer, device, geo, ecom, props] =
        c.fields(obj, "$", &EVENT_FIELDS);

    let event_id = c.uuid(event_id, "$.event_id");
    let ts = c.timestamp(ts, "$.ts", true);
    let sent_at = c.timestamp(sent_at, "$.sent_at", false);
    let event_type = c.event_type(event_type);
    let session_id = c.uuid(session_id, "$.session_id");
    let user_id = c.string(user_id, "$.user_id", MAX_ID_CHARS, false);
    let anonymous_id = c.string(anonymous_id, "$.anonymous_id", MAX_ID_CHARS, true);
    let page_url = c.url(page_url, "$.page_url", true);
    let referrer = c.url(referrer, "$.referrer", false);
    let device_type = c.device(device);
    let (country, city) = c.geo(geo);
    let ecom = c.ecom(ecom, event_type);
    let props = c.props(props);
    if event_type.is_some_and(|t| t.is_product_in_list(ecom.as_ref())) {
        c.list_placement(&props);
    }
    if let Some(ts) = ts {
        c.time_window(ts, sent_at, received_at);
    }

    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    // Every `None` below for a required field was recorded as an error above.
    match (event_id, ts, event_type, session_id, anonymous_id, page_url) {
        (
            Some(event_id),
            Some(ts),
            Some(event_type),
            Some(session_id),
            Some(anonymous_id),
            Some(page_url),
        ) => Ok(Event {
            event_id,
            ts,
            sent_at,
            event_type,
            session_id,
            user_id,
            anonymous_id,
            page_url,
            referrer,
            device_type,
            country,
            city,
            ecom,
            props,
        }),
        _ => Err(vec![FieldError::new("$", "is incomplete")]),
    }
}

/// Applies the client clock-skew correction: `ts + (received_at - sent_at)`.
pub fn corrected_ts(
    ts: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
) -> DateTime<Utc> {
    match sent_at {
        Some(sent_at) => ts + (received_at - sent_at),
        None => ts,
    }
}

/// A path `parent.key` for a key read from the body, formatted only when an
/// error needs it: valid events, the common case, allocate no paths.
struct FieldPath<'a>(&'a str, &'a str);

impl std::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// A field's value as found in its object: `None` when absent.
type Field<'v> = Option<&'v Json<'v>>;

/// How many URLs each thread remembers parsed. A shop has a bounded set of
/// pages and referrers, visited over and over, and parsing a URL costs as
/// much as the rest of an event's checks.
const REMEMBERED_URLS: usize = 2048;

thread_local! {
    static PARSED_URLS: RefCell<LruCache<Box<str>, url::Url>> =
        RefCell::new(LruCache::new(NonZeroUsize::new(REMEMBERED_URLS).expect("non-zero")));
}

/// `url::Url::parse`, remembering the last [`REMEMBERED_URLS`] URLs parsed on this thread.
fn parse_url(text: &str) -> Result<url::Url, url::ParseError> {
    PARSED_URLS.with_borrow_mut(|parsed| {
        if let Some(url) = parsed.get(text) {
            return Ok(url.clone());
        }
        let url = url::Url::parse(text)?;
        parsed.put(text.into(), url.clone());
        Ok(url)
    })
}

#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl<'v> Checker {
    fn error(&mut self, path: impl std::fmt::Display, reason: impl Into<String>) {
        self.errors.push(FieldError::new(path.to_string(), reason));
    }

    /// The values of `names` in `obj`, found in one pass over its entries
    /// (the last of duplicate keys wins, as in `serde_json`); every other key
    /// is reported.
    fn fields<const N: usize>(
        &mut self,
        obj: &'v [Entry<'v>],
        parent: &str,
        names: &[&str; N],
    ) -> [Field<'v>; N] {
        let mut values = [None; N];
        for (key, value) in obj {
            match names.iter().position(|name| name == key) {
                Some(index) => values[index] = Some(value),
                None => self.error(
                    FieldPath(parent, key),
                    "is not a field of the event contract",
                ),
            }
        }
        values
    }

    /// The field's value; `null` counts as absent. Records a missing required field.
    fn present(&mut self, field: Field<'v>, path: &str, required: bool) -> Field<'v> {
        match field {
            Some(Json::Null) | None => {
                if required {
                    self.error(path, "is required");
                }
                None
            }
            value => value,
        }
    }

    fn text<'t>(
        &mut self,
        path: impl std::fmt::Display,
        value: &'t Json,
        max_chars: usize,
    ) -> Option<&'t str> {
        let Some(text) = value.as_str() else {
            self.error(path, format!("must be a string, not {}", value.type_name()));
            return None;
        };
        if text.contains('\0') {
            self.error(path, "must not contain NUL characters");
            return None;
        }
        // A string has at most as many characters as bytes: count only long ones.
        let chars = if text.len() <= max_chars {
            text.len()
        } else {
            text.chars().count()
        };
        if chars > max_chars {
            self.error(
                path,
                format!("is {chars} characters long, at most {max_chars} are allowed"),
            );
            return None;
        }
        Some(text)
    }

    /// The field's text, when present and a string within `max_chars`.
    fn present_text(
        &mut self,
        field: Field<'v>,
        path: &str,
        max_chars: usize,
        required: bool,
    ) -> Option<&'v str> {
        let value = self.present(field, path, required)?;
        self.text(path, value, max_chars)
    }

    fn string(
        &mut self,
        field: Field<'v>,
        path: &str,
        max_chars: usize,
        required: bool,
    ) -> Option<String> {
        let text = self.present_text(field, path, max_chars, required)?;
        if text.trim().is_empty() {
            self.error(path, "must not be empty");
            return None;
        }
        Some(text.to_owned())
    }

    /// `text` when it is a code of the list `is_code` knows; otherwise none,
    /// with `reason` at `path`.
    fn code(
        &mut self,
        text: Option<String>,
        path: &str,
        is_code: fn(&str) -> bool,
        reason: &str,
    ) -> Option<String> {
        let text = text?;
        if is_code(&text) {
            return Some(text);
        }
        self.error(path, reason);
        None
    }

    /// A required random (version 4) UUID, as `crypto.randomUUID()` makes.
    fn uuid(&mut self, field: Field<'v>, path: &str) -> Option<Uuid> {
        let text = self.present_text(field, path, 36, true)?;
        match Uuid::try_parse(text) {
            Ok(id) if id.get_version_num() != 4 => {
                self.error(path, "must be a version 4 UUID");
                None
            }
            Ok(id) => Some(id),
            Err(_) => {
                self.error(
                    path,
                    "must be a UUID like 2f1c3c5e-8d1a-4b7e-9c41-0a6f2b8e9d10",
                );
                None
            }
        }
    }

    fn timestamp(&mut self, field: Field<'v>, path: &str, required: bool) -> Option<DateTime<Utc>> {
        let text = self.present_text(field, path, 40, required)?;
        match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                self.error(
                    path,
                    "must be an RFC 3339 timestamp like 2026-11-26T05:16:54.123Z",
                );
                None
            }
        }
    }

    fn event_type(&mut self, field: Field<'v>) -> Option<EventType> {
        const PATH: &str = "$.event_type";
        let text = self.present_text(field, PATH, 32, true)?;
        let parsed = EventType::parse(text);
        if parsed.is_none() {
            let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            self.error(PATH, format!("must be one of {}", names.join(", ")));
        }
        parsed
    }

    fn url(&mut self, field: Field<'v>, path: &str, required: bool) -> Option<url::Url> {
        let text = self.present_text(field, path, MAX_URL_CHARS, required)?;
        if text.is_empty() && !required {
            return None;
        }
        match parse_url(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Some(u),
            _ => {
                self.error(path, "must be an absolute http(s) URL");
                None
            }
        }
    }

    /// The fields of an optional nested object.
    fn object<const N: usize>(
        &mut self,
        field: Field<'v>,
        path: &str,
        names: &[&str; N],
    ) -> Option<[Field<'v>; N]> {
        let value = self.present(field, path, false)?;
        let Some(inner) = value.as_object() else {
            self.error(
                path,
                format!("must be an object, not {}", value.type_name()),
            );
            return None;
        };
        Some(self.fields(inner, path, names))
    }

    fn device(&mut self, field: Field<'v>) -> Option<DeviceType> {
        let [device_type] = self.object(field, "$.device", &DEVICE_FIELDS)?;
        let name = self.string(device_type, "$.device.type", 16, false)?;
        let parsed = DeviceType::parse(&name);
        if parsed.is_none() {
            self.error("$.device.type", "must be one of mobile, desktop, tablet");
        }
        parsed
    }

    fn geo(&mut self, field: Field<'v>) -> (Option<String>, Option<String>) {
        let Some([country, city]) = self.object(field, "$.geo", &GEO_FIELDS) else {
            return (None, None);
        };
        let country = self.string(country, "$.geo.country", 2, false);
        let country = self.code(
            country,
            "$.geo.country",
            is_country_code,
            "must be an ISO 3166-1 alpha-2 code like VN",
        );
        let city = self.string(city, "$.geo.city", MAX_NAME_CHARS, false);
        (country, city)
    }

    fn ecom(&mut self, field: Field<'v>, event_type: Option<EventType>) -> Option<Ecom> {
        let required = event_type.map_or(&[][..], EventType::required_ecom_fields);
        let Some([product_id, category, currency, price, qty]) =
            self.object(field, "$.ecom", &ECOM_FIELDS)
        else {
            if matches!(field, None | Some(Json::Null)) {
                for name in required {
                    self.error(
                        format!("$.ecom.{name}"),
                        format!(
                            "is required for {} events",
                            event_type.map_or("", EventType::as_str)
                        ),
                    );
                }
            }
            return None;
        };
        let is_required = |name: &str| required.contains(&name);
        let product_id = self.string(
            product_id,
            "$.ecom.product_id",
            MAX_ID_CHARS,
            is_required("product_id"),
        );
        let category = self.string(category, "$.ecom.category", MAX_NAME_CHARS, false);
        let currency = self.string(currency, "$.ecom.currency", 3, is_required("currency"));
        let currency = self.code(
            currency,
            "$.ecom.currency",
            is_currency_code,
            "must be an ISO 4217 currency code like VND or USD",
        );
        let price = self
            .present(price, "$.ecom.price", is_required("price"))
            .and_then(|v| self.price(v));
        let qty = self
            .present(qty, "$.ecom.qty", is_required("qty"))
            .and_then(|v| self.qty(v));
        Some(Ecom {
            product_id,
            category,
            currency,
            price,
            qty,
        })
    }

    fn price(&mut self, value: &Json) -> Option<Decimal> {
        const PATH: &str = "$.ecom.price";
        let Json::Number(number) = value else {
            self.error(PATH, format!("must be a number, not {}", value.type_name()));
            return None;
        };
        let Some(price) = decimal(number) else {
            self.error(PATH, format!("must be at most {MAX_PRICE}"));
            return None;
        };
        if price.is_sign_negative() && !price.is_zero() {
            self.error(PATH, "must be >= 0");
        } else if price > Decimal::from(MAX_PRICE) {
            self.error(PATH, format!("must be at most {MAX_PRICE}"));
        } else if price.normalize().scale() > MAX_PRICE_SCALE {
            self.error(
                PATH,
                format!("must have at most {MAX_PRICE_SCALE} decimal places"),
            );
        } else {
            return Some(price.normalize());
        }
        None
    }

    fn qty(&mut self, value: &Json) -> Option<u32> {
        const PATH: &str = "$.ecom.qty";
        match value {
            Json::Number(n) => self.count(n, PATH, MAX_QTY).map(|qty| qty as u32),
            other => {
                self.error(PATH, format!("must be a number, not {}", other.type_name()));
                None
            }
        }
    }

    /// A whole number from 1 to `max`.
    fn count(&mut self, number: &serde_json::Number, path: &str, max: u64) -> Option<u64> {
        if !(number.is_i64() || number.is_u64()) {
            self.error(path, "must be a whole number");
            return None;
        }
        match number.as_i64() {
            Some(n) if n < 1 => self.error(path, "must be >= 1"),
            Some(n) if n as u64 <= max => return Some(n as u64),
            _ => self.error(path, format!("must be at most {max}")),
        }
        None
    }

    /// Where a product was shown: `props.list` names the list, `props.position`
    /// is its place in it from 1. Both optional, but the warehouse groups by them.
    fn list_placement(&mut self, props: &BTreeMap<String, PropValue>) {
        match props.get("list") {
            None | Some(PropValue::Null) => {}
            Some(PropValue::String(list)) if !list.trim().is_empty() => {}
            Some(_) => self.error(
                "$.props.list",
                "must be a non-empty string naming the list, like category:laptops",
            ),
        }
        match props.get("position") {
            None | Some(PropValue::Null) => {}
            Some(PropValue::Number(position)) => {
                self.count(position, "$.props.position", MAX_LIST_POSITION);
            }
            Some(_) => self.error(
                "$.props.position",
                "must be a whole number, the product's place in the list from 1",
            ),
        }
    }

    fn props(&mut self, field: Field<'v>) -> BTreeMap<String, PropValue> {
        let mut props = BTreeMap::new();
        let Some(value) = self.present(field, "$.props", false) else {
            return props;
        };
        let Some(entries) = value.as_object() else {
            self.error(
                "$.props",
                format!("must be an object, not {}", value.type_name()),
            );
            return props;
        };
        if entries.len() > MAX_PROPS {
            self.error(
                "$.props",
                format!(
                    "has {} entries, at most {MAX_PROPS} are allowed",
                    entries.len()
                ),
            );
            return props;
        }
        for (key, value) in entries {
            let path = FieldPath("$.props", key);
            if key.is_empty() || key.contains('\0') || key.chars().count() > MAX_PROP_KEY_CHARS {
                self.error(
                    path,
                    format!("keys must be 1 to {MAX_PROP_KEY_CHARS} characters without NUL"),
                );
                continue;
            }
            let kept = match value {
                Json::String(_) => self
                    .text(path, value, MAX_PROP_VALUE_CHARS)
                    .and_then(|_| value.to_scalar_value()),
                Json::Number(_) | Json::Bool(_) | Json::Null => value.to_scalar_value(),
                Json::Array(_) | Json::Object(_) => {
                    self.error(
                        path,
                        format!(
                            "must be a string, number, boolean or null (props are flat), not {}",
                            value.type_name()
                        ),
                    );
                    None
                }
            };
            if let Some(kept) = kept {
                props.insert(key.clone().into_owned(), kept);
            }
        }
        props
    }

    fn time_window(
        &mut self,
        ts: DateTime<Utc>,
        sent_at: Option<DateTime<Utc>>,
        received_at: DateTime<Utc>,
    ) {
        let corrected = corrected_ts(ts, sent_at, received_at);
        if corrected > received_at + Duration::seconds(MAX_FUTURE_SECS) {
            self.error(
                "$.ts",
                "is in the future, even after correcting the client clock",
            );
        } else if corrected < received_at - Duration::days(MAX_AGE_DAYS) {
            self.error("$.ts", format!("is more than {MAX_AGE_DAYS} days old"));
        }
    }
}

/// A JSON number as an exact decimal: integers directly, fractions through
/// their shortest decimal text (`19.99`, not the nearest binary fraction).
fn decimal(number: &serde_json::Number) -> Option<Decimal> {
    if let Some(whole) = number.as_i64() {
        return Some(Decimal::from(whole));
    }
    if let Some(whole) = number.as_u64() {
        return Some(Decimal::from(whole));
    }
    let text = number.to_string();
    Decimal::from_str_exact(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
}

fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// ISO 4217 active currency codes, sorted for binary search.
const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
];

fn is_currency_code(code: &str) -> bool {
    // Three-letter codes as numbers keep their order and compare without memcmp.
    let packed = |code: &str| code.bytes().fold(0u32, |n, b| n << 8 | u32::from(b));
    code.len() == 3
        && CURRENCIES
            .binary_search_by_key(&packed(code), |c| packed(c))
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_urls_are_what_a_fresh_parse_gives() {
        // More distinct texts than remembered, each asked for again later.
        let texts: Vec<String> = (0..REMEMBERED_URLS + 100)
            .map(|i| format!("https://Shop.example/p/{i}/../x?utm_source=a#{i}"))
            .chain(["not a url", "mailto:x@y.z", "https://", "http://[::1"].map(String::from))
            .collect();
        for _ in 0..2 {
            for text in texts.iter().chain(texts.iter().rev()) {
                assert_eq!(parse_url(text), url::Url::parse(text), "{text}");
            }
        }
    }

    #[test]
    fn currency_codes_are_sorted_and_found() {
        assert!(CURRENCIES.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(CURRENCIES.iter().all(|code| code.len() == 3));
        for code in CURRENCIES {
            assert!(is_currency_code(code), "{code}");
        }
        for code in ["", "vnd", "VN", "VNDX", "XXX", "AAA", "ZZZ"] {
            assert!(!is_currency_code(code), "{code:?}");
        }
    }
}
