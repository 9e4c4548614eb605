//! Who may do what: the names of the deployer stack and role that
//! CloudFormation deploys every stack with (`sbwctl bootstrap`), the
//! permissions boundary every role of the stacks carries, and the operator's
//! own policy (`sbwctl policy operator`). Each name is defined here once;
//! templates see them in their context.

use crate::config::Deployment;

/// The IAM path of every role and instance profile the stacks create: the
/// deployer role may create and pass roles only under it.
pub fn role_path(d: &Deployment) -> String {
    format!("/sbw/{}/{}/", d.project, d.environment)
}

/// The SSM parameter path of this environment's own parameters.
pub fn parameter_path(d: &Deployment) -> String {
    format!("/sbw/{}/{}/", d.project, d.environment)
}

/// The stack `sbwctl bootstrap` deploys (in the environment's region).
pub fn deployer_stack_name(d: &Deployment) -> String {
    format!("{}-deployer", d.prefix())
}

/// The CloudFormation service role of every stack of the environment.
pub fn deployer_role_name(d: &Deployment) -> String {
    format!("{}-deployer", d.prefix())
}

/// The managed policy every role of the stacks carries as its boundary.
pub fn boundary_policy_name(d: &Deployment) -> String {
    format!("{}-boundary", d.prefix())
}

/// The deployer role's ARN, as IAM names it (no path).
pub fn deployer_role_arn(d: &Deployment) -> String {
    format!(
        "arn:aws:iam::{}:role/{}",
        d.account_id,
        deployer_role_name(d)
    )
}

/// The boundary policy's ARN.
pub fn boundary_policy_arn(d: &Deployment) -> String {
    format!(
        "arn:aws:iam::{}:policy/{}",
        d.account_id,
        boundary_policy_name(d)
    )
}

/// The deployer stack's output naming the role.
pub const DEPLOYER_ROLE_OUTPUT: &str = "DeployerRoleArn";

/// The deployer stack's output naming the key of the hash key's SecureString.
pub const HASH_KEY_KEY_OUTPUT: &str = "HashKeyKeyArn";

/// The alias of the customer-managed key that encrypts the HMAC key for
/// identifiers: only the ingest role may decrypt with it.
pub fn hash_key_key_alias(d: &Deployment) -> String {
    format!("alias/sbw/{}/{}/hash-key", d.project, d.environment)
}

/// The alias of the customer-managed key that encrypts the ETL's warehouse
/// login: the instance writes with it, only the ETL role decrypts.
pub fn warehouse_login_key_alias(d: &Deployment) -> String {
    format!("alias/sbw/{}/{}/warehouse-login", d.project, d.environment)
}

/// Services the stacks make create their service-linked role on first use:
/// the load balancer (hardened profile) and WAF's logging.
pub const SERVICE_LINKED_ROLES: &[&str] =
    &["elasticloadbalancing.amazonaws.com", "wafv2.amazonaws.com"];

/// What the AWS managed policies attached to the stacks' roles grant (their
/// documents in the AWS Managed Policy Reference, version noted), so the
/// policy test can check that the boundary allows every action they give.
pub const AWS_MANAGED_POLICIES: &[(&str, &[&str])] = &[
    (
        // v3, January 2024
        "service-role/AWSLambdaVPCAccessExecutionRole",
        &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
    ),
    (
        // v2, May 2019
        "AmazonSSMManagedInstanceCore",
        &[
            "ssm:DescribeAssociation",
            "ssm:GetDeployablePatchSnapshotForInstance",
            "ssm:GetDocument",
            "ssm:DescribeDocument",
            "ssm:GetManifest",
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:ListAssociations",
            "ssm:ListInstanceAssociations",
            "ssm:PutInventory",
            "ssm:PutComplianceItems",
            "ssm:PutConfigurePackageResult",
            "ssm:UpdateAssociationStatus",
            "ssm:UpdateInstanceAssociationStatus",
            "ssm:UpdateInstanceInformation",
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
            "ec2messages:AcknowledgeMessage",
            "ec2messages:DeleteMessage",
            "ec2messages:FailMessage",
            "ec2messages:GetEndpoint",
            "ec2messages:GetMessages",
            "ec2messages:SendReply",
        ],
    ),
    (
        // v8, December 2024
        "service-role/AWSDataLifecycleManagerServiceRole",
        &[
            "ec2:CreateSnapshot",
            "ec2:CreateSnapshots",
            "ec2:DeleteSnapshot",
            "ec2:DescribeInstances",
            "ec2:DescribeVolumes",
            "ec2:DescribeSnapshots",
            "ec2:EnableFastSnapshotRestores",
            "ec2:DescribeFastSnapshotRestores",
            "ec2:DisableFastSnapshotRestores",
            "ec2:CopySnapshot",
            "ec2:ModifySnapshotAttribute",
            "ec2:DescribeSnapshotAttribute",
            "ec2:DescribeSnapshotTierStatus",
            "ec2:ModifySnapshotTier",
            "ec2:DescribeAvailabilityZones",
            "ec2:CreateTags",
            "events:PutRule",
            "events:DeleteRule",
            "events:DescribeRule",
            "events:EnableRule",
            "events:DisableRule",
            "events:ListTargetsByRule",
            "events:PutTargets",
            "events:RemoveTargets",
        ],
    ),
];
