//! How a deploy fails, in the operator's words: a build for the wrong
//! architecture, the wrong account, no bootstrap, or the stacks that failed
//! and those not started because of them.

use sbw_packaging::BuildError;

use crate::aws::{AwsError, FailedCall, WrongAccount};
use crate::bootstrap::NotBootstrapped;
use crate::plan::PlanError;
use crate::stack::StackError;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("the packages in {dir} are built for {built}, but this environment runs {wanted} Lambdas (ingest.architecture): run `sbwctl build --arch {wanted} --out {dir}`")]
    WrongArchitecture {
        dir: String,
        built: &'static str,
        wanted: &'static str,
    },
    #[error(transparent)]
    WrongAccount(#[from] WrongAccount),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    NotBootstrapped(#[from] NotBootstrapped),
    #[error("{}", stack_failures(.failed, .not_started))]
    Stacks {
        failed: Vec<(String, StackError)>,
        not_started: Vec<String>,
    },
}

fn stack_failures(failed: &[(String, StackError)], not_started: &[String]) -> String {
    let mut text = failed
        .iter()
        .map(|(_, error)| error.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    if !not_started.is_empty() {
        text.push_str(&format!(
            "\nnot started because of the failure: {}",
            not_started.join(", ")
        ));
    }
    text
}

impl FailedCall for DeployError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            DeployError::Aws(error) => Some(error),
            DeployError::Stacks { failed, .. } => crate::stack::all_failed_calls(failed),
            _ => None,
        }
    }
}

impl From<PlanError> for StackError {
    fn from(error: PlanError) -> Self {
        StackError::ChangeSetFailed {
            stack: match &error {
                PlanError::MissingArtifact { stack, .. }
                | PlanError::MissingOutput { stack, .. } => stack.clone(),
            },
            reason: error.to_string(),
        }
    }
}
