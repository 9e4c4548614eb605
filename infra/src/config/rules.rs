//! The rules that relate settings to each other, applied with the defaults
//! that depend on the profile; each error points at the setting to change.

use serde_saphyr::Location;

use super::{Bounded, Cidr, ConfigError, Deployment, Environment, Profile};
use crate::catalogue;

/// Applies defaults and the rules that relate settings to each other.
pub(super) fn build(
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
