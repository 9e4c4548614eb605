//! The run's CloudWatch metrics as one Embedded Metric Format log line
//! ([`sbw_aws::emf`]): the Lambda runs in a VPC without a CloudWatch
//! endpoint, and CloudWatch Logs turns the line into metrics.

use serde_json::{json, Map};

use sbw_contract::etl_run::RunSummary;

/// One EMF document: `namespace`, dimension `Deployment`, the run's figures.
/// Freshness is left out while nothing was ever loaded (there is no age yet).
pub fn emf_line(
    summary: &RunSummary,
    namespace: &str,
    deployment: &str,
    duration_seconds: f64,
) -> String {
    let figures: Vec<sbw_aws::emf::Figure> = [
        (
            sbw_names::metric::FRESHNESS,
            "None",
            summary.freshness_minutes,
        ),
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
    ]
    .into_iter()
    .filter_map(|(name, unit, value)| Some((name, unit, value?)))
    .collect();
    let mut properties = Map::new();
    properties.insert("RunStatus".to_owned(), json!(summary.status));
    sbw_aws::emf::line(namespace, deployment, &figures, properties)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use sbw_contract::etl_run::RunStatus;

    fn summary(freshness: Option<f64>) -> RunSummary {
        RunSummary {
            run_id: Some(3),
            trigger: "schedule".into(),
            status: RunStatus::Succeeded,
            started_at: "2026-11-20T08:00:00.000Z".into(),
            finished_at: "2026-11-20T08:00:05.000Z".into(),
            objects_loaded: 4,
            objects_quarantined: 1,
            events_loaded: 100,
            duplicates: 2,
            rejected_lines: 3,
            sessions_rebuilt: 9,
            loaded_through: None,
            freshness_minutes: freshness,
            newest_event_received_at: None,
            error: None,
        }
    }

    #[test]
    fn one_emf_document_with_every_figure_under_the_deployment_dimension() {
        let line = emf_line(&summary(Some(12.5)), "SBW", "sbw-shop-dev", 5.0);
        assert!(!line.contains('\n'));
        let doc: Value = serde_json::from_str(&line).unwrap();
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "SBW");
        assert_eq!(directive["Dimensions"], json!([["Deployment"]]));
        assert_eq!(doc["Deployment"], "sbw-shop-dev");
        assert_eq!(doc[sbw_names::metric::FRESHNESS], 12.5);
        assert_eq!(doc["EventsLoaded"], 100.0);
        assert_eq!(doc["RejectedLines"], 3.0);
        assert_eq!(doc["QuarantinedObjects"], 1.0);
        assert_eq!(doc["RunDurationSeconds"], 5.0);
        // Every metric named in the directive has a value in the document.
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(
                doc[metric["Name"].as_str().unwrap()].is_number(),
                "{metric}"
            );
        }
        assert!(doc["_aws"]["Timestamp"].as_i64().unwrap() > 0);
    }

    #[test]
    fn no_freshness_before_anything_was_loaded() {
        let doc: Value = serde_json::from_str(&emf_line(&summary(None), "SBW", "d", 1.0)).unwrap();
        assert!(doc.get(sbw_names::metric::FRESHNESS).is_none());
        let names = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
        assert!(!names.contains(sbw_names::metric::FRESHNESS));
    }
}
