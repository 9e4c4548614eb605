//! What the ETL function is asked to do and what it reports: the Lambda's
//! input ([`RunRequest`]), which `sbwctl etl invoke` and backfills send, and
//! the run summary it writes to `_etl/last-run.json` in the raw store, so
//! `sbwctl status` can tell how fresh the warehouse is without reaching the
//! database.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
    Backfill,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Backfill => "backfill",
        }
    }
}

/// What to load: everything new since the watermark, or a backfill of the
/// receive hours from `from` to `to` (both included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRequest {
    Incremental(Trigger),
    Backfill {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

impl RunRequest {
    pub fn trigger(&self) -> Trigger {
        match self {
            RunRequest::Incremental(trigger) => *trigger,
            RunRequest::Backfill { .. } => Trigger::Backfill,
        }
    }
}

/// The Lambda's input: the schedule's `{"trigger": "schedule"}`, an
/// EventBridge scheduled event as is, `{"trigger": "manual"}`, or a
/// backfill `{"from": "...", "to": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Invocation {
    Backfill {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    Named {
        trigger: String,
    },
    Scheduled {
        #[serde(rename = "detail-type")]
        detail_type: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(
        "the input is not an ETL request: expected {{\"trigger\": \"schedule\"|\"manual\"}}, \
         an EventBridge scheduled event, or {{\"from\": RFC 3339, \"to\": RFC 3339}} ({0})"
    )]
    Shape(String),
    #[error("unknown trigger {0:?}: use \"schedule\" or \"manual\"")]
    Trigger(String),
    #[error("a backfill needs from <= to (got {from} > {to})")]
    Range { from: String, to: String },
    #[error(
        "a backfill spans at most {MAX_BACKFILL_DAYS} days (got {days} days from {from} to {to}); \
         split it into several"
    )]
    TooLong { from: String, to: String, days: i64 },
}

/// The longest backfill one request may ask for: a year, leap day included.
/// Longer ranges are a typo (a wrong year) more often than a plan, and one
/// request of them would list and hold more than a run can finish.
pub const MAX_BACKFILL_DAYS: i64 = 366;

impl RunRequest {
    pub fn from_json(input: &serde_json::Value) -> Result<RunRequest, RequestError> {
        let invocation: Invocation = serde_json::from_value(input.clone())
            .map_err(|e| RequestError::Shape(e.to_string()))?;
        match invocation {
            Invocation::Backfill { from, to } => RunRequest::backfill(from, to),
            Invocation::Named { trigger } => match trigger.as_str() {
                "schedule" => Ok(RunRequest::Incremental(Trigger::Schedule)),
                "manual" => Ok(RunRequest::Incremental(Trigger::Manual)),
                _ => Err(RequestError::Trigger(trigger)),
            },
            Invocation::Scheduled { detail_type } if detail_type == "Scheduled Event" => {
                Ok(RunRequest::Incremental(Trigger::Schedule))
            }
            Invocation::Scheduled { detail_type } => Err(RequestError::Shape(format!(
                "detail-type {detail_type:?} is not \"Scheduled Event\""
            ))),
        }
    }

    /// The Lambda input that [`RunRequest::from_json`] reads back as this
    /// request (what `sbwctl etl invoke` and `etl backfill --remote` send).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            RunRequest::Incremental(trigger) => serde_json::json!({"trigger": trigger.as_str()}),
            RunRequest::Backfill { from, to } => {
                serde_json::json!({"from": rfc3339(*from), "to": rfc3339(*to)})
            }
        }
    }

    pub fn backfill(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<RunRequest, RequestError> {
        if from > to {
            return Err(RequestError::Range {
                from: rfc3339(from),
                to: rfc3339(to),
            });
        }
        if to - from > Duration::days(MAX_BACKFILL_DAYS) {
            return Err(RequestError::TooLong {
                from: rfc3339(from),
                to: rfc3339(to),
                days: (to - from).num_days(),
            });
        }
        Ok(RunRequest::Backfill { from, to })
    }
}

/// Times in requests and summaries: RFC 3339, UTC, milliseconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn lambda_inputs() {
        let parse = |v: serde_json::Value| RunRequest::from_json(&v);
        assert_eq!(
            parse(json!({"trigger": "schedule"})).unwrap(),
            RunRequest::Incremental(Trigger::Schedule)
        );
        assert_eq!(
            parse(json!({"trigger": "manual"})).unwrap(),
            RunRequest::Incremental(Trigger::Manual)
        );
        let scheduled = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event",
                               "source": "aws.events", "time": "2026-11-20T08:00:00Z", "detail": {}});
        assert_eq!(
            parse(scheduled).unwrap(),
            RunRequest::Incremental(Trigger::Schedule)
        );
        assert_eq!(
            parse(json!({"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T05:00:00Z"})).unwrap(),
            RunRequest::Backfill {
                from: t("2026-11-01T00:00:00Z"),
                to: t("2026-11-02T05:00:00Z")
            }
        );
    }

    #[test]
    fn requests_survive_the_trip_through_the_lambda_input() {
        let requests = [
            RunRequest::Incremental(Trigger::Manual),
            RunRequest::Incremental(Trigger::Schedule),
            RunRequest::backfill(t("2026-11-01T00:00:00Z"), t("2026-11-02T05:00:00Z")).unwrap(),
        ];
        for request in requests {
            assert_eq!(RunRequest::from_json(&request.to_json()).unwrap(), request);
        }
    }

    #[test]
    fn bad_lambda_inputs_say_what_is_expected() {
        let error = |v: serde_json::Value| RunRequest::from_json(&v).unwrap_err().to_string();
        assert!(error(json!({"trigger": "nightly"})).contains("unknown trigger \"nightly\""));
        assert!(
            error(json!({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}))
                .contains("from <= to")
        );
        assert!(
            error(json!({"from": "yesterday", "to": "2026-11-01T00:00:00Z"}))
                .contains("not an ETL request")
        );
        assert!(error(json!([1, 2])).contains("not an ETL request"));
        let year_and_a_day =
            error(json!({"from": "2025-11-01T00:00:00Z", "to": "2026-11-02T00:00:01Z"}));
        assert!(
            year_and_a_day.contains("at most 366 days (got 366 days"),
            "{year_and_a_day}"
        );
        assert!(error(json!({"detail-type": "Object Created"})).contains("Scheduled Event"));
    }

    #[test]
    fn a_backfill_may_span_a_leap_year_and_no_more() {
        let from = t("2027-11-01T00:00:00Z");
        assert!(RunRequest::backfill(from, from + Duration::days(366)).is_ok());
        let error = RunRequest::backfill(from, from + Duration::days(366) + Duration::hours(1))
            .unwrap_err();
        assert!(
            matches!(error, RequestError::TooLong { days: 366, .. }),
            "{error}"
        );
    }
}
