//! The ingest function. [`handler::Ingest`] turns one HTTP request into
//! stored events; [`lambda`] adapts it to API Gateway HTTP API events and
//! `local` (feature `local-server`) to a plain HTTP server for `sbwctl dev ingest`,
//! which also writes the operational snapshot (`ops_snapshot`).
//!
//! Request flow: [`front_door`] (the origin secret CloudFront adds) -> route
//! and method -> [`access`] (site key, Origin, JWT
//! subject) -> [`body`] (content type, gzip, size) -> contract validation and
//! enrichment -> [`store`] (one NDJSON.gz object per request), or the
//! [`dead_letter`] queue when the store fails, counted by [`metrics`].

pub mod access;
pub mod body;
pub mod dead_letter;
pub mod front_door;
pub mod handler;
pub mod lambda;
#[cfg(feature = "local-server")]
pub mod local;
pub mod metrics;
pub mod ndjson;
#[cfg(feature = "local-server")]
mod ops_snapshot;
pub mod recent;
pub mod request;
pub mod store;

pub use handler::Ingest;

/// The allocator binaries serving the handler should install: the handler
/// makes many small short-lived allocations per event, where glibc's malloc
/// spends a quarter of the request's CPU.
pub type Allocator = mimalloc::MiMalloc;
pub use request::{IngestRequest, IngestResponse};
