//! `sbwctl cost`: the estimated monthly bill of a deployment, per service,
//! before anything is deployed.
//!
//! Two inputs: the resolved config (sizes and traffic assumptions) and the
//! [`Footprint`] of the rendered templates (how many NAT gateways, load
//! balancers, alarms, WAF rules ... the stacks really create), so the estimate
//! cannot drift from what is deployed. Every line says how it was computed.
//! AWS's always-free allowances are shown separately: they are per account.

mod bill;
mod footprint;
pub mod prices;
mod report;

use serde::Serialize;

use crate::config::Deployment;
pub use bill::LineItem;
use bill::{Inputs, Volume};
pub use footprint::Footprint;
pub use prices::PriceTable;
use report::count;

pub const HOURS_PER_MONTH: f64 = 730.0;

/// Assumptions about how the software behaves, stated once.
pub mod assumptions {
    /// Average ingest Lambda duration per request (validate, gzip, one S3 PUT).
    pub const INGEST_MS_PER_REQUEST: f64 = 40.0;
    /// Lambda START/END/REPORT lines plus one JSON log line per request.
    pub const INGEST_LOG_BYTES_PER_REQUEST: f64 = 600.0;
    /// One HTTP API access log line per request.
    pub const API_LOG_BYTES_PER_REQUEST: f64 = 350.0;
    /// Fixed cost of one ETL run (connect, list, record the run), seconds.
    pub const ETL_SECONDS_PER_RUN: f64 = 5.0;
    /// Ingest containers started in a month (each reads the hash key once):
    /// about one every ten minutes, a generous figure for a small shop.
    pub const INGEST_COLD_STARTS_PER_MONTH: f64 = 4_500.0;
    /// Events the ETL loads per second once running.
    pub const ETL_EVENTS_PER_SECOND: f64 = 2_000.0;
    /// Log volume of one ETL run.
    pub const ETL_LOG_BYTES_PER_RUN: f64 = 4_000.0;
    /// One run of the ops snapshot collector: a GetMetricData call, a
    /// GetQueueAttributes call and one S3 PUT, about a second.
    pub const OPS_SECONDS_PER_RUN: f64 = 1.0;
    /// Metrics its GetMetricData call requests: the HTTP API's Count, 4xx and
    /// 5xx and the dead-letter queue's oldest message age (the messages
    /// waiting come from GetQueueAttributes).
    pub const OPS_METRICS_PER_RUN: f64 = 4.0;
    pub const OPS_QUEUE_ATTRIBUTE_CALLS_PER_RUN: f64 = 1.0;
    /// START/END/REPORT lines plus one summary line.
    pub const OPS_LOG_BYTES_PER_RUN: f64 = 700.0;
    /// The warehouse reads the dashboard's version pointer once a minute.
    pub const DASHBOARD_POINTER_READS_PER_HOUR: f64 = 60.0;
    /// The warehouse puts one dashboard heartbeat a minute.
    pub const HEARTBEATS_PER_HOUR: f64 = 60.0;
    /// Alarm notifications a month (into ALARM and back to OK), each one
    /// SMS per subscribed number.
    pub const ALARM_NOTIFICATIONS_PER_MONTH: f64 = 20.0;
    /// PostgreSQL bytes per event (row, sessions, rollups, indexes).
    pub const WAREHOUSE_BYTES_PER_EVENT: f64 = 600.0;
    /// The estimate describes month 12: a year of raw events and warehouse rows.
    pub const MONTHS_OF_DATA: f64 = 12.0;
    /// Dashboard traffic leaving AWS per hour of use.
    pub const DASHBOARD_MB_PER_HOUR: f64 = 20.0;
    /// Average size of a page of the static site served by CloudFront.
    pub const SITE_KB_PER_PAGE_VIEW: f64 = 300.0;
    /// Traffic through the NAT gateway: OS and package updates, Session Manager.
    pub const NAT_GB_PER_MONTH: f64 = 3.0;
    /// Average ALB load-balancer capacity units while idle and per dashboard hour.
    pub const ALB_IDLE_LCU: f64 = 0.02;
    pub const ALB_LCU_PER_DASHBOARD_HOUR: f64 = 1.0;
    /// Compute Savings Plan (1 year, no upfront) and reserved instance
    /// (3 years, all upfront) prices as a share of on-demand for t4g/t3.
    pub const SAVINGS_PLAN_1Y_SHARE: f64 = 0.72;
    pub const RESERVED_3Y_SHARE: f64 = 0.40;
}
use assumptions as a;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Saving {
    pub option: &'static str,
    pub monthly_usd: f64,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub project: String,
    pub environment: String,
    pub profile: &'static str,
    pub region: String,
    pub price_region: &'static str,
    pub price_date: &'static str,
    pub price_source: &'static str,
    pub assumptions: Vec<String>,
    pub lines: Vec<LineItem>,
    pub list_total_usd: f64,
    pub free_tier_usd: f64,
    pub total_usd: f64,
    pub savings: Vec<Saving>,
    pub notes: Vec<String>,
}

/// The estimated monthly bill of `deployment` whose stacks create `footprint`.
pub fn estimate(deployment: &Deployment, footprint: &Footprint) -> Estimate {
    let prices = prices::table_for(deployment.region.as_str());
    let t = &deployment.traffic;
    let events = t.events_per_month.get() as f64;
    let requests = (events / t.events_per_request.get() as f64).ceil();
    let runs = (HOURS_PER_MONTH * 60.0 / deployment.etl_every_minutes as f64).ceil();
    let inputs = Inputs {
        d: deployment,
        footprint,
        prices,
        volume: Volume {
            events,
            requests,
            runs,
            ops_runs: runs * footprint.ops_collectors as f64,
        },
    };
    let lines = bill::itemize(&inputs);
    let (events_text, requests_text, runs_text) = (count(events), count(requests), count(runs));
    let list_total_usd: f64 = lines.iter().map(|l| l.list_usd).sum();
    let free_tier_usd: f64 = lines.iter().map(|l| l.free_tier_usd).sum();
    let total_usd = list_total_usd + free_tier_usd;
    let ec2 = lines.first().map_or(0.0, |l| l.usd);
    let savings = vec![
        Saving {
            option: "Compute Savings Plan, 1 year, no upfront",
            monthly_usd: total_usd - ec2 * (1.0 - a::SAVINGS_PLAN_1Y_SHARE),
            explanation: format!(
                "the EC2 line drops to ~{:.0}% of on-demand ({:.2} USD); nothing else changes",
                a::SAVINGS_PLAN_1Y_SHARE * 100.0,
                ec2 * a::SAVINGS_PLAN_1Y_SHARE
            ),
        },
        Saving {
            option: "Reserved instance, 3 years, all upfront",
            monthly_usd: total_usd - ec2 * (1.0 - a::RESERVED_3Y_SHARE),
            explanation: format!(
                "the EC2 line drops to ~{:.0}% of on-demand ({:.2} USD/month, paid upfront); the proposal's 2.65 USD total assumes such a commitment on a smaller instance",
                a::RESERVED_3Y_SHARE * 100.0,
                ec2 * a::RESERVED_3Y_SHARE
            ),
        },
    ];
    let mut notes = vec![
        "Free-tier column: AWS's always-free monthly allowances, assuming this deployment is their only user in the account.".to_owned(),
        "Not counted: taxes, Route 53 hosted zone (0.50 USD/month if you create one), Cognito (free up to 10,000 monthly active users), AWS Budgets (first two budgets free), SNS e-mail (first 1,000 free), SQS dead-letter traffic.".to_owned(),
    ];
    if prices.region != deployment.region.as_str() {
        notes.push(format!(
            "No price table for {}: {} prices are shown; expect differences of 10-30%.",
            deployment.region, prices.region
        ));
    }
    Estimate {
        project: deployment.project.clone(),
        environment: deployment.environment.clone(),
        profile: deployment.profile.as_str(),
        region: deployment.region.to_string(),
        price_region: prices.region,
        price_date: prices::PRICE_DATE,
        price_source: prices::SOURCE,
        assumptions: vec![
            format!(
                "{events_text} events/month in batches of {} ({requests_text} requests)",
                t.events_per_request.get()
            ),
            format!(
                "ETL every {} minutes ({runs_text} runs/month)",
                deployment.etl_every_minutes
            ),
            format!(
                "{} dashboard hours/month",
                t.dashboard_hours_per_month.get()
            ),
            format!(
                "{} static site page views/month",
                count(t.site_page_views_per_month.get() as f64)
            ),
            format!(
                "storage and snapshots as in month {} of operation",
                a::MONTHS_OF_DATA
            ),
        ],
        lines,
        list_total_usd,
        free_tier_usd,
        total_usd,
        savings,
        notes,
    }
}
