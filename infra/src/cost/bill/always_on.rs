//! What the platform costs every month whatever its traffic: the warehouse,
//! the network and the keys of the secrets.

use super::{Allowance, Bill, Inputs, Volume};
use crate::catalogue::{self, ROOT_VOLUME_GB};
use crate::cost::assumptions as a;
use crate::cost::report::count;
use crate::cost::HOURS_PER_MONTH;
/// The warehouse: the one always-on server, its disks and snapshots.
pub(super) fn warehouse(bill: &mut Bill, x: &Inputs) {
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
pub(super) fn network(bill: &mut Bill, x: &Inputs) {
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

/// The customer-managed keys of the secrets and their use: the ETL decrypts
/// the warehouse login at every run, ingest the hash key at each cold start.
pub(super) fn secrets(bill: &mut Bill, x: &Inputs) {
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
