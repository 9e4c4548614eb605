//! `sbwctl runbook list|show NAME`: the on-call runbooks, embedded in the
//! binary so they are there without the repository.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::shell::{exit, exit_codes_help, OutputArg};

#[derive(Subcommand)]
pub enum RunbookCommand {
    /// Every runbook: its name, as alarms name it, and its title.
    #[command(after_help = exit_codes_help())]
    List(ListArgs),
    /// One runbook, as Markdown.
    #[command(after_help = exit_codes_help())]
    Show(ShowArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The runbook's name, as the alarm's description gives it: "(runbook: NAME)".
    pub name: String,
}

pub fn run(command: RunbookCommand) -> anyhow::Result<ExitCode> {
    match command {
        RunbookCommand::List(args) => {
            args.output.print(&sbw_runbooks::entries(), |entries| {
                sbw_runbooks::entries_text(entries)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        RunbookCommand::Show(args) => match sbw_runbooks::find(&args.name) {
            Ok(runbook) => {
                print!("{}", runbook.text);
                Ok(ExitCode::SUCCESS)
            }
            Err(unknown) => {
                eprintln!("error: {unknown}");
                Ok(ExitCode::from(exit::USAGE))
            }
        },
    }
}
