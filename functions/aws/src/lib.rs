//! AWS client construction shared by the functions and `sbwctl`, so the
//! conventions (the standard configuration chain, `AWS_ENDPOINT_URL` for
//! emulators and S3-compatible stores) are decided in one place, with the
//! functions' JSON logging and metrics.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

pub mod emf;
pub mod error;
pub mod logging;

/// Time limits on a function's AWS calls. A function sets them well under
/// its own timeout: a stalled endpoint then fails the call, and the code
/// after it (a fallback, a recorded failure) still runs before Lambda
/// kills the invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimeouts {
    /// Opening the connection.
    pub connect: Duration,
    /// One attempt, to the response's headers.
    pub attempt: Duration,
    /// The whole call, retries included.
    pub operation: Duration,
}

/// The standard configuration chain (`AWS_REGION`, credentials,
/// `AWS_ENDPOINT_URL` and its per-service forms) with `timeouts` on every call.
pub async fn load_config(timeouts: &CallTimeouts) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts.to_timeout_config())
        .load()
        .await
}

impl CallTimeouts {
    /// The SDK's form of these limits (tests give it to their own configurations).
    pub fn to_timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }
}

/// An S3 client; with a custom endpoint (S3-compatible stores, emulators) it
/// addresses buckets by path, since such endpoints rarely serve bucket subdomains.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config);
    let builder = match config.endpoint_url() {
        Some(_) => builder.force_path_style(true),
        None => builder,
    };
    aws_sdk_s3::Client::from_conf(builder.build())
}
