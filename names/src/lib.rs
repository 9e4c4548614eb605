//! The names the templates and the deployed code share, defined once: the
//! platform's CloudWatch metrics and the environment variables the templates
//! give the Lambdas. The functions read them from here; `sbw-infra` shows
//! them to the templates as `names.metric.*` and `names.env.*` and renders
//! strictly, so a name spelled differently on either side fails a test, not
//! a deploy. This crate has no dependencies: the Lambdas link it.

/// The platform's own CloudWatch metrics.
pub mod metric {
    /// The namespace of SBW's metrics, unless `SBW_METRICS_NAMESPACE` says otherwise.
    pub const NAMESPACE: &str = "SBW";
    /// The dimension every SBW metric carries: the deployment prefix (`<project>-<env>`).
    pub const DEPLOYMENT_DIMENSION: &str = "Deployment";
    /// Minutes between now and the newest event loaded (the ETL, per run).
    pub const FRESHNESS: &str = "DWFreshnessMinutes";
    /// Events the ingest function could not store and dead-lettered.
    pub const INGEST_STORAGE_FAILURES: &str = "IngestStorageFailures";
    /// 1 per minute while the dashboard and its database answer (the warehouse's timer).
    pub const DASHBOARD_HEARTBEAT: &str = "DashboardHeartbeat";
}

/// The environment variables the templates give the Lambdas.
pub mod env {
    pub const ALLOWED_ORIGINS: &str = "SBW_ALLOWED_ORIGINS";
    pub const DB_CREDENTIALS_BUCKET: &str = "SBW_DB_CREDENTIALS_BUCKET";
    pub const DB_CREDENTIALS_KEY: &str = "SBW_DB_CREDENTIALS_KEY";
    pub const DB_HOST: &str = "SBW_DB_HOST";
    pub const DEPLOYMENT: &str = "SBW_DEPLOYMENT";
    pub const DLQ_URL: &str = "SBW_DLQ_URL";
    pub const ETL_TASK: &str = "SBW_ETL_TASK";
    pub const FRESHNESS_SLO_MINUTES: &str = "SBW_FRESHNESS_SLO_MINUTES";
    pub const HASH_KEY_PARAM: &str = "SBW_HASH_KEY_PARAM";
    pub const HTTP_API_ID: &str = "SBW_HTTP_API_ID";
    pub const HTTP_API_STAGE: &str = "SBW_HTTP_API_STAGE";
    pub const METRICS_NAMESPACE: &str = "SBW_METRICS_NAMESPACE";
    pub const RAW_BUCKET: &str = "SBW_RAW_BUCKET";
    pub const REPROCESS_WINDOW_HOURS: &str = "SBW_REPROCESS_WINDOW_HOURS";
    pub const SITE_KEYS: &str = "SBW_SITE_KEYS";
    pub const TIMEZONE: &str = "SBW_TIMEZONE";

    /// Every one of them, for the templates.
    pub const ALL: &[&str] = &[
        ALLOWED_ORIGINS,
        DB_CREDENTIALS_BUCKET,
        DB_CREDENTIALS_KEY,
        DB_HOST,
        DEPLOYMENT,
        DLQ_URL,
        ETL_TASK,
        FRESHNESS_SLO_MINUTES,
        HASH_KEY_PARAM,
        HTTP_API_ID,
        HTTP_API_STAGE,
        METRICS_NAMESPACE,
        RAW_BUCKET,
        REPROCESS_WINDOW_HOURS,
        SITE_KEYS,
        TIMEZONE,
    ];
}
