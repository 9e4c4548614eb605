//! A stack's events: followed live while it changes, and what failed.

use std::collections::BTreeSet;

use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent, StackStatus};
use aws_sdk_cloudformation::Client;

use super::{describe, PollTimes, StackState};
use crate::aws::AwsError;
use crate::progress::StackProgress;

/// A resource that failed, from the stack's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFailure {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

impl std::fmt::Display for ResourceFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) {}: {}",
            self.logical_id, self.resource_type, self.status, self.reason
        )
    }
}

pub(super) async fn newest_event_id(
    cfn: &Client,
    stack_id: &str,
) -> Result<Option<String>, AwsError> {
    let answer = cfn
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("reading the events of {stack_id}"), &e))?;
    Ok(answer
        .stack_events()
        .first()
        .and_then(|e| e.event_id())
        .map(str::to_owned))
}

/// Events after `marker`, oldest first.
async fn events_since(
    cfn: &Client,
    stack_id: &str,
    marker: Option<&str>,
) -> Result<Vec<StackEvent>, AwsError> {
    let mut newest_first = Vec::new();
    let mut pages = cfn
        .describe_stack_events()
        .stack_name(stack_id)
        .into_paginator()
        .send();
    'pages: while let Some(answer) = pages.next().await {
        let answer =
            answer.map_err(|e| AwsError::new(format!("reading the events of {stack_id}"), &e))?;
        for event in answer.stack_events() {
            if marker.is_some() && event.event_id() == marker {
                break 'pages;
            }
            newest_first.push(event.clone());
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// Prints the stack's events as they come until it stops changing; returns
/// its final state (`None` once deleted) and every event since `marker`.
pub(super) async fn follow(
    cfn: &Client,
    progress: &StackProgress<'_>,
    stack_id: &str,
    mut marker: Option<String>,
    poll: &PollTimes,
) -> Result<(Option<StackState>, Vec<StackEvent>), AwsError> {
    let mut all = Vec::new();
    let mut seen = BTreeSet::new();
    for attempt in 0.. {
        let state = describe(cfn, stack_id).await?;
        let events = events_since(cfn, stack_id, marker.as_deref()).await?;
        for event in events {
            if !seen.insert(event.event_id().unwrap_or_default().to_owned()) {
                continue;
            }
            let line = event_line(&event);
            progress.status(&line);
            progress.line(format!("  {line}"));
            marker = event.event_id().map(str::to_owned);
            all.push(event);
        }
        match state {
            Some(state) if state.in_progress() => tokio::time::sleep(poll.nth(attempt)).await,
            done => {
                let finished = done.filter(|s| s.status != StackStatus::DeleteComplete);
                return Ok((finished, all));
            }
        }
    }
    unreachable!("the loop above only ends by returning")
}

fn event_line(event: &StackEvent) -> String {
    let reason = event
        .resource_status_reason()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!(
        "{} {} {}{reason}",
        event
            .resource_status()
            .map(|s| s.as_str())
            .unwrap_or_default(),
        event.logical_resource_id().unwrap_or_default(),
        event.resource_type().unwrap_or_default(),
    )
}

fn is_failure(status: &ResourceStatus) -> bool {
    matches!(
        status,
        ResourceStatus::CreateFailed
            | ResourceStatus::DeleteFailed
            | ResourceStatus::ExportFailed
            | ResourceStatus::ExportRollbackFailed
            | ResourceStatus::ImportFailed
            | ResourceStatus::ImportRollbackFailed
            | ResourceStatus::RollbackFailed
            | ResourceStatus::UpdateFailed
            | ResourceStatus::UpdateRollbackFailed
    )
}

/// The failed resources and their reasons, from events oldest first. Resources
/// cancelled because another one failed are left out when a cause is known.
pub fn failures(stack_name: &str, events: &[StackEvent]) -> Vec<ResourceFailure> {
    let failed: Vec<ResourceFailure> = events
        .iter()
        .filter(|e| e.resource_status().is_some_and(is_failure))
        .map(|e| ResourceFailure {
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e
                .resource_status_reason()
                .unwrap_or("no reason given")
                .to_owned(),
        })
        .collect();
    let is_cause =
        |f: &&ResourceFailure| f.logical_id != stack_name && !f.reason.contains("cancelled");
    if failed.iter().any(|f| is_cause(&f)) {
        failed.iter().filter(is_cause).cloned().collect()
    } else {
        failed
    }
}
