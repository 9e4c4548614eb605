//! `sbwctl validate --config F --env E`: the config, the rendered templates'
//! in-process checks, then cfn-lint and checkov when they are installed
//! (scripts/test-infra.sh installs both into project-local venvs).

use std::process::ExitCode;

use clap::Args;
use sbw_infra::checks::{self, ToolOutcome};

use super::shell::{exit_codes_help, Target};

#[derive(Args)]
#[command(after_help = exit_codes_help())]
pub struct ValidateArgs {
    #[command(flatten)]
    pub target: Target,
    /// Only the config and the in-process checks; skip cfn-lint and checkov.
    #[arg(long)]
    pub no_linters: bool,
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let deployment = args.target.load()?;
    println!(
        "config: {} environment {} is valid ({} profile)",
        args.target.environment.config.display(),
        deployment.environment,
        deployment.profile.as_str()
    );
    let manifest = sbw_infra::render::render(&deployment)?;
    let findings = checks::check(&manifest);
    for finding in &findings {
        println!("  FAIL {finding}");
    }
    println!(
        "templates: {} stacks, {} in-process findings",
        manifest.stacks.len(),
        findings.len()
    );
    let mut failed = !findings.is_empty();
    if !args.no_linters {
        let dir = std::env::temp_dir().join(format!(
            "sbw-validate-{}-{}",
            deployment.prefix(),
            std::process::id()
        ));
        manifest.write_to(&dir)?;
        for outcome in [
            checks::run_cfn_lint(&dir, &manifest.stacks),
            checks::run_checkov(&dir),
        ] {
            match outcome {
                ToolOutcome::Passed { tool, summary } => println!("{tool}: passed ({summary})"),
                ToolOutcome::NotInstalled { tool } => {
                    println!(
                        "{tool}: not installed, skipped (bash scripts/test-infra.sh installs it)"
                    )
                }
                ToolOutcome::Failed { tool, output } => {
                    failed = true;
                    println!("{tool}: FAILED\n{output}");
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
