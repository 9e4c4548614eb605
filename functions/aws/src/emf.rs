//! The functions' CloudWatch metrics as Embedded Metric Format documents:
//! one JSON line on stdout, which CloudWatch Logs turns into metrics. No
//! PutMetricData call: the ETL runs in a VPC without a CloudWatch endpoint,
//! and the ingest function would pay a round trip inside a request.

use serde_json::{json, Map, Value};

use sbw_names::metric::DEPLOYMENT_DIMENSION;

/// One metric value: name, CloudWatch unit, value.
pub type Figure<'a> = (&'a str, &'a str, f64);

/// One EMF document of `figures` under `namespace` and the `Deployment`
/// dimension; `properties` are logged beside them, not made metrics.
pub fn line(
    namespace: &str,
    deployment: &str,
    figures: &[Figure],
    properties: Map<String, Value>,
) -> String {
    let mut document = properties;
    let definitions: Vec<Value> = figures
        .iter()
        .map(|(name, unit, value)| {
            document.insert((*name).to_owned(), json!(value));
            json!({"Name": name, "Unit": unit})
        })
        .collect();
    document.insert(DEPLOYMENT_DIMENSION.to_owned(), json!(deployment));
    let timestamp_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    document.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[DEPLOYMENT_DIMENSION]],
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(document).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_figure_is_declared_and_valued_under_the_deployment_dimension() {
        let mut properties = Map::new();
        properties.insert("RunStatus".to_owned(), json!("succeeded"));
        let text = line(
            "SBW",
            "shop-dev",
            &[("A", "Count", 2.0), ("B", "Seconds", 0.5)],
            properties,
        );
        assert!(!text.contains('\n'));
        let doc: Value = serde_json::from_str(&text).unwrap();
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "SBW");
        assert_eq!(directive["Dimensions"], json!([["Deployment"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "A", "Unit": "Count"}, {"Name": "B", "Unit": "Seconds"}])
        );
        assert_eq!(
            (doc["A"].as_f64(), doc["B"].as_f64()),
            (Some(2.0), Some(0.5))
        );
        assert_eq!(doc["Deployment"], "shop-dev");
        assert_eq!(doc["RunStatus"], "succeeded");
        assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }
}
