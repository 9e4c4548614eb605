//! The crate dependency rules ARCHITECTURE.md states, checked against
//! `cargo metadata`: a crate may depend (normally, not as a dev-dependency)
//! only on the workspace crates its rule names.

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
        Some(&["sbw-contract", "sbw-aws", "sbw-names"]),
    ),
    ("sbw-etl", Some(&["sbw-contract", "sbw-aws", "sbw-names"])),
    // Rendering never calls AWS and never links a function.
    ("sbw-infra", Some(&["sbw-names"])),
    ("sbw-runbooks", Some(&[])),
    (
        "sbw-deploy",
        Some(&[
            "sbw-aws",
            "sbw-contract",
            "sbw-infra",
            "sbw-names",
            "sbw-runbooks",
        ]),
    ),
    ("sbw-shoppers", Some(&["sbw-contract", "sbw-ingest"])),
    ("sbw-testkit", Some(&["sbw-contract", "sbw-shoppers"])),
    (
        "sbw-dev",
        Some(&[
            "sbw-contract",
            "sbw-etl",
            "sbw-ingest",
            "sbw-names",
            "sbw-shoppers",
        ]),
    ),
    ("sbwctl", None),
];

/// Dependencies that break a rule today, each with the work that removes it.
/// The test fails when one of them is gone too, so this list only shrinks.
const KNOWN_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "sbw-deploy",
        "sbw-etl",
        "issue 20: the run summary `status` reads moves to the contract crate",
    ),
    (
        "sbw-deploy",
        "sbw-ingest",
        "issue 20: one raw store crate for ingest, the ETL and the DLQ commands",
    ),
];

/// Every workspace crate and its normal dependencies on other workspace crates.
fn workspace_dependencies() -> BTreeMap<String, BTreeSet<String>> {
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
    let members: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    packages
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap())
                .filter(|name| members.contains(name))
                .map(str::to_owned)
                .collect();
            (package["name"].as_str().unwrap().to_owned(), dependencies)
        })
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
        let Some(allowed) = rules[krate.as_str()] else {
            continue;
        };
        for dependency in uses {
            let excepted = KNOWN_EXCEPTIONS
                .iter()
                .any(|(k, d, _)| k == krate && d == dependency);
            if !allowed.contains(&dependency.as_str()) && !excepted {
                broken.push(format!("{krate} -> {dependency}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "dependencies the rules forbid: {broken:?}"
    );

    let resolved: Vec<String> = KNOWN_EXCEPTIONS
        .iter()
        .filter(|(krate, dependency, _)| !dependencies[*krate].contains(*dependency))
        .map(|(krate, dependency, _)| format!("{krate} -> {dependency}"))
        .collect();
    assert!(
        resolved.is_empty(),
        "no longer a dependency: remove from KNOWN_EXCEPTIONS and ARCHITECTURE.md: {resolved:?}"
    );
}
