//! Operator mistakes on the AWS commands: each gives one clear line and a
//! documented exit code, never a panic or a retry storm.

use std::path::Path;
use std::process::Output;

mod common;
use common::{closed_endpoint, sbwctl, EXAMPLE, FAKE_KEYS};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `sbwctl deploy --env dev --yes` of the packages in `build_dir`.
fn deploy_dev(build_dir: &Path, env: &[(&str, &str)]) -> Output {
    let build_dir = build_dir.to_str().unwrap();
    let args = [
        "deploy",
        "--config",
        EXAMPLE,
        "--env",
        "dev",
        "--yes",
        "--build-dir",
        build_dir,
    ];
    sbwctl(&args, env)
}

#[track_caller]
fn assert_one_line(output: &Output, code: i32, expected: &str) {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{message}");
    assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn an_unknown_environment_is_a_config_error() {
    for command in ["deploy", "destroy", "status"] {
        let output = sbwctl(
            &[command, "--config", EXAMPLE, "--env", "staging", "--yes"]
                [..if command == "status" { 5 } else { 6 }],
            &[],
        );
        assert_one_line(
            &output,
            3,
            "there is no environment \"staging\"; this file defines: dev, prod",
        );
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let output = sbwctl(
        &[
            "status",
            "--config",
            "/nonexistent/sbw.yaml",
            "--env",
            "dev",
        ],
        &[],
    );
    assert_one_line(
        &output,
        3,
        "/nonexistent/sbw.yaml: cannot read the config file",
    );
}

#[test]
fn deploy_without_a_build_says_how_to_make_one() {
    let empty = tempfile::tempdir().unwrap();
    let output = deploy_dev(empty.path(), &FAKE_KEYS);
    assert_one_line(&output, 1, "run `sbwctl build --out");
}

#[test]
fn deploy_without_credentials_says_so() {
    let build = tempfile::tempdir().unwrap();
    std::fs::write(
        build.path().join("build.json"),
        r#"{"architecture": "arm64", "packages": []}"#,
    )
    .unwrap();
    let output = deploy_dev(build.path(), &[("AWS_ENDPOINT_URL", &closed_endpoint())]);
    assert_one_line(&output, 6, "no AWS credentials found");
}

#[test]
fn status_of_an_unreachable_endpoint_is_an_aws_failure() {
    let endpoint = closed_endpoint();
    let output = sbwctl(
        &["status", "--config", EXAMPLE, "--env", "dev"],
        &[FAKE_KEYS[0], FAKE_KEYS[1], ("AWS_ENDPOINT_URL", &endpoint)],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(6), "{stdout}{}", stderr(&output));
    assert!(
        stdout.contains(&format!("cannot reach AWS at {endpoint}")),
        "{stdout}"
    );
}

#[test]
fn deploy_without_a_terminal_needs_yes() {
    let output = sbwctl(&["deploy", "--config", EXAMPLE, "--env", "dev"], &FAKE_KEYS);
    assert_one_line(&output, 1, "pass --yes");
}

#[test]
fn a_protected_environment_is_not_destroyed_without_force() {
    let output = sbwctl(
        &["destroy", "--config", EXAMPLE, "--env", "prod", "--yes"],
        &FAKE_KEYS,
    );
    assert_one_line(&output, 1, "environment sbw-shop-prod is protected");
}
