//! `sbwctl alarms`: the environment's alarms that are firing, or fired since
//! a time, with when they started and the runbook that answers them (their
//! description ends in "(runbook: NAME)").

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{HistoryItemType, MetricAlarm, StateValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsError, RegionClients};

/// One alarm of the environment that fired in the window or fires now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredAlarm {
    pub name: String,
    /// ALARM, OK or INSUFFICIENT_DATA.
    pub state: String,
    /// When the alarm entered its current state.
    pub state_since: Option<DateTime<Utc>>,
    /// When it last went into ALARM within the window (or before, if it still is).
    pub last_fired: Option<DateTime<Utc>>,
    /// How many times it went into ALARM within the window.
    pub times_fired: usize,
    pub reason: String,
    pub runbook: Option<String>,
}

impl FiredAlarm {
    pub fn is_firing(&self) -> bool {
        self.state == StateValue::Alarm.as_str()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmsReport {
    pub deployment: String,
    pub since: DateTime<Utc>,
    /// Firing first, then the most recently fired.
    pub alarms: Vec<FiredAlarm>,
}

impl AlarmsReport {
    pub fn firing(&self) -> impl Iterator<Item = &FiredAlarm> {
        self.alarms.iter().filter(|a| a.is_firing())
    }
}

/// The runbook an alarm's description names: "... (runbook: NAME)".
pub fn runbook_of(description: &str) -> Option<&str> {
    let start = description.rfind("(runbook: ")? + "(runbook: ".len();
    let name = description[start..].split(')').next()?.trim();
    (!name.is_empty() && description[start..].contains(')')).then_some(name)
}

/// The alarms named `<alarm_prefix>...` that fire now or went into ALARM
/// since `since`.
pub async fn alarms(
    clients: &RegionClients,
    deployment: &str,
    alarm_prefix: &str,
    since: DateTime<Utc>,
) -> Result<AlarmsReport, AwsError> {
    let (current, history) = tokio::join!(
        current_alarms(clients, alarm_prefix),
        entries_into_alarm(clients, alarm_prefix, since)
    );
    let (current, history) = (current?, history?);
    let mut alarms: Vec<FiredAlarm> = current
        .into_iter()
        .filter_map(|alarm| {
            let fired = history.get(&alarm.name);
            let times_fired = fired.map_or(0, Vec::len);
            let last_fired = fired.and_then(|times| times.iter().max().copied());
            let firing = alarm.state == StateValue::Alarm.as_str();
            (firing || times_fired > 0).then(|| FiredAlarm {
                last_fired: last_fired.or(if firing { alarm.state_since } else { None }),
                times_fired,
                ..alarm
            })
        })
        .collect();
    alarms.sort_by(|a, b| {
        (b.is_firing(), b.last_fired)
            .cmp(&(a.is_firing(), a.last_fired))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(AlarmsReport {
        deployment: deployment.to_owned(),
        since,
        alarms,
    })
}

async fn current_alarms(
    clients: &RegionClients,
    alarm_prefix: &str,
) -> Result<Vec<FiredAlarm>, AwsError> {
    let alarms = metric_alarms(clients, alarm_prefix, None).await?;
    Ok(alarms
        .iter()
        .map(|a| FiredAlarm {
            name: a.alarm_name().unwrap_or_default().to_owned(),
            state: a
                .state_value()
                .map_or("INSUFFICIENT_DATA", StateValue::as_str)
                .to_owned(),
            state_since: a.state_updated_timestamp().and_then(to_chrono),
            last_fired: None,
            times_fired: 0,
            reason: a.state_reason().unwrap_or_default().to_owned(),
            runbook: a
                .alarm_description()
                .and_then(runbook_of)
                .map(str::to_owned),
        })
        .collect())
}

/// Every metric alarm named `<alarm_prefix>...`, in `state` when given.
pub(crate) async fn metric_alarms(
    clients: &RegionClients,
    alarm_prefix: &str,
    state: Option<StateValue>,
) -> Result<Vec<MetricAlarm>, AwsError> {
    let mut pages = clients
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix(alarm_prefix)
        .set_state_value(state)
        .into_paginator()
        .send();
    let mut alarms = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("reading CloudWatch alarms", &e))?;
        alarms.extend(page.metric_alarms().iter().cloned());
    }
    Ok(alarms)
}

/// The state change recorded in an alarm history item's `HistoryData`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateChange {
    new_state: State,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    state_value: String,
}

/// When each alarm of the prefix went into ALARM since `since`. The history
/// API takes no name prefix: one paged read of the region's state changes,
/// filtered here, costs fewer calls than one read per alarm.
async fn entries_into_alarm(
    clients: &RegionClients,
    alarm_prefix: &str,
    since: DateTime<Utc>,
) -> Result<BTreeMap<String, Vec<DateTime<Utc>>>, AwsError> {
    let mut fired: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut pages = clients
        .cloudwatch
        .describe_alarm_history()
        .history_item_type(HistoryItemType::StateUpdate)
        .start_date(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            since.timestamp_millis(),
        ))
        .end_date(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            Utc::now().timestamp_millis(),
        ))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new("reading the CloudWatch alarm history", &e))?;
        for item in page.alarm_history_items() {
            let (Some(name), Some(at)) = (item.alarm_name(), item.timestamp()) else {
                continue;
            };
            let into_alarm = item
                .history_data()
                .and_then(|data| serde_json::from_str::<StateChange>(data).ok())
                .is_some_and(|change| change.new_state.state_value == StateValue::Alarm.as_str());
            if name.starts_with(alarm_prefix) && into_alarm {
                fired
                    .entry(name.to_owned())
                    .or_default()
                    .extend(to_chrono(at));
            }
        }
    }
    Ok(fired)
}

fn to_chrono(at: &aws_sdk_cloudwatch::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(at.to_millis().ok()?)
}

impl AlarmsReport {
    /// The report for a terminal.
    pub fn to_text(&self) -> String {
        let time = |t: Option<DateTime<Utc>>| {
            t.map_or("-".to_owned(), |t| {
                t.format("%Y-%m-%d %H:%M UTC").to_string()
            })
        };
        let mut out = format!(
            "{}: {} firing, {} fired since {}\n",
            self.deployment,
            self.firing().count(),
            self.alarms.len() - self.firing().count(),
            time(Some(self.since))
        );
        if self.alarms.is_empty() {
            return out;
        }
        out.push_str(&format!(
            "\n{:<40} {:<17} {:<20} {:<20} {:>5}  RUNBOOK\n",
            "ALARM", "STATE", "SINCE", "LAST FIRED", "TIMES"
        ));
        for alarm in &self.alarms {
            out.push_str(&format!(
                "{:<40} {:<17} {:<20} {:<20} {:>5}  {}\n",
                alarm.name,
                alarm.state,
                time(alarm.state_since),
                time(alarm.last_fired),
                alarm.times_fired,
                alarm
                    .runbook
                    .as_deref()
                    .map_or("-".to_owned(), |r| format!("sbwctl runbook show {r}"))
            ));
        }
        for alarm in self.firing() {
            out.push_str(&format!("\n{}: {}", alarm.name, alarm.reason));
        }
        if self.firing().next().is_some() {
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::runbook_of;

    #[test]
    fn the_runbook_is_the_name_in_the_description() {
        assert_eq!(
            runbook_of("Events are waiting in the dead-letter queue (runbook: dlq)"),
            Some("dlq")
        );
        assert_eq!(
            runbook_of("The warehouse is 135 (minutes) behind (runbook: freshness)"),
            Some("freshness")
        );
        assert_eq!(runbook_of("no runbook here"), None);
        assert_eq!(runbook_of("unfinished (runbook: dlq"), None);
        assert_eq!(runbook_of("empty (runbook: )"), None);
    }
}
