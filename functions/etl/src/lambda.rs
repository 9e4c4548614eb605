//! The Lambda side: settings from the environment (names in the etl stack
//! template), the database login read from S3 at each run, one run per
//! invocation, the EMF metrics line on stdout.

use std::time::{Duration, Instant, SystemTime};

use sbw_aws::CallTimeouts;
use sbw_names::{env, metric};
use serde::Deserialize;

use crate::db::{SessionLimits, TrustedRoots};
use crate::metrics::emf_line;
use sbw_contract::etl_run::RunRequest;

use crate::run::{run, EtlError, RunOptions};
use crate::settings::ShopSettings;
use sbw_contract::etl_run::RunSummary;
use sbw_rawstore::RawStore;

/// The ETL's AWS calls end well within the function's timeout (60 s at the
/// least): a stalled S3 fails the run, which records its failure, instead of
/// Lambda killing it with the run unrecorded.
pub const AWS_CALLS: CallTimeouts = CallTimeouts {
    connect: Duration::from_secs(3),
    attempt: Duration::from_secs(5),
    operation: Duration::from_secs(15),
};

/// What this `etl` process does, from [`env::ETL_TASK`]: the ETL when it is unset
/// or `etl`, the ops snapshot collector (run outside the VPC) when it is
/// `ops-snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Etl,
    OpsSnapshot,
}

impl Task {
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Task> {
        match var(env::ETL_TASK).as_deref() {
            None | Some("" | "etl") => Ok(Task::Etl),
            Some("ops-snapshot") => Ok(Task::OpsSnapshot),
            Some(other) => anyhow::bail!(
                "{}={other:?} is not a task: use etl (the default) or ops-snapshot",
                env::ETL_TASK
            ),
        }
    }
}

/// The value of the environment variable `name`; unset or empty is an error naming it.
pub fn required_var(var: impl Fn(&str) -> Option<String>, name: &str) -> anyhow::Result<String> {
    var(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow::anyhow!("the environment variable {name} is not set"))
}

#[derive(Debug, Clone)]
pub struct LambdaSettings {
    pub raw_bucket: String,
    pub db_host: String,
    pub credentials_bucket: String,
    pub credentials_key: String,
    pub deployment: String,
    pub metrics_namespace: String,
    pub reprocess_window_hours: u32,
    pub shop: ShopSettings,
}

impl LambdaSettings {
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let required = |name: &str| required_var(&var, name);
        let whole_number = |name: &str, default: u32| match var(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|_| anyhow::anyhow!("{name}={value:?} is not a whole number")),
        };
        let defaults = RunOptions::default();
        Ok(LambdaSettings {
            raw_bucket: required(env::RAW_BUCKET)?,
            db_host: required(env::DB_HOST)?,
            credentials_bucket: required(env::DB_CREDENTIALS_BUCKET)?,
            credentials_key: required(env::DB_CREDENTIALS_KEY)?,
            deployment: required(env::DEPLOYMENT)?,
            metrics_namespace: var(env::METRICS_NAMESPACE)
                .unwrap_or_else(|| metric::NAMESPACE.to_owned()),
            reprocess_window_hours: whole_number(
                env::REPROCESS_WINDOW_HOURS,
                defaults.reprocess_window_hours,
            )?,
            shop: ShopSettings {
                timezone: var(env::TIMEZONE).unwrap_or(defaults.shop.timezone),
                freshness_slo_minutes: whole_number(
                    env::FRESHNESS_SLO_MINUTES,
                    defaults.shop.freshness_slo_minutes,
                )?,
            },
        })
    }
}

/// The login the warehouse instance publishes (see the warehouse user data),
/// encrypted with the environment's warehouse-login key.
#[derive(Deserialize)]
struct DatabaseLogin {
    port: u16,
    dbname: String,
    user: String,
    password: String,
    sslmode: String,
    /// The instance's CA certificate (PEM), which signed the server's.
    #[serde(default)]
    sslrootcert: Option<String>,
}

/// The one `sslmode` the function accepts: TLS, the certificate checked.
const VERIFIED_SSL_MODE: &str = "verify-full";

impl DatabaseLogin {
    /// The connection to `host` this login describes, and the CA to check
    /// the server against; a login that would not verify the server is refused.
    fn connection(self, host: &str) -> anyhow::Result<(tokio_postgres::Config, TrustedRoots)> {
        if self.sslmode != VERIFIED_SSL_MODE {
            anyhow::bail!(
                "it says sslmode={:?}, and the ETL connects to the warehouse only with sslmode={VERIFIED_SSL_MODE} \
                 (TLS, the server's certificate checked against the instance's CA); \
                 run /usr/local/sbin/sbw-bootstrap on the instance to publish a current login \
                 (runbooks/rotate-database-password.md)",
                self.sslmode
            );
        }
        let pem = self.sslrootcert.as_deref().unwrap_or_default();
        let roots = TrustedRoots::from_pem(pem)
            .map_err(|e| anyhow::anyhow!("its sslrootcert is not the instance's CA: {e}"))?;
        let mut config = tokio_postgres::Config::new();
        config
            .host(host)
            .port(self.port)
            .dbname(&self.dbname)
            .user(&self.user)
            .password(self.password)
            .application_name("sbw-etl")
            .connect_timeout(std::time::Duration::from_secs(10));
        Ok((config, roots))
    }
}

impl std::fmt::Debug for DatabaseLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseLogin")
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .finish_non_exhaustive()
    }
}

pub struct EtlFunction {
    settings: LambdaSettings,
    s3: aws_sdk_s3::Client,
}

impl EtlFunction {
    pub async fn new(settings: LambdaSettings) -> EtlFunction {
        let config = sbw_aws::load_config(&AWS_CALLS).await;
        EtlFunction {
            s3: sbw_aws::s3_client(&config),
            settings,
        }
    }

    async fn database_config(&self) -> anyhow::Result<(tokio_postgres::Config, TrustedRoots)> {
        let s = &self.settings;
        let object = self
            .s3
            .get_object()
            .bucket(&s.credentials_bucket)
            .key(&s.credentials_key)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "reading the database login s3://{}/{} failed: {}",
                    s.credentials_bucket,
                    s.credentials_key,
                    sbw_aws::error::reason(&e)
                )
            })?;
        let bytes = object.body.collect().await?.into_bytes();
        let login: DatabaseLogin = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "s3://{}/{} is not a database login ({e})",
                s.credentials_bucket,
                s.credentials_key
            )
        })?;
        login.connection(&s.db_host).map_err(|e| {
            anyhow::anyhow!(
                "the database login s3://{}/{}: {e}",
                s.credentials_bucket,
                s.credentials_key
            )
        })
    }

    /// One invocation: parse the request, run, log the metrics line. The
    /// run lists for half the time left before `deadline` (the rest is for
    /// the batch in progress, the rebuild and the record), and no statement
    /// may take more than a third of it.
    pub async fn handle(
        &self,
        payload: serde_json::Value,
        deadline: SystemTime,
    ) -> anyhow::Result<RunSummary> {
        let started = Instant::now();
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let request = RunRequest::from_json(&payload)?;
        let (config, roots) = self.database_config().await?;
        let mut client = crate::db::connect_verified(&config, roots)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "connecting to the warehouse at {} failed: {}",
                    self.settings.db_host,
                    crate::db::describe(&e)
                )
            })?;
        let source = RawStore::S3 {
            client: self.s3.clone(),
            bucket: self.settings.raw_bucket.clone(),
        };
        let options = RunOptions {
            reprocess_window_hours: self.settings.reprocess_window_hours,
            shop: self.settings.shop.clone(),
            limits: SessionLimits::default().within(left),
            time_budget: Some(left / 2),
            ..RunOptions::default()
        };
        let outcome = run(&source, &mut client, &request, &options).await;
        let summary = match &outcome {
            Ok(summary) => Some(summary),
            Err(EtlError::RunFailed { summary, .. }) => Some(summary.as_ref()),
            Err(_) => None,
        };
        if let Some(summary) = summary {
            println!(
                "{}",
                emf_line(
                    summary,
                    &self.settings.metrics_namespace,
                    &self.settings.deployment,
                    started.elapsed().as_secs_f64()
                )
            );
        }
        Ok(outcome?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(sslmode: &str, sslrootcert: Option<&str>) -> DatabaseLogin {
        serde_json::from_value(serde_json::json!({
            "port": 5432, "dbname": "sbw", "user": "sbw_etl", "password": "p",
            "sslmode": sslmode, "sslrootcert": sslrootcert,
        }))
        .unwrap()
    }

    #[test]
    fn a_login_that_would_not_verify_the_server_is_refused() {
        for mode in ["disable", "allow", "prefer", "require", "verify-ca", ""] {
            let error = login(mode, None)
                .connection("db.internal")
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(&format!("it says sslmode={mode:?}"))
                    && error.contains("only with sslmode=verify-full")
                    && error.contains("sbw-bootstrap"),
                "{error}"
            );
        }
        for (pem, reason) in [
            (None, "no PEM certificate"),
            (Some("not a certificate"), "no PEM certificate"),
            (
                Some("-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n"),
                "cannot be read",
            ),
        ] {
            let error = login("verify-full", pem)
                .connection("db.internal")
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("sslrootcert is not the instance's CA") && error.contains(reason),
                "{error}"
            );
        }
    }

    #[test]
    fn the_task_is_the_etl_unless_the_collector_is_named() {
        let task = |value: Option<&str>| {
            Task::from_vars(|name| {
                assert_eq!(name, env::ETL_TASK);
                value.map(str::to_owned)
            })
        };
        for etl in [None, Some(""), Some("etl")] {
            assert_eq!(task(etl).unwrap(), Task::Etl);
        }
        assert_eq!(task(Some("ops-snapshot")).unwrap(), Task::OpsSnapshot);
        let error = task(Some("ops_snapshot")).unwrap_err().to_string();
        assert!(
            error.contains("SBW_ETL_TASK=\"ops_snapshot\" is not a task"),
            "{error}"
        );
    }
}
