//! `sbwctl`'s command line: the clap definition and the dispatch to each
//! command. It is a library so tests parse command lines with the real `Cli`
//! (the runbooks' commands); every command is a thin call into a library crate.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sbwctl",
    version,
    about = "Deploy and run the SBW clickstream analytics platform"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The platform on this machine.
    #[command(subcommand)]
    Dev(commands::dev::DevCommand),
    /// The warehouse ETL: run, backfill, migrate on this machine; invoke or backfill the deployed function.
    #[command(subcommand)]
    Etl(commands::etl::EtlCommand),
    /// The deployed functions' log lines from CloudWatch Logs, filtered and readable.
    Logs(commands::logs::LogsArgs),
    /// The warehouse data volume's snapshots: create, list, restore.
    #[command(subcommand)]
    Snapshot(commands::snapshot::SnapshotCommand),
    /// The ingest dead-letter queue: inspect what waits, redrive it into the raw store.
    #[command(subcommand)]
    Dlq(commands::dlq::DlqCommand),
    /// Render the CloudFormation templates of an environment, with a manifest.
    Render(commands::render::RenderArgs),
    /// Check the config, the rendered templates, and run cfn-lint and checkov.
    Validate(commands::validate::ValidateArgs),
    /// Estimate the monthly AWS bill of an environment, per service.
    Cost(commands::cost::CostArgs),
    /// Build every Lambda function for provided.al2023 as content-hashed zips.
    Build(commands::build::BuildArgs),
    /// Once per environment, as an administrator: the CloudFormation role every stack is deployed with.
    Bootstrap(commands::bootstrap::BootstrapArgs),
    /// Deploy every stack of an environment through change sets.
    Deploy(commands::deploy::DeployArgs),
    /// Delete every stack of an environment; data is kept unless --delete-data.
    Destroy(commands::destroy::DestroyArgs),
    /// Health of a deployed environment: stacks, alarms, dead letters, ETL freshness, budget.
    Status(commands::status::StatusArgs),
    /// Alarms firing now or fired lately, since when, and their runbooks.
    Alarms(commands::alarms::AlarmsArgs),
    /// The alarm topic's subscribers: send a test page.
    #[command(subcommand)]
    Alerts(commands::alerts::AlertsCommand),
    /// Replace a secret without downtime: `rotate origin-secret`.
    #[command(subcommand)]
    Rotate(commands::rotate::RotateCommand),
    /// IAM policies to attach: `policy operator` for the person who runs sbwctl.
    #[command(subcommand)]
    Policy(commands::policy::PolicyCommand),
    /// The on-call runbooks, from the binary: list, show NAME.
    #[command(subcommand)]
    Runbook(commands::runbook::RunbookCommand),
}

/// Runs the parsed command; errors are one line on stderr.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Dev(command) => commands::dev::run(command),
        Command::Etl(command) => commands::etl::run(command),
        Command::Logs(args) => commands::logs::run(args),
        Command::Snapshot(command) => commands::snapshot::run(command),
        Command::Dlq(command) => commands::dlq::run(command),
        Command::Render(args) => commands::render::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Cost(args) => commands::cost::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Bootstrap(args) => commands::bootstrap::run(args),
        Command::Deploy(args) => commands::deploy::run(args),
        Command::Destroy(args) => commands::destroy::run(args),
        Command::Status(args) => commands::status::run(args),
        Command::Alarms(args) => commands::alarms::run(args),
        Command::Alerts(command) => commands::alerts::run(command),
        Command::Rotate(command) => commands::rotate::run(command),
        Command::Policy(command) => commands::policy::run(command),
        Command::Runbook(command) => commands::runbook::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(commands::shell::exit_code_of(&error))
        }
    }
}
