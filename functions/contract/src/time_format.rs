//! Timestamps in stored records: RFC 3339, UTC, milliseconds (`2026-11-26T05:16:54.123Z`).

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`
const LEN: usize = 24;

/// Every stored line holds three timestamps, so they are written into a
/// fixed buffer rather than through chrono's allocating general formatter.
fn write(t: &DateTime<Utc>, out: &mut [u8; LEN]) -> bool {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return false;
    }
    // chrono keeps a leap second in the nanoseconds (>= 1 s): written as :59.999.
    let millis = t.timestamp_subsec_millis().min(999);
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut value = value;
        for i in (0..digits).rev() {
            out[at + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    put(20, millis, 3);
    for (at, separator) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ] {
        out[at] = separator;
    }
    true
}

/// Calls `use_text` with `t` formatted.
fn with_text<R>(t: &DateTime<Utc>, use_text: impl FnOnce(&str) -> R) -> R {
    let mut buffer = [0; LEN];
    if write(t, &mut buffer) {
        use_text(std::str::from_utf8(&buffer).expect("digits and separators are ASCII"))
    } else {
        use_text(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    with_text(t, |text| s.serialize_str(text))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(d)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn format(t: &DateTime<Utc>) -> String {
        with_text(t, str::to_owned)
    }

    #[test]
    fn matches_chronos_own_rfc3339_with_milliseconds() {
        let start = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 58).unwrap();
        let mut t = start;
        for step in 0..5_000 {
            // Uneven steps reach every field's edges: month ends, leap days, midnight.
            t += Duration::milliseconds(7 + step * 1_999_997);
            assert_eq!(format(&t), t.to_rfc3339_opts(SecondsFormat::Millis, true));
        }
        let far = Utc.with_ymd_and_hms(12345, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(
            format(&far),
            far.to_rfc3339_opts(SecondsFormat::Millis, true)
        );
        let micros = Utc.timestamp_micros(1_764_134_214_123_999).unwrap();
        assert_eq!(format(&micros), "2025-11-26T05:16:54.123Z");
    }
}
