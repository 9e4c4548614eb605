//! The ETL's S3 side under faults: runs reading the raw bucket through a
//! fault-injecting proxy in front of moto (listings refused, an hour's
//! objects throttled, a read that stalls past the call timeouts, resets
//! and errors now and then), then one run without faults, leave the
//! warehouse as one clean run leaves it.

mod common;
mod raw_bucket;

use chrono::Duration;
use common::{
    assert_loaded_as_one_clean_run, small_batches, traffic, traffic_backfill, traffic_hour,
};
use raw_bucket::RawBucket;
use sbw_contract::rawkey::{hour_prefix, ObjectKind};
use sbw_etl::lambda::AWS_CALLS;
use sbw_etl::{EtlError, RawStore, RunStatus};
use sbw_testkit::fault_proxy::{Fault, FaultProxy, Match, Method, Rule};
use sbw_testkit::moto::sdk_config_timing_out;
use sbw_testkit::postgres::TestDb;
use sbw_testkit::Moto;
use tokio_postgres::Client;

/// Visits of the traffic: enough for two hours of objects, few enough
/// that moto serves a run in seconds.
const VISITS: i64 = 40;

/// The traffic in a bucket of its own, 20 events an object, read through a
/// fault proxy.
struct Faulty {
    bucket: RawBucket,
    /// The key that sorts last (in the second hour).
    last_key: String,
    proxy: FaultProxy,
    source: RawStore,
    events: i64,
}

impl Faulty {
    async fn start() -> Faulty {
        let bucket = RawBucket::create("raw").await;
        let events = traffic(VISITS);
        let objects = events
            .chunks(20)
            .map(|chunk| (chunk[0].received_at, chunk.to_vec()))
            .collect();
        let keys = bucket.put_events(objects).await;
        let proxy = FaultProxy::start(Moto::shared().endpoint())
            .await
            .expect("a fault proxy");
        let config = sdk_config_timing_out(proxy.url(), AWS_CALLS.to_timeout_config()).await;
        Faulty {
            source: RawStore::S3 {
                client: sbw_aws::s3_client(&config),
                bucket: bucket.name.clone(),
            },
            last_key: keys.into_keys().max().expect("objects were put"),
            events: events.len() as i64,
            bucket,
            proxy,
        }
    }

    /// Reads (GETs) of objects whose key starts with `prefix`.
    fn reads(&self, prefix: &str) -> Match {
        Match::service("s3")
            .method(Method::GET)
            .path_prefix(&format!("/{}/{prefix}", self.bucket.name))
    }

    fn listings(&self) -> Match {
        Match::service("s3")
            .method(Method::GET)
            .path_prefix(&format!("/{}", self.bucket.name))
            .query_contains("list-type=2")
    }

    /// A backfill of the traffic under `rules`; its status and the events
    /// the warehouse then holds.
    async fn run_under(
        &self,
        client: &mut Client,
        what: &str,
        rules: Vec<Rule>,
    ) -> (RunStatus, i64) {
        self.proxy.clear();
        for rule in rules {
            self.proxy.inject(rule);
        }
        let injected = self.proxy.counts().faults();
        let outcome =
            sbw_etl::run(&self.source, client, &traffic_backfill(), &small_batches()).await;
        assert!(
            self.proxy.counts().faults() > injected,
            "{what}: no fault was injected"
        );
        let status = match outcome {
            Ok(summary) => summary.status,
            Err(EtlError::RunFailed { summary, .. }) => summary.status,
            Err(error) => panic!("{what}: the run failed without recording it: {error}"),
        };
        let loaded = client
            .query_one("SELECT count(*) FROM fact_events", &[])
            .await
            .expect("counting")
            .get(0);
        (status, loaded)
    }

    /// A run without faults completes the load, and the warehouse is the
    /// one a clean run (into `clean`) makes.
    async fn assert_recovers(&self, client: &mut Client, clean: &TestDb) {
        self.proxy.clear();
        let last = sbw_etl::run(&self.source, client, &traffic_backfill(), &small_batches())
            .await
            .expect("the run without faults succeeds");
        assert_eq!(last.status, RunStatus::Succeeded, "{last:?}");
        assert_loaded_as_one_clean_run(client, &self.bucket.source(), clean).await;
    }
}

#[tokio::test]
async fn runs_failed_by_s3_then_one_clean_run_leave_the_warehouse_as_one_clean_run() {
    let faulty = Faulty::start().await;
    let db = TestDb::create().await;
    let mut client = db.etl_client().await;

    let refused = Rule::new(faulty.listings(), Fault::internal_error());
    let (status, loaded) = faulty
        .run_under(&mut client, "listings refused", vec![refused])
        .await;
    assert_eq!((status, loaded), (RunStatus::Failed, 0));

    let second_hour = hour_prefix(ObjectKind::Events, traffic_hour() + Duration::hours(1));
    let throttled = Rule::new(faulty.reads(&second_hour), Fault::slow_down());
    let (status, loaded) = faulty
        .run_under(&mut client, "the second hour throttled", vec![throttled])
        .await;
    assert_eq!(status, RunStatus::Failed);
    assert!(
        0 < loaded && loaded < faulty.events,
        "the first hour loaded, not the second: {loaded} of {} events",
        faulty.events
    );

    let stalled = Rule::new(faulty.reads(&faulty.last_key), Fault::Stall);
    let (status, _) = faulty
        .run_under(&mut client, "one read stalled", vec![stalled])
        .await;
    assert_eq!(status, RunStatus::Failed);

    faulty
        .assert_recovers(&mut client, &TestDb::create().await)
        .await;
}

#[tokio::test]
async fn a_run_under_intermittent_s3_errors_then_one_clean_run_leave_the_warehouse_as_one_clean_run(
) {
    let faulty = Faulty::start().await;
    let db = TestDb::create().await;
    let mut client = db.etl_client().await;

    // The SDK retries each; a read that fails three times fails the run.
    let now_and_then = vec![
        Rule::new(faulty.reads("events/"), Fault::Reset).every(7),
        Rule::new(faulty.reads("events/"), Fault::internal_error()).every(3),
        Rule::new(faulty.reads("events/"), Fault::slow_down()).every(5),
    ];
    faulty
        .run_under(&mut client, "intermittent errors", now_and_then)
        .await;

    faulty
        .assert_recovers(&mut client, &TestDb::create().await)
        .await;
}
