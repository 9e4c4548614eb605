//! What the dashboard reads beyond the facts: rollups in the shop's local
//! days (and rebuilt when its time zone changes), the category scopes of
//! visits, and the operational snapshots.

mod common;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::{event, Warehouse};
use rust_decimal::Decimal;
use sbw_contract::{Ecom, EventType, StoredEvent};
use sbw_etl::settings::SettingsError;
use sbw_etl::{EtlError, RunOptions, RunRequest, ShopSettings, Trigger};

fn shop(timezone: &str) -> RunOptions {
    RunOptions {
        shop: ShopSettings {
            timezone: timezone.to_owned(),
            freshness_slo_minutes: 45,
        },
        ..RunOptions::default()
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn with_product(mut e: StoredEvent, product: &str, category: &str, price: i64) -> StoredEvent {
    e.ecom = Some(Ecom {
        product_id: Some(product.into()),
        category: Some(category.into()),
        currency: Some("VND".into()),
        price: Some(Decimal::from(price)),
        qty: Some(1),
    });
    e
}

/// Sessions per local day (all devices, countries and categories).
async fn sessions_per_day(w: &Warehouse) -> Vec<(NaiveDate, i32)> {
    w.client
        .query(
            "SELECT day, sessions FROM rollup_traffic
             WHERE grain = 'day' AND device_type = '*' AND country = '*' AND category = '*'
             ORDER BY day",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn run(w: &mut Warehouse, timezone: &str) -> Result<sbw_etl::RunSummary, EtlError> {
    let source = sbw_etl::RawStore::Directory(w.raw().to_owned());
    sbw_etl::run(
        &source,
        &mut w.client,
        &RunRequest::Incremental(Trigger::Manual),
        &shop(timezone),
    )
    .await
}

/// Two visits: 20:00 and 23:30 UTC on 20 November, which are 03:00 and
/// 06:30 on 21 November in Ho Chi Minh City.
fn two_evening_visits(w: &Warehouse) {
    let evening = |session: u128, hour: u32, minute: u32| {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, hour, minute, 0).unwrap();
        event(session, EventType::PageView, at)
    };
    let visits = [evening(1, 20, 0), evening(2, 23, 30)];
    w.write(visits[0].received_at, &visits);
}

#[tokio::test]
async fn rollup_days_are_the_shops_local_days() {
    let mut w = Warehouse::new().await;
    two_evening_visits(&w);
    run(&mut w, "Asia/Ho_Chi_Minh").await.unwrap();
    assert_eq!(sessions_per_day(&w).await, [(day("2026-11-21"), 2)]);
    let settings = w
        .client
        .query_one(
            "SELECT timezone, freshness_slo_minutes FROM warehouse_settings",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(settings.get::<_, &str>(0), "Asia/Ho_Chi_Minh");
    assert_eq!(settings.get::<_, i32>(1), 45);
    let month: i32 = w
        .client
        .query_one(
            "SELECT sessions FROM rollup_traffic WHERE grain = 'month' AND day = '2026-11-01'
             AND device_type = '*' AND country = '*' AND category = '*'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(month, 2);
}

#[tokio::test]
async fn a_new_time_zone_rebuilds_every_rollup_and_rebuilding_again_changes_nothing() {
    let mut w = Warehouse::new().await;
    two_evening_visits(&w);
    run(&mut w, "UTC").await.unwrap();
    assert_eq!(sessions_per_day(&w).await, [(day("2026-11-20"), 2)]);

    // New York is UTC-5 in November: both visits fall on its 20 November,
    // the second at 18:30; Ho Chi Minh City's day is the 21st.
    run(&mut w, "America/New_York").await.unwrap();
    assert_eq!(sessions_per_day(&w).await, [(day("2026-11-20"), 2)]);
    run(&mut w, "Asia/Ho_Chi_Minh").await.unwrap();
    assert_eq!(sessions_per_day(&w).await, [(day("2026-11-21"), 2)]);
    let rows_before = w.count("rollup_traffic").await;

    let shop = shop("Asia/Ho_Chi_Minh").shop;
    let rebuilt = sbw_etl::rebuild_rollups(&mut w.client, &shop)
        .await
        .unwrap();
    assert_eq!(
        rebuilt.previous_timezone.as_deref(),
        Some("Asia/Ho_Chi_Minh")
    );
    assert_eq!(rebuilt.days, 1);
    assert_eq!(sessions_per_day(&w).await, [(day("2026-11-21"), 2)]);
    assert_eq!(w.count("rollup_traffic").await, rows_before);
    assert_eq!(w.count("etl_dirty_days").await, 0);
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_before_anything_is_loaded() {
    let mut w = Warehouse::new().await;
    two_evening_visits(&w);
    let error = run(&mut w, "Asia/Saigon City").await.unwrap_err();
    assert!(
        matches!(&error, EtlError::Settings(SettingsError::UnknownTimezone(zone)) if zone == "Asia/Saigon City"),
        "{error}"
    );
    assert!(error.to_string().contains("IANA name"), "{error}");
    assert_eq!(w.count("fact_events").await, 0);
    assert_eq!(w.count("etl_runs").await, 0);
}

#[tokio::test]
async fn a_visit_counts_in_every_category_it_touched() {
    let mut w = Warehouse::new().await;
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap();
    let at = |minute| start + Duration::minutes(minute);
    // Visit 1 looks at a laptop and buys a mouse; visit 2 only looks at the laptop.
    let visit_one = vec![
        event(1, EventType::PageView, at(0)),
        with_product(
            event(1, EventType::View, at(1)),
            "lap-1",
            "laptops",
            20_000_000,
        ),
        with_product(event(1, EventType::View, at(2)), "mouse-1", "mice", 500_000),
        with_product(
            event(1, EventType::AddToCart, at(3)),
            "mouse-1",
            "mice",
            500_000,
        ),
        event(1, EventType::Checkout, at(4)),
        with_product(
            event(1, EventType::Purchase, at(5)),
            "mouse-1",
            "mice",
            500_000,
        ),
    ];
    let visit_two = vec![
        event(2, EventType::PageView, at(10)),
        with_product(
            event(2, EventType::View, at(11)),
            "lap-1",
            "laptops",
            20_000_000,
        ),
    ];
    w.write(start, &[visit_one, visit_two].concat());
    run(&mut w, "UTC").await.unwrap();

    let funnel = |category: &'static str| {
        let client = &w.client;
        async move {
            let row = client
                .query_one(
                    "SELECT sessions, product_view, add_to_cart, checkout, purchase FROM rollup_funnel
                     WHERE grain = 'day' AND device_type = '*' AND country = '*' AND category = $1",
                    &[&category],
                )
                .await
                .unwrap();
            (0..5).map(|i| row.get::<_, i32>(i)).collect::<Vec<_>>()
        }
    };
    assert_eq!(funnel("*").await, [2, 2, 1, 1, 1]);
    assert_eq!(funnel("laptops").await, [2, 2, 0, 0, 0]);
    assert_eq!(funnel("mice").await, [1, 1, 1, 1, 1]);

    let revenue = |category: &'static str| {
        let client = &w.client;
        async move {
            client
                .query_one(
                    "SELECT sum(revenue), sum(conversions)::int FROM rollup_acquisition
                     WHERE grain = 'day' AND device_type = '*' AND country = '*' AND category = $1",
                    &[&category],
                )
                .await
                .map(|r| (r.get::<_, Decimal>(0), r.get::<_, i32>(1)))
                .unwrap()
        }
    };
    assert_eq!(revenue("*").await, (Decimal::from(500_000), 1));
    assert_eq!(revenue("mice").await, (Decimal::from(500_000), 1));
    assert_eq!(revenue("laptops").await, (Decimal::ZERO, 0));

    let entries: Vec<(String, i64, i32)> = w
        .client
        .query(
            "SELECT page_path, page_views, entries FROM rollup_pages
             WHERE grain = 'day' AND device_type = '*' AND country = '*' AND category = 'laptops'
             ORDER BY page_path",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(entries, [("/".to_owned(), 2, 2)]);
}

fn snapshot(taken_at: DateTime<Utc>, requests: u64, dead_letters: u64) -> String {
    serde_json::json!({
        "source": "local",
        "taken_at": taken_at.to_rfc3339(),
        "window_minutes": 60,
        "ingest": {"requests": requests, "client_errors": 3, "server_errors": 1},
        "dead_letters": {"messages": dead_letters, "oldest_age_seconds": 90},
    })
    .to_string()
}

#[tokio::test]
async fn each_operational_snapshot_is_recorded_once() {
    let mut w = Warehouse::new().await;
    let ops = w.raw().join("_ops");
    std::fs::create_dir_all(&ops).unwrap();
    let taken = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap();

    run(&mut w, "UTC").await.unwrap();
    assert_eq!(w.count("ops_snapshots").await, 0, "no snapshot yet");

    std::fs::write(ops.join("snapshot.json"), snapshot(taken, 120, 2)).unwrap();
    run(&mut w, "UTC").await.unwrap();
    run(&mut w, "UTC").await.unwrap();
    let row = w
        .client
        .query_one(
            "SELECT taken_at, source, ingest_requests, ingest_client_errors, ingest_server_errors,
                    dead_letters, dead_letter_oldest_seconds FROM ops_snapshots",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, DateTime<Utc>>(0), taken);
    assert_eq!(row.get::<_, &str>(1), "local");
    assert_eq!(
        (2..6).map(|i| row.get::<_, i64>(i)).collect::<Vec<_>>(),
        [120, 3, 1, 2]
    );
    assert_eq!(row.get::<_, Option<i64>>(6), Some(90));

    // A snapshot that is not one is left out; the run still loads.
    std::fs::write(ops.join("snapshot.json"), b"{\"source\": \"elsewhere\"}").unwrap();
    let summary = run(&mut w, "UTC").await.unwrap();
    assert_eq!(summary.status, sbw_etl::RunStatus::Succeeded);
    assert_eq!(w.count("ops_snapshots").await, 1);

    std::fs::write(
        ops.join("snapshot.json"),
        snapshot(taken + Duration::minutes(30), 80, 0),
    )
    .unwrap();
    run(&mut w, "UTC").await.unwrap();
    assert_eq!(w.count("ops_snapshots").await, 2);
}

#[tokio::test]
async fn only_verified_users_count_as_signed_in() {
    let mut w = Warehouse::new().await;
    let at = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
    let mut verified = event(1, EventType::PageView, at);
    verified.user_id_hash = Some("verified-sub-hash".into());
    let mut claimed = event(2, EventType::PageView, at);
    claimed.user_id_hash = None;
    claimed.claimed_user_id_hash = Some("claimed-hash".into());
    w.write(at, &[verified, claimed]);
    w.run().await;
    let traffic = w
        .client
        .query_one(
            "SELECT sessions, signed_in FROM rollup_traffic WHERE grain = 'day'
             AND device_type = '*' AND country = '*' AND category = '*'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((traffic.get::<_, i32>(0), traffic.get::<_, i32>(1)), (2, 1));
    let stored = w
        .client
        .query_one(
            "SELECT user_id_hash, claimed_user_id_hash FROM fact_events WHERE session_id = $1",
            &[&uuid::Uuid::from_u128(2)],
        )
        .await
        .unwrap();
    assert_eq!(stored.get::<_, Option<&str>>(0), None);
    assert_eq!(stored.get::<_, Option<&str>>(1), Some("claimed-hash"));
}
