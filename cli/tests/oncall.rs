//! The on-call commands against moto, through the binary as an operator runs
//! them, on an environment `sbwctl deploy` made there: `sbwctl logs`,
//! `etl invoke`, `etl backfill --remote`, `snapshot create | list | restore`.
//!
//! Lambda: moto's server serves Invoke without docker once its config says
//! `lambda.use_docker = false` (set before the deploy, so the function lives
//! in that backend); the function then answers with the results queued at
//! `/moto-api/static/lambda-simple/response`, here run summaries as the ETL
//! returns them. What is checked is the function found through the stack,
//! the invocation, and what sbwctl makes of the answers; the ETL's own tests
//! run the ETL. CloudWatch Logs and EC2 snapshots are moto's own.
//!
//! Over 400 lines on purpose: every command runs against the same deployed
//! environment; each file under tests/ is its own test binary, linked anew on
//! every change and links the AWS SDKs.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use sbw_deploy::etl_remote::{self, BackfillOptions, EtlFunction};
use sbw_deploy::Aws;
use sbw_etl::{RunStatus, RunSummary};
use sbw_testkit::Moto;
use serde_json::{json, Value};

mod moto_account;
use moto_account::{
    bootstrap, create_hosted_zone, sbwctl, text, write_build, write_config, REGION,
};

/// The example's prod environment as deployed: its stacks' and functions' names start so.
const PREFIX: &str = "sbw-shop-prod";

struct Deployed {
    moto: Moto,
    _dir: tempfile::TempDir,
    config: String,
}

/// One deployment for the whole binary (the first test to ask makes it).
fn deployed() -> &'static Deployed {
    static DEPLOYED: OnceLock<Deployed> = OnceLock::new();
    DEPLOYED.get_or_init(|| {
        let moto = Moto::start().expect("moto");
        let endpoint = moto.endpoint().to_owned();
        let dir = tempfile::tempdir().unwrap();
        // On a thread of its own: the asking test may be inside a runtime.
        let zone_endpoint = endpoint.clone();
        let zone = std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let endpoint = zone_endpoint;
                let http = reqwest::Client::new();
                let answer = http
                    .post(format!("{endpoint}/moto-api/config"))
                    .json(&json!({"lambda": {"use_docker": false}}))
                    .send()
                    .await
                    .unwrap();
                assert!(answer.status().is_success(), "moto's config: {answer:?}");
                create_hosted_zone(&endpoint).await
            })
        })
        .join()
        .unwrap();
        let config = write_config(dir.path(), &zone, 15);
        let build = dir.path().join("build");
        std::fs::create_dir_all(&build).unwrap();
        write_build(&build, "version 1");
        let config = config.to_str().unwrap().to_owned();
        bootstrap(&config, &endpoint);
        let deploy = sbwctl(
            &[
                "deploy",
                "--config",
                &config,
                "--env",
                "prod",
                "--yes",
                "--build-dir",
                build.to_str().unwrap(),
            ],
            &endpoint,
        );
        assert!(deploy.status.success(), "{}", text(&deploy));
        Deployed {
            moto,
            _dir: dir,
            config,
        }
    })
}

impl Deployed {
    fn sbwctl(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--config", &self.config, "--env", "prod"]);
        sbwctl(&all, self.moto.endpoint())
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        self.moto
            .sdk_config()
            .await
            .to_builder()
            .region(aws_config::Region::new(REGION))
            .build()
    }

    /// The next answers of the (docker-less) Lambda functions, in order.
    async fn queue_answers(&self, answers: &[RunSummary]) {
        let results: Vec<String> = answers
            .iter()
            .map(|a| serde_json::to_string(a).unwrap())
            .collect();
        let answer = reqwest::Client::new()
            .post(format!(
                "{}/moto-api/static/lambda-simple/response",
                self.moto.endpoint()
            ))
            .json(
                &json!({"results": results, "region": REGION, "account_id": moto_account::ACCOUNT}),
            )
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn summary(status: RunStatus, events: u64) -> RunSummary {
    RunSummary {
        run_id: Some(7),
        trigger: "manual".to_owned(),
        status,
        started_at: "2026-11-30T10:00:00.000Z".to_owned(),
        finished_at: "2026-11-30T10:00:02.500Z".to_owned(),
        objects_loaded: events / 10,
        objects_quarantined: 0,
        events_loaded: events,
        duplicates: 1,
        rejected_lines: 0,
        sessions_rebuilt: 3,
        loaded_through: Some("2026-11-30T09:59:00.000Z".to_owned()),
        freshness_minutes: Some(1.0),
        newest_event_received_at: None,
        error: (status == RunStatus::Skipped)
            .then(|| "another run holds the lock (database backend pid 42)".to_owned()),
    }
}

const REQUEST_A: &str = "1d2c3b4a-0000-4000-8000-00000000000a";
const REQUEST_B: &str = "1d2c3b4a-0000-4000-8000-00000000000b";

/// What the ingest function and Lambda write for two invocations, and a
/// line from three hours ago.
fn ingest_lines(now_ms: i64) -> Vec<(i64, String)> {
    let minutes = |m: i64| now_ms - m * 60_000;
    let ours = |level: &str, message: &str, id: &str| {
        json!({"timestamp": "2026-11-30T10:00:00.000000Z", "level": level, "message": message,
               "events": 10, "target": "sbw_ingest::lambda",
               "spans": [{"name": "Lambda runtime invoke", "requestId": id}]})
        .to_string()
    };
    vec![
        (
            minutes(180),
            format!("START RequestId: {REQUEST_B} Version: $LATEST"),
        ),
        (
            minutes(30),
            format!("START RequestId: {REQUEST_A} Version: $LATEST"),
        ),
        (minutes(30), ours("INFO", "stored", REQUEST_A)),
        (
            minutes(29),
            ours("ERROR", "storing failed, sent to the queue", REQUEST_A),
        ),
        (
            minutes(29),
            format!("REPORT RequestId: {REQUEST_A}\tDuration: 12.00 ms\tBilled Duration: 13 ms"),
        ),
        (
            minutes(20),
            format!("START RequestId: {REQUEST_B} Version: $LATEST"),
        ),
        (minutes(20), ours("INFO", "stored", REQUEST_B)),
        (
            minutes(19),
            format!("REPORT RequestId: {REQUEST_B}\tDuration: 3000.00 ms\tStatus: timeout"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_are_read_filtered_and_made_readable() {
    let env = deployed();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&env.sdk().await);
    let group = format!("/aws/lambda/{PREFIX}-ingest");
    let stream = "2026/11/30/[$LATEST]0123456789abcdef";
    // The stack made the group; Lambda makes a stream per sandbox.
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let lines = ingest_lines(chrono::Utc::now().timestamp_millis());
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name(stream)
        .set_log_events(Some(
            lines
                .iter()
                .map(|(at, message)| {
                    InputLogEvent::builder()
                        .timestamp(*at)
                        .message(message)
                        .build()
                        .unwrap()
                })
                .collect(),
        ))
        .send()
        .await
        .unwrap();

    // The last hour, readable: time, level, request id, message, fields.
    let hour = env.sbwctl(&["logs", "ingest", "--since", "1h"]);
    assert!(hour.status.success(), "{}", text(&hour));
    let shown: Vec<String> = stdout(&hour).lines().map(str::to_owned).collect();
    assert_eq!(
        shown.len(),
        7,
        "the line from 3 h ago is left out: {}",
        text(&hour)
    );
    assert!(
        shown[0].contains(&format!("START  {REQUEST_A} START RequestId")),
        "{}",
        shown[0]
    );
    assert!(
        shown[2].contains(&format!(
            "ERROR  {REQUEST_A} storing failed, sent to the queue events=10"
        )),
        "{}",
        shown[2]
    );
    assert!(
        !shown[2].contains("target="),
        "the target is noise: {}",
        shown[2]
    );

    // One request.
    let one = env.sbwctl(&["logs", "ingest", "--request-id", REQUEST_B]);
    let lines_of_b: Vec<String> = stdout(&one).lines().map(str::to_owned).collect();
    assert_eq!(lines_of_b.len(), 3, "{}", text(&one));
    assert!(lines_of_b.iter().all(|l| l.contains(REQUEST_B)));

    // Errors: the ERROR line and the timed-out invocation.
    let errors = env.sbwctl(&["logs", "ingest", "--errors"]);
    let error_lines: Vec<String> = stdout(&errors).lines().map(str::to_owned).collect();
    assert_eq!(error_lines.len(), 2, "{}", text(&errors));
    assert!(error_lines[0].contains("storing failed"));
    assert!(error_lines[1].contains("Status: timeout"));

    // JSON: our lines as written, Lambda's wrapped.
    let as_json = env.sbwctl(&["logs", "ingest", "--since", "2h", "--output", "json"]);
    assert!(as_json.status.success(), "{}", text(&as_json));
    let json_lines: Vec<String> = stdout(&as_json).lines().map(str::to_owned).collect();
    assert_eq!(json_lines.len(), 7);
    assert_eq!(json_lines[1], lines[2].1, "passed through unchanged");
    let wrapped: Value = serde_json::from_str(&json_lines[0]).unwrap();
    assert_eq!(
        wrapped["message"],
        format!("START RequestId: {REQUEST_A} Version: $LATEST")
    );

    // The ETL has logged nothing: no lines, still a success.
    let etl = env.sbwctl(&["logs", "etl", "--since", "30m"]);
    assert!(etl.status.success(), "{}", text(&etl));
    assert_eq!(stdout(&etl), "");
    assert!(stderr(&etl).contains("no log lines match"));
}

#[test]
fn bad_log_arguments_are_one_sentence() {
    let env = deployed();
    let garbage = env.sbwctl(&["logs", "ingest", "--since", "yesterday"]);
    assert_eq!(garbage.status.code(), Some(2), "{}", text(&garbage));
    assert!(
        stderr(&garbage).contains("invalid value 'yesterday' for '--since <WHEN>': \"yesterday\" is neither a duration such as 30m, 1h, 2d or 1h30m nor an RFC 3339 time"),
        "{}",
        text(&garbage)
    );
    let bad_id = env.sbwctl(&["logs", "etl", "--request-id", "\" OR *"]);
    assert_eq!(bad_id.status.code(), Some(1), "{}", text(&bad_id));
    assert!(stderr(&bad_id).contains("is not a Lambda request id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deployed_etl_is_invoked_and_backfills_in_windows() {
    let env = deployed();

    // --wait: the summary the function returned.
    env.queue_answers(&[summary(RunStatus::Succeeded, 120)])
        .await;
    let waited = env.sbwctl(&["etl", "invoke", "--wait"]);
    assert!(waited.status.success(), "{}", text(&waited));
    assert!(
        stdout(&waited).contains("run 7 succeeded in 2.50 s"),
        "{}",
        text(&waited)
    );
    assert!(stdout(&waited).contains("events loaded 120, duplicates 1"));

    // A run that found the lock taken is harmless: exit 0, said so.
    env.queue_answers(&[summary(RunStatus::Skipped, 0)]).await;
    let skipped = env.sbwctl(&["etl", "invoke", "--wait", "--output", "json"]);
    assert!(skipped.status.success(), "{}", text(&skipped));
    let answer: RunSummary = serde_json::from_slice(&skipped.stdout).unwrap();
    assert_eq!(answer.status, RunStatus::Skipped);

    // Without --wait: queued, with the request id to find its logs by.
    let queued = env.sbwctl(&["etl", "invoke"]);
    assert!(queued.status.success(), "{}", text(&queued));
    assert!(
        stdout(&queued).contains(&format!("queued a run of {PREFIX}-etl: request id ")),
        "{}",
        text(&queued)
    );

    // 48 hours: 6 first, then at most four times as many while runs are quick.
    env.queue_answers(&[
        summary(RunStatus::Succeeded, 60),
        summary(RunStatus::Succeeded, 240),
        summary(RunStatus::Succeeded, 180),
    ])
    .await;
    let backfill = env.sbwctl(&[
        "etl",
        "backfill",
        "--from",
        "2026-11-20T00:00:00Z",
        "--to",
        "2026-11-21T23:30:00Z",
        "--remote",
    ]);
    assert!(backfill.status.success(), "{}", text(&backfill));
    let out = stdout(&backfill);
    let windows: Vec<&str> = out.lines().filter(|l| l.starts_with("hours ")).collect();
    assert_eq!(windows.len(), 3, "{out}");
    assert!(
        windows[0].starts_with(
            "hours 6/48 (2026-11-20T00:00:00Z .. 2026-11-20T05:00:00Z): Succeeded, 60 events"
        ),
        "{out}"
    );
    assert!(
        windows[1].starts_with("hours 30/48 (2026-11-20T06:00:00Z .. 2026-11-21T05:00:00Z)"),
        "{out}"
    );
    assert!(
        windows[2].starts_with("hours 48/48 (2026-11-21T06:00:00Z .. 2026-11-21T23:00:00Z)"),
        "{out}"
    );
    assert!(
        out.contains("done: 3 windows, 480 events from 48 objects"),
        "{out}"
    );

    // A window skipped for the lock is sent again.
    env.queue_answers(&[
        summary(RunStatus::Skipped, 0),
        summary(RunStatus::Succeeded, 30),
    ])
    .await;
    let deployment =
        sbw_infra::config::load(std::path::Path::new(&env.config), "prod", None).unwrap();
    let manifest = sbw_infra::render::render(&deployment).unwrap();
    let aws = Aws::from_config(&env.sdk().await, REGION);
    let function = EtlFunction::find(&aws, &manifest).await.unwrap();
    let hour: chrono::DateTime<chrono::Utc> = "2026-11-22T00:00:00Z".parse().unwrap();
    let mut seen = Vec::new();
    let totals = etl_remote::backfill(
        &function,
        hour,
        hour,
        &BackfillOptions {
            busy_waits: vec![Duration::ZERO],
        },
        |done| seen.push(done.summary.status),
    )
    .await
    .unwrap();
    assert_eq!(seen, vec![RunStatus::Succeeded]);
    assert_eq!(totals.events_loaded, 30);

    // --from after --to: a usage error.
    let backwards = env.sbwctl(&[
        "etl",
        "backfill",
        "--from",
        "2026-11-21T00:00:00Z",
        "--to",
        "2026-11-20T00:00:00Z",
        "--remote",
    ]);
    assert_eq!(backwards.status.code(), Some(2), "{}", text(&backwards));
    assert!(
        stderr(&backwards).contains("a backfill needs from <= to"),
        "{}",
        text(&backwards)
    );
}

#[test]
fn an_environment_that_is_not_deployed_is_named() {
    let env = deployed();
    // The example's dev environment was never deployed to moto.
    for command in [
        &["etl", "invoke", "--wait"][..],
        &["logs", "etl"],
        &["snapshot", "create"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--config", moto_account::EXAMPLE, "--env", "dev"]);
        let output = sbwctl(&args, env.moto.endpoint());
        assert_eq!(
            output.status.code(),
            Some(1),
            "{command:?}: {}",
            text(&output)
        );
        let error = stderr(&output);
        assert!(
            error.starts_with("error: stack sbw-shop-dev-")
                && error.contains("is not deployed in us-east-1: run `sbwctl deploy"),
            "{command:?}: {error}"
        );
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_are_taken_listed_and_restored_through_the_stack() {
    let env = deployed();
    let ec2 = aws_sdk_ec2::Client::new(&env.sdk().await);
    let cfn = aws_sdk_cloudformation::Client::new(&env.sdk().await);
    let warehouse_stack = format!("{PREFIX}-warehouse");
    let parameter =
        |stack: aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput| {
            stack.stacks()[0]
                .parameters()
                .iter()
                .find(|p| p.parameter_key() == Some("DataSnapshotId"))
                .and_then(|p| p.parameter_value())
                .map(str::to_owned)
        };
    let describe = || cfn.describe_stacks().stack_name(&warehouse_stack).send();
    assert_eq!(
        parameter(describe().await.unwrap()).as_deref(),
        Some(""),
        "a new volume at first"
    );

    let created = env.sbwctl(&["snapshot", "create", "--output", "json"]);
    assert!(created.status.success(), "{}", text(&created));
    let snapshot: Value = serde_json::from_slice(&created.stdout).unwrap();
    let id = snapshot["id"].as_str().unwrap().to_owned();
    assert_eq!(snapshot["taken_by"], "sbwctl");
    // Tagged as DLM tags its own, by the backup tag first of all (moto's
    // volumes made by CloudFormation have no tags to copy).
    let tags = ec2
        .describe_snapshots()
        .snapshot_ids(&id)
        .send()
        .await
        .unwrap()
        .snapshots()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(
        tags.get("sbw:backup").map(String::as_str),
        Some(PREFIX),
        "{tags:?}"
    );
    assert_eq!(tags.get("sbw:snapshot").map(String::as_str), Some("manual"));

    // A snapshot of another volume is not listed, and not restored.
    let zone = ec2
        .describe_availability_zones()
        .send()
        .await
        .unwrap()
        .availability_zones()[0]
        .zone_name()
        .unwrap()
        .to_owned();
    let stranger = ec2
        .create_volume()
        .availability_zone(zone)
        .size(1)
        .send()
        .await
        .unwrap();
    let foreign = ec2
        .create_snapshot()
        .volume_id(stranger.volume_id().unwrap())
        .send()
        .await
        .unwrap();
    let foreign = foreign.snapshot_id().unwrap();

    let list = env.sbwctl(&["snapshot", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    let listed = stdout(&list);
    assert!(listed.lines().next().unwrap().starts_with("SNAPSHOT"));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("sbwctl")),
        "{listed}"
    );
    assert!(!listed.contains(foreign), "{listed}");

    for (bad, expected) in [
        ("vol-0123", "\"vol-0123\" is not a snapshot id"),
        (
            "snap-0123456789abcdef0",
            "there is no snapshot snap-0123456789abcdef0 in eu-west-1",
        ),
        (foreign, "is not a snapshot of the sbw-shop-prod warehouse"),
    ] {
        let refused = env.sbwctl(&["snapshot", "restore", bad, "--yes"]);
        assert_eq!(refused.status.code(), Some(1), "{bad}: {}", text(&refused));
        assert!(
            stderr(&refused).contains(expected),
            "{bad}: {}",
            text(&refused)
        );
    }
    // Without a terminal to ask on, nothing happens without --yes.
    let unasked = env.sbwctl(&["snapshot", "restore", &id]);
    assert_eq!(unasked.status.code(), Some(1), "{}", text(&unasked));
    assert!(stderr(&unasked).contains("pass --yes"));

    let restored = env.sbwctl(&["snapshot", "restore", &id, "--yes"]);
    assert!(restored.status.success(), "{}", text(&restored));
    assert_eq!(
        parameter(describe().await.unwrap()).as_deref(),
        Some(id.as_str())
    );
    let said = stdout(&restored);
    assert!(said.contains(&format!("restored from {id}")), "{said}");
    let backfill = said
        .lines()
        .find(|l| l.trim_start().starts_with("sbwctl etl backfill --from "))
        .unwrap_or_else(|| panic!("no backfill named: {said}"));
    assert!(
        backfill.ends_with(&format!("--remote --config {} --env prod", env.config)),
        "{backfill}"
    );
    assert!(
        stderr(&restored).contains("replaces the data volume"),
        "{}",
        text(&restored)
    );

    // The stacks that use the replaced instance's outputs take them as
    // parameters and were given the new values.
    let stack = |name: String| {
        let cfn = cfn.clone();
        async move {
            let state = sbw_deploy::stack::describe(&cfn, &name)
                .await
                .unwrap()
                .unwrap();
            (state.parameters, state.outputs)
        }
    };
    let (_, warehouse_outputs) = stack(warehouse_stack.clone()).await;
    let (etl, _) = stack(format!("{PREFIX}-etl")).await;
    let (observability, _) = stack(format!("{PREFIX}-observability")).await;
    assert_eq!(
        etl.get("WarehouseHost"),
        warehouse_outputs.get("DatabaseHost")
    );
    assert_eq!(
        observability.get("WarehouseInstanceId"),
        warehouse_outputs.get("InstanceId")
    );

    // The same snapshot again: said, not redone.
    let again = env.sbwctl(&["snapshot", "restore", &id, "--yes"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(stderr(&again).contains(&format!("already runs on a volume restored from {id}")));
}
