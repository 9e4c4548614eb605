//! What a deploy does around a replacement of the warehouse instance
//! (`deploy --update-ami`, or any change that replaces it): CloudFormation
//! creates the new instance and its volume attachment before it deletes the
//! old ones, and an EBS volume is attached to one instance at a time, so the
//! new attachment would fail while the old instance still holds the data
//! volume. Before the change set runs, the old instance is stopped (its
//! PostgreSQL shuts down cleanly) and the volume detached; the new instance's
//! bootstrap finds the filesystem on it and keeps it.

use std::time::Duration;

use aws_sdk_ec2::types::{InstanceStateName, VolumeState};
use aws_sdk_ec2::Client;

use crate::aws::AwsError;
use crate::stack::{PollTimes, ResourceChange};

/// The warehouse stack and its logical ids and outputs.
pub const STACK: &str = "warehouse";
pub const INSTANCE: &str = "Instance";
pub const DATA_VOLUME: &str = "DataVolume";
pub const INSTANCE_OUTPUT: &str = "InstanceId";
pub const VOLUME_OUTPUT: &str = "DataVolumeId";

/// How long a stop or a detachment may take before the deploy gives up.
const WAIT_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Whether the change set replaces the instance and keeps the data volume:
/// then the volume must be free before it runs. (A restore replaces both: the
/// new volume is free, the old one stays with the old instance until both go.)
pub fn must_detach_first(changes: &[ResourceChange]) -> bool {
    let replaced = |id: &str| {
        changes
            .iter()
            .any(|c| c.logical_id == id && c.loses_the_resource())
    };
    replaced(INSTANCE) && !replaced(DATA_VOLUME)
}

/// Stops `instance` and waits until it is stopped, then detaches `volume`
/// from it and waits until the volume is available.
pub async fn detach_data_volume(
    ec2: &Client,
    instance: &str,
    volume: &str,
    poll: &PollTimes,
) -> Result<(), AwsError> {
    ec2.stop_instances()
        .instance_ids(instance)
        .send()
        .await
        .map_err(|e| AwsError::new(format!("stopping the warehouse instance {instance}"), &e))?;
    wait(
        poll,
        &format!("the warehouse instance {instance} to stop"),
        || async {
            let answer = ec2
                .describe_instances()
                .instance_ids(instance)
                .send()
                .await
                .map_err(|e| AwsError::new(format!("reading the instance {instance}"), &e))?;
            let state = answer
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find_map(|i| i.state().and_then(|s| s.name()).cloned());
            Ok(matches!(
                state,
                Some(InstanceStateName::Stopped | InstanceStateName::Terminated)
            ))
        },
    )
    .await?;
    let attached = |answer: &aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput| {
        answer
            .volumes()
            .iter()
            .flat_map(|v| v.attachments())
            .any(|a| a.instance_id() == Some(instance))
    };
    let describe = || async {
        ec2.describe_volumes()
            .volume_ids(volume)
            .send()
            .await
            .map_err(|e| AwsError::new(format!("reading the data volume {volume}"), &e))
    };
    if attached(&describe().await?) {
        ec2.detach_volume()
            .volume_id(volume)
            .instance_id(instance)
            .send()
            .await
            .map_err(|e| {
                AwsError::new(
                    format!("detaching the data volume {volume} from {instance}"),
                    &e,
                )
            })?;
    }
    wait(
        poll,
        &format!("the data volume {volume} to be detached"),
        || async {
            let answer = describe().await?;
            Ok(answer
                .volumes()
                .iter()
                .all(|v| v.state() == Some(&VolumeState::Available)))
        },
    )
    .await
}

async fn wait<F, Fut>(poll: &PollTimes, what: &str, mut done: F) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, AwsError>>,
{
    let started = std::time::Instant::now();
    for attempt in 0.. {
        if done().await? {
            return Ok(());
        }
        if started.elapsed() > WAIT_LIMIT {
            break;
        }
        tokio::time::sleep(poll.nth(attempt)).await;
    }
    Err(AwsError {
        action: format!("waiting for {what}"),
        reason: format!("not done after {} minutes", WAIT_LIMIT.as_secs() / 60),
        kind: crate::aws::AwsErrorKind::Service,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, replacement: &str) -> ResourceChange {
        ResourceChange {
            action: "Modify".to_owned(),
            logical_id: id.to_owned(),
            resource_type: String::new(),
            replacement: Some(replacement.to_owned()),
        }
    }

    #[test]
    fn the_volume_is_detached_first_only_when_the_instance_goes_and_the_volume_stays() {
        // --update-ami: a new launch template version replaces the instance.
        let new_ami = [
            change("LaunchTemplate", "False"),
            change(INSTANCE, "True"),
            change("DataVolumeAttachment", "True"),
        ];
        assert!(must_detach_first(&new_ami));
        assert!(must_detach_first(&[change(INSTANCE, "Conditional")]));
        // A restore replaces the volume too: the new one is free.
        let restore = [change(DATA_VOLUME, "True"), change(INSTANCE, "True")];
        assert!(!must_detach_first(&restore));
        // The instance stays.
        assert!(!must_detach_first(&[change(INSTANCE, "False")]));
        assert!(!must_detach_first(&[]));
    }
}
