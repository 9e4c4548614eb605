//! The warehouse side of a run: the run record and lock, the watermark, the
//! object manifest, loading a batch of decoded objects in one transaction,
//! and the rebuild of sessions and rollups.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures_util::pin_mut;
use rust_decimal::Decimal;
use sbw_contract::StoredEvent;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::{Client, Transaction};
use uuid::Uuid;

use crate::attribution::attribute;
use crate::decode::DecodedObject;
use crate::source::RawObject;

/// `pg_advisory_lock` key held for a whole run ("sbw-etl!").
const RUN_LOCK: i64 = 0x7362_772d_6574_6c21;

const REBUILD_SQL: &str = include_str!("../sql/rebuild.sql");

pub type DbResult<T> = Result<T, tokio_postgres::Error>;

/// Another run holds the run lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// The backend pid of the holder, when PostgreSQL tells.
    pub holder_pid: Option<i32>,
}

/// Takes the run lock for this connection's lifetime, or says who holds it.
pub async fn try_lock_run(client: &Client) -> DbResult<Result<(), Busy>> {
    let locked: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&RUN_LOCK])
        .await?
        .get(0);
    if locked {
        return Ok(Ok(()));
    }
    let holder_pid = client
        .query_opt(
            "SELECT pid FROM pg_locks
             WHERE locktype = 'advisory' AND granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND ((classid::bigint << 32) | objid::bigint) = $1
             LIMIT 1",
            &[&RUN_LOCK],
        )
        .await?
        .map(|row| row.get(0));
    Ok(Err(Busy { holder_pid }))
}

pub async fn unlock_run(client: &Client) -> DbResult<()> {
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&RUN_LOCK])
        .await
        .map(|_| ())
}

/// Records the start of a run. Runs still marked running died without
/// recording their end (the lock proves no one else is running): they are
/// marked abandoned.
pub async fn start_run(client: &Client, trigger: &str) -> DbResult<(i64, DateTime<Utc>)> {
    client
        .execute(
            "UPDATE etl_runs SET status = 'abandoned',
                    error = coalesce(error, 'the run stopped before recording its end')
             WHERE status = 'running'",
            &[],
        )
        .await?;
    let row = client
        .query_one(
            "INSERT INTO etl_runs (trigger, status) VALUES ($1, 'running')
             RETURNING run_id, started_at",
            &[&trigger],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// How far the scheduled and manual runs have listed.
#[derive(Debug, Clone, Copy, Default)]
pub struct LatestListing {
    /// The watermark: the end of the latest hour window a run listed and
    /// loaded whole, whatever became of the run after it. The next listing
    /// starts there, less the reprocess window.
    pub listed_to: Option<DateTime<Utc>>,
    /// When the latest run that listed through its current hour started:
    /// every event received before then is loaded.
    pub started_at: Option<DateTime<Utc>>,
}

/// Records that the run listed and loaded every hour of `[from, to)`: its
/// watermark, committed as soon as the window's objects are.
pub async fn record_listing(
    client: &Client,
    run_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> DbResult<()> {
    client
        .execute(
            "UPDATE etl_runs SET listed_from = $2, listed_to = $3 WHERE run_id = $1",
            &[&run_id, &from, &to],
        )
        .await
        .map(|_| ())
}

pub async fn latest_listing(client: &Client) -> DbResult<LatestListing> {
    let row = client
        .query_one(
            "SELECT max(listed_to), max(started_at) FILTER (WHERE status = 'succeeded')
             FROM etl_runs WHERE trigger <> 'backfill'",
            &[],
        )
        .await?;
    Ok(LatestListing {
        listed_to: row.get(0),
        started_at: row.get(1),
    })
}

pub async fn newest_received_at(client: &Client) -> DbResult<Option<DateTime<Utc>>> {
    client
        .query_one("SELECT max(newest_received_at) FROM etl_runs", &[])
        .await
        .map(|row| row.get(0))
}

/// Objects of `listed` the manifest does not hold with the same etag.
pub async fn new_objects(client: &Client, listed: Vec<RawObject>) -> DbResult<Vec<RawObject>> {
    let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    let known: HashMap<String, String> = client
        .query(
            "SELECT object_key, etag FROM etl_objects WHERE object_key = ANY($1)",
            &[&keys],
        )
        .await?
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    Ok(listed
        .into_iter()
        .filter(|o| known.get(&o.key) != Some(&o.etag))
        .collect())
}

/// What loading a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchStats {
    pub objects_loaded: u64,
    pub objects_quarantined: u64,
    pub events_loaded: u64,
    pub duplicates: u64,
    pub rejected_lines: u64,
    pub newest_received_at: Option<DateTime<Utc>>,
}

impl std::ops::AddAssign for BatchStats {
    fn add_assign(&mut self, other: BatchStats) {
        self.objects_loaded += other.objects_loaded;
        self.objects_quarantined += other.objects_quarantined;
        self.events_loaded += other.events_loaded;
        self.duplicates += other.duplicates;
        self.rejected_lines += other.rejected_lines;
        self.newest_received_at = self.newest_received_at.max(other.newest_received_at);
    }
}

/// A decoded object, ready to load.
pub struct LoadedObject {
    pub object: RawObject,
    pub decoded: DecodedObject,
}

/// Which copy of an event the warehouse keeps: the first received (then the
/// smaller request id), whatever order the copies are loaded in.
fn keeps_first(a: &StoredEvent, b_received: DateTime<Utc>, b_request: &str) -> bool {
    (a.received_at, a.request_id.as_str()) < (b_received, b_request)
}

/// Partitions `fact_events` has, as (year, month); created on demand before
/// a batch's transaction, because creating one locks the parent table.
#[derive(Default)]
pub struct Partitions(HashSet<(i32, u32)>);

impl Partitions {
    pub async fn ensure(&mut self, client: &Client, months: &BTreeSet<(i32, u32)>) -> DbResult<()> {
        for &(year, month) in months {
            if self.0.contains(&(year, month)) {
                continue;
            }
            let from = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
            let to = from
                .checked_add_months(chrono::Months::new(1))
                .expect("dates near now");
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS fact_events_{year:04}_{month:02}
                     PARTITION OF fact_events
                     FOR VALUES FROM ('{from} 00:00:00+00') TO ('{to} 00:00:00+00')"
                ))
                .await?;
            self.0.insert((year, month));
        }
        Ok(())
    }

    /// Creates the partitions of `now`'s month and the next, before any
    /// event needs them. Creating a partition locks `fact_events` exclusively:
    /// it waits behind every dashboard query in progress and every later one
    /// waits behind it. A month ahead, a run whose creation gave up at the
    /// lock timeout leaves weeks of runs to try again, and the month's first
    /// events find their partition there.
    pub async fn ensure_ahead(&mut self, client: &Client, now: DateTime<Utc>) -> DbResult<()> {
        let (year, month) = month_of(now);
        let next = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        self.ensure(client, &BTreeSet::from([(year, month), next]))
            .await
    }
}

/// Partitions are by UTC month, whatever the shop's time zone.
fn month_of(t: DateTime<Utc>) -> (i32, u32) {
    (t.year(), t.month())
}

/// Loads the events and the manifest rows of `objects` in one transaction.
pub async fn load_batch(
    client: &mut Client,
    partitions: &mut Partitions,
    run_id: i64,
    objects: &[LoadedObject],
) -> DbResult<BatchStats> {
    // Within the batch: one copy per event id.
    let mut winners: HashMap<Uuid, (usize, usize)> = HashMap::new();
    let mut duplicates_per_object = vec![0i32; objects.len()];
    for (o, loaded) in objects.iter().enumerate() {
        for (e, event) in loaded.decoded.events.iter().enumerate() {
            match winners.get_mut(&event.event_id) {
                None => {
                    winners.insert(event.event_id, (o, e));
                }
                Some(current) => {
                    let held = &objects[current.0].decoded.events[current.1];
                    if keeps_first(event, held.received_at, &held.request_id) {
                        duplicates_per_object[current.0] += 1;
                        *current = (o, e);
                    } else {
                        duplicates_per_object[o] += 1;
                    }
                }
            }
        }
    }
    let event_of = |(o, e): (usize, usize)| &objects[o].decoded.events[e];

    let months: BTreeSet<(i32, u32)> = winners
        .values()
        .map(|&at| month_of(event_of(at).ts))
        .collect();
    partitions.ensure(client, &months).await?;

    let transaction = client.transaction().await?;

    // Across runs: the warehouse may hold another copy already. Most ids are
    // new, so only those `event_keys` knows are looked up in `fact_events`.
    let ids: Vec<Uuid> = winners.keys().copied().collect();
    let known: Vec<Uuid> = transaction
        .query(
            "SELECT event_id FROM event_keys WHERE event_id = ANY($1)",
            &[&ids],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let held = if known.is_empty() {
        Vec::new()
    } else {
        transaction
            .query(
                "SELECT k.event_id, k.ts, f.received_at, f.request_id, f.session_id
                 FROM event_keys k JOIN fact_events f ON f.event_id = k.event_id AND f.ts = k.ts
                 WHERE k.event_id = ANY($1)",
                &[&known],
            )
            .await?
    };
    let mut replaced_ids = Vec::new();
    let mut replaced_ts = Vec::new();
    let mut dirty_sessions: HashSet<Uuid> = HashSet::new();
    // Event times whose local days need their rollups rebuilt; PostgreSQL
    // turns them into days in the session's (the shop's) time zone.
    let mut dirty_times: Vec<DateTime<Utc>> = Vec::new();
    for row in held {
        let id: Uuid = row.get(0);
        let at = winners[&id];
        let incoming = event_of(at);
        if keeps_first(incoming, row.get(2), row.get::<_, &str>(3)) {
            let old_ts: DateTime<Utc> = row.get(1);
            replaced_ids.push(id);
            replaced_ts.push(old_ts);
            dirty_sessions.insert(row.get(4));
            dirty_times.push(old_ts);
            duplicates_per_object[at.0] += 1;
        } else {
            winners.remove(&id);
            duplicates_per_object[at.0] += 1;
        }
    }
    if !replaced_ids.is_empty() {
        transaction
            .execute(
                "DELETE FROM fact_events f USING unnest($1::uuid[], $2::timestamptz[]) AS r(event_id, ts)
                 WHERE f.event_id = r.event_id AND f.ts = r.ts",
                &[&replaced_ids, &replaced_ts],
            )
            .await?;
        transaction
            .execute(
                "DELETE FROM event_keys WHERE event_id = ANY($1)",
                &[&replaced_ids],
            )
            .await?;
    }

    // Stable order: objects as listed, lines as written.
    let mut rows: Vec<(usize, usize)> = winners.values().copied().collect();
    rows.sort_unstable();
    let events: Vec<&StoredEvent> = rows.iter().map(|&at| event_of(at)).collect();
    copy_events(&transaction, &events).await?;
    copy_keys(&transaction, &events).await?;

    for event in &events {
        dirty_sessions.insert(event.session_id);
        dirty_times.push(event.ts);
    }
    let dirty_sessions: Vec<Uuid> = dirty_sessions.into_iter().collect();
    transaction
        .execute(
            "INSERT INTO etl_dirty_sessions SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING",
            &[&dirty_sessions],
        )
        .await?;
    transaction
        .execute(
            "INSERT INTO etl_dirty_days SELECT DISTINCT t::date FROM unnest($1::timestamptz[]) AS t
             ON CONFLICT DO NOTHING",
            &[&dirty_times],
        )
        .await?;
    upsert_products(&transaction, &events).await?;

    let mut loaded_per_object = vec![0i32; objects.len()];
    for &(o, _) in &rows {
        loaded_per_object[o] += 1;
    }
    let mut stats = record_objects(
        &transaction,
        run_id,
        objects,
        &loaded_per_object,
        &duplicates_per_object,
    )
    .await?;
    stats.newest_received_at = events.iter().map(|e| e.received_at).max();
    transaction.commit().await?;
    Ok(stats)
}

/// The columns of `fact_events` the ETL writes, with their types, in the
/// order of the row [`copy_events`] writes.
const EVENT_COLUMNS: [(&str, Type); 31] = [
    ("event_id", Type::UUID),
    ("ts", Type::TIMESTAMPTZ),
    ("event_type", Type::TEXT),
    ("client_ts", Type::TIMESTAMPTZ),
    ("received_at", Type::TIMESTAMPTZ),
    ("clock_skew_ms", Type::INT8),
    ("session_id", Type::UUID),
    ("anonymous_id_hash", Type::TEXT),
    ("user_id_hash", Type::TEXT),
    ("claimed_user_id_hash", Type::TEXT),
    ("page_url", Type::TEXT),
    ("page_path", Type::TEXT),
    ("referrer", Type::TEXT),
    ("referrer_class", Type::TEXT),
    ("utm_source", Type::TEXT),
    ("utm_medium", Type::TEXT),
    ("utm_campaign", Type::TEXT),
    ("device_type", Type::TEXT),
    ("browser", Type::TEXT),
    ("os", Type::TEXT),
    ("device_family", Type::TEXT),
    ("is_bot", Type::BOOL),
    ("country", Type::TEXT),
    ("city", Type::TEXT),
    ("product_id", Type::TEXT),
    ("category", Type::TEXT),
    ("currency", Type::TEXT),
    ("price", Type::NUMERIC),
    ("qty", Type::INT4),
    ("props", Type::JSONB),
    ("request_id", Type::TEXT),
];

async fn copy_events(transaction: &Transaction<'_>, events: &[&StoredEvent]) -> DbResult<()> {
    let (names, types): (Vec<&str>, Vec<Type>) = EVENT_COLUMNS.iter().cloned().unzip();
    let sink = transaction
        .copy_in(&format!(
            "COPY fact_events ({}) FROM STDIN (FORMAT binary)",
            names.join(", ")
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for event in events {
        let attribution = attribute(&event.page_url, event.referrer.as_deref());
        let ecom = event.ecom.as_ref();
        let qty = ecom.and_then(|e| e.qty).map(|q| q as i32);
        let props = (!event.props.is_empty()).then_some(Json(&event.props));
        let row: [&(dyn ToSql + Sync); EVENT_COLUMNS.len()] = [
            &event.event_id,
            &event.ts,
            &event.event_type.as_str(),
            &event.client_ts,
            &event.received_at,
            &event.clock_skew_ms,
            &event.session_id,
            &event.anonymous_id_hash,
            &event.user_id_hash,
            &event.claimed_user_id_hash,
            &event.page_url,
            &attribution.page_path,
            &event.referrer,
            &attribution.referrer_class,
            &attribution.utm_source,
            &attribution.utm_medium,
            &attribution.utm_campaign,
            &event.device.device_type.as_str(),
            &event.device.browser,
            &event.device.os,
            &event.device.family,
            &event.device.bot,
            &event.geo.country,
            &event.geo.city,
            &ecom.and_then(|e| e.product_id.as_deref()),
            &ecom.and_then(|e| e.category.as_deref()),
            &ecom.and_then(|e| e.currency.as_deref()),
            &ecom.and_then(|e| e.price),
            &qty,
            &props,
            &event.request_id,
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await.map(|_| ())
}

async fn copy_keys(transaction: &Transaction<'_>, events: &[&StoredEvent]) -> DbResult<()> {
    let sink = transaction
        .copy_in("COPY event_keys (event_id, ts) FROM STDIN (FORMAT binary)")
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::UUID, Type::TIMESTAMPTZ]);
    pin_mut!(writer);
    for event in events {
        writer.as_mut().write(&[&event.event_id, &event.ts]).await?;
    }
    writer.finish().await.map(|_| ())
}

/// The latest category and price of each product in the batch, merged with
/// what `dim_product` holds: the later (ts, event_id) wins either way.
async fn upsert_products(transaction: &Transaction<'_>, events: &[&StoredEvent]) -> DbResult<()> {
    #[derive(Default)]
    struct Latest<'a> {
        category: Option<(DateTime<Utc>, Uuid, &'a str)>,
        price: Option<(DateTime<Utc>, Uuid, Decimal, Option<&'a str>)>,
        first_seen: Option<DateTime<Utc>>,
        last_seen: Option<DateTime<Utc>>,
    }
    let mut products: HashMap<&str, Latest> = HashMap::new();
    for event in events {
        let Some(ecom) = &event.ecom else { continue };
        let Some(product_id) = ecom.product_id.as_deref() else {
            continue;
        };
        let latest = products.entry(product_id).or_default();
        let key = (event.ts, event.event_id);
        if let Some(category) = ecom.category.as_deref() {
            if latest.category.is_none_or(|(t, id, _)| key > (t, id)) {
                latest.category = Some((event.ts, event.event_id, category));
            }
        }
        if let Some(price) = ecom.price {
            if latest.price.is_none_or(|(t, id, _, _)| key > (t, id)) {
                latest.price = Some((event.ts, event.event_id, price, ecom.currency.as_deref()));
            }
        }
        latest.first_seen = Some(latest.first_seen.map_or(event.ts, |t| t.min(event.ts)));
        latest.last_seen = Some(latest.last_seen.map_or(event.ts, |t| t.max(event.ts)));
    }
    if products.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::new();
    let (mut categories, mut category_seen, mut category_events) = (vec![], vec![], vec![]);
    let (mut prices, mut currencies, mut price_seen, mut price_events) =
        (vec![], vec![], vec![], vec![]);
    let (mut first_seen, mut last_seen) = (vec![], vec![]);
    for (id, latest) in &products {
        ids.push(*id);
        categories.push(latest.category.map(|c| c.2));
        category_seen.push(latest.category.map(|c| c.0));
        category_events.push(latest.category.map(|c| c.1));
        prices.push(latest.price.map(|p| p.2));
        currencies.push(latest.price.and_then(|p| p.3));
        price_seen.push(latest.price.map(|p| p.0));
        price_events.push(latest.price.map(|p| p.1));
        first_seen.push(latest.first_seen);
        last_seen.push(latest.last_seen);
    }
    transaction
        .execute(
            "INSERT INTO dim_product AS d
             SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::uuid[],
                                  $5::numeric[], $6::text[], $7::timestamptz[], $8::uuid[],
                                  $9::timestamptz[], $10::timestamptz[])
             ON CONFLICT (product_id) DO UPDATE SET
               category = CASE WHEN (excluded.category_seen_at, excluded.category_event)
                                    > (d.category_seen_at, d.category_event)
                                 OR d.category_seen_at IS NULL
                               THEN coalesce(excluded.category, d.category) ELSE d.category END,
               category_seen_at = greatest(d.category_seen_at, excluded.category_seen_at),
               category_event = CASE WHEN (excluded.category_seen_at, excluded.category_event)
                                          > (d.category_seen_at, d.category_event)
                                       OR d.category_seen_at IS NULL
                                     THEN coalesce(excluded.category_event, d.category_event)
                                     ELSE d.category_event END,
               price = CASE WHEN (excluded.price_seen_at, excluded.price_event)
                                 > (d.price_seen_at, d.price_event)
                              OR d.price_seen_at IS NULL
                            THEN coalesce(excluded.price, d.price) ELSE d.price END,
               currency = CASE WHEN (excluded.price_seen_at, excluded.price_event)
                                    > (d.price_seen_at, d.price_event)
                                 OR d.price_seen_at IS NULL
                               THEN coalesce(excluded.currency, d.currency) ELSE d.currency END,
               price_seen_at = greatest(d.price_seen_at, excluded.price_seen_at),
               price_event = CASE WHEN (excluded.price_seen_at, excluded.price_event)
                                       > (d.price_seen_at, d.price_event)
                                    OR d.price_seen_at IS NULL
                                  THEN coalesce(excluded.price_event, d.price_event)
                                  ELSE d.price_event END,
               first_seen_at = least(d.first_seen_at, excluded.first_seen_at),
               last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at)",
            &[
                &ids,
                &categories,
                &category_seen,
                &category_events,
                &prices,
                &currencies,
                &price_seen,
                &price_events,
                &first_seen,
                &last_seen,
            ],
        )
        .await
        .map(|_| ())
}

async fn record_objects(
    transaction: &Transaction<'_>,
    run_id: i64,
    objects: &[LoadedObject],
    loaded: &[i32],
    duplicates: &[i32],
) -> DbResult<BatchStats> {
    let mut stats = BatchStats::default();
    let (mut keys, mut etags, mut sizes, mut statuses) = (vec![], vec![], vec![], vec![]);
    let mut rejected_per_object = Vec::with_capacity(objects.len());
    let (mut reject_keys, mut reject_lines, mut reject_reasons, mut reject_excerpts) =
        (vec![], vec![], vec![], vec![]);
    for (i, LoadedObject { object, decoded }) in objects.iter().enumerate() {
        if decoded.damaged {
            stats.objects_quarantined += 1;
            statuses.push("quarantined");
        } else {
            stats.objects_loaded += 1;
            statuses.push("loaded");
        }
        let rejected = decoded.rejected_lines() as i32;
        stats.events_loaded += loaded[i] as u64;
        stats.duplicates += duplicates[i] as u64;
        stats.rejected_lines += rejected as u64;
        keys.push(object.key.as_str());
        etags.push(object.etag.as_str());
        sizes.push(object.size);
        rejected_per_object.push(rejected);
        for reject in &decoded.rejects {
            reject_keys.push(object.key.as_str());
            reject_lines.push(reject.line_number);
            reject_reasons.push(reject.reason.as_str());
            reject_excerpts.push(reject.excerpt.as_deref());
        }
    }
    transaction
        .execute(
            "INSERT INTO etl_objects
               (object_key, etag, size_bytes, status, records, duplicates, rejected, run_id)
             SELECT *, $8 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[],
                                      $5::int[], $6::int[], $7::int[])
             ON CONFLICT (object_key) DO UPDATE SET
               etag = excluded.etag, size_bytes = excluded.size_bytes, status = excluded.status,
               records = excluded.records, duplicates = excluded.duplicates,
               rejected = excluded.rejected, run_id = excluded.run_id, loaded_at = now()",
            &[
                &keys,
                &etags,
                &sizes,
                &statuses,
                &loaded,
                &duplicates,
                &rejected_per_object,
                &run_id,
            ],
        )
        .await?;
    if !reject_keys.is_empty() {
        transaction
            .execute(
                "INSERT INTO etl_rejects (run_id, object_key, line_number, reason, excerpt)
                 SELECT $1, * FROM unnest($2::text[], $3::int[], $4::text[], $5::text[])",
                &[
                    &run_id,
                    &reject_keys,
                    &reject_lines,
                    &reject_reasons,
                    &reject_excerpts,
                ],
            )
            .await?;
    }
    Ok(stats)
}

/// Rebuilds the sessions and rollups that committed batches touched;
/// returns how many SDK sessions were rebuilt.
pub async fn rebuild(client: &mut Client) -> DbResult<u64> {
    let transaction = client.transaction().await?;
    let dirty: i64 = transaction
        .query_one("SELECT count(*) FROM etl_dirty_sessions", &[])
        .await?
        .get(0);
    transaction.batch_execute(REBUILD_SQL).await?;
    transaction.commit().await?;
    Ok(dirty as u64)
}

/// What a run records about itself at the end.
#[derive(Debug, Clone)]
pub struct RunRecord<'a> {
    pub run_id: i64,
    pub status: &'a str,
    pub objects_listed: i64,
    pub stats: &'a BatchStats,
    pub sessions_rebuilt: u64,
    pub error: Option<&'a str>,
}

pub async fn finish_run(client: &Client, record: &RunRecord<'_>) -> DbResult<DateTime<Utc>> {
    let stats = record.stats;
    client
        .query_one(
            "UPDATE etl_runs SET status = $2, finished_at = clock_timestamp(),
                 objects_listed = $3, objects_loaded = $4,
                 objects_quarantined = $5, events_loaded = $6, duplicates = $7,
                 rejected_lines = $8, sessions_rebuilt = $9, error = $10,
                 newest_received_at = $11
             WHERE run_id = $1 RETURNING finished_at",
            &[
                &record.run_id,
                &record.status,
                &(record.objects_listed as i32),
                &(stats.objects_loaded as i32),
                &(stats.objects_quarantined as i32),
                &(stats.events_loaded as i64),
                &(stats.duplicates as i64),
                &(stats.rejected_lines as i64),
                &(record.sessions_rebuilt as i64),
                &record.error,
                &stats.newest_received_at,
            ],
        )
        .await
        .map(|row| row.get(0))
}
