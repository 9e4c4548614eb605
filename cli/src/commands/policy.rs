//! `sbwctl policy operator --config F --env E`: the IAM policy the operator
//! of one environment needs, as JSON to attach to their user or role.

use std::process::ExitCode;

use clap::Subcommand;

use super::shell::{help_with, Environment};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// The operator's policy: this environment's stacks, passing the deployer role to
    /// CloudFormation, and the calls sbwctl makes itself, each scoped to the environment.
    #[command(after_help = help_with(
        "Everything the stacks create is created by CloudFormation with the deployer role \
(`sbwctl bootstrap`); the operator cannot create roles or reach another environment. \
examples/operator-policy.json is this command's output for examples/sbw.yaml prod."
    ))]
    Operator(Environment),
}

pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Operator(environment) => {
            let deployment = environment.load()?;
            print!("{}", sbw_infra::render::operator_policy(&deployment)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
