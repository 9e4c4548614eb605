//! `deploy --update-ami` replaces the warehouse instance; the data volume is
//! detached from the old one (stopped first) before the change set runs, so
//! the new instance can attach it. Against moto's EC2.

use std::time::Duration;

use aws_sdk_ec2::types::{InstanceStateName, VolumeState};
use sbw_deploy::aws::RegionClients;
use sbw_deploy::stack::PollTimes;
use sbw_deploy::warehouse::detach_data_volume;
use sbw_testkit::Moto;

/// An AMI moto knows.
const MOTO_AMI: &str = "ami-1e749f67";

#[tokio::test]
async fn the_old_instance_is_stopped_and_lets_go_of_the_data_volume() {
    let config = Moto::shared().sdk_config().await;
    let ec2 = RegionClients::new(&config).ec2;
    let instance = ec2
        .run_instances()
        .image_id(MOTO_AMI)
        .instance_type(aws_sdk_ec2::types::InstanceType::T4gMicro)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .expect("running an instance");
    let instance = &instance.instances()[0];
    let zone = instance
        .placement()
        .and_then(|p| p.availability_zone())
        .unwrap()
        .to_owned();
    let instance = instance.instance_id().unwrap().to_owned();
    let volume = ec2
        .create_volume()
        .availability_zone(zone)
        .size(15)
        .send()
        .await
        .expect("creating a volume")
        .volume_id()
        .unwrap()
        .to_owned();
    ec2.attach_volume()
        .volume_id(&volume)
        .instance_id(&instance)
        .device("/dev/sdf")
        .send()
        .await
        .expect("attaching the volume");

    detach_data_volume(&ec2, &instance, &volume, &PollTimes(vec![Duration::ZERO]))
        .await
        .expect("detached");

    let volumes = ec2
        .describe_volumes()
        .volume_ids(&volume)
        .send()
        .await
        .unwrap();
    assert_eq!(volumes.volumes()[0].state(), Some(&VolumeState::Available));
    assert!(volumes.volumes()[0].attachments().is_empty());
    let instances = ec2
        .describe_instances()
        .instance_ids(&instance)
        .send()
        .await
        .unwrap();
    let state = instances.reservations()[0].instances()[0]
        .state()
        .and_then(|s| s.name())
        .cloned();
    assert_eq!(state, Some(InstanceStateName::Stopped));

    // Again (a deploy run twice): nothing attached any more, nothing to do.
    detach_data_volume(&ec2, &instance, &volume, &PollTimes(vec![Duration::ZERO]))
        .await
        .expect("still detached");
}
