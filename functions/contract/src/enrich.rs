//! Server-side enrichment: receive time, clock skew, user-agent families
//! (the raw user agent is not stored), viewer country, PII hashing.

use std::sync::LazyLock;

use chrono::{DateTime, SubsecRound, Utc};

use crate::event::{
    DeviceType, Event, FieldError, StoredDevice, StoredEvent, StoredGeo, STORED_SCHEMA_VERSION,
};
use crate::pii::{prop_handling, sanitize_page_url, sanitize_referrer, BatchHasher, PropHandling};
use crate::validate::corrected_ts;

/// What the server knows about the request an event came in.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub received_at: DateTime<Utc>,
    /// Parsed from the `User-Agent` header once per request; the header itself is not kept.
    pub user_agent: UserAgentFacts,
    /// `CloudFront-Viewer-Country`, when the request came through CloudFront.
    pub viewer_country: Option<String>,
    /// The verified JWT `sub` on the signed-in route; `None` for anonymous traffic.
    pub verified_subject: Option<String>,
}

/// Families parsed from a user agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAgentFacts {
    pub browser: Option<String>,
    pub os: Option<String>,
    pub family: Option<String>,
    pub device_type: Option<DeviceType>,
    pub bot: bool,
}

static UA_EXTRACTOR: LazyLock<ua_parser::Extractor<'static>> = LazyLock::new(|| {
    let regexes: ua_parser::Regexes<'static> =
        serde_json::from_str(include_str!("../data/uap-regexes.json"))
            .expect("bundled uap-core regexes parse");
    ua_parser::Extractor::try_from(regexes).expect("bundled uap-core regexes compile")
});

/// Builds the user-agent parser now instead of on the first event.
pub fn warm_up_user_agent_parser() {
    LazyLock::force(&UA_EXTRACTOR);
}

fn known(family: &str) -> Option<String> {
    (family != "Other").then(|| family.to_owned())
}

pub fn parse_user_agent(ua: &str) -> UserAgentFacts {
    let (browser, os, device) = UA_EXTRACTOR.extract(ua);
    let family = device.as_ref().and_then(|d| known(&d.device));
    let bot = family.as_deref() == Some("Spider");
    UserAgentFacts {
        browser: browser.as_ref().and_then(|b| known(&b.family)),
        os: os.as_ref().and_then(|o| known(&o.os)),
        device_type: Some(device_type_from_user_agent(ua)),
        family,
        bot,
    }
}

/// Tablets first: Android tablets say "Android" without "Mobile"; iPads say "iPad".
fn device_type_from_user_agent(ua: &str) -> DeviceType {
    let has = |needle: &str| ua.contains(needle);
    if has("iPad") || has("Tablet") || (has("Android") && !has("Mobile")) {
        DeviceType::Tablet
    } else if has("Mobi") || has("iPhone") || has("Android") {
        DeviceType::Mobile
    } else {
        DeviceType::Desktop
    }
}

/// Turns a validated event into its stored form. Returns warnings for the
/// `props` entries that were dropped as personal data.
pub fn enrich(
    event: Event,
    meta: &RequestMeta,
    hasher: &mut BatchHasher,
) -> (StoredEvent, Vec<FieldError>) {
    let ua = meta.user_agent.clone();
    // Stored times have millisecond precision; derive everything from the same instant.
    let received_at = meta.received_at.trunc_subsecs(3);
    let mut warnings = Vec::new();
    let mut props = event.props;
    props.retain(|key, value| match prop_handling(key, value) {
        PropHandling::Keep => true,
        PropHandling::Drop => {
            warnings.push(FieldError::new(
                format!("$.props.{key}"),
                "dropped: personal data is not collected",
            ));
            false
        }
        PropHandling::Hash => {
            let hashed = match &*value {
                serde_json::Value::String(s) => hasher.hash(key, s),
                other => hasher.hash(key, &other.to_string()),
            };
            *value = serde_json::Value::String(hashed);
            true
        }
    });
    // On the signed-in route the verified subject is the user and the body's
    // claim is ignored; on the anonymous route anyone can claim any user_id,
    // so the claim is kept apart from verified users.
    let (user_id_hash, claimed_user_id_hash) = match &meta.verified_subject {
        Some(subject) => (Some(hasher.hash("user", subject)), None),
        None => (
            None,
            event
                .user_id
                .as_deref()
                .map(|id| hasher.hash("claimed_user", id)),
        ),
    };
    let country = meta
        .viewer_country
        .clone()
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .or(event.country);
    let stored = StoredEvent {
        schema_version: STORED_SCHEMA_VERSION,
        event_id: event.event_id,
        event_type: event.event_type,
        ts: corrected_ts(event.ts, event.sent_at, received_at).trunc_subsecs(3),
        client_ts: event.ts.trunc_subsecs(3),
        received_at,
        clock_skew_ms: event
            .sent_at
            .map(|sent| (received_at - sent).num_milliseconds()),
        session_id: event.session_id,
        anonymous_id_hash: hasher.hash("anonymous", &event.anonymous_id),
        user_id_hash,
        claimed_user_id_hash,
        page_url: sanitize_page_url(event.page_url),
        referrer: event.referrer.map(sanitize_referrer),
        device: StoredDevice {
            device_type: event
                .device_type
                .or(ua.device_type)
                .unwrap_or(DeviceType::Desktop),
            browser: ua.browser,
            os: ua.os,
            family: ua.family,
            bot: ua.bot,
        },
        geo: StoredGeo {
            country,
            city: event.city,
        },
        ecom: event.ecom,
        props,
        request_id: meta.request_id.clone(),
    };
    (stored, warnings)
}
