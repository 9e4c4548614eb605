//! `sbwctl status --config F --env E [--output table|json]`.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use sbw_deploy::status;
use sbw_deploy::Aws;

use super::target::Environment;

#[derive(Args)]
#[command(
    after_help = "Exit codes (for cron and monitors): 0 healthy; 1 degraded (an alarm in \
ALARM, dead letters, a failed or missing ETL run, stale data, drift, or a check that could not be \
read); 2 broken (a stack missing or failed) or AWS unreachable; the config file invalid is also 2."
)]
pub struct StatusArgs {
    #[command(flatten)]
    pub environment: Environment,
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let deployment = match args.environment.load() {
        Ok(deployment) => deployment,
        Err(code) => return Ok(code),
    };
    let manifest = sbw_infra::render::render(&deployment)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(async {
        let aws = Aws::connect(&manifest.region).await;
        status::status(&aws, &deployment, &manifest).await
    });
    match args.output {
        Output::Table => print!("{}", report.to_table()),
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(ExitCode::from(report.health.exit_code()))
}
