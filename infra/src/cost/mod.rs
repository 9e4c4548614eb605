//! `sbwctl cost`: the estimated monthly bill of a deployment, per service,
//! before anything is deployed.
//!
//! Two inputs: the resolved config (sizes and traffic assumptions) and the
//! [`Footprint`] of the rendered templates (how many NAT gateways, load
//! balancers, alarms, WAF rules ... the stacks really create), so the estimate
//! cannot drift from what is deployed. Every line says how it was computed.
//! AWS's always-free allowances are shown separately: they are per account.

pub mod prices;

use std::fmt::Write as _;

use serde::Serialize;

use crate::catalogue::{self, Architecture, ROOT_VOLUME_GB};
use crate::config::Deployment;
use crate::names;
use crate::render::{Resource, OPS_SNAPSHOT_MEMORY_MB};
pub use prices::PriceTable;

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

/// What the rendered stacks create that has a monthly price of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Footprint {
    pub nat_gateways: u32,
    pub load_balancers: u32,
    /// Public IPv4 addresses AWS bills per hour (Elastic IPs, ALB nodes, instances).
    pub public_ipv4: u32,
    pub alarms: u32,
    pub dashboards: u32,
    pub custom_metrics: u32,
    /// Instances that put a dashboard heartbeat every minute.
    pub heartbeats: u32,
    /// Phone numbers subscribed to the alarm topic.
    pub sms_subscribers: u32,
    /// Functions that snapshot CloudWatch and SQS figures on the ETL's schedule.
    pub ops_collectors: u32,
    /// Customer-managed KMS keys (the deployer stack's keys of the secrets).
    pub kms_keys: u32,
    pub waf_web_acls: u32,
    /// Rules and managed rule groups across the web ACLs (billed per rule).
    pub waf_rules: u32,
    pub bot_control: bool,
}

impl Footprint {
    /// Counts what the rendered stacks of `manifest`, the deployer's with
    /// them, create.
    pub fn of(manifest: &crate::render::Manifest) -> Footprint {
        let mut footprint = Footprint::default();
        let resources = manifest
            .stacks
            .iter()
            .chain([&manifest.deployer])
            .flat_map(|stack| stack.template().resources());
        for resource in resources {
            footprint.count(&resource);
        }
        footprint
    }

    fn count(&mut self, resource: &Resource) {
        let property = |pointer: &str| resource.property_str(pointer);
        match resource.kind {
            "AWS::EC2::NatGateway" => self.nat_gateways += 1,
            "AWS::EC2::EIP" => self.public_ipv4 += 1,
            "AWS::ElasticLoadBalancingV2::LoadBalancer" => {
                self.load_balancers += 1;
                if property("/Scheme") == Some("internet-facing") {
                    let zones = resource
                        .property("/Subnets")
                        .and_then(|s| s.as_array())
                        .map_or(0, Vec::len);
                    self.public_ipv4 += zones as u32;
                }
            }
            "AWS::CloudWatch::Alarm" => {
                self.alarms += 1;
                if property("/Namespace") == Some(names::metric::NAMESPACE) {
                    self.custom_metrics += 1;
                }
                if property("/MetricName") == Some(names::metric::DASHBOARD_HEARTBEAT) {
                    self.heartbeats += 1;
                }
            }
            "AWS::SNS::Subscription" if property("/Protocol") == Some("sms") => {
                self.sms_subscribers += 1;
            }
            "AWS::CloudWatch::Dashboard" => self.dashboards += 1,
            "AWS::KMS::Key" => self.kms_keys += 1,
            "AWS::Lambda::Function"
                if property("/Environment/Variables/SBW_ETL_TASK") == Some("ops-snapshot") =>
            {
                self.ops_collectors += 1;
            }
            "AWS::WAFv2::WebACL" => {
                self.waf_web_acls += 1;
                let rules = resource
                    .property("/Rules")
                    .and_then(|r| r.as_array())
                    .map_or(&[][..], Vec::as_slice);
                self.waf_rules += rules.len() as u32;
                self.bot_control |= rules.iter().any(|rule| {
                    rule.get("Name").and_then(|n| n.as_str())
                        == Some("AWSManagedRulesBotControlRuleSet")
                });
            }
            _ => {}
        }
    }
}

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
    let mut bill = Bill { lines: Vec::new() };
    for section in [
        warehouse,
        network,
        edge,
        lambda,
        raw_store,
        secrets,
        observability,
    ] {
        section(&mut bill, &inputs);
    }
    let (events_text, requests_text, runs_text) = (count(events), count(requests), count(runs));
    let lines = bill.lines;
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

/// What every section of the bill is computed from.
struct Inputs<'a> {
    d: &'a Deployment,
    footprint: &'a Footprint,
    prices: &'a PriceTable,
    volume: Volume,
}

/// The monthly quantities the traffic assumptions come to.
#[derive(Clone, Copy)]
struct Volume {
    events: f64,
    requests: f64,
    runs: f64,
    /// Runs of the ops snapshot collector (on the ETL's schedule).
    ops_runs: f64,
}

/// The warehouse: the one always-on server, its disks and snapshots.
fn warehouse(bill: &mut Bill, x: &Inputs) {
    let d = x.d;
    let prices = x.prices;
    let Volume { events, .. } = x.volume;
    let hourly = catalogue::instance_type(&d.instance_type)
        .and_then(|t| t.hourly_usd_in(prices.region))
        .unwrap_or(0.0);
    bill.add(
        "EC2",
        format!("warehouse instance {}", d.instance_type),
        (HOURS_PER_MONTH, "hours", hourly),
        None,
        "PostgreSQL, the Shiny dashboards and nginx on one instance, on all month".to_owned(),
    );
    let disk_gb = (ROOT_VOLUME_GB + d.data_volume_gb) as f64;
    bill.add(
        "EBS",
        "gp3 volumes (root + data)".to_owned(),
        (disk_gb, "GB-month", prices.gp3_gb_month),
        None,
        format!(
            "{ROOT_VOLUME_GB} GB root disk + {} GB encrypted data volume, baseline IOPS",
            d.data_volume_gb
        ),
    );
    let warehouse_gb = events * a::MONTHS_OF_DATA * a::WAREHOUSE_BYTES_PER_EVENT / 1e9;
    bill.add("EBS", "daily snapshots (DLM)".to_owned(), (warehouse_gb, "GB-month", prices.snapshot_gb_month), None, format!(
            "incremental snapshots kept {} days ~ one copy of the {:.1} GB of warehouse data after {} months",
            d.snapshot_retain_days,
            warehouse_gb,
            a::MONTHS_OF_DATA
        ));
}

/// Addresses, the NAT gateway and the load balancer (what the footprint has).
fn network(bill: &mut Bill, x: &Inputs) {
    let d = x.d;
    let footprint = x.footprint;
    let prices = x.prices;
    let t = &d.traffic;
    let ipv4 = footprint.public_ipv4 as f64 + if d.public_ipv4 { 1.0 } else { 0.0 };
    bill.add("VPC", "public IPv4 addresses".to_owned(), (ipv4 * HOURS_PER_MONTH, "address-hours", prices.public_ipv4_hour), None, format!("{ipv4} address(es): NAT gateway Elastic IP, one per ALB node, the instance's if enabled"));
    let nat = footprint.nat_gateways as f64;
    bill.add("VPC", "NAT gateway".to_owned(), (nat * HOURS_PER_MONTH, "hours", prices.nat_gateway_hour), None, "lets the private subnets reach the internet (packages, Session Manager); one, not one per AZ".to_owned());
    bill.add("VPC", "NAT gateway data processed".to_owned(), (nat * a::NAT_GB_PER_MONTH, "GB", prices.nat_gateway_gb), None, format!("~{} GB of updates and Session Manager traffic; S3 goes through the free gateway endpoint", a::NAT_GB_PER_MONTH));
    let albs = footprint.load_balancers as f64;
    bill.add(
        "ELB",
        "application load balancer".to_owned(),
        (albs * HOURS_PER_MONTH, "hours", prices.alb_hour),
        None,
        "TLS and Cognito sign-in in front of the dashboard".to_owned(),
    );
    let lcu_hours = albs
        * (HOURS_PER_MONTH * a::ALB_IDLE_LCU
            + t.dashboard_hours_per_month.get() as f64 * a::ALB_LCU_PER_DASHBOARD_HOUR);
    bill.add(
        "ELB",
        "load balancer capacity units".to_owned(),
        (lcu_hours, "LCU-hours", prices.alb_lcu_hour),
        None,
        format!(
            "{} LCU idle + {} LCU per dashboard hour",
            a::ALB_IDLE_LCU,
            a::ALB_LCU_PER_DASHBOARD_HOUR
        ),
    );
}

/// CloudFront, the HTTP API and WAF: every request on its way in.
fn edge(bill: &mut Bill, x: &Inputs) {
    let d = x.d;
    let footprint = x.footprint;
    let prices = x.prices;
    let Volume {
        events, requests, ..
    } = x.volume;
    let events_text = count(events);
    let requests_text = count(requests);
    let t = &d.traffic;
    bill.add(
        "CloudFront",
        "HTTPS requests".to_owned(),
        (
            (requests + t.site_page_views_per_month.get() as f64) / 10_000.0,
            "10k requests",
            prices.cloudfront_https_per_10k,
        ),
        Some(Allowance(1_000.0)),
        format!(
            "{requests_text} event POSTs + {} site page views; always free: 10 M requests/month",
            count(t.site_page_views_per_month.get() as f64)
        ),
    );
    let site_gb = t.site_page_views_per_month.get() as f64 * a::SITE_KB_PER_PAGE_VIEW / 1e6;
    bill.add(
        "CloudFront",
        "data out to viewers".to_owned(),
        (site_gb, "GB", prices.cloudfront_gb_out),
        Some(Allowance(1_000.0)),
        format!(
            "{} KB per site page view; always free: 1 TB/month",
            a::SITE_KB_PER_PAGE_VIEW
        ),
    );
    bill.add(
        "API Gateway",
        "HTTP API requests".to_owned(),
        (
            requests / 1e6,
            "million requests",
            prices.http_api_per_million,
        ),
        None,
        format!(
            "{events_text} events / {} per request (SDK batching)",
            t.events_per_request.get()
        ),
    );
    if footprint.waf_web_acls > 0 {
        bill.add(
            "WAF",
            "web ACLs".to_owned(),
            (
                footprint.waf_web_acls as f64,
                "web ACL-months",
                prices.waf_web_acl_month,
            ),
            None,
            "one CLOUDFRONT web ACL in us-east-1, for the per-client rate rule in every profile"
                .to_owned(),
        );
        bill.add(
            "WAF",
            "rules and managed rule groups".to_owned(),
            (
                footprint.waf_rules as f64,
                "rule-months",
                prices.waf_rule_month,
            ),
            None,
            match footprint.waf_rules {
                1 => "the per-client rate rule on /v1/ (every profile)".to_owned(),
                rules => format!(
                    "the per-client rate rule on /v1/ and {} AWS managed rule groups (features.waf)",
                    rules - 1
                ),
            },
        );
        bill.add(
            "WAF",
            "requests inspected".to_owned(),
            (
                (requests + t.site_page_views_per_month.get() as f64) / 1e6,
                "million requests",
                prices.waf_per_million,
            ),
            None,
            "every request CloudFront receives".to_owned(),
        );
    }
    if footprint.bot_control {
        bill.add(
            "WAF",
            "Bot Control subscription".to_owned(),
            (1.0, "month", prices.bot_control_month),
            None,
            "the common Bot Control rule group".to_owned(),
        );
        bill.add(
            "WAF",
            "Bot Control requests".to_owned(),
            (
                (requests + t.site_page_views_per_month.get() as f64) / 1e6,
                "million requests",
                prices.bot_control_per_million,
            ),
            None,
            "requests Bot Control inspects".to_owned(),
        );
    }
}

/// Lambda: the ingest function per request, the ETL per run.
fn lambda(bill: &mut Bill, x: &Inputs) {
    let d = x.d;
    let prices = x.prices;
    let Volume {
        events,
        requests,
        runs,
        ops_runs,
    } = x.volume;
    let events_per_run = events / runs;
    let requests_text = count(requests);
    let runs_text = count(runs);
    let ops_runs_text = count(ops_runs);
    let gb_second = match d.ingest.architecture {
        Architecture::Arm64 => prices.lambda_gb_second_arm64,
        Architecture::X86_64 => prices.lambda_gb_second_x86_64,
    };
    let etl_seconds = a::ETL_SECONDS_PER_RUN + events_per_run / a::ETL_EVENTS_PER_SECOND;
    let ingest_gbs =
        requests * a::INGEST_MS_PER_REQUEST / 1000.0 * d.ingest.memory_mb.get() as f64 / 1024.0;
    let etl_gbs = runs * etl_seconds * d.etl_memory_mb as f64 / 1024.0;
    let ops_gbs = ops_runs * a::OPS_SECONDS_PER_RUN * OPS_SNAPSHOT_MEMORY_MB as f64 / 1024.0;
    bill.add(
        "Lambda",
        "requests".to_owned(),
        (
            (requests + runs + ops_runs) / 1e6,
            "million requests",
            prices.lambda_per_million_requests,
        ),
        Some(Allowance(1.0)),
        format!(
            "{requests_text} ingest invocations + {runs_text} ETL runs + {ops_runs_text} ops snapshots; always free: 1 M/month"
        ),
    );
    bill.add("Lambda", "compute".to_owned(), (ingest_gbs + etl_gbs + ops_gbs, "GB-seconds", gb_second), Some(Allowance(400_000.0)), format!(
            "ingest {} ms x {} MB per request + ETL {etl_seconds:.1} s x {} MB per run + ops snapshot {} s x {OPS_SNAPSHOT_MEMORY_MB} MB per run; always free: 400,000 GB-s/month",
            a::INGEST_MS_PER_REQUEST,
            d.ingest.memory_mb.get(),
            d.etl_memory_mb,
            a::OPS_SECONDS_PER_RUN,
        ));
}

/// S3: one object per ingest request, read once by the ETL.
fn raw_store(bill: &mut Bill, x: &Inputs) {
    let d = x.d;
    let prices = x.prices;
    let Volume {
        events,
        requests,
        runs,
        ops_runs,
    } = x.volume;
    let t = &d.traffic;
    let etl_writes = runs * 2.0;
    bill.add(
        "S3",
        "PUT and LIST requests".to_owned(),
        (
            (requests + etl_writes + runs + ops_runs) / 1000.0,
            "1k requests",
            prices.s3_put_per_thousand,
        ),
        None,
        "one raw object per ingest request, ETL state writes and one listing per run, one ops snapshot per run".to_owned(),
    );
    let pointer_reads = HOURS_PER_MONTH * a::DASHBOARD_POINTER_READS_PER_HOUR;
    bill.add(
        "S3",
        "GET requests".to_owned(),
        (
            (requests + ops_runs + pointer_reads) / 1000.0,
            "1k requests",
            prices.s3_get_per_thousand,
        ),
        None,
        format!(
            "the ETL reads each raw object once and the ops snapshot once per run; the warehouse reads the dashboard version pointer {} times an hour ({})",
            a::DASHBOARD_POINTER_READS_PER_HOUR,
            count(pointer_reads)
        ),
    );
    let raw_gb = events * a::MONTHS_OF_DATA * t.stored_bytes_per_event.get() as f64 / 1e9;
    bill.add("S3", "raw event storage".to_owned(), (raw_gb, "GB-month", prices.s3_standard_gb_month), None, format!(
            "{} months of gzip NDJSON at {} bytes/event; small objects stay in Standard (lifecycle moves objects > 128 KB only)",
            a::MONTHS_OF_DATA,
            t.stored_bytes_per_event.get()
        ));
}

/// The customer-managed keys of the secrets and their use: the ETL decrypts
/// the warehouse login at every run, ingest the hash key at each cold start.
fn secrets(bill: &mut Bill, x: &Inputs) {
    let keys = x.footprint.kms_keys;
    if keys == 0 {
        return;
    }
    bill.add(
        "KMS",
        "customer-managed keys".to_owned(),
        (keys as f64, "keys", x.prices.kms_key_month),
        None,
        format!("{keys} keys: the hash key's and the warehouse login's, rotated yearly"),
    );
    let decrypts = x.volume.runs + a::INGEST_COLD_STARTS_PER_MONTH;
    bill.add(
        "KMS",
        "decrypt requests".to_owned(),
        (
            decrypts / 10_000.0,
            "10k requests",
            x.prices.kms_per_10k_requests,
        ),
        Some(Allowance(2.0)),
        format!(
            "one per ETL run and one per ingest cold start (~{}); always free: 20,000/month",
            count(a::INGEST_COLD_STARTS_PER_MONTH)
        ),
    );
}

/// CloudWatch and data transfer out.
fn observability(bill: &mut Bill, x: &Inputs) {
    let d = x.d;
    let footprint = x.footprint;
    let prices = x.prices;
    let Volume {
        requests,
        runs,
        ops_runs,
        ..
    } = x.volume;
    let t = &d.traffic;
    let log_gb = (requests * (a::INGEST_LOG_BYTES_PER_REQUEST + a::API_LOG_BYTES_PER_REQUEST)
        + runs * a::ETL_LOG_BYTES_PER_RUN
        + ops_runs * a::OPS_LOG_BYTES_PER_RUN)
        / 1e9;
    bill.add(
        "CloudWatch",
        "log ingestion".to_owned(),
        (log_gb, "GB", prices.logs_ingest_gb),
        Some(Allowance(5.0)),
        format!(
            "{} B/request (ingest), {} B/request (API access log), {} B/ETL run, {} B/ops snapshot; always free: 5 GB",
            a::INGEST_LOG_BYTES_PER_REQUEST,
            a::API_LOG_BYTES_PER_REQUEST,
            a::ETL_LOG_BYTES_PER_RUN,
            a::OPS_LOG_BYTES_PER_RUN
        ),
    );
    bill.add(
        "CloudWatch",
        "alarms".to_owned(),
        (footprint.alarms as f64, "alarm-months", prices.alarm_month),
        Some(Allowance(10.0)),
        "standard-resolution alarms of the observability stack; always free: 10".to_owned(),
    );
    bill.add(
        "CloudWatch",
        "dashboard".to_owned(),
        (
            footprint.dashboards as f64,
            "dashboard-months",
            prices.dashboard_month,
        ),
        Some(Allowance(3.0)),
        "the operations dashboard; always free: 3 dashboards".to_owned(),
    );
    bill.add(
        "CloudWatch",
        "custom metrics".to_owned(),
        (
            footprint.custom_metrics as f64,
            "metric-months",
            prices.custom_metric_month,
        ),
        Some(Allowance(10.0)),
        "the alarmed metrics: DWFreshnessMinutes (ETL), IngestStorageFailures (ingest), DashboardHeartbeat (warehouse); always free: 10 metrics".to_owned(),
    );
    bill.add(
        "CloudWatch",
        "PutMetricData requests".to_owned(),
        (
            footprint.heartbeats as f64 * a::HEARTBEATS_PER_HOUR * HOURS_PER_MONTH / 1000.0,
            "1k requests",
            prices.cloudwatch_api_per_thousand,
        ),
        Some(Allowance(1000.0)),
        format!(
            "the dashboard heartbeat, {} a minute; always free: 1 M API requests/month",
            a::HEARTBEATS_PER_HOUR / 60.0
        ),
    );
    if footprint.sms_subscribers > 0 {
        bill.add(
            "SNS",
            "SMS alerts".to_owned(),
            (
                footprint.sms_subscribers as f64 * a::ALARM_NOTIFICATIONS_PER_MONTH,
                "messages",
                prices.sns_sms_message,
            ),
            None,
            format!(
                "{} numbers x {} alarm notifications a month; the price per message depends on the number's country",
                footprint.sms_subscribers,
                a::ALARM_NOTIFICATIONS_PER_MONTH
            ),
        );
    }
    let ops_runs_text = count(ops_runs);
    bill.add(
        "CloudWatch",
        "GetMetricData metrics requested".to_owned(),
        (
            ops_runs * a::OPS_METRICS_PER_RUN / 1000.0,
            "1k metrics",
            prices.get_metric_data_per_thousand_metrics,
        ),
        None,
        format!(
            "{ops_runs_text} ops snapshots x {} metrics (API Count, 4xx, 5xx; oldest dead letter's age); GetMetricData has no always-free allowance",
            a::OPS_METRICS_PER_RUN
        ),
    );
    bill.add(
        "SQS",
        "GetQueueAttributes requests".to_owned(),
        (
            ops_runs * a::OPS_QUEUE_ATTRIBUTE_CALLS_PER_RUN / 1e6,
            "million requests",
            prices.sqs_per_million,
        ),
        Some(Allowance(1.0)),
        format!(
            "{ops_runs_text} ops snapshots x {} dead-letter queue depth read; always free: 1 M requests/month",
            a::OPS_QUEUE_ATTRIBUTE_CALLS_PER_RUN
        ),
    );
    bill.add(
        "Data transfer",
        "dashboard traffic out".to_owned(),
        (
            t.dashboard_hours_per_month.get() as f64 * a::DASHBOARD_MB_PER_HOUR / 1000.0,
            "GB",
            prices.data_out_gb,
        ),
        Some(Allowance(100.0)),
        format!(
            "{} MB per dashboard hour; always free: 100 GB/month",
            a::DASHBOARD_MB_PER_HOUR
        ),
    );
}

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
fn count(value: f64) -> String {
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
