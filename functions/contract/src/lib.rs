//! The SBW event contract, shared by the ingest and ETL functions: typed
//! events and their documented [`limits`], [`validate`]ion with a field path
//! and reason for every problem, server-side [`enrich`]ment, [`pii`] handling,
//! the raw store's key layout ([`rawkey`]), the operational snapshot the
//! ETL records for the dashboard ([`ops`]), and the ETL function's input and
//! run summary ([`etl_run`]).
//!
//! `schema/event.schema.json` describes the same event for the SDK and the docs;
//! a test keeps the two in agreement.

pub mod enrich;
pub mod etl_run;
pub mod event;
pub mod json;
pub mod limits;
pub mod ops;
pub mod pii;
pub mod rawkey;
pub mod time_format;
pub mod validate;

pub use enrich::{enrich, RequestMeta};
pub use event::{DeviceType, Ecom, Event, EventType, FieldError, RejectedEvent, StoredEvent};
pub use json::Json;
pub use pii::{BatchHasher, IdentifierHasher};
pub use validate::{parse_batch, validate_event, BatchError};
