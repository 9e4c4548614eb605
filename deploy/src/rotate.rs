//! `sbwctl rotate origin-secret`: a new secret for the event API's front door
//! (see `sbw_names::origin_secret`) with no moment in which CloudFront sends
//! a secret the ingest function refuses. First the SSM parameter becomes
//! `new,current`, which the function accepts both of (a warm one re-reads it
//! the first time it sees the new value, at most once per
//! `RELOAD_INTERVAL_SECONDS`, which the rotation waits); then the edge stack is updated
//! with the new secret as its `OriginSecret` parameter (same template), and
//! CloudFront's edges switch over within minutes while the old one is still
//! accepted. The secret before the old one is retired.

use aws_sdk_ssm::types::ParameterType;
use sbw_infra::config::Deployment;
use sbw_infra::render::{origin_secret_parameter, Manifest, ORIGIN_SECRET_PARAMETER};
use sbw_names::origin_secret;

use crate::aws::{check_account, AwsError, FailedCall, WrongAccount};
use crate::bootstrap::{deployer_role, NotBootstrapped};
use crate::deploy::{random_secret, secure_parameter};
use crate::deployed::{DeployedError, DeployedStack, Through};
use crate::progress::Progress;
use crate::stack::{Outcome, PollTimes, StackError};
use crate::Aws;

/// The stack whose CloudFront distribution sends the origin secret.
const EDGE_STACK: &str = "edge";

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    WrongAccount(#[from] WrongAccount),
    #[error(transparent)]
    NotBootstrapped(#[from] NotBootstrapped),
    #[error(transparent)]
    Deployed(#[from] DeployedError),
    #[error("there is no origin secret in the SSM parameter {parameter} yet: run `sbwctl deploy` first (it creates one)")]
    NoSecret { parameter: String },
    #[error("the edge stack {stack} predates the origin secret (it has no {ORIGIN_SECRET_PARAMETER} parameter): run `sbwctl deploy` once, then rotate")]
    EdgePredatesSecret { stack: String },
    #[error("the new origin secret is stored in {parameter} and the ingest function accepts it, but CloudFront still sends the previous one (accepted too): updating {stack} failed: {source}\nFinish the rotation with `sbwctl deploy` once the cause is fixed; do not rotate again before, or the secret CloudFront sends is retired")]
    EdgeNotUpdated {
        parameter: String,
        stack: String,
        source: StackError,
    },
}

/// A failed edge update is not surfaced as its AWS call: its message says
/// how to finish the rotation.
impl FailedCall for RotateError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            RotateError::Aws(error) => Some(error),
            RotateError::Deployed(error) => error.failed_call(),
            _ => None,
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub parameter: String,
    pub edge_stack: String,
    /// What happened to the edge stack.
    pub outcome: Outcome,
}

/// Rotates the origin secret of `deployment` (see the module).
pub async fn rotate_origin_secret(
    aws: &Aws,
    deployment: &Deployment,
    manifest: &Manifest,
    progress: &Progress,
    poll: &PollTimes,
) -> Result<Rotated, RotateError> {
    let clients = aws.region(&manifest.region);
    check_account::<RotateError>(clients, deployment).await?;
    let role_arn = deployer_role::<RotateError>(aws, deployment).await?;
    let edge = DeployedStack::read(aws, manifest, EDGE_STACK).await?;
    if !edge.parameters.contains_key(ORIGIN_SECRET_PARAMETER) {
        return Err(RotateError::EdgePredatesSecret {
            stack: edge.stack_name,
        });
    }
    let parameter = origin_secret_parameter(deployment);
    let stored = secure_parameter(clients, &parameter)
        .await?
        .unwrap_or_default();
    if origin_secret::current(&stored).is_none() {
        return Err(RotateError::NoSecret { parameter });
    }
    let new = random_secret("making a new origin secret")?;
    clients
        .ssm
        .put_parameter()
        .name(&parameter)
        .value(origin_secret::rotated(&stored, &new))
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("writing the new origin secret to {parameter}"), &e))?;
    let wait = std::time::Duration::from_secs(origin_secret::RELOAD_INTERVAL_SECONDS);
    progress.line(format!(
        "stored a new origin secret in {parameter}: the ingest function accepts it and the current one; waiting {} s so that every running function may re-read the parameter before CloudFront sends the new one",
        wait.as_secs()
    ));
    tokio::time::sleep(wait).await;
    let (outcome, _) = edge
        .change_parameters(
            aws.region(&edge.region),
            Through {
                manifest,
                role_arn: &role_arn,
                ask: false,
                allow_replace: false,
            },
            &[(ORIGIN_SECRET_PARAMETER.to_owned(), new)],
            progress,
            poll,
        )
        .await
        .map_err(|source| RotateError::EdgeNotUpdated {
            parameter: parameter.clone(),
            stack: edge.stack_name.clone(),
            source,
        })?;
    progress.line(format!(
        "{}: CloudFront sends the new origin secret as its edge locations take the update (minutes); the previous secret stays accepted until the next rotation",
        edge.stack_name
    ));
    Ok(Rotated {
        parameter,
        edge_stack: edge.stack_name,
        outcome,
    })
}
