//! The event API's one front door. The HTTP API's own endpoint
//! (`https://<id>.execute-api.<region>.amazonaws.com`) is public; CloudFront
//! adds the origin secret header ([`origin_secret::HEADER`]) to every
//! request it forwards there, so a request without an accepted secret did
//! not come through CloudFront (nor its WAF rate rule) and is refused, 403.
//! `CloudFront-Viewer-Country` is read only from requests that came in
//! through the door.
//!
//! The accepted secrets (`current[,previous]`) are read from SSM at cold
//! start, and again when a request presents a value this container does not
//! know, at most once per [`RELOAD_INTERVAL`]: after `sbwctl rotate
//! origin-secret`, warm containers learn the new secret from the first
//! request CloudFront sends with it.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use http::StatusCode;
use sbw_names::origin_secret;
use subtle::ConstantTimeEq;

use crate::request::{IngestRequest, Refusal};

/// How often one container may re-read the secrets for an unknown value: a
/// client sending made-up secrets costs at most one SSM call per container
/// and interval, and a rotation is picked up within it.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(origin_secret::RELOAD_INTERVAL_SECONDS);

/// Who may come in.
pub enum FrontDoor {
    /// No CDN in front: this server is the edge (`sbwctl dev ingest`), and a
    /// `CloudFront-Viewer-Country` it is sent stands for the one CloudFront
    /// would set (the demo shoppers send one).
    ThisServer,
    /// Behind CloudFront: only requests with an accepted origin secret.
    CloudFront(OriginSecrets),
}

/// Why the secrets could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("reading the origin secrets from SSM parameter {parameter}: {reason}")]
    Read { parameter: String, reason: String },
    #[error("SSM parameter {parameter} holds no origin secret (expected current[,previous]): run `sbwctl deploy` or `sbwctl rotate origin-secret`")]
    Empty { parameter: String },
}

/// Where the accepted secrets come from.
pub struct SecretSource {
    pub ssm: aws_sdk_ssm::Client,
    pub parameter: String,
}

impl SecretSource {
    /// The accepted secrets, current first.
    pub async fn read(&self) -> Result<Vec<String>, SecretsError> {
        let stored = crate::lambda::secure_parameter(&self.ssm, &self.parameter)
            .await
            .map_err(|reason| SecretsError::Read {
                parameter: self.parameter.clone(),
                reason,
            })?;
        let accepted: Vec<String> = origin_secret::accepted(&stored)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if accepted.is_empty() {
            return Err(SecretsError::Empty {
                parameter: self.parameter.clone(),
            });
        }
        Ok(accepted)
    }
}

/// The secrets this container accepts, and how it re-reads them.
pub struct OriginSecrets {
    accepted: RwLock<Vec<String>>,
    source: Option<SecretSource>,
    /// The last re-read, held while one runs so that concurrent requests
    /// with the new secret wait for it instead of being refused.
    reloaded: tokio::sync::Mutex<Option<Instant>>,
    reload_interval: Duration,
}

impl OriginSecrets {
    /// Fixed secrets, never re-read (tests).
    pub fn fixed(accepted: Vec<String>) -> Self {
        Self::new(accepted, None)
    }

    /// Reads the secrets from `source` now (cold start) and again for unknown values.
    pub async fn load(source: SecretSource) -> Result<Self, SecretsError> {
        let accepted = source.read().await?;
        Ok(Self::new(accepted, Some(source)))
    }

    fn new(accepted: Vec<String>, source: Option<SecretSource>) -> Self {
        OriginSecrets {
            accepted: RwLock::new(accepted),
            source,
            reloaded: tokio::sync::Mutex::new(None),
            reload_interval: RELOAD_INTERVAL,
        }
    }

    /// Another interval between re-reads (tests).
    pub fn with_reload_interval(mut self, interval: Duration) -> Self {
        self.reload_interval = interval;
        self
    }

    /// Whether `presented` is an accepted secret; compared in constant time
    /// with every accepted one, so the answer's timing tells nothing.
    fn knows(&self, presented: &[u8]) -> bool {
        let accepted = self.accepted.read().expect("origin secrets lock");
        accepted
            .iter()
            .fold(subtle::Choice::from(0), |found, secret| {
                found | secret.as_bytes().ct_eq(presented)
            })
            .into()
    }

    /// Whether `presented` is accepted, re-reading the secrets first if it
    /// is unknown and the last re-read is older than the interval.
    async fn admits(&self, presented: &[u8]) -> bool {
        if self.knows(presented) {
            return true;
        }
        let Some(source) = &self.source else {
            return false;
        };
        let mut reloaded = self.reloaded.lock().await;
        // Re-read by another request while this one waited.
        if self.knows(presented) {
            return true;
        }
        if reloaded.is_some_and(|at| at.elapsed() < self.reload_interval) {
            return false;
        }
        *reloaded = Some(Instant::now());
        match source.read().await {
            Ok(accepted) => {
                *self.accepted.write().expect("origin secrets lock") = accepted;
                tracing::info!(
                    parameter = %source.parameter,
                    "re-read the origin secrets for a value this container did not know"
                );
            }
            Err(error) => {
                tracing::warn!(error = %error, "could not re-read the origin secrets; keeping the ones read before");
            }
        }
        self.knows(presented)
    }
}

impl FrontDoor {
    /// Lets the request in, or says why not (before anything else is read).
    pub async fn check(&self, request: &IngestRequest) -> Result<(), Refusal> {
        let FrontDoor::CloudFront(secrets) = self else {
            return Ok(());
        };
        let Some(presented) = request.headers.get(origin_secret::HEADER) else {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "not_through_cloudfront",
                "this endpoint takes events only through the site's CloudFront distribution: send them to https://<your site>/v1/events (the edge stack's EventsUrl)",
            ));
        };
        if secrets.admits(presented.as_bytes()).await {
            Ok(())
        } else {
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "origin_secret_unknown",
                "the request's origin secret is not one this deployment accepts: send events through the site's CloudFront distribution",
            ))
        }
    }
}
