//! Typed events: [`Event`] is what a client sent, once validated;
//! [`StoredEvent`] is one NDJSON line of the raw store, the ETL's input.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Version of the [`StoredEvent`] layout, written on every line.
pub const STORED_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    PageView,
    View,
    /// One product shown in a list (`props.list`, `props.position`); with the
    /// `click`s that carry the same product, the list's click-through rate.
    Impression,
    Click,
    Search,
    AddToCart,
    Checkout,
    Purchase,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::PageView,
        EventType::View,
        EventType::Impression,
        EventType::Click,
        EventType::Search,
        EventType::AddToCart,
        EventType::Checkout,
        EventType::Purchase,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PageView => "page_view",
            EventType::View => "view",
            EventType::Impression => "impression",
            EventType::Click => "click",
            EventType::Search => "search",
            EventType::AddToCart => "add_to_cart",
            EventType::Checkout => "checkout",
            EventType::Purchase => "purchase",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The `ecom` fields this event type must carry.
    pub fn required_ecom_fields(self) -> &'static [&'static str] {
        match self {
            EventType::View | EventType::Impression => &["product_id"],
            EventType::AddToCart => &["product_id", "price", "qty"],
            EventType::Purchase => &["product_id", "currency", "price", "qty"],
            _ => &[],
        }
    }

    /// Whether an event of this type with this `ecom` is about a product in a
    /// list: an impression, or a click on a product (a `click` with
    /// `ecom.product_id`; other clicks are banners, buttons...). Such events
    /// say where the product was with `props.list` and `props.position`.
    pub fn is_product_in_list(self, ecom: Option<&Ecom>) -> bool {
        match self {
            EventType::Impression => true,
            EventType::Click => ecom.is_some_and(|ecom| ecom.product_id.is_some()),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    Mobile,
    Desktop,
    Tablet,
}

impl DeviceType {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Mobile => "mobile",
            DeviceType::Desktop => "desktop",
            DeviceType::Tablet => "tablet",
        }
    }

    pub fn parse(name: &str) -> Option<DeviceType> {
        [DeviceType::Mobile, DeviceType::Desktop, DeviceType::Tablet]
            .into_iter()
            .find(|d| d.as_str() == name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ecom {
    pub product_id: Option<String>,
    pub category: Option<String>,
    pub currency: Option<String>,
    pub price: Option<Decimal>,
    pub qty: Option<u32>,
}

/// A `props` value: props are flat, so only scalars.
pub type PropValue = serde_json::Value;

/// An event as the client sent it, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: Uuid,
    pub ts: DateTime<Utc>,
    /// When the client sent the request; with the receive time it gives the clock skew.
    pub sent_at: Option<DateTime<Utc>>,
    pub event_type: EventType,
    pub session_id: Uuid,
    pub user_id: Option<String>,
    pub anonymous_id: String,
    pub page_url: url::Url,
    pub referrer: Option<url::Url>,
    pub device_type: Option<DeviceType>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub ecom: Option<Ecom>,
    pub props: BTreeMap<String, PropValue>,
}

/// Device facts: the client's `device.type` (or one derived from the user
/// agent) and the families parsed from the user agent, which is not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDevice {
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub family: Option<String>,
    pub bot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGeo {
    pub country: Option<String>,
    pub city: Option<String>,
}

/// One line of an `events-*.ndjson.gz` object: enriched, PII-free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredEvent {
    pub schema_version: u32,
    pub event_id: Uuid,
    pub event_type: EventType,
    /// Event time corrected by the client clock skew (UTC).
    #[serde(with = "crate::time_format")]
    pub ts: DateTime<Utc>,
    /// Event time as the client stamped it.
    #[serde(with = "crate::time_format")]
    pub client_ts: DateTime<Utc>,
    #[serde(with = "crate::time_format")]
    pub received_at: DateTime<Utc>,
    /// `received_at - sent_at` in milliseconds, when the client sent `sent_at`.
    pub clock_skew_ms: Option<i64>,
    pub session_id: Uuid,
    pub anonymous_id_hash: String,
    /// The signed-in user: the verified JWT `sub`, hashed. Only the signed-in
    /// route sets it, so it is the only identity the dashboards count.
    pub user_id_hash: Option<String>,
    /// A `user_id` the client claimed on the anonymous route, hashed in its
    /// own namespace so that it never equals a verified user's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_user_id_hash: Option<String>,
    pub page_url: String,
    pub referrer: Option<String>,
    pub device: StoredDevice,
    pub geo: StoredGeo,
    pub ecom: Option<Ecom>,
    pub props: BTreeMap<String, PropValue>,
    pub request_id: String,
}

/// One problem with one field of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSONPath-style location inside the event, `$` for the event itself.
    pub path: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// One line of a `rejects-*.ndjson.gz` object: why an event was refused,
/// without the event's content, so no PII can reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedEvent {
    #[serde(with = "crate::time_format")]
    pub received_at: DateTime<Utc>,
    pub request_id: String,
    pub index: usize,
    pub event_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub errors: Vec<FieldError>,
}
