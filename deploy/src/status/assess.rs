//! The verdict of a status report: its health and the reasons, one line each.

use aws_sdk_cloudformation::types::StackStatus;
use sbw_contract::etl_run::RunStatus;

use super::{Health, StatusReport};
use crate::aws::{AwsError, AwsErrorKind};
use crate::stack;

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
        match &stack.status {
            None if unreachable.is_some() => {}
            None => flag(Health::Broken, format!("{name} is not deployed")),
            Some(StackStatus::CreateComplete | StackStatus::UpdateComplete) => {}
            Some(StackStatus::UpdateRollbackComplete) => flag(
                Health::Degraded,
                format!("{name}: its last update failed and was rolled back"),
            ),
            Some(status) if stack::is_changing(status) => {
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

#[cfg(test)]
mod tests {
    use sbw_contract::etl_run::RunSummary;

    use super::*;
    use crate::status::{Alarm, BudgetSpend, StackHealth};

    fn healthy() -> StatusReport {
        StatusReport {
            deployment: "shop-dev".to_owned(),
            health: Health::Healthy,
            problems: Vec::new(),
            stacks: vec![StackHealth {
                stack_name: "shop-dev-network".to_owned(),
                region: "eu-west-1".to_owned(),
                status: Some(StackStatus::UpdateComplete),
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
                Box::new(|r| r.stacks[0].status = Some(StackStatus::UpdateRollbackComplete)),
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
            verdict(|r| r.stacks[0].status = Some(StackStatus::RollbackComplete)).0,
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
