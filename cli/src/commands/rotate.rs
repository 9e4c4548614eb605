//! `sbwctl rotate origin-secret`: a new secret for the event API's front door.

use std::process::ExitCode;

use clap::Subcommand;
use sbw_deploy::rotate;
use sbw_deploy::stack::PollTimes;

use super::aws::{progress, run_interruptible};
use super::shell::{help_with, Environment};

#[derive(Subcommand)]
pub enum RotateCommand {
    /// A new origin secret (the header CloudFront adds to every request to the
    /// event API, without which the API refuses it): stored in SSM next to the
    /// current one, which stays accepted, then sent by CloudFront once the
    /// edge stack is updated. No request is refused along the way.
    #[command(after_help = help_with("Runbook: rotate-origin-secret."))]
    OriginSecret(Environment),
}

pub fn run(command: RotateCommand) -> anyhow::Result<ExitCode> {
    let RotateCommand::OriginSecret(environment) = command;
    // Nothing is asked: the change set only replaces the secret CloudFront sends.
    let progress = progress(true)?;
    run_interruptible(&progress, async {
        let deployed = environment.connect().await?;
        let rotated = rotate::rotate_origin_secret(
            &deployed.aws,
            &deployed.deployment,
            &deployed.manifest,
            &progress,
            &PollTimes::default(),
        )
        .await?;
        println!(
            "origin secret rotated: {} holds the new secret and the previous one; {} {}",
            rotated.parameter,
            rotated.edge_stack,
            rotated.outcome.describe()
        );
        Ok(ExitCode::SUCCESS)
    })
}
