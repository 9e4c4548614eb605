//! Raw store key layout, partitioned by **server receive** hour:
//! `events/year=YYYY/month=MM/day=DD/hour=HH/events-<uuid>.ndjson.gz`.
//! Client clocks lie; the receive hour only moves forward, which is what
//! makes the ETL's watermark sound.

use chrono::{DateTime, Datelike, Timelike, Utc};
use uuid::Uuid;

/// What an object holds; each kind has its own top-level prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// Accepted, enriched events ([`crate::StoredEvent`] lines).
    Events,
    /// Why events were refused ([`crate::RejectedEvent`] lines), without their content.
    Rejects,
}

impl ObjectKind {
    pub fn prefix(self) -> &'static str {
        match self {
            ObjectKind::Events => "events",
            ObjectKind::Rejects => "rejects",
        }
    }
}

/// The partition prefix of one receive hour, ending in `/`.
pub fn hour_prefix(kind: ObjectKind, at: DateTime<Utc>) -> String {
    format!(
        "{}/year={:04}/month={:02}/day={:02}/hour={:02}/",
        kind.prefix(),
        at.year(),
        at.month(),
        at.day(),
        at.hour()
    )
}

/// The first instant of the receive hour that holds `t`.
pub fn hour_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = t.timestamp() - t.timestamp().rem_euclid(3600);
    DateTime::from_timestamp(seconds, 0).unwrap_or(t)
}

/// The key of a new object received at `received_at`.
pub fn object_key(kind: ObjectKind, received_at: DateTime<Utc>, id: Uuid) -> String {
    format!(
        "{}{}-{}.ndjson.gz",
        hour_prefix(kind, received_at),
        kind.prefix(),
        id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_follow_the_receive_hour() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 59, 59).unwrap();
        let id = Uuid::nil();
        assert_eq!(
            object_key(ObjectKind::Events, at, id),
            "events/year=2026/month=01/day=02/hour=03/events-00000000-0000-0000-0000-000000000000.ndjson.gz"
        );
        assert!(object_key(ObjectKind::Rejects, at, id)
            .starts_with("rejects/year=2026/month=01/day=02/hour=03/rejects-"));
    }

    #[test]
    fn hour_prefixes_sort_in_time_order() {
        let earlier = hour_prefix(
            ObjectKind::Events,
            Utc.with_ymd_and_hms(2026, 9, 30, 23, 0, 0).unwrap(),
        );
        let later = hour_prefix(
            ObjectKind::Events,
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
        );
        assert!(earlier < later);
    }

    proptest::proptest! {
        /// Any instant from 1970 to 2200 lies in its hour: the floor is on
        /// the hour, at most an hour back, and keys the same partition.
        #[test]
        fn every_instant_lies_in_the_hour_of_its_floor(
            seconds in 0i64..7_258_118_400,
            nanos in 0u32..1_000_000_000,
        ) {
            let t = DateTime::from_timestamp(seconds, nanos).unwrap();
            let floor = hour_floor(t);
            proptest::prop_assert!(floor <= t && t - floor < chrono::Duration::hours(1));
            proptest::prop_assert_eq!(floor.timestamp() % 3600, 0);
            proptest::prop_assert_eq!(floor.timestamp_subsec_nanos(), 0);
            proptest::prop_assert_eq!(
                hour_prefix(ObjectKind::Events, floor),
                hour_prefix(ObjectKind::Events, t)
            );
        }
    }
}
