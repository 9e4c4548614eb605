//! How a destroy fails, in the operator's words: a protected environment, no
//! confirmation, the wrong account, no bootstrap, or the stacks that failed.

use sbw_infra::render::RenderError;

use crate::aws::{AwsError, FailedCall, WrongAccount};
use crate::bootstrap::NotBootstrapped;
use crate::stack::{self, StackError};

#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    #[error("environment {0} is protected (`protected: true` in the config): pass --force to destroy it anyway")]
    Protected(String),
    #[error("not confirmed: nothing was deleted")]
    NotConfirmed,
    #[error(transparent)]
    WrongAccount(#[from] WrongAccount),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    NotBootstrapped(#[from] NotBootstrapped),
    #[error("{}", .0.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Stacks(Vec<(String, StackError)>),
}

impl FailedCall for DestroyError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            DestroyError::Aws(error) => Some(error),
            DestroyError::Stacks(failed) => stack::all_failed_calls(failed),
            _ => None,
        }
    }
}
