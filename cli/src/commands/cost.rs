//! `sbwctl cost --config F --env E [--output text|json]`: the estimated
//! monthly bill, per service, before anything is deployed.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use sbw_infra::cost;

use super::target::{Target, EXIT_CODES};

#[derive(Args)]
#[command(after_help = EXIT_CODES)]
pub struct CostArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

pub fn run(args: CostArgs) -> anyhow::Result<ExitCode> {
    let deployment = match args.target.load() {
        Ok(deployment) => deployment,
        Err(code) => return Ok(code),
    };
    let manifest = sbw_infra::render::render(&deployment)?;
    let estimate = cost::estimate(&deployment, &cost::Footprint::of(&manifest));
    match args.output {
        Output::Text => print!("{}", estimate.to_text()),
        Output::Json => println!("{}", serde_json::to_string_pretty(&estimate)?),
    }
    Ok(ExitCode::SUCCESS)
}
