//! What `status` reads from AWS, each reading on its own: a failed one is
//! kept in the report as its reason.

use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, StateValue, Statistic};
use sbw_contract::etl_run::{RunSummary, LAST_RUN_KEY};
use sbw_infra::names;
use sbw_rawstore::RawStore;

use super::{Alarm, BudgetSpend, Reading};
use crate::aws::{AwsError, RegionClients};

/// How far back `status` looks for the freshness metric.
const FRESHNESS_LOOKBACK: Duration = Duration::from_secs(3 * 3600);

/// The budget's limit, actual and forecast spend (AWS Budgets lives in us-east-1).
pub(super) async fn budget_spend(
    clients: &RegionClients,
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

pub(super) async fn alarms(clients: &RegionClients, prefix: &str) -> Reading<Vec<Alarm>> {
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

pub(super) async fn dead_letters(
    clients: &RegionClients,
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

pub(super) async fn last_run(
    clients: &RegionClients,
    raw_bucket: Option<String>,
) -> Reading<Option<RunSummary>> {
    let Some(bucket) = raw_bucket else {
        return Ok(None);
    };
    let raw_store = RawStore::S3 {
        client: clients.s3.clone(),
        bucket: bucket.clone(),
    };
    let Some(bytes) = raw_store
        .get_if_exists(LAST_RUN_KEY)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| format!("s3://{bucket}/{LAST_RUN_KEY} is not a run summary: {e}"))
}

pub(super) async fn freshness(clients: &RegionClients, prefix: &str) -> Reading<Option<f64>> {
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
