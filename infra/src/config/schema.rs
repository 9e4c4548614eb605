//! `sbw.yaml` as written: the file, its environments and their sections, with
//! each section's defaults; parsing them checks every single value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};

use super::{
    AccountId, Architecture, Bounded, Cidr, DomainName, Email, HostedZoneId, LogRetentionDays,
    Name, Origin, PhoneNumber, Region, SiteKey, TimeZone, WebhookUrl,
};

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
pub(super) struct ConfigFile {
    pub(super) project: Spanned<Name>,
    pub(super) environments: BTreeMap<Name, Spanned<Environment>>,
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
    /// Default: [`crate::catalogue::MINIMAL_DEFAULT`], [`crate::catalogue::HARDENED_DEFAULT`].
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
