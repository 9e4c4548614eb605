//! The platform's stacks, in deployment order, and where each lives.

use serde::Serialize;

use crate::config::Deployment;

/// CloudFormation accepts template bodies up to this size inline; larger
/// templates must be uploaded to S3 and passed by URL.
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;
/// The limit for templates passed by S3 URL.
pub const S3_TEMPLATE_LIMIT: usize = 1_000_000;

/// Where a stack lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// The environment's region.
    Regional,
    /// us-east-1: CloudFront certificates, the CLOUDFRONT WAF, AWS Budgets.
    Global,
}

/// One stack of the platform, in deployment order.
pub struct StackDef {
    pub name: &'static str,
    pub purpose: &'static str,
    pub placement: Placement,
    /// Whether this environment needs the stack at all.
    pub needed: fn(&Deployment) -> bool,
    /// Build artifacts the stack's instance fetches by itself (see [`super::current_pointer_key`]).
    pub fetches: &'static [&'static str],
}

fn always(_: &Deployment) -> bool {
    true
}

/// The deployer role and the roles' permissions boundary: deployed once per
/// environment by an administrator (`sbwctl bootstrap`), never by `deploy`.
pub const DEPLOYER: StackDef = StackDef {
    name: "deployer",
    purpose: "CloudFormation service role of the stacks and the permissions boundary of their roles (sbwctl bootstrap)",
    placement: Placement::Regional,
    needed: always,
    fetches: &[],
};

pub const STACKS: &[StackDef] = &[
    StackDef {
        name: "storage",
        purpose: "raw events, artifacts and access-log buckets",
        placement: Placement::Regional,
        needed: always,
        fetches: &[],
    },
    // After storage: its S3 gateway endpoint names the project's buckets.
    StackDef {
        name: "network",
        purpose: "VPC, subnets, S3 gateway endpoint, security groups",
        placement: Placement::Regional,
        needed: always,
        fetches: &[],
    },
    StackDef {
        name: "auth",
        purpose: "Cognito user pools, app clients, hosted UI domains",
        placement: Placement::Regional,
        needed: always,
        fetches: &[],
    },
    StackDef {
        name: "warehouse",
        purpose: "EC2 PostgreSQL + Shiny + nginx, data volume, snapshots, dashboard ALB",
        placement: Placement::Regional,
        needed: always,
        fetches: &["dashboard"],
    },
    StackDef {
        name: "ingest",
        purpose: "HTTP API, JWT authorizer, ingest Lambda, dead-letter queue",
        placement: Placement::Regional,
        needed: always,
        fetches: &[],
    },
    StackDef {
        name: "etl",
        purpose: "ETL Lambda in the VPC and its schedule",
        placement: Placement::Regional,
        needed: always,
        fetches: &[],
    },
    StackDef {
        name: "edge-global",
        purpose: "CloudFront WAF web ACL (per-client rate rule) and certificate (us-east-1)",
        placement: Placement::Global,
        needed: always,
        fetches: &[],
    },
    StackDef {
        name: "edge",
        purpose: "static site bucket and CloudFront distribution, /v1/* to the API",
        placement: Placement::Regional,
        needed: always,
        fetches: &[],
    },
    StackDef {
        name: "observability",
        purpose: "SNS alarm topic, alarms, CloudWatch dashboard",
        placement: Placement::Regional,
        needed: always,
        fetches: &[],
    },
    StackDef {
        name: "budget",
        purpose: "AWS Budgets monthly budget with actual and forecast alerts (us-east-1)",
        placement: Placement::Global,
        needed: always,
        fetches: &[],
    },
];
