//! `destroy --delete-data` deletes the warehouse volume's daily snapshots:
//! DLM makes them outside any stack, tagged like the volume. Against moto's EC2.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use sbw_deploy::aws::RegionClients;
use sbw_deploy::destroy::{delete_backup_snapshots, BACKUP_TAG};
use sbw_testkit::{unique_name, Moto};

async fn snapshot_tagged(ec2: &aws_sdk_ec2::Client, volume: &str, backup: &str) -> String {
    ec2.create_snapshot()
        .volume_id(volume)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Snapshot)
                .tags(Tag::builder().key(BACKUP_TAG).value(backup).build())
                .build(),
        )
        .send()
        .await
        .expect("creating a snapshot")
        .snapshot_id()
        .expect("a snapshot id")
        .to_owned()
}

async fn tagged(ec2: &aws_sdk_ec2::Client, backup: &str) -> Vec<String> {
    let answer = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            Filter::builder()
                .name(format!("tag:{BACKUP_TAG}"))
                .values(backup)
                .build(),
        )
        .send()
        .await
        .expect("listing snapshots");
    let mut ids: Vec<String> = answer
        .snapshots()
        .iter()
        .filter_map(|s| s.snapshot_id().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn only_this_deployments_backups_are_deleted() {
    let config = Moto::shared().sdk_config().await;
    let clients = RegionClients::new(&config);
    let ec2 = &clients.ec2;
    let volume = ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(10)
        .send()
        .await
        .expect("creating a volume")
        .volume_id()
        .expect("a volume id")
        .to_owned();
    let mine = unique_name("shop-dev");
    let theirs = unique_name("shop-prod");
    let mut expected = vec![
        snapshot_tagged(ec2, &volume, &mine).await,
        snapshot_tagged(ec2, &volume, &mine).await,
    ];
    expected.sort();
    let other = snapshot_tagged(ec2, &volume, &theirs).await;

    let mut deleted = delete_backup_snapshots(&clients, &mine).await.unwrap();
    deleted.sort();
    assert_eq!(deleted, expected);
    assert!(tagged(ec2, &mine).await.is_empty());
    assert_eq!(tagged(ec2, &theirs).await, [other]);
    assert!(
        delete_backup_snapshots(&clients, &mine)
            .await
            .unwrap()
            .is_empty(),
        "a second destroy finds nothing left"
    );
}
