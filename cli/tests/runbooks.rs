//! `sbwctl runbook list|show`, and every `sbwctl` command line in a
//! runbook's code blocks parses with the real command line (`sbwctl::Cli`,
//! parsed, not run), so an operator following a runbook at 3 a.m. never
//! meets "unrecognized subcommand".

use std::process::{Command, Output};

use clap::Parser;

/// One `sbwctl` line of a code block: continuation lines joined, a trailing
/// `# comment` dropped, split on blanks. Runbooks keep these lines free of
/// quotes so this stays a split, not a shell.
struct CommandLine {
    runbook: &'static str,
    text: String,
    args: Vec<String>,
}

fn command_lines() -> Vec<CommandLine> {
    let mut lines = Vec::new();
    for runbook in sbw_runbooks::all() {
        let mut in_block = false;
        let mut pending: Option<String> = None;
        for line in runbook.text.lines() {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
                continue;
            }
            if !in_block {
                continue;
            }
            let line = line.trim();
            let joined = match pending.take() {
                Some(start) => format!("{start} {line}"),
                None if line.starts_with("sbwctl ") || line == "sbwctl" => line.to_owned(),
                None => continue,
            };
            if let Some(start) = joined.strip_suffix('\\') {
                pending = Some(start.trim_end().to_owned());
                continue;
            }
            let command = joined.split(" #").next().unwrap().trim().to_owned();
            assert!(
                !command.contains(['"', '\'', '$', '`', '|', ';', '<', '>']),
                "{}: keep sbwctl lines free of shell syntax: {command}",
                runbook.name
            );
            lines.push(CommandLine {
                runbook: runbook.name,
                args: command.split_whitespace().map(str::to_owned).collect(),
                text: command,
            });
        }
    }
    lines
}

#[test]
fn every_sbwctl_line_in_the_runbooks_parses() {
    let lines = command_lines();
    assert!(lines.len() >= 40, "only {} sbwctl lines found", lines.len());
    let failures: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            let error = sbwctl::Cli::try_parse_from(&line.args).err()?;
            let reason = error.render().to_string();
            Some(format!(
                "{}: `{}` does not parse: {}",
                line.runbook,
                line.text,
                reason.lines().next().unwrap_or_default()
            ))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_extraction_sees_continuations_comments_and_only_code_blocks() {
    let lines = command_lines();
    assert!(lines.iter().all(|l| l.args[0] == "sbwctl"));
    assert!(
        lines
            .iter()
            .any(|l| l.runbook == "on-call"
                && l.text == "sbwctl status --config sbw.yaml --env prod"),
        "on-call's first command"
    );
    // Prose mentions such as `sbwctl status` outside code blocks are not commands.
    assert!(!lines.iter().any(|l| l.text == "sbwctl status"));
}

fn sbwctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbwctl"))
        .args(args)
        .output()
        .expect("sbwctl runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn runbook_list_names_every_runbook_with_its_title() {
    let output = sbwctl(&["runbook", "list"]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert_eq!(text.lines().count(), sbw_runbooks::all().count());
    assert!(
        text.lines()
            .any(|l| l.starts_with("dlq ") && l.contains("dead-letter queue")),
        "{text}"
    );

    let output = sbwctl(&["runbook", "list", "--output", "json"]);
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), sbw_runbooks::all().count());
    let freshness = entries.iter().find(|e| e["name"] == "freshness").unwrap();
    assert_eq!(
        freshness["title"],
        sbw_runbooks::find("freshness").unwrap().title()
    );
}

#[test]
fn runbook_show_prints_the_embedded_markdown() {
    let output = sbwctl(&["runbook", "show", "warehouse-down"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output),
        include_str!("../../runbooks/warehouse-down.md")
    );
}

#[test]
fn an_unknown_runbook_is_a_usage_error_naming_close_ones() {
    let output = sbwctl(&["runbook", "show", "dlg"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: no runbook is called \"dlg\"; did you mean dlq"),
        "{stderr}"
    );

    for bad in [
        &["runbook", "show"][..],
        &["runbook", "list", "--output", "yaml"],
    ] {
        let output = sbwctl(bad);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {output:?}");
    }
}
