//! cfn-lint and checkov, run on the rendered templates when they are installed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::render::RenderedStack;

/// The outcome of one external linter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolOutcome {
    Passed { tool: &'static str, summary: String },
    Failed { tool: &'static str, output: String },
    NotInstalled { tool: &'static str },
}

/// The project-local venv a tool lives in, as scripts/test-infra.sh creates it.
fn find_tool(name: &str, venv: &str) -> Option<PathBuf> {
    let mut dir = std::env::current_dir().ok();
    while let Some(current) = dir {
        let candidate = current.join(venv).join("bin").join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = current.parent().map(Path::to_path_buf);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Runs cfn-lint on every template in `dir` (0 errors and 0 warnings to pass).
pub fn run_cfn_lint(dir: &Path, stacks: &[RenderedStack]) -> ToolOutcome {
    let Some(tool) = find_tool("cfn-lint", ".venv-cfn") else {
        return ToolOutcome::NotInstalled { tool: "cfn-lint" };
    };
    let regions: BTreeSet<&str> = stacks.iter().map(|s| s.region.as_str()).collect();
    let mut command = Command::new(tool);
    command
        .args([
            "--format",
            "parseable",
            "--non-zero-exit-code",
            "warning",
            "--regions",
        ])
        .args(regions);
    command
        .arg("--")
        .args(stacks.iter().map(|s| dir.join(&s.template_file)));
    run("cfn-lint", &mut command, |_| {
        format!("{} templates: 0 errors, 0 warnings", stacks.len())
    })
}

/// Runs checkov's CloudFormation checks on `dir` (0 failed checks to pass).
pub fn run_checkov(dir: &Path) -> ToolOutcome {
    let Some(tool) = find_tool("checkov", ".venv-checkov") else {
        return ToolOutcome::NotInstalled { tool: "checkov" };
    };
    let mut command = Command::new(tool);
    command
        .args([
            "--quiet",
            "--compact",
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "cli",
            "-d",
        ])
        .arg(dir);
    run("checkov", &mut command, |stdout| {
        stdout
            .lines()
            .filter(|l| l.contains("Passed checks"))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn run(tool: &'static str, command: &mut Command, summary: impl Fn(&str) -> String) -> ToolOutcome {
    match command.output() {
        Ok(output) if output.status.success() => ToolOutcome::Passed {
            tool,
            summary: summary(&String::from_utf8_lossy(&output.stdout)),
        },
        Ok(output) => ToolOutcome::Failed {
            tool,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        },
        Err(error) => ToolOutcome::Failed {
            tool,
            output: format!("could not run {tool}: {error}"),
        },
    }
}
