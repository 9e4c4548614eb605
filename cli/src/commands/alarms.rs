//! `sbwctl alarms [--since 24h]`: what fires now or fired lately, since
//! when, and the runbook to open.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use sbw_deploy::alarms::{self, AlarmsReport};
use sbw_infra::names::alarm_prefix;

use super::shell::{block_on, exit, help_with, since, Environment, OutputArg};

#[derive(Args)]
#[command(after_help = help_with(
    "Lists the environment's alarms in ALARM now, and those that went into ALARM since \
--since (a duration back from now, e.g. 90m, 24h, 7d, or an RFC 3339 time; CloudWatch keeps \
30 days of history), each with its runbook (`sbwctl runbook show NAME`). Exits 4 while one is \
in ALARM."
))]
pub struct AlarmsArgs {
    #[command(flatten)]
    pub environment: Environment,
    /// How far back to look for alarms that fired.
    #[arg(long, value_name = "WHEN", default_value = "24h", value_parser = since)]
    pub since: DateTime<Utc>,
    #[command(flatten)]
    pub output: OutputArg,
}

pub fn run(args: AlarmsArgs) -> anyhow::Result<ExitCode> {
    let report = block_on(async {
        let deployed = args.environment.connect().await?;
        let prefix = deployed.deployment.prefix();
        let clients = deployed.aws.region(&deployed.manifest.region);
        anyhow::Ok(alarms::alarms(clients, &prefix, &alarm_prefix(&prefix), args.since).await?)
    })??;
    args.output.print(&report, AlarmsReport::to_text)?;
    Ok(ExitCode::from(if report.firing().next().is_some() {
        exit::DEGRADED
    } else {
        exit::SUCCESS
    }))
}
