//! The values the `dev` flags take that clap has no parser for: the ETL's
//! period and the shoppers' rate, each refused in a sentence that says what
//! is wanted.

use std::time::Duration;

/// `60s`, `5m`, `1h` or a number of seconds, from 1 s to 24 h.
pub(super) fn parse_period(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let not_a_period = || format!("{text:?} is not a period: use e.g. 60s, 5m or 1h");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(not_a_period()),
    };
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per_unit))
        .ok_or_else(not_a_period)?;
    if !(1..=86_400).contains(&seconds) {
        return Err(format!("{text:?} is out of range: 1s to 24h"));
    }
    Ok(Duration::from_secs(seconds))
}

pub(super) fn parse_visits_per_minute(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.1..=6000.0).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a rate from 0.1 to 6000 visits a minute"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(parse_period("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_period("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_period("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_period("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_period("90"), Ok(Duration::from_secs(90)));
        assert!(parse_period("0s").unwrap_err().contains("out of range"));
        assert!(parse_period("2d").unwrap_err().contains("not a period"));
        assert!(parse_period("s").unwrap_err().contains("not a period"));
        assert!(parse_period("25h").unwrap_err().contains("out of range"));
    }

    #[test]
    fn visit_rates() {
        assert_eq!(parse_visits_per_minute("600"), Ok(600.0));
        assert_eq!(parse_visits_per_minute("0.5"), Ok(0.5));
        assert!(parse_visits_per_minute("0").is_err());
        assert!(parse_visits_per_minute("fast").is_err());
    }

    /// A negative rate or period reaches its parser, which says what is
    /// wanted, instead of being taken for an unknown flag.
    #[test]
    fn negative_values_are_explained_by_their_parser() {
        use clap::Parser;
        for (flag, value, says) in [
            (
                "--visits-per-minute",
                "-3",
                "is not a rate from 0.1 to 6000",
            ),
            ("--etl-every", "-5s", "is not a period"),
        ] {
            let error = crate::Cli::try_parse_from(["sbwctl", "dev", "up", flag, value])
                .err()
                .unwrap()
                .to_string();
            assert!(
                error.contains(&format!("invalid value '{value}' for '{flag}"))
                    && error.contains(says),
                "{error}"
            );
        }
    }
}
