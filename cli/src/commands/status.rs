//! `sbwctl status --config F --env E [--output text|json]`.

use std::process::ExitCode;

use clap::Args;
use sbw_deploy::status::{self, Health, StatusReport};

use super::shell::{block_on, exit, help_with, Environment, OutputArg};

#[derive(Args)]
#[command(after_help = help_with(
    "Healthy, degraded (an alarm in ALARM, dead letters, a failed or missing ETL run, stale \
data, drift, or a check that could not be read), broken (a stack missing or failed), or unknown \
(AWS unreachable or the credentials refused): the report is printed in every case."
))]
pub struct StatusArgs {
    #[command(flatten)]
    pub environment: Environment,
    #[command(flatten)]
    pub output: OutputArg,
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let report = block_on(async {
        let deployed = args.environment.connect().await?;
        anyhow::Ok(status::status(&deployed.aws, &deployed.deployment, &deployed.manifest).await)
    })??;
    args.output.print(&report, table)?;
    Ok(ExitCode::from(health_exit_code(report.health)))
}

/// The exit code of a verdict.
pub fn health_exit_code(health: Health) -> u8 {
    match health {
        Health::Healthy => exit::SUCCESS,
        Health::Degraded => exit::DEGRADED,
        Health::Broken => exit::BROKEN,
        Health::Unknown => exit::AWS_FAILED,
    }
}

/// The report for a terminal.
fn table(report: &StatusReport) -> String {
    let mut out = format!("{}: {:?}\n\nSTACKS\n", report.deployment, report.health);
    for stack in &report.stacks {
        out.push_str(&format!(
            "  {:<32} {:<10} {:<26} drift: {}\n",
            stack.stack_name,
            stack.region,
            stack.status.as_ref().map_or("not deployed", |s| s.as_str()),
            stack.drift.as_deref().unwrap_or("-")
        ));
    }
    let reading = |r: Result<String, &String>| r.unwrap_or_else(|e| format!("unknown ({e})"));
    out.push_str(&format!(
        "\nALARMS IN ALARM  {}\n",
        reading(report.alarms_in_alarm.as_ref().map(|a| {
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
            report
                .dead_letters
                .as_ref()
                .map(|d| d.map_or("no queue".to_owned(), |n| n.to_string()))
        )
    ));
    out.push_str(&format!(
        "LAST ETL RUN     {}\n",
        reading(report.last_etl_run.as_ref().map(|r| match r {
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
            report
                .freshness_minutes
                .as_ref()
                .map(|f| f.map_or("no data points".to_owned(), |m| format!("{m:.0} min")))
        ),
        report.freshness_limit_minutes
    ));
    out.push_str(&format!(
        "BUDGET           {}\n",
        reading(report.budget.as_ref().map(|b| match b {
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
    if !report.problems.is_empty() {
        out.push_str("\nPROBLEMS\n");
        for problem in &report.problems {
            out.push_str(&format!("  - {problem}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use sbw_deploy::status::{BudgetSpend, StackHealth};

    use super::*;

    #[test]
    fn the_table_shows_every_reading_and_the_problems() {
        let report = StatusReport {
            deployment: "shop-dev".to_owned(),
            health: Health::Degraded,
            problems: vec!["AWS forecasts 18.25 USD this month, over the budget of 15.00".into()],
            stacks: vec![StackHealth {
                stack_name: "shop-dev-network".to_owned(),
                region: "eu-west-1".to_owned(),
                status: None,
                drift: None,
            }],
            alarms_in_alarm: Ok(Vec::new()),
            dead_letters: Err("access denied".to_owned()),
            last_etl_run: Ok(None),
            freshness_minutes: Ok(Some(20.4)),
            freshness_limit_minutes: 135,
            budget: Ok(Some(BudgetSpend {
                name: "shop-dev-monthly".to_owned(),
                limit: 15.0,
                actual: 9.5,
                forecast: Some(18.25),
                unit: "USD".to_owned(),
            })),
        };
        let table = table(&report);
        for line in [
            "shop-dev: Degraded",
            "  shop-dev-network                 eu-west-1  not deployed               drift: -",
            "ALARMS IN ALARM  none",
            "DEAD LETTERS     unknown (access denied)",
            "LAST ETL RUN     none yet",
            "FRESHNESS        20 min (limit 135 min)",
            "BUDGET           9.50 of 15.00 USD spent this month, forecast 18.25",
            "  - AWS forecasts 18.25 USD this month, over the budget of 15.00",
        ] {
            assert!(table.lines().any(|l| l == line), "{line:?} in\n{table}");
        }
    }
}
