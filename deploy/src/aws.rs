//! AWS clients per region, and AWS errors in the operator's words.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use sbw_infra::config::{Deployment, GLOBAL_REGION};

/// The clients of one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    pub sns: aws_sdk_sns::Client,
    pub budgets: aws_sdk_budgets::Client,
}

impl RegionClients {
    pub fn new(config: &SdkConfig) -> Self {
        RegionClients {
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            s3: sbw_aws::s3_client(config),
            ssm: aws_sdk_ssm::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            budgets: aws_sdk_budgets::Client::new(config),
        }
    }
}

/// The clients of the environment's region and of us-east-1 (global stacks).
#[derive(Clone, Debug)]
pub struct Aws {
    regions: BTreeMap<String, RegionClients>,
}

impl Aws {
    /// Clients from the standard configuration chain (`AWS_PROFILE`,
    /// credentials, `AWS_ENDPOINT_URL`) for `region` and us-east-1. Throttled
    /// and failed calls are retried a few times with backoff (seconds, not
    /// minutes, before an unreachable endpoint is reported).
    pub async fn connect(region: &str) -> Aws {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(4)
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            )
            .load()
            .await;
        Aws::from_config(&config, region)
    }

    /// Clients for `region` and us-east-1 from one base configuration.
    pub fn from_config(base: &SdkConfig, region: &str) -> Aws {
        let regions = [region, GLOBAL_REGION]
            .into_iter()
            .map(|r| {
                let config = base.to_builder().region(Region::new(r.to_owned())).build();
                (r.to_owned(), RegionClients::new(&config))
            })
            .collect();
        Aws { regions }
    }

    /// The same clients for every region (tests with mocked clients).
    pub fn from_clients(regions: impl IntoIterator<Item = (String, RegionClients)>) -> Aws {
        Aws {
            regions: regions.into_iter().collect(),
        }
    }

    /// The clients of `region`, one of the environment's region and us-east-1.
    pub fn region(&self, region: &str) -> &RegionClients {
        self.regions
            .get(region)
            .or_else(|| self.regions.values().next())
            .expect("Aws holds at least one region")
    }
}

/// A failed AWS call, described for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action}: {reason}")]
pub struct AwsError {
    /// What was being done, e.g. "reading stack sbw-shop-dev-network".
    pub action: String,
    pub reason: String,
    pub kind: AwsErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// AWS could not be reached (network, endpoint, timeouts).
    Unreachable,
    /// Missing, expired or refused credentials.
    Credentials,
    /// Throttled even after the retries.
    Throttled,
    /// Any other answer from the service.
    Service,
}

impl AwsError {
    /// Describes `error`, which happened while doing `action`.
    pub fn new<E>(action: impl Into<String>, error: &SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (kind, reason) = describe(error);
        AwsError {
            action: action.into(),
            reason,
            kind,
        }
    }
}

/// The credentials reach another account than the environment's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the AWS credentials are for account {actual}, but environment {environment} is configured for account {configured}: choose the right AWS_PROFILE")]
pub struct WrongAccount {
    pub environment: String,
    pub configured: String,
    pub actual: String,
}

/// Checks that the credentials are for the environment's `account_id`: what
/// `deploy` and `destroy` do before they change anything.
pub async fn check_account<E>(clients: &RegionClients, deployment: &Deployment) -> Result<(), E>
where
    E: From<AwsError> + From<WrongAccount>,
{
    let identity = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::new("checking the AWS credentials", &e))?;
    let actual = identity.account().unwrap_or_default();
    let configured = deployment.account_id.to_string();
    if actual != configured {
        return Err(WrongAccount {
            environment: deployment.environment.clone(),
            configured,
            actual: actual.to_owned(),
        }
        .into());
    }
    Ok(())
}

/// An error that may be a failed AWS call underneath, so that a command can
/// exit with the code for one.
pub trait FailedCall {
    fn failed_call(&self) -> Option<&AwsError>;
}

impl FailedCall for AwsError {
    fn failed_call(&self) -> Option<&AwsError> {
        Some(self)
    }
}

/// The failed AWS call that stopped `error`, if that is what stopped it:
/// an error of this library anywhere in its chain that is one underneath.
pub fn failed_call<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a AwsError> {
    use crate::{deploy, deployed, destroy, etl_remote, logs, rotate, snapshot, stack};
    let readers = [
        as_failed_call::<AwsError>,
        as_failed_call::<stack::StackError>,
        as_failed_call::<deployed::DeployedError>,
        as_failed_call::<deploy::DeployError>,
        as_failed_call::<destroy::DestroyError>,
        as_failed_call::<etl_remote::RemoteEtlError>,
        as_failed_call::<logs::LogsError>,
        as_failed_call::<rotate::RotateError>,
        as_failed_call::<snapshot::SnapshotError>,
    ];
    std::iter::successors(Some(error), |e| e.source())
        .find_map(|e| readers.iter().find_map(|read| read(e)))
}

fn as_failed_call<'a, E>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a AwsError>
where
    E: FailedCall + std::error::Error + 'static,
{
    error.downcast_ref::<E>()?.failed_call()
}

/// Service error codes that mean the credentials are the problem.
const CREDENTIAL_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
];

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

fn describe<E>(error: &SdkError<E, HttpResponse>) -> (AwsErrorKind, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let chain = DisplayErrorContext(error).to_string();
    if chain.contains("no credentials found in chain")
        || chain.contains("no providers in chain provided credentials")
        || chain.contains("failed to load credentials")
        || chain.contains("an identity resolver was not configured")
    {
        return (
            AwsErrorKind::Credentials,
            "no AWS credentials found: set AWS_PROFILE (and run `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".to_owned(),
        );
    }
    match error {
        SdkError::ServiceError(context) => {
            let service = context.err();
            let Some(code) = service.code() else {
                return (
                    AwsErrorKind::Service,
                    format!(
                        "HTTP {} without an AWS error in the answer (does the endpoint serve this service?)",
                        context.raw().status().as_u16()
                    ),
                );
            };
            let message = service.message().unwrap_or("no message");
            if CREDENTIAL_CODES.contains(&code) {
                let hint = if code.starts_with("Expired") || code == "RequestExpired" {
                    "the AWS credentials have expired: refresh them (e.g. `aws sso login`) and run the command again"
                } else {
                    "AWS refused the credentials: check AWS_PROFILE and the access key"
                };
                (AwsErrorKind::Credentials, format!("{hint} ({code})"))
            } else if THROTTLING_CODES.contains(&code) {
                (
                    AwsErrorKind::Throttled,
                    format!("AWS is throttling requests and retries did not get through ({code}: {message}); wait a minute and run the command again"),
                )
            } else if code == "AccessDenied" || code == "AccessDeniedException" {
                (
                    AwsErrorKind::Service,
                    format!("access denied ({message}); the operator's permissions are what `sbwctl policy operator` prints, and stacks are changed by the deployer role of `sbwctl bootstrap`"),
                )
            } else {
                (AwsErrorKind::Service, format!("{code}: {message}"))
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            let endpoint = std::env::var("AWS_ENDPOINT_URL")
                .map(|url| format!(" at {url}"))
                .unwrap_or_default();
            (
                AwsErrorKind::Unreachable,
                format!("cannot reach AWS{endpoint}: {}", last_cause(&chain)),
            )
        }
        _ => (AwsErrorKind::Service, last_cause(&chain).to_owned()),
    }
}

/// The innermost cause of a `DisplayErrorContext` chain ("a: b: c (Debug
/// dump)" -> "c"), which names the real problem (connection refused, ...).
fn last_cause(chain: &str) -> &str {
    let readable = without_debug_dump(chain);
    readable.rsplit(": ").next().unwrap_or(readable).trim()
}

/// A `DisplayErrorContext` chain without the debug dump at its end ("a: b: c
/// (Debug dump)" -> "a: b: c"), which holds request ids and internals.
pub fn without_debug_dump(chain: &str) -> &str {
    [
        "DispatchFailure",
        "TimeoutError",
        "ResponseError",
        "ConstructionFailure",
        "ServiceError",
    ]
    .iter()
    .filter_map(|variant| chain.find(&format!(" ({variant}(")))
    .min()
    .map_or(chain, |dump| &chain[..dump])
}

/// Whether `error` says the stack (or other resource) does not exist.
pub fn is_not_found<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::message)
        .is_some_and(|m| m.contains("does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_innermost_cause_is_kept_without_the_debug_dump() {
        let chain = "dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: ConnectorError { kind: Io } }))";
        assert_eq!(last_cause(chain), "Connection refused (os error 111)");
        assert_eq!(
            last_cause("timeout: operation timed out"),
            "operation timed out"
        );
    }
}
