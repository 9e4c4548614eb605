//! The documented limits of the event contract. The SDK, the JSON Schema
//! (`schema/event.schema.json`) and the docs state the same numbers.

/// Largest request body accepted, after gzip decoding (bytes).
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// Most events in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 500;
/// Longest `page_url` and `referrer` (characters).
pub const MAX_URL_CHARS: usize = 2048;
/// Longest identifier: `anonymous_id`, `user_id`, `ecom.product_id` (characters).
pub const MAX_ID_CHARS: usize = 128;
/// Longest `ecom.category` and `geo.city` (characters).
pub const MAX_NAME_CHARS: usize = 64;
/// Most entries in `props`.
pub const MAX_PROPS: usize = 32;
/// Longest key in `props` (characters).
pub const MAX_PROP_KEY_CHARS: usize = 64;
/// Longest string value in `props` (characters).
pub const MAX_PROP_VALUE_CHARS: usize = 512;
/// Largest `ecom.price`.
pub const MAX_PRICE: i64 = 1_000_000_000;
/// Most decimal places in `ecom.price`.
pub const MAX_PRICE_SCALE: u32 = 4;
/// Largest `ecom.qty`.
pub const MAX_QTY: u64 = 10_000;
/// Largest `props.position` of an impression or a product click (1-based).
pub const MAX_LIST_POSITION: u64 = 10_000;
/// How far after the receive time an event may be stamped, after clock-skew
/// correction (seconds).
pub const MAX_FUTURE_SECS: i64 = 5 * 60;
/// How long before the receive time an event may be stamped, after clock-skew
/// correction (days). The SDK's offline queue replays old events; older ones
/// are rejected rather than silently landing in closed partitions.
pub const MAX_AGE_DAYS: i64 = 30;
