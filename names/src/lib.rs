//! The names the templates and the deployed code share, defined once: the
//! platform's CloudWatch metrics, the environment variables the templates
//! give the Lambdas, and the origin secret's header and stored form. The functions read them from here; `sbw-infra` shows
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
    pub const ORIGIN_SECRET_PARAM: &str = "SBW_ORIGIN_SECRET_PARAM";
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
        ORIGIN_SECRET_PARAM,
        HTTP_API_ID,
        HTTP_API_STAGE,
        METRICS_NAMESPACE,
        RAW_BUCKET,
        REPROCESS_WINDOW_HOURS,
        SITE_KEYS,
        TIMEZONE,
    ];
}

/// The event API's front door: CloudFront adds this header, holding the
/// current origin secret, to every request it forwards to the HTTP API, and
/// the ingest function refuses requests without an accepted one (they did
/// not come through CloudFront). The secrets live in one SSM SecureString
/// as `current[,previous]`: `sbwctl deploy` gives CloudFront the current
/// one, the function accepts both, and a rotation writes `new,current`.
pub mod origin_secret {
    /// The header CloudFront adds (lower case, as HTTP/2 sends it).
    pub const HEADER: &str = "x-sbw-origin-secret";
    /// A running function re-reads the stored value, for a secret it does
    /// not know, at most once in this many seconds; a rotation waits as long
    /// between storing the new secret and giving it to CloudFront, so that
    /// no function can still be inside a window that began before the new
    /// secret was stored when CloudFront first sends it.
    pub const RELOAD_INTERVAL_SECONDS: u64 = 30;
    const SEPARATOR: char = ',';

    /// The secrets a stored value holds, the current one first.
    pub fn accepted(stored: &str) -> Vec<&str> {
        stored
            .split(SEPARATOR)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The secret CloudFront sends: the first one.
    pub fn current(stored: &str) -> Option<&str> {
        accepted(stored).first().copied()
    }

    /// The stored value after a rotation to `new`: `new` current, the
    /// current one still accepted (CloudFront sends it until its update
    /// reaches every edge), the one before that dropped.
    pub fn rotated(stored: &str, new: &str) -> String {
        match current(stored) {
            Some(current) => format!("{new}{SEPARATOR}{current}"),
            None => new.to_owned(),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_rotation_keeps_the_current_secret_and_drops_the_one_before() {
            assert_eq!(accepted("a"), ["a"]);
            assert_eq!(rotated("a", "b"), "b,a");
            assert_eq!(rotated("b,a", "c"), "c,b");
            assert_eq!(accepted(" c , b "), ["c", "b"]);
            assert_eq!(current(""), None);
            assert_eq!(rotated("", "d"), "d");
        }
    }
}
