//! CloudWatch, alarm notifications, the ops snapshot's reads and data transfer out.

use super::{Allowance, Bill, Inputs, Volume};
use crate::cost::assumptions as a;
use crate::cost::report::count;
use crate::cost::HOURS_PER_MONTH;
/// CloudWatch and data transfer out.
pub(super) fn observability(bill: &mut Bill, x: &Inputs) {
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
