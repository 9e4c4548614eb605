//! `sbwctl status`: is the deployment healthy? Each stack's state and drift,
//! alarms in ALARM, the dead-letter queue, the last ETL run and the
//! warehouse's freshness, read concurrently, with a verdict usable from cron.

//!
//! The readings are in `readings`, the verdict in [`assess`]; the CLI prints.

mod assess;
mod readings;

use aws_sdk_cloudformation::types::StackStatus;
use sbw_contract::etl_run::RunSummary;
use sbw_infra::config::{Deployment, GLOBAL_REGION};
use sbw_infra::names::budget_name;
use sbw_infra::render::Manifest;
use serde::{Serialize, Serializer};

pub use assess::assess;
use readings::{alarms, budget_spend, dead_letters, freshness, last_run};

use crate::stack;
use crate::Aws;

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
    #[serde(serialize_with = "status_name")]
    pub status: Option<StackStatus>,
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

fn status_name<S: Serializer>(status: &Option<StackStatus>, to: S) -> Result<S::Ok, S::Error> {
    status.as_ref().map(StackStatus::as_str).serialize(to)
}
