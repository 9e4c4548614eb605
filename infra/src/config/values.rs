//! Validated scalar values of the config file. Each type checks itself while
//! it is parsed, so a bad value is reported at its own line and column.
//!
//! Over 400 lines on purpose: one job, many small types alike, sharing `string_value!`.

use std::fmt;
use std::net::Ipv4Addr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// Implements `Deserialize` from a string through `TryFrom<String>` and
/// `Serialize` as its `Display`.
macro_rules! string_value {
    ($name:ident) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::try_from(text).map_err(de::Error::custom)
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    };
}

/// `Display` for newtypes over the text they were written as: they show as that text.
macro_rules! displays_as_written {
    ($($name:ident),+) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

displays_as_written!(
    Name,
    AccountId,
    Region,
    PhoneNumber,
    WebhookUrl,
    Email,
    DomainName,
    HostedZoneId,
    Origin,
    SiteKey,
    TimeZone
);

/// An integer in `MIN..=MAX`, e.g. `Bounded<5, 60>` for the ETL cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Bounded<const MIN: u64, const MAX: u64>(u64);

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    /// For defaults written in code; out-of-range constants are a programming error
    /// caught by the unit tests, so this clamps instead of panicking.
    pub const fn new(value: u64) -> Self {
        let clamped = if value < MIN {
            MIN
        } else if value > MAX {
            MAX
        } else {
            value
        };
        Bounded(clamped)
    }
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BoundedVisitor<const MIN: u64, const MAX: u64>;
        impl<const MIN: u64, const MAX: u64> BoundedVisitor<MIN, MAX> {
            fn out_of_range<E: de::Error>(shown: impl fmt::Display) -> E {
                E::custom(format!(
                    "must be a whole number from {MIN} to {MAX}, got {shown}"
                ))
            }
        }
        impl<const MIN: u64, const MAX: u64> Visitor<'_> for BoundedVisitor<MIN, MAX> {
            type Value = Bounded<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number from {MIN} to {MAX}")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                if (MIN..=MAX).contains(&value) {
                    Ok(Bounded(value))
                } else {
                    Err(Self::out_of_range(value))
                }
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                u64::try_from(value)
                    .map_err(|_| Self::out_of_range(value))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                Err(Self::out_of_range(value))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Err(Self::out_of_range(format!("{value:?}")))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Err(Self::out_of_range(value))
            }
        }
        deserializer.deserialize_any(BoundedVisitor::<MIN, MAX>)
    }
}

/// Lowercase name used in stack and bucket names: 2 to 20 of `a-z 0-9 -`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Name(String);
string_value!(Name);

impl TryFrom<String> for Name {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let ok = (2..=20).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && !text.ends_with('-')
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Name(text))
        } else {
            Err(format!(
                "{text:?} is not a valid name: use 2 to 20 lowercase letters, digits or '-', starting with a letter (it becomes part of stack and bucket names)"
            ))
        }
    }
}

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 12-digit AWS account id. Accepted quoted or unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountId(String);

impl TryFrom<String> for AccountId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(text))
        } else {
            Err(format!("{text:?} is not an AWS account id: it must be exactly 12 digits (quote it to keep leading zeros)"))
        }
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AccountVisitor;
        impl Visitor<'_> for AccountVisitor {
            type Value = AccountId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 12-digit AWS account id")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<AccountId, E> {
                AccountId::try_from(value.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<AccountId, E> {
                AccountId::try_from(value.to_owned()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(AccountVisitor)
    }
}

impl Serialize for AccountId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Commercial AWS regions that offer every service the platform uses
/// (HTTP APIs, Cognito, Lambda on arm64, EventBridge Scheduler, gp3).
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "sa-east-1",
];

/// The region that CloudFront certificates, CLOUDFRONT-scoped WAF web ACLs and
/// AWS Budgets live in.
pub const GLOBAL_REGION: &str = "us-east-1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region(String);
string_value!(Region);

impl TryFrom<String> for Region {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if REGIONS.contains(&text.as_str()) {
            Ok(Region(text))
        } else {
            let hint = REGIONS
                .iter()
                .find(|r| {
                    r.replace('-', "") == text.to_ascii_lowercase().replace(['-', '_', ' '], "")
                })
                .map(|r| format!(" (did you mean {r}?)"))
                .unwrap_or_default();
            Err(format!(
                "{text:?} is not a supported AWS region{hint}; supported: {}",
                REGIONS.join(", ")
            ))
        }
    }
}

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IPv4 network in CIDR notation with its host bits zero, e.g. `10.42.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub address: Ipv4Addr,
    pub prefix: u8,
}
string_value!(Cidr);

impl TryFrom<String> for Cidr {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("{text:?} is not an IPv4 CIDR block like 10.42.0.0/16");
        let (address, prefix) = text.split_once('/').ok_or_else(bad)?;
        let address: Ipv4Addr = address.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(bad)?;
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let network = Ipv4Addr::from(u32::from(address) & mask);
        if network != address {
            return Err(format!(
                "{text:?} has host bits set: the network is {network}/{prefix}"
            ));
        }
        Ok(Cidr { address, prefix })
    }
}

impl Cidr {
    /// The `index`-th subnet of `new_prefix` inside this block, if it fits.
    pub fn subnet(self, new_prefix: u8, index: u32) -> Option<Cidr> {
        if new_prefix < self.prefix || new_prefix > 28 {
            return None;
        }
        let count = 1u64 << (new_prefix - self.prefix);
        if u64::from(index) >= count {
            return None;
        }
        let size = 1u32 << (32 - new_prefix);
        let base = u32::from(self.address).checked_add(index.checked_mul(size)?)?;
        Some(Cidr {
            address: Ipv4Addr::from(base),
            prefix: new_prefix,
        })
    }

    pub fn is_anywhere(self) -> bool {
        self.prefix == 0
    }

    /// The addresses of the block, as a half-open range.
    fn range(self) -> (u64, u64) {
        let start = u64::from(u32::from(self.address));
        (start, start + (1u64 << (32 - u32::from(self.prefix))))
    }

    /// Whether `blocks` together hold every public IPv4 address, as
    /// `0.0.0.0/0` does (`0.0.0.0/1` + `128.0.0.0/1`, or the same with the
    /// private and reserved ranges left out): a dashboard open to them is open
    /// to the internet.
    pub fn cover_the_internet(blocks: &[Cidr]) -> bool {
        let mut ranges: Vec<(u64, u64)> =
            blocks.iter().chain(NOT_PUBLIC).map(|c| c.range()).collect();
        ranges.sort_unstable();
        let mut covered_to = 0u64;
        for (start, end) in ranges {
            if start > covered_to {
                return false;
            }
            covered_to = covered_to.max(end);
        }
        covered_to == 1 << 32
    }
}

/// IPv4 ranges no client on the internet connects from (RFC 6890): this
/// network, private, shared (CGNAT), loopback, link-local, documentation,
/// benchmarking, multicast and reserved.
const NOT_PUBLIC: &[Cidr] = &[
    cidr([0, 0, 0, 0], 8),
    cidr([10, 0, 0, 0], 8),
    cidr([100, 64, 0, 0], 10),
    cidr([127, 0, 0, 0], 8),
    cidr([169, 254, 0, 0], 16),
    cidr([172, 16, 0, 0], 12),
    cidr([192, 0, 0, 0], 24),
    cidr([192, 0, 2, 0], 24),
    cidr([192, 168, 0, 0], 16),
    cidr([198, 18, 0, 0], 15),
    cidr([198, 51, 100, 0], 24),
    cidr([203, 0, 113, 0], 24),
    cidr([224, 0, 0, 0], 3),
];

const fn cidr(octets: [u8; 4], prefix: u8) -> Cidr {
    Cidr {
        address: Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]),
        prefix,
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// An e-mail address for alert subscriptions. Checked for shape only: AWS
/// sends a confirmation message that the recipient must accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);
string_value!(Email);

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let valid = match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && is_hostname(domain)
                    && domain.contains('.')
                    && !text
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"".contains(c))
            }
            None => false,
        };
        if valid {
            Ok(Email(text))
        } else {
            Err(format!(
                "{text:?} is not an e-mail address like ops@example.com"
            ))
        }
    }
}

/// A mobile number for SMS alerts, in E.164 form (`+` and the country code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);
string_value!(PhoneNumber);

impl TryFrom<String> for PhoneNumber {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let digits = text.strip_prefix('+').unwrap_or_default();
        if (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0')
        {
            Ok(PhoneNumber(text))
        } else {
            Err(format!(
                "{text:?} is not a phone number in E.164 form like +84901234567 (a plus, the country code, then the number without spaces)"
            ))
        }
    }
}

/// An HTTPS endpoint that receives alarm notifications as SNS JSON, e.g. a
/// chat tool's incoming webhook. It must confirm the subscription (SNS posts
/// a SubscriptionConfirmation with a URL to visit first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);
string_value!(WebhookUrl);

impl TryFrom<String> for WebhookUrl {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("{text:?} is not a webhook URL: {why} (write it like https://hooks.example.com/services/T000/B000)")
        };
        let rest = text
            .strip_prefix("https://")
            .ok_or_else(|| bad("it must start with https://"))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.contains('@') {
            return Err(bad("credentials belong in the path, not before the host"));
        }
        let host =
            host.rsplit_once(':').map_or(
                host,
                |(h, port)| {
                    if port.parse::<u16>().is_ok() {
                        h
                    } else {
                        host
                    }
                },
            );
        if !is_hostname(host) || !host.contains('.') {
            return Err(bad("the host is not a DNS name"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it contains a space"));
        }
        Ok(WebhookUrl(text))
    }
}

fn is_hostname(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// A DNS name such as `analytics.shop.example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainName(String);
string_value!(DomainName);

impl TryFrom<String> for DomainName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if is_hostname(&text) && text.contains('.') && text == text.to_ascii_lowercase() {
            Ok(DomainName(text))
        } else {
            Err(format!(
                "{text:?} is not a lowercase DNS name like analytics.shop.example.com"
            ))
        }
    }
}

/// A Route 53 hosted zone id, e.g. `Z0123456789ABCDEFGHIJ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedZoneId(String);
string_value!(HostedZoneId);

impl TryFrom<String> for HostedZoneId {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let ok = text.starts_with('Z')
            && (2..=32).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(HostedZoneId(text))
        } else {
            Err(format!(
                "{text:?} is not a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ"
            ))
        }
    }
}

/// A browser origin allowed to send events: `https://host[:port]`, no path.
/// Plain `http` is accepted for `localhost` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);
string_value!(Origin);

impl TryFrom<String> for Origin {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "{text:?} is not an allowed origin: {why} (write it like https://shop.example.com)"
            )
        };
        if text == "*" {
            return Err(bad("a wildcard would let any web site send events"));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad("it has no scheme"))?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() => (host, Some(port)),
            _ => (rest, None),
        };
        if rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(bad("an origin has no path, query or trailing slash"));
        }
        if !is_hostname(host) {
            return Err(bad("the host is not a DNS name"));
        }
        let _ = port;
        match scheme {
            "https" => Ok(Origin(text)),
            "http" if host == "localhost" => Ok(Origin(text)),
            "http" => Err(bad(
                "only https origins are allowed (http only for localhost)",
            )),
            _ => Err(bad("the scheme must be https")),
        }
    }
}

/// A publishable site key: public by design (it ships in the page), it only
/// tells the ingest function which site an anonymous event claims to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteKey(String);
string_value!(SiteKey);

impl TryFrom<String> for SiteKey {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let ok = (8..=64).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(SiteKey(text))
        } else {
            Err(format!("{text:?} is not a site key: use 8 to 64 letters, digits, '_' or '-' (e.g. pk_live_3f9a1c2b)"))
        }
    }
}

/// An IANA time zone name such as `Asia/Ho_Chi_Minh` (the tz database that
/// PostgreSQL and R read too): where the shop's days begin and end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone(String);
string_value!(TimeZone);

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text.parse::<chrono_tz::Tz>().is_ok() {
            return Ok(TimeZone(text));
        }
        let hint = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|zone| zone.name())
            .find(|name| name.eq_ignore_ascii_case(&text))
            .map(|name| format!(" (did you mean {name}?)"))
            .unwrap_or_default();
        Err(format!(
            "{text:?} is not an IANA time zone name{hint}: write it like Asia/Ho_Chi_Minh, Europe/Berlin or UTC"
        ))
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone("UTC".to_owned())
    }
}

impl TimeZone {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// CloudWatch Logs accepts only these retention periods (days).
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LogRetentionDays(u32);

impl LogRetentionDays {
    pub const DEFAULT: LogRetentionDays = LogRetentionDays(30);
}

impl<'de> Deserialize<'de> for LogRetentionDays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let days = u32::deserialize(deserializer)?;
        if LOG_RETENTION_DAYS.contains(&days) {
            Ok(LogRetentionDays(days))
        } else {
            let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
            Err(de::Error::custom(format!(
                "CloudWatch Logs cannot keep logs for {days} days; choose one of {}",
                allowed.join(", ")
            )))
        }
    }
}
