//! A stack's state as CloudFormation describes it, and what its status means.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::StackStatus;
use aws_sdk_cloudformation::Client;

use crate::aws::{is_not_found, AwsError};

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
    pub(super) fn is_stuck(&self) -> bool {
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
