//! The `--config F --env E [--profile P]` arguments that `render`, `validate`
//! and `cost` share, and how a config error is reported.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use sbw_infra::config::{self, ConfigError, Deployment, Profile};

/// Exit code for a config the user must fix.
pub const EXIT_CONFIG: u8 = 2;

/// The exit codes of `render`, `validate` and `cost`, shown in their help.
pub const EXIT_CODES: &str =
    "Exit codes: 0 success; 1 a check failed (validate: in-process checks, \
cfn-lint or checkov) or the command could not finish; 2 the config file is invalid (the message \
names file:line:column).";

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

impl Environment {
    /// The resolved environment, or the exit code after printing the config error.
    pub fn load(&self) -> Result<Deployment, ExitCode> {
        config::load(&self.config, &self.env, None).map_err(|error| report(&error))
    }
}

#[derive(Args)]
pub struct Target {
    /// The deployment config file (see examples/sbw.yaml).
    #[arg(long, value_name = "FILE", env = "SBW_CONFIG")]
    pub config: PathBuf,
    /// The environment inside the config file.
    #[arg(long, value_name = "ENV", env = "SBW_ENV")]
    pub env: String,
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
    /// The resolved environment, or the exit code after printing the config error.
    pub fn load(&self) -> Result<Deployment, ExitCode> {
        let profile = self.profile.map(|p| match p {
            ProfileArg::Minimal => Profile::Minimal,
            ProfileArg::Hardened => Profile::Hardened,
        });
        config::load(&self.config, &self.env, profile).map_err(|error| report(&error))
    }
}

fn report(error: &ConfigError) -> ExitCode {
    if error.line == 0 {
        eprintln!("error: {}: {}", error.file, error.message);
    } else {
        eprintln!("error: {error}");
    }
    ExitCode::from(EXIT_CONFIG)
}
