//! `sbwctl deploy --config F --env E [--yes]`: every stack of the environment.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sbw_deploy::deploy::{self, DeployOptions};
use sbw_deploy::stack::PollTimes;
use sbw_deploy::Aws;

use super::aws::{progress, run_interruptible};
use super::shell::{help_with, Environment};

#[derive(Args)]
#[command(after_help = help_with(
    "A failed stack's resources and reasons are printed; after an interruption, what was in \
flight. A change set that replaces or removes a data resource is shown with a warning, and \
refused under --yes unless --allow-replace."
))]
pub struct DeployArgs {
    #[command(flatten)]
    pub environment: Environment,
    /// Execute every change set without asking.
    #[arg(long)]
    pub yes: bool,
    /// The `sbwctl build` output to deploy.
    #[arg(long, value_name = "DIR", default_value = ".sbw/build")]
    pub build_dir: PathBuf,
    /// Move the warehouse to the current Ubuntu AMI (replaces the instance; data is on its own volume).
    #[arg(long)]
    pub update_ami: bool,
    /// Execute change sets that replace or remove a data resource (raw events,
    /// artifacts, the site, access logs, dead letters, user pools, the warehouse
    /// volume). Without it `--yes` refuses them, and a terminal shows them first.
    #[arg(long)]
    pub allow_replace: bool,
}

pub fn run(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let (deployment, manifest) = args.environment.render()?;
    let progress = progress(args.yes)?;
    let options = DeployOptions {
        build_dir: args.build_dir,
        update_ami: args.update_ami,
        allow_replace: args.allow_replace,
        poll: PollTimes::default(),
    };
    run_interruptible(&progress, async {
        let aws = Aws::connect(&manifest.region).await;
        let reports = deploy::deploy(&aws, &deployment, &manifest, &options, &progress).await?;
        println!("{:<32} {:<10} RESULT", "STACK", "REGION");
        for report in &reports {
            let outcome = report.outcome.describe();
            println!("{:<32} {:<10} {outcome}", report.stack_name, report.region);
        }
        println!("\nOUTPUTS");
        for report in &reports {
            for (key, value) in &report.outputs {
                println!("  {:<14} {:<28} {value}", report.name, key);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
