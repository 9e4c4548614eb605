//! Operator mistakes on the AWS commands: each gives one clear line and a
//! documented exit code, never a panic or a retry storm.

use std::net::TcpListener;
use std::process::{Command, Output};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");

/// An endpoint where nothing listens.
fn closed_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

fn sbwctl(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbwctl"))
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", "/nonexistent/sbw-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/sbw-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("run sbwctl")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_one_line(output: &Output, code: i32, expected: &str) {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{message}");
    assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    assert!(!message.contains("panicked"), "{message}");
}

const FAKE_KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
];

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
    let output = sbwctl(
        &[
            "deploy",
            "--config",
            EXAMPLE,
            "--env",
            "dev",
            "--yes",
            "--build-dir",
            empty.path().to_str().unwrap(),
        ],
        &FAKE_KEYS,
    );
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
    let output = sbwctl(
        &[
            "deploy",
            "--config",
            EXAMPLE,
            "--env",
            "dev",
            "--yes",
            "--build-dir",
            build.path().to_str().unwrap(),
        ],
        &[("AWS_ENDPOINT_URL", &closed_endpoint())],
    );
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
