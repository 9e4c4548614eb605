//! Release builds of the workspace's binaries, found where cargo put them.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// Builds `bin` of `package` in release mode and returns its path (read
/// from cargo's build messages, so any target directory works).
pub fn release_binary(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    let output = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--locked",
            "--message-format=json-render-diagnostics",
        ])
        .args(["-p", package, "--bin", bin])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        bail!(
            "cargo build --release -p {package} --bin {bin} failed ({}); its output is above",
            output.status
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == bin
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo built no executable named {bin}"))
}
