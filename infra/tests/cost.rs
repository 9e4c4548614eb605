//! `sbwctl cost` arithmetic, checked against numbers computed by hand.

use sbw_infra::config::{self, Deployment};
use sbw_infra::cost::{self, Estimate, Footprint};
use sbw_infra::render;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");

fn deployment(region: &str, extra: &str) -> Deployment {
    deployment_with_events(region, 1_000_000, extra)
}

fn deployment_with_events(region: &str, events: u64, extra: &str) -> Deployment {
    let text = format!(
        "project: shop
environments:
  test:
    account_id: \"123456789012\"
    region: {region}
    profile: minimal
    site: {{origins: [https://shop.example.com], site_keys: [pk_test_12345678]}}
    alerts: {{emails: [ops@example.com]}}
    budget: {{monthly_usd: 10}}
    traffic:
      events_per_month: {events}
      events_per_request: 10
      stored_bytes_per_event: 200
      dashboard_hours_per_month: 50
      site_page_views_per_month: 0
{extra}"
    );
    config::resolve(&text, "test.yaml", "test", None).unwrap()
}

fn line<'a>(estimate: &'a Estimate, item: &str) -> &'a cost::LineItem {
    estimate
        .lines
        .iter()
        .find(|l| l.item == item)
        .unwrap_or_else(|| panic!("no line {item:?}"))
}

#[track_caller]
fn assert_usd(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

fn small_footprint() -> Footprint {
    Footprint {
        alarms: 12,
        dashboards: 1,
        custom_metrics: 1,
        ops_collectors: 1,
        ..Footprint::default()
    }
}

#[test]
fn minimal_lines_by_hand() {
    let estimate = cost::estimate(&deployment("us-east-1", ""), &small_footprint());
    assert_eq!(estimate.price_region, "us-east-1");
    // 730 h x 0.0084
    assert_usd(line(&estimate, "warehouse instance t4g.micro").usd, 6.132);
    // (8 GB root + 15 GB data) x 0.08
    assert_usd(line(&estimate, "gp3 volumes (root + data)").usd, 1.84);
    // 1e6 events x 12 months x 600 B = 7.2 GB x 0.05
    assert_usd(line(&estimate, "daily snapshots (DLM)").usd, 0.36);
    // 1e6 / 10 = 100,000 requests = 0.1 M x 1.00
    assert_usd(line(&estimate, "HTTP API requests").usd, 0.1);
    // 100,000 object PUTs + 730 runs x 2 state writes + 730 listings + 730 ops
    // snapshots = 102,920 x 0.005 / 1000
    assert_usd(line(&estimate, "PUT and LIST requests").usd, 0.5146);
    // 100,000 raw objects + 730 ops snapshots read by the ETL + 730 h x 60 dashboard
    // pointer reads = 144,530 GETs x 0.0004 / 1000
    assert_usd(line(&estimate, "GET requests").usd, 0.057_812);
    // 1e6 x 12 x 200 B = 2.4 GB x 0.023
    assert_usd(line(&estimate, "raw event storage").usd, 0.0552);
    // 12 alarms x 0.10 = 1.20, of which 10 are always free
    let alarms = line(&estimate, "alarms");
    assert_usd(alarms.list_usd, 1.2);
    assert_usd(alarms.free_tier_usd, -1.0);
    assert_usd(alarms.usd, 0.2);
    // No NAT gateway, load balancer, WAF or public address on this footprint.
    for absent in [
        "NAT gateway",
        "application load balancer",
        "web ACLs",
        "public IPv4 addresses",
    ] {
        assert!(
            estimate.lines.iter().all(|l| l.item != absent),
            "{absent} should not be billed"
        );
    }
}

#[test]
fn lambda_compute_by_hand() {
    let estimate = cost::estimate(&deployment("us-east-1", ""), &small_footprint());
    // ingest: 100,000 x 0.040 s x 0.25 GB = 1,000 GB-s
    // etl: 730 runs x (5 s + 1,369.86 events / 2,000 per s) x 0.5 GB
    // ops snapshot: 730 runs x 1 s x 0.125 GB = 91.25 GB-s
    let events_per_run = 1_000_000.0 / 730.0;
    let etl = 730.0 * (5.0 + events_per_run / 2000.0) * 0.5;
    let compute = line(&estimate, "compute");
    assert_usd(compute.quantity, 1000.0 + etl + 91.25);
    assert_usd(compute.list_usd, (1000.0 + etl + 91.25) * 0.000_013_333_4);
    assert_usd(compute.usd, 0.0); // well inside the 400,000 GB-s always free
}

#[test]
fn free_tier_is_capped_at_the_allowance() {
    let d = deployment_with_events(
        "us-east-1",
        100_000_000,
        "    ingest: {architecture: x86_64}\n",
    );
    let estimate = cost::estimate(&d, &small_footprint());
    // 100 M events / 10 = 10 M requests + 730 ETL runs + 730 ops snapshots
    let requests = line(&estimate, "requests");
    assert_usd(requests.quantity, 10.001_46);
    assert_usd(requests.list_usd, 10.001_46 * 0.2);
    assert_usd(requests.free_tier_usd, -0.2);
    assert_usd(requests.usd, 9.001_46 * 0.2);
    // x86_64 is billed at the x86 GB-second price.
    assert_usd(line(&estimate, "compute").unit_usd, 0.000_016_666_7);
}

#[test]
fn totals_add_up_and_savings_only_touch_ec2() {
    let estimate = cost::estimate(&deployment("us-east-1", ""), &small_footprint());
    let list: f64 = estimate.lines.iter().map(|l| l.list_usd).sum();
    let free: f64 = estimate.lines.iter().map(|l| l.free_tier_usd).sum();
    assert_usd(estimate.list_total_usd, list);
    assert_usd(estimate.free_tier_usd, free);
    assert_usd(estimate.total_usd, list + free);
    assert_usd(
        estimate.savings[0].monthly_usd,
        estimate.total_usd - 6.132 * 0.28,
    );
    assert_usd(
        estimate.savings[1].monthly_usd,
        estimate.total_usd - 6.132 * 0.60,
    );
}

#[test]
fn ops_snapshot_collector_by_hand() {
    let hourly = cost::estimate(&deployment("us-east-1", ""), &small_footprint());
    // 730 runs x 4 metrics = 2,920 metrics x 0.01 USD / 1000; no free allowance.
    let metrics = line(&hourly, "GetMetricData metrics requested");
    assert_usd(metrics.quantity, 2.92);
    assert_usd(metrics.usd, 0.0292);
    assert_usd(metrics.free_tier_usd, 0.0);
    // 730 GetQueueAttributes = 0.00073 M x 0.40, inside SQS's 1 M free requests.
    let queue = line(&hourly, "GetQueueAttributes requests");
    assert_usd(queue.list_usd, 0.000_73 * 0.4);
    assert_usd(queue.usd, 0.0);
    // Every 15 minutes: 2,920 runs x 4 = 11,680 metrics.
    let quarterly = cost::estimate(
        &deployment("us-east-1", "    etl: {every_minutes: 15}\n"),
        &small_footprint(),
    );
    assert_usd(
        line(&quarterly, "GetMetricData metrics requested").usd,
        0.1168,
    );
    // No collector in the stacks, no lines for it.
    let without = cost::estimate(
        &deployment("us-east-1", ""),
        &Footprint {
            ops_collectors: 0,
            ..small_footprint()
        },
    );
    for absent in [
        "GetMetricData metrics requested",
        "GetQueueAttributes requests",
    ] {
        assert!(without.lines.iter().all(|l| l.item != absent), "{absent}");
    }
    assert_usd(line(&without, "requests").quantity, 0.100_73);
}

#[test]
fn hardenefootprint_adds_nat_alb_addresses_and_waf() {
    let footprint = Footprint {
        nat_gateways: 1,
        load_balancers: 1,
        public_ipv4: 3,
        waf_web_acls: 1,
        waf_rules: 4,
        bot_control: true,
        ..small_footprint()
    };
    let estimate = cost::estimate(&deployment("us-east-1", ""), &footprint);
    assert_usd(line(&estimate, "NAT gateway").usd, 730.0 * 0.045);
    assert_usd(
        line(&estimate, "NAT gateway data processed").usd,
        3.0 * 0.045,
    );
    assert_usd(
        line(&estimate, "public IPv4 addresses").usd,
        3.0 * 730.0 * 0.005,
    );
    assert_usd(
        line(&estimate, "application load balancer").usd,
        730.0 * 0.0225,
    );
    // 0.02 LCU x 730 h + 1 LCU x 50 dashboard hours
    assert_usd(
        line(&estimate, "load balancer capacity units").usd,
        (14.6 + 50.0) * 0.008,
    );
    assert_usd(line(&estimate, "web ACLs").usd, 5.0);
    assert_usd(line(&estimate, "rules and managed rule groups").usd, 4.0);
    assert_usd(line(&estimate, "requests inspected").usd, 0.1 * 0.6);
    assert_usd(line(&estimate, "Bot Control subscription").usd, 10.0);
}

#[test]
fn regional_prices_and_fallback() {
    let singapore = cost::estimate(&deployment("ap-southeast-1", ""), &small_footprint());
    assert_eq!(singapore.price_region, "ap-southeast-1");
    assert_usd(
        line(&singapore, "warehouse instance t4g.micro").usd,
        730.0 * 0.0106,
    );
    assert!(singapore
        .notes
        .iter()
        .all(|n| !n.contains("No price table")));
    let frankfurt = cost::estimate(&deployment("eu-central-1", ""), &small_footprint());
    assert_eq!(frankfurt.price_region, "us-east-1");
    assert!(frankfurt
        .notes
        .iter()
        .any(|n| n.contains("No price table for eu-central-1")));
}

#[test]
fn public_ipv4_switch_is_billed() {
    let extra =
        "    network: {dashboard_cidrs: [203.0.113.0/24]}\n    warehouse: {public_ipv4: true}\n";
    let estimate = cost::estimate(&deployment("us-east-1", extra), &small_footprint());
    assert_usd(line(&estimate, "public IPv4 addresses").usd, 3.65);
}

fn example(env: &str, profile: Option<config::Profile>) -> (Deployment, Estimate) {
    let d = config::load(std::path::Path::new(EXAMPLE), env, profile).unwrap();
    let manifest = render::render(&d).unwrap();
    let estimate = cost::estimate(&d, &Footprint::of(&manifest));
    (d, estimate)
}

#[test]
fn footprint_counts_what_the_stacks_create() {
    let (_, minimal) = example("dev", None);
    let (_, hardened) = example("prod", None);
    let d = config::load(std::path::Path::new(EXAMPLE), "prod", None).unwrap();
    let footprint = Footprint::of(&render::render(&d).unwrap());
    assert_eq!(
        footprint,
        Footprint {
            nat_gateways: 1,
            load_balancers: 1,
            public_ipv4: 3,
            alarms: 14,
            dashboards: 1,
            custom_metrics: 3,
            heartbeats: 1,
            sms_subscribers: 0,
            ops_collectors: 1,
            kms_keys: 2,
            waf_web_acls: 1,
            waf_rules: 4,
            bot_control: false,
        }
    );
    assert!(minimal.lines.iter().all(|l| l.service != "ELB"));
    assert!(hardened.total_usd > 3.0 * minimal.total_usd);
}

/// The per-client rate rule exists in the minimal profile too, and is billed:
/// one web ACL with one rule, and every request CloudFront receives inspected.
#[test]
fn the_minimal_profile_pays_for_its_waf_rate_rule() {
    let (d, minimal) = example("dev", None);
    let footprint = Footprint::of(&render::render(&d).unwrap());
    assert_eq!((footprint.waf_web_acls, footprint.waf_rules), (1, 1));
    assert!(!footprint.bot_control);
    let waf: Vec<_> = minimal
        .lines
        .iter()
        .filter(|l| l.service == "WAF")
        .collect();
    assert_eq!(waf.len(), 3, "{waf:?}");
    assert_usd(line(&minimal, "web ACLs").usd, 5.0);
    let rules = line(&minimal, "rules and managed rule groups");
    assert_usd(rules.usd, 1.0);
    assert!(rules.explanation.contains("per-client rate rule"));
    let t = &d.traffic;
    let requests = t.events_per_month.get() as f64 / t.events_per_request.get() as f64
        + t.site_page_views_per_month.get() as f64;
    assert_usd(
        line(&minimal, "requests inspected").usd,
        requests / 1e6 * 0.6,
    );
}

/// The minimal profile's ceiling at a million events a month: ten dollars,
/// plus the four on-call alarms (issue 18: storage failures, the oldest dead
/// letter, failed schedules, the dashboard heartbeat) that take the account
/// past CloudWatch's ten free alarms at 0.10 USD each, plus the WAF web ACL
/// of the per-client rate rule (issue 19: 5 USD the ACL, 1 USD the rule,
/// 0.60 USD per million requests, here 0.3 million) and the two
/// customer-managed keys of the secrets (issue 19) at 1 USD each.
const MINIMAL_CEILING_USD: f64 = 10.0 + 4.0 * 0.10 + 5.0 + 1.0 + 0.3 * 0.60 + 2.0 * 1.00;

#[test]
fn minimal_profile_stays_under_its_ceiling_at_one_million_events() {
    let (d, estimate) = example("dev", None);
    assert_eq!(d.traffic.events_per_month.get(), 1_000_000);
    assert!(
        estimate.total_usd <= MINIMAL_CEILING_USD,
        "minimal costs {:.2} USD/month",
        estimate.total_usd
    );
    let text = estimate.to_text();
    assert!(text.contains("Prices: us-east-1 2025-06"), "{text}");
    assert!(!text.contains("-0.00"), "{text}");
}

#[test]
fn json_output_names_the_price_table() {
    let (_, estimate) = example("prod", None);
    let json = serde_json::to_value(&estimate).unwrap();
    assert_eq!(json["price_region"], "us-east-1");
    assert_eq!(json["price_date"], "2025-06");
    assert_eq!(json["profile"], "hardened");
    let lines = json["lines"].as_array().unwrap();
    assert!(lines
        .iter()
        .all(|l| !l["explanation"].as_str().unwrap().is_empty()));
    let sum: f64 = lines.iter().map(|l| l["usd"].as_f64().unwrap()).sum();
    assert!((sum - json["total_usd"].as_f64().unwrap()).abs() < 1e-9);
}

#[test]
fn sms_alerts_and_the_heartbeat_are_priced() {
    let text = std::fs::read_to_string(EXAMPLE).unwrap().replacen(
        "      emails: [ops@shop.example.com]  #",
        "      sms: [\"+84901234567\", \"+14155550100\"]\n      emails: [ops@shop.example.com]  #",
        1,
    );
    let d = config::resolve(&text, "sbw.yaml", "dev", None).unwrap();
    let footprint = Footprint::of(&render::render(&d).unwrap());
    assert_eq!((footprint.sms_subscribers, footprint.heartbeats), (2, 1));
    let estimate = cost::estimate(&d, &footprint);
    let sms = estimate
        .lines
        .iter()
        .find(|l| l.item == "SMS alerts")
        .expect("an SMS line");
    assert_eq!(
        (sms.service, sms.quantity, sms.unit),
        ("SNS", 40.0, "messages")
    );
    assert!(
        (sms.usd - 40.0 * sms.unit_usd).abs() < 1e-9,
        "no free tier for SMS"
    );
    let puts = estimate
        .lines
        .iter()
        .find(|l| l.item == "PutMetricData requests")
        .unwrap();
    assert!(
        (puts.quantity - 43.8).abs() < 1e-9,
        "one a minute: {}",
        puts.quantity
    );
    assert_eq!(puts.usd, 0.0, "inside the 1 M free API requests");
    let (_, without) = example("dev", None);
    assert!(without.lines.iter().all(|l| l.item != "SMS alerts"));
}
