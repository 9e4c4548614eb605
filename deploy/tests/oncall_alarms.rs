//! `sbwctl alarms`, `alerts test` and the budget line of `status`.
//!
//! Alarms use `aws-smithy-mocks`: aws-sdk-cloudwatch speaks the Smithy RPC v2
//! CBOR protocol, which moto 5.2 does not serve (status's alarm read gets an
//! HTTP error from it, see cli/tests/deploy_flow.rs), and moto has no
//! DescribeAlarmHistory. SNS (publish, subscriptions; moto confirms every
//! subscription and posts to HTTPS ones, so the webhook here is configured
//! but not subscribed) and AWS Budgets
//! (DescribeBudget) run against moto's server.

use aws_sdk_budgets::types::{Budget, BudgetType, CalculatedSpend, Spend, TimeUnit};
use aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryOutput;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmHistoryItem, HistoryItemType, MetricAlarm, StateValue};
use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::{Duration, Utc};
use sbw_deploy::alarms;
use sbw_deploy::alerts::{self, Confirmation};
use sbw_deploy::aws::RegionClients;
use sbw_deploy::status;
use sbw_deploy::Aws;
use sbw_testkit::{unique_name, Moto};

fn at(minutes_ago: i64) -> DateTime {
    DateTime::from_millis((Utc::now() - Duration::minutes(minutes_ago)).timestamp_millis())
}

fn alarm(name: &str, state: StateValue, since: i64, description: &str) -> MetricAlarm {
    MetricAlarm::builder()
        .alarm_name(name)
        .alarm_description(description)
        .state_value(state)
        .state_reason("Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).")
        .state_updated_timestamp(at(since))
        .build()
}

fn into(name: &str, state: &str, minutes_ago: i64) -> AlarmHistoryItem {
    AlarmHistoryItem::builder()
        .alarm_name(name)
        .history_item_type(HistoryItemType::StateUpdate)
        .timestamp(at(minutes_ago))
        .history_data(format!(
            r#"{{"version":"1.0","oldState":{{"stateValue":"OK"}},"newState":{{"stateValue":"{state}","stateReason":"x"}}}}"#
        ))
        .build()
}

/// Clients whose CloudWatch answers with `alarms` and `history` (one page
/// each, then a second page to check the paging), the rest against moto.
async fn with_cloudwatch(
    alarms: Vec<MetricAlarm>,
    history: Vec<AlarmHistoryItem>,
) -> RegionClients {
    let mut clients = RegionClients::new(&Moto::shared().sdk_config().await);
    let (first, rest) = alarms.split_at(1);
    let (first, rest) = (first.to_vec(), rest.to_vec());
    let describe = mock!(CloudWatch::describe_alarms)
        .match_requests(|r| {
            r.alarm_name_prefix() == Some("sbw-shop-dev-") && r.state_value().is_none()
        })
        .sequence()
        .output(move || {
            DescribeAlarmsOutput::builder()
                .set_metric_alarms(Some(first.clone()))
                .next_token("page-2")
                .build()
        })
        .output(move || {
            DescribeAlarmsOutput::builder()
                .set_metric_alarms(Some(rest.clone()))
                .build()
        })
        .build();
    let history_read = mock!(CloudWatch::describe_alarm_history)
        .match_requests(|r| {
            r.history_item_type() == Some(&HistoryItemType::StateUpdate)
                && r.alarm_name().is_none()
                && r.start_date().is_some()
        })
        .then_output(move || {
            DescribeAlarmHistoryOutput::builder()
                .set_alarm_history_items(Some(history.clone()))
                .build()
        });
    clients.cloudwatch = mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        [&describe, &history_read]
    );
    clients
}

#[tokio::test]
async fn alarms_lists_what_fires_and_what_fired_with_runbooks() {
    let built = Utc::now();
    let clients = with_cloudwatch(
        vec![
            alarm(
                "sbw-shop-dev-IngestErrors",
                StateValue::Ok,
                30,
                "The ingest function failed requests (runbook: ingest-errors)",
            ),
            alarm(
                "sbw-shop-dev-DeadLetters",
                StateValue::Alarm,
                90,
                "Events are waiting in the dead-letter queue (runbook: dlq)",
            ),
            alarm(
                "sbw-shop-dev-EtlErrors",
                StateValue::Ok,
                3000,
                "An ETL run failed (runbook: etl-failed)",
            ),
            alarm(
                "sbw-shop-dev-Api5xx",
                StateValue::InsufficientData,
                10,
                "no runbook named",
            ),
        ],
        vec![
            into("sbw-shop-dev-IngestErrors", "ALARM", 120),
            into("sbw-shop-dev-IngestErrors", "OK", 30),
            into("sbw-shop-dev-IngestErrors", "ALARM", 60),
            // Another deployment's alarm in the same region.
            into("sbw-shop-prod-IngestErrors", "ALARM", 60),
            into("sbw-shop-dev-Api5xx", "INSUFFICIENT_DATA", 10),
        ],
    )
    .await;
    let since = Utc::now() - Duration::hours(24);
    let report = alarms::alarms(&clients, "sbw-shop-dev", "sbw-shop-dev-", since)
        .await
        .unwrap();
    let names: Vec<&str> = report.alarms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["sbw-shop-dev-DeadLetters", "sbw-shop-dev-IngestErrors"],
        "firing first, then fired; never fired and other deployments left out"
    );
    let dlq = &report.alarms[0];
    assert!(dlq.is_firing());
    assert_eq!(dlq.runbook.as_deref(), Some("dlq"));
    assert_eq!(dlq.times_fired, 0, "went into ALARM before the window");
    assert_eq!(
        dlq.last_fired, dlq.state_since,
        "firing since its state change"
    );
    let ingest = &report.alarms[1];
    assert_eq!(ingest.state, "OK");
    assert_eq!(ingest.times_fired, 2);
    assert_eq!(ingest.runbook.as_deref(), Some("ingest-errors"));
    // The newer of its two ALARM transitions, 60 minutes before the history
    // was built (to the millisecond), however long building and reading took.
    let last = ingest.last_fired.unwrap();
    let an_hour_before = |t: chrono::DateTime<Utc>| t - Duration::minutes(60);
    assert!(
        (an_hour_before(built) - Duration::milliseconds(1)..=an_hour_before(Utc::now()))
            .contains(&last),
        "{last}"
    );
    assert_eq!(report.firing().count(), 1);
    let text = report.to_text();
    assert!(
        text.starts_with("sbw-shop-dev: 1 firing, 1 fired since "),
        "{text}"
    );
    assert!(text.contains("sbwctl runbook show dlq"), "{text}");
    assert!(
        text.contains("sbw-shop-dev-DeadLetters: Threshold Crossed"),
        "{text}"
    );
}

#[tokio::test]
async fn no_alarm_fired_is_an_empty_report() {
    let clients = with_cloudwatch(
        vec![alarm(
            "sbw-shop-dev-EtlErrors",
            StateValue::Ok,
            3000,
            "An ETL run failed (runbook: etl-failed)",
        )],
        vec![],
    )
    .await;
    let report = alarms::alarms(
        &clients,
        "sbw-shop-dev",
        "sbw-shop-dev-",
        Utc::now() - Duration::hours(1),
    )
    .await
    .unwrap();
    assert!(report.alarms.is_empty());
    assert!(report
        .to_text()
        .starts_with("sbw-shop-dev: 0 firing, 0 fired since"));
}

#[tokio::test]
async fn alerts_test_publishes_and_compares_subscribers_with_the_config() {
    let clients = RegionClients::new(&Moto::shared().sdk_config().await);
    let topic = clients
        .sns
        .create_topic()
        .name(unique_name("alarms"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    for (protocol, endpoint) in [
        ("email", "ops@shop.example.com"),
        ("email", "someone-added-by-hand@example.com"),
    ] {
        clients
            .sns
            .subscribe()
            .topic_arn(&topic)
            .protocol(protocol)
            .endpoint(endpoint)
            .send()
            .await
            .unwrap();
    }
    let wanted = vec![
        ("email", "ops@shop.example.com".to_owned()),
        (
            "https",
            "https://hooks.example.com/services/T0/B0/secret".to_owned(),
        ),
        ("sms", "+84901234567".to_owned()),
    ];
    let result = alerts::test(&clients, "sbw-shop-dev", &topic, &wanted)
        .await
        .unwrap();
    assert!(!result.message_id.is_empty());
    let rows: Vec<(&str, &str, Confirmation, bool)> = result
        .subscribers
        .iter()
        .map(|s| {
            (
                s.protocol.as_str(),
                s.endpoint.as_str(),
                s.state,
                s.configured,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "email",
                "ops@shop.example.com",
                Confirmation::Confirmed,
                true
            ),
            (
                "email",
                "someone-added-by-hand@example.com",
                Confirmation::Confirmed,
                false
            ),
            (
                "https",
                "https://hooks.example.com/…",
                Confirmation::NotSubscribed,
                true
            ),
            ("sms", "+84901234567", Confirmation::NotSubscribed, true),
        ]
    );
    assert_eq!(result.unreached().count(), 2);
    let text = result.to_text();
    assert!(
        !text.contains("secret"),
        "a webhook's path stays hidden: {text}"
    );
    assert!(
        text.contains("2 configured endpoint(s) will not get pages"),
        "{text}"
    );

    let missing = alerts::test(&clients, "sbw-shop-dev", &format!("{topic}-gone"), &wanted)
        .await
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with(&format!("publishing to {topic}-gone: ")),
        "{missing}"
    );
}

#[tokio::test]
async fn status_shows_the_budget_against_its_limit() {
    let config = Moto::shared().sdk_config().await;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");
    let mut deployment =
        sbw_infra::config::load(std::path::Path::new(example), "dev", None).unwrap();
    deployment.project = unique_name("shop");
    let manifest = sbw_infra::render::render(&deployment).unwrap();
    let aws = Aws::from_config(&config, &manifest.region);
    let budgets = &aws.region(sbw_infra::config::GLOBAL_REGION).budgets;

    let report = status::status(&aws, &deployment, &manifest).await;
    assert_eq!(report.budget, Ok(None), "no budget deployed yet");

    let spend = |amount: &str| Spend::builder().amount(amount).unit("USD").build().unwrap();
    budgets
        .create_budget()
        .account_id(deployment.account_id.to_string())
        .budget(
            Budget::builder()
                .budget_name(sbw_infra::names::budget_name(&deployment.prefix()))
                .budget_type(BudgetType::Cost)
                .time_unit(TimeUnit::Monthly)
                .budget_limit(spend("15"))
                .calculated_spend(
                    CalculatedSpend::builder()
                        .actual_spend(spend("9.5"))
                        .forecasted_spend(spend("18.25"))
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let report = status::status(&aws, &deployment, &manifest).await;
    let budget = report.budget.clone().unwrap().unwrap();
    assert_eq!(
        (
            budget.limit,
            budget.actual,
            budget.forecast,
            budget.unit.as_str()
        ),
        (15.0, 9.5, Some(18.25), "USD")
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("AWS forecasts 18.25 USD this month, over the budget of 15.00")),
        "{:?}",
        report.problems
    );
}
