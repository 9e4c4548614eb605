//! The ingest function. [`handler::Ingest`] turns one HTTP request into
//! stored events; [`lambda`] adapts it to API Gateway HTTP API events and
//! `local` (feature `local-server`) to a plain HTTP server for `sbwctl dev ingest`,
//! which also writes the operational snapshot (`ops_snapshot`).
//!
//! Request flow: [`front_door`] (the origin secret CloudFront adds) -> route
//! and method -> [`access`] (site key, Origin, JWT
//! subject) -> [`body`] (content type, gzip, size) -> contract validation and
//! enrichment -> the raw store (`sbw_rawstore`: one NDJSON.gz object per request), or the
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
#[cfg(feature = "local-server")]
mod ops_snapshot;
pub mod recent;
pub mod request;

pub use handler::Ingest;
pub use request::{IngestRequest, IngestResponse};
