//! What `deploy`, `destroy` and `status` share: the async runtime, the AWS
//! clients, and how an interrupted command reports what was in flight.

use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::bail;
use sbw_deploy::progress::{AskOnTerminal, AssumeYes, Confirm, Progress};

use super::shell::{block_on, exit};

/// Questions on the terminal, or none with `--yes`; without a terminal to
/// ask on, `--yes` is required.
pub fn progress(yes: bool) -> anyhow::Result<Progress> {
    let confirm: Box<dyn Confirm> = if yes {
        Box::new(AssumeYes)
    } else if std::io::stdin().is_terminal() {
        Box::new(AskOnTerminal)
    } else {
        bail!("standard input is not a terminal, so nobody can answer the questions: pass --yes");
    };
    Ok(Progress::new(confirm))
}

/// Runs `work` to completion, or until Ctrl-C, after which it says what was
/// in flight: CloudFormation finishes changes it has started on its own.
pub fn run_interruptible<F>(progress: &Progress, work: F) -> anyhow::Result<ExitCode>
where
    F: Future<Output = anyhow::Result<ExitCode>>,
{
    block_on(async {
        tokio::select! {
            result = work => result,
            _ = tokio::signal::ctrl_c() => {
                let in_flight = progress.in_flight();
                if in_flight.is_empty() {
                    eprintln!("interrupted; nothing was in flight");
                } else {
                    eprintln!("interrupted while these were in flight:");
                    for (stack, phase) in &in_flight {
                        eprintln!("  {stack}: {phase}");
                    }
                    eprintln!("CloudFormation finishes a change set or deletion it has started; `sbwctl status` shows where each ends. Run the command again once none is in progress.");
                }
                Ok(ExitCode::from(exit::INTERRUPTED))
            }
        }
    })?
}
