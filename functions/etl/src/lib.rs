//! The ETL: raw NDJSON.gz objects -> the PostgreSQL warehouse, exactly once.
//!
//! A run lists the raw store's hour partitions since the watermark (re-listing
//! a trailing window for late writes), decodes and re-validates every line,
//! loads new events and the object manifest in one transaction per batch,
//! rebuilds the sessions and rollups the new rows touched, records the run,
//! and reports freshness. The Lambda (`bin/etl.rs`) and `sbwctl etl run`
//! call the same [`run::run`].

pub mod summary;
