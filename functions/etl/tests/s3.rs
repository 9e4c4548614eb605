//! The ETL's S3 path against moto's server: listings that take more than one
//! page, etags in the manifest, the run summary object, and a bucket that
//! does not exist.

mod raw_bucket;

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use raw_bucket::{s3_client, RawBucket};
use sbw_contract::rawkey::{hour_prefix, ObjectKind};
use sbw_contract::StoredEvent;
use sbw_etl::{EtlError, RawStore, RunOptions, RunRequest, RunStatus, Trigger};
use sbw_testkit::postgres::TestDb;
use sbw_testkit::shoppers::Shoppers;
use tokio_postgres::Client;

/// S3 (and moto) return at most 1,000 keys per listing page.
const LISTING_PAGE: usize = 1_000;

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
}

async fn count(client: &Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .expect("counting")
        .get(0)
}

/// One visit per object, `objects` of them, starting in the hour of `hour`.
fn visits(
    shoppers: &mut Shoppers,
    hour: DateTime<Utc>,
    objects: usize,
) -> Vec<(DateTime<Utc>, Vec<StoredEvent>)> {
    (0..objects)
        .map(|i| {
            let start = hour + Duration::seconds((i as i64 * 7) % 3600);
            (hour, shoppers.session(start))
        })
        .collect()
}

#[tokio::test]
async fn every_object_is_loaded_once_with_its_etag_even_when_a_listing_takes_pages() {
    let bucket = RawBucket::create("raw").await;
    let db = TestDb::create().await;
    let mut client = db.etl_client().await;

    let big_hour = at(20, 8, 0);
    let mut shoppers = Shoppers::new(31);
    let mut objects = visits(&mut shoppers, big_hour, LISTING_PAGE + 60);
    objects.extend(visits(&mut shoppers, at(20, 7, 0), 4));
    objects.extend(visits(&mut shoppers, at(20, 9, 0), 4));
    let events: usize = objects.iter().map(|(_, events)| events.len()).sum();
    let etags = bucket.put_events(objects).await;
    assert_eq!(etags.len(), LISTING_PAGE + 68);

    // The big hour's listing really takes two pages.
    let first_page = bucket
        .s3
        .list_objects_v2()
        .bucket(&bucket.name)
        .prefix(hour_prefix(ObjectKind::Events, big_hour))
        .send()
        .await
        .expect("list");
    assert_eq!(first_page.contents().len(), LISTING_PAGE);
    assert_eq!(first_page.is_truncated(), Some(true));

    // A backfill lists hour by hour: the big hour pages.
    let source = bucket.source();
    let options = RunOptions {
        batch_events: 2_000,
        ..RunOptions::default()
    };
    let backfill = RunRequest::backfill(at(20, 7, 0), at(20, 9, 0)).unwrap();
    let first = sbw_etl::run(&source, &mut client, &backfill, &options)
        .await
        .expect("the backfill succeeds");
    assert_eq!(first.status, RunStatus::Succeeded);
    assert_eq!(first.objects_loaded, etags.len() as u64);
    assert_eq!(first.events_loaded, events as u64);
    assert_eq!((first.duplicates, first.rejected_lines), (0, 0));
    assert_eq!(count(&client, "fact_events").await, events as i64);
    assert_eq!(count(&client, "etl_objects").await, etags.len() as i64);
    let recorded: HashMap<String, String> = client
        .query("SELECT object_key, etag FROM etl_objects", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        recorded, etags,
        "etl_objects holds every key with S3's etag"
    );
    assert_eq!(bucket.last_run().await, first, "_etl/last-run.json");

    // The first scheduled run lists the whole events/ prefix (pages again)
    // and finds every object in the manifest.
    let request = RunRequest::Incremental(Trigger::Schedule);
    let second = sbw_etl::run(&source, &mut client, &request, &options)
        .await
        .expect("the second run succeeds");
    assert_eq!(second.status, RunStatus::Succeeded);
    assert_eq!((second.objects_loaded, second.events_loaded), (0, 0));
    assert_eq!(count(&client, "fact_events").await, events as i64);
    assert_eq!(count(&client, "etl_objects").await, etags.len() as i64);
    assert_eq!(bucket.last_run().await, second, "_etl/last-run.json");
    let listed: i32 = client
        .query_one(
            "SELECT objects_listed FROM etl_runs WHERE run_id = $1",
            &[&second.run_id.unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        listed as usize,
        etags.len(),
        "the second run listed every key"
    );
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_fails_the_run_naming_the_bucket_and_prefix() {
    let bucket = sbw_testkit::unique_name("missing");
    let source = RawStore::S3 {
        client: s3_client().await,
        bucket: bucket.clone(),
    };
    let db = TestDb::create().await;
    let mut client = db.etl_client().await;

    let hour = at(20, 8, 0);
    let request = RunRequest::backfill(hour, hour).unwrap();
    let error = sbw_etl::run(&source, &mut client, &request, &RunOptions::default())
        .await
        .expect_err("listing a missing bucket fails the run");
    let EtlError::RunFailed {
        run_id,
        message,
        summary,
    } = error
    else {
        panic!("expected RunFailed, got {error:?}");
    };
    let listed = format!("s3://{bucket}/{}", hour_prefix(ObjectKind::Events, hour));
    assert!(message.contains(&listed), "{message}");
    assert!(message.contains("NoSuchBucket"), "{message}");
    assert_eq!(summary.status, RunStatus::Failed);
    assert_eq!(summary.run_id, Some(run_id));
    assert_eq!(summary.error.as_deref(), Some(message.as_str()));

    let row = client
        .query_one(
            "SELECT status, error FROM etl_runs WHERE run_id = $1",
            &[&run_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "failed");
    assert_eq!(row.get::<_, Option<&str>>(1), Some(message.as_str()));
    assert_eq!(count(&client, "etl_objects").await, 0);
}
