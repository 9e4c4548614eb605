//! Paths moto cannot produce, against clients fed AWS-shaped responses
//! (aws-smithy-mocks): a first create that fails and rolls back, a stack left
//! in ROLLBACK_COMPLETE, throttling, expired credentials, and CloudWatch
//! (whose protocol moto does not serve) in `status`.
//!
//! Over 400 lines on purpose: one case per failure moto cannot produce,
//! sharing the fed clients; each file under tests/ is its own test binary,
//! linked anew on every change and links the AWS SDKs.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, Output, ResourceChange, ResourceStatus, Stack,
    StackEvent, StackStatus,
};
use aws_sdk_cloudformation::Client as CloudFormation;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use sbw_deploy::aws::{AwsErrorKind, RegionClients};
use sbw_deploy::progress::{AssumeYes, Progress};
use sbw_deploy::stack::{
    self, DataGuard, Outcome, PollTimes, StackChange, StackError, StackState, TemplateSource,
};
use sbw_deploy::status::{self, Health};
use sbw_deploy::Aws;

const STACK: &str = "shop-dev-ingest";
const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/shop-dev-ingest/5b3c";

/// The deployer role (`sbwctl bootstrap`): every change set and deletion
/// passes it, or the mocked CloudFormation below answers no rule matched.
const ROLE: &str = "arn:aws:iam::123456789012:role/shop-dev-deployer";

fn no_wait() -> PollTimes {
    PollTimes(vec![Duration::ZERO])
}

fn cloudformation(rules: &[&Rule]) -> CloudFormation {
    mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules)
}

fn event(
    id: &str,
    logical_id: &str,
    kind: &str,
    status: ResourceStatus,
    reason: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .logical_resource_id(logical_id)
        .resource_type(kind)
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(DateTime::from(SystemTime::now()))
        .build()
}

fn stack_in(status: StackStatus) -> Stack {
    Stack::builder()
        .stack_name(STACK)
        .stack_id(STACK_ID)
        .stack_status(status)
        .creation_time(DateTime::from(SystemTime::now()))
        .build()
}

fn change() -> StackChange<'static> {
    StackChange {
        stack_name: STACK,
        template: TemplateSource::Body("Resources: {}".to_owned()),
        template_sha256: "0",
        parameters: [(
            "IngestCodeKey".to_owned(),
            Some("lambda/ingest-0123456789abcdef.zip".to_owned()),
        )]
        .into_iter()
        .collect(),
        capabilities: &["CAPABILITY_IAM"],
        ask: true,
        guard: DataGuard::default(),
        before_execute: None,
        role_arn: Some(ROLE),
    }
}

/// The calls of a change set that creates the stack and is executed.
fn change_set_rules() -> Vec<Rule> {
    vec![
        mock!(CloudFormation::create_change_set)
            .match_requests(|r| r.role_arn() == Some(ROLE))
            .then_output(|| {
                CreateChangeSetOutput::builder()
                    .id("arn:changeset/sbw-1")
                    .stack_id(STACK_ID)
                    .build()
            }),
        mock!(CloudFormation::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .resource_change(
                            ResourceChange::builder()
                                .action(ChangeAction::Add)
                                .logical_resource_id("Function")
                                .resource_type("AWS::Lambda::Function")
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        mock!(CloudFormation::execute_change_set)
            .then_output(|| ExecuteChangeSetOutput::builder().build()),
    ]
}

/// Events as AWS lists them, newest first, after a failed first create.
fn rolled_back_events() -> DescribeStackEventsOutput {
    use ResourceStatus::*;
    DescribeStackEventsOutput::builder()
        .stack_events(event("8", STACK, "AWS::CloudFormation::Stack", RollbackComplete, None))
        .stack_events(event("7", "Function", "AWS::Lambda::Function", DeleteComplete, None))
        .stack_events(event("6", "DeadLetterQueue", "AWS::SQS::Queue", DeleteComplete, None))
        .stack_events(event(
            "5",
            STACK,
            "AWS::CloudFormation::Stack",
            RollbackInProgress,
            Some("The following resource(s) failed to create: [Function, DeadLetterQueue]. Rollback requested by user."),
        ))
        .stack_events(event("4", "DeadLetterQueue", "AWS::SQS::Queue", CreateFailed, Some("Resource creation cancelled")))
        .stack_events(event(
            "3",
            "Function",
            "AWS::Lambda::Function",
            CreateFailed,
            Some("Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.\""),
        ))
        .stack_events(event("2", "Function", "AWS::Lambda::Function", CreateInProgress, None))
        .stack_events(event("1", STACK, "AWS::CloudFormation::Stack", ResourceStatus::from("REVIEW_IN_PROGRESS"), Some("User Initiated")))
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_first_create_names_the_failed_resource_and_its_reason_after_rollback() {
    let mut rules = change_set_rules();
    rules.push(
        mock!(CloudFormation::describe_stack_events)
            .sequence()
            .output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event(
                        "1",
                        STACK,
                        "AWS::CloudFormation::Stack",
                        ResourceStatus::from("REVIEW_IN_PROGRESS"),
                        None,
                    ))
                    .build()
            })
            .output(rolled_back_events)
            .repeatedly()
            .build(),
    );
    rules.push(mock!(CloudFormation::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(stack_in(StackStatus::RollbackComplete))
            .build()
    }));
    let cfn = cloudformation(&rules.iter().collect::<Vec<_>>());
    let progress = Progress::new(Box::new(AssumeYes));
    let spinner = progress.start(STACK, "test");
    let error = stack::deploy(&cfn, &spinner, None, &change(), &no_wait())
        .await
        .unwrap_err();
    let StackError::Failed {
        stack,
        status,
        failures,
    } = &error
    else {
        panic!("expected a failed stack, got {error}");
    };
    assert_eq!(
        (stack.as_str(), status.as_str()),
        (STACK, "ROLLBACK_COMPLETE")
    );
    assert_eq!(
        failures.len(),
        1,
        "cancelled resources are consequences: {failures:?}"
    );
    assert_eq!(failures[0].logical_id, "Function");
    assert_eq!(failures[0].status, "CREATE_FAILED");
    let message = error.to_string();
    assert!(
        message.contains("Function (AWS::Lambda::Function) CREATE_FAILED"),
        "{message}"
    );
    assert!(message.contains("S3 Error Code: NoSuchKey"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_left_by_a_failed_first_create_is_deleted_and_created_again() {
    let mut rules = change_set_rules();
    rules.push(
        mock!(CloudFormation::delete_stack)
            .match_requests(|r| r.role_arn() == Some(ROLE))
            .then_output(|| DeleteStackOutput::builder().build()),
    );
    rules.push(
        mock!(CloudFormation::describe_stack_events).then_output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event(
                    "9",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    ResourceStatus::CreateComplete,
                    None,
                ))
                .build()
        }),
    );
    rules.push(
        mock!(CloudFormation::describe_stacks)
            .sequence()
            .output(|| {
                DescribeStacksOutput::builder()
                    .stacks(stack_in(StackStatus::DeleteComplete))
                    .build()
            })
            .output(|| {
                let mut stack = stack_in(StackStatus::CreateComplete);
                stack.outputs = Some(vec![Output::builder()
                    .output_key("FunctionName")
                    .output_value("shop-dev-ingest")
                    .build()]);
                DescribeStacksOutput::builder().stacks(stack).build()
            })
            .repeatedly()
            .build(),
    );
    let delete_rule = &rules[3];
    let cfn = cloudformation(&rules.iter().collect::<Vec<_>>());
    let progress = Progress::new(Box::new(AssumeYes));
    let spinner = progress.start(STACK, "test");
    let left_behind = StackState {
        stack_name: STACK.to_owned(),
        stack_id: STACK_ID.to_owned(),
        status: StackStatus::RollbackComplete,
        status_reason: None,
        parameters: Default::default(),
        outputs: Default::default(),
        drift: None,
    };
    let (outcome, outputs) =
        stack::deploy(&cfn, &spinner, Some(left_behind), &change(), &no_wait())
            .await
            .unwrap();
    assert_eq!(
        delete_rule.num_calls(),
        1,
        "the leftover stack is deleted first"
    );
    assert_eq!(outcome, Outcome::Created);
    assert_eq!(outputs["FunctionName"], "shop-dev-ingest");
}

fn describe_error(code: &'static str, message: &'static str) -> DescribeStacksError {
    DescribeStacksError::generic(
        aws_sdk_cloudformation::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build(),
    )
}

#[tokio::test]
async fn throttling_is_retried_and_reported_when_it_persists() {
    let throttled_once = mock!(CloudFormation::describe_stacks)
        .sequence()
        .error(|| describe_error("Throttling", "Rate exceeded"))
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(stack_in(StackStatus::UpdateComplete))
                .build()
        })
        .build();
    let retrying = |rules: &[&Rule]| {
        mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, rules, |c| c
            .retry_config(
                aws_sdk_cloudformation::config::retry::RetryConfig::standard().with_max_attempts(3)
            ))
    };
    let state = stack::describe(&retrying(&[&throttled_once]), STACK)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.status, StackStatus::UpdateComplete);
    assert_eq!(throttled_once.num_calls(), 2);

    let always_throttled = mock!(CloudFormation::describe_stacks)
        .sequence()
        .error(|| describe_error("Throttling", "Rate exceeded"))
        .repeatedly()
        .build();
    let error = stack::describe(&retrying(&[&always_throttled]), STACK)
        .await
        .unwrap_err();
    assert_eq!(error.kind, AwsErrorKind::Throttled);
    assert!(error.to_string().contains("throttling"), "{error}");
}

#[tokio::test]
async fn expired_credentials_say_so_in_one_line() {
    let expired = mock!(CloudFormation::describe_stacks).then_error(|| {
        describe_error(
            "ExpiredToken",
            "The security token included in the request is expired",
        )
    });
    let error = stack::describe(&cloudformation(&[&expired]), STACK)
        .await
        .unwrap_err();
    assert_eq!(error.kind, AwsErrorKind::Credentials);
    let message = error.to_string();
    assert!(
        message.contains("credentials have expired") && !message.contains('\n'),
        "{message}"
    );
}

#[tokio::test]
async fn status_reads_alarms_and_the_newest_freshness_point_from_cloudwatch() {
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::operation::get_metric_statistics::GetMetricStatisticsOutput;
    use aws_sdk_cloudwatch::types::{Datapoint, MetricAlarm, StateValue};
    use aws_sdk_cloudwatch::Client as CloudWatch;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::Client as S3;
    use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
    use aws_sdk_sqs::types::QueueAttributeName;
    use aws_sdk_sqs::Client as Sqs;

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");
    let deployment = sbw_infra::config::load(std::path::Path::new(example), "dev", None).unwrap();
    let manifest = sbw_infra::render::render(&deployment).unwrap();

    let stacks = mock!(CloudFormation::describe_stacks)
        .sequence()
        .output(|| {
            let mut stack = stack_in(StackStatus::UpdateComplete);
            stack.outputs = Some(vec![
                Output::builder()
                    .output_key("DeadLetterQueueUrl")
                    .output_value("https://sqs.us-east-1.amazonaws.com/1/dlq")
                    .build(),
                Output::builder()
                    .output_key("RawBucketName")
                    .output_value("raw")
                    .build(),
            ]);
            DescribeStacksOutput::builder().stacks(stack).build()
        })
        .repeatedly()
        .build();
    let now = SystemTime::now();
    let alarms = mock!(CloudWatch::describe_alarms)
        .match_requests(|r| r.state_value() == Some(&StateValue::Alarm) && r.alarm_name_prefix() == Some("sbw-shop-dev-"))
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("sbw-shop-dev-IngestErrors")
                        .state_value(StateValue::Alarm)
                        .state_reason("Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).")
                        .build(),
                )
                .build()
        });
    let freshness = mock!(CloudWatch::get_metric_statistics)
        .match_requests(|r| {
            r.namespace() == Some("SBW") && r.metric_name() == Some("DWFreshnessMinutes")
        })
        .then_output(move || {
            GetMetricStatisticsOutput::builder()
                .datapoints(
                    Datapoint::builder()
                        .timestamp(DateTime::from(now))
                        .maximum(200.0)
                        .build(),
                )
                .datapoints(
                    Datapoint::builder()
                        .timestamp(DateTime::from(now - Duration::from_secs(600)))
                        .maximum(20.0)
                        .build(),
                )
                .build()
        });
    let queue = mock!(Sqs::get_queue_attributes).then_output(|| {
        GetQueueAttributesOutput::builder()
            .attributes(QueueAttributeName::ApproximateNumberOfMessages, "3")
            .build()
    });
    let no_run = mock!(S3::get_object).then_error(|| {
        GetObjectError::NoSuchKey(aws_sdk_s3::types::error::NoSuchKey::builder().build())
    });
    let no_budget = mock!(aws_sdk_budgets::Client::describe_budget).then_error(|| {
        aws_sdk_budgets::operation::describe_budget::DescribeBudgetError::NotFoundException(
            aws_sdk_budgets::types::error::NotFoundException::builder().build(),
        )
    });
    let clients = RegionClients {
        cloudformation: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&stacks]),
        s3: mock_client!(aws_sdk_s3, [&no_run]),
        ssm: mock_client!(aws_sdk_ssm, []),
        sqs: mock_client!(aws_sdk_sqs, [&queue]),
        cloudwatch: mock_client!(
            aws_sdk_cloudwatch,
            RuleMode::MatchAny,
            [&alarms, &freshness]
        ),
        ec2: mock_client!(aws_sdk_ec2, []),
        lambda: mock_client!(aws_sdk_lambda, []),
        logs: mock_client!(aws_sdk_cloudwatchlogs, []),
        sts: mock_client!(aws_sdk_sts, []),
        sns: mock_client!(aws_sdk_sns, []),
        budgets: mock_client!(aws_sdk_budgets, [&no_budget]),
    };
    let aws = Aws::from_clients([("us-east-1".to_owned(), clients)]);
    let report = status::status(&aws, &deployment, &manifest).await;
    assert_eq!(report.health, Health::Degraded);
    assert_eq!(
        report.freshness_minutes,
        Ok(Some(200.0)),
        "the newest point counts"
    );
    assert_eq!(report.dead_letters, Ok(Some(3)));
    assert_eq!(report.last_etl_run, Ok(None));
    let problems = report.problems.join("\n");
    assert!(
        problems.contains("sbw-shop-dev-IngestErrors is in ALARM: Threshold Crossed"),
        "{problems}"
    );
    assert!(
        problems.contains("200 minutes behind (limit 135)"),
        "{problems}"
    );
    assert!(problems.contains("3 events wait"), "{problems}");
    assert!(problems.contains("the ETL has not run yet"), "{problems}");
}

/// `deploy --yes`: a change set that replaces the warehouse's data volume is
/// refused and deleted, never executed; with `--allow-replace` it runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_set_replacing_a_data_resource_is_refused_under_yes() {
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::types::Replacement;
    // The calls of change_set_rules(), with a change set that replaces data
    // and the deletion of a refused one.
    let rules = || {
        let mut usual = change_set_rules();
        let execute = usual.pop().unwrap();
        usual.pop();
        let create = usual.pop().unwrap();
        vec![
            create,
            mock!(CloudFormation::describe_change_set).then_output(|| {
                let resource = |id: &str, kind: &str, replacement| {
                    Change::builder()
                        .resource_change(
                            ResourceChange::builder()
                                .action(ChangeAction::Modify)
                                .logical_resource_id(id)
                                .resource_type(kind)
                                .replacement(replacement)
                                .build(),
                        )
                        .build()
                };
                DescribeChangeSetOutput::builder()
                    .status(ChangeSetStatus::CreateComplete)
                    .changes(resource(
                        "Instance",
                        "AWS::EC2::Instance",
                        Replacement::True,
                    ))
                    .changes(resource(
                        "DataVolume",
                        "AWS::EC2::Volume",
                        Replacement::True,
                    ))
                    .build()
            }),
            mock!(CloudFormation::delete_change_set)
                .then_output(|| DeleteChangeSetOutput::builder().build()),
            execute,
        ]
    };
    let guarded = |allow_replace| StackChange {
        guard: DataGuard {
            data_resources: vec!["DataVolume".to_owned()],
            allow_replace,
            protected: false,
        },
        ..change()
    };
    let refused = rules();
    let cfn = cloudformation(&refused.iter().collect::<Vec<_>>());
    let progress = Progress::new(Box::new(AssumeYes));
    let spinner = progress.start(STACK, "test");
    let error = stack::deploy(&cfn, &spinner, None, &guarded(false), &no_wait())
        .await
        .unwrap_err();
    let StackError::ReplacesData { stack, at_risk } = &error else {
        panic!("expected a refusal, got {error}");
    };
    assert_eq!(stack, STACK);
    let ids: Vec<&str> = at_risk.iter().map(|c| c.logical_id.as_str()).collect();
    assert_eq!(ids, ["DataVolume"], "the instance holds no data");
    assert!(
        error
            .to_string()
            .contains("replace the data resource DataVolume (AWS::EC2::Volume)"),
        "{error}"
    );
    assert_eq!(refused[3].num_calls(), 0, "never executed");
    assert_eq!(refused[2].num_calls(), 1, "the change set is deleted");

    // --allow-replace: executed (and then followed; the mocks end it there).
    let allowed = rules();
    let mut with_stack = allowed.iter().collect::<Vec<_>>();
    let events = mock!(CloudFormation::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let stacks = mock!(CloudFormation::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(stack_in(StackStatus::UpdateComplete))
            .build()
    });
    with_stack.extend([&events, &stacks]);
    let cfn = cloudformation(&with_stack);
    let (outcome, _) = stack::deploy(&cfn, &spinner, None, &guarded(true), &no_wait())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Updated);
    assert_eq!(allowed[3].num_calls(), 1);
}
