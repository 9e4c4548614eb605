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
mod tests;
