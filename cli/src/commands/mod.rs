//! One module per command group.

pub mod alarms;
pub mod alerts;
mod aws;
pub mod bootstrap;
pub mod build;
pub mod cost;
pub mod deploy;
pub mod destroy;
pub mod dev;
pub mod dlq;
pub mod etl;
mod etl_remote;
pub mod logs;
pub mod policy;
pub mod render;
pub mod rotate;
pub mod runbook;
pub mod shell;
pub mod snapshot;
pub mod status;
pub mod validate;

/// Log lines on stderr: warnings by default, progress (the ETL's one line
/// per batch) with RUST_LOG=info.
fn log_to_stderr() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter)
        .with_filter(sbw_aws::logging::without_bound_values());
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
