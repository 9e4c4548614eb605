//! The shop's settings the rollups are built with: its time zone (rollup
//! days are the shop's local days) and the freshness objective the dashboard
//! measures against. Both live in the warehouse (`warehouse_settings`), so
//! the dashboard reads them from where it reads everything else.

use tokio_postgres::Client;

use crate::warehouse::DbResult;

/// The tables rebuilt whole when the time zone changes.
const ROLLUPS: &[&str] = &[
    "rollup_traffic",
    "rollup_pages",
    "rollup_funnel",
    "rollup_acquisition",
    "rollup_products",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopSettings {
    /// An IANA time zone name, e.g. `Asia/Ho_Chi_Minh`.
    pub timezone: String,
    pub freshness_slo_minutes: u32,
}

impl Default for ShopSettings {
    fn default() -> Self {
        ShopSettings {
            timezone: "UTC".to_owned(),
            // The config's default alarm: twice the hourly cadence plus 15 minutes.
            freshness_slo_minutes: 135,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0:?} is not a time zone PostgreSQL knows (use an IANA name such as Asia/Ho_Chi_Minh or UTC)")]
    UnknownTimezone(String),
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

/// Makes the connection work in the shop's time zone: from here on a
/// timestamptz cast to date is a local day.
pub async fn use_timezone(client: &Client, timezone: &str) -> Result<(), SettingsError> {
    match client
        .execute("SELECT set_config('TimeZone', $1, false)", &[&timezone])
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_PARAMETER_VALUE) => {
            Err(SettingsError::UnknownTimezone(timezone.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

/// What applying the settings did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The time zone the rollups were built in; `None` in a new warehouse.
    pub previous_timezone: Option<String>,
    /// When the rollups were emptied (a new time zone, or a rebuild asked
    /// for): how many days with events were queued for the rebuild.
    pub days_queued: Option<u64>,
}

/// Records the settings; when the time zone differs from the recorded one
/// (or with `force_reset`) empties the rollups and queues every day with
/// events, in one transaction, so the rebuild step builds them again in
/// the new local days. Call with the run lock held
/// and the connection in the new time zone ([`use_timezone`]).
pub async fn apply(
    client: &mut Client,
    settings: &ShopSettings,
    force_reset: bool,
) -> DbResult<Applied> {
    let transaction = client.transaction().await?;
    let previous: Option<String> = transaction
        .query_opt("SELECT timezone FROM warehouse_settings FOR UPDATE", &[])
        .await?
        .map(|row| row.get(0));
    let slo = i32::try_from(settings.freshness_slo_minutes).unwrap_or(i32::MAX);
    transaction
        .execute(
            "INSERT INTO warehouse_settings (timezone, freshness_slo_minutes) VALUES ($1, $2)
             ON CONFLICT (only_row) DO UPDATE SET timezone = excluded.timezone,
                 freshness_slo_minutes = excluded.freshness_slo_minutes, updated_at = now()
             WHERE (warehouse_settings.timezone, warehouse_settings.freshness_slo_minutes)
                   IS DISTINCT FROM (excluded.timezone, excluded.freshness_slo_minutes)",
            &[&settings.timezone, &slo],
        )
        .await?;
    // A new warehouse has empty rollups and no days to redo: the first
    // rebuild builds them in the time zone just recorded.
    let moved = previous
        .as_deref()
        .is_some_and(|zone| zone != settings.timezone);
    if !force_reset && !moved {
        transaction.commit().await?;
        return Ok(Applied {
            previous_timezone: previous,
            days_queued: None,
        });
    }
    for table in ROLLUPS {
        transaction
            .execute(&format!("DELETE FROM {table}"), &[])
            .await?;
    }
    let days_queued = transaction
        .execute(
            "INSERT INTO etl_dirty_days
             SELECT generate_series(min(ts)::date, max(ts)::date, interval '1 day')::date
             FROM fact_events
             ON CONFLICT DO NOTHING",
            &[],
        )
        .await?;
    transaction.commit().await?;
    Ok(Applied {
        previous_timezone: previous,
        days_queued: Some(days_queued),
    })
}
