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
pub mod lambda;
pub mod listing;
pub mod metrics;
pub mod migrate;
pub mod ops_history;
pub mod ops_snapshot;
pub mod run;
pub mod settings;
pub mod warehouse;

pub use run::{rebuild_rollups, run, EtlError, RollupRebuild, RunOptions};
// The types of `run`'s signature, where they are defined.
pub use sbw_contract::etl_run::{RunRequest, RunStatus, RunSummary, Trigger, LAST_RUN_KEY};
pub use sbw_rawstore::RawStore;
pub use settings::ShopSettings;
