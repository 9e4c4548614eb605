//! The estimate as a table for people.

use std::fmt::Write as _;

use super::Estimate;

impl Estimate {
    /// The estimate as an aligned table with an explanation under each line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Estimated monthly bill of {}-{} (profile {}, region {})",
            self.project, self.environment, self.profile, self.region
        );
        let _ = writeln!(
            out,
            "Prices: {} {}, {}",
            self.price_region, self.price_date, self.price_source
        );
        let _ = writeln!(out, "Assumptions: {}", self.assumptions.join("; "));
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<14} {:<34} {:>28} {:>9} {:>10} {:>8}",
            "SERVICE", "ITEM", "QUANTITY x UNIT PRICE", "LIST USD", "FREE TIER", "USD"
        );
        for line in &self.lines {
            let quantity = format!(
                "{} {} x {}",
                trim_number(line.quantity),
                line.unit,
                trim_number(line.unit_usd)
            );
            let _ = writeln!(
                out,
                "{:<14} {:<34} {:>28} {:>9.2} {:>10.2} {:>8.2}",
                line.service,
                line.item,
                quantity,
                cents(line.list_usd),
                cents(line.free_tier_usd),
                cents(line.usd)
            );
            let _ = writeln!(out, "{:<14}   {}", "", line.explanation);
        }
        let _ = writeln!(
            out,
            "{:<14} {:<34} {:>28} {:>9.2} {:>10.2} {:>8.2}",
            "TOTAL",
            "",
            "",
            cents(self.list_total_usd),
            cents(self.free_tier_usd),
            cents(self.total_usd)
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "With a commitment on the warehouse instance:");
        for saving in &self.savings {
            let _ = writeln!(
                out,
                "  {:<42} {:>8.2} USD/month: {}",
                saving.option, saving.monthly_usd, saving.explanation
            );
        }
        let _ = writeln!(out);
        for note in &self.notes {
            let _ = writeln!(out, "Note: {note}");
        }
        out
    }
}

/// Rounded to cents; a free-tier share below half a cent shows as 0.00, not -0.00.
fn cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0 + 0.0
}

/// A whole count with thousands separators: 1,000,000.
pub(super) fn count(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Up to 10 decimals, without trailing zeros.
fn trim_number(value: f64) -> String {
    let text = if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.10}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(1000.0), "1,000");
        assert_eq!(count(200_000.0), "200,000");
        assert_eq!(count(1_000_000.0), "1,000,000");
    }

    #[test]
    fn cents_never_print_as_negative_zero() {
        assert_eq!(format!("{:.2}", cents(-0.000_292)), "0.00");
        assert_eq!(format!("{:.2}", cents(-0.006)), "-0.01");
        assert_eq!(format!("{:.2}", cents(6.132)), "6.13");
    }

    #[test]
    fn trim_number_drops_trailing_zeros() {
        assert_eq!(trim_number(730.0), "730");
        assert_eq!(trim_number(0.0084), "0.0084");
        assert_eq!(trim_number(0.5), "0.5");
        assert_eq!(trim_number(0.000_013_333_4), "0.0000133334");
    }
}
