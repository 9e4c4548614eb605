//! `sbwctl deploy`: the build's packages and large templates to the artifacts
//! bucket, the prerequisites (the ingest hashing key, the origin secret), then every stack in
//! dependency order, independent ones at the same time, across regions.
//! Bundles an instance fetches itself (the dashboard) are uploaded before
//! their stack and published by rewriting `<artifact>/current.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sbw_infra::config::Deployment;
use sbw_infra::iam;
use sbw_infra::render::{Manifest, ParameterSource, RenderedStack};

use crate::aws::{check_account, AwsError, RegionClients};
use crate::bootstrap::deployer_outputs;
use crate::plan::{self, ParameterValue, PlanError, Schedule, StackOutputs};
use crate::progress::Progress;
use crate::protection;
use crate::stack::{
    self, BeforeExecute, DataGuard, Outcome, PollTimes, StackChange, StackError, TemplateSource,
};
use crate::warehouse;
use crate::Aws;
use futures_util::future::LocalBoxFuture;
use sbw_packaging::{architecture_name, BuildOutput};

mod artifacts;
mod error;
mod secrets;

pub use artifacts::CurrentPointer;
use artifacts::{publish_bundle, read_artifact, upload_if_missing};
pub use error::DeployError;
use secrets::current_origin_secret;
pub use secrets::{ensure_secret, random_secret, secure_parameter};

/// The storage stack's output naming the artifacts bucket.
const ARTIFACTS_BUCKET_OUTPUT: (&str, &str) = ("storage", "ArtifactsBucketName");

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// The `sbwctl build` output directory.
    pub build_dir: PathBuf,
    /// Resolve the warehouse AMI from its SSM parameter again (replaces the instance).
    pub update_ami: bool,
    /// Execute change sets that replace or remove a data resource without
    /// anyone answering the warning (`--yes --allow-replace`).
    pub allow_replace: bool,
    pub poll: PollTimes,
}

/// What happened to one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackReport {
    pub name: String,
    pub stack_name: String,
    pub region: String,
    pub outcome: Outcome,
    pub outputs: BTreeMap<String, String>,
}

impl StackReport {
    pub fn new(
        stack: &RenderedStack,
        outcome: Outcome,
        outputs: BTreeMap<String, String>,
    ) -> StackReport {
        StackReport {
            name: stack.name.to_owned(),
            stack_name: stack.stack_name.clone(),
            region: stack.region.clone(),
            outcome,
            outputs,
        }
    }
}

/// Deploys every stack of `manifest`; reports them in manifest order.
pub async fn deploy(
    aws: &Aws,
    deployment: &Deployment,
    manifest: &Manifest,
    options: &DeployOptions,
    progress: &Progress,
) -> Result<Vec<StackReport>, DeployError> {
    let build = BuildOutput::read(&options.build_dir)?;
    if build.architecture != deployment.ingest.architecture {
        return Err(DeployError::WrongArchitecture {
            dir: options.build_dir.display().to_string(),
            built: architecture_name(build.architecture),
            wanted: architecture_name(deployment.ingest.architecture),
        });
    }
    check_account::<DeployError>(aws.region(&manifest.region), deployment).await?;
    let [role_arn, hash_key_key] = deployer_outputs::<DeployError, 2>(
        aws,
        deployment,
        [iam::DEPLOYER_ROLE_OUTPUT, iam::HASH_KEY_KEY_OUTPUT],
    )
    .await?;
    for prerequisite in &manifest.prerequisites {
        ensure_secret(
            aws.region(&prerequisite.region),
            &prerequisite.name,
            prerequisite.how,
            prerequisite
                .only_ingest_decrypts
                .then_some(hash_key_key.as_str()),
            progress,
        )
        .await?;
    }
    let context = Context {
        aws,
        role_arn: &role_arn,
        build: &build,
        options,
        progress,
        protected: deployment.protected,
    };
    let mut state = (StackOutputs::new(), BTreeMap::new());
    let ran = Schedule::deploy(manifest)
        .run(
            &mut state,
            |(outputs, _), name| {
                let stack = manifest
                    .stack(name)
                    .expect("the schedule holds the manifest's stacks");
                let inputs = StackInputs::resolve(stack, &build, outputs);
                context.deploy_stack(stack, inputs)
            },
            |(outputs, reports), name, report: StackReport| {
                outputs.insert(name.to_owned(), report.outputs.clone());
                reports.insert(name.to_owned(), report);
            },
        )
        .await;
    if !ran.failed.is_empty() {
        let not_started = manifest
            .stacks
            .iter()
            .filter(|s| ran.not_started.contains(s.name))
            .map(|s| s.stack_name.clone())
            .collect();
        return Err(DeployError::Stacks {
            failed: ran.failed,
            not_started,
        });
    }
    let (_, mut reports) = state;
    Ok(manifest
        .stacks
        .iter()
        .filter_map(|s| reports.remove(s.name))
        .collect())
}

/// A stack's parameters and what must be in the artifacts bucket before it.
struct StackInputs {
    parameters: Result<BTreeMap<String, ParameterValue>, PlanError>,
    artifacts_bucket: Result<Option<String>, PlanError>,
}

impl StackInputs {
    fn resolve(stack: &RenderedStack, build: &BuildOutput, outputs: &StackOutputs) -> StackInputs {
        let uses_bucket = stack.requires_s3_upload
            || !stack.fetches.is_empty()
            || stack
                .parameters
                .values()
                .any(|p| matches!(p, ParameterSource::Artifact { .. }));
        let (from, output) = ARTIFACTS_BUCKET_OUTPUT;
        StackInputs {
            parameters: plan::parameter_values(stack, build, outputs),
            artifacts_bucket: uses_bucket
                .then(|| plan::stack_output(outputs, stack.name, from, output).map(str::to_owned))
                .transpose(),
        }
    }
}

#[derive(Clone, Copy)]
struct Context<'a> {
    aws: &'a Aws,
    /// The deployer role every stack is changed with.
    role_arn: &'a str,
    build: &'a BuildOutput,
    options: &'a DeployOptions,
    progress: &'a Progress,
    /// `protected: true`: termination protection and stack policies.
    protected: bool,
}

impl Context<'_> {
    async fn deploy_stack(
        self,
        stack: &RenderedStack,
        inputs: StackInputs,
    ) -> Result<StackReport, StackError> {
        let spinner = self.progress.start(&stack.stack_name, "reading its state");
        let clients = self.aws.region(&stack.region);
        let existing = stack::describe(&clients.cloudformation, &stack.stack_name).await?;
        let reusable = existing.as_ref().filter(|s| !s.is_failed_first_create());
        let mut parameters = BTreeMap::new();
        for (key, value) in inputs.parameters? {
            let deployed = reusable.is_some_and(|s| s.parameters.contains_key(&key));
            let value = match value {
                ParameterValue::Value(value) => Some(value),
                ParameterValue::Kept { .. } if deployed => None,
                ParameterValue::Kept { first } => Some(first),
                ParameterValue::SsmOnce { .. } if !self.options.update_ami && deployed => None,
                ParameterValue::SsmOnce { parameter } => {
                    Some(public_parameter(clients, &parameter).await?)
                }
                // NoEcho: CloudFormation shows the deployed value as ****, so
                // this stack always gets a change set, which CloudFormation
                // finds empty unless the secret changed.
                ParameterValue::Secret { parameter } => {
                    Some(current_origin_secret(clients, &parameter).await?)
                }
            };
            parameters.insert(key, value);
        }
        let template = match inputs.artifacts_bucket? {
            Some(bucket) => {
                spinner.phase("uploading artifacts");
                self.upload_artifacts(clients, &bucket, stack).await?
            }
            None => TemplateSource::Body(stack.body.clone()),
        };
        let change = StackChange {
            stack_name: &stack.stack_name,
            template,
            template_sha256: &stack.sha256,
            parameters,
            capabilities: &stack.capabilities,
            ask: true,
            guard: DataGuard {
                data_resources: stack
                    .data_resources()
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect(),
                allow_replace: self.options.allow_replace,
                protected: self.protected,
            },
            before_execute: None,
            role_arn: Some(self.role_arn),
        };
        let existed = existing.is_some();
        // The warehouse: a replaced instance lets go of the data volume first.
        let deployed_outputs = existing
            .as_ref()
            .map(|s| s.outputs.clone())
            .unwrap_or_default();
        let (outputs_ref, spinner_ref, poll) = (&deployed_outputs, &spinner, &self.options.poll);
        let stack_name = stack.stack_name.as_str();
        let detach = move |changes: Vec<stack::ResourceChange>| {
            Box::pin(async move {
                let (Some(instance), Some(volume)) = (
                    outputs_ref.get(warehouse::INSTANCE_OUTPUT),
                    outputs_ref.get(warehouse::VOLUME_OUTPUT),
                ) else {
                    return Ok(());
                };
                if !warehouse::must_detach_first(&changes) {
                    return Ok(());
                }
                spinner_ref.phase("stopping the old instance, detaching the data volume");
                spinner_ref.line(format!(
                    "  {stack_name}: the instance {instance} is replaced: stopping it and detaching the data volume {volume}, which the new instance attaches"
                ));
                warehouse::detach_data_volume(&clients.ec2, instance, volume, poll).await?;
                Ok(())
            }) as LocalBoxFuture<'_, Result<(), StackError>>
        };
        let change = StackChange {
            before_execute: (stack.name == warehouse::STACK).then_some(BeforeExecute(&detach)),
            ..change
        };
        let (outcome, outputs) = stack::deploy(
            &clients.cloudformation,
            &spinner,
            existing,
            &change,
            &self.options.poll,
        )
        .await?;
        if self.protected && (existed || outcome != Outcome::Declined) {
            spinner.phase("termination protection and stack policy");
            protection::protect(
                &clients.cloudformation,
                &stack.stack_name,
                &change.guard.data_resources,
            )
            .await?;
        }
        Ok(StackReport::new(stack, outcome, outputs))
    }

    /// Uploads the stack's packages and bundles (and its template when too
    /// large to pass inline) unless already there, and points the bundles'
    /// `current.json` at this build's; returns how to pass the template.
    async fn upload_artifacts(
        self,
        clients: &RegionClients,
        bucket: &str,
        stack: &RenderedStack,
    ) -> Result<TemplateSource, AwsError> {
        for source in stack.parameters.values() {
            let ParameterSource::Artifact { artifact } = source else {
                continue;
            };
            // A missing package was reported by the parameter resolution.
            if let Some(package) = self.build.package(artifact) {
                let body = read_artifact(&self.options.build_dir.join(&package.file))?;
                upload_if_missing(clients, bucket, &package.key(), body, self.progress).await?;
            }
        }
        for artifact in &stack.fetches {
            match self.build.bundle(artifact) {
                Some(bundle) => {
                    publish_bundle(
                        clients,
                        bucket,
                        bundle,
                        &self.options.build_dir,
                        self.progress,
                    )
                    .await?
                }
                None => self.progress.line(format!(
                    "the build in {} has no {artifact} bundle (there was no {artifact}/ directory): {} keeps the {artifact} it runs",
                    self.options.build_dir.display(),
                    stack.stack_name
                )),
            }
        }
        if !stack.requires_s3_upload {
            return Ok(TemplateSource::Body(stack.body.clone()));
        }
        let key = format!("templates/{}-{}.yaml", stack.name, &stack.sha256[..16]);
        upload_if_missing(
            clients,
            bucket,
            &key,
            stack.body.clone().into_bytes(),
            self.progress,
        )
        .await?;
        Ok(TemplateSource::Url(format!(
            "https://{bucket}.s3.{}.amazonaws.com/{key}",
            stack.region
        )))
    }
}

/// A public SSM parameter's current value (the Ubuntu AMI).
async fn public_parameter(clients: &RegionClients, name: &str) -> Result<String, AwsError> {
    let answer = clients
        .ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("reading the public SSM parameter {name}"), &e))?;
    Ok(answer
        .parameter()
        .and_then(|p| p.value())
        .unwrap_or_default()
        .to_owned())
}
