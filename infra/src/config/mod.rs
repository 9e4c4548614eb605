//! The deployment config (`sbw.yaml`): one file, environments inside it.
//!
//! Parsing is typed and strict: unknown keys, wrong types, missing values and
//! invalid values (CIDRs, e-mails, regions, ...) are errors that name
//! `file:line:column`. Rules that relate two settings are checked after
//! parsing and point at the setting to change. `examples/sbw.yaml` documents
//! every key and its default.

mod values;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};

use crate::catalogue;
pub use crate::catalogue::Architecture;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Close to the proposal's few dollars a month: no NAT gateway, no ALB, no
    /// interface endpoints, one small EC2 instance for PostgreSQL and Shiny.
    Minimal,
    /// The proposal to the letter: private subnets behind a NAT gateway, the
    /// dashboard behind an ALB with TLS and Cognito sign-in, WAF managed rules.
    Hardened,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Minimal => "minimal",
            Profile::Hardened => "hardened",
        }
    }
}

/// The whole file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    project: Spanned<Name>,
    environments: BTreeMap<Name, Spanned<Environment>>,
}

/// One environment as written; `None` means "the profile's default".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub account_id: AccountId,
    pub region: Region,
    pub profile: Spanned<Profile>,
    /// `sbwctl destroy` refuses this environment unless given `--force`; its
    /// stacks get termination protection and a stack policy that denies
    /// replacing or deleting their data resources.
    #[serde(default)]
    pub protected: bool,
    /// The shop's day: daily rollups and the dashboard use local days.
    #[serde(default)]
    pub timezone: TimeZone,
    pub site: Site,
    pub alerts: Alerts,
    pub budget: Budget,
    #[serde(default)]
    pub domain: Option<Domain>,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub ingest: Ingest,
    #[serde(default)]
    pub etl: Etl,
    #[serde(default)]
    pub warehouse: Warehouse,
    #[serde(default)]
    pub retention: Retention,
    #[serde(default)]
    pub features: Features,
    #[serde(default)]
    pub traffic: Traffic,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub origins: Spanned<Vec<Origin>>,
    pub site_keys: Spanned<Vec<SiteKey>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    pub emails: Spanned<Vec<Email>>,
    /// Mobile numbers that get alarms by SMS (SNS charges per message).
    #[serde(default)]
    pub sms: Vec<PhoneNumber>,
    /// HTTPS endpoints (chat incoming webhooks) that get alarms as SNS JSON.
    #[serde(default)]
    pub webhooks: Vec<WebhookUrl>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub monthly_usd: Bounded<1, 100_000>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    /// The analytics site and API: `https://<name>/v1/events`.
    pub name: DomainName,
    /// The Route 53 zone that holds `name`; certificates are validated through it.
    pub hosted_zone_id: HostedZoneId,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default = "Network::default_vpc_cidr")]
    pub vpc_cidr: Spanned<Cidr>,
    /// Who may open the dashboard over HTTPS. Empty: nobody directly in the
    /// minimal profile (use Session Manager port forwarding), anyone (behind
    /// Cognito sign-in) on the hardened profile's ALB.
    #[serde(default = "unspanned_default")]
    pub dashboard_cidrs: Spanned<Vec<Cidr>>,
}

impl Network {
    fn default_vpc_cidr() -> Spanned<Cidr> {
        unspanned(Cidr {
            address: std::net::Ipv4Addr::new(10, 42, 0, 0),
            prefix: 16,
        })
    }
}

impl Default for Network {
    fn default() -> Self {
        Network {
            vpc_cidr: Network::default_vpc_cidr(),
            dashboard_cidrs: unspanned(Vec::new()),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ingest {
    pub memory_mb: Bounded<128, 3008>,
    pub architecture: Architecture,
    /// Steady requests per second the HTTP API lets through before answering 429.
    pub throttle_rate: Bounded<1, 10_000>,
    pub throttle_burst: Bounded<1, 5_000>,
    /// Requests one client address may send to `/v1/` per minute before the
    /// WAF rate rule blocks it (every profile), so that one client cannot use
    /// up the stage-wide throttle. WAF's smallest limit is 10. Default: a
    /// tenth of `throttle_rate` a minute, at most 300.
    pub client_requests_per_minute: Option<Spanned<Bounded<10, 2_000_000_000>>>,
    pub log_level: LogLevel,
}

impl Default for Ingest {
    fn default() -> Self {
        Ingest {
            memory_mb: Bounded::new(256),
            architecture: Architecture::Arm64,
            throttle_rate: Bounded::new(50),
            throttle_burst: Bounded::new(100),
            client_requests_per_minute: None,
            log_level: LogLevel::Info,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Etl {
    /// How often the ETL runs, in minutes.
    pub every_minutes: Bounded<5, 60>,
    pub memory_mb: Bounded<128, 3008>,
    pub timeout_seconds: Bounded<60, 900>,
    /// Alarm when the warehouse is older than this; default: two runs + 15 min.
    pub freshness_alarm_minutes: Option<Bounded<10, 1440>>,
    /// Hours of raw events re-read each run so late events reach their sessions.
    pub reprocess_window_hours: Bounded<0, 48>,
}

impl Default for Etl {
    fn default() -> Self {
        Etl {
            every_minutes: Bounded::new(60),
            memory_mb: Bounded::new(512),
            timeout_seconds: Bounded::new(300),
            freshness_alarm_minutes: None,
            reprocess_window_hours: Bounded::new(2),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Warehouse {
    /// Default: [`catalogue::MINIMAL_DEFAULT`], [`catalogue::HARDENED_DEFAULT`].
    #[serde(default)]
    pub instance_type: Option<Spanned<String>>,
    /// The PostgreSQL data volume (gp3, encrypted), separate from the root disk.
    /// Default: 15 GB (minimal), 30 GB (hardened); gp3 volumes can grow later.
    #[serde(default)]
    pub data_volume_gb: Option<Bounded<10, 16_384>>,
    /// A public IPv4 address (billed by AWS per hour). Minimal profile only;
    /// needed to reach the dashboard directly from `network.dashboard_cidrs`.
    #[serde(default = "unspanned_default")]
    pub public_ipv4: Spanned<bool>,
    #[serde(default)]
    pub snapshot_retain_days: Option<Bounded<1, 365>>,
    /// A fixed AMI (e.g. the organisation's own Ubuntu image) instead of
    /// Ubuntu's public SSM parameter resolved on the first deploy.
    #[serde(default)]
    pub ami_id: Option<Spanned<String>>,
}

impl Default for Warehouse {
    fn default() -> Self {
        Warehouse {
            instance_type: None,
            data_volume_gb: None,
            public_ipv4: unspanned(false),
            snapshot_retain_days: None,
            ami_id: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    pub raw_infrequent_access_days: Spanned<Bounded<30, 3650>>,
    pub raw_glacier_days: Spanned<Bounded<31, 3650>>,
    /// 0 keeps raw events forever.
    pub raw_expire_days: Spanned<Bounded<0, 36_500>>,
    pub log_days: LogRetentionDays,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw_infrequent_access_days: unspanned(Bounded::new(30)),
            raw_glacier_days: unspanned(Bounded::new(365)),
            raw_expire_days: unspanned(Bounded::new(730)),
            log_days: LogRetentionDays::DEFAULT,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// AWS WAF managed rules on CloudFront. Default: off (minimal), on (hardened).
    #[serde(default)]
    pub waf: Option<bool>,
    /// The WAF Bot Control rule group (extra monthly fee). Needs `waf`.
    #[serde(default = "unspanned_default")]
    pub bot_control: Spanned<bool>,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            waf: None,
            bot_control: unspanned(false),
        }
    }
}

/// Traffic assumptions for `sbwctl cost`; they change no resource.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Traffic {
    pub events_per_month: Bounded<0, 10_000_000_000>,
    /// Events the SDK batches into one request.
    pub events_per_request: Bounded<1, 500>,
    /// Average size of one event as stored (gzip NDJSON), in bytes.
    pub stored_bytes_per_event: Bounded<10, 100_000>,
    pub dashboard_hours_per_month: Bounded<0, 744>,
    pub site_page_views_per_month: Bounded<0, 10_000_000_000>,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            events_per_month: Bounded::new(1_000_000),
            events_per_request: Bounded::new(5),
            stored_bytes_per_event: Bounded::new(200),
            dashboard_hours_per_month: Bounded::new(40),
            site_page_views_per_month: Bounded::new(100_000),
        }
    }
}

fn unspanned_default<T: Default>() -> Spanned<T> {
    unspanned(T::default())
}

fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned {
        value,
        referenced: Location::UNKNOWN,
        defined: Location::UNKNOWN,
    }
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

/// The message of a YAML error without its location, which callers put in
/// front (`file:line:column: message`).
pub(crate) fn yaml_error_message(error: &serde_saphyr::Error) -> String {
    let options = serde_saphyr::render_options! {
        formatter: &serde_saphyr::UserMessageFormatter,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let rendered = error.render_with_options(options);
    // The plain rendering ends with " at line L, column C".
    match rendered.rfind(" at line ") {
        Some(at) => rendered[..at].to_owned(),
        None => rendered,
    }
}

fn from_yaml_error(text: &str, file: &str, error: &serde_saphyr::Error) -> ConfigError {
    let message = yaml_error_message(error);
    let message = match message.as_str() {
        "expected sequence start" => {
            "expected a list here: write [a, b] or one `- item` per line".to_owned()
        }
        "expected mapping start" => "expected a section of `key: value` lines here".to_owned(),
        _ => message,
    };
    let mut located = at_location(file, error.location(), Location::UNKNOWN, message);
    // serde reports a missing key where its section ends; point at the section's own key.
    let missing = located
        .message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
        .map(str::to_owned);
    if let Some(missing) = missing {
        match enclosing_key(text, located.line, located.column) {
            Some((line, column, key)) => {
                located.message = format!("`{key}` is missing the required key `{missing}`");
                located.line = line;
                located.column = column;
            }
            None => located.message = format!("the file is missing the required key `{missing}`"),
        }
    }
    located
}

/// The key (and its position) of the block mapping that holds `line:column`,
/// found by indentation: the nearest line above that is indented less.
fn enclosing_key(text: &str, line: u64, column: u64) -> Option<(u64, u64, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let last = usize::try_from(line).ok()?.min(lines.len());
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let inner = indent_of(lines.get(last.checked_sub(1)?)?)
        .min(usize::try_from(column).ok()?.saturating_sub(1));
    (0..last.saturating_sub(1)).rev().find_map(|index| {
        let candidate = lines[index];
        let trimmed = candidate.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || indent_of(candidate) >= inner {
            return None;
        }
        let key = trimmed.trim_start_matches("- ").split(':').next()?.trim();
        Some((
            index as u64 + 1,
            indent_of(candidate) as u64 + 1,
            key.to_owned(),
        ))
    })
}

/// An error at `at`, or at `fallback` when `at` is unknown (a defaulted value).
fn at_location(
    file: &str,
    at: Option<Location>,
    fallback: Location,
    message: String,
) -> ConfigError {
    let at = at.filter(|l| l.line() > 0).unwrap_or(fallback);
    ConfigError {
        file: file.to_owned(),
        line: at.line(),
        column: at.column(),
        message,
    }
}

/// Applies defaults and the rules that relate settings to each other.
fn build(
    project: &str,
    environment: &str,
    env: Environment,
    error: impl Fn(Location, String) -> ConfigError,
) -> Result<Deployment, ConfigError> {
    let profile = env.profile.value;
    let hardened = profile == Profile::Hardened;

    for (list, what) in [
        (
            env.site.origins.referenced,
            env.site.origins.value.is_empty().then_some("site.origins"),
        ),
        (
            env.site.site_keys.referenced,
            env.site
                .site_keys
                .value
                .is_empty()
                .then_some("site.site_keys"),
        ),
        (
            env.alerts.emails.referenced,
            env.alerts
                .emails
                .value
                .is_empty()
                .then_some("alerts.emails"),
        ),
    ] {
        if let Some(what) = what {
            return Err(error(list, format!("`{what}` is empty: list at least one")));
        }
    }
    if hardened && env.domain.is_none() {
        return Err(error(
            env.profile.referenced,
            "the hardened profile serves the dashboard through an ALB with TLS, which needs a certificate: add `domain` (name and hosted_zone_id), or use profile minimal".to_owned(),
        ));
    }
    let vpc = env.network.vpc_cidr.value;
    if !(16..=24).contains(&vpc.prefix) {
        return Err(error(
            env.network.vpc_cidr.referenced,
            format!("network.vpc_cidr {vpc} must be between /16 and /24 (it is split into four subnets)"),
        ));
    }
    let public_ipv4 = env.warehouse.public_ipv4.value;
    if public_ipv4 && hardened {
        return Err(error(
            env.warehouse.public_ipv4.referenced,
            "warehouse.public_ipv4 applies to the minimal profile only: the hardened profile keeps the instance in a private subnet behind the ALB".to_owned(),
        ));
    }
    let dashboard_cidrs = env.network.dashboard_cidrs.value.clone();
    if !hardened && !public_ipv4 && !dashboard_cidrs.is_empty() {
        return Err(error(
            env.network.dashboard_cidrs.referenced,
            "network.dashboard_cidrs needs warehouse.public_ipv4: true on the minimal profile (without a public address the dashboard is reached through Session Manager port forwarding)".to_owned(),
        ));
    }
    if !hardened {
        let no_sign_in = "on the minimal profile the dashboard has no sign-in in front of it, so list your office or VPN addresses instead";
        if let Some(open) = dashboard_cidrs.iter().find(|c| c.is_anywhere()) {
            return Err(error(
                env.network.dashboard_cidrs.referenced,
                format!("network.dashboard_cidrs contains {open}: {no_sign_in}"),
            ));
        }
        if Cidr::cover_the_internet(&dashboard_cidrs) {
            return Err(error(
                env.network.dashboard_cidrs.referenced,
                format!("network.dashboard_cidrs together cover every public IPv4 address, as 0.0.0.0/0 does: {no_sign_in}"),
            ));
        }
    }
    let stage_per_minute = env.ingest.throttle_rate.get() * 60;
    let per_client_default = (stage_per_minute / 10).clamp(10, 300);
    let client_requests_per_minute = match &env.ingest.client_requests_per_minute {
        Some(limit) if limit.value.get() >= stage_per_minute => {
            return Err(error(
                limit.referenced,
                format!(
                    "ingest.client_requests_per_minute ({}) lets one client address use up the whole API throttle (ingest.throttle_rate {} requests/s = {stage_per_minute} a minute): set it lower, e.g. {per_client_default}",
                    limit.value.get(),
                    env.ingest.throttle_rate.get(),
                ),
            ));
        }
        Some(limit) => limit.value.get(),
        None => per_client_default,
    };
    let waf = env.features.waf.unwrap_or(hardened);
    if env.features.bot_control.value && !waf {
        return Err(error(
            env.features.bot_control.referenced,
            "features.bot_control is a WAF rule group: it needs features.waf: true".to_owned(),
        ));
    }
    let retention = &env.retention;
    let ia = retention.raw_infrequent_access_days.value.get();
    let glacier = retention.raw_glacier_days.value.get();
    let expire = retention.raw_expire_days.value.get();
    if glacier <= ia {
        return Err(error(
            retention.raw_glacier_days.referenced,
            format!("retention.raw_glacier_days ({glacier}) must be later than raw_infrequent_access_days ({ia})"),
        ));
    }
    if expire != 0 && expire <= glacier {
        return Err(error(
            retention.raw_expire_days.referenced,
            format!("retention.raw_expire_days ({expire}) must be later than raw_glacier_days ({glacier}), or 0 to keep raw events forever"),
        ));
    }
    let instance_type = match &env.warehouse.instance_type {
        Some(spanned) => {
            if catalogue::instance_type(&spanned.value).is_none() {
                let supported: Vec<&str> =
                    catalogue::INSTANCE_TYPES.iter().map(|t| t.name).collect();
                return Err(error(
                    spanned.referenced,
                    format!(
                        "warehouse.instance_type {:?} is not supported; choose one of {}",
                        spanned.value,
                        supported.join(", ")
                    ),
                ));
            }
            spanned.value.clone()
        }
        None if hardened => catalogue::HARDENED_DEFAULT.to_owned(),
        None => catalogue::MINIMAL_DEFAULT.to_owned(),
    };
    if let Some(ami) = &env.warehouse.ami_id {
        let id = ami.value.strip_prefix("ami-").unwrap_or_default();
        if !(8..=17).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(error(
                ami.referenced,
                format!(
                    "warehouse.ami_id {:?} is not an AMI id (ami- and 8 or 17 hex digits)",
                    ami.value
                ),
            ));
        }
    }
    let every = env.etl.every_minutes.get();
    Ok(Deployment {
        project: project.to_owned(),
        environment: environment.to_owned(),
        profile,
        protected: env.protected,
        account_id: env.account_id,
        region: env.region,
        timezone: env.timezone,
        origins: env.site.origins.value,
        site_keys: env.site.site_keys.value,
        alert_emails: env.alerts.emails.value,
        alert_sms: env.alerts.sms,
        alert_webhooks: env.alerts.webhooks,
        budget_usd: env.budget.monthly_usd.get(),
        domain: env.domain,
        vpc_cidr: vpc,
        dashboard_cidrs,
        etl_every_minutes: every,
        etl_memory_mb: env.etl.memory_mb.get(),
        etl_timeout_seconds: env.etl.timeout_seconds.get(),
        freshness_alarm_minutes: env
            .etl
            .freshness_alarm_minutes
            .map_or(2 * every + 15, Bounded::get),
        etl_reprocess_window_hours: env.etl.reprocess_window_hours.get(),
        client_requests_per_minute,
        ingest: env.ingest,
        instance_type,
        data_volume_gb: env
            .warehouse
            .data_volume_gb
            .map_or(if hardened { 30 } else { 15 }, Bounded::get),
        public_ipv4,
        snapshot_retain_days: env.warehouse.snapshot_retain_days.map_or(7, Bounded::get),
        ami_id: env.warehouse.ami_id.map(|ami| ami.value),
        raw_infrequent_access_days: ia,
        raw_glacier_days: glacier,
        raw_expire_days: expire,
        log_days: retention.log_days,
        waf,
        bot_control: env.features.bot_control.value,
        traffic: env.traffic,
    })
}

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
