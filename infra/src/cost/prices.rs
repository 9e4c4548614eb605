//! The price table `sbwctl cost` multiplies by: public on-demand list prices
//! in USD, per region, with the date they were taken. Update the table and
//! its date together; the cost tests pin the arithmetic, not these numbers.
//! The EC2 instance prices are in [`crate::catalogue`], with the instance types.

/// Where the numbers come from and when they were read.
pub const SOURCE: &str =
    "AWS public on-demand list prices (aws.amazon.com/pricing), Linux; always-free allowances in their own column";
pub const PRICE_DATE: &str = "2025-06";

/// Unit prices of one region. Field names carry the unit.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    /// One of [`crate::catalogue::PRICE_REGIONS`]: the catalogue's EC2 prices are this region's.
    pub region: &'static str,
    pub gp3_gb_month: f64,
    pub snapshot_gb_month: f64,
    pub public_ipv4_hour: f64,
    pub nat_gateway_hour: f64,
    pub nat_gateway_gb: f64,
    pub alb_hour: f64,
    pub alb_lcu_hour: f64,
    pub lambda_per_million_requests: f64,
    pub lambda_gb_second_arm64: f64,
    pub lambda_gb_second_x86_64: f64,
    pub http_api_per_million: f64,
    pub s3_standard_gb_month: f64,
    pub s3_put_per_thousand: f64,
    pub s3_get_per_thousand: f64,
    pub sqs_per_million: f64,
    pub logs_ingest_gb: f64,
    pub logs_storage_gb_month: f64,
    pub alarm_month: f64,
    pub dashboard_month: f64,
    pub custom_metric_month: f64,
    /// PutMetricData and the other CloudWatch API requests (1 M a month always free).
    pub cloudwatch_api_per_thousand: f64,
    /// One SMS through SNS: the price depends on the number's country and
    /// changes with carriers' fees; this is a mid-range international price.
    pub sns_sms_message: f64,
    /// GetMetricData is billed per metric requested (no always-free allowance).
    pub get_metric_data_per_thousand_metrics: f64,
    /// CloudFront prices depend on where viewers are; these are North America/Europe.
    pub cloudfront_https_per_10k: f64,
    pub cloudfront_gb_out: f64,
    pub cloudfront_gb_to_origin: f64,
    pub kms_key_month: f64,
    pub kms_per_10k_requests: f64,
    pub waf_web_acl_month: f64,
    pub waf_rule_month: f64,
    pub waf_per_million: f64,
    pub bot_control_month: f64,
    pub bot_control_per_million: f64,
    pub data_out_gb: f64,
}

pub const US_EAST_1: PriceTable = PriceTable {
    region: "us-east-1",
    gp3_gb_month: 0.08,
    snapshot_gb_month: 0.05,
    public_ipv4_hour: 0.005,
    nat_gateway_hour: 0.045,
    nat_gateway_gb: 0.045,
    alb_hour: 0.0225,
    alb_lcu_hour: 0.008,
    lambda_per_million_requests: 0.20,
    lambda_gb_second_arm64: 0.000_013_333_4,
    lambda_gb_second_x86_64: 0.000_016_666_7,
    http_api_per_million: 1.00,
    s3_standard_gb_month: 0.023,
    s3_put_per_thousand: 0.005,
    s3_get_per_thousand: 0.0004,
    sqs_per_million: 0.40,
    logs_ingest_gb: 0.50,
    logs_storage_gb_month: 0.03,
    alarm_month: 0.10,
    dashboard_month: 3.00,
    custom_metric_month: 0.30,
    cloudwatch_api_per_thousand: 0.01,
    sns_sms_message: 0.05,
    get_metric_data_per_thousand_metrics: 0.01,
    cloudfront_https_per_10k: 0.01,
    cloudfront_gb_out: 0.085,
    cloudfront_gb_to_origin: 0.02,
    kms_key_month: 1.00,
    kms_per_10k_requests: 0.03,
    waf_web_acl_month: 5.00,
    waf_rule_month: 1.00,
    waf_per_million: 0.60,
    bot_control_month: 10.00,
    bot_control_per_million: 1.00,
    data_out_gb: 0.09,
};

/// Singapore's prices where they differ from us-east-1's; the rest (Lambda,
/// SQS, KMS, WAF, CloudFront, CloudWatch's, ...) were the same on [`PRICE_DATE`].
pub const AP_SOUTHEAST_1: PriceTable = PriceTable {
    region: "ap-southeast-1",
    gp3_gb_month: 0.096,
    nat_gateway_hour: 0.059,
    nat_gateway_gb: 0.059,
    alb_hour: 0.0252,
    s3_standard_gb_month: 0.025,
    logs_ingest_gb: 0.70,
    logs_storage_gb_month: 0.033,
    data_out_gb: 0.12,
    ..US_EAST_1
};

/// The table for `region`, or us-east-1's (the estimate then says so).
pub fn table_for(region: &str) -> &'static PriceTable {
    match region {
        "ap-southeast-1" => &AP_SOUTHEAST_1,
        _ => &US_EAST_1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::INSTANCE_TYPES;

    #[test]
    fn every_supported_instance_type_has_a_price_in_every_table() {
        for table in [&US_EAST_1, &AP_SOUTHEAST_1] {
            for instance in INSTANCE_TYPES {
                assert!(
                    instance.hourly_usd_in(table.region).is_some(),
                    "{} in {}",
                    instance.name,
                    table.region
                );
            }
        }
    }
}
