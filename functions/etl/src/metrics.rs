//! The run's CloudWatch metrics as one Embedded Metric Format log line: the
//! Lambda runs in a VPC without a CloudWatch endpoint, and CloudWatch Logs
//! turns the line into metrics.

use serde_json::{json, Map, Value};

use crate::summary::RunSummary;

/// The metric the freshness alarm watches.
pub const FRESHNESS_METRIC: &str = "DWFreshnessMinutes";

/// One EMF document: `namespace`, dimension `Deployment`, the run's figures.
/// Freshness is left out while nothing was ever loaded (there is no age yet).
pub fn emf_line(
    summary: &RunSummary,
    namespace: &str,
    deployment: &str,
    duration_seconds: f64,
) -> String {
    let figures: [(&str, &str, Option<f64>); 6] = [
        (FRESHNESS_METRIC, "None", summary.freshness_minutes),
        ("EventsLoaded", "Count", Some(summary.events_loaded as f64)),
        (
            "RejectedLines",
            "Count",
            Some(summary.rejected_lines as f64),
        ),
        (
            "QuarantinedObjects",
            "Count",
            Some(summary.objects_quarantined as f64),
        ),
        ("DuplicateEvents", "Count", Some(summary.duplicates as f64)),
        ("RunDurationSeconds", "Seconds", Some(duration_seconds)),
    ];
    let mut document = Map::new();
    let mut definitions = Vec::new();
    for (name, unit, value) in figures {
        if let Some(value) = value {
            definitions.push(json!({"Name": name, "Unit": unit}));
            document.insert(name.to_owned(), json!(value));
        }
    }
    document.insert("Deployment".to_owned(), json!(deployment));
    document.insert("RunStatus".to_owned(), json!(summary.status));
    document.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Deployment"]],
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(document).to_string()
}
