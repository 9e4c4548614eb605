//! `sbwctl etl invoke` and `sbwctl etl backfill --remote`: the deployed ETL
//! function run on request, with the request the local `etl` commands make.
//!
//! Both are idempotent: the ETL takes a run lock in the warehouse (a second
//! run at the same time loads nothing and reports `skipped`) and skips every
//! object its manifest already holds, so invoking again, or repeating a
//! backfill window, never loads an event twice.

use std::time::{Duration, Instant};

use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::operation::RequestId;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use chrono::{DateTime, Utc};
use sbw_contract::etl_run::{RunRequest, RunStatus, RunSummary};
use sbw_contract::rawkey::hour_floor;
use sbw_infra::names::output::FUNCTION_NAME;
use sbw_infra::render::Manifest;
use serde::Deserialize;

use crate::aws::{AwsError, FailedCall};
use crate::deployed::{DeployedError, DeployedStack};
use crate::Aws;

/// The stack whose `FunctionName` output names the ETL function.
const ETL_STACK: &str = "etl";
/// How long past the function's own timeout a waiting invoke waits for its answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum RemoteEtlError {
    #[error(transparent)]
    Deployed(#[from] DeployedError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("the ETL function {function} does not exist although the etl stack names it: run `sbwctl deploy` to create it again")]
    FunctionMissing { function: String },
    #[error("the ETL function {function} failed: {message}")]
    FunctionFailed {
        function: String,
        message: String,
        /// The run outlived the function's timeout.
        timed_out: bool,
    },
    #[error(
        "the ETL function {function} answered with something that is not a run summary ({detail})"
    )]
    NotASummary { function: String, detail: String },
    #[error(transparent)]
    Request(#[from] sbw_contract::etl_run::RequestError),
    #[error("the backfill stopped at {resume_from} ({reason}); what came before is loaded: resume with `sbwctl etl backfill --from {resume_from} --to {to} --remote`")]
    Stopped {
        resume_from: String,
        to: String,
        reason: String,
    },
}

impl FailedCall for RemoteEtlError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            RemoteEtlError::Aws(error) => Some(error),
            RemoteEtlError::Deployed(error) => error.failed_call(),
            _ => None,
        }
    }
}

/// The deployed ETL function.
#[derive(Debug, Clone)]
pub struct EtlFunction {
    lambda: aws_sdk_lambda::Client,
    pub name: String,
    /// The function's configured timeout.
    pub timeout: Duration,
}

/// What an asynchronous invoke got back: the id to find its logs by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub request_id: Option<String>,
}

/// The error document Lambda returns for a failed invocation.
#[derive(Deserialize)]
struct FunctionErrorDocument {
    #[serde(rename = "errorType", default)]
    error_type: String,
    #[serde(rename = "errorMessage", default)]
    error_message: String,
}

impl EtlFunction {
    /// The environment's ETL function, named by the etl stack's outputs.
    pub async fn find(aws: &Aws, manifest: &Manifest) -> Result<EtlFunction, RemoteEtlError> {
        let stack = DeployedStack::read(aws, manifest, ETL_STACK).await?;
        let name = stack.output(FUNCTION_NAME)?.to_owned();
        let lambda = aws.region(&stack.region).lambda.clone();
        let configuration = match lambda
            .get_function_configuration()
            .function_name(&name)
            .send()
            .await
        {
            Ok(configuration) => configuration,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Err(RemoteEtlError::FunctionMissing { function: name })
            }
            Err(error) => {
                return Err(AwsError::new(format!("reading the function {name}"), &error).into())
            }
        };
        let seconds = configuration.timeout().unwrap_or(3).max(1);
        Ok(EtlFunction {
            lambda,
            name,
            timeout: Duration::from_secs(seconds.unsigned_abs().into()),
        })
    }

    /// Runs `request` and waits for its summary (a skipped run is a summary too).
    pub async fn run(&self, request: &RunRequest) -> Result<RunSummary, RemoteEtlError> {
        let answer_within = self.timeout + ANSWER_MARGIN;
        let answer = self
            .invoke(request, InvocationType::RequestResponse)
            .customize()
            .config_override(
                aws_sdk_lambda::config::Builder::default().timeout_config(
                    TimeoutConfig::builder()
                        .operation_attempt_timeout(answer_within)
                        .read_timeout(answer_within)
                        .build(),
                ),
            )
            .send()
            .await
            .map_err(|error| self.invoke_error(&error))?;
        let payload = answer.payload().map(Blob::as_ref).unwrap_or_default();
        if answer.function_error().is_some() {
            let document: Option<FunctionErrorDocument> = serde_json::from_slice(payload).ok();
            let (error_type, message) = document.map_or_else(
                || (String::new(), String::from_utf8_lossy(payload).into_owned()),
                |d| (d.error_type, d.error_message),
            );
            return Err(RemoteEtlError::FunctionFailed {
                function: self.name.clone(),
                timed_out: error_type == "Sandbox.Timedout" || message.contains("Task timed out"),
                message,
            });
        }
        serde_json::from_slice(payload).map_err(|e| RemoteEtlError::NotASummary {
            function: self.name.clone(),
            detail: e.to_string(),
        })
    }

    /// Queues `request` (Lambda runs it on its own; no retries, see the etl stack).
    pub async fn queue(&self, request: &RunRequest) -> Result<Queued, RemoteEtlError> {
        let answer = self
            .invoke(request, InvocationType::Event)
            .send()
            .await
            .map_err(|error| self.invoke_error(&error))?;
        Ok(Queued {
            request_id: answer.request_id().map(str::to_owned),
        })
    }

    fn invoke(
        &self,
        request: &RunRequest,
        kind: InvocationType,
    ) -> aws_sdk_lambda::operation::invoke::builders::InvokeFluentBuilder {
        self.lambda
            .invoke()
            .function_name(&self.name)
            .invocation_type(kind)
            .payload(Blob::new(request.to_json().to_string()))
    }

    fn invoke_error(
        &self,
        error: &aws_sdk_lambda::error::SdkError<
            aws_sdk_lambda::operation::invoke::InvokeError,
            aws_sdk_lambda::config::http::HttpResponse,
        >,
    ) -> RemoteEtlError {
        if error
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception())
        {
            return RemoteEtlError::FunctionMissing {
                function: self.name.clone(),
            };
        }
        AwsError::new(format!("invoking {}", self.name), error).into()
    }
}

/// Receive hours `from..=to` (each the first instant of its hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    pub fn hours(&self) -> u32 {
        hours_between(self.from, self.to) + 1
    }
}

fn hours_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    u32::try_from((to - from).num_hours()).unwrap_or(0)
}

/// How many receive hours the next backfill window holds: a run should take
/// at most a third of the function's timeout, measured on the windows so
/// far (the hours' volume varies, so each window is sized from the last).
#[derive(Debug, Clone)]
pub struct WindowSizer {
    target: Duration,
    next_hours: u32,
}

impl WindowSizer {
    /// Hours of the first window, before anything is measured.
    pub const FIRST_HOURS: u32 = 6;
    /// A window never holds more than a week.
    pub const MAX_HOURS: u32 = 7 * 24;
    /// A window grows at most this many times from one to the next.
    const MAX_GROWTH: u32 = 4;

    pub fn new(function_timeout: Duration) -> WindowSizer {
        WindowSizer {
            target: function_timeout / 3,
            next_hours: Self::FIRST_HOURS,
        }
    }

    pub fn next_hours(&self) -> u32 {
        self.next_hours
    }

    /// A window of `hours` took `took`.
    pub fn finished(&mut self, hours: u32, took: Duration) {
        let per_hour = took.as_secs_f64() / f64::from(hours.max(1));
        let fitting = if per_hour > 0.0 {
            (self.target.as_secs_f64() / per_hour)
                .floor()
                .min(f64::from(u32::MAX)) as u32
        } else {
            Self::MAX_HOURS
        };
        self.next_hours = fitting
            .min(hours.saturating_mul(Self::MAX_GROWTH))
            .clamp(1, Self::MAX_HOURS);
    }

    /// A window of `hours` outlived the timeout: half of it next; `false`
    /// when it was one hour already.
    pub fn timed_out(&mut self, hours: u32) -> bool {
        self.next_hours = (hours / 2).max(1);
        hours > 1
    }
}

/// One backfill window done.
#[derive(Debug, Clone)]
pub struct WindowDone {
    pub window: Window,
    pub summary: RunSummary,
    pub took: Duration,
    pub hours_done: u32,
    pub hours_total: u32,
}

/// What the whole backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillTotals {
    pub windows: u32,
    pub objects_loaded: u64,
    pub events_loaded: u64,
    pub duplicates: u64,
    pub rejected_lines: u64,
}

#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// Waits before sending a window again that was skipped because another
    /// run (the schedule's) held the lock; when they are used up, the backfill stops.
    pub busy_waits: Vec<Duration>,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        BackfillOptions {
            busy_waits: [10, 30, 60, 120]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        }
    }
}

/// Backfills the receive hours `from..=to` through the function, window by
/// window, each waited for; `done` hears of every window.
pub async fn backfill(
    function: &EtlFunction,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    options: &BackfillOptions,
    mut done: impl FnMut(&WindowDone),
) -> Result<BackfillTotals, RemoteEtlError> {
    RunRequest::backfill(from, to)?;
    let (first, last) = (hour_floor(from), hour_floor(to));
    let hours_total = hours_between(first, last) + 1;
    let mut sizer = WindowSizer::new(function.timeout);
    let mut totals = BackfillTotals::default();
    let mut start = first;
    let mut busy = options.busy_waits.iter();
    let stopped = |at: DateTime<Utc>, reason: String| RemoteEtlError::Stopped {
        resume_from: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to: last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        reason,
    };
    while start <= last {
        let hours = sizer.next_hours().min(hours_between(start, last) + 1);
        let window = Window {
            from: start,
            to: start + chrono::Duration::hours(i64::from(hours) - 1),
        };
        let started = Instant::now();
        let summary = match function
            .run(&RunRequest::backfill(window.from, window.to)?)
            .await
        {
            Ok(summary) => summary,
            Err(RemoteEtlError::FunctionFailed {
                timed_out: true, ..
            }) if sizer.timed_out(hours) => continue,
            Err(error) if totals.windows == 0 => return Err(error),
            Err(error) => return Err(stopped(start, error.to_string())),
        };
        if summary.status == RunStatus::Skipped {
            match busy.next() {
                Some(wait) => {
                    tokio::time::sleep(*wait).await;
                    continue;
                }
                None => {
                    return Err(stopped(
                        start,
                        format!(
                            "another ETL run kept the lock: {}",
                            summary.error.as_deref().unwrap_or("no detail")
                        ),
                    ))
                }
            }
        }
        let took = started.elapsed();
        sizer.finished(hours, took);
        totals.windows += 1;
        totals.objects_loaded += summary.objects_loaded;
        totals.events_loaded += summary.events_loaded;
        totals.duplicates += summary.duplicates;
        totals.rejected_lines += summary.rejected_lines;
        let status = summary.status;
        done(&WindowDone {
            window,
            summary,
            took,
            hours_done: hours_between(first, window.to) + 1,
            hours_total,
        });
        if status == RunStatus::Failed {
            return Err(stopped(start, "the run failed".to_owned()));
        }
        start = window.to + chrono::Duration::hours(1);
    }
    Ok(totals)
}

#[cfg(test)]
mod tests;
