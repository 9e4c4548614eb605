//! What the on-call commands need from a deployed environment: a stack's
//! outputs (function names, the data volume), or one sentence saying that
//! the stack is not there and that `sbwctl deploy` makes it.

use std::collections::BTreeMap;

use sbw_infra::render::Manifest;

use crate::aws::AwsError;
use crate::stack;
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

/// An error that may be a failed AWS call underneath, so that a command can
/// exit with the code for one.
pub trait FailedCall {
    fn failed_call(&self) -> Option<&AwsError>;
}

impl FailedCall for DeployedError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            DeployedError::Aws(error) => Some(error),
            _ => None,
        }
    }
}

/// A deployed stack of the environment: its name, region and outputs.
#[derive(Debug, Clone)]
pub struct DeployedStack {
    pub stack_name: String,
    pub region: String,
    pub status: String,
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
            .filter(|s| s.status != "DELETE_COMPLETE")
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
                status: self.status.clone(),
                output: key.to_owned(),
            })
    }
}
