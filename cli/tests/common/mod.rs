//! What the tests that run `sbwctl` against no real AWS share.

use std::net::TcpListener;
use std::process::{Command, Output};

pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");

/// Runs `sbwctl args` apart from the user's AWS and SBW settings, with `env` added.
pub fn sbwctl(args: &[&str], env: &[(&str, &str)]) -> Output {
    isolated(Command::new(env!("CARGO_BIN_EXE_sbwctl")).args(args))
        .envs(env.iter().copied())
        .output()
        .expect("run sbwctl")
}

/// `command` apart from the user's AWS and SBW settings: no profile,
/// credentials, config file, instance metadata, SBW_CONFIG or SBW_ENV.
pub fn isolated(command: &mut Command) -> &mut Command {
    command
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("SBW_CONFIG")
        .env_remove("SBW_ENV")
        .env("AWS_CONFIG_FILE", "/nonexistent/sbw-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/sbw-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// Credentials that sign requests but reach no account.
pub const FAKE_KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
];

/// An endpoint where nothing listens.
pub fn closed_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}
