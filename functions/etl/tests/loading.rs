//! The ETL against the real PostgreSQL: exactly once, duplicates, late data,
//! bad data, sessions, the run lock, migrations and roles.
//!
//! Over 400 lines on purpose: the cases share the warehouse and raw store
//! set-up; each file under tests/ is its own test binary, linked anew on
//! every change.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{event, texts, Warehouse};
use rust_decimal::Decimal;
use sbw_contract::{Ecom, EventType};
use sbw_etl::RunStatus;
use sbw_testkit::ndjson::{gzip, stored_object, write_raw_object};
use sbw_testkit::shoppers::Shoppers;

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
}

#[tokio::test]
async fn loads_every_event_once_and_loading_again_adds_nothing() {
    let mut w = Warehouse::new().await;
    let mut shoppers = Shoppers::new(7);
    let mut events = Vec::new();
    for i in 0..120 {
        events.extend(shoppers.session(at(20, 8, 0) + Duration::seconds(i * 90)));
    }
    events.sort_by_key(|e| e.received_at);
    let keys = sbw_testkit::ndjson::write_stored_events(w.raw(), &events, 25);

    let first = w.run().await;
    assert_eq!(first.status, RunStatus::Succeeded);
    assert_eq!(first.events_loaded, events.len() as u64);
    assert_eq!(first.objects_loaded, keys.len() as u64);
    assert_eq!(w.count("fact_events").await, events.len() as i64);
    assert_eq!(w.count("event_keys").await, events.len() as i64);
    assert_eq!(w.count("etl_objects").await, keys.len() as i64);
    // One session per visit (the shoppers' SDK starts one each), crawlers left out.
    let visits: std::collections::HashSet<_> = events
        .iter()
        .filter(|e| !e.device.bot)
        .map(|e| e.session_id)
        .collect();
    assert!(visits.len() >= 100, "{} human visits of 120", visits.len());
    assert_eq!(w.count("fact_sessions").await, visits.len() as i64);
    assert_eq!(w.count("etl_dirty_sessions").await, 0);
    assert_eq!(w.count("etl_dirty_days").await, 0);

    // Listing the same hours again finds every object in the manifest.
    let again = w.backfill(at(20, 0, 0), at(21, 0, 0)).await;
    assert_eq!(again.status, RunStatus::Succeeded);
    assert_eq!((again.objects_loaded, again.events_loaded), (0, 0));
    assert_eq!(w.count("fact_events").await, events.len() as i64);

    let summary_file = w.raw().join(sbw_etl::LAST_RUN_KEY);
    let written: sbw_etl::RunSummary =
        serde_json::from_slice(&std::fs::read(summary_file).unwrap()).unwrap();
    assert_eq!(written, again, "_etl/last-run.json holds the latest run");
}

#[tokio::test]
async fn the_first_received_copy_of_an_event_wins_in_any_load_order() {
    let mut w = Warehouse::new().await;
    let original = event(1, EventType::PageView, at(20, 9, 0));
    let mut retry = original.clone();
    retry.received_at = original.received_at + Duration::seconds(20);
    retry.request_id = "retry".to_owned();
    let other = event(1, EventType::PageView, at(20, 9, 5));

    // The retry arrives first (and twice in one object), the original later.
    w.write(at(20, 9, 0), &[retry.clone(), retry.clone(), other.clone()]);
    let first = w.backfill(at(20, 9, 0), at(20, 9, 0)).await;
    assert_eq!((first.events_loaded, first.duplicates), (2, 1));
    w.write(at(20, 9, 0), std::slice::from_ref(&original));
    let second = w.backfill(at(20, 9, 0), at(20, 9, 0)).await;
    assert_eq!(second.duplicates, 1);

    let rows = w
        .client
        .query(
            "SELECT request_id, received_at FROM fact_events WHERE event_id = $1",
            &[&original.event_id],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(0), original.request_id);
    assert_eq!(w.count("fact_events").await, 2);
    assert_eq!(w.count("event_keys").await, 2);
}

#[tokio::test]
async fn late_objects_inside_the_window_are_loaded_and_their_sessions_rebuilt() {
    let mut w = Warehouse::new().await;
    let now = Utc::now();
    let hour = |hours_ago: i64| now - Duration::hours(hours_ago);
    // A visit of two page views 40 minutes apart: two sessions.
    let early = event(5, EventType::PageView, now - Duration::minutes(80));
    let late_pv = event(5, EventType::PageView, now - Duration::minutes(40));
    w.write(hour(0), &[early.clone(), late_pv.clone()]);
    w.run().await;
    assert_eq!(w.count("fact_sessions").await, 2);

    // An event in between arrives late, written into an hour already listed:
    // within the reprocess window it is loaded, and the two sessions become one.
    let bridge = event(5, EventType::View, now - Duration::minutes(60));
    w.write(hour(2), &[bridge]);
    let run = w.run().await;
    assert_eq!(run.events_loaded, 1);
    assert_eq!(w.count("fact_sessions").await, 1);
    let pages: i32 = w
        .client
        .query_one("SELECT page_views FROM fact_sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pages, 2);

    // Far older than the window: the next run does not see it, a backfill does.
    let stale = event(6, EventType::PageView, now - Duration::hours(7));
    w.write(hour(7), &[stale]);
    assert_eq!(w.run().await.events_loaded, 0);
    assert_eq!(w.backfill(hour(8), hour(6)).await.events_loaded, 1);
    assert_eq!(w.count("fact_events").await, 4);
}

#[tokio::test]
async fn bad_objects_and_lines_are_quarantined_and_never_block_later_runs() {
    let mut w = Warehouse::new().await;
    let hour = at(20, 10, 0);
    let good: Vec<_> = (0..4)
        .map(|i| event(9, EventType::PageView, hour + Duration::minutes(i)))
        .collect();

    // Not gzip at all.
    write_raw_object(w.raw(), hour, b"this is not gzip");
    // Cut in the middle: the complete lines before the cut are kept.
    let whole = stored_object(&good[..2]);
    write_raw_object(w.raw(), hour, &whole[..whole.len() - 12]);
    // Bad lines among good ones.
    let mut unknown_field = serde_json::to_value(&good[2]).unwrap();
    unknown_field["surprise"] = serde_json::json!(1);
    let mut negative = good[3].clone();
    negative.ecom = Some(Ecom {
        product_id: Some("p".into()),
        price: Some(Decimal::new(-1, 0)),
        ..Ecom::default()
    });
    let mut lines = String::new();
    lines.push_str("{not json\n");
    lines.push_str(&format!("{unknown_field}\n"));
    lines.push_str(&format!("{}\n", serde_json::to_string(&negative).unwrap()));
    lines.push_str(&format!("{}\n", serde_json::to_string(&good[2]).unwrap()));
    lines.push_str(&format!("{}\n", serde_json::to_string(&good[3]).unwrap()));
    write_raw_object(w.raw(), hour, &gzip(lines.as_bytes()));

    let run = w.backfill(hour, hour).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.objects_quarantined, 2);
    assert_eq!(run.objects_loaded, 1);
    assert_eq!(run.rejected_lines, 3);
    let salvaged: i64 = w
        .client
        .query_one(
            "SELECT count(*) FROM fact_events WHERE event_id = ANY($1)",
            &[&vec![good[0].event_id, good[1].event_id]],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        salvaged <= 2 && run.events_loaded == 2 + salvaged as u64,
        "the two good lines of the mixed object and the complete lines before the cut"
    );
    let reasons = texts(
        &w.client,
        "SELECT coalesce(line_number::text, '-') || ' ' || reason FROM etl_rejects ORDER BY reject_id",
        &[],
    )
    .await;
    assert_eq!(reasons.len(), 5, "{reasons:#?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("unknown field `surprise`")),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("ecom.price is negative")),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r.starts_with("- the gzip stream")),
        "{reasons:#?}"
    );

    // The same objects never come back.
    let again = w.backfill(hour, hour).await;
    assert_eq!(again.status, RunStatus::Succeeded);
    assert_eq!(
        (
            again.objects_loaded,
            again.objects_quarantined,
            again.rejected_lines
        ),
        (0, 0, 0)
    );
    assert_eq!(w.count("etl_rejects").await, 5);
}

#[tokio::test]
async fn sessions_split_after_30_idle_minutes_with_bounce_conversion_and_revenue() {
    let mut w = Warehouse::new().await;
    let start = at(21, 12, 0);
    let product = |event_type, minute, qty| {
        let mut e = event(3, event_type, start + Duration::minutes(minute));
        e.ecom = Some(Ecom {
            product_id: Some("kb-keychron-k2-pro".into()),
            category: Some("keyboards".into()),
            currency: Some("VND".into()),
            price: Some(Decimal::new(259_000_050, 2)),
            qty: Some(qty),
        });
        e.page_url =
            "https://shop.example/p/kb-keychron-k2-pro?utm_source=news&utm_medium=email".into();
        e
    };
    let mut landing = event(3, EventType::PageView, start);
    landing.page_url = "https://shop.example/?utm_source=news&utm_medium=email".into();
    let events = vec![
        landing,
        product(EventType::View, 1, 1),
        product(EventType::AddToCart, 2, 2),
        product(EventType::Purchase, 3, 2),
        // 40 idle minutes: a new visit, one page view only.
        event(3, EventType::PageView, start + Duration::minutes(43)),
    ];
    w.write(start, &events);
    w.backfill(start, start).await;

    let rows = w
        .client
        .query(
            "SELECT session_seq, page_views, bounce, converted, revenue, duration_seconds,
                    entry_page, exit_page, referrer_class, utm_source, purchases
             FROM fact_sessions ORDER BY session_seq",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!(first.get::<_, i32>(0), 0);
    assert_eq!(first.get::<_, i32>(1), 1);
    assert!(first.get::<_, bool>(2), "one page view is a bounce");
    assert!(first.get::<_, bool>(3));
    assert_eq!(first.get::<_, Decimal>(4), Decimal::new(518_000_100, 2));
    assert_eq!(first.get::<_, Decimal>(5), Decimal::new(180, 0));
    assert_eq!(first.get::<_, &str>(6), "/");
    assert_eq!(first.get::<_, &str>(7), "/p/kb-keychron-k2-pro");
    assert_eq!(first.get::<_, &str>(8), "email");
    assert_eq!(first.get::<_, Option<&str>>(9), Some("news"));
    assert_eq!(first.get::<_, i32>(10), 1);
    let second = &rows[1];
    assert_eq!(second.get::<_, i32>(0), 1);
    assert!(!second.get::<_, bool>(3));
    assert_eq!(second.get::<_, Decimal>(4), Decimal::ZERO);

    let funnel = w
        .client
        .query_one(
            "SELECT sum(sessions), sum(product_view), sum(add_to_cart), sum(checkout), sum(purchase)
             FROM rollup_funnel
             WHERE grain = 'day' AND category = '*' AND device_type = '*' AND country = '*'",
            &[],
        )
        .await
        .unwrap();
    let stage = |i| funnel.get::<_, i64>(i);
    // A closed funnel: the purchase did not go through checkout, so the
    // visit stops at the cart stage (it still converted, above).
    assert_eq!(
        (stage(0), stage(1), stage(2), stage(3), stage(4)),
        (2, 1, 1, 0, 0)
    );
    let product_row = w
        .client
        .query_one(
            "SELECT views, add_to_carts, purchases, units, revenue FROM rollup_products
             WHERE grain = 'day' AND device_type = '*' AND country = '*'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(product_row.get::<_, i64>(0), 1);
    assert_eq!(product_row.get::<_, i64>(3), 2);
    assert_eq!(
        product_row.get::<_, Decimal>(4),
        Decimal::new(518_000_100, 2)
    );
    let price: Decimal = w
        .client
        .query_one(
            "SELECT price FROM dim_product WHERE product_id = 'kb-keychron-k2-pro'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(price, Decimal::new(259_000_050, 2));
}

#[tokio::test]
async fn a_run_that_finds_another_running_exits_cleanly_and_says_so() {
    let mut w = Warehouse::new().await;
    sbw_etl::migrate::migrate(&mut w.client).await.unwrap();
    let other = w.db.etl_client().await;
    let holder_pid: i32 = other
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        sbw_etl::warehouse::try_lock_run(&other, std::time::Duration::from_secs(120))
            .await
            .unwrap()
            .is_ok()
    );

    let skipped = w.run().await;
    assert_eq!(skipped.status, RunStatus::Skipped);
    assert_eq!(skipped.run_id, None);
    let message = skipped.error.unwrap();
    assert!(
        message.contains("another ETL run holds the lock"),
        "{message}"
    );
    assert!(message.contains(&holder_pid.to_string()), "{message}");
    assert_eq!(w.count("etl_runs").await, 0);

    drop(other);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(w.run().await.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn runs_that_died_are_marked_abandoned_by_the_next() {
    let mut w = Warehouse::new().await;
    sbw_etl::migrate::migrate(&mut w.client).await.unwrap();
    w.client
        .execute(
            "INSERT INTO etl_runs (trigger, status) VALUES ('schedule', 'running')",
            &[],
        )
        .await
        .unwrap();
    w.run().await;
    let statuses = texts(
        &w.client,
        "SELECT status FROM etl_runs ORDER BY run_id",
        &[],
    )
    .await;
    assert_eq!(statuses, ["abandoned", "succeeded"]);
}

#[tokio::test]
async fn migrations_apply_once_and_refuse_edited_history() {
    let mut w = Warehouse::new().await;
    let first = sbw_etl::migrate::migrate(&mut w.client).await.unwrap();
    assert_eq!(first, [1, 2, 3, 4]);
    assert!(sbw_etl::migrate::migrate(&mut w.client)
        .await
        .unwrap()
        .is_empty());

    w.client
        .execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1",
            &[],
        )
        .await
        .unwrap();
    let error = sbw_etl::migrate::migrate(&mut w.client).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("was changed after it was applied"),
        "{error}"
    );

    w.client
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'future', 'x')",
            &[],
        )
        .await
        .unwrap();
    let error = sbw_etl::migrate::migrate(&mut w.client).await.unwrap_err();
    assert!(error.to_string().contains("0099"), "{error}");
}

#[tokio::test]
async fn the_etl_is_no_superuser_and_the_dashboard_only_reads() {
    let mut w = Warehouse::new().await;
    w.write(at(22, 8, 0), &[event(4, EventType::PageView, at(22, 8, 1))]);
    w.backfill(at(22, 8, 0), at(22, 8, 0)).await;

    let superuser: bool = w
        .client
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!superuser);

    let dashboard = sbw_testkit::postgres::connect(&w.db.url_as("sbw_dashboard"))
        .await
        .unwrap();
    let sessions: i64 = dashboard
        .query_one(
            "SELECT sum(sessions) FROM rollup_traffic
             WHERE grain = 'day' AND category = '*' AND device_type = '*' AND country = '*'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 1);
    // Partitions created by the ETL after the grant are readable too.
    let events: i64 = dashboard
        .query_one("SELECT count(*) FROM fact_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 1);
    for write in [
        "DELETE FROM fact_events",
        "INSERT INTO etl_dirty_days VALUES ('2026-01-01')",
        "CREATE TABLE mine (x int)",
    ] {
        let error = dashboard.batch_execute(write).await.unwrap_err();
        let message = error
            .as_db_error()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(
            message.contains("read-only") || message.contains("permission denied"),
            "{write}: {message}"
        );
    }
}
