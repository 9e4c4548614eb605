use std::path::Path;

use sbw_infra::config::{self, Architecture};

use super::*;
use sbw_packaging::Package;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");

fn manifest(env: &str) -> Manifest {
    let deployment = config::load(Path::new(EXAMPLE), env, None).unwrap();
    sbw_infra::render::render(&deployment).unwrap()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn deploy_waves_follow_the_dependencies() {
    let waves = Schedule::deploy(&manifest("prod")).waves();
    let position = |stack: &str| waves.iter().position(|w| w.iter().any(|s| s == stack));
    assert_eq!(waves[0], vec!["auth", "budget", "edge-global", "storage"]);
    assert!(position("storage") < position("network"));
    assert!(position("warehouse") < position("etl"));
    assert!(position("edge-global") < position("edge"));
    assert!(position("ingest") < position("edge"));
    assert!(position("etl") < position("observability"));
    assert_eq!(waves.iter().map(Vec::len).sum::<usize>(), 10);
}

#[test]
fn destroy_goes_in_reverse() {
    let manifest = manifest("prod");
    let schedule = Schedule::destroy(&manifest);
    let first = schedule.ready(&BTreeSet::new(), &BTreeSet::new());
    assert_eq!(first, vec!["budget", "edge", "observability"]);
    // storage goes only after everything that imports its buckets.
    let almost_all = set(&["budget", "edge", "observability", "etl", "ingest"]);
    assert!(!schedule
        .ready(&almost_all, &almost_all)
        .contains(&"storage".to_owned()));
    let with_warehouse = set(&[
        "budget",
        "edge",
        "observability",
        "etl",
        "ingest",
        "warehouse",
    ]);
    // ... and after the network, whose S3 endpoint names them.
    assert!(!schedule
        .ready(&with_warehouse, &with_warehouse)
        .contains(&"storage".to_owned()));
    let with_warehouse = with_warehouse
        .into_iter()
        .chain(["network".to_owned()])
        .collect();
    assert!(schedule
        .ready(&with_warehouse, &with_warehouse)
        .contains(&"storage".to_owned()));
    let waves = schedule.waves();
    let flattened: Vec<&String> = waves.iter().flatten().collect();
    assert_eq!(flattened.len(), manifest.stacks.len());
}

#[test]
fn started_stacks_are_not_ready_again() {
    let schedule = Schedule::deploy(&manifest("dev"));
    let started = set(&["network"]);
    assert!(!schedule
        .ready(&BTreeSet::new(), &started)
        .contains(&"network".to_owned()));
}

fn build() -> BuildOutput {
    BuildOutput {
        architecture: Architecture::Arm64,
        packages: vec![Package {
            function: "ingest".to_owned(),
            file: "ingest-0123456789abcdef.zip".to_owned(),
            sha256: "00".repeat(32),
            bytes: 1,
            glibc: None,
        }],
        bundles: vec![],
    }
}

#[test]
fn cross_region_outputs_and_artifacts_become_parameters() {
    let manifest = manifest("prod");
    let mut outputs = StackOutputs::new();
    outputs.insert(
        "edge-global".to_owned(),
        BTreeMap::from([
            (
                "WebAclArn".to_owned(),
                "arn:aws:wafv2:us-east-1:1:global/webacl/x".to_owned(),
            ),
            (
                "CertificateArn".to_owned(),
                "arn:aws:acm:us-east-1:1:certificate/y".to_owned(),
            ),
        ]),
    );
    let edge = parameter_values(manifest.stack("edge").unwrap(), &build(), &outputs).unwrap();
    assert_eq!(
        edge["SiteWebAclArn"],
        ParameterValue::Value("arn:aws:wafv2:us-east-1:1:global/webacl/x".to_owned())
    );
    assert_eq!(
        edge["SiteCertificateArn"],
        ParameterValue::Value("arn:aws:acm:us-east-1:1:certificate/y".to_owned())
    );
    assert_eq!(
        edge["OriginSecret"],
        ParameterValue::Secret {
            parameter: "/sbw/sbw-shop/prod/origin-secret".to_owned()
        }
    );
    let ingest = parameter_values(manifest.stack("ingest").unwrap(), &build(), &outputs).unwrap();
    assert_eq!(
        ingest,
        BTreeMap::from([(
            "IngestCodeKey".to_owned(),
            ParameterValue::Value("lambda/ingest-0123456789abcdef.zip".to_owned())
        )])
    );
    let warehouse =
        parameter_values(manifest.stack("warehouse").unwrap(), &build(), &outputs).unwrap();
    assert!(matches!(warehouse["AmiId"], ParameterValue::SsmOnce { .. }));
}

#[test]
fn a_missing_output_or_package_is_named() {
    let manifest = manifest("prod");
    let error = parameter_values(
        manifest.stack("edge").unwrap(),
        &build(),
        &StackOutputs::new(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        PlanError::MissingOutput {
            stack: "edge".to_owned(),
            from: "edge-global".to_owned(),
            output: "CertificateArn".to_owned()
        }
    );
    let error = parameter_values(
        manifest.stack("etl").unwrap(),
        &build(),
        &StackOutputs::new(),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("needs the etl package"),
        "{error}"
    );
}

/// a, then b and c; d after c. b fails at once while c is still running.
#[tokio::test]
async fn a_failure_lets_running_stacks_finish_and_starts_no_more() {
    let schedule = Schedule {
        waits_for: [
            ("a", vec![]),
            ("b", vec!["a"]),
            ("c", vec!["a"]),
            ("d", vec!["c"]),
        ]
        .into_iter()
        .map(|(name, deps)| (name.to_owned(), set(&deps)))
        .collect(),
    };
    let mut finished: Vec<(String, Vec<String>)> = Vec::new();
    let ran = schedule
        .run(
            &mut finished,
            |finished, name| {
                let name = name.to_owned();
                let seen: Vec<String> = finished.iter().map(|(n, _)| n.clone()).collect();
                async move {
                    match name.as_str() {
                        "b" => Err(format!("{name} failed")),
                        "c" => {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            Ok(seen)
                        }
                        _ => Ok(seen),
                    }
                }
            },
            |finished, name, seen| finished.push((name.to_owned(), seen)),
        )
        .await;
    assert_eq!(ran.failed, vec![("b".to_owned(), "b failed".to_owned())]);
    assert_eq!(ran.not_started, set(&["d"]));
    // c ran to the end, and started after a's result was kept.
    assert_eq!(
        finished,
        vec![
            ("a".to_owned(), vec![]),
            ("c".to_owned(), vec!["a".to_owned()])
        ]
    );
}
