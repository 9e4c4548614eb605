//! The ops snapshot collector (`SBW_ETL_TASK=ops-snapshot`): the dead-letter
//! queue and the raw bucket served by moto, CloudWatch (whose protocol moto
//! does not serve) by a client fed answers shaped like AWS's; and the built
//! `etl` binary, under the local Runtime API, when CloudWatch cannot be reached.
//!
//! Over 400 lines on purpose: the cases share moto and the fed CloudWatch
//! client; each file under tests/ is its own test binary, linked anew on
//! every change and links the AWS SDKs.

mod raw_bucket;

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::error::ErrorMetadata;
use aws_sdk_cloudwatch::operation::get_metric_data::{
    GetMetricDataError, GetMetricDataInput, GetMetricDataOutput,
};
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{MessageData, MetricDataResult, StatusCode};
use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_smithy_mocks::{mock, mock_client, Rule};
use chrono::{DateTime, Utc};
use raw_bucket::RawBucket;
use sbw_contract::ops::{
    DeadLetters, IngestCounts, OpsSnapshot, OpsSource, OPS_SNAPSHOT_KEY, OPS_WINDOW_MINUTES,
};
use sbw_etl::ops_snapshot::{CollectError, CollectorSettings, OpsCollector};
use sbw_testkit::{FunctionProcess, InvocationOutcome, Moto, RuntimeApi};
use serde_json::json;

const API_ID: &str = "a1b2c3d4e5";
const STAGE: &str = "$default";

/// The dead-letter queue and the raw bucket of one deployment, in moto.
struct Deployment {
    raw: RawBucket,
    sqs: aws_sdk_sqs::Client,
    queue_name: String,
    queue_url: String,
}

impl Deployment {
    async fn create() -> Deployment {
        let raw = RawBucket::create("raw").await;
        let sqs = aws_sdk_sqs::Client::new(&Moto::shared().sdk_config().await);
        let queue_name = sbw_testkit::unique_name("dlq");
        let queue_url = sqs
            .create_queue()
            .queue_name(&queue_name)
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("a queue URL");
        Deployment {
            raw,
            sqs,
            queue_name,
            queue_url,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SBW_RAW_BUCKET", self.raw.name.clone()),
            ("SBW_DLQ_URL", self.queue_url.clone()),
            ("SBW_HTTP_API_ID", API_ID.to_owned()),
            ("SBW_HTTP_API_STAGE", STAGE.to_owned()),
        ]
    }

    fn settings(&self) -> CollectorSettings {
        let env = self.env();
        CollectorSettings::from_vars(|name| {
            env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
        })
        .expect("complete settings")
    }

    /// The collector with CloudWatch answering by `rules`, SQS and S3 from moto.
    async fn collector(&self, rules: &[&Rule]) -> OpsCollector {
        let cloudwatch: CloudWatch = mock_client!(aws_sdk_cloudwatch, rules);
        OpsCollector::with_clients(
            self.settings(),
            cloudwatch,
            self.sqs.clone(),
            self.raw.s3.clone(),
        )
    }

    /// Sends `count` dead letters and takes `in_flight` of them, as `sbwctl dlq inspect` would.
    async fn dead_letter(&self, count: usize, in_flight: i32) {
        for n in 0..count {
            self.sqs
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(format!("{{\"part\":{n}}}"))
                .send()
                .await
                .expect("send message");
        }
        let taken = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(in_flight)
            .visibility_timeout(300)
            .send()
            .await
            .expect("receive");
        assert_eq!(taken.messages().len(), in_flight as usize);
    }

    async fn snapshot(&self) -> Option<OpsSnapshot> {
        let object = match self
            .raw
            .s3
            .get_object()
            .bucket(&self.raw.name)
            .key(OPS_SNAPSHOT_KEY)
            .send()
            .await
        {
            Ok(object) => object,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return None
            }
            Err(error) => panic!("reading the snapshot: {error:?}"),
        };
        let body = object.body.collect().await.unwrap().into_bytes();
        Some(serde_json::from_slice(&body).expect("the snapshot is an OpsSnapshot"))
    }
}

/// A series as GetMetricData returns it: newest point first.
fn series(id: &str, label: &str, points: &[(SystemTime, f64)]) -> MetricDataResult {
    points
        .iter()
        .fold(
            MetricDataResult::builder()
                .id(id)
                .label(label)
                .status_code(StatusCode::Complete),
            |result, (at, value)| result.timestamps(AwsDateTime::from(*at)).values(*value),
        )
        .build()
}

fn minutes_ago(minutes: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(60 * minutes)
}

/// Whether `request` asks for what the collector must read: the API's
/// requests, 4xx and 5xx as sums and the queue's oldest age as a maximum, in
/// one-minute points over the hour before the current minute.
fn is_the_collectors_query(request: &GetMetricDataInput, queue_name: &str) -> bool {
    let (Some(start), Some(end)) = (request.start_time(), request.end_time()) else {
        return false;
    };
    let now = Utc::now().timestamp();
    let window_ok = end.secs() % 60 == 0
        && (now - 120..=now).contains(&end.secs())
        && end.secs() - start.secs() == i64::from(OPS_WINDOW_MINUTES) * 60;
    let asked: Vec<String> = request
        .metric_data_queries()
        .iter()
        .map(|query| {
            let stat = query.metric_stat().expect("a metric stat");
            let metric = stat.metric().expect("a metric");
            let dimensions: Vec<String> = metric
                .dimensions()
                .iter()
                .map(|d| format!("{}={}", d.name().unwrap_or(""), d.value().unwrap_or("")))
                .collect();
            format!(
                "{} {}/{} {} {}s {}",
                query.id().unwrap_or(""),
                metric.namespace().unwrap_or(""),
                metric.metric_name().unwrap_or(""),
                stat.stat().unwrap_or(""),
                stat.period().unwrap_or(0),
                dimensions.join(",")
            )
        })
        .collect();
    let api = format!("ApiId={API_ID},Stage={STAGE}");
    let expected = [
        format!("requests AWS/ApiGateway/Count Sum 60s {api}"),
        format!("client_errors AWS/ApiGateway/4xx Sum 60s {api}"),
        format!("server_errors AWS/ApiGateway/5xx Sum 60s {api}"),
        format!(
            "oldest_dead_letter AWS/SQS/ApproximateAgeOfOldestMessage Maximum 60s QueueName={queue_name}"
        ),
    ];
    window_ok && asked == expected
}

fn assert_taken_this_minute(snapshot: &OpsSnapshot) {
    let taken_at: DateTime<Utc> = snapshot.taken_at.parse().expect("RFC 3339");
    assert_eq!(taken_at.timestamp() % 60, 0, "{}", snapshot.taken_at);
    let age = (Utc::now() - taken_at).num_seconds();
    assert!((0..=120).contains(&age), "{}", snapshot.taken_at);
}

#[tokio::test]
async fn the_hours_metrics_and_the_waiting_dead_letters_become_the_snapshot_in_s3() {
    let deployment = Deployment::create().await;
    deployment.dead_letter(3, 1).await;
    let queue_name = deployment.queue_name.clone();
    let metrics = mock!(CloudWatch::get_metric_data)
        .match_requests(move |request| is_the_collectors_query(request, &queue_name))
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(series(
                    "requests",
                    "Count",
                    &[
                        (minutes_ago(1), 120.0),
                        (minutes_ago(2), 80.0),
                        (minutes_ago(9), 7.0),
                    ],
                ))
                .metric_data_results(series("client_errors", "4xx", &[(minutes_ago(2), 5.0)]))
                .metric_data_results(series(
                    "server_errors",
                    "5xx",
                    &[(minutes_ago(2), 2.0), (minutes_ago(30), 1.0)],
                ))
                .metric_data_results(series(
                    "oldest_dead_letter",
                    "ApproximateAgeOfOldestMessage",
                    &[(minutes_ago(1), 412.0), (minutes_ago(6), 95.0)],
                ))
                .build()
        });
    let collector = deployment.collector(&[&metrics]).await;

    let answered = collector.handle().await.expect("collected");
    assert_eq!(metrics.num_calls(), 1, "one GetMetricData call");
    let stored = deployment.snapshot().await.expect("the snapshot in S3");
    assert_eq!(stored, answered, "the invocation answers what it wrote");
    assert_eq!(stored.source, OpsSource::Aws);
    assert_eq!(stored.window_minutes, OPS_WINDOW_MINUTES);
    assert_taken_this_minute(&stored);
    assert_eq!(
        stored.ingest,
        IngestCounts {
            requests: 207,
            client_errors: 5,
            server_errors: 3,
        }
    );
    assert_eq!(
        stored.dead_letters,
        DeadLetters {
            messages: 3,
            oldest_age_seconds: Some(412),
        },
        "visible and in-flight messages count; the newest age point is the age"
    );
}

#[tokio::test]
async fn a_quiet_hour_is_zero_requests_and_an_empty_queue_has_no_age() {
    let deployment = Deployment::create().await;
    // What CloudWatch answers for metrics without points in the window.
    let metrics = mock!(CloudWatch::get_metric_data).then_output(|| {
        GetMetricDataOutput::builder()
            .metric_data_results(series("requests", "Count", &[]))
            .metric_data_results(series("client_errors", "4xx", &[]))
            .metric_data_results(series("server_errors", "5xx", &[]))
            .metric_data_results(series(
                "oldest_dead_letter",
                "ApproximateAgeOfOldestMessage",
                &[(minutes_ago(40), 3000.0)],
            ))
            .build()
    });
    let collector = deployment.collector(&[&metrics]).await;
    collector.handle().await.expect("collected");
    let stored = deployment.snapshot().await.expect("the snapshot in S3");
    assert_eq!(stored.ingest, IngestCounts::default());
    assert_eq!(
        stored.dead_letters,
        DeadLetters::default(),
        "an age point left from before the queue emptied is not an age"
    );
}

#[tokio::test]
async fn a_cloudwatch_refusal_fails_the_invocation_and_writes_nothing() {
    let deployment = Deployment::create().await;
    let denied = mock!(CloudWatch::get_metric_data).then_error(|| {
        GetMetricDataError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message(
                    "User: arn:aws:sts::123456789012:assumed-role/shop-dev-ops/x is not authorized \
                     to perform: cloudwatch:GetMetricData because no identity-based policy allows \
                     the cloudwatch:GetMetricData action",
                )
                .build(),
        )
    });
    let collector = deployment.collector(&[&denied]).await;
    let error = collector.handle().await.unwrap_err();
    assert!(matches!(error, CollectError::Metrics { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "reading the CloudWatch metrics of HTTP API {API_ID} (stage {STAGE}) and queue {}",
            deployment.queue_name
        )),
        "{message}"
    );
    assert!(message.contains("AccessDenied"), "{message}");
    assert!(
        message.contains("not authorized to perform: cloudwatch:GetMetricData"),
        "{message}"
    );
    assert_eq!(deployment.snapshot().await, None);

    // A series CloudWatch could not answer in full is not taken for zero.
    let partial = mock!(CloudWatch::get_metric_data).then_output(|| {
        GetMetricDataOutput::builder()
            .metric_data_results(series("requests", "Count", &[]))
            .metric_data_results(
                MetricDataResult::builder()
                    .id("server_errors")
                    .label("5xx")
                    .status_code(StatusCode::InternalError)
                    .messages(
                        MessageData::builder()
                            .code("InternalError")
                            .value("An internal error occurred")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let collector = deployment.collector(&[&partial]).await;
    let message = collector.handle().await.unwrap_err().to_string();
    assert!(
        message.contains(
            "CloudWatch answered the server_errors query with status InternalError: \
             InternalError: An internal error occurred"
        ),
        "{message}"
    );
    assert_eq!(deployment.snapshot().await, None);
}

#[tokio::test]
async fn a_missing_queue_fails_the_invocation_naming_it() {
    let deployment = Deployment::create().await;
    deployment
        .sqs
        .delete_queue()
        .queue_url(&deployment.queue_url)
        .send()
        .await
        .expect("delete queue");
    let metrics =
        mock!(CloudWatch::get_metric_data).then_output(|| GetMetricDataOutput::builder().build());
    let collector = deployment.collector(&[&metrics]).await;
    let message = collector.handle().await.unwrap_err().to_string();
    assert!(
        message.contains(&format!(
            "reading the attributes of the dead-letter queue {} failed",
            deployment.queue_url
        )),
        "{message}"
    );
    assert!(message.contains("NonExistentQueue"), "{message}");
    assert_eq!(deployment.snapshot().await, None);
}

/// The built binary with `SBW_ETL_TASK=ops-snapshot`: SQS and S3 in moto,
/// CloudWatch at an address where nothing listens.
#[tokio::test]
async fn the_etl_binary_as_collector_reports_an_unreachable_cloudwatch_and_keeps_serving() {
    let deployment = Deployment::create().await;
    let nothing_listens = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", socket.local_addr().unwrap())
    };
    let runtime = RuntimeApi::start("sbw-ops-snapshot", Duration::from_secs(60))
        .await
        .expect("runtime API");
    let mut command = runtime.command(env!("CARGO_BIN_EXE_etl"));
    command
        .env("SBW_ETL_TASK", "ops-snapshot")
        .env("AWS_ENDPOINT_URL", Moto::shared().endpoint())
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", &nothing_listens)
        .envs(deployment.env());
    let mut process = FunctionProcess::spawn(command).expect("spawn the etl binary");

    let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    for _ in 0..2 {
        let outcome = runtime
            .invoke(scheduled.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}; etl output:\n{}", process.output()));
        let InvocationOutcome::Error(error) = outcome else {
            panic!("answered without CloudWatch: {outcome:?}");
        };
        let message = error.body["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!(
                "reading the CloudWatch metrics of HTTP API {API_ID} (stage {STAGE})"
            )),
            "{message}"
        );
        assert!(
            message.to_lowercase().contains("connect"),
            "the cause is named: {message}"
        );
        assert!(
            process.child.try_wait().unwrap().is_none(),
            "etl exited after a failed invocation:\n{}",
            process.output()
        );
    }
    assert_eq!(deployment.snapshot().await, None);
}

#[tokio::test]
async fn the_collector_without_its_settings_or_with_an_unknown_task_stops_at_init_naming_them() {
    let deployment = Deployment::create().await;
    let mut cases: Vec<(&str, Vec<(&str, String)>)> = [
        "SBW_RAW_BUCKET",
        "SBW_DLQ_URL",
        "SBW_HTTP_API_ID",
        "SBW_HTTP_API_STAGE",
    ]
    .into_iter()
    .map(|missing| {
        let mut env = deployment.env();
        env.retain(|(name, _)| *name != missing);
        env.push(("SBW_ETL_TASK", "ops-snapshot".to_owned()));
        (missing, env)
    })
    .collect();
    let mut unknown_task = deployment.env();
    unknown_task.push(("SBW_ETL_TASK", "ops_snapshot".to_owned()));
    cases.push(("SBW_ETL_TASK", unknown_task));

    for (named, env) in cases {
        let runtime = RuntimeApi::start("sbw-ops-snapshot", Duration::from_secs(60))
            .await
            .expect("runtime API");
        let mut command = runtime.command(env!("CARGO_BIN_EXE_etl"));
        command
            .env("AWS_ENDPOINT_URL", Moto::shared().endpoint())
            .envs(env);
        let mut process = FunctionProcess::spawn(command).expect("spawn the etl binary");
        let status = process
            .wait_for_exit(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("etl kept running with {named} wrong"));
        assert!(!status.success());
        assert!(process.output().contains(named), "{}", process.output());
    }
}
