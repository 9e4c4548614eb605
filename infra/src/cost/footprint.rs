//! What the rendered stacks create that has a price of its own.

use serde::Serialize;

use crate::names;
use crate::render::{Manifest, Resource};

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
    pub fn of(manifest: &Manifest) -> Footprint {
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
