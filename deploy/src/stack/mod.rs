//! One stack through CloudFormation: read its state, deploy a template
//! through a change set (summary, question, execution, live events), delete
//! it, and collect what failed from its events. Its state is read in
//! `state`, the change set weighed in `guard`, the events followed in
//! `events`; this file is the deploy's one sequence.
//!
//! Over 400 lines on purpose: the steps of `deploy` read best in one place.

mod events;
mod guard;
mod state;

use events::{follow, newest_event_id};
use guard::describe_at_risk;

pub use events::{failures, ResourceFailure};
pub use guard::{decide, DataGuard, Decision, ResourceChange};
pub use state::{describe, is_changing, StackState};

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackStatus,
};
use aws_sdk_cloudformation::Client;
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};

use crate::aws::{AwsError, FailedCall};
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

impl FailedCall for StackError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            StackError::Aws(error) => Some(error),
            _ => None,
        }
    }
}

/// The failed AWS call under stacks that failed, when every one of them
/// failed on a call (none failed to change).
pub fn all_failed_calls(failed: &[(String, StackError)]) -> Option<&AwsError> {
    let calls: Option<Vec<&AwsError>> = failed.iter().map(|(_, e)| e.failed_call()).collect();
    calls?.first().copied()
}

fn list(failures: &[ResourceFailure]) -> String {
    if failures.is_empty() {
        return " no resource reported a reason".to_owned();
    }
    failures.iter().map(|f| format!("\n  - {f}")).collect()
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
