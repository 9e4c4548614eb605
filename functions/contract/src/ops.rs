//! The operational snapshot: how the front door and the dead-letter queue
//! fared over the last hour, written beside the raw events so the ETL can
//! record it in the warehouse and the dashboard needs no AWS credentials.
//!
//! In AWS a small function outside the VPC reads CloudWatch and SQS and
//! writes it; on one machine the dev ingest server writes it from its own
//! counters and its dead-letter directory. The ETL reads the latest one at
//! each run, whichever wrote it.

use serde::{Deserialize, Serialize};

/// Where the latest snapshot lives, relative to the raw store root.
pub const OPS_SNAPSHOT_KEY: &str = "_ops/snapshot.json";

/// How long a window the ingest counts cover.
pub const OPS_WINDOW_MINUTES: u32 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpsSource {
    /// CloudWatch metrics of the HTTP API and the dead-letter queue.
    Aws,
    /// The dev ingest server's own counters and dead-letter directory.
    Local,
}

/// Ingest requests answered in the window `[taken_at - window_minutes, taken_at)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestCounts {
    pub requests: u64,
    /// 4xx answers: bad input, auth, throttling (429).
    pub client_errors: u64,
    /// 5xx answers: storage failures (the events went to the dead-letter queue).
    pub server_errors: u64,
}

/// What waits in the dead-letter queue (or directory) at `taken_at`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetters {
    pub messages: u64,
    /// Age of the oldest message; absent when the queue is empty or unknown.
    pub oldest_age_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsSnapshot {
    pub source: OpsSource,
    /// RFC 3339 UTC.
    pub taken_at: String,
    pub window_minutes: u32,
    pub ingest: IngestCounts,
    pub dead_letters: DeadLetters,
}
