//! When shoppers come: a daily and weekly rhythm in the shop's time zone.
//! Quiet at night, busy at lunch and busier in the evening; on weekends the
//! morning starts later and the afternoon stays busy. Each day also gets its
//! own seeded ±12 %, so no two weeks look the same.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// Relative visits per local hour on Monday to Friday, from midnight.
const WEEKDAY_HOURS: [f64; 24] = [
    0.9, 0.5, 0.3, 0.2, 0.2, 0.35, 0.9, 1.8, 2.6, 3.2, 3.6, 4.2, 4.6, 3.9, 3.4, 3.3, 3.4, 3.3, 3.6,
    4.6, 5.4, 5.6, 4.4, 2.4,
];
/// Relative visits per local hour on Saturday and Sunday.
const WEEKEND_HOURS: [f64; 24] = [
    1.2, 0.7, 0.4, 0.25, 0.2, 0.25, 0.5, 1.0, 1.8, 2.9, 3.9, 4.4, 4.4, 4.2, 4.3, 4.4, 4.3, 3.9,
    3.9, 4.7, 5.3, 5.3, 4.6, 2.9,
];
/// Relative visits per day, Monday first: the newsletter goes out on
/// Thursdays; weekends are the busiest days.
const DAYS: [f64; 7] = [1.0, 1.02, 1.0, 1.03, 0.95, 1.08, 1.12];
/// How far a day may stray from its weekday's volume, either way.
const DAILY_SPREAD: f64 = 0.12;

fn is_weekend(day: Weekday) -> bool {
    matches!(day, Weekday::Sat | Weekday::Sun)
}

fn hours_of(day: Weekday) -> &'static [f64; 24] {
    if is_weekend(day) {
        &WEEKEND_HOURS
    } else {
        &WEEKDAY_HOURS
    }
}

/// The shop's visit rhythm in its time zone.
#[derive(Debug, Clone)]
pub struct Rhythm {
    timezone: Tz,
    seed: u64,
    /// The weight of an average day, so an average day's hours sum to 1.
    average_day: f64,
}

impl Rhythm {
    pub fn new(timezone: Tz, seed: u64) -> Rhythm {
        let average_day = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .iter()
        .map(|&day| DAYS[day.num_days_from_monday() as usize] * hours_of(day).iter().sum::<f64>())
        .sum::<f64>()
            / 7.0;
        Rhythm {
            timezone,
            seed,
            average_day,
        }
    }

    /// The share of an average day's visits expected in the UTC hour that
    /// starts at `hour`; an average day's 24 hours sum to 1. The local hour is
    /// read at the middle of the UTC hour (time zones off by half an hour).
    pub fn hour_share(&self, hour: DateTime<Utc>) -> f64 {
        let local = (hour + chrono::Duration::minutes(30)).with_timezone(&self.timezone);
        let day = local.weekday();
        DAYS[day.num_days_from_monday() as usize]
            * self.day_noise(local.date_naive())
            * hours_of(day)[local.hour() as usize]
            / self.average_day
    }

    /// A factor in 1 ± [`DAILY_SPREAD`], the same for a date and seed whatever is generated around it.
    fn day_noise(&self, date: NaiveDate) -> f64 {
        let mut z = self
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(date.num_days_from_ce() as u64);
        // SplitMix64's finalizer: neighbouring dates get unrelated factors.
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        1.0 + DAILY_SPREAD * (2.0 * unit - 1.0)
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }
}

/// What a moment is in the shop's local time, for choices that depend on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalMoment {
    pub hour: u32,
    pub weekday: Weekday,
    pub iso_year: i32,
    pub iso_week: u32,
}

impl LocalMoment {
    pub fn of(at: DateTime<Utc>, timezone: Tz) -> LocalMoment {
        let local = at.with_timezone(&timezone);
        let week = local.iso_week();
        LocalMoment {
            hour: local.hour(),
            weekday: local.weekday(),
            iso_year: week.year(),
            iso_week: week.week(),
        }
    }

    /// Office hours on a working day: more desktops.
    pub fn is_office_hours(&self) -> bool {
        !is_weekend(self.weekday) && (8..18).contains(&self.hour)
    }

    pub fn is_evening(&self) -> bool {
        (19..24).contains(&self.hour)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn share(rhythm: &Rhythm, y: i32, m: u32, d: u32, local_hour: u32) -> f64 {
        // Asia/Ho_Chi_Minh is UTC+7 all year.
        let utc = Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
            + chrono::Duration::hours(i64::from(local_hour) - 7);
        rhythm.hour_share(utc)
    }

    #[test]
    fn evenings_are_busy_and_nights_quiet_in_local_time() {
        let rhythm = Rhythm::new(chrono_tz::Asia::Ho_Chi_Minh, 1);
        // Wednesday 2026-11-18.
        assert!(share(&rhythm, 2026, 11, 18, 20) > 10.0 * share(&rhythm, 2026, 11, 18, 3));
        assert!(share(&rhythm, 2026, 11, 18, 12) > share(&rhythm, 2026, 11, 18, 15));
        // The same UTC hour is night in Ho Chi Minh City but evening in another zone.
        let utc_20 = Utc.with_ymd_and_hms(2026, 11, 18, 20, 0, 0).unwrap();
        let new_york = Rhythm::new(chrono_tz::America::New_York, 1);
        assert!(new_york.hour_share(utc_20) > 5.0 * rhythm.hour_share(utc_20));
    }

    #[test]
    fn a_day_sums_to_about_one_and_weekends_start_later() {
        let rhythm = Rhythm::new(chrono_tz::Asia::Ho_Chi_Minh, 7);
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 17, 0, 0).unwrap(); // Monday 00:00 local
        let days: Vec<f64> = (0..28)
            .map(|d| {
                (0..24)
                    .map(|h| rhythm.hour_share(start + chrono::Duration::hours(d * 24 + h)))
                    .sum()
            })
            .collect();
        let mean = days.iter().sum::<f64>() / days.len() as f64;
        assert!((0.95..1.05).contains(&mean), "{mean}");
        assert!(days.iter().all(|d| (0.75..1.3).contains(d)), "{days:?}");
        // Saturday 2026-11-21 vs Wednesday 2026-11-18 at 07:00 local.
        assert!(share(&rhythm, 2026, 11, 21, 7) < share(&rhythm, 2026, 11, 18, 7));
        assert!(share(&rhythm, 2026, 11, 21, 15) > share(&rhythm, 2026, 11, 18, 15));
        // Days differ from week to week, the same for the same seed.
        assert_ne!(days[0], days[7]);
        let again = Rhythm::new(chrono_tz::Asia::Ho_Chi_Minh, 7);
        assert_eq!(rhythm.hour_share(start), again.hour_share(start));
    }
}
