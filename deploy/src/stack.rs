//! One stack through CloudFormation: read its state, deploy a template
//! through a change set (summary, question, execution, live events), delete
//! it, and collect what failed from its events.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, ResourceStatus, StackEvent, StackStatus,
};
use aws_sdk_cloudformation::Client;
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};

use crate::aws::{is_not_found, AwsError};
use crate::progress::StackProgress;
use crate::protection::{allow_every_update, set_stack_policy, stack_policy};

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
    pub(crate) fn nth(&self, attempt: usize) -> Duration {
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
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    /// `StackDriftStatus` from the last drift detection (`NOT_CHECKED` when never run).
    pub drift: Option<String>,
}

impl StackState {
    /// A change or deletion is running.
    pub fn in_progress(&self) -> bool {
        is_changing(&self.status)
    }

    /// The stack runs a template (created, updated or rolled back to one).
    pub fn is_stable(&self) -> bool {
        matches!(
            self.status,
            StackStatus::CreateComplete
                | StackStatus::UpdateComplete
                | StackStatus::UpdateRollbackComplete
                | StackStatus::ImportComplete
                | StackStatus::ImportRollbackComplete
        )
    }

    /// Left behind by a first create that never completed: only deletion helps.
    pub fn is_failed_first_create(&self) -> bool {
        matches!(
            self.status,
            StackStatus::RollbackComplete | StackStatus::ReviewInProgress
        )
    }

    /// An operation failed and left the stack where only a hand helps.
    fn is_stuck(&self) -> bool {
        matches!(
            self.status,
            StackStatus::CreateFailed
                | StackStatus::DeleteFailed
                | StackStatus::RollbackFailed
                | StackStatus::UpdateFailed
                | StackStatus::UpdateRollbackFailed
                | StackStatus::ImportRollbackFailed
        )
    }
}

/// A change or deletion is running (a change set under review is not one).
pub fn is_changing(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::CreateInProgress
            | StackStatus::DeleteInProgress
            | StackStatus::ImportInProgress
            | StackStatus::ImportRollbackInProgress
            | StackStatus::RollbackInProgress
            | StackStatus::UpdateInProgress
            | StackStatus::UpdateCompleteCleanupInProgress
            | StackStatus::UpdateRollbackInProgress
            | StackStatus::UpdateRollbackCompleteCleanupInProgress
    )
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
    #[error("the change set for {stack} would {}: nothing was changed (the change set is deleted). Run `sbwctl deploy` without --yes to review it, or pass --allow-replace if losing that data is intended", describe_at_risk(.at_risk))]
    ReplacesData {
        stack: String,
        at_risk: Vec<ResourceChange>,
    },
}

fn describe_at_risk(at_risk: &[ResourceChange]) -> String {
    at_risk
        .iter()
        .map(ResourceChange::risk)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One resource's line of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// True, False or Conditional (Modify only).
    pub replacement: Option<String>,
}

impl ResourceChange {
    /// Replaced (a new resource, the old one deleted), maybe replaced, or
    /// removed from the stack.
    pub fn loses_the_resource(&self) -> bool {
        self.action == "Remove"
            || matches!(self.replacement.as_deref(), Some("True" | "Conditional"))
    }

    fn risk(&self) -> String {
        let what = match (self.action.as_str(), self.replacement.as_deref()) {
            ("Remove", _) => "remove",
            (_, Some("Conditional")) => "maybe replace",
            _ => "replace",
        };
        format!(
            "{what} the data resource {} ({})",
            self.logical_id, self.resource_type
        )
    }

    fn line(&self) -> String {
        let replacement = match self.replacement.as_deref() {
            Some("True") => " (replaced)",
            Some("Conditional") => " (may be replaced)",
            _ => "",
        };
        format!(
            "{:<7} {} {}{replacement}",
            self.action, self.logical_id, self.resource_type
        )
    }
}

/// Which data resources a change set may lose, and what the deploy does.
#[derive(Debug, Clone, Default)]
pub struct DataGuard {
    /// Logical ids of the stack's data resources
    /// ([`sbw_infra::render::RenderedStack::data_resources`]).
    pub data_resources: Vec<String>,
    /// `--allow-replace`: execute a change set that loses one anyway.
    pub allow_replace: bool,
    /// The environment is protected: the stack has a policy denying what an
    /// allowed replacement does, lifted while it runs.
    pub protected: bool,
}

/// What to do with a change set, given the data resources it may lose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No data resource is replaced or removed.
    Proceed,
    /// Some are, and `--allow-replace` says so: warn, then go on as usual.
    ProceedWarned(Vec<ResourceChange>),
    /// Some are: the operator is asked, with the warning above the question.
    AskWarned(Vec<ResourceChange>),
    /// Some are, and nobody is asked (`--yes`): refused.
    Refuse(Vec<ResourceChange>),
}

/// The guard over a change set's entries: a change set that replaces (or
/// may replace, or removes) a data resource runs only when the operator
/// answers the warning on a terminal, or passed `--allow-replace`.
pub fn decide(changes: &[ResourceChange], guard: &DataGuard, interactive: bool) -> Decision {
    let at_risk: Vec<ResourceChange> = changes
        .iter()
        .filter(|c| c.loses_the_resource() && guard.data_resources.contains(&c.logical_id))
        .cloned()
        .collect();
    match (at_risk.is_empty(), guard.allow_replace, interactive) {
        (true, _, _) => Decision::Proceed,
        (false, true, _) => Decision::ProceedWarned(at_risk),
        (false, false, true) => Decision::AskWarned(at_risk),
        (false, false, false) => Decision::Refuse(at_risk),
    }
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
            .cloned()
            .unwrap_or_else(|| StackStatus::from("")),
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
    /// The data resources the change set must not replace unasked.
    pub guard: DataGuard,
    /// Runs once the change set is confirmed, just before it executes, with
    /// its resource changes (the warehouse's data volume is detached there
    /// when the instance is replaced).
    pub before_execute: Option<BeforeExecute<'a>>,
    /// The CloudFormation service role the stack is changed with (the
    /// environment's deployer role, `sbwctl bootstrap`); `None` only for the
    /// deployer stack itself.
    pub role_arn: Option<&'a str>,
}

/// See [`StackChange::before_execute`].
#[derive(Clone, Copy)]
pub struct BeforeExecute<'a>(
    pub &'a dyn Fn(Vec<ResourceChange>) -> LocalBoxFuture<'a, Result<(), StackError>>,
);

impl std::fmt::Debug for BeforeExecute<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeExecute(..)")
    }
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

impl Outcome {
    /// As `deploy` and `bootstrap` print it.
    pub fn describe(self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Declined => "skipped (declined)",
        }
    }
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
                status: state.status.to_string(),
            })
        }
        Some(state) if state.is_failed_first_create() => {
            progress.line(format!(
                "{name} is in {} after a first create that did not complete: deleting it and creating it again",
                state.status
            ));
            delete(cfn, progress, &state, change.role_arn, poll).await?;
            None
        }
        Some(state) if state.is_stuck() => {
            return Err(StackError::Stuck {
                stack: name.to_owned(),
                status: state.status.to_string(),
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
        .set_role_arn(change.role_arn.map(str::to_owned))
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

    let Some(changes) = wait_for_change_set(cfn, name, &change_set_id, poll).await? else {
        delete_change_set(cfn, &change_set_id).await;
        let state = describe(cfn, &stack_id).await?;
        return Ok((
            Outcome::Unchanged,
            state.map(|s| s.outputs).unwrap_or_default(),
        ));
    };
    let mut summary: Vec<String> = changes.iter().map(ResourceChange::line).collect();
    if summary.is_empty() {
        summary.push("parameters or outputs only".to_owned());
    }
    for line in &summary {
        progress.line(format!("  {name}: {line}"));
    }
    let interactive = change.ask && progress.asks();
    let warned = match decide(&changes, &change.guard, interactive) {
        Decision::Proceed => false,
        Decision::Refuse(at_risk) => {
            delete_change_set(cfn, &change_set_id).await;
            return Err(StackError::ReplacesData {
                stack: name.to_owned(),
                at_risk,
            });
        }
        Decision::ProceedWarned(at_risk) | Decision::AskWarned(at_risk) => {
            progress.line(format!(
                "  {name}: !!! DATA AT RISK: this change set would {}. What they hold is lost unless kept by their UpdateReplacePolicy (a retained bucket or queue, a snapshot of the volume).",
                describe_at_risk(&at_risk)
            ));
            true
        }
    };
    progress.phase("waiting for confirmation");
    let verb = match change_set_type {
        ChangeSetType::Create => "Create",
        _ => "Update",
    };
    let question = format!(
        "{verb} {name} ({} change{}{})?",
        summary.len(),
        if summary.len() == 1 { "" } else { "s" },
        if warned {
            ", REPLACING DATA RESOURCES"
        } else {
            ""
        }
    );
    if change.ask && !progress.confirm(&question).await {
        delete_change_set(cfn, &change_set_id).await;
        progress.line(format!("{name}: skipped, change set deleted"));
        return Ok((Outcome::Declined, previous_outputs));
    }
    if let Some(BeforeExecute(hook)) = change.before_execute {
        hook(changes.clone()).await?;
    }
    let marker = newest_event_id(cfn, &stack_id).await?;
    // A protected stack's policy denies what the operator just allowed: lifted
    // for this change set only (ExecuteChangeSet takes no temporary policy).
    let protective_policy = stack_policy(&change.guard.data_resources)
        .filter(|_| warned && change.guard.protected && change_set_type == ChangeSetType::Update);
    if protective_policy.is_some() {
        set_stack_policy(cfn, &stack_id, &allow_every_update()).await?;
        progress.line(format!(
            "  {name}: stack policy lifted for this change set; it is set again when the change ends"
        ));
    }
    progress.phase("executing the change set");
    let executed = async {
        cfn.execute_change_set()
            .change_set_name(&change_set_id)
            .send()
            .await
            .map_err(|e| AwsError::new(format!("executing the change set of {name}"), &e))?;
        follow(cfn, progress, &stack_id, marker, poll).await
    }
    .await;
    if let Some(policy) = &protective_policy {
        set_stack_policy(cfn, &stack_id, policy).await?;
    }
    let (state, events) = executed?;
    match state.as_ref().map(|s| &s.status) {
        Some(StackStatus::CreateComplete) => Ok((Outcome::Created, outputs_of(state))),
        Some(StackStatus::UpdateComplete) => Ok((Outcome::Updated, outputs_of(state))),
        status => Err(StackError::Failed {
            stack: name.to_owned(),
            status: status.map(StackStatus::to_string).unwrap_or_default(),
            failures: failures(name, &events),
        }),
    }
}

fn outputs_of(state: Option<StackState>) -> BTreeMap<String, String> {
    state.map(|s| s.outputs).unwrap_or_default()
}

/// Waits until the change set is ready and returns its resource changes, or
/// `None` when it holds no change.
async fn wait_for_change_set(
    cfn: &Client,
    stack: &str,
    change_set_id: &str,
    poll: &PollTimes,
) -> Result<Option<Vec<ResourceChange>>, StackError> {
    for attempt in 0.. {
        let answer = cfn
            .describe_change_set()
            .change_set_name(change_set_id)
            .send()
            .await
            .map_err(|e| AwsError::new(format!("reading the change set of {stack}"), &e))?;
        match answer.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                // Every page: the guard must see every resource. The first
                // is this answer, so the rest follow its token (no paginator
                // starts from one).
                let mut changes = resource_changes(answer.changes());
                let mut token = answer.next_token().map(str::to_owned);
                while let Some(next) = token {
                    let page = cfn
                        .describe_change_set()
                        .change_set_name(change_set_id)
                        .next_token(next)
                        .send()
                        .await
                        .map_err(|e| {
                            AwsError::new(format!("reading the change set of {stack}"), &e)
                        })?;
                    changes.extend(resource_changes(page.changes()));
                    token = page.next_token().map(str::to_owned);
                }
                return Ok(Some(changes));
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

fn resource_changes(changes: &[aws_sdk_cloudformation::types::Change]) -> Vec<ResourceChange> {
    changes
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|r| ResourceChange {
            action: r.action().map_or("Change", |a| a.as_str()).to_owned(),
            logical_id: r.logical_resource_id().unwrap_or("?").to_owned(),
            resource_type: r.resource_type().unwrap_or_default().to_owned(),
            replacement: r.replacement().map(|r| r.as_str().to_owned()),
        })
        .collect()
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

/// Deletes the stack with `role_arn` (the deployer role) and follows it
/// until it is gone.
pub async fn delete(
    cfn: &Client,
    progress: &StackProgress<'_>,
    state: &StackState,
    role_arn: Option<&str>,
    poll: &PollTimes,
) -> Result<(), StackError> {
    progress.phase("deleting");
    let marker = newest_event_id(cfn, &state.stack_id).await?;
    cfn.delete_stack()
        .stack_name(&state.stack_id)
        .set_role_arn(role_arn.map(str::to_owned))
        .send()
        .await
        .map_err(|e| AwsError::new(format!("deleting stack {}", state.stack_id), &e))?;
    let (remaining, events) = follow(cfn, progress, &state.stack_id, marker, poll).await?;
    match remaining {
        None => Ok(()),
        Some(stack) => Err(StackError::Failed {
            failures: failures(&stack.stack_name, &events),
            stack: stack.stack_name,
            status: stack.status.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, id: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: action.to_owned(),
            logical_id: id.to_owned(),
            resource_type: "AWS::S3::Bucket".to_owned(),
            replacement: replacement.map(str::to_owned),
        }
    }

    fn guard(allow_replace: bool) -> DataGuard {
        DataGuard {
            data_resources: vec!["RawBucket".to_owned(), "DataVolume".to_owned()],
            allow_replace,
            protected: false,
        }
    }

    #[test]
    fn a_change_set_that_may_lose_a_data_resource_runs_only_when_answered_or_allowed() {
        let replaced = change("Modify", "RawBucket", Some("True"));
        let maybe = change("Modify", "DataVolume", Some("Conditional"));
        let removed = change("Remove", "RawBucket", None);
        let harmless = [
            change("Modify", "RawBucket", Some("False")),
            change("Add", "RawBucket", None),
            // Not a data resource: replacing it loses nothing.
            change("Modify", "Function", Some("True")),
            change("Remove", "Function", None),
        ];
        for interactive in [false, true] {
            for allow in [false, true] {
                assert_eq!(
                    decide(&harmless, &guard(allow), interactive),
                    Decision::Proceed
                );
            }
        }
        for at_risk in [&replaced, &maybe, &removed] {
            let changes: Vec<ResourceChange> =
                harmless.iter().cloned().chain([at_risk.clone()]).collect();
            let only = vec![at_risk.clone()];
            // --yes: refused.
            assert_eq!(
                decide(&changes, &guard(false), false),
                Decision::Refuse(only.clone())
            );
            // On a terminal: asked, with the warning.
            assert_eq!(
                decide(&changes, &guard(false), true),
                Decision::AskWarned(only.clone())
            );
            // --allow-replace: warned, then as usual.
            for interactive in [false, true] {
                assert_eq!(
                    decide(&changes, &guard(true), interactive),
                    Decision::ProceedWarned(only.clone())
                );
            }
        }
        // Without data resources (a guard that knows none) nothing is refused.
        assert_eq!(
            decide(
                std::slice::from_ref(&replaced),
                &DataGuard::default(),
                false
            ),
            Decision::Proceed
        );
        assert_eq!(
            describe_at_risk(&[replaced, maybe, removed]),
            "replace the data resource RawBucket (AWS::S3::Bucket), maybe replace the data resource DataVolume (AWS::S3::Bucket), remove the data resource RawBucket (AWS::S3::Bucket)"
        );
    }
}
