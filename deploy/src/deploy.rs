//! `sbwctl deploy`: the build's packages and large templates to the artifacts
//! bucket, the prerequisites (the ingest hashing key, the origin secret), then every stack in
//! dependency order, independent ones at the same time, across regions.
//! Bundles an instance fetches itself (the dashboard) are uploaded before
//! their stack and published by rewriting `<artifact>/current.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};
use sbw_infra::config::Deployment;
use sbw_infra::iam;
use sbw_infra::render::{current_pointer_key, Manifest, ParameterSource, RenderedStack};
use serde::{Deserialize, Serialize};

use crate::aws::{check_account, AwsError, RegionClients, WrongAccount};
use crate::bootstrap::{deployer_outputs, NotBootstrapped, RoleError};
use crate::plan::{self, ParameterValue, PlanError, Schedule, StackOutputs};
use crate::progress::Progress;
use crate::protection;
use crate::stack::{
    self, BeforeExecute, DataGuard, Outcome, PollTimes, StackChange, StackError, TemplateSource,
};
use crate::warehouse;
use crate::Aws;
use futures_util::future::LocalBoxFuture;
use sbw_packaging::{architecture_name, BuildError, BuildOutput, Bundle};

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

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("the packages in {dir} are built for {built}, but this environment runs {wanted} Lambdas (ingest.architecture): run `sbwctl build --arch {wanted} --out {dir}`")]
    WrongArchitecture {
        dir: String,
        built: &'static str,
        wanted: &'static str,
    },
    #[error(transparent)]
    WrongAccount(#[from] WrongAccount),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    NotBootstrapped(#[from] NotBootstrapped),
    #[error("{}", stack_failures(.failed, .not_started))]
    Stacks {
        failed: Vec<(String, StackError)>,
        not_started: Vec<String>,
    },
}

fn stack_failures(failed: &[(String, StackError)], not_started: &[String]) -> String {
    let mut text = failed
        .iter()
        .map(|(_, error)| error.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    if !not_started.is_empty() {
        text.push_str(&format!(
            "\nnot started because of the failure: {}",
            not_started.join(", ")
        ));
    }
    text
}

impl From<RoleError> for DeployError {
    fn from(error: RoleError) -> Self {
        match error {
            RoleError::Aws(error) => DeployError::Aws(error),
            RoleError::Missing(error) => DeployError::NotBootstrapped(error),
        }
    }
}

impl From<PlanError> for StackError {
    fn from(error: PlanError) -> Self {
        StackError::ChangeSetFailed {
            stack: match &error {
                PlanError::MissingArtifact { stack, .. }
                | PlanError::MissingOutput { stack, .. } => stack.clone(),
            },
            reason: error.to_string(),
        }
    }
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
    let [role_arn, hash_key_key] = deployer_outputs(
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

/// Creates the SecureString `name` with [`random_secret`] unless it exists,
/// encrypted with `key` (a key of the deployer stack), or with SSM's default
/// key when `None`. An existing value is never replaced here (a new hashing
/// key would change every hashed identifier; the origin secret has its own
/// rotation), but one that an older `sbwctl` encrypted with another key than
/// `key` is encrypted again with it, the value unchanged.
pub async fn ensure_secret(
    clients: &RegionClients,
    name: &str,
    description: &str,
    key: Option<&str>,
    progress: &Progress,
) -> Result<(), AwsError> {
    let secret = Secret {
        clients,
        name,
        description,
        key,
    };
    match (encryption_key(clients, name).await?, key) {
        (None, _) => {
            let value = random_secret(&format!("creating the SSM parameter {name}"))?;
            if secret.put(value, false).await? {
                progress.line(format!("created the SecureString {name} (32 random bytes)"));
            }
        }
        (Some(current), Some(key)) if !is_key(&current, key) => {
            let value = secure_parameter(clients, name).await?.unwrap_or_default();
            secret.put(value, true).await?;
            progress.line(format!(
                "encrypted the SecureString {name} with the environment's own key (it was under {current}); its value is unchanged"
            ));
        }
        (Some(_), _) => {}
    }
    Ok(())
}

/// The key the SecureString `name` is encrypted with, if it exists.
async fn encryption_key(clients: &RegionClients, name: &str) -> Result<Option<String>, AwsError> {
    let by_name = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .expect("key is set");
    // A filtered answer may come in pages, some of them empty.
    let mut pages = clients
        .ssm
        .describe_parameters()
        .parameter_filters(by_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::new(format!("reading the SSM parameter {name}"), &e))?;
        if let Some(found) = page.parameters().iter().find(|p| p.name() == Some(name)) {
            let key = found.key_id().unwrap_or("alias/aws/ssm");
            return Ok(Some(key.to_owned()));
        }
    }
    Ok(None)
}

/// Whether `key_id` (as SSM reports it: an ARN, an id or an alias) names `key_arn`.
fn is_key(key_id: &str, key_arn: &str) -> bool {
    key_id == key_arn || key_arn.ends_with(&format!("/{key_id}"))
}

/// One SecureString as `ensure_secret` writes it.
struct Secret<'a> {
    clients: &'a RegionClients,
    name: &'a str,
    description: &'a str,
    key: Option<&'a str>,
}

impl Secret<'_> {
    /// Puts `value`; `false` when, not overwriting, a concurrent deploy
    /// created it in the meantime (theirs stays).
    async fn put(&self, value: String, overwrite: bool) -> Result<bool, AwsError> {
        let put = self
            .clients
            .ssm
            .put_parameter()
            .name(self.name)
            .value(value)
            .r#type(ParameterType::SecureString)
            .set_key_id(self.key.map(str::to_owned))
            .description(self.description)
            .overwrite(overwrite)
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_parameter_already_exists()) =>
            {
                Ok(false)
            }
            Err(error) => Err(AwsError::new(
                format!("writing the SSM parameter {}", self.name),
                &error,
            )),
        }
    }
}

/// 32 random bytes from the operating system, as 64 hex digits; `action`
/// names what needed them if there are none.
pub fn random_secret(action: &str) -> Result<String, AwsError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AwsError {
        action: action.to_owned(),
        reason: format!("no randomness from the operating system: {e}"),
        kind: crate::aws::AwsErrorKind::Service,
    })?;
    Ok(hex::encode(bytes))
}

/// The decrypted value of the SecureString `name`; `None` if there is none.
pub async fn secure_parameter(
    clients: &RegionClients,
    name: &str,
) -> Result<Option<String>, AwsError> {
    match clients
        .ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(answer) => Ok(Some(
            answer.parameter.and_then(|p| p.value).unwrap_or_default(),
        )),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::new(
            format!("reading the SSM parameter {name}"),
            &error,
        )),
    }
}

/// The origin secret CloudFront is to send: the current one in `parameter`.
async fn current_origin_secret(
    clients: &RegionClients,
    parameter: &str,
) -> Result<String, AwsError> {
    let stored = secure_parameter(clients, parameter)
        .await?
        .unwrap_or_default();
    sbw_names::origin_secret::current(&stored)
        .map(str::to_owned)
        .ok_or_else(|| AwsError {
            action: format!("reading the origin secret from the SSM parameter {parameter}"),
            reason: "it is empty or missing: delete it and run `sbwctl deploy` again, which creates a new one"
                .to_owned(),
            kind: crate::aws::AwsErrorKind::Service,
        })
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

fn read_artifact(path: &Path) -> Result<Vec<u8>, AwsError> {
    std::fs::read(path).map_err(|e| AwsError {
        action: format!("reading {}", path.display()),
        reason: e.to_string(),
        kind: crate::aws::AwsErrorKind::Service,
    })
}

/// `<artifact>/current.json`: which bundle the instance should run. The
/// instance checks the download against `sha256` before installing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentPointer {
    pub key: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Uploads `bundle` unless there, then points `<artifact>/current.json` at it
/// unless it already does (the instance follows that object, so an unchanged
/// bundle costs two reads and no write).
async fn publish_bundle(
    clients: &RegionClients,
    bucket: &str,
    bundle: &Bundle,
    build_dir: &Path,
    progress: &Progress,
) -> Result<(), AwsError> {
    let body = read_artifact(&build_dir.join(&bundle.file))?;
    upload_if_missing(clients, bucket, &bundle.key(), body, progress).await?;
    let pointer_key = current_pointer_key(&bundle.artifact);
    let pointer = CurrentPointer {
        key: bundle.key(),
        sha256: bundle.sha256.clone(),
        bytes: bundle.bytes,
    };
    match clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(&pointer_key)
        .send()
        .await
    {
        Ok(current) => {
            let text = current.body.collect().await.map_err(|e| AwsError {
                action: format!("reading s3://{bucket}/{pointer_key}"),
                reason: e.to_string(),
                kind: crate::aws::AwsErrorKind::Service,
            })?;
            if serde_json::from_slice::<CurrentPointer>(&text.into_bytes()).ok()
                == Some(pointer.clone())
            {
                return Ok(());
            }
        }
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {}
        Err(error) => {
            return Err(AwsError::new(
                format!("reading s3://{bucket}/{pointer_key}"),
                &error,
            ))
        }
    }
    let text = serde_json::to_vec(&pointer).expect("a pointer serializes");
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(&pointer_key)
        .content_type("application/json")
        .body(text.into())
        .send()
        .await
        .map_err(|e| AwsError::new(format!("writing s3://{bucket}/{pointer_key}"), &e))?;
    progress.line(format!(
        "s3://{bucket}/{pointer_key} now names {}: the instance installs it within about a minute",
        bundle.file
    ));
    Ok(())
}

/// Puts `body` at `key` unless an object is there: keys are content-hashed,
/// so an existing key holds the same bytes.
async fn upload_if_missing(
    clients: &RegionClients,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    progress: &Progress,
) -> Result<(), AwsError> {
    match clients
        .s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {}
        Err(error) => {
            return Err(AwsError::new(
                format!("checking s3://{bucket}/{key}"),
                &error,
            ))
        }
    }
    let bytes = body.len();
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| AwsError::new(format!("uploading s3://{bucket}/{key}"), &e))?;
    progress.line(format!("uploaded s3://{bucket}/{key} ({bytes} bytes)"));
    Ok(())
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
