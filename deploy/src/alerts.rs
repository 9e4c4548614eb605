//! `sbwctl alerts test`: a test notification through the alarm topic, so a
//! new subscriber knows pages reach them, and the topic's subscriptions
//! with their confirmation state next to the ones the config asks for.

use chrono::Utc;
use serde::Serialize;

use crate::aws::{AwsError, RegionClients};

/// A subscription's state: e-mail and HTTPS endpoints must confirm first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    Confirmed,
    /// Nothing reaches it until the recipient confirms (the link AWS sent).
    Pending,
    /// The config asks for it, but the topic has no such subscription (not deployed yet).
    NotSubscribed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    /// email, sms or https.
    pub protocol: String,
    /// The address; a webhook shows its scheme and host only (its path is a secret).
    pub endpoint: String,
    pub state: Confirmation,
    /// Whether the config lists it (a subscription added by hand is not).
    pub configured: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertTest {
    pub topic_arn: String,
    /// SNS's id of the published test message.
    pub message_id: String,
    pub subscribers: Vec<Subscriber>,
}

impl AlertTest {
    /// Subscribers the config lists that the test message does not reach.
    pub fn unreached(&self) -> impl Iterator<Item = &Subscriber> {
        self.subscribers
            .iter()
            .filter(|s| s.configured && s.state != Confirmation::Confirmed)
    }
}

/// An endpoint the config asks for: (protocol, endpoint).
pub type Wanted = (&'static str, String);

/// Publishes a test message to `topic_arn` and lists its subscriptions
/// against `wanted`.
pub async fn test(
    clients: &RegionClients,
    deployment: &str,
    topic_arn: &str,
    wanted: &[Wanted],
) -> Result<AlertTest, AwsError> {
    let sent = clients
        .sns
        .publish()
        .topic_arn(topic_arn)
        .subject(format!("SBW {deployment}: test alert"))
        .message(format!(
            "This is a test notification from `sbwctl alerts test`, sent {}. \
             If it reached you, the alarms of {deployment} page you too. Nothing is wrong.",
            Utc::now().format("%Y-%m-%d %H:%M UTC")
        ))
        .send()
        .await
        .map_err(|e| AwsError::new(format!("publishing to {topic_arn}"), &e))?;
    let mut subscribers = Vec::new();
    let mut pages = clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| AwsError::new(format!("listing the subscriptions of {topic_arn}"), &e))?;
        for subscription in page.subscriptions() {
            let protocol = subscription.protocol().unwrap_or_default().to_owned();
            let endpoint = subscription.endpoint().unwrap_or_default();
            let state = match subscription.subscription_arn() {
                Some(arn) if arn.starts_with("arn:") => Confirmation::Confirmed,
                _ => Confirmation::Pending,
            };
            subscribers.push(Subscriber {
                configured: wanted.iter().any(|(p, e)| *p == protocol && e == endpoint),
                endpoint: shown(&protocol, endpoint),
                protocol,
                state,
            });
        }
    }
    for (protocol, endpoint) in wanted {
        let endpoint = shown(protocol, endpoint);
        if !subscribers
            .iter()
            .any(|s| s.protocol == *protocol && s.endpoint == endpoint)
        {
            subscribers.push(Subscriber {
                protocol: (*protocol).to_owned(),
                endpoint,
                state: Confirmation::NotSubscribed,
                configured: true,
            });
        }
    }
    Ok(AlertTest {
        topic_arn: topic_arn.to_owned(),
        message_id: sent.message_id().unwrap_or_default().to_owned(),
        subscribers,
    })
}

/// A webhook URL carries its secret in the path: show `https://host/…`.
fn shown(protocol: &str, endpoint: &str) -> String {
    match (protocol, endpoint.split_once("://")) {
        ("https" | "http", Some((scheme, rest))) => {
            let host = rest.split(['/', '?']).next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        _ => endpoint.to_owned(),
    }
}

impl AlertTest {
    /// The result for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "published a test notification to {} (message {})\n\n{:<6} {:<16} {:<9} ENDPOINT\n",
            self.topic_arn, self.message_id, "PROTO", "STATE", "IN CONFIG"
        );
        for s in &self.subscribers {
            let state = match s.state {
                Confirmation::Confirmed => "confirmed",
                Confirmation::Pending => "pending",
                Confirmation::NotSubscribed => "not subscribed",
            };
            out.push_str(&format!(
                "{:<6} {:<16} {:<9} {}\n",
                s.protocol,
                state,
                if s.configured { "yes" } else { "no" },
                s.endpoint
            ));
        }
        let unreached: Vec<&Subscriber> = self.unreached().collect();
        if !unreached.is_empty() {
            out.push_str(&format!(
                "\n{} configured endpoint(s) will not get pages: a pending one must follow the link in AWS's confirmation message; one not subscribed appears after `sbwctl deploy`.\n",
                unreached.len()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn a_webhook_shows_its_host_only() {
        assert_eq!(
            shown(
                "https",
                "https://hooks.example.com/services/T0/B0/secret?x=1"
            ),
            "https://hooks.example.com/…"
        );
        assert_eq!(shown("email", "ops@example.com"), "ops@example.com");
        assert_eq!(shown("sms", "+84901234567"), "+84901234567");
    }
}
