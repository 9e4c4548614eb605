//! The lines of the bill: each section prices one part of the platform from
//! the deployment, its footprint, the price table and the monthly volumes.

mod always_on;
mod observability;
mod traffic;

use serde::Serialize;

use super::{Footprint, PriceTable};
use crate::config::Deployment;

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineItem {
    pub service: &'static str,
    pub item: String,
    pub quantity: f64,
    pub unit: &'static str,
    pub unit_usd: f64,
    /// quantity x unit price.
    pub list_usd: f64,
    /// The part covered by an always-free allowance (0 or negative).
    pub free_tier_usd: f64,
    pub usd: f64,
    pub explanation: String,
}

/// An always-free monthly allowance of one unit.
struct Allowance(f64);

struct Bill {
    lines: Vec<LineItem>,
}

impl Bill {
    fn add(
        &mut self,
        service: &'static str,
        item: String,
        (quantity, unit, unit_usd): (f64, &'static str, f64),
        free: Option<Allowance>,
        explanation: String,
    ) {
        if quantity <= 0.0 {
            return;
        }
        let list_usd = quantity * unit_usd;
        let free_quantity = free.map_or(0.0, |Allowance(q)| q.min(quantity));
        // `+ 0.0` turns -0.0 into 0.0, so no line prints "-0.00".
        let free_tier_usd = -(free_quantity * unit_usd) + 0.0;
        self.lines.push(LineItem {
            service,
            item,
            quantity,
            unit,
            unit_usd,
            list_usd,
            free_tier_usd,
            usd: list_usd + free_tier_usd,
            explanation,
        });
    }
}

/// What every section of the bill is computed from.
pub(super) struct Inputs<'a> {
    pub(super) d: &'a Deployment,
    pub(super) footprint: &'a Footprint,
    pub(super) prices: &'a PriceTable,
    pub(super) volume: Volume,
}

/// The monthly quantities the traffic assumptions come to.
#[derive(Clone, Copy)]
pub(super) struct Volume {
    pub(super) events: f64,
    pub(super) requests: f64,
    pub(super) runs: f64,
    /// Runs of the ops snapshot collector (on the ETL's schedule).
    pub(super) ops_runs: f64,
}

/// Every line of the bill, the warehouse instance first (the savings read it there).
pub(super) fn itemize(inputs: &Inputs) -> Vec<LineItem> {
    let mut bill = Bill { lines: Vec::new() };
    for section in [
        always_on::warehouse,
        always_on::network,
        traffic::edge,
        traffic::lambda,
        traffic::raw_store,
        always_on::secrets,
        observability::observability,
    ] {
        section(&mut bill, inputs);
    }
    bill.lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_allowance_never_exceeds_the_quantity() {
        let mut bill = Bill { lines: Vec::new() };
        bill.add(
            "X",
            "a".into(),
            (4.0, "u", 0.5),
            Some(Allowance(10.0)),
            String::new(),
        );
        bill.add(
            "X",
            "b".into(),
            (14.0, "u", 0.5),
            Some(Allowance(10.0)),
            String::new(),
        );
        bill.add("X", "zero".into(), (0.0, "u", 0.5), None, String::new());
        assert_eq!(bill.lines.len(), 2);
        assert_eq!(
            (
                bill.lines[0].list_usd,
                bill.lines[0].free_tier_usd,
                bill.lines[0].usd
            ),
            (2.0, -2.0, 0.0)
        );
        assert_eq!(
            (
                bill.lines[1].list_usd,
                bill.lines[1].free_tier_usd,
                bill.lines[1].usd
            ),
            (7.0, -5.0, 2.0)
        );
    }
}
