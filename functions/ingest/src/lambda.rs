//! The Lambda side: configuration from the environment, AWS clients, and the
//! conversion between API Gateway HTTP API (payload 2.0) events and the handler.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use sbw_aws::CallTimeouts;
use sbw_contract::IdentifierHasher;
use sbw_names::{env, metric, origin_secret};
use tokio::sync::OnceCell;

use crate::access::AccessPolicy;
use crate::dead_letter::DeadLetter;
use crate::front_door::{FrontDoor, OriginSecrets, SecretSource};
use crate::handler::Ingest;
use crate::metrics::Metrics;
use crate::request::{IngestRequest, IngestResponse, Refusal};
use sbw_rawstore::RawStore;

/// Where a secret (the identifier hashing key, the origin secrets) comes from.
#[derive(Debug, Clone)]
pub enum SecretSetting {
    /// Name of an SSM SecureString parameter (deployments).
    SsmParameter(String),
    /// The value itself (tests and local runs only).
    Inline(String),
}

/// The function's settings, all from environment variables set by the ingest stack.
#[derive(Debug, Clone)]
pub struct LambdaSettings {
    pub raw_bucket: String,
    pub dead_letter_queue_url: String,
    pub access: AccessPolicy,
    pub hash_key: SecretSetting,
    /// The origin secrets CloudFront sends (`current[,previous]`).
    pub origin_secret: SecretSetting,
    pub metrics: Metrics,
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl LambdaSettings {
    /// Reads `SBW_RAW_BUCKET`, `SBW_DLQ_URL`, `SBW_SITE_KEYS`, `SBW_ALLOWED_ORIGINS`,
    /// `SBW_HASH_KEY_PARAM` (or `SBW_HASH_KEY`), `SBW_ORIGIN_SECRET_PARAM`, `SBW_DEPLOYMENT` and
    /// `SBW_METRICS_NAMESPACE` (default `SBW`) through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let required = |name: &str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .with_context(|| format!("environment variable {name} is not set"))
        };
        let access = AccessPolicy {
            site_keys: list(var(env::SITE_KEYS)),
            allowed_origins: list(var(env::ALLOWED_ORIGINS)),
        };
        if access.site_keys.is_empty() || access.allowed_origins.is_empty() {
            bail!("SBW_SITE_KEYS and SBW_ALLOWED_ORIGINS must both list at least one value: anonymous ingest is never left open");
        }
        let secret = |parameter: &str, inline: &str| match (var(parameter), var(inline)) {
            (Some(name), _) if !name.is_empty() => Some(SecretSetting::SsmParameter(name)),
            (_, Some(value)) if !value.is_empty() => Some(SecretSetting::Inline(value)),
            _ => None,
        };
        let hash_key = secret(env::HASH_KEY_PARAM, "SBW_HASH_KEY").context(
            "set SBW_HASH_KEY_PARAM to the SSM SecureString that holds the identifier hashing key",
        )?;
        let origin_secret = secret(env::ORIGIN_SECRET_PARAM, "SBW_ORIGIN_SECRET").context(
            "set SBW_ORIGIN_SECRET_PARAM to the SSM SecureString of the origin secrets: the event API takes requests only through CloudFront, which sends one",
        )?;
        Ok(LambdaSettings {
            origin_secret,
            raw_bucket: required(env::RAW_BUCKET)?,
            dead_letter_queue_url: required(env::DLQ_URL)?,
            access,
            hash_key,
            metrics: Metrics {
                namespace: var(env::METRICS_NAMESPACE)
                    .filter(|v| !v.trim().is_empty())
                    .unwrap_or_else(|| metric::NAMESPACE.to_owned()),
                deployment: required(env::DEPLOYMENT)?,
            },
        })
    }
}

/// Each AWS call ends well within the function's 10 s: a stalled S3 write
/// fails in time for the dead letter (another call of the same bound) and
/// the 503 that asks the client to retry.
pub const AWS_CALLS: CallTimeouts = CallTimeouts {
    connect: Duration::from_secs(1),
    attempt: Duration::from_millis(1500),
    operation: Duration::from_secs(3),
};

/// Builds the handler: AWS clients from the standard configuration chain
/// (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`), and the hashing key.
pub async fn build_ingest(settings: &LambdaSettings) -> anyhow::Result<Ingest> {
    let config = sbw_aws::load_config(&AWS_CALLS).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let key = match &settings.hash_key {
        SecretSetting::Inline(key) => key.clone(),
        SecretSetting::SsmParameter(name) => secure_parameter(&ssm, name)
            .await
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("reading the hashing key from SSM parameter {name}"))?,
    };
    let hasher = IdentifierHasher::new(key.as_bytes()).context("the identifier hashing key")?;
    let secrets = match &settings.origin_secret {
        SecretSetting::Inline(stored) => OriginSecrets::fixed(
            origin_secret::accepted(stored)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        ),
        SecretSetting::SsmParameter(parameter) => {
            OriginSecrets::load(SecretSource {
                ssm,
                parameter: parameter.clone(),
            })
            .await?
        }
    };
    Ok(Ingest::new(
        settings.access.clone(),
        hasher,
        RawStore::S3 {
            client: sbw_aws::s3_client(&config),
            bucket: settings.raw_bucket.clone(),
        },
        DeadLetter::Sqs {
            client: aws_sdk_sqs::Client::new(&config),
            queue_url: settings.dead_letter_queue_url.clone(),
        },
    )
    .with_front_door(FrontDoor::CloudFront(secrets))
    .with_metrics(settings.metrics.clone()))
}

/// The decrypted value of the SSM SecureString `name`, or why not.
pub(crate) async fn secure_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<String, String> {
    ssm.get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| aws_sdk_ssm::error::DisplayErrorContext(e).to_string())?
        .parameter
        .and_then(|p| p.value)
        .ok_or_else(|| "the parameter has no value".to_owned())
}

/// The function: settings read once, the handler built on the first request
/// (so the process reaches its first Runtime API poll at once) and rebuilt
/// on a later request if building failed.
pub struct IngestFunction {
    settings: LambdaSettings,
    ingest: OnceCell<Ingest>,
}

impl IngestFunction {
    pub fn new(settings: LambdaSettings) -> Arc<Self> {
        Arc::new(IngestFunction {
            settings,
            ingest: OnceCell::new(),
        })
    }

    pub async fn handle(&self, event: lambda_http::Request) -> lambda_http::Response<Body> {
        let request = to_ingest_request(event);
        let response = match self
            .ingest
            .get_or_try_init(|| build_ingest(&self.settings))
            .await
        {
            Ok(ingest) => ingest.handle(request).await,
            Err(error) => {
                tracing::error!(request_id = %request.request_id, error = format!("{error:#}"), "ingest is not ready");
                let refusal = Refusal::new(
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    "not_ready",
                    "the service is starting; retry later",
                );
                let mut response = IngestResponse::refusal(&refusal);
                response.headers.insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("5"),
                );
                response
            }
        };
        to_lambda_response(response)
    }
}

pub fn to_ingest_request(event: lambda_http::Request) -> IngestRequest {
    let (request_id, verified_subject) = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.request_id.clone(),
            ctx.authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .and_then(|jwt| jwt.claims.get("sub").cloned()),
        ),
        _ => (None, None),
    };
    let (parts, body) = event.into_parts();
    let body = match body {
        Body::Empty => bytes::Bytes::new(),
        Body::Text(text) => bytes::Bytes::from(text),
        Body::Binary(data) => bytes::Bytes::from(data),
        _ => bytes::Bytes::new(),
    };
    IngestRequest {
        request_id: request_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
        verified_subject,
    }
}

pub fn to_lambda_response(response: IngestResponse) -> lambda_http::Response<Body> {
    let body = if response.body.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(response.body.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(bytes) => Body::Binary(bytes.into_bytes()),
        }
    };
    let mut out = lambda_http::Response::new(body);
    *out.status_mut() = response.status;
    *out.headers_mut() = response.headers;
    out
}
