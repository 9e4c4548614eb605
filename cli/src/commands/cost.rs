//! `sbwctl cost --config F --env E [--output text|json]`: the estimated
//! monthly bill, per service, before anything is deployed.

use std::process::ExitCode;

use clap::Args;
use sbw_infra::cost;

use super::shell::{exit_codes_help, OutputArg, Target};

#[derive(Args)]
#[command(after_help = exit_codes_help())]
pub struct CostArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub output: OutputArg,
}

pub fn run(args: CostArgs) -> anyhow::Result<ExitCode> {
    let deployment = args.target.load()?;
    let manifest = sbw_infra::render::render(&deployment)?;
    let estimate = cost::estimate(&deployment, &cost::Footprint::of(&manifest));
    args.output.print(&estimate, cost::Estimate::to_text)?;
    Ok(ExitCode::SUCCESS)
}
