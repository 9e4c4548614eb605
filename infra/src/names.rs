//! The names the templates and `sbwctl` share: stack outputs it reads,
//! metric namespaces and names and the Lambdas' environment variables (both
//! defined in `sbw-names`, which the functions link), alarm names and their
//! runbooks. Templates see them as `names.*`; rendering is
//! strict, so a template that uses a name not defined here fails to render
//! (a test, not a deploy, finds the typo).

use std::collections::BTreeMap;

use minijinja::Value;

/// Stack outputs `sbwctl` reads.
pub mod output {
    pub const RAW_BUCKET_NAME: &str = "RawBucketName";
    pub const DEAD_LETTER_QUEUE_URL: &str = "DeadLetterQueueUrl";
    pub const DEAD_LETTER_QUEUE_NAME: &str = "DeadLetterQueueName";
    pub const FUNCTION_NAME: &str = "FunctionName";
    pub const ALARM_TOPIC_ARN: &str = "AlarmTopicArn";
}

pub use sbw_names::{env, metric, origin_secret};

/// Every alarm the observability stack can create (`<prefix>-<Name>`) and
/// the runbook that answers it (`runbooks/<runbook>.md`).
pub const ALARMS: &[(&str, &str)] = &[
    ("IngestErrors", "ingest-errors"),
    ("IngestThrottles", "ingest-throttles"),
    ("Api5xx", "api-5xx"),
    ("ApiLatency", "api-latency"),
    ("IngestStorageFailures", "ingest-storage-failures"),
    ("DeadLetters", "dlq"),
    ("DeadLetterAge", "dlq-age"),
    ("EtlErrors", "etl-failed"),
    ("EtlNearTimeout", "etl-slow"),
    ("EtlScheduleFailed", "etl-schedule-failed"),
    ("WarehouseFreshness", "freshness"),
    ("WarehouseStatus", "warehouse-down"),
    ("DashboardUnhealthy", "dashboard-down"),
    ("DashboardHeartbeat", "dashboard-heartbeat"),
];

/// The runbook of the budget's alerts.
pub const BUDGET_RUNBOOK: &str = "cost-guardrails";

/// What every alarm name of a deployment starts with.
pub fn alarm_prefix(prefix: &str) -> String {
    format!("{prefix}-")
}

/// The AWS Budgets budget of a deployment.
pub fn budget_name(prefix: &str) -> String {
    format!("{prefix}-monthly")
}

/// The runbook of alarm `name` (without the deployment prefix).
pub fn runbook(name: &str) -> Option<&'static str> {
    ALARMS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// `names` as the templates see it: `names.output.RawBucketName`,
/// `names.metric.namespace`, `names.env.SBW_RAW_BUCKET`, `names.header.origin_secret`,
/// `names.alarm.IngestErrors` (the name) and `names.runbook.IngestErrors`.
pub fn template_names() -> Value {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let same = |names: &[&str]| -> BTreeMap<String, String> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), (*n).to_owned()))
            .collect()
    };
    let alarms: Vec<&str> = ALARMS.iter().map(|(name, _)| *name).collect();
    minijinja::context! {
        output => same(&[
            output::RAW_BUCKET_NAME,
            output::DEAD_LETTER_QUEUE_URL,
            output::DEAD_LETTER_QUEUE_NAME,
            output::FUNCTION_NAME,
            output::ALARM_TOPIC_ARN,
        ]),
        metric => map(&[
            ("namespace", metric::NAMESPACE),
            ("deployment_dimension", metric::DEPLOYMENT_DIMENSION),
            ("freshness", metric::FRESHNESS),
            ("ingest_storage_failures", metric::INGEST_STORAGE_FAILURES),
            ("dashboard_heartbeat", metric::DASHBOARD_HEARTBEAT),
        ]),
        env => same(env::ALL),
        header => map(&[("origin_secret", origin_secret::HEADER)]),
        alarm => same(&alarms),
        runbook => map(ALARMS),
    }
}
