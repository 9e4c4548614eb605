//! `sbwctl status`: is the deployment healthy? Each stack's state and drift,
//! alarms in ALARM, the dead-letter queue, the last ETL run and the
//! warehouse's freshness, read concurrently, with a verdict usable from cron.

use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, StateValue, Statistic};
use sbw_etl::summary::{RunStatus, RunSummary, LAST_RUN_KEY};
use sbw_infra::config::{Deployment, GLOBAL_REGION};
use sbw_infra::names::{self, budget_name};
use sbw_infra::render::Manifest;
use serde::Serialize;

use crate::aws::{AwsError, AwsErrorKind};
use crate::stack;
use crate::Aws;

/// How far back `status` looks for the freshness metric.
const FRESHNESS_LOOKBACK: Duration = Duration::from_secs(3 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Healthy,
    /// Working, but something needs a look (an alarm, dead letters, stale data).
    Degraded,
    /// A stack is missing or failed.
    Broken,
    /// AWS could not be asked: unreachable, or the credentials are missing or refused.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackHealth {
    pub stack_name: String,
    pub region: String,
    /// `None`: not deployed.
    pub status: Option<String>,
    pub drift: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    pub name: String,
    pub reason: String,
    pub since: Option<String>,
}

/// A reading that may have failed; the error is kept for the report.
pub type Reading<T> = Result<T, String>;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub deployment: String,
    pub health: Health,
    /// Why the health is not `healthy`, one line each.
    pub problems: Vec<String>,
    pub stacks: Vec<StackHealth>,
    pub alarms_in_alarm: Reading<Vec<Alarm>>,
    pub dead_letters: Reading<Option<u64>>,
    /// `None`: the ETL has not written a summary yet.
    pub last_etl_run: Reading<Option<RunSummary>>,
    /// The newest `SBW/DWFreshnessMinutes` value; `None` without data points.
    pub freshness_minutes: Reading<Option<f64>>,
    pub freshness_limit_minutes: u64,
    /// This month's spend against the budget; `None`: no budget deployed.
    pub budget: Reading<Option<BudgetSpend>>,
}

/// The AWS Budgets monthly budget: its limit, what was spent this month and
/// what AWS forecasts for the whole month, in the budget's currency (USD).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetSpend {
    pub name: String,
    pub limit: f64,
    pub actual: f64,
    pub forecast: Option<f64>,
    pub unit: String,
}

/// Reads everything `status` shows.
pub async fn status(aws: &Aws, deployment: &Deployment, manifest: &Manifest) -> StatusReport {
    let prefix = deployment.prefix();
    let stacks = futures_util::future::join_all(manifest.stacks.iter().map(|s| async move {
        let clients = aws.region(&s.region);
        (
            s,
            stack::describe(&clients.cloudformation, &s.stack_name).await,
        )
    }))
    .await;
    let mut unreachable = None;
    let mut stack_health = Vec::new();
    let mut outputs = std::collections::BTreeMap::new();
    for (stack, described) in stacks {
        let state = match described {
            Ok(state) => state,
            Err(error) => {
                unreachable.get_or_insert(error);
                None
            }
        };
        if let Some(state) = &state {
            outputs.insert(stack.name, state.outputs.clone());
        }
        stack_health.push(StackHealth {
            stack_name: stack.stack_name.clone(),
            region: stack.region.clone(),
            status: state.as_ref().map(|s| s.status.clone()),
            drift: state.and_then(|s| s.drift),
        });
    }
    let output = |stack: &str, key: &str| outputs.get(stack).and_then(|o| o.get(key)).cloned();
    let clients = aws.region(&manifest.region);
    let (account_id, budget) = (deployment.account_id.to_string(), budget_name(&prefix));
    let (alarms_in_alarm, dead_letters, last_etl_run, freshness_minutes, budget) = tokio::join!(
        alarms(clients, &prefix),
        dead_letters(clients, output("ingest", "DeadLetterQueueUrl")),
        last_run(clients, output("storage", "RawBucketName")),
        freshness(clients, &prefix),
        budget_spend(aws.region(GLOBAL_REGION), &account_id, &budget),
    );
    let mut report = StatusReport {
        deployment: prefix,
        health: Health::Healthy,
        problems: Vec::new(),
        stacks: stack_health,
        alarms_in_alarm,
        dead_letters,
        last_etl_run,
        freshness_minutes,
        freshness_limit_minutes: deployment.freshness_alarm_minutes,
        budget,
    };
    let (health, problems) = assess(&report, unreachable.as_ref());
    report.health = health;
    report.problems = problems;
    report
}

/// The verdict and its reasons.
pub fn assess(report: &StatusReport, unreachable: Option<&AwsError>) -> (Health, Vec<String>) {
    let mut problems = Vec::new();
    let mut health = Health::Healthy;
    let mut flag = |level: Health, problem: String| {
        health = health.max(level);
        problems.push(problem);
    };
    if let Some(error) = unreachable {
        let level = match error.kind {
            AwsErrorKind::Unreachable | AwsErrorKind::Credentials => Health::Unknown,
            AwsErrorKind::Throttled | AwsErrorKind::Service => Health::Degraded,
        };
        flag(level, error.to_string());
    }
    for stack in &report.stacks {
        let name = &stack.stack_name;
        match stack.status.as_deref() {
            None if unreachable.is_some() => {}
            None => flag(Health::Broken, format!("{name} is not deployed")),
            Some("CREATE_COMPLETE" | "UPDATE_COMPLETE") => {}
            Some("UPDATE_ROLLBACK_COMPLETE") => flag(
                Health::Degraded,
                format!("{name}: its last update failed and was rolled back"),
            ),
            Some(status) if status.ends_with("_IN_PROGRESS") && !status.starts_with("REVIEW") => {
                flag(Health::Degraded, format!("{name} is changing ({status})"))
            }
            Some(status) => flag(Health::Broken, format!("{name} is in {status}")),
        }
        if stack.drift.as_deref() == Some("DRIFTED") {
            flag(
                Health::Degraded,
                format!("{name} has drifted from its template (changed outside sbwctl)"),
            );
        }
    }
    match &report.alarms_in_alarm {
        Ok(alarms) => {
            for alarm in alarms {
                flag(
                    Health::Degraded,
                    format!("alarm {} is in ALARM: {}", alarm.name, alarm.reason),
                );
            }
        }
        Err(error) => flag(Health::Degraded, format!("alarms unknown: {error}")),
    }
    match &report.dead_letters {
        Ok(Some(0)) => {}
        Ok(Some(count)) => flag(
            Health::Degraded,
            format!("{count} events wait in the ingest dead-letter queue (sbwctl dlq inspect)"),
        ),
        Ok(None) => {}
        Err(error) => flag(
            Health::Degraded,
            format!("dead-letter queue unknown: {error}"),
        ),
    }
    match &report.last_etl_run {
        Ok(Some(run)) if run.status == RunStatus::Failed => flag(
            Health::Degraded,
            format!(
                "the last ETL run ({}) failed: {}",
                run.finished_at,
                run.error.as_deref().unwrap_or("no error recorded")
            ),
        ),
        Ok(Some(_)) => {}
        Ok(None) => flag(Health::Degraded, "the ETL has not run yet".to_owned()),
        Err(error) => flag(Health::Degraded, format!("last ETL run unknown: {error}")),
    }
    let limit = report.freshness_limit_minutes as f64;
    match &report.freshness_minutes {
        Ok(Some(minutes)) if *minutes > limit => flag(
            Health::Degraded,
            format!("the warehouse is {minutes:.0} minutes behind (limit {limit:.0})"),
        ),
        Ok(_) => {}
        Err(error) => flag(Health::Degraded, format!("freshness unknown: {error}")),
    }
    match &report.budget {
        Ok(Some(budget)) if budget.actual > budget.limit => flag(
            Health::Degraded,
            format!(
                "this month's spend, {:.2} {}, is over the budget of {:.2} (runbook: cost-guardrails)",
                budget.actual, budget.unit, budget.limit
            ),
        ),
        Ok(Some(budget)) if budget.forecast.is_some_and(|f| f > budget.limit) => flag(
            Health::Degraded,
            format!(
                "AWS forecasts {:.2} {} this month, over the budget of {:.2} (runbook: cost-guardrails)",
                budget.forecast.unwrap_or_default(),
                budget.unit,
                budget.limit
            ),
        ),
        Ok(_) => {}
        Err(error) => flag(Health::Degraded, format!("budget unknown: {error}")),
    }
    (health, problems)
}

/// The budget's limit, actual and forecast spend (AWS Budgets lives in us-east-1).
async fn budget_spend(
    clients: &crate::aws::RegionClients,
    account_id: &str,
    name: &str,
) -> Reading<Option<BudgetSpend>> {
    let answer = match clients
        .budgets
        .describe_budget()
        .account_id(account_id)
        .budget_name(name)
        .send()
        .await
    {
        Ok(answer) => answer,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            return Ok(None)
        }
        Err(error) => return Err(AwsError::new(format!("reading budget {name}"), &error).reason),
    };
    let Some(budget) = answer.budget() else {
        return Ok(None);
    };
    let amount = |spend: Option<&aws_sdk_budgets::types::Spend>| {
        spend.and_then(|s| s.amount().parse::<f64>().ok())
    };
    let spend = budget.calculated_spend();
    Ok(Some(BudgetSpend {
        name: name.to_owned(),
        limit: amount(budget.budget_limit()).unwrap_or_default(),
        actual: amount(spend.and_then(|s| s.actual_spend())).unwrap_or_default(),
        forecast: amount(spend.and_then(|s| s.forecasted_spend())),
        unit: budget.budget_limit().map_or("USD", |l| l.unit()).to_owned(),
    }))
}

async fn alarms(clients: &crate::aws::RegionClients, prefix: &str) -> Reading<Vec<Alarm>> {
    let firing =
        crate::alarms::metric_alarms(clients, &format!("{prefix}-"), Some(StateValue::Alarm))
            .await
            .map_err(|e| e.reason)?;
    Ok(firing
        .iter()
        .map(|a| Alarm {
            name: a.alarm_name().unwrap_or_default().to_owned(),
            reason: a.state_reason().unwrap_or_default().to_owned(),
            since: a.state_updated_timestamp().map(ToString::to_string),
        })
        .collect())
}

async fn dead_letters(
    clients: &crate::aws::RegionClients,
    queue_url: Option<String>,
) -> Reading<Option<u64>> {
    let Some(queue_url) = queue_url else {
        return Ok(None);
    };
    let answer = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|e| AwsError::new("reading the dead-letter queue", &e).reason)?;
    Ok(answer
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok()))
}

async fn last_run(
    clients: &crate::aws::RegionClients,
    raw_bucket: Option<String>,
) -> Reading<Option<RunSummary>> {
    let Some(bucket) = raw_bucket else {
        return Ok(None);
    };
    let object = match clients
        .s3
        .get_object()
        .bucket(&bucket)
        .key(LAST_RUN_KEY)
        .send()
        .await
    {
        Ok(object) => object,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            return Ok(None)
        }
        Err(error) => {
            return Err(
                AwsError::new(format!("reading s3://{bucket}/{LAST_RUN_KEY}"), &error).reason,
            )
        }
    };
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| format!("reading s3://{bucket}/{LAST_RUN_KEY}: {e}"))?
        .into_bytes();
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("s3://{bucket}/{LAST_RUN_KEY} is not a run summary: {e}"))
}

async fn freshness(clients: &crate::aws::RegionClients, prefix: &str) -> Reading<Option<f64>> {
    let now = std::time::SystemTime::now();
    let answer = clients
        .cloudwatch
        .get_metric_statistics()
        .namespace(names::metric::NAMESPACE)
        .metric_name(names::metric::FRESHNESS)
        .dimensions(
            Dimension::builder()
                .name("Deployment")
                .value(prefix)
                .build(),
        )
        .start_time((now - FRESHNESS_LOOKBACK).into())
        .end_time(now.into())
        .period(300)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .map_err(|e| AwsError::new("reading the freshness metric", &e).reason)?;
    Ok(answer
        .datapoints()
        .iter()
        .filter_map(|d| Some((d.timestamp()?.secs(), d.maximum()?)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, minutes)| minutes))
}

impl StatusReport {
    /// The report for a terminal.
    pub fn to_table(&self) -> String {
        let mut out = format!("{}: {:?}\n\nSTACKS\n", self.deployment, self.health);
        for stack in &self.stacks {
            out.push_str(&format!(
                "  {:<32} {:<10} {:<26} drift: {}\n",
                stack.stack_name,
                stack.region,
                stack.status.as_deref().unwrap_or("not deployed"),
                stack.drift.as_deref().unwrap_or("-")
            ));
        }
        let reading = |r: Result<String, &String>| r.unwrap_or_else(|e| format!("unknown ({e})"));
        out.push_str(&format!(
            "\nALARMS IN ALARM  {}\n",
            reading(self.alarms_in_alarm.as_ref().map(|a| {
                match a.len() {
                    0 => "none".to_owned(),
                    _ => a
                        .iter()
                        .map(|a| a.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            }))
        ));
        out.push_str(&format!(
            "DEAD LETTERS     {}\n",
            reading(
                self.dead_letters
                    .as_ref()
                    .map(|d| d.map_or("no queue".to_owned(), |n| n.to_string()))
            )
        ));
        out.push_str(&format!(
            "LAST ETL RUN     {}\n",
            reading(self.last_etl_run.as_ref().map(|r| match r {
                Some(run) => format!(
                    "{:?} at {}: {} events from {} objects",
                    run.status, run.finished_at, run.events_loaded, run.objects_loaded
                ),
                None => "none yet".to_owned(),
            }))
        ));
        out.push_str(&format!(
            "FRESHNESS        {} (limit {} min)\n",
            reading(
                self.freshness_minutes
                    .as_ref()
                    .map(|f| f.map_or("no data points".to_owned(), |m| format!("{m:.0} min")))
            ),
            self.freshness_limit_minutes
        ));
        out.push_str(&format!(
            "BUDGET           {}\n",
            reading(self.budget.as_ref().map(|b| match b {
                Some(b) => format!(
                    "{:.2} of {:.2} {} spent this month, forecast {}",
                    b.actual,
                    b.limit,
                    b.unit,
                    b.forecast
                        .map_or("unknown".to_owned(), |f| format!("{f:.2}"))
                ),
                None => "no budget deployed".to_owned(),
            }))
        ));
        if !self.problems.is_empty() {
            out.push_str("\nPROBLEMS\n");
            for problem in &self.problems {
                out.push_str(&format!("  - {problem}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> StatusReport {
        StatusReport {
            deployment: "shop-dev".to_owned(),
            health: Health::Healthy,
            problems: Vec::new(),
            stacks: vec![StackHealth {
                stack_name: "shop-dev-network".to_owned(),
                region: "eu-west-1".to_owned(),
                status: Some("UPDATE_COMPLETE".to_owned()),
                drift: Some("IN_SYNC".to_owned()),
            }],
            alarms_in_alarm: Ok(Vec::new()),
            dead_letters: Ok(Some(0)),
            last_etl_run: Ok(Some(RunSummary {
                run_id: Some(7),
                trigger: "schedule".to_owned(),
                status: RunStatus::Succeeded,
                started_at: "2026-01-01T10:00:00Z".to_owned(),
                finished_at: "2026-01-01T10:01:00Z".to_owned(),
                objects_loaded: 3,
                objects_quarantined: 0,
                events_loaded: 120,
                duplicates: 0,
                rejected_lines: 0,
                sessions_rebuilt: 10,
                loaded_through: Some("2026-01-01T09:59:00Z".to_owned()),
                freshness_minutes: Some(12.0),
                newest_event_received_at: Some("2026-01-01T09:58:00Z".to_owned()),
                error: None,
            })),
            freshness_minutes: Ok(Some(20.0)),
            freshness_limit_minutes: 135,
            budget: Ok(Some(BudgetSpend {
                name: "shop-dev-monthly".to_owned(),
                limit: 30.0,
                actual: 12.5,
                forecast: Some(28.0),
                unit: "USD".to_owned(),
            })),
        }
    }

    type Change = Box<dyn FnOnce(&mut StatusReport)>;

    fn verdict(change: impl FnOnce(&mut StatusReport)) -> (Health, Vec<String>) {
        let mut report = healthy();
        change(&mut report);
        assess(&report, None)
    }

    #[test]
    fn everything_in_order_is_healthy() {
        assert_eq!(verdict(|_| {}), (Health::Healthy, vec![]));
    }

    #[test]
    fn attention_items_are_degraded() {
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|r| r.dead_letters = Ok(Some(4))), "4 events wait"),
            (
                Box::new(|r| {
                    r.alarms_in_alarm = Ok(vec![Alarm {
                        name: "shop-dev-ingest-errors".to_owned(),
                        reason: "Threshold Crossed".to_owned(),
                        since: None,
                    }])
                }),
                "shop-dev-ingest-errors is in ALARM",
            ),
            (
                Box::new(|r| r.freshness_minutes = Ok(Some(200.0))),
                "200 minutes behind",
            ),
            (Box::new(|r| r.last_etl_run = Ok(None)), "has not run yet"),
            (
                Box::new(|r| {
                    if let Ok(Some(run)) = &mut r.last_etl_run {
                        run.status = RunStatus::Failed;
                        run.error = Some("connection refused".to_owned());
                    }
                }),
                "failed: connection refused",
            ),
            (
                Box::new(|r| r.stacks[0].drift = Some("DRIFTED".to_owned())),
                "has drifted",
            ),
            (
                Box::new(|r| r.stacks[0].status = Some("UPDATE_ROLLBACK_COMPLETE".to_owned())),
                "rolled back",
            ),
            (
                Box::new(|r| r.alarms_in_alarm = Err("cannot reach AWS".to_owned())),
                "alarms unknown",
            ),
            (
                Box::new(|r| {
                    if let Ok(Some(budget)) = &mut r.budget {
                        budget.forecast = Some(31.0);
                    }
                }),
                "AWS forecasts 31.00 USD this month, over the budget of 30.00",
            ),
            (
                Box::new(|r| {
                    if let Ok(Some(budget)) = &mut r.budget {
                        budget.actual = 30.5;
                    }
                }),
                "spend, 30.50 USD, is over the budget of 30.00",
            ),
            (
                Box::new(|r| r.budget = Err("access denied".to_owned())),
                "budget unknown: access denied",
            ),
        ];
        for (change, expected) in cases {
            let (health, problems) = verdict(change);
            assert_eq!(health, Health::Degraded, "{expected}: {problems:?}");
            assert!(
                problems.iter().any(|p| p.contains(expected)),
                "{expected}: {problems:?}"
            );
        }
    }

    #[test]
    fn missing_or_failed_stacks_are_broken_and_unreachable_aws_unknown() {
        assert_eq!(verdict(|r| r.stacks[0].status = None).0, Health::Broken);
        assert_eq!(
            verdict(|r| r.stacks[0].status = Some("ROLLBACK_COMPLETE".to_owned())).0,
            Health::Broken
        );
        let unreachable = AwsError {
            action: "reading stack shop-dev-network".to_owned(),
            reason: "cannot reach AWS: connection refused".to_owned(),
            kind: AwsErrorKind::Unreachable,
        };
        let mut report = healthy();
        report.stacks[0].status = None;
        let (health, problems) = assess(&report, Some(&unreachable));
        assert_eq!(health, Health::Unknown);
        assert_eq!(
            problems,
            vec![unreachable.to_string()],
            "no 'not deployed' noise"
        );
    }
}
