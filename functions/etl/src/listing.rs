//! What a run lists: receive hours, one hour window at a time, from the
//! watermark (less the reprocess window) through the current hour. A run
//! records its watermark after each window it loaded and may stop at its
//! time budget; the next run goes on from there, so a backlog of a year
//! (a first run, a recovery) is loaded over as many runs as it takes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sbw_contract::rawkey::{hour_floor, hour_prefix, ObjectKind};

use sbw_contract::etl_run::RunRequest;

/// The receive hours a run lists: `[from, to)`, whole hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// `None` for the first run: from the raw store's first hour.
    pub from: Option<DateTime<Utc>>,
    pub to: DateTime<Utc>,
}

impl Listing {
    /// The hour windows from `first` (the listing's start) to its end, each
    /// as its start and its prefix.
    pub fn windows(&self, first: DateTime<Utc>) -> impl Iterator<Item = (DateTime<Utc>, String)> {
        let to = self.to;
        std::iter::successors(Some(first), |hour| Some(*hour + Duration::hours(1)))
            .take_while(move |hour| *hour < to)
            .map(|hour| (hour, hour_prefix(ObjectKind::Events, hour)))
    }
}

/// Plans the listing. The first run lists every hour; later runs list from
/// the hour the previous listing ended in (it may have been written to
/// since), less the reprocess window, through the current hour.
pub fn plan_listing(
    request: &RunRequest,
    watermark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    reprocess_window_hours: u32,
) -> Listing {
    let next_hour = hour_floor(now) + Duration::hours(1);
    match (request, watermark) {
        (RunRequest::Backfill { from, to }, _) => Listing {
            from: Some(hour_floor(*from)),
            to: hour_floor(*to) + Duration::hours(1),
        },
        (RunRequest::Incremental(_), None) => Listing {
            from: None,
            to: next_hour,
        },
        (RunRequest::Incremental(_), Some(previous_end)) => Listing {
            from: Some(
                hour_floor(previous_end)
                    - Duration::hours(1)
                    - Duration::hours(i64::from(reprocess_window_hours)),
            ),
            to: next_hour,
        },
    }
}

/// Where the event hours of the raw store start: what the first key below
/// it begins with (keys sort in time order).
pub fn first_hours_prefix() -> String {
    format!("{}/year=", ObjectKind::Events.prefix())
}

/// The receive hour of an event object's key (`events/year=…/hour=HH/…`).
pub fn hour_of_key(key: &str) -> Option<DateTime<Utc>> {
    let mut parts = key.split('/').skip(1);
    let mut field = |name: &str| -> Option<u32> {
        parts
            .next()?
            .strip_prefix(name)?
            .strip_prefix('=')?
            .parse()
            .ok()
    };
    let (year, month, day, hour) = (
        field("year")?,
        field("month")?,
        field("day")?,
        field("hour")?,
    );
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(date.and_hms_opt(hour, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sbw_contract::etl_run::Trigger;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn prefixes(listing: &Listing) -> Vec<String> {
        listing
            .windows(listing.from.unwrap())
            .map(|(_, prefix)| prefix)
            .collect()
    }

    #[test]
    fn the_first_run_lists_from_the_first_hour_in_the_store() {
        let listing = plan_listing(
            &RunRequest::Incremental(Trigger::Schedule),
            None,
            t("2026-11-20T08:30:00Z"),
            2,
        );
        assert_eq!(listing.from, None);
        assert_eq!(listing.to, t("2026-11-20T09:00:00Z"));
        let key = "events/year=2026/month=11/day=20/hour=07/events-1.ndjson.gz";
        assert!(key.starts_with(&first_hours_prefix()));
        let first = hour_of_key(key).unwrap();
        assert_eq!(first, t("2026-11-20T07:00:00Z"));
        let windows: Vec<_> = listing.windows(first).map(|(hour, _)| hour).collect();
        assert_eq!(
            windows,
            [t("2026-11-20T07:00:00Z"), t("2026-11-20T08:00:00Z")]
        );
        assert_eq!(hour_of_key("events/README"), None);
        assert_eq!(
            hour_of_key("events/year=2026/month=13/day=01/hour=00/x"),
            None
        );
    }

    #[test]
    fn later_runs_relist_the_last_hour_and_the_window() {
        // The previous run listed through 08:59:59 (its listing ended at 09:00).
        let listing = plan_listing(
            &RunRequest::Incremental(Trigger::Schedule),
            Some(t("2026-11-20T09:00:00Z")),
            t("2026-11-20T10:05:00Z"),
            2,
        );
        assert_eq!(
            prefixes(&listing),
            [
                "events/year=2026/month=11/day=20/hour=06/",
                "events/year=2026/month=11/day=20/hour=07/",
                "events/year=2026/month=11/day=20/hour=08/",
                "events/year=2026/month=11/day=20/hour=09/",
                "events/year=2026/month=11/day=20/hour=10/",
            ]
        );
        assert_eq!(listing.from, Some(t("2026-11-20T06:00:00Z")));
        assert_eq!(listing.to, t("2026-11-20T11:00:00Z"));
        let no_window = plan_listing(
            &RunRequest::Incremental(Trigger::Schedule),
            Some(t("2026-11-20T09:00:00Z")),
            t("2026-11-20T09:10:00Z"),
            0,
        );
        assert_eq!(
            prefixes(&no_window),
            [
                "events/year=2026/month=11/day=20/hour=08/",
                "events/year=2026/month=11/day=20/hour=09/"
            ]
        );
    }

    #[test]
    fn a_backfill_lists_its_hours_across_midnight() {
        let request =
            RunRequest::backfill(t("2026-11-30T23:20:00Z"), t("2026-12-01T00:10:00Z")).unwrap();
        let listing = plan_listing(
            &request,
            Some(t("2026-12-05T00:00:00Z")),
            t("2026-12-05T00:00:00Z"),
            2,
        );
        assert_eq!(
            prefixes(&listing),
            [
                "events/year=2026/month=11/day=30/hour=23/",
                "events/year=2026/month=12/day=01/hour=00/"
            ]
        );
    }
}
