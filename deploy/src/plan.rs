//! The order of a deploy or destroy (dependencies from the manifest; stacks
//! without a path between them run at the same time) and the values of each
//! stack's parameters.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use futures_util::stream::{FuturesUnordered, StreamExt};
use sbw_infra::render::{Manifest, ParameterSource, RenderedStack};

use sbw_packaging::BuildOutput;

/// Outputs of the stacks deployed so far: stack (short name) -> key -> value.
pub type StackOutputs = BTreeMap<String, BTreeMap<String, String>>;

/// How a run of a [`Schedule`] ended.
#[derive(Debug)]
pub struct Ran<E> {
    /// The stacks that failed, in the order they failed.
    pub failed: Vec<(String, E)>,
    /// The stacks a failure kept from starting.
    pub not_started: BTreeSet<String>,
}

/// Which stacks must be finished before each stack may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    waits_for: BTreeMap<String, BTreeSet<String>>,
}

impl Schedule {
    /// Deploy order: a stack starts when the stacks it depends on are done.
    pub fn deploy(manifest: &Manifest) -> Schedule {
        let names: BTreeSet<&str> = manifest.stacks.iter().map(|s| s.name).collect();
        let waits_for = manifest
            .stacks
            .iter()
            .map(|stack| {
                let deps = stack
                    .depends_on
                    .iter()
                    .filter(|d| names.contains(*d))
                    .map(|d| (*d).to_owned())
                    .collect();
                (stack.name.to_owned(), deps)
            })
            .collect();
        Schedule { waits_for }
    }

    /// Destroy order: a stack goes when every stack that depends on it is gone.
    pub fn destroy(manifest: &Manifest) -> Schedule {
        let deploy = Schedule::deploy(manifest);
        let mut waits_for: BTreeMap<String, BTreeSet<String>> = deploy
            .waits_for
            .keys()
            .map(|name| (name.clone(), BTreeSet::new()))
            .collect();
        for (dependent, dependencies) in &deploy.waits_for {
            for dependency in dependencies {
                if let Some(set) = waits_for.get_mut(dependency) {
                    set.insert(dependent.clone());
                }
            }
        }
        Schedule { waits_for }
    }

    /// Stacks not started yet whose predecessors are all in `done`.
    pub fn ready(&self, done: &BTreeSet<String>, started: &BTreeSet<String>) -> Vec<String> {
        self.waits_for
            .iter()
            .filter(|(name, deps)| !started.contains(*name) && deps.is_subset(done))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Runs the stacks: each starts once its predecessors are done, every ready
    /// one at once. `finished` sees a stack's result before its successors start,
    /// and `start` can read what `finished` kept in `state`. After a failure no
    /// stack starts; the running ones are waited for.
    pub async fn run<S, T, E, Job>(
        &self,
        state: &mut S,
        mut start: impl FnMut(&S, &str) -> Job,
        mut finished: impl FnMut(&mut S, &str, T),
    ) -> Ran<E>
    where
        Job: Future<Output = Result<T, E>>,
    {
        let mut started = BTreeSet::new();
        let mut done = BTreeSet::new();
        let mut failed = Vec::new();
        let mut running = FuturesUnordered::new();
        loop {
            if failed.is_empty() {
                for name in self.ready(&done, &started) {
                    let job = start(state, &name);
                    started.insert(name.clone());
                    running.push(async move { (name, job.await) });
                }
            }
            let Some((name, result)) = running.next().await else {
                break;
            };
            match result {
                Ok(value) => {
                    finished(state, &name, value);
                    done.insert(name);
                }
                Err(error) => failed.push((name, error)),
            }
        }
        let not_started = self
            .waits_for
            .keys()
            .filter(|name| !started.contains(*name))
            .cloned()
            .collect();
        Ran {
            failed,
            not_started,
        }
    }

    /// The stacks grouped by when they can run if each takes the same time.
    pub fn waves(&self) -> Vec<Vec<String>> {
        let mut done = BTreeSet::new();
        let mut waves = Vec::new();
        loop {
            let wave = self.ready(&done, &done);
            if wave.is_empty() {
                return waves;
            }
            done.extend(wave.iter().cloned());
            waves.push(wave);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("stack {stack} needs the {artifact} package, which the build's build.json does not list: run `sbwctl build` (it builds every function)")]
    MissingArtifact { stack: String, artifact: String },
    #[error("stack {stack} needs output {output} of stack {from}, which {from} does not have")]
    MissingOutput {
        stack: String,
        from: String,
        output: String,
    },
}

/// A parameter value, or where the deploy still has to look it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    Value(String),
    /// The stack's previous value, or on its first deploy this public SSM parameter.
    SsmOnce {
        parameter: String,
    },
    /// The stack's previous value, or on its first deploy `first`.
    Kept {
        first: String,
    },
    /// The current secret in this SSM SecureString, read by the deploy.
    Secret {
        parameter: String,
    },
}

/// The parameters the deploy passes to `stack` (template defaults are left to
/// CloudFormation): build artifacts' S3 keys and other stacks' outputs.
pub fn parameter_values(
    stack: &RenderedStack,
    build: &BuildOutput,
    outputs: &StackOutputs,
) -> Result<BTreeMap<String, ParameterValue>, PlanError> {
    let mut values = BTreeMap::new();
    for (name, source) in &stack.parameters {
        let value = match source {
            ParameterSource::Default { .. } => continue,
            ParameterSource::Artifact { artifact } => ParameterValue::Value(
                build
                    .package(artifact)
                    .ok_or_else(|| PlanError::MissingArtifact {
                        stack: stack.name.to_owned(),
                        artifact: (*artifact).to_owned(),
                    })?
                    .key(),
            ),
            ParameterSource::StackOutput {
                stack: from,
                output,
            } => ParameterValue::Value(stack_output(outputs, stack.name, from, output)?.to_owned()),
            ParameterSource::SsmParameterOnce { name } => ParameterValue::SsmOnce {
                parameter: name.clone(),
            },
            ParameterSource::Kept { first } => ParameterValue::Kept {
                first: first.clone(),
            },
            ParameterSource::SecureParameter { name } => ParameterValue::Secret {
                parameter: name.clone(),
            },
        };
        values.insert(name.clone(), value);
    }
    Ok(values)
}

/// Output `output` of stack `from`, needed by stack `stack`.
pub fn stack_output<'a>(
    outputs: &'a StackOutputs,
    stack: &str,
    from: &str,
    output: &str,
) -> Result<&'a str, PlanError> {
    outputs
        .get(from)
        .and_then(|o| o.get(output))
        .map(String::as_str)
        .ok_or_else(|| PlanError::MissingOutput {
            stack: stack.to_owned(),
            from: from.to_owned(),
            output: output.to_owned(),
        })
}

#[cfg(test)]
mod tests {
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
        let ingest =
            parameter_values(manifest.stack("ingest").unwrap(), &build(), &outputs).unwrap();
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
}
