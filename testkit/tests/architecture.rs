//! The crate dependency rules ARCHITECTURE.md states, checked against
//! `cargo metadata`: a crate may depend (normally, not as a dev-dependency)
//! only on the workspace crates its rule names. And the size rule: a source
//! file over 400 lines says why at its top.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each workspace crate and the workspace crates it may depend on.
/// `None`: any (the CLI is where everything meets).
const RULES: &[(&str, Option<&[&str]>)] = &[
    // Shared by templates and code; the Lambdas link it.
    ("sbw-names", Some(&[])),
    // The Lambdas' side: never an operator crate, never the testkit.
    ("sbw-contract", Some(&["sbw-names"])),
    ("sbw-aws", Some(&["sbw-names"])),
    (
        "sbw-ingest",
        Some(&["sbw-contract", "sbw-rawstore", "sbw-aws", "sbw-names"]),
    ),
    ("sbw-rawstore", Some(&["sbw-contract", "sbw-aws"])),
    (
        "sbw-etl",
        Some(&["sbw-contract", "sbw-rawstore", "sbw-aws", "sbw-names"]),
    ),
    // Rendering never calls AWS and never links a function.
    ("sbw-infra", Some(&["sbw-names"])),
    ("sbw-runbooks", Some(&[])),
    // Building never calls AWS; deploying never compiles.
    ("sbw-packaging", Some(&["sbw-infra"])),
    (
        "sbw-deploy",
        Some(&[
            "sbw-aws",
            "sbw-contract",
            "sbw-infra",
            "sbw-names",
            "sbw-packaging",
            "sbw-rawstore",
            "sbw-runbooks",
        ]),
    ),
    ("sbw-shoppers", Some(&["sbw-contract", "sbw-rawstore"])),
    (
        "sbw-testkit",
        Some(&["sbw-contract", "sbw-rawstore", "sbw-shoppers"]),
    ),
    (
        "sbw-dev",
        Some(&[
            "sbw-contract",
            "sbw-etl",
            "sbw-ingest",
            "sbw-names",
            "sbw-rawstore",
            "sbw-shoppers",
        ]),
    ),
    ("sbwctl", None),
    // The benchmark runners: the shipped build against the test peers.
    (
        "xtask",
        Some(&["sbw-infra", "sbw-names", "sbw-packaging", "sbw-testkit"]),
    ),
];

/// Crates no workspace crate may depend on, not even the CLI.
const LEAVES: &[&str] = &["xtask"];

/// Crates that never call AWS: none of them, nor a workspace crate they
/// depend on, links an AWS SDK crate.
const NEVER_CALL_AWS: &[&str] = &["sbw-infra", "sbw-packaging"];

/// Every workspace crate and its normal dependencies, workspace crates or not.
fn normal_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{output:?}");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    packages
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            (package["name"].as_str().unwrap().to_owned(), dependencies)
        })
        .collect()
}

/// Every workspace crate and its normal dependencies on other workspace crates.
fn workspace_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let all = normal_dependencies();
    let members: BTreeSet<String> = all.keys().cloned().collect();
    all.into_iter()
        .map(|(krate, uses)| (krate, &uses & &members))
        .collect()
}

#[test]
fn every_crate_depends_only_on_what_its_rule_allows() {
    let dependencies = workspace_dependencies();
    let rules: BTreeMap<&str, Option<&[&str]>> = RULES.iter().copied().collect();
    let unruled: Vec<&String> = dependencies
        .keys()
        .filter(|name| !rules.contains_key(name.as_str()))
        .collect();
    assert!(
        unruled.is_empty(),
        "crates without a rule here and in ARCHITECTURE.md: {unruled:?}"
    );

    let mut broken = Vec::new();
    for (krate, uses) in &dependencies {
        let allowed = rules[krate.as_str()];
        for dependency in uses {
            let permitted = match allowed {
                Some(allowed) => allowed.contains(&dependency.as_str()),
                None => !LEAVES.contains(&dependency.as_str()),
            };
            if !permitted {
                broken.push(format!("{krate} -> {dependency}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "dependencies the rules forbid: {broken:?}"
    );
}

#[test]
fn the_crates_that_never_call_aws_link_no_aws_sdk() {
    let all = normal_dependencies();
    let mut pending: Vec<&str> = NEVER_CALL_AWS.to_vec();
    let mut seen = BTreeSet::new();
    let mut linked = Vec::new();
    while let Some(krate) = pending.pop() {
        if !seen.insert(krate) {
            continue;
        }
        for dependency in &all[krate] {
            if dependency.starts_with("aws-") {
                linked.push(format!("{krate} -> {dependency}"));
            }
            if all.contains_key(dependency) {
                pending.push(dependency);
            }
        }
    }
    assert!(linked.is_empty(), "AWS SDK crates linked: {linked:?}");
}

/// Source files this long say why at their top.
const LONG_FILE_LINES: usize = 400;
const LONG_FILE_REASON: &str = "Over 400 lines on purpose:";
/// Lines of a file's top comment searched for the reason.
const TOP_LINES: usize = 20;

#[test]
fn every_long_source_file_says_why_at_its_top() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new("git")
        .args([
            "ls-files",
            "--",
            "*.rs",
            "*.ts",
            "*.R",
            ":!examples/demo-shop",
        ])
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "{output:?}");
    let mut unexplained = Vec::new();
    for path in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(text) = std::fs::read_to_string(format!("{root}/{path}")) else {
            continue; // listed but deleted in the working tree
        };
        let lines = text.lines().count();
        let top: String = text.lines().take(TOP_LINES).collect::<Vec<_>>().join("\n");
        if lines > LONG_FILE_LINES && !top.contains(LONG_FILE_REASON) {
            unexplained.push(format!("{path} ({lines} lines)"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "files over {LONG_FILE_LINES} lines without \"{LONG_FILE_REASON} <why>\" in their first \
         {TOP_LINES} lines: split them along their jobs, or say why not: {unexplained:?}"
    );
}
