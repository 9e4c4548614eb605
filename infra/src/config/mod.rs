//! The deployment config (`sbw.yaml`): one file, environments inside it.
//!
//! Parsing is typed and strict: unknown keys, wrong types, missing values and
//! invalid values (CIDRs, e-mails, regions, ...) are errors that name
//! `file:line:column`. Rules that relate two settings are checked after
//! parsing and point at the setting to change. `examples/sbw.yaml` documents
//! every key and its default.

mod rules;
mod schema;
mod values;
mod yaml_errors;

use std::path::Path;

use serde::Serialize;
use serde_saphyr::Location;

use crate::catalogue;
pub use crate::catalogue::Architecture;
use rules::build;
use schema::ConfigFile;
pub use schema::{
    Alerts, Budget, Domain, Environment, Etl, Features, Ingest, LogLevel, Network, Profile,
    Retention, Site, Traffic, Warehouse,
};
pub use values::{
    AccountId, Bounded, Cidr, DomainName, Email, HostedZoneId, LogRetentionDays, Name, Origin,
    PhoneNumber, Region, SiteKey, TimeZone, WebhookUrl, GLOBAL_REGION, LOG_RETENTION_DAYS, REGIONS,
};

/// A config problem, in the user's words, at a place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the problem is not tied to one place (e.g. an unreadable file).
    pub line: u64,
    pub column: u64,
    pub message: String,
}

/// One environment with every default applied: what the templates and the
/// cost estimate read.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub project: String,
    pub environment: String,
    pub profile: Profile,
    pub protected: bool,
    pub account_id: AccountId,
    pub region: Region,
    pub timezone: TimeZone,
    pub origins: Vec<Origin>,
    pub site_keys: Vec<SiteKey>,
    pub alert_emails: Vec<Email>,
    pub alert_sms: Vec<PhoneNumber>,
    pub alert_webhooks: Vec<WebhookUrl>,
    pub budget_usd: u64,
    pub domain: Option<Domain>,
    pub vpc_cidr: Cidr,
    pub dashboard_cidrs: Vec<Cidr>,
    pub ingest: Ingest,
    /// The WAF rate rule's limit per client address and minute (resolved default).
    pub client_requests_per_minute: u64,
    pub etl_every_minutes: u64,
    pub etl_memory_mb: u64,
    pub etl_timeout_seconds: u64,
    pub freshness_alarm_minutes: u64,
    pub etl_reprocess_window_hours: u64,
    pub instance_type: String,
    pub data_volume_gb: u64,
    pub public_ipv4: bool,
    pub snapshot_retain_days: u64,
    pub ami_id: Option<String>,
    pub raw_infrequent_access_days: u64,
    pub raw_glacier_days: u64,
    pub raw_expire_days: u64,
    pub log_days: LogRetentionDays,
    pub waf: bool,
    pub bot_control: bool,
    pub traffic: Traffic,
}

impl Deployment {
    /// `<project>-<environment>`: the prefix of every stack and export.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.project, self.environment)
    }

    pub fn instance_arch(&self) -> Architecture {
        catalogue::architecture(&self.instance_type)
    }
}

/// Loads `path` and resolves environment `env`, optionally with another profile
/// (to compare what a profile would render or cost).
pub fn load(path: &Path, env: &str, profile: Option<Profile>) -> Result<Deployment, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        file: file.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read the config file: {error}"),
    })?;
    resolve(&text, &file, env, profile)
}

/// Parses config `text` (named `file` in errors) and resolves environment `env`.
pub fn resolve(
    text: &str,
    file: &str,
    env: &str,
    profile: Option<Profile>,
) -> Result<Deployment, ConfigError> {
    let parsed = parse(text, file)?;
    let (name, environment) = parsed
        .environments
        .iter()
        .find(|(name, _)| name.as_str() == env)
        .ok_or_else(|| {
            let known: Vec<&str> = parsed.environments.keys().map(Name::as_str).collect();
            ConfigError {
                file: file.to_owned(),
                line: 0,
                column: 0,
                message: format!(
                    "there is no environment {env:?}; this file defines: {}",
                    known.join(", ")
                ),
            }
        })?;
    let environment_at = environment.referenced;
    let mut environment = environment.value.clone();
    if let Some(profile) = profile {
        environment.profile.value = profile;
    }
    let error =
        |at: Location, message: String| at_location(file, Some(at), environment_at, message);
    // IAM scopes an environment by its name prefix (`<project>-<env>-*`):
    // `prod` would also reach `prod-eu`'s resources.
    if let Some(other) = parsed.environments.keys().find(|other| {
        other.as_str().starts_with(&format!("{name}-"))
            || name.as_str().starts_with(&format!("{}-", other.as_str()))
    }) {
        return Err(at_location(
            file,
            None,
            environment_at,
            format!(
                "environments {:?} and {:?}: one name is the other's plus \"-...\", so the permissions scoped to the shorter one's names (sbwctl policy operator, the deployer role) would reach the other's resources; rename one",
                name.as_str(),
                other.as_str()
            ),
        ));
    }
    let prefix = format!("{}-{}", parsed.project.value, name);
    if let Some(word) = ["aws", "amazon", "cognito"]
        .into_iter()
        .find(|w| prefix.contains(w))
    {
        return Err(at_location(
            file,
            Some(parsed.project.referenced),
            environment_at,
            format!("{prefix:?} contains {word:?}, which Cognito does not allow in sign-in domain names; choose another project or environment name"),
        ));
    }
    build(
        parsed.project.value.as_str(),
        name.as_str(),
        environment,
        error,
    )
}

/// Every environment of the file, each checked as `resolve` would.
pub fn environments(text: &str, file: &str) -> Result<Vec<String>, ConfigError> {
    let parsed = parse(text, file)?;
    let names: Vec<String> = parsed.environments.keys().map(Name::to_string).collect();
    for name in &names {
        resolve(text, file, name, None)?;
    }
    Ok(names)
}

fn parse(text: &str, file: &str) -> Result<ConfigFile, ConfigError> {
    let parsed: ConfigFile =
        serde_saphyr::from_str(text).map_err(|error| from_yaml_error(text, file, &error))?;
    if parsed.environments.is_empty() {
        return Err(ConfigError {
            file: file.to_owned(),
            line: 1,
            column: 1,
            message: "`environments` is empty: define at least one environment (e.g. dev)"
                .to_owned(),
        });
    }
    Ok(parsed)
}

pub(crate) use yaml_errors::yaml_error_message;
use yaml_errors::{at_location, from_yaml_error};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_subnets() {
        let vpc = Cidr::try_from("10.42.0.0/16".to_owned()).unwrap();
        assert_eq!(vpc.subnet(20, 0).unwrap().to_string(), "10.42.0.0/20");
        assert_eq!(vpc.subnet(20, 3).unwrap().to_string(), "10.42.48.0/20");
        assert_eq!(vpc.subnet(18, 4), None);
        assert_eq!(vpc.subnet(8, 0), None);
    }

    #[test]
    fn bounded_new_clamps() {
        assert_eq!(Bounded::<5, 60>::new(1).get(), 5);
        assert_eq!(Bounded::<5, 60>::new(90).get(), 60);
        assert_eq!(Bounded::<5, 60>::new(15).get(), 15);
    }
}
