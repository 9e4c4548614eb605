//! `sbwctl bootstrap`: the deployer stack of an environment (the
//! CloudFormation service role every stack is deployed with, and the
//! permissions boundary of the roles they create), deployed once with an
//! administrator's credentials; and the lookup of that role by every command
//! that changes or deletes a stack.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::StackStatus;
use sbw_infra::config::Deployment;
use sbw_infra::iam;
use sbw_infra::render::Manifest;

use crate::aws::{check_account, AwsError};
use crate::deploy::{DeployError, StackReport};
use crate::progress::Progress;
use crate::stack::{self, DataGuard, PollTimes, StackChange, TemplateSource};
use crate::Aws;

/// The environment has no deployer role yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stacks of {prefix} are deployed with the CloudFormation role of stack {stack} in {region}, which {state}: an administrator runs `sbwctl bootstrap --config <file> --env {environment}` once with administrator credentials, then run this command again")]
pub struct NotBootstrapped {
    pub prefix: String,
    pub environment: String,
    pub stack: String,
    pub region: String,
    /// "does not exist", "is in ROLLBACK_COMPLETE", ...
    pub state: String,
}

/// The deployer role's ARN, from the deployer stack's output.
pub async fn deployer_role<E>(aws: &Aws, deployment: &Deployment) -> Result<String, E>
where
    E: From<AwsError> + From<NotBootstrapped>,
{
    let [arn] = deployer_outputs::<E, 1>(aws, deployment, [iam::DEPLOYER_ROLE_OUTPUT]).await?;
    Ok(arn)
}

/// The deployer stack's outputs `names`, in that order; a stack without one
/// of them (not bootstrapped, or by an older `sbwctl`) is `NotBootstrapped`.
pub async fn deployer_outputs<E, const N: usize>(
    aws: &Aws,
    deployment: &Deployment,
    names: [&str; N],
) -> Result<[String; N], E>
where
    E: From<AwsError> + From<NotBootstrapped>,
{
    let region = deployment.region.to_string();
    let stack = iam::deployer_stack_name(deployment);
    let state = stack::describe(&aws.region(&region).cloudformation, &stack).await?;
    let missing = |state: String| {
        E::from(NotBootstrapped {
            prefix: deployment.prefix(),
            environment: deployment.environment.clone(),
            stack: stack.clone(),
            region: region.clone(),
            state,
        })
    };
    let Some(state) = state else {
        return Err(missing("does not exist".to_owned()));
    };
    let mut values = Vec::with_capacity(N);
    for name in names {
        match state.outputs.get(name) {
            Some(value) if !value.is_empty() && state.status != StackStatus::DeleteInProgress => {
                values.push(value.clone())
            }
            _ => {
                return Err(missing(format!(
                    "is in {} without a {name} output",
                    state.status
                )))
            }
        }
    }
    Ok(values
        .try_into()
        .expect("one value for each name, or an early return"))
}

/// Creates or updates the deployer stack (a no-op when unchanged).
pub async fn bootstrap(
    aws: &Aws,
    deployment: &Deployment,
    manifest: &Manifest,
    poll: &PollTimes,
    progress: &Progress,
) -> Result<StackReport, DeployError> {
    let stack = &manifest.deployer;
    let clients = aws.region(&stack.region);
    check_account::<DeployError>(clients, deployment).await?;
    let spinner = progress.start(&stack.stack_name, "reading its state");
    let existing = stack::describe(&clients.cloudformation, &stack.stack_name).await?;
    let change = StackChange {
        stack_name: &stack.stack_name,
        template: TemplateSource::Body(stack.body.clone()),
        template_sha256: &stack.sha256,
        parameters: BTreeMap::new(),
        capabilities: &stack.capabilities,
        ask: true,
        // No data in it: nothing to guard.
        guard: DataGuard::default(),
        before_execute: None,
        // Deployed with the caller's (administrator's) own credentials.
        role_arn: None,
    };
    let (outcome, outputs) =
        stack::deploy(&clients.cloudformation, &spinner, existing, &change, poll)
            .await
            .map_err(|error| DeployError::Stacks {
                failed: vec![(stack.stack_name.clone(), error)],
                not_started: vec![],
            })?;
    Ok(StackReport::new(stack, outcome, outputs))
}
