//! `sbwctl destroy`: every stack in reverse dependency order. Resources that
//! hold data (buckets, the dead-letter queue, user pools, the warehouse
//! volume) are kept unless `--delete-data`, which first deploys the templates
//! rendered with `DeletionPolicy: Delete` and empties the buckets.

use std::collections::BTreeMap;

use sbw_infra::config::Deployment;
use sbw_infra::render::{self, DataOnDelete, Manifest, RenderedStack};

use crate::aws::{check_account, AwsError, RegionClients};
use crate::bootstrap::deployer_role;
use crate::plan::Schedule;
use crate::progress::Progress;
use crate::protection;
use crate::stack::{self, DataGuard, PollTimes, StackChange, StackError, TemplateSource};
use crate::Aws;

mod error;

pub use error::DestroyError;

#[derive(Debug, Clone)]
pub struct DestroyOptions {
    pub delete_data: bool,
    /// Destroy even an environment marked `protected: true`.
    pub force: bool,
    pub poll: PollTimes,
}

/// A resource left in the account on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    /// Empty when the API did not name it.
    pub physical_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestroyReport {
    pub deleted: Vec<String>,
    /// Stacks that did not exist.
    pub absent: Vec<String>,
    pub kept: Vec<Kept>,
    /// The warehouse volume's daily snapshots deleted (`--delete-data` only).
    pub snapshots_deleted: Vec<String>,
    /// Buckets deleted after every stack was gone (`--delete-data` only): the
    /// access-log bucket, which the others log into until they are deleted.
    pub deleted_last: Vec<String>,
}

/// What the confirmation question says will happen.
pub fn describe_plan(manifest: &Manifest, delete_data: bool) -> String {
    let stacks: Vec<&str> = manifest
        .stacks
        .iter()
        .map(|s| s.stack_name.as_str())
        .collect();
    let data = if delete_data {
        "ALL DATA IS DELETED: raw events, dead letters, artifacts, the site bucket, user pools and the warehouse volume (no final snapshot)"
    } else {
        "data is kept: buckets, the dead-letter queue, user pools and a final snapshot of the warehouse volume stay (and cost money) until deleted by hand or with --delete-data"
    };
    format!(
        "Delete {} stacks of {}-{} ({}); {data}. Continue?",
        stacks.len(),
        manifest.project,
        manifest.environment,
        stacks.join(", ")
    )
}

pub async fn destroy(
    aws: &Aws,
    deployment: &Deployment,
    options: &DestroyOptions,
    progress: &Progress,
) -> Result<DestroyReport, DestroyError> {
    if deployment.protected && !options.force {
        return Err(DestroyError::Protected(deployment.prefix()));
    }
    let data = if options.delete_data {
        DataOnDelete::Delete
    } else {
        DataOnDelete::Retain
    };
    let manifest = render::render_with(deployment, data)?;
    check_account::<DestroyError>(aws.region(&manifest.region), deployment).await?;
    let role_arn = deployer_role::<DestroyError>(aws, deployment).await?;
    if !progress
        .confirm(&describe_plan(&manifest, options.delete_data))
        .await
    {
        return Err(DestroyError::NotConfirmed);
    }
    let mut state = (DestroyReport::default(), BTreeMap::new());
    let ran = Schedule::destroy(&manifest)
        .run(
            &mut state,
            |_, name| {
                let stack = manifest
                    .stack(name)
                    .expect("the schedule holds the manifest's stacks");
                destroy_stack(aws, stack, &role_arn, options, progress)
            },
            |(report, kept), name, stack_kept| match stack_kept {
                None => report.absent.push(name.to_owned()),
                Some(stack_kept) => {
                    kept.insert(name.to_owned(), stack_kept);
                    report.deleted.push(name.to_owned());
                }
            },
        )
        .await;
    if !ran.failed.is_empty() {
        return Err(DestroyError::Stacks(ran.failed));
    }
    let (mut report, mut kept) = state;
    report.kept = manifest
        .stacks
        .iter()
        .filter_map(|s| kept.remove(s.name))
        .flatten()
        .collect();
    if options.delete_data {
        let clients = aws.region(&manifest.region);
        report.snapshots_deleted = delete_backup_snapshots(clients, &deployment.prefix()).await?;
        for (stack, logical_id) in render::deleted_last(&manifest) {
            let Some(rendered) = manifest.stack(stack) else {
                continue;
            };
            let Some(index) = report.kept.iter().position(|k| {
                k.stack == rendered.stack_name
                    && k.logical_id == logical_id
                    && k.resource_type == "AWS::S3::Bucket"
                    && !k.physical_id.is_empty()
            }) else {
                continue;
            };
            let bucket = report.kept.remove(index).physical_id;
            progress.line(format!(
                "emptying and deleting s3://{bucket} ({logical_id}) now that the buckets logging into it are gone"
            ));
            delete_bucket(aws.region(&rendered.region), &bucket).await?;
            report.deleted_last.push(bucket);
        }
    }
    Ok(report)
}

/// Empties and deletes `bucket`. S3 delivers access logs minutes late: an
/// object arriving between the emptying and the deletion is emptied again.
async fn delete_bucket(clients: &RegionClients, bucket: &str) -> Result<(), AwsError> {
    const ATTEMPTS: u32 = 5;
    for attempt in 1..=ATTEMPTS {
        empty_bucket(clients, bucket).await?;
        match clients.s3.delete_bucket().bucket(bucket).send().await {
            Ok(_) => return Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code)
                    == Some("NoSuchBucket") =>
            {
                return Ok(())
            }
            Err(error)
                if attempt < ATTEMPTS
                    && error
                        .as_service_error()
                        .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code)
                        == Some("BucketNotEmpty") =>
            {
                tokio::time::sleep(std::time::Duration::from_secs(u64::from(attempt))).await;
            }
            Err(error) => return Err(AwsError::new(format!("deleting s3://{bucket}"), &error)),
        }
    }
    unreachable!("the last attempt returns")
}

/// The tag the warehouse template gives its data volume, which DLM copies
/// onto the daily snapshots.
pub const BACKUP_TAG: &str = "sbw:backup";

/// Deletes this account's snapshots tagged `sbw:backup = <prefix>` (every
/// page of them); returns their ids. DLM's snapshots are not stack resources:
/// deleting the stacks leaves them.
pub async fn delete_backup_snapshots(
    clients: &RegionClients,
    prefix: &str,
) -> Result<Vec<String>, AwsError> {
    let action = || format!("deleting the {BACKUP_TAG}={prefix} snapshots");
    let ids: Vec<String> = crate::snapshot::backup_snapshots(clients, prefix, &action())
        .await?
        .iter()
        .filter_map(|s| s.snapshot_id().map(str::to_owned))
        .collect();
    for id in &ids {
        clients
            .ec2
            .delete_snapshot()
            .snapshot_id(id)
            .send()
            .await
            .map_err(|e| AwsError::new(action(), &e))?;
    }
    Ok(ids)
}

/// Deletes one stack; `None` when it did not exist, else what it left behind.
async fn destroy_stack(
    aws: &Aws,
    stack: &RenderedStack,
    role_arn: &str,
    options: &DestroyOptions,
    progress: &Progress,
) -> Result<Option<Vec<Kept>>, StackError> {
    let spinner = progress.start(&stack.stack_name, "reading its state");
    let clients = aws.region(&stack.region);
    let cfn = &clients.cloudformation;
    let Some(mut state) = stack::describe(cfn, &stack.stack_name).await? else {
        return Ok(None);
    };
    let resources = physical_ids(clients, &stack.stack_name).await?;
    // With --delete-data, only what is deleted after every stack (the
    // access-log bucket), emptied then.
    let kept_ids = stack.kept_resources();
    if options.delete_data && !state.is_failed_first_create() {
        // The templates as rendered for deletion differ only in DeletionPolicy.
        let change = StackChange {
            stack_name: &stack.stack_name,
            template: TemplateSource::Body(stack.body.clone()),
            template_sha256: &stack.sha256,
            parameters: state.parameters.keys().map(|k| (k.clone(), None)).collect(),
            capabilities: &stack.capabilities,
            ask: false,
            // The data goes anyway.
            guard: DataGuard::default(),
            before_execute: None,
            role_arn: Some(role_arn),
        };
        spinner.phase("switching data resources to DeletionPolicy: Delete");
        stack::deploy(cfn, &spinner, Some(state.clone()), &change, &options.poll).await?;
        for (logical_id, (kind, bucket)) in &resources {
            let deleted_last = kept_ids.iter().any(|(id, _)| id == logical_id);
            if kind == "AWS::S3::Bucket" && !bucket.is_empty() && !deleted_last {
                spinner.phase(&format!("emptying bucket {logical_id}"));
                empty_bucket(clients, bucket).await?;
            }
        }
        state = stack::describe(cfn, &stack.stack_name)
            .await?
            .unwrap_or(state);
    }
    // A protected environment's stacks (destroy got --force to get here).
    if protection::termination_protection(cfn, &state.stack_id).await? {
        spinner.phase("turning termination protection off");
        protection::set_termination_protection(cfn, &state.stack_id, false).await?;
    }
    stack::delete(cfn, &spinner, &state, Some(role_arn), &options.poll).await?;
    Ok(Some(
        kept_ids
            .into_iter()
            .map(|(logical_id, resource_type)| Kept {
                stack: stack.stack_name.clone(),
                physical_id: resources
                    .get(&logical_id)
                    .map(|(_, id)| id.clone())
                    .unwrap_or_default(),
                logical_id,
                resource_type,
            })
            .collect(),
    ))
}

/// Logical id -> (type, physical id; empty when the API gives none).
async fn physical_ids(
    clients: &RegionClients,
    stack_name: &str,
) -> Result<BTreeMap<String, (String, String)>, AwsError> {
    let answer = clients
        .cloudformation
        .describe_stack_resources()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("listing the resources of {stack_name}"), &e))?;
    Ok(answer
        .stack_resources()
        .iter()
        .filter_map(|r| {
            Some((
                r.logical_resource_id()?.to_owned(),
                (
                    r.resource_type().unwrap_or_default().to_owned(),
                    r.physical_resource_id().unwrap_or_default().to_owned(),
                ),
            ))
        })
        .collect())
}

/// Deletes every object version and delete marker in `bucket`.
async fn empty_bucket(clients: &RegionClients, bucket: &str) -> Result<(), AwsError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let action = || format!("emptying s3://{bucket}");
    let mut key_marker = None;
    let mut version_marker = None;
    loop {
        let page = clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .send()
            .await
            .map_err(|e| AwsError::new(action(), &e))?;
        let objects: Vec<ObjectIdentifier> = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key?)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        if !objects.is_empty() {
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| AwsError {
                    action: action(),
                    reason: e.to_string(),
                    kind: crate::aws::AwsErrorKind::Service,
                })?;
            clients
                .s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| AwsError::new(action(), &e))?;
        }
        if page.is_truncated() != Some(true) {
            return Ok(());
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

#[cfg(test)]
mod tests;
