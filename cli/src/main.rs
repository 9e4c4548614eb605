//! `sbwctl`: the SBW operator tool. Parsing lives here; every command is a
//! thin call into a library crate, so tests call the same code directly.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: sbw_ingest::Allocator = sbw_ingest::Allocator {};

#[derive(Parser)]
#[command(
    name = "sbwctl",
    version,
    about = "Deploy and run the SBW clickstream analytics platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The platform on this machine.
    #[command(subcommand)]
    Dev(commands::dev::DevCommand),
    /// The warehouse ETL on this machine: run, backfill, migrate.
    #[command(subcommand)]
    Etl(commands::etl::EtlCommand),
    /// Render the CloudFormation templates of an environment, with a manifest.
    Render(commands::render::RenderArgs),
    /// Check the config, the rendered templates, and run cfn-lint and checkov.
    Validate(commands::validate::ValidateArgs),
    /// Estimate the monthly AWS bill of an environment, per service.
    Cost(commands::cost::CostArgs),
    /// Build every Lambda function for provided.al2023 as content-hashed zips.
    Build(commands::build::BuildArgs),
    /// Deploy every stack of an environment through change sets.
    Deploy(commands::deploy::DeployArgs),
    /// Delete every stack of an environment; data is kept unless --delete-data.
    Destroy(commands::destroy::DestroyArgs),
    /// Health of a deployed environment: stacks, alarms, dead letters, ETL freshness.
    Status(commands::status::StatusArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev(command) => commands::dev::run(command),
        Command::Etl(command) => commands::etl::run(command),
        Command::Render(args) => commands::render::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Cost(args) => commands::cost::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Deploy(args) => commands::deploy::run(args),
        Command::Destroy(args) => commands::destroy::run(args),
        Command::Status(args) => commands::status::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(commands::shell::exit_code_of(&error))
        }
    }
}
