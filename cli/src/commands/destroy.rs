//! `sbwctl destroy --config F --env E [--yes] [--delete-data [--confirm ENV]] [--force]`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::Args;
use sbw_deploy::destroy::{self, DestroyOptions};
use sbw_deploy::stack::PollTimes;
use sbw_deploy::Aws;

use super::aws::{progress, run_interruptible};
use super::shell::{help_with, Environment, UsageError};

#[derive(Args)]
#[command(after_help = help_with(
    "Data (raw, artifacts and site buckets, user pools, the warehouse volume as a final \
snapshot, daily snapshots) is kept unless --delete-data. --delete-data asks for the \
environment's name to be typed (--yes does not answer that); scripts pass --confirm ENV."
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
    /// With --delete-data: the environment's name, instead of typing it when asked.
    #[arg(long, value_name = "ENV", requires = "delete_data")]
    pub confirm: Option<String>,
    /// Destroy an environment marked `protected: true`.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: DestroyArgs) -> anyhow::Result<ExitCode> {
    let deployment = args.environment.load()?;
    if args.delete_data {
        let typed = match args.confirm {
            Some(name) => name,
            None if std::io::stdin().is_terminal() => {
                eprint!(
                    "--delete-data deletes every raw event, dead letter, user and the warehouse of {}, with no snapshot kept. Type the environment's name ({}) to go on: ",
                    deployment.prefix(),
                    deployment.environment
                );
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim().to_owned()
            }
            None => {
                return Err(UsageError(format!(
                    "--delete-data deletes the data of {} for good, and there is no terminal to type the environment's name on: pass --confirm {}",
                    deployment.prefix(),
                    deployment.environment
                ))
                .into())
            }
        };
        confirm_name(&deployment.environment, &typed)?;
    }
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
        for bucket in &report.deleted_last {
            println!("deleted s3://{bucket} last, after the buckets that logged into it");
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

/// `typed` must be the environment's name, exactly.
fn confirm_name(environment: &str, typed: &str) -> Result<(), UsageError> {
    if typed == environment {
        Ok(())
    } else {
        Err(UsageError(format!(
            "{typed:?} is not the environment's name ({environment}): nothing was deleted"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_name_confirms() {
        assert!(confirm_name("prod", "prod").is_ok());
        for wrong in ["", "Prod", "prod ", "dev", "sbw-shop-prod", "y"] {
            let error = confirm_name("prod", wrong).unwrap_err();
            assert!(error.0.contains("nothing was deleted"), "{wrong:?}");
        }
    }
}
