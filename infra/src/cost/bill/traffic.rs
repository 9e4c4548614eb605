//! What grows with the traffic: requests on their way in, the functions and
//! the raw store.

use super::{Allowance, Bill, Inputs, Volume};
use crate::catalogue::Architecture;
use crate::cost::assumptions as a;
use crate::cost::report::count;
use crate::cost::HOURS_PER_MONTH;
use crate::render::OPS_SNAPSHOT_MEMORY_MB;
/// CloudFront, the HTTP API and WAF: every request on its way in.
pub(super) fn edge(bill: &mut Bill, x: &Inputs) {
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
pub(super) fn lambda(bill: &mut Bill, x: &Inputs) {
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
pub(super) fn raw_store(bill: &mut Bill, x: &Inputs) {
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
