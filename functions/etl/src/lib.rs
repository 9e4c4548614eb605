//! The ETL: raw NDJSON.gz objects -> the PostgreSQL warehouse, exactly once.
//!
//! A run lists the raw store's hour partitions since the watermark (re-listing
//! a trailing window for late writes) one hour window at a time, within a
//! time budget, decodes and re-validates every line within memory limits,
//! loads new events and the object manifest in one transaction per batch,
//! rebuilds the sessions and rollups the new rows touched, records the run,
//! and reports freshness. The Lambda (`bin/etl.rs`) and `sbwctl etl run`
//! call the same [`run::run`].

pub mod attribution;
pub mod db;
pub mod decode;
pub mod lambda;
pub mod listing;
pub mod metrics;
pub mod migrate;
pub mod ops_history;
pub mod ops_snapshot;
pub mod run;
pub mod settings;
pub mod source;
pub mod summary;
pub mod warehouse;

pub use run::{rebuild_rollups, run, EtlError, RollupRebuild, RunOptions, RunRequest, Trigger};
pub use settings::ShopSettings;
pub use source::RawSource;
pub use summary::{RunStatus, RunSummary, LAST_RUN_KEY};
