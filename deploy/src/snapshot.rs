//! `sbwctl snapshot create | list | restore`: the EBS snapshots of the
//! warehouse data volume. DLM takes one a day (the warehouse stack's policy
//! targets the volume's `sbw:backup` tag and copies its tags); `create` tags
//! its snapshot the same way, so `list` shows both. `restore` goes through
//! the stack: the warehouse's `DataSnapshotId` parameter makes CloudFormation
//! replace the volume (snapshotting the old one) and the instance that mounts it,
//! then the stacks that take the instance's outputs as parameters are updated.
//!
//! Over 400 lines on purpose: three commands on one volume, sharing its
//! lookup (`Warehouse`, `describe`) and the view of a snapshot (`Snapshot`,
//! `TakenBy`).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use chrono::{DateTime, SecondsFormat, Utc};
use sbw_contract::rawkey::hour_floor;
use sbw_infra::config::Deployment;
use sbw_infra::render::{Manifest, ParameterSource, DATA_SNAPSHOT_PARAMETER};
use serde::Serialize;

use crate::aws::{AwsError, FailedCall, RegionClients};
use crate::bootstrap::{deployer_role, NotBootstrapped};
use crate::deployed::{DeployedError, DeployedStack, Through};
use crate::destroy::BACKUP_TAG;
use crate::progress::Progress;
use crate::stack::{Outcome, PollTimes, StackError};
use crate::Aws;

const WAREHOUSE_STACK: &str = "warehouse";
const VOLUME_OUTPUT: &str = "DataVolumeId";
const INSTANCE_OUTPUT: &str = "InstanceId";
/// Marks the snapshots `sbwctl snapshot create` takes.
const MANUAL_TAG: (&str, &str) = ("sbw:snapshot", "manual");
/// DLM tags each snapshot it takes with its policy.
const DLM_POLICY_TAG: &str = "aws:dlm:lifecycle-policy-id";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Deployed(#[from] DeployedError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    NotBootstrapped(#[from] NotBootstrapped),
    #[error("{0:?} is not a snapshot id (snap- and hex digits, as `sbwctl snapshot list` shows)")]
    BadId(String),
    #[error(
        "there is no snapshot {id} in {region}: `sbwctl snapshot list` shows this warehouse's"
    )]
    Unknown { id: String, region: String },
    #[error("{id} is not a snapshot of the {prefix} warehouse (its {BACKUP_TAG} tag is {tag:?}): `sbwctl snapshot list` shows this warehouse's")]
    NotOurs {
        id: String,
        prefix: String,
        tag: Option<String>,
    },
    #[error("{id} is {state} ({progress}): restore it once it is completed")]
    NotReady {
        id: String,
        state: String,
        progress: String,
    },
    #[error("the data volume {volume} that the warehouse stack names does not exist: run `sbwctl deploy`")]
    VolumeMissing { volume: String },
    #[error("the warehouse stack {stack} predates restores (it has no {DATA_SNAPSHOT_PARAMETER} parameter): run `sbwctl deploy` once, then restore")]
    StackPredatesRestore { stack: String },
    #[error("the warehouse already runs on a volume restored from {id}; to go back to it again, restore another snapshot first or take one now with `sbwctl snapshot create`")]
    AlreadyRestored { id: String },
}

impl FailedCall for SnapshotError {
    fn failed_call(&self) -> Option<&AwsError> {
        match self {
            SnapshotError::Aws(error) | SnapshotError::Stack(StackError::Aws(error)) => Some(error),
            SnapshotError::Deployed(error) => error.failed_call(),
            _ => None,
        }
    }
}

/// Who took a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TakenBy {
    /// The daily DLM policy.
    Dlm,
    /// `sbwctl snapshot create`.
    Sbwctl,
    /// Anything else with the backup tag (CloudFormation's snapshot of a replaced volume).
    Other,
}

impl TakenBy {
    pub fn as_str(self) -> &'static str {
        match self {
            TakenBy::Dlm => "dlm",
            TakenBy::Sbwctl => "sbwctl",
            TakenBy::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub id: String,
    pub volume_id: String,
    pub started: DateTime<Utc>,
    pub state: String,
    pub progress: String,
    pub size_gb: i32,
    pub taken_by: TakenBy,
    pub description: String,
}

impl Snapshot {
    fn from_description(s: &aws_sdk_ec2::types::Snapshot) -> Snapshot {
        let tag = |key: &str| {
            s.tags()
                .iter()
                .find(|t| t.key() == Some(key))
                .and_then(Tag::value)
        };
        let taken_by = if tag(DLM_POLICY_TAG).is_some() {
            TakenBy::Dlm
        } else if tag(MANUAL_TAG.0) == Some(MANUAL_TAG.1) {
            TakenBy::Sbwctl
        } else {
            TakenBy::Other
        };
        Snapshot {
            id: s.snapshot_id().unwrap_or_default().to_owned(),
            volume_id: s.volume_id().unwrap_or_default().to_owned(),
            started: s
                .start_time()
                .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
                .unwrap_or_default(),
            state: s.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            progress: s.progress().unwrap_or_default().to_owned(),
            size_gb: s.volume_size().unwrap_or_default(),
            taken_by,
            description: s.description().unwrap_or_default().to_owned(),
        }
    }
}

/// The warehouse stack and the clients of its region.
struct Warehouse<'a> {
    stack: DeployedStack,
    clients: &'a RegionClients,
}

impl<'a> Warehouse<'a> {
    async fn read(aws: &'a Aws, manifest: &Manifest) -> Result<Warehouse<'a>, SnapshotError> {
        let stack = DeployedStack::read(aws, manifest, WAREHOUSE_STACK).await?;
        let clients = aws.region(&stack.region);
        Ok(Warehouse { stack, clients })
    }
}

/// Snapshots the data volume now, tagged as DLM tags its own (the volume's
/// tags, the backup tag among them) and marked as taken by sbwctl.
pub async fn create(
    aws: &Aws,
    deployment: &Deployment,
    manifest: &Manifest,
) -> Result<Snapshot, SnapshotError> {
    let warehouse = Warehouse::read(aws, manifest).await?;
    let volume = warehouse.stack.output(VOLUME_OUTPUT)?.to_owned();
    let ec2 = &warehouse.clients.ec2;
    let described = ec2
        .describe_volumes()
        .volume_ids(&volume)
        .send()
        .await
        .map_err(|error| {
            match error
                .as_service_error()
                .and_then(|e| aws_sdk_ec2::error::ProvideErrorMetadata::code(e))
            {
                Some("InvalidVolume.NotFound") => SnapshotError::VolumeMissing {
                    volume: volume.clone(),
                },
                _ => AwsError::new(format!("reading the volume {volume}"), &error).into(),
            }
        })?;
    let mut tags: Vec<Tag> = described
        .volumes()
        .first()
        .map(|v| v.tags().to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| {
            let key = t.key().unwrap_or_default();
            !key.starts_with("aws:") && key != BACKUP_TAG
        })
        .collect();
    // The backup tag whatever the volume carries: `list` finds snapshots by it.
    tags.push(
        Tag::builder()
            .key(BACKUP_TAG)
            .value(deployment.prefix())
            .build(),
    );
    tags.push(Tag::builder().key(MANUAL_TAG.0).value(MANUAL_TAG.1).build());
    let created = ec2
        .create_snapshot()
        .volume_id(&volume)
        .description(format!(
            "{} warehouse data, taken by sbwctl snapshot create",
            deployment.prefix()
        ))
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Snapshot)
                .set_tags(Some(tags))
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::new(format!("snapshotting the volume {volume}"), &e))?;
    let id = created.snapshot_id().unwrap_or_default();
    describe(warehouse.clients, &warehouse.stack.region, id)
        .await
        .map(|(snapshot, _)| snapshot)
}

/// Every snapshot of this warehouse's data volumes (DLM's, sbwctl's, and
/// those CloudFormation took of replaced volumes), newest first.
pub async fn list(
    aws: &Aws,
    deployment: &Deployment,
    manifest: &Manifest,
) -> Result<Vec<Snapshot>, SnapshotError> {
    let clients = aws.region(&manifest.region);
    let mut snapshots: Vec<Snapshot> = backup_snapshots(
        clients,
        &deployment.prefix(),
        "listing the warehouse snapshots",
    )
    .await?
    .iter()
    .map(Snapshot::from_description)
    .collect();
    snapshots.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| a.id.cmp(&b.id)));
    Ok(snapshots)
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    pub outcome: Outcome,
    pub snapshot: Snapshot,
    /// The new data volume (the old one when declined).
    pub volume_id: Option<String>,
    /// The backfill that loads what arrived after the snapshot: receive
    /// hours `backfill_from..=backfill_to`.
    pub backfill_from: DateTime<Utc>,
    pub backfill_to: DateTime<Utc>,
}

impl Restored {
    /// The command that brings the restored warehouse up to date.
    pub fn backfill_command(&self) -> String {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        format!(
            "sbwctl etl backfill --from {} --to {} --remote",
            time(self.backfill_from),
            time(self.backfill_to)
        )
    }
}

/// Brings the warehouse back from `snapshot_id` through its stack: a change
/// set with the same template and the snapshot as `DataSnapshotId`, shown
/// and asked about through `progress` like every deploy.
pub async fn restore(
    aws: &Aws,
    deployment: &Deployment,
    manifest: &Manifest,
    snapshot_id: &str,
    progress: &Progress,
    poll: &PollTimes,
) -> Result<Restored, SnapshotError> {
    let valid = snapshot_id.strip_prefix("snap-").is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit())
    });
    if !valid {
        return Err(SnapshotError::BadId(snapshot_id.to_owned()));
    }
    let warehouse = Warehouse::read(aws, manifest).await?;
    let role_arn = deployer_role::<SnapshotError>(aws, deployment).await?;
    let snapshot = describe(warehouse.clients, &warehouse.stack.region, snapshot_id).await?;
    let prefix = deployment.prefix();
    let backup_tag = snapshot.1.clone();
    if backup_tag.as_deref() != Some(prefix.as_str()) {
        return Err(SnapshotError::NotOurs {
            id: snapshot_id.to_owned(),
            prefix,
            tag: backup_tag,
        });
    }
    let snapshot = snapshot.0;
    if snapshot.state != "completed" {
        return Err(SnapshotError::NotReady {
            id: snapshot.id,
            state: snapshot.state,
            progress: snapshot.progress,
        });
    }
    let stack_name = warehouse.stack.stack_name.clone();
    match warehouse.stack.parameters.get(DATA_SNAPSHOT_PARAMETER) {
        None => return Err(SnapshotError::StackPredatesRestore { stack: stack_name }),
        Some(current) if current == snapshot_id => {
            return Err(SnapshotError::AlreadyRestored {
                id: snapshot_id.to_owned(),
            })
        }
        Some(_) => {}
    }
    let started = snapshot.started.to_rfc3339_opts(SecondsFormat::Secs, true);
    progress.line(format!(
        "restoring the {prefix} warehouse from {snapshot_id} (taken {started}): CloudFormation replaces the data volume {} and the instance {} that mounts it; the old volume is snapshotted before it is deleted, and what was loaded after {started} is loaded again by a backfill",
        warehouse.stack.output(VOLUME_OUTPUT).unwrap_or("?"),
        warehouse.stack.output(INSTANCE_OUTPUT).unwrap_or("?"),
    ));
    let (outcome, outputs) = warehouse
        .stack
        .change_parameters(
            warehouse.clients,
            Through {
                manifest,
                role_arn: &role_arn,
                ask: true,
                allow_replace: true,
            },
            &[(DATA_SNAPSHOT_PARAMETER.to_owned(), snapshot_id.to_owned())],
            progress,
            poll,
        )
        .await?;
    if outcome == Outcome::Updated {
        pass_on_new_outputs(aws, manifest, &role_arn, &outputs, progress, poll).await?;
    }
    let reprocess = chrono::Duration::hours(1 + deployment.etl_reprocess_window_hours as i64);
    Ok(Restored {
        outcome,
        volume_id: outputs.get(VOLUME_OUTPUT).cloned(),
        backfill_from: hour_floor(snapshot.started) - reprocess,
        backfill_to: hour_floor(Utc::now()),
        snapshot,
    })
}

/// Gives the stacks that take a warehouse output as a parameter (the ETL's
/// host, the alarms' instance) the values of the replaced instance:
/// outputs are passed, not exported, because CloudFormation refuses to change
/// an export another stack imports.
async fn pass_on_new_outputs(
    aws: &Aws,
    manifest: &Manifest,
    role_arn: &str,
    warehouse_outputs: &BTreeMap<String, String>,
    progress: &Progress,
    poll: &PollTimes,
) -> Result<(), SnapshotError> {
    for rendered in &manifest.stacks {
        let changes: Vec<(String, String)> = rendered
            .parameters
            .iter()
            .filter_map(|(name, source)| match source {
                ParameterSource::StackOutput { stack, output } if *stack == WAREHOUSE_STACK => {
                    Some((name.clone(), warehouse_outputs.get(*output)?.clone()))
                }
                _ => None,
            })
            .collect();
        if changes.is_empty() {
            continue;
        }
        let deployed = DeployedStack::read(aws, manifest, rendered.name).await?;
        if changes
            .iter()
            .all(|(k, v)| deployed.parameters.get(k) == Some(v))
        {
            continue;
        }
        let clients = aws.region(&deployed.region);
        deployed
            .change_parameters(
                clients,
                Through {
                    manifest,
                    role_arn,
                    ask: false,
                    allow_replace: true,
                },
                &changes,
                progress,
                poll,
            )
            .await?;
    }
    Ok(())
}

/// The snapshot `id` and its backup tag.
async fn describe(
    clients: &RegionClients,
    region: &str,
    id: &str,
) -> Result<(Snapshot, Option<String>), SnapshotError> {
    let unknown = || SnapshotError::Unknown {
        id: id.to_owned(),
        region: region.to_owned(),
    };
    let answer = clients
        .ec2
        .describe_snapshots()
        .snapshot_ids(id)
        .send()
        .await
        .map_err(|error| {
            match error
                .as_service_error()
                .and_then(aws_sdk_ec2::error::ProvideErrorMetadata::code)
            {
                Some("InvalidSnapshot.NotFound") => unknown(),
                _ => AwsError::new(format!("reading the snapshot {id}"), &error).into(),
            }
        })?;
    let found = answer.snapshots().first().ok_or_else(unknown)?;
    let backup_tag = found
        .tags()
        .iter()
        .find(|t| t.key() == Some(BACKUP_TAG))
        .and_then(Tag::value)
        .map(str::to_owned);
    Ok((Snapshot::from_description(found), backup_tag))
}

/// This account's snapshots tagged `sbw:backup = <prefix>`, every page;
/// `action` names what they are read for in an error.
pub(crate) async fn backup_snapshots(
    clients: &RegionClients,
    prefix: &str,
    action: &str,
) -> Result<Vec<aws_sdk_ec2::types::Snapshot>, AwsError> {
    let mut pages = clients
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            Filter::builder()
                .name(format!("tag:{BACKUP_TAG}"))
                .values(prefix)
                .build(),
        )
        .into_paginator()
        .send();
    let mut snapshots = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::new(action, &e))?;
        snapshots.extend(page.snapshots().iter().cloned());
    }
    Ok(snapshots)
}
