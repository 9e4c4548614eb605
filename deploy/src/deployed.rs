//! What the on-call commands need from a deployed environment: a stack's
//! outputs (function names, the data volume), or one sentence saying that
//! the stack is not there and that `sbwctl deploy` makes it.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::StackStatus;
use sbw_infra::render::Manifest;

use crate::aws::{AwsError, FailedCall, RegionClients};
use crate::progress::Progress;
use crate::stack::{self, DataGuard, Outcome, PollTimes, StackChange, StackError, TemplateSource};
use crate::Aws;

#[derive(Debug, thiserror::Error)]
pub enum DeployedError {
    #[error("stack {stack_name} is not deployed in {region}: run `sbwctl deploy --config … --env …` first")]
    NotDeployed { stack_name: String, region: String },
    #[error("stack {stack_name} has no output {output} ({status}): run `sbwctl deploy` to bring it up to date")]
    MissingOutput {
        stack_name: String,
        status: String,
        output: String,
    },
    #[error("this environment has no {stack} stack")]
    NotInManifest { stack: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl FailedCall for DeployedError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            DeployedError::Aws(error) => Some(error),
            _ => None,
        }
    }
}

/// How a parameter change goes through: the rendered stacks (their
/// capabilities and data resources), the deployer role, whether the change
/// set is shown and asked about first, and whether it may replace a data
/// resource (a restore replaces the data volume on purpose: said, not refused).
#[derive(Clone, Copy)]
pub struct Through<'a> {
    pub manifest: &'a Manifest,
    pub role_arn: &'a str,
    pub ask: bool,
    pub allow_replace: bool,
}

/// A deployed stack of the environment: its name, region and outputs.
#[derive(Debug, Clone)]
pub struct DeployedStack {
    pub stack_name: String,
    pub region: String,
    pub status: StackStatus,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
}

impl DeployedStack {
    /// Reads the environment's stack `name` (e.g. "etl").
    pub async fn read(
        aws: &Aws,
        manifest: &Manifest,
        name: &str,
    ) -> Result<DeployedStack, DeployedError> {
        let rendered = manifest
            .stack(name)
            .ok_or_else(|| DeployedError::NotInManifest {
                stack: name.to_owned(),
            })?;
        let clients = aws.region(&rendered.region);
        let not_deployed = || DeployedError::NotDeployed {
            stack_name: rendered.stack_name.clone(),
            region: rendered.region.clone(),
        };
        let state = stack::describe(&clients.cloudformation, &rendered.stack_name)
            .await?
            .filter(|s| s.status != StackStatus::DeleteComplete)
            .ok_or_else(not_deployed)?;
        Ok(DeployedStack {
            stack_name: state.stack_name,
            region: rendered.region.clone(),
            status: state.status,
            parameters: state.parameters,
            outputs: state.outputs,
        })
    }

    /// The output `key`; a stack deployed before the output existed (or one
    /// whose first create failed) has none.
    pub fn output(&self, key: &str) -> Result<&str, DeployedError> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| DeployedError::MissingOutput {
                stack_name: self.stack_name.clone(),
                status: self.status.to_string(),
                output: key.to_owned(),
            })
    }
}

impl DeployedStack {
    /// Sets `changes` on the stack with the template it runs now (the other
    /// parameters keep their values), through a change set.
    pub async fn change_parameters(
        &self,
        clients: &RegionClients,
        through: Through<'_>,
        changes: &[(String, String)],
        progress: &Progress,
        poll: &PollTimes,
    ) -> Result<(Outcome, BTreeMap<String, String>), StackError> {
        let parameters = self
            .parameters
            .keys()
            .map(|key| {
                let value = changes
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone());
                (key.clone(), value)
            })
            .collect();
        let manifest = through.manifest;
        let rendered = manifest
            .stacks
            .iter()
            .find(|s| s.stack_name == self.stack_name);
        let capabilities = rendered.map(|s| s.capabilities.clone()).unwrap_or_default();
        let change = StackChange {
            stack_name: &self.stack_name,
            template: TemplateSource::Previous,
            template_sha256: "",
            parameters,
            capabilities: &capabilities,
            ask: through.ask,
            guard: DataGuard {
                data_resources: rendered
                    .map(|s| s.data_resources().into_iter().map(|(id, _)| id).collect())
                    .unwrap_or_default(),
                allow_replace: through.allow_replace,
                protected: manifest.protected,
            },
            before_execute: None,
            role_arn: Some(through.role_arn),
        };
        let existing = stack::describe(&clients.cloudformation, &self.stack_name).await?;
        let spinner = progress.start(&self.stack_name, "creating a change set");
        stack::deploy(&clients.cloudformation, &spinner, existing, &change, poll).await
    }
}
