//! `sbwctl dev …`: the platform on this machine.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum DevCommand {}

pub fn run(command: DevCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
