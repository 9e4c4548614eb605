//! The rows a batch adds to `fact_events` and `event_keys`, written with
//! binary COPY. Each column of `fact_events` is defined once, with its type
//! and where its value comes from.

use std::collections::BTreeMap;

use futures_util::pin_mut;
use rust_decimal::Decimal;
use sbw_contract::event::PropValue;
use sbw_contract::StoredEvent;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::Transaction;

use super::DbResult;
use crate::attribution::{attribute, Attribution};

/// One event as a `fact_events` row: the stored event and what the ETL
/// derives from it.
struct Row<'a> {
    event: &'a StoredEvent,
    attribution: Attribution,
    event_type: &'static str,
    device_type: &'static str,
    product_id: Option<&'a str>,
    category: Option<&'a str>,
    currency: Option<&'a str>,
    price: Option<Decimal>,
    qty: Option<i32>,
    props: Option<Json<&'a BTreeMap<String, PropValue>>>,
}

impl<'a> Row<'a> {
    fn of(event: &'a StoredEvent) -> Row<'a> {
        let ecom = event.ecom.as_ref();
        Row {
            event,
            attribution: attribute(&event.page_url, event.referrer.as_deref()),
            event_type: event.event_type.as_str(),
            device_type: event.device.device_type.as_str(),
            product_id: ecom.and_then(|e| e.product_id.as_deref()),
            category: ecom.and_then(|e| e.category.as_deref()),
            currency: ecom.and_then(|e| e.currency.as_deref()),
            price: ecom.and_then(|e| e.price),
            qty: ecom.and_then(|e| e.qty).map(|q| q as i32),
            props: (!event.props.is_empty()).then_some(Json(&event.props)),
        }
    }
}

type Value = for<'r> fn(&'r Row<'r>) -> &'r (dyn ToSql + Sync);

/// The columns of `fact_events` the ETL writes: name, type, value.
const COLUMNS: [(&str, Type, Value); 31] = [
    ("event_id", Type::UUID, |r| &r.event.event_id),
    ("ts", Type::TIMESTAMPTZ, |r| &r.event.ts),
    ("event_type", Type::TEXT, |r| &r.event_type),
    ("client_ts", Type::TIMESTAMPTZ, |r| &r.event.client_ts),
    ("received_at", Type::TIMESTAMPTZ, |r| &r.event.received_at),
    ("clock_skew_ms", Type::INT8, |r| &r.event.clock_skew_ms),
    ("session_id", Type::UUID, |r| &r.event.session_id),
    ("anonymous_id_hash", Type::TEXT, |r| {
        &r.event.anonymous_id_hash
    }),
    ("user_id_hash", Type::TEXT, |r| &r.event.user_id_hash),
    ("claimed_user_id_hash", Type::TEXT, |r| {
        &r.event.claimed_user_id_hash
    }),
    ("page_url", Type::TEXT, |r| &r.event.page_url),
    ("page_path", Type::TEXT, |r| &r.attribution.page_path),
    ("referrer", Type::TEXT, |r| &r.event.referrer),
    ("referrer_class", Type::TEXT, |r| {
        &r.attribution.referrer_class
    }),
    ("utm_source", Type::TEXT, |r| &r.attribution.utm_source),
    ("utm_medium", Type::TEXT, |r| &r.attribution.utm_medium),
    ("utm_campaign", Type::TEXT, |r| &r.attribution.utm_campaign),
    ("device_type", Type::TEXT, |r| &r.device_type),
    ("browser", Type::TEXT, |r| &r.event.device.browser),
    ("os", Type::TEXT, |r| &r.event.device.os),
    ("device_family", Type::TEXT, |r| &r.event.device.family),
    ("is_bot", Type::BOOL, |r| &r.event.device.bot),
    ("country", Type::TEXT, |r| &r.event.geo.country),
    ("city", Type::TEXT, |r| &r.event.geo.city),
    ("product_id", Type::TEXT, |r| &r.product_id),
    ("category", Type::TEXT, |r| &r.category),
    ("currency", Type::TEXT, |r| &r.currency),
    ("price", Type::NUMERIC, |r| &r.price),
    ("qty", Type::INT4, |r| &r.qty),
    ("props", Type::JSONB, |r| &r.props),
    ("request_id", Type::TEXT, |r| &r.event.request_id),
];

pub(super) async fn copy_events(
    transaction: &Transaction<'_>,
    events: &[&StoredEvent],
) -> DbResult<()> {
    let names: Vec<&str> = COLUMNS.iter().map(|(name, _, _)| *name).collect();
    let types: Vec<Type> = COLUMNS.iter().map(|(_, ty, _)| ty.clone()).collect();
    let sink = transaction
        .copy_in(&format!(
            "COPY fact_events ({}) FROM STDIN (FORMAT binary)",
            names.join(", ")
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for event in events {
        let row = Row::of(event);
        let values: [&(dyn ToSql + Sync); COLUMNS.len()] =
            std::array::from_fn(|i| (COLUMNS[i].2)(&row));
        writer.as_mut().write(&values).await?;
    }
    writer.finish().await.map(|_| ())
}

pub(super) async fn copy_keys(
    transaction: &Transaction<'_>,
    events: &[&StoredEvent],
) -> DbResult<()> {
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
