//! `dim_product`: the latest category and price of each product, merged
//! batch by batch.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sbw_contract::StoredEvent;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::DbResult;

/// The latest category and price of each product in the batch, merged with
/// what `dim_product` holds: the later (ts, event_id) wins either way.
pub(super) async fn upsert_products(
    transaction: &Transaction<'_>,
    events: &[&StoredEvent],
) -> DbResult<()> {
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
