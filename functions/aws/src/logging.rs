//! The functions' structured JSON logs: one object per line on stdout (where
//! Lambda collects them), level from `RUST_LOG` (default info).

use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::Filter;
use tracing_subscriber::prelude::*;

/// Targets silenced at every level, whatever `RUST_LOG` asks for:
/// tokio-postgres logs each statement's bound parameters at debug
/// (`executing statement … with parameters: […]`), which would put event
/// contents, hashed identifiers and settings in the logs.
const SILENCED_TARGETS: &[&str] = &["tokio_postgres::query"];

/// Passes everything but the [`SILENCED_TARGETS`]; for every subscriber that
/// may see the warehouse connection's logs (the functions and `sbwctl`).
pub fn without_bound_values<S>() -> impl Filter<S> {
    filter_fn(|metadata| {
        !SILENCED_TARGETS
            .iter()
            .any(|silenced| metadata.target().starts_with(silenced))
    })
}

pub fn init_json() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_writer(std::io::stdout)
        .with_filter(filter)
        .with_filter(without_bound_values());
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
