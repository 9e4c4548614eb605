//! What every operator command shares: `--config F --env E`, one loader for
//! the config, its rendered stacks and the AWS clients, one `--output
//! text|json` flag, and one table of exit codes, so cron and scripts can tell
//! a typo from an invalid config, an unhealthy system or an outage.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use sbw_deploy::Aws;
use sbw_infra::config::{self, ConfigError, Deployment, Profile};
use sbw_infra::render::Manifest;
use serde::Serialize;

/// The exit codes of every command, by meaning.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    /// The command ran and what it did failed (a check, a stack, a question declined).
    pub const FAILED: u8 = 1;
    /// clap's code for arguments it cannot parse.
    pub const USAGE: u8 = 2;
    pub const INVALID_CONFIG: u8 = 3;
    pub const DEGRADED: u8 = 4;
    pub const BROKEN: u8 = 5;
    pub const AWS_FAILED: u8 = 6;
    /// 128 + SIGINT, as shells report it.
    pub const INTERRUPTED: u8 = 130;
}

/// Every exit code and what it means, shown in each command's `--help`.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (exit::SUCCESS, "success; the system is healthy"),
    (
        exit::FAILED,
        "the command failed (a check, a stack, a question declined, a local error)",
    ),
    (
        exit::USAGE,
        "usage error: an unknown command, option or value",
    ),
    (
        exit::INVALID_CONFIG,
        "the config file is invalid or unreadable (file:line:column is named)",
    ),
    (
        exit::DEGRADED,
        "unhealthy: degraded (an alarm firing, dead letters, stale data, drift)",
    ),
    (
        exit::BROKEN,
        "unhealthy: broken (a stack missing or failed)",
    ),
    (
        exit::AWS_FAILED,
        "an AWS call failed (unreachable, credentials, throttled, refused)",
    ),
    (exit::INTERRUPTED, "interrupted (Ctrl-C)"),
];

/// The exit-code table for `after_help`.
pub fn exit_codes_help() -> String {
    let mut help = String::from("Exit codes (the same for every command):");
    for (code, meaning) in EXIT_CODES {
        help.push_str(&format!("\n  {code:>3}  {meaning}"));
    }
    help
}

/// `note`, then the exit-code table, for `after_help`.
pub fn help_with(note: &str) -> String {
    format!("{note}\n\n{}", exit_codes_help())
}

/// The exit code for an error that stopped a command.
pub fn exit_code_of(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<UsageError>().is_some() {
        exit::USAGE
    } else if error.downcast_ref::<InvalidConfig>().is_some() {
        exit::INVALID_CONFIG
    } else if sbw_deploy::aws::failed_call(error.as_ref()).is_some() {
        exit::AWS_FAILED
    } else {
        exit::FAILED
    }
}

/// Arguments that parse but do not make sense together (clap cannot tell),
/// such as a range that ends before it starts: the same exit code as clap's.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A config file the user must fix, as one line.
#[derive(Debug)]
pub struct InvalidConfig(pub ConfigError);

impl fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let error = &self.0;
        if error.line == 0 {
            write!(f, "{}: {}", error.file, error.message)
        } else {
            write!(f, "{error}")
        }
    }
}

impl std::error::Error for InvalidConfig {}

/// `--config F --env E`: one deployed environment.
#[derive(Args)]
pub struct Environment {
    /// The deployment config file (see examples/sbw.yaml).
    #[arg(long, value_name = "FILE", env = "SBW_CONFIG")]
    pub config: PathBuf,
    /// The environment inside the config file.
    #[arg(long, value_name = "ENV", env = "SBW_ENV")]
    pub env: String,
}

/// An environment, its rendered stacks and the AWS clients of its regions.
pub struct Deployed {
    pub deployment: Deployment,
    pub manifest: Manifest,
    pub aws: Aws,
}

impl Environment {
    /// The resolved environment.
    pub fn load(&self) -> anyhow::Result<Deployment> {
        load(&self.config, &self.env, None)
    }

    /// The environment and its rendered stacks.
    pub fn render(&self) -> anyhow::Result<(Deployment, Manifest)> {
        let deployment = self.load()?;
        let manifest = sbw_infra::render::render(&deployment)?;
        Ok((deployment, manifest))
    }

    /// The environment, its stacks and AWS clients for its region and
    /// us-east-1, from the standard chain (`AWS_PROFILE`, credentials,
    /// `AWS_ENDPOINT_URL`). The config's region is where the stacks are, so
    /// it wins over `AWS_REGION`.
    pub async fn connect(&self) -> anyhow::Result<Deployed> {
        let (deployment, manifest) = self.render()?;
        let aws = Aws::connect(&manifest.region).await;
        Ok(Deployed {
            deployment,
            manifest,
            aws,
        })
    }
}

/// `--config F --env E [--profile P]`: an environment to render, price or check.
#[derive(Args)]
pub struct Target {
    #[command(flatten)]
    pub environment: Environment,
    /// Use this profile instead of the environment's own (to compare).
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProfileArg {
    Minimal,
    Hardened,
}

impl Target {
    /// The resolved environment, in the chosen profile.
    pub fn load(&self) -> anyhow::Result<Deployment> {
        let profile = self.profile.map(|p| match p {
            ProfileArg::Minimal => Profile::Minimal,
            ProfileArg::Hardened => Profile::Hardened,
        });
        load(&self.environment.config, &self.environment.env, profile)
    }
}

fn load(path: &std::path::Path, env: &str, profile: Option<Profile>) -> anyhow::Result<Deployment> {
    config::load(path, env, profile).map_err(|error| InvalidConfig(error).into())
}

/// `--output text|json`, the same on every command that prints a report.
#[derive(Args)]
pub struct OutputArg {
    /// text for people, json for scripts.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    // `table`: what `status` called it first, still accepted.
    #[value(alias = "table")]
    Text,
    Json,
}

impl OutputArg {
    /// Prints `report` as pretty JSON, or as `text` renders it.
    pub fn print<T: Serialize>(
        &self,
        report: &T,
        text: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        match self.output {
            Output::Text => print!("{}", text(report)),
            Output::Json => println!("{}", serde_json::to_string_pretty(report)?),
        }
        Ok(())
    }
}

/// `--since WHEN` for clap: a duration back from now (`90s`, `30m`, `1h`,
/// `2d`, `1h30m`) or an RFC 3339 time.
pub fn since(text: &str) -> Result<DateTime<Utc>, String> {
    sbw_deploy::logs::parse_since(text, Utc::now()).map_err(|e| e.to_string())
}

/// Runs `work` on a new async runtime.
pub fn block_on<F: Future>(work: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(runtime.block_on(work))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_and_all_documented() {
        let mut codes: Vec<u8> = EXIT_CODES.iter().map(|(code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EXIT_CODES.len());
        for code in [
            exit::SUCCESS,
            exit::FAILED,
            exit::USAGE,
            exit::INVALID_CONFIG,
            exit::DEGRADED,
            exit::BROKEN,
            exit::AWS_FAILED,
            exit::INTERRUPTED,
        ] {
            assert!(
                exit_codes_help().contains(&format!("{code:>3}  ")),
                "{code}"
            );
        }
    }
}
