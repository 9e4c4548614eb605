//! `sbwctl snapshot create | list | restore SNAPSHOT_ID`: the warehouse data
//! volume's EBS snapshots.

use std::process::ExitCode;

use chrono::SecondsFormat;
use clap::{Args, Subcommand};
use sbw_deploy::snapshot::{self, Snapshot};
use sbw_deploy::stack::{Outcome, PollTimes};

use super::aws::{progress, run_interruptible};
use super::shell::{block_on, exit, help_with, Environment, OutputArg};

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Snapshot the warehouse data volume now, tagged like DLM's daily snapshots.
    #[command(after_help = help_with("Runbook: backups."))]
    Create(SnapshotArgs),
    /// The warehouse's snapshots, newest first: DLM's daily ones, sbwctl's, and
    /// CloudFormation's of replaced volumes.
    #[command(after_help = help_with("Runbook: backups."))]
    List(SnapshotArgs),
    /// Bring the warehouse back from a snapshot through its stack (the data
    /// volume and the instance are replaced), then name the backfill that
    /// loads what arrived after the snapshot.
    #[command(after_help = help_with(
        "The change set is shown and asked about unless --yes; declining changes nothing (exit 1). \
Runbooks: backups, disaster-recovery."
    ))]
    Restore(RestoreArgs),
}

#[derive(Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    environment: Environment,
    #[command(flatten)]
    output: OutputArg,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The snapshot, as `sbwctl snapshot list` shows it (snap-…).
    #[arg(value_name = "SNAPSHOT_ID")]
    snapshot_id: String,
    #[command(flatten)]
    environment: Environment,
    /// Execute the change set without asking.
    #[arg(long)]
    yes: bool,
}

pub fn run(command: SnapshotCommand) -> anyhow::Result<ExitCode> {
    match command {
        SnapshotCommand::Create(args) => {
            let snapshot = block_on(async {
                let deployed = args.environment.connect().await?;
                snapshot::create(&deployed.aws, &deployed.deployment, &deployed.manifest)
                    .await
                    .map_err(anyhow::Error::from)
            })??;
            args.output.print(&snapshot, |s| {
                format!(
                    "{} of {} started at {} ({}); `sbwctl snapshot list` shows when it is completed\n",
                    s.id,
                    s.volume_id,
                    time(s),
                    s.state
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        SnapshotCommand::List(args) => {
            let snapshots = block_on(async {
                let deployed = args.environment.connect().await?;
                snapshot::list(&deployed.aws, &deployed.deployment, &deployed.manifest)
                    .await
                    .map_err(anyhow::Error::from)
            })??;
            args.output.print(&snapshots, |s| table(s))?;
            Ok(ExitCode::SUCCESS)
        }
        SnapshotCommand::Restore(args) => restore(args),
    }
}

fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let progress = progress(args.yes)?;
    let environment = &args.environment;
    run_interruptible(&progress, async {
        let deployed = environment.connect().await?;
        let restored = snapshot::restore(
            &deployed.aws,
            &deployed.deployment,
            &deployed.manifest,
            &args.snapshot_id,
            &progress,
            &PollTimes::default(),
        )
        .await?;
        if restored.outcome == Outcome::Declined {
            println!("not restored: nothing changed");
            return Ok(ExitCode::from(exit::FAILED));
        }
        println!(
            "the warehouse runs on {}, restored from {} (taken {}).\nTo load what arrived since, run:\n  {} --config {} --env {}",
            restored.volume_id.as_deref().unwrap_or("a new volume"),
            restored.snapshot.id,
            time(&restored.snapshot),
            restored.backfill_command(),
            environment.config.display(),
            environment.env
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn time(snapshot: &Snapshot) -> String {
    snapshot.started.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn table(snapshots: &[Snapshot]) -> String {
    if snapshots.is_empty() {
        return "no snapshots yet (DLM takes the first at 03:00 UTC; `sbwctl snapshot create` takes one now)\n".to_owned();
    }
    let mut text = format!(
        "{:<24} {:<22} {:<10} {:>8} {:>7} {:<7} VOLUME\n",
        "SNAPSHOT", "STARTED", "STATE", "PROGRESS", "SIZE", "BY"
    );
    for s in snapshots {
        text.push_str(&format!(
            "{:<24} {:<22} {:<10} {:>8} {:>4} GB {:<7} {}\n",
            s.id,
            time(s),
            s.state,
            s.progress,
            s.size_gb,
            s.taken_by.as_str(),
            s.volume_id
        ));
    }
    text
}
