//! `sbwctl dlq inspect | redrive`: the ingest function's dead-letter queue.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use sbw_deploy::dlq::{self, inspect, redrive, DlqError, Located};

use super::shell::{block_on, exit, help_with, Environment, OutputArg};

#[derive(Subcommand)]
pub enum DlqCommand {
    /// What waits in the ingest dead-letter queue: counts by reason and by
    /// hour, the oldest, the objects; never the events themselves.
    Inspect(InspectArgs),
    /// Store every dead letter in the raw store, where the next ETL run loads
    /// it, deleting each message once stored.
    Redrive(RedriveArgs),
}

#[derive(Args)]
#[command(after_help = help_with(&format!(
    "Runbooks: dlq, dlq-age, ingest-storage-failures. Inspect reads messages to count them \
(SQS has no other way): each one read is hidden from other readers (a redrive, another inspect, \
the queue's visible count and the DeadLetters alarm) for at most {} s, and made visible again \
as soon as inspect is done. Nothing is deleted or changed.",
    inspect::VISIBILITY_SECONDS
)))]
pub struct InspectArgs {
    #[command(flatten)]
    pub environment: Environment,
    /// Read at most N messages.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Args)]
#[command(after_help = help_with(&format!(
    "Runbooks: dlq, dlq-age, ingest-storage-failures. The valid events of each message are \
written as one object under the current hour of events/, which the next ETL run lists whatever \
hour they were received in, named after the message, so a second redrive within the hour \
overwrites it (and the ETL keeps one copy of each event id in any case). Lines that no longer \
validate, and messages that are not dead letters, are recorded under rejects/ with the reason. \
A message is deleted only once its objects are stored; messages being stored are hidden for {} s. \
At the first write the raw store refuses, redrive stops and leaves the rest in the queue.",
    redrive::VISIBILITY_SECONDS
)))]
pub struct RedriveArgs {
    #[command(flatten)]
    pub environment: Environment,
    /// Read the queue as inspect does and say what would be stored; write and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputArg,
}

pub fn run(command: DlqCommand) -> anyhow::Result<ExitCode> {
    match command {
        DlqCommand::Inspect(args) => {
            let report = block_on(async {
                let located = locate(&args.environment).await?;
                anyhow::Ok(inspect::inspect(&located.queue, args.limit as usize).await?)
            })??;
            args.output
                .print(&report, inspect::InspectReport::to_text)?;
            Ok(ExitCode::from(exit::SUCCESS))
        }
        DlqCommand::Redrive(args) => {
            let report = block_on(async {
                let located = locate(&args.environment).await?;
                let report =
                    redrive::redrive(&located.queue, &located.raw_store, args.dry_run).await?;
                anyhow::Ok(report)
            })??;
            args.output
                .print(&report, redrive::RedriveReport::to_text)?;
            // A write the raw store refused is a failed AWS call.
            let code = if report.failed > 0 {
                exit::AWS_FAILED
            } else {
                exit::SUCCESS
            };
            Ok(ExitCode::from(code))
        }
    }
}

/// The environment's queue and raw store; a failed AWS call stays one for the exit code.
async fn locate(environment: &Environment) -> anyhow::Result<Located> {
    let deployed = environment.connect().await?;
    dlq::locate(&deployed.aws, &deployed.manifest)
        .await
        .map_err(|error| match error {
            DlqError::Aws(aws) => anyhow::Error::new(aws),
            other => anyhow::Error::new(other),
        })
}
