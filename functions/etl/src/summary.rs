//! The run summary the ETL writes to `_etl/last-run.json` in the raw bucket
//! (or the raw directory), so `sbwctl status` can tell how fresh the
//! warehouse is without reaching the database.

use serde::{Deserialize, Serialize};

/// Where the summary of the latest run lives, relative to the raw store root.
pub const LAST_RUN_KEY: &str = "_etl/last-run.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    /// Stopped at its time budget with hours left to list; what it loaded
    /// is committed and its watermark recorded, the next run goes on.
    Partial,
    Failed,
    /// Another run held the lock; this one loaded nothing and left.
    Skipped,
}

impl RunStatus {
    /// The name in `etl_runs.status` and in the summary document.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
        }
    }
}

/// What one ETL run did. Times are RFC 3339 UTC strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// `etl_runs.run_id`; absent when the run never reached the database.
    pub run_id: Option<i64>,
    /// `schedule`, `manual` or `backfill`.
    pub trigger: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: String,
    pub objects_loaded: u64,
    pub objects_quarantined: u64,
    pub events_loaded: u64,
    pub duplicates: u64,
    pub rejected_lines: u64,
    pub sessions_rebuilt: u64,
    /// Every event received before this time is in the warehouse: the
    /// start of the latest successful listing (absent before the first one).
    pub loaded_through: Option<String>,
    /// Minutes from `loaded_through` to the end of this run: what the
    /// `DWFreshnessMinutes` metric reports. It grows while runs fail.
    pub freshness_minutes: Option<f64>,
    /// `received_at` of the newest event in the warehouse.
    pub newest_event_received_at: Option<String>,
    pub error: Option<String>,
}
