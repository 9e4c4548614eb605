//! The ops snapshot collector: the `etl` binary run outside the VPC with
//! `SBW_ETL_TASK=ops-snapshot`. One CloudWatch `GetMetricData` call (the HTTP
//! API's requests, 4xx and 5xx over the last hour; the age of the oldest
//! dead letter) and one SQS `GetQueueAttributes` (the dead letters waiting),
//! written to `s3://<raw bucket>/_ops/snapshot.json` ([`sbw_contract::ops`])
//! for the in-VPC ETL to record in the warehouse.

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, Statistic, StatusCode,
};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use sbw_aws::CallTimeouts;
use sbw_contract::ops::{
    DeadLetters, IngestCounts, OpsSnapshot, OpsSource, OPS_SNAPSHOT_KEY, OPS_WINDOW_MINUTES,
};
use sbw_names::env;
use sbw_rawstore::{RawStore, StoreError};

use crate::lambda::required_var;

/// Each AWS call, retries included, ends well within the function's 30 s:
/// CloudWatch and SQS are asked at the same time, then S3 written.
const AWS_CALLS: CallTimeouts = CallTimeouts {
    connect: Duration::from_secs(2),
    attempt: Duration::from_secs(4),
    operation: Duration::from_secs(10),
};

/// One-minute points: CloudWatch keeps them for 15 days, and summing them
/// does not depend on how it aligns longer periods.
const PERIOD_SECONDS: i32 = 60;

/// Query ids (CloudWatch wants a lower-case letter first).
const REQUESTS: &str = "requests";
const CLIENT_ERRORS: &str = "client_errors";
const SERVER_ERRORS: &str = "server_errors";
const OLDEST_DEAD_LETTER: &str = "oldest_dead_letter";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorSettings {
    pub raw_bucket: String,
    pub dead_letter_queue_url: String,
    /// The queue's name, the dimension of its CloudWatch metrics: the last
    /// path segment of its URL.
    pub dead_letter_queue_name: String,
    pub http_api_id: String,
    pub http_api_stage: String,
}

impl CollectorSettings {
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let dead_letter_queue_url = required_var(&var, env::DLQ_URL)?;
        let dead_letter_queue_name = url::Url::parse(&dead_letter_queue_url)
            .ok()
            .and_then(|url| Some(url.path_segments()?.next_back()?.to_owned()))
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "SBW_DLQ_URL={dead_letter_queue_url:?} is not a queue URL \
                     (https://sqs.<region>.amazonaws.com/<account>/<name>)"
                )
            })?;
        Ok(CollectorSettings {
            raw_bucket: required_var(&var, env::RAW_BUCKET)?,
            dead_letter_queue_name,
            dead_letter_queue_url,
            http_api_id: required_var(&var, env::HTTP_API_ID)?,
            http_api_stage: required_var(&var, env::HTTP_API_STAGE)?,
        })
    }
}

/// The hour the ingest counts cover: `[start, end)`, `end` the start of the
/// current minute (CloudWatch rounds start times down to whole minutes; an
/// aligned window is exactly the one it answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl MetricWindow {
    pub fn ending_at(now: DateTime<Utc>) -> MetricWindow {
        let end = now
            .duration_trunc(TimeDelta::minutes(1))
            .expect("a minute divides any representable time");
        MetricWindow {
            start: end - TimeDelta::minutes(OPS_WINDOW_MINUTES.into()),
            end,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("reading the CloudWatch metrics of HTTP API {api_id} (stage {stage}) and queue {queue} failed: {message}")]
    Metrics {
        api_id: String,
        stage: String,
        queue: String,
        message: String,
    },
    #[error("CloudWatch answered the {id} query with status {status}: {messages}")]
    MetricStatus {
        id: String,
        status: String,
        messages: String,
    },
    #[error("reading the attributes of the dead-letter queue {url} failed: {message}")]
    Queue { url: String, message: String },
    #[error(transparent)]
    Write(#[from] StoreError),
}

/// What CloudWatch says about the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricReadings {
    pub ingest: IngestCounts,
    /// The newest point of the queue's oldest-message age, if any.
    pub oldest_dead_letter_seconds: Option<u64>,
}

impl MetricReadings {
    /// Reads the answer to [`OpsCollector`]'s query. A series without points
    /// is zero requests (API Gateway publishes nothing for a quiet minute);
    /// a series CloudWatch could not fully answer is an error.
    pub fn from_results(results: &[MetricDataResult]) -> Result<MetricReadings, CollectError> {
        for result in results {
            if let Some(status) = result
                .status_code()
                .filter(|status| **status != StatusCode::Complete)
            {
                return Err(CollectError::MetricStatus {
                    id: result.id().unwrap_or("?").to_owned(),
                    status: status.as_str().to_owned(),
                    messages: result
                        .messages()
                        .iter()
                        .map(|m| {
                            format!("{}: {}", m.code().unwrap_or("-"), m.value().unwrap_or(""))
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
        }
        let series = |id: &str| results.iter().find(|r| r.id() == Some(id));
        let sum = |id: &str| series(id).map_or(0, |r| r.values().iter().map(|v| whole(*v)).sum());
        let oldest_dead_letter_seconds = series(OLDEST_DEAD_LETTER).and_then(|r| {
            r.timestamps()
                .iter()
                .zip(r.values())
                .max_by_key(|(at, _)| (at.secs(), at.subsec_nanos()))
                .map(|(_, age)| whole(*age))
        });
        Ok(MetricReadings {
            ingest: IngestCounts {
                requests: sum(REQUESTS),
                client_errors: sum(CLIENT_ERRORS),
                server_errors: sum(SERVER_ERRORS),
            },
            oldest_dead_letter_seconds,
        })
    }
}

/// A count or an age CloudWatch reports as a float.
fn whole(value: f64) -> u64 {
    value.max(0.0).round() as u64
}

pub struct OpsCollector {
    settings: CollectorSettings,
    cloudwatch: aws_sdk_cloudwatch::Client,
    sqs: aws_sdk_sqs::Client,
    raw_store: RawStore,
}

impl OpsCollector {
    /// Clients from the function's environment (its role, its region), each
    /// call, retries included, done within 10 s.
    pub async fn from_env(settings: CollectorSettings) -> OpsCollector {
        let config = sbw_aws::load_config(&AWS_CALLS).await;
        OpsCollector::with_clients(
            settings,
            aws_sdk_cloudwatch::Client::new(&config),
            aws_sdk_sqs::Client::new(&config),
            sbw_aws::s3_client(&config),
        )
    }

    pub fn with_clients(
        settings: CollectorSettings,
        cloudwatch: aws_sdk_cloudwatch::Client,
        sqs: aws_sdk_sqs::Client,
        s3: aws_sdk_s3::Client,
    ) -> OpsCollector {
        let raw_store = RawStore::S3 {
            client: s3,
            bucket: settings.raw_bucket.clone(),
        };
        OpsCollector {
            settings,
            cloudwatch,
            sqs,
            raw_store,
        }
    }

    /// One invocation: the snapshot of the hour before now, written to S3.
    pub async fn handle(&self) -> Result<OpsSnapshot, CollectError> {
        let snapshot = self.collect(Utc::now()).await?;
        self.write(&snapshot).await?;
        Ok(snapshot)
    }

    /// The snapshot of the window ending at the start of the minute of `now`.
    pub async fn collect(&self, now: DateTime<Utc>) -> Result<OpsSnapshot, CollectError> {
        let window = MetricWindow::ending_at(now);
        let (readings, waiting) =
            tokio::try_join!(self.metrics(window), self.dead_letters_waiting())?;
        Ok(OpsSnapshot {
            source: OpsSource::Aws,
            taken_at: window.end.to_rfc3339_opts(SecondsFormat::Secs, true),
            window_minutes: OPS_WINDOW_MINUTES,
            ingest: readings.ingest,
            dead_letters: DeadLetters {
                messages: waiting,
                oldest_age_seconds: readings.oldest_dead_letter_seconds.filter(|_| waiting > 0),
            },
        })
    }

    pub async fn write(&self, snapshot: &OpsSnapshot) -> Result<(), CollectError> {
        let json = serde_json::to_vec_pretty(snapshot).expect("snapshots serialize");
        Ok(self.raw_store.put_json(OPS_SNAPSHOT_KEY, json).await?)
    }

    async fn metrics(&self, window: MetricWindow) -> Result<MetricReadings, CollectError> {
        let s = &self.settings;
        let api = [("ApiId", &s.http_api_id), ("Stage", &s.http_api_stage)];
        let queue = [("QueueName", &s.dead_letter_queue_name)];
        let answer = self
            .cloudwatch
            .get_metric_data()
            .metric_data_queries(query(
                REQUESTS,
                "AWS/ApiGateway",
                "Count",
                &api,
                Statistic::Sum,
            ))
            .metric_data_queries(query(
                CLIENT_ERRORS,
                "AWS/ApiGateway",
                "4xx",
                &api,
                Statistic::Sum,
            ))
            .metric_data_queries(query(
                SERVER_ERRORS,
                "AWS/ApiGateway",
                "5xx",
                &api,
                Statistic::Sum,
            ))
            .metric_data_queries(query(
                OLDEST_DEAD_LETTER,
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                &queue,
                Statistic::Maximum,
            ))
            .start_time(AwsDateTime::from_secs(window.start.timestamp()))
            .end_time(AwsDateTime::from_secs(window.end.timestamp()))
            .send()
            .await
            .map_err(|e| CollectError::Metrics {
                api_id: s.http_api_id.clone(),
                stage: s.http_api_stage.clone(),
                queue: s.dead_letter_queue_name.clone(),
                message: aws_sdk_cloudwatch::error::DisplayErrorContext(e).to_string(),
            })?;
        MetricReadings::from_results(answer.metric_data_results())
    }

    /// Messages waiting in the queue, in flight included (someone inspecting them).
    async fn dead_letters_waiting(&self) -> Result<u64, CollectError> {
        let url = &self.settings.dead_letter_queue_url;
        let fail = |message: String| CollectError::Queue {
            url: url.clone(),
            message,
        };
        let answer = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| fail(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        let attributes = answer.attributes();
        [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|name| match attributes.and_then(|a| a.get(name)) {
            None => Ok(0),
            Some(count) => count
                .parse::<u64>()
                .map_err(|_| fail(format!("{name} is {count:?}, not a count"))),
        })
        .sum()
    }
}

fn query(
    id: &str,
    namespace: &str,
    metric_name: &str,
    dimensions: &[(&str, &String)],
    statistic: Statistic,
) -> MetricDataQuery {
    let metric = dimensions.iter().fold(
        Metric::builder()
            .namespace(namespace)
            .metric_name(metric_name),
        |metric, (name, value)| {
            metric.dimensions(Dimension::builder().name(*name).value(*value).build())
        },
    );
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric.build())
                .period(PERIOD_SECONDS)
                .stat(statistic.as_str())
                .build(),
        )
        .return_data(true)
        .build()
}

#[cfg(test)]
mod tests;
