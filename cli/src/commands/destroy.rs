//! `sbwctl destroy --config F --env E [--yes] [--delete-data] [--force]`.

use std::process::ExitCode;

use clap::Args;
use sbw_deploy::destroy::{self, DestroyOptions};
use sbw_deploy::stack::PollTimes;
use sbw_deploy::Aws;

use super::aws::{progress, run_interruptible};
use super::shell::{help_with, Environment};

#[derive(Args)]
#[command(after_help = help_with(
    "Data (raw, artifacts and site buckets, user pools, the warehouse volume as a final \
snapshot, daily snapshots) is kept unless --delete-data."
))]
pub struct DestroyArgs {
    #[command(flatten)]
    pub environment: Environment,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Also delete the data: empty and delete the buckets, delete the warehouse volume.
    #[arg(long)]
    pub delete_data: bool,
    /// Destroy an environment marked `protected: true`.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: DestroyArgs) -> anyhow::Result<ExitCode> {
    let deployment = args.environment.load()?;
    let progress = progress(args.yes)?;
    let options = DestroyOptions {
        delete_data: args.delete_data,
        force: args.force,
        poll: PollTimes::default(),
    };
    run_interruptible(&progress, async {
        let aws = Aws::connect(&deployment.region.to_string()).await;
        let report = destroy::destroy(&aws, &deployment, &options, &progress).await?;
        println!(
            "deleted {} stacks{}",
            report.deleted.len(),
            if report.absent.is_empty() {
                String::new()
            } else {
                format!(" ({} were not deployed)", report.absent.len())
            }
        );
        if !report.snapshots_deleted.is_empty() {
            println!(
                "deleted {} daily snapshots of the warehouse volume",
                report.snapshots_deleted.len()
            );
        }
        if !report.kept.is_empty() {
            println!("kept (delete by hand, or destroy --delete-data before destroying):");
            for kept in &report.kept {
                println!(
                    "  {:<28} {:<18} {:<26} {}",
                    kept.stack, kept.logical_id, kept.resource_type, kept.physical_id
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
