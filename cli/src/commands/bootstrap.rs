//! `sbwctl bootstrap --config F --env E [--yes]`: the deployer stack of an
//! environment, once, with an administrator's credentials.

use std::process::ExitCode;

use clap::Args;
use sbw_deploy::bootstrap;
use sbw_deploy::stack::PollTimes;
use sbw_deploy::Aws;

use super::aws::{progress, run_interruptible};
use super::shell::{help_with, Environment};

#[derive(Args)]
#[command(after_help = help_with(
    "Run once per environment with administrator credentials (like `cdk bootstrap`); running it \
again updates the stack, or does nothing when it is current. It creates the CloudFormation \
service role that `deploy`, `destroy` and `snapshot restore` pass for every stack, and the \
permissions boundary of every role the stacks create. The operator then needs only \
`sbwctl policy operator`."
))]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub environment: Environment,
    /// Execute the change set without asking.
    #[arg(long)]
    pub yes: bool,
}

pub fn run(args: BootstrapArgs) -> anyhow::Result<ExitCode> {
    let (deployment, manifest) = args.environment.render()?;
    let progress = progress(args.yes)?;
    run_interruptible(&progress, async {
        let aws = Aws::connect(&manifest.region).await;
        let report = bootstrap::bootstrap(
            &aws,
            &deployment,
            &manifest,
            &PollTimes::default(),
            &progress,
        )
        .await?;
        let outcome = report.outcome.describe();
        println!("{:<32} {:<10} {outcome}", report.stack_name, report.region);
        for (key, value) in &report.outputs {
            println!("  {key:<20} {value}");
        }
        Ok(ExitCode::SUCCESS)
    })
}
