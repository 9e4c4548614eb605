//! The function's own metric: a request whose events the raw store refused
//! (they went to the dead-letter queue, or back to the client as a 503), as
//! an Embedded Metric Format line on stdout ([`sbw_aws::emf`]). The storage
//! failures alarm watches it; AWS/Lambda's Errors does not see these
//! requests, which the function answers.

use serde_json::{json, Map};

/// Where the metric goes: the namespace and the deployment's dimension value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    pub namespace: String,
    pub deployment: String,
}

impl Metrics {
    /// The EMF line of one failed raw store write; `dead_lettered` says
    /// whether the events reached the dead-letter queue.
    pub fn storage_failure(&self, dead_lettered: bool) -> String {
        let mut properties = Map::new();
        properties.insert("DeadLettered".to_owned(), json!(dead_lettered));
        sbw_aws::emf::line(
            &self.namespace,
            &self.deployment,
            &[(sbw_names::metric::INGEST_STORAGE_FAILURES, "Count", 1.0)],
            properties,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_failure_counts_one_under_the_deployment() {
        let metrics = Metrics {
            namespace: "SBW".to_owned(),
            deployment: "shop-dev".to_owned(),
        };
        let doc: serde_json::Value = serde_json::from_str(&metrics.storage_failure(false)).unwrap();
        assert_eq!(doc[sbw_names::metric::INGEST_STORAGE_FAILURES], 1.0);
        assert_eq!(doc["Deployment"], "shop-dev");
        assert_eq!(doc["DeadLettered"], false);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            sbw_names::metric::INGEST_STORAGE_FAILURES
        );
    }
}
