//! The object manifest (`etl_objects`, `etl_rejects`): which listed objects
//! are new or changed, and, in a batch's transaction, each loaded object's
//! row with its counts and the lines it rejected.

use std::collections::HashMap;

use sbw_rawstore::RawObject;
use tokio_postgres::{Client, Transaction};

use super::{BatchStats, DbResult, LoadedObject};

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

/// Records the objects of a batch, loaded or quarantined, with their counts
/// and rejected lines; returns the batch's counts.
pub(super) async fn record_objects(
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
