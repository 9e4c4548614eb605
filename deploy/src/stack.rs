//! One stack through CloudFormation: read its state, deploy a template
//! through a change set (summary, question, execution, live events), delete
//! it, and collect what failed from its events.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackEvent,
};
use aws_sdk_cloudformation::Client;
use sha2::{Digest, Sha256};

use crate::aws::{is_not_found, AwsError};
use crate::progress::StackProgress;

/// How often the deploy looks at a change set or stack in progress: quickly
/// at first (small changes finish in seconds), then every few seconds.
#[derive(Debug, Clone)]
pub struct PollTimes(pub Vec<Duration>);

impl Default for PollTimes {
    fn default() -> Self {
        PollTimes(
            [200, 500, 1000, 2000, 3000]
                .into_iter()
                .map(Duration::from_millis)
                .collect(),
        )
    }
}

impl PollTimes {
    fn nth(&self, attempt: usize) -> Duration {
        self.0
            .get(attempt)
            .or(self.0.last())
            .copied()
            .unwrap_or(Duration::from_secs(2))
    }
}

/// A stack as CloudFormation describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackState {
    pub stack_name: String,
    pub stack_id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    /// `StackDriftStatus` from the last drift detection (`NOT_CHECKED` when never run).
    pub drift: Option<String>,
}

impl StackState {
    /// A change or deletion is running.
    pub fn in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS") && self.status != "REVIEW_IN_PROGRESS"
    }

    /// The stack runs a template (created, updated or rolled back to one).
    pub fn is_stable(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_COMPLETE"
                | "UPDATE_COMPLETE"
                | "UPDATE_ROLLBACK_COMPLETE"
                | "IMPORT_COMPLETE"
                | "IMPORT_ROLLBACK_COMPLETE"
        )
    }

    /// Left behind by a first create that never completed: only deletion helps.
    pub fn is_failed_first_create(&self) -> bool {
        matches!(
            self.status.as_str(),
            "ROLLBACK_COMPLETE" | "REVIEW_IN_PROGRESS"
        )
    }
}

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

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("{stack} ended in {status}:{}", list(.failures))]
    Failed {
        stack: String,
        status: String,
        failures: Vec<ResourceFailure>,
    },
    #[error("{stack} is busy ({status}): wait until it finishes (sbwctl status shows it), then run the command again")]
    Busy { stack: String, status: String },
    #[error("{stack} is in {status}, which needs a hand: {advice}")]
    Stuck {
        stack: String,
        status: String,
        advice: &'static str,
    },
    #[error("the change set for {stack} failed: {reason}")]
    ChangeSetFailed { stack: String, reason: String },
}

fn list(failures: &[ResourceFailure]) -> String {
    if failures.is_empty() {
        return " no resource reported a reason".to_owned();
    }
    failures.iter().map(|f| format!("\n  - {f}")).collect()
}

/// The stack `name` (or stack id), or `None` when it does not exist.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<StackState>, AwsError> {
    let answer = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(answer) => answer,
        Err(error) if is_not_found(&error) => return Ok(None),
        Err(error) => return Err(AwsError::new(format!("reading stack {name}"), &error)),
    };
    let Some(stack) = answer.stacks().first() else {
        return Ok(None);
    };
    let pairs = |items: Vec<(Option<&str>, Option<&str>)>| {
        items
            .into_iter()
            .filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned())))
            .collect::<BTreeMap<_, _>>()
    };
    Ok(Some(StackState {
        stack_name: stack.stack_name().unwrap_or(name).to_owned(),
        stack_id: stack.stack_id().unwrap_or(name).to_owned(),
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        status_reason: stack.stack_status_reason().map(str::to_owned),
        parameters: pairs(
            stack
                .parameters()
                .iter()
                .map(|p| (p.parameter_key(), p.parameter_value()))
                .collect(),
        ),
        outputs: pairs(
            stack
                .outputs()
                .iter()
                .map(|o| (o.output_key(), o.output_value()))
                .collect(),
        ),
        drift: stack
            .drift_information()
            .and_then(|d| d.stack_drift_status())
            .map(|d| d.as_str().to_owned()),
    }))
}

/// The template a stack runs now.
async fn current_template_sha256(cfn: &Client, name: &str) -> Result<String, AwsError> {
    let answer = cfn
        .get_template()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("reading the template of {name}"), &e))?;
    Ok(hex::encode(Sha256::digest(
        answer.template_body().unwrap_or_default().as_bytes(),
    )))
}

/// What to deploy to one stack.
#[derive(Debug, Clone)]
pub struct StackChange<'a> {
    pub stack_name: &'a str,
    pub template: TemplateSource,
    pub template_sha256: &'a str,
    /// Parameters to pass; `None` keeps the stack's previous value.
    pub parameters: BTreeMap<String, Option<String>>,
    pub capabilities: &'a [&'static str],
    /// Ask the operator before executing (unless they said `--yes`).
    pub ask: bool,
}

#[derive(Debug, Clone)]
pub enum TemplateSource {
    Body(String),
    /// An S3 URL (templates over the inline limit).
    Url(String),
    /// The template the stack runs now (a change of parameters only).
    Previous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Created,
    Updated,
    /// The operator said no to the change set.
    Declined,
}

/// Whether `existing` already runs this template with these parameters.
pub async fn is_unchanged(
    cfn: &Client,
    existing: &StackState,
    change: &StackChange<'_>,
) -> Result<bool, AwsError> {
    if !existing.is_stable() {
        return Ok(false);
    }
    let same_parameters = change.parameters.iter().all(|(key, value)| match value {
        Some(value) => existing.parameters.get(key) == Some(value),
        None => existing.parameters.contains_key(key),
    });
    Ok(same_parameters
        && (matches!(change.template, TemplateSource::Previous)
            || current_template_sha256(cfn, &existing.stack_id).await? == change.template_sha256))
}

/// Deploys `change` through a change set, unless the stack already runs it.
/// Returns what happened and the stack's outputs.
pub async fn deploy(
    cfn: &Client,
    progress: &StackProgress<'_>,
    existing: Option<StackState>,
    change: &StackChange<'_>,
    poll: &PollTimes,
) -> Result<(Outcome, BTreeMap<String, String>), StackError> {
    let name = change.stack_name;
    let existing = match existing {
        Some(state) if state.in_progress() => {
            return Err(StackError::Busy {
                stack: name.to_owned(),
                status: state.status,
            })
        }
        Some(state) if state.is_failed_first_create() => {
            progress.line(format!(
                "{name} is in {} after a first create that did not complete: deleting it and creating it again",
                state.status
            ));
            delete(cfn, progress, &state, poll).await?;
            None
        }
        Some(state) if state.status.ends_with("_FAILED") => {
            return Err(StackError::Stuck {
                stack: name.to_owned(),
                status: state.status,
                advice: "see its events in the CloudFormation console; UPDATE_ROLLBACK_FAILED needs `aws cloudformation continue-update-rollback`, DELETE_FAILED a `sbwctl destroy`",
            })
        }
        other => other,
    };
    if let Some(state) = &existing {
        if is_unchanged(cfn, state, change).await? {
            return Ok((Outcome::Unchanged, state.outputs.clone()));
        }
    }
    let previous_outputs = existing
        .as_ref()
        .map(|s| s.outputs.clone())
        .unwrap_or_default();
    progress.phase("creating a change set");
    let change_set_type = match existing {
        Some(_) => ChangeSetType::Update,
        None => ChangeSetType::Create,
    };
    let change_set_name = format!("sbw-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S-%3f"));
    let mut request = cfn
        .create_change_set()
        .stack_name(name)
        .change_set_name(&change_set_name)
        .change_set_type(change_set_type.clone())
        .set_parameters(Some(
            change
                .parameters
                .iter()
                .map(|(key, value)| match value {
                    Some(value) => Parameter::builder()
                        .parameter_key(key)
                        .parameter_value(value)
                        .build(),
                    None => Parameter::builder()
                        .parameter_key(key)
                        .use_previous_value(true)
                        .build(),
                })
                .collect(),
        ))
        .set_capabilities(Some(
            change
                .capabilities
                .iter()
                .map(|c| Capability::from(*c))
                .collect(),
        ));
    request = match &change.template {
        TemplateSource::Body(body) => request.template_body(body),
        TemplateSource::Url(url) => request.template_url(url),
        TemplateSource::Previous => request.use_previous_template(true),
    };
    let created = request
        .send()
        .await
        .map_err(|e| AwsError::new(format!("creating a change set for {name}"), &e))?;
    let change_set_id = created.id().unwrap_or(&change_set_name).to_owned();
    let stack_id = created.stack_id().unwrap_or(name).to_owned();

    let Some(summary) = wait_for_change_set(cfn, name, &change_set_id, poll).await? else {
        delete_change_set(cfn, &change_set_id).await;
        let state = describe(cfn, &stack_id).await?;
        return Ok((
            Outcome::Unchanged,
            state.map(|s| s.outputs).unwrap_or_default(),
        ));
    };
    for line in &summary {
        progress.line(format!("  {name}: {line}"));
    }
    progress.phase("waiting for confirmation");
    let verb = match change_set_type {
        ChangeSetType::Create => "Create",
        _ => "Update",
    };
    let question = format!(
        "{verb} {name} ({} change{})?",
        summary.len(),
        if summary.len() == 1 { "" } else { "s" }
    );
    if change.ask && !progress.confirm(&question).await {
        delete_change_set(cfn, &change_set_id).await;
        progress.line(format!("{name}: skipped, change set deleted"));
        return Ok((Outcome::Declined, previous_outputs));
    }
    let marker = newest_event_id(cfn, &stack_id).await?;
    progress.phase("executing the change set");
    cfn.execute_change_set()
        .change_set_name(&change_set_id)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("executing the change set of {name}"), &e))?;
    let (state, events) = follow(cfn, progress, &stack_id, marker, poll).await?;
    let status = state.as_ref().map(|s| s.status.clone()).unwrap_or_default();
    match status.as_str() {
        "CREATE_COMPLETE" => Ok((Outcome::Created, outputs_of(state))),
        "UPDATE_COMPLETE" => Ok((Outcome::Updated, outputs_of(state))),
        _ => Err(StackError::Failed {
            stack: name.to_owned(),
            status,
            failures: failures(name, &events),
        }),
    }
}

fn outputs_of(state: Option<StackState>) -> BTreeMap<String, String> {
    state.map(|s| s.outputs).unwrap_or_default()
}

/// Waits until the change set is ready and returns its summary lines, or
/// `None` when it holds no change.
async fn wait_for_change_set(
    cfn: &Client,
    stack: &str,
    change_set_id: &str,
    poll: &PollTimes,
) -> Result<Option<Vec<String>>, StackError> {
    for attempt in 0.. {
        let answer = cfn
            .describe_change_set()
            .change_set_name(change_set_id)
            .send()
            .await
            .map_err(|e| AwsError::new(format!("reading the change set of {stack}"), &e))?;
        match answer.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                let mut lines: Vec<String> = answer
                    .changes()
                    .iter()
                    .filter_map(|c| c.resource_change())
                    .map(|r| {
                        let replacement = match r.replacement().map(|r| r.as_str()) {
                            Some("True") => " (replaced)",
                            Some("Conditional") => " (may be replaced)",
                            _ => "",
                        };
                        format!(
                            "{:<7} {} {}{replacement}",
                            r.action().map(|a| a.as_str()).unwrap_or("Change"),
                            r.logical_resource_id().unwrap_or("?"),
                            r.resource_type().unwrap_or_default(),
                        )
                    })
                    .collect();
                if answer.next_token().is_some() {
                    lines.push("... and more (see the change set in the console)".to_owned());
                }
                if lines.is_empty() {
                    lines.push("parameters or outputs only".to_owned());
                }
                return Ok(Some(lines));
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = answer.status_reason().unwrap_or("no reason given");
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    return Ok(None);
                }
                return Err(StackError::ChangeSetFailed {
                    stack: stack.to_owned(),
                    reason: reason.to_owned(),
                });
            }
            _ => tokio::time::sleep(poll.nth(attempt)).await,
        }
    }
    unreachable!("the loop above only ends by returning")
}

/// Best effort: a change set left behind is harmless and expires with the stack.
async fn delete_change_set(cfn: &Client, change_set_id: &str) {
    let _ = cfn
        .delete_change_set()
        .change_set_name(change_set_id)
        .send()
        .await;
}

async fn newest_event_id(cfn: &Client, stack_id: &str) -> Result<Option<String>, AwsError> {
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
async fn follow(
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
                let finished = done.filter(|s| s.status != "DELETE_COMPLETE");
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

/// The failed resources and their reasons, from events oldest first. Resources
/// cancelled because another one failed are left out when a cause is known.
pub fn failures(stack_name: &str, events: &[StackEvent]) -> Vec<ResourceFailure> {
    let failed: Vec<ResourceFailure> = events
        .iter()
        .filter(|e| {
            e.resource_status()
                .is_some_and(|s| s.as_str().ends_with("_FAILED"))
        })
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

/// Deletes the stack and follows it until it is gone.
pub async fn delete(
    cfn: &Client,
    progress: &StackProgress<'_>,
    state: &StackState,
    poll: &PollTimes,
) -> Result<(), StackError> {
    progress.phase("deleting");
    let marker = newest_event_id(cfn, &state.stack_id).await?;
    cfn.delete_stack()
        .stack_name(&state.stack_id)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("deleting stack {}", state.stack_id), &e))?;
    let (remaining, events) = follow(cfn, progress, &state.stack_id, marker, poll).await?;
    match remaining {
        None => Ok(()),
        Some(stack) => Err(StackError::Failed {
            failures: failures(&stack.stack_name, &events),
            stack: stack.stack_name,
            status: stack.status,
        }),
    }
}
