//! The exit codes every command shares, from the real binary: a usage error
//! (clap), an invalid config, a failed AWS call, and the table in each
//! command's `--help`. Unhealthy (degraded) is asserted where a deployment
//! exists: deploy_flow (status).

use std::process::Output;

mod common;
use common::{closed_endpoint, isolated, EXAMPLE, FAKE_KEYS};

/// The commands on the shell: they take `--config F --env E`.
const COMMANDS: &[&[&str]] = &[
    &["render"],
    &["validate", "--no-linters"],
    &["cost"],
    &["bootstrap", "--yes"],
    &["policy", "operator"],
    &["deploy", "--yes"],
    &["destroy", "--yes"],
    &["status"],
    &["alarms"],
    &["alerts", "test"],
];

/// `sbwctl` with credentials that reach no account, so that commands get as
/// far as their first AWS call.
fn sbwctl(args: &[&str], env: &[(&str, &str)]) -> Output {
    let env: Vec<(&str, &str)> = FAKE_KEYS.iter().chain(env).copied().collect();
    common::sbwctl(args, &env)
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn with_environment<'a>(command: &[&'a str], config: &'a str) -> Vec<&'a str> {
    let mut args = command.to_vec();
    args.extend(["--config", config, "--env", "dev"]);
    args
}

#[test]
fn every_command_documents_the_same_exit_codes() {
    for command in COMMANDS {
        let mut args = command.to_vec();
        args.retain(|a| !a.starts_with("--"));
        args.push("--help");
        let output = sbwctl(&args, &[]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Exit codes"), "{command:?}: {help}");
        for line in [
            "  0  success",
            "  2  usage error",
            "  3  the config file is invalid",
            "  4  unhealthy: degraded",
            "  5  unhealthy: broken",
            "  6  an AWS call failed",
        ] {
            assert!(help.contains(line), "{command:?} lacks {line:?}: {help}");
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[
            "status", "--config", EXAMPLE, "--env", "dev", "--output", "yaml",
        ][..],
        &[
            "alarms",
            "--config",
            EXAMPLE,
            "--env",
            "dev",
            "--since",
            "yesterday",
        ],
        &[
            "alarms", "--config", EXAMPLE, "--env", "dev", "--since", "0h",
        ],
        &["alerts", "--config", EXAMPLE, "--env", "dev"],
        &["statsu"],
        &["cost", "--env", "dev"],
        // Parses, but the range ends before it starts: local and remote alike.
        &[
            "etl",
            "backfill",
            "--from",
            "2026-11-20T05:00:00Z",
            "--to",
            "2026-11-20T04:00:00Z",
            "--database-url",
            "postgresql://sbw_etl@127.0.0.1:9/sbw",
        ],
        &[
            "etl",
            "backfill",
            "--remote",
            "--config",
            EXAMPLE,
            "--env",
            "dev",
            "--from",
            "2026-11-20T05:00:00Z",
            "--to",
            "2026-11-20T04:00:00Z",
        ],
    ] {
        let output = sbwctl(args, &[("SBW_CONFIG", ""), ("SBW_ENV", "")]);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(!text(&output).contains("panicked"), "{}", text(&output));
    }
}

#[test]
fn a_backfill_longer_than_a_year_is_a_usage_error_naming_the_limit() {
    let range = [
        "--from",
        "2025-01-01T00:00:00Z",
        "--to",
        "2026-11-20T04:00:00Z",
    ];
    let local = ["--database-url", "postgresql://sbw_etl@127.0.0.1:9/sbw"];
    let remote = ["--remote", "--config", EXAMPLE, "--env", "dev"];
    for place in [&local[..], &remote[..]] {
        let args: Vec<&str> = ["etl", "backfill"]
            .into_iter()
            .chain(range)
            .chain(place.iter().copied())
            .collect();
        let output = sbwctl(&args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(
            text(&output).contains("a backfill spans at most 366 days (got 688 days"),
            "{}",
            text(&output)
        );
    }
}

#[test]
fn an_invalid_config_exits_3_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sbw.yaml");
    std::fs::write(
        &config,
        std::fs::read_to_string(EXAMPLE).unwrap().replacen(
            "project: sbw-shop",
            "project: Sbw Shop!",
            1,
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for command in COMMANDS {
        let output = sbwctl(&with_environment(command, config), &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{command:?}: {}",
            text(&output)
        );
        assert!(
            stderr.starts_with(&format!("error: {config}:")),
            "{command:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

#[test]
fn an_unreachable_aws_exits_6() {
    let endpoint = closed_endpoint();
    for command in [
        &["status"][..],
        &["destroy", "--yes"],
        &["alarms"],
        &["alerts", "test"],
        &["logs", "ingest"],
        &["etl", "invoke"],
        &["snapshot", "list"],
        &["rotate", "origin-secret"],
    ] {
        let output = sbwctl(
            &with_environment(command, EXAMPLE),
            &[("AWS_ENDPOINT_URL", &endpoint)],
        );
        assert_eq!(
            output.status.code(),
            Some(6),
            "{command:?}: {}",
            text(&output)
        );
        assert!(
            text(&output).contains(&format!("cannot reach AWS at {endpoint}")),
            "{command:?}: {}",
            text(&output)
        );
    }
}

#[test]
fn status_still_takes_table_for_text() {
    let help = sbwctl(&["status", "--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("[possible values: text, json]"), "{help}");
    let output = sbwctl(
        &[
            "status",
            "--config",
            "/nonexistent/sbw.yaml",
            "--env",
            "dev",
            "--output",
            "table",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
}

/// `destroy --delete-data` needs the environment's name, typed on a terminal
/// or passed with `--confirm`; `--yes` does not stand for it. A wrong name or
/// no terminal is a usage error, before any AWS call.
#[test]
fn delete_data_needs_the_environments_name() {
    let endpoint = closed_endpoint();
    let destroy = |extra: &[&str]| {
        let mut args = with_environment(&["destroy", "--yes"], EXAMPLE);
        args.extend(extra);
        sbwctl(&args, &[("AWS_ENDPOINT_URL", &endpoint)])
    };
    // No terminal (stdin is not one here) and no --confirm.
    let output = destroy(&["--delete-data"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("pass --confirm dev"),
        "{}",
        text(&output)
    );
    for wrong in ["prod", "Dev", "sbw-shop-dev", ""] {
        let output = destroy(&["--delete-data", "--confirm", wrong]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{wrong:?}: {}",
            text(&output)
        );
        assert!(
            text(&output).contains("is not the environment's name (dev): nothing was deleted"),
            "{}",
            text(&output)
        );
        assert!(
            !text(&output).contains("cannot reach AWS"),
            "{}",
            text(&output)
        );
    }
    // --confirm belongs to --delete-data.
    let output = destroy(&["--confirm", "dev"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    // The right name goes on, as far as AWS (unreachable here).
    let output = destroy(&["--delete-data", "--confirm", "dev"]);
    assert_eq!(output.status.code(), Some(6), "{}", text(&output));
}

/// On a terminal (util-linux `script` gives sbwctl one), `--delete-data`
/// asks for the environment's name: a wrong one exits 2 before any AWS call,
/// the right one goes on.
#[test]
fn delete_data_asks_for_the_name_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let endpoint = closed_endpoint();
    let on_a_terminal = |typed: &str| {
        let command = format!(
            "{} destroy --config {EXAMPLE} --env dev --yes --delete-data",
            env!("CARGO_BIN_EXE_sbwctl")
        );
        let mut child = isolated(std::process::Command::new("script").args([
            "-q",
            "-e",
            "-c",
            &command,
            "/dev/null",
        ]))
        .envs(FAKE_KEYS)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{typed}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let wrong = on_a_terminal("prod");
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong));
    assert!(
        text(&wrong).contains("Type the environment's name (dev)")
            && text(&wrong).contains("\"prod\" is not the environment's name (dev)"),
        "{}",
        text(&wrong)
    );
    let right = on_a_terminal("dev");
    assert_eq!(right.status.code(), Some(6), "{}", text(&right));
}
