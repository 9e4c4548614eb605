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
    args.output.print(&report, StatusReport::to_table)?;
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
