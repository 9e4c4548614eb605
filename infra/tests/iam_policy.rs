//! Least privilege that holds (issue 19, item 1): the operator policy, the
//! deployer role's policy, the permissions boundary and every role of every
//! rendered variant, parsed and checked as data.
//!
//! Fails on: an `iam:` action the operator holds other than PassRole of the
//! deployer role to CloudFormation; a write action of the operator, the
//! deployer or the boundary whose resource is not this environment's (its
//! name prefix or IAM path, or a tag condition where the service names
//! resources by id) unless listed in [`UNSCOPED`] with its reason; a role
//! created without the boundary, or one the deployer could create without it;
//! an action a stack role's own policies grant that the boundary does not
//! allow (AWS would refuse it at run time); and an example policy that is
//! not what `sbwctl policy operator` prints.
//!
//! Over 400 lines on purpose: one check per rule above, each walking the same
//! parsed policies; each file under tests/ is its own test binary, linked
//! anew on every change.

mod variants;

use std::path::Path;

use sbw_infra::config::{self, Deployment, Profile};
use sbw_infra::iam;
use sbw_infra::render::{self, Manifest};
use serde_json::Value;
use variants::{CASES, EXAMPLE};

const EXAMPLE_POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/operator-policy.json"
);
/// The operator policy before this check existed (kept to show the check bites).
const OLD_POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/operator-policy-before-issue-19.json"
);

/// Statements (by Sid) allowed to write to resources that carry no name of
/// the environment and no tag condition, and why that is the best IAM offers.
const UNSCOPED: &[(&str, &str, &str)] = &[
    ("deployer", "LogDeliveries", "CloudWatch Logs' vended-log delivery APIs (HTTP API access logs, WAF logs) accept only Resource \"*\""),
    ("deployer", "ServiceLinkedRoles", "service-linked roles have AWS's names and path; the iam:AWSServiceName condition limits which services"),
    ("deployer", "LaunchFromPublicImagesAndNewInterfaces", "RunInstances also authorizes the public AMI it reads and the network interface it creates; the instance, its subnet and security group must carry the environment's tags (CreateTagged, ChangeTagged)"),
    ("deployer", "SnapshotsOfTheDataVolume", "the snapshot CloudFormation takes when the data volume is replaced is new; the volume must carry the environment's tags (ChangeTagged)"),
    ("deployer", "TagNewSnapshots", "only while creating a snapshot (ec2:CreateAction)"),
    ("deployer", "CloudFrontPolicies", "cache, origin-request and response-headers policies and origin access controls are named by id and cannot be tagged; they hold no data"),
    ("boundary", "FunctionNetworkInterfaces", "Lambda creates and deletes the VPC function's network interfaces with the function's role; their ids are not known in advance"),
    ("boundary", "InstanceSessions", "the SSM agent's own calls for the instance it runs on"),
    ("boundary", "DailySnapshots", "DLM's role acts on the volumes the policy targets by the environment's sbw:backup tag"),
    ("boundary", "TagSnapshots", "DLM tags the snapshots it creates"),
    ("boundary", "ProjectMetrics", "PutMetricData has no resource type; the cloudwatch:namespace condition limits it"),
    ("boundary", "DecryptThroughSsm", "the AWS managed SSM key, only through SSM (kms:ViaService); the parameter itself is scoped"),
    ("boundary", "SnapshotSchedules", "DLM's own EventBridge rules, which AWS names AwsDataLifecycleRule.managed-cwe.*"),
];

fn deployment(file: &str, env: &str, profile: Option<Profile>) -> Deployment {
    config::load(Path::new(file), env, profile).unwrap()
}

fn manifest(d: &Deployment) -> Manifest {
    render::render(d).unwrap()
}

fn yaml(body: &str) -> Value {
    serde_saphyr::from_str(body).unwrap()
}

/// One statement, its `Fn::Sub` strings resolved for the deployment.
#[derive(Debug, Clone)]
struct Statement {
    sid: String,
    allow: bool,
    not_action: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    condition: Value,
}

fn strings(value: &Value, d: &Deployment) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(|v| strings(v, d)).collect(),
        Value::Null => vec![],
        other => vec![resolve(other, d)],
    }
}

/// A string, or a `Fn::Sub` of the pseudo parameters; other intrinsics
/// (`Fn::GetAtt`, `Fn::ImportValue`) name the stack's own resources.
fn resolve(value: &Value, d: &Deployment) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("Fn::Sub") {
            Some(Value::String(s)) => s.clone(),
            _ => format!("(stack resource {value})"),
        },
        other => other.to_string(),
    };
    text.replace("${AWS::Partition}", "aws")
        .replace("${AWS::AccountId}", &d.account_id.to_string())
        .replace("${AWS::Region}", &d.region.to_string())
}

fn statements(document: &Value, d: &Deployment) -> Vec<Statement> {
    let list = match &document["Statement"] {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    list.iter()
        .map(|s| Statement {
            sid: s["Sid"].as_str().unwrap_or_default().to_owned(),
            allow: s["Effect"] == "Allow",
            not_action: s.get("NotAction").is_some(),
            actions: strings(s.get("Action").or(s.get("NotAction")).unwrap(), d),
            resources: strings(&s["Resource"], d),
            condition: resolve_condition(s.get("Condition").cloned().unwrap_or(Value::Null), d),
        })
        .collect()
}

fn resolve_condition(condition: Value, d: &Deployment) -> Value {
    match condition {
        Value::Object(o) if o.contains_key("Fn::Sub") => {
            Value::String(resolve(&Value::Object(o), d))
        }
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, resolve_condition(v, d)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| resolve_condition(v, d)).collect()),
        other => other,
    }
}

/// IAM's wildcard match (`*` any run, `?` one character), case-insensitive.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((b'?', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first().is_some_and(|x| x == c) && go(rest, &t[1..]),
        }
    }
    go(
        pattern.to_ascii_lowercase().as_bytes(),
        text.to_ascii_lowercase().as_bytes(),
    )
}

/// Whether the policy allows `action` on `resource` when every condition
/// holds (the most an attacker could hope for); an explicit deny wins.
fn allows(policy: &[Statement], action: &str, resource: &str) -> bool {
    let applies = |s: &Statement| {
        let named = s.actions.iter().any(|a| glob(a, action));
        (named != s.not_action) && s.resources.iter().any(|r| glob(r, resource))
    };
    !policy.iter().any(|s| !s.allow && applies(s)) && policy.iter().any(|s| s.allow && applies(s))
}

fn is_read(action: &str) -> bool {
    let name = action.split(':').nth(1).unwrap_or(action);
    ["Describe", "Get", "List", "View", "Head", "Filter"]
        .iter()
        .any(|p| name.starts_with(p))
        || action.eq_ignore_ascii_case("apigateway:GET")
}

/// Conditions that keep a statement to this environment: its tags, the
/// aliases of its keys, or its parameters (as the encryption context).
fn condition_scoped(condition: &Value, d: &Deployment) -> bool {
    let mut pairs = Vec::new();
    if let Value::Object(operators) = condition {
        for keys in operators.values() {
            if let Value::Object(keys) = keys {
                for (key, value) in keys {
                    pairs.push((key.clone(), value.clone()));
                }
            }
        }
    }
    let tag = |name: &str, want: &str| {
        pairs.iter().any(|(k, v)| {
            (k == &format!("aws:ResourceTag/{name}") || k == &format!("aws:RequestTag/{name}"))
                && v == want
        })
    };
    let keys = [
        iam::hash_key_key_alias(d),
        iam::warehouse_login_key_alias(d),
    ];
    let key = pairs.iter().any(|(k, v)| {
        (k == "kms:ResourceAliases" && keys.iter().any(|key| v == key))
            || (k == "kms:EncryptionContext:PARAMETER_ARN"
                && v.as_str()
                    .is_some_and(|arn| arn.contains(&iam::parameter_path(d))))
    });
    tag("sbw:backup", &d.prefix())
        || (tag("sbw:project", &d.project) && tag("sbw:environment", &d.environment))
        || key
}

/// A resource pattern that only matches this environment's resources.
fn name_scoped(resource: &str, d: &Deployment) -> bool {
    let prefix = d.prefix();
    let zone = d
        .domain
        .as_ref()
        .map(|z| format!(":::hostedzone/{}", z.hosted_zone_id));
    if zone.is_some_and(|z| resource.ends_with(&z)) {
        return true;
    }
    // The prefix must end at a delimiter: `sbw-shop-prod*` would also match
    // environment `prod2`'s names.
    let named = resource.match_indices(&prefix).any(|(at, _)| {
        let before = resource[..at].chars().last();
        let after = resource[at + prefix.len()..].chars().next();
        matches!(before, Some(':' | '/' | '-')) && matches!(after, None | Some('-' | '/' | ':'))
    });
    // `key/${Key}`: a key of the deployer stack itself (the keys of the secrets).
    let own = resource.contains(":key/${") && resource.ends_with('}');
    resource != "*"
        && (named
            || own
            || resource.contains(&iam::role_path(d))
            || resource.contains(&iam::parameter_path(d)))
}

/// Every way `policy` (named `which`) reaches beyond the environment.
fn unscoped_writes(which: &str, policy: &[Statement], d: &Deployment) -> Vec<String> {
    let mut problems = Vec::new();
    for s in policy.iter().filter(|s| s.allow) {
        for action in &s.actions {
            let service_wide = action == "*" || action.ends_with(":*");
            if service_wide {
                problems.push(format!("{which} {}: {action} is a whole service", s.sid));
                continue;
            }
            if is_read(action) || condition_scoped(&s.condition, d) {
                continue;
            }
            if UNSCOPED
                .iter()
                .any(|(w, sid, _)| *w == which && *sid == s.sid)
            {
                continue;
            }
            for resource in &s.resources {
                if !name_scoped(resource, d) {
                    problems.push(format!(
                        "{which} {}: {action} on {resource} is not this environment's",
                        s.sid
                    ));
                }
            }
        }
    }
    problems
}

fn operator(d: &Deployment) -> Vec<Statement> {
    statements(
        &serde_json::from_str(&render::operator_policy(d).unwrap()).unwrap(),
        d,
    )
}

fn deployer_template(m: &Manifest) -> Value {
    yaml(&m.deployer.body)
}

fn deployer(m: &Manifest, d: &Deployment) -> Vec<Statement> {
    let t = deployer_template(m);
    let policies = t["Resources"]["DeployerRole"]["Properties"]["Policies"]
        .as_array()
        .unwrap();
    policies
        .iter()
        .flat_map(|p| statements(&p["PolicyDocument"], d))
        .collect()
}

fn boundary(m: &Manifest, d: &Deployment) -> Vec<Statement> {
    statements(
        &deployer_template(m)["Resources"]["Boundary"]["Properties"]["PolicyDocument"],
        d,
    )
}

/// The operator-specific rules: iam only as PassRole of the deployer role to
/// CloudFormation.
fn operator_iam_problems(policy: &[Statement], d: &Deployment) -> Vec<String> {
    let mut problems = Vec::new();
    for s in policy.iter().filter(|s| s.allow) {
        for action in s
            .actions
            .iter()
            .filter(|a| glob(a, "iam:x") || a.starts_with("iam:"))
        {
            let passes_deployer = action == "iam:PassRole"
                && s.resources == [iam::deployer_role_arn(d)]
                && s.condition["StringEquals"]["iam:PassedToService"]
                    == "cloudformation.amazonaws.com";
            if !passes_deployer {
                problems.push(format!("operator {}: {action} on {:?}", s.sid, s.resources));
            }
        }
    }
    problems
}

#[test]
fn the_operator_holds_only_this_environment() {
    for (_, file, env, profile) in CASES {
        let d = deployment(file, env, *profile);
        let policy = operator(&d);
        let mut problems = operator_iam_problems(&policy, &d);
        problems.extend(unscoped_writes("operator", &policy, &d));
        assert!(problems.is_empty(), "{env}:\n{}", problems.join("\n"));

        let account = d.account_id.to_string();
        let stack = |name: &str| {
            format!(
                "arn:aws:cloudformation:{}:{account}:stack/{name}/0",
                d.region
            )
        };
        let ingest = stack(&format!("{}-ingest", d.prefix()));
        assert!(allows(&policy, "cloudformation:ExecuteChangeSet", &ingest));
        let deployer_stack = stack(&iam::deployer_stack_name(&d));
        for action in [
            "cloudformation:CreateChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:DeleteStack",
        ] {
            assert!(!allows(&policy, action, &deployer_stack), "{action}");
        }
        // Reading the deployer stack is how sbwctl finds the role.
        assert!(allows(
            &policy,
            "cloudformation:DescribeStacks",
            &deployer_stack
        ));
        assert!(allows(&policy, "iam:PassRole", &iam::deployer_role_arn(&d)));
        for (action, resource) in [
            ("iam:CreateRole", format!("arn:aws:iam::{account}:role/x")),
            (
                "iam:PassRole",
                format!("arn:aws:iam::{account}:role{}x", iam::role_path(&d)),
            ),
            (
                "s3:PutObject",
                "arn:aws:s3:::someone-elses-bucket/key".to_owned(),
            ),
            (
                "s3:PutObject",
                format!("arn:aws:s3:::{}-other-bucket/key", d.project),
            ),
            (
                "ssm:GetParameter",
                format!("arn:aws:ssm:{}:{account}:parameter/other/secret", d.region),
            ),
            (
                "lambda:InvokeFunction",
                format!("arn:aws:lambda:{}:{account}:function:other", d.region),
            ),
        ] {
            assert!(
                !allows(&policy, action, &resource),
                "{env}: {action} on {resource}"
            );
        }
    }
}

#[test]
fn the_old_operator_policy_fails_the_check() {
    let d = deployment(EXAMPLE, "prod", None);
    let old = statements(
        &serde_json::from_str(&std::fs::read_to_string(OLD_POLICY).unwrap()).unwrap(),
        &d,
    );
    let mut problems = operator_iam_problems(&old, &d);
    problems.extend(unscoped_writes("operator", &old, &d));
    let text = problems.join("\n");
    eprintln!("{} problems in the old policy:\n{text}", problems.len());
    for expected in [
        "operator RolesOfThisProjectOnly: iam:CreateRole",
        "operator RolesOfThisProjectOnly: iam:AttachRolePolicy",
        "operator ResourcesTheStacksCreate: s3:* is a whole service",
        "operator ResourcesTheStacksCreate: lambda:* is a whole service",
        "operator StacksOfThisProject: cloudformation:ExecuteChangeSet on arn:aws:cloudformation:*:*:stack/sbw-shop-*/* is not this environment's",
        "operator TheIngestHashingKey: ssm:PutParameter on arn:aws:ssm:*:*:parameter/sbw/sbw-shop/* is not this environment's",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
}

#[test]
fn the_deployer_creates_roles_only_with_the_boundary() {
    for (_, file, env, profile) in CASES {
        let d = deployment(file, env, *profile);
        let m = manifest(&d);
        let policy = deployer(&m, &d);
        let boundary_arn = iam::boundary_policy_arn(&d);
        let problems = unscoped_writes("deployer", &policy, &d);
        assert!(problems.is_empty(), "{env}:\n{}", problems.join("\n"));
        for s in policy.iter().filter(|s| s.allow) {
            for action in &s.actions {
                if !action.starts_with("iam:") {
                    continue;
                }
                let needs_boundary = [
                    "iam:CreateRole",
                    "iam:PutRolePermissionsBoundary",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                ]
                .contains(&action.as_str());
                if needs_boundary {
                    assert_eq!(
                        s.condition["StringEquals"]["iam:PermissionsBoundary"], boundary_arn,
                        "{env} {}: {action} without the boundary condition",
                        s.sid
                    );
                }
                if action == "iam:PassRole" {
                    assert!(
                        !s.condition["StringEquals"]["iam:PassedToService"].is_null(),
                        "{}",
                        s.sid
                    );
                }
                assert!(
                    !action.contains('*') && action != "iam:DeleteRolePermissionsBoundary",
                    "{env} {}: {action}",
                    s.sid
                );
            }
        }
        let account = d.account_id.to_string();
        let own_role = format!(
            "arn:aws:iam::{account}:role{}etl-FunctionRole-1",
            iam::role_path(&d)
        );
        assert!(allows(&policy, "iam:CreateRole", &own_role));
        assert!(allows(&policy, "iam:PassRole", &own_role));
        for (action, resource) in [
            (
                "iam:CreateRole",
                format!("arn:aws:iam::{account}:role/admin"),
            ),
            ("iam:PassRole", format!("arn:aws:iam::{account}:role/admin")),
            ("iam:DeleteRolePermissionsBoundary", own_role.clone()),
            ("iam:CreatePolicyVersion", boundary_arn.clone()),
            ("iam:PutRolePolicy", iam::deployer_role_arn(&d)),
            ("iam:AttachRolePolicy", iam::deployer_role_arn(&d)),
            ("iam:CreateUser", format!("arn:aws:iam::{account}:user/x")),
            (
                "cloudformation:UpdateStack",
                format!(
                    "arn:aws:cloudformation:{}:{account}:stack/{}/0",
                    d.region,
                    iam::deployer_stack_name(&d)
                ),
            ),
        ] {
            assert!(
                !allows(&policy, action, &resource),
                "{env}: {action} on {resource}"
            );
        }
        // The other environment's names are out of reach.
        let other = format!("{}-other", d.project);
        for (action, resource) in [
            (
                "lambda:UpdateFunctionCode",
                format!("arn:aws:lambda:{}:{account}:function:{other}-etl", d.region),
            ),
            (
                "s3:PutBucketPolicy",
                format!("arn:aws:s3:::{other}-storage-rawbucket-1"),
            ),
            (
                "sqs:SetQueueAttributes",
                format!("arn:aws:sqs:{}:{account}:{other}-ingest-Dlq", d.region),
            ),
        ] {
            assert!(
                !allows(&policy, action, &resource),
                "{env}: {action} on {resource}"
            );
        }
    }
}

#[test]
fn the_boundary_reaches_only_this_environment() {
    for (_, file, env, profile) in CASES {
        let d = deployment(file, env, *profile);
        let m = manifest(&d);
        let problems = unscoped_writes("boundary", &boundary(&m, &d), &d);
        assert!(problems.is_empty(), "{env}:\n{}", problems.join("\n"));
    }
}

/// Every role's actions: its inline policies and the AWS managed policies it
/// attaches (their documented actions).
fn role_actions(role: &Value, d: &Deployment) -> Vec<String> {
    let properties = &role["Properties"];
    let mut actions: Vec<String> = properties["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| statements(&p["PolicyDocument"], d))
        .filter(|s| s.allow)
        .flat_map(|s| s.actions)
        .collect();
    for arn in strings(&properties["ManagedPolicyArns"], d) {
        let name = arn
            .strip_prefix("arn:aws:iam::aws:policy/")
            .unwrap_or_else(|| panic!("{arn} is not an AWS managed policy"));
        let (_, granted) = iam::AWS_MANAGED_POLICIES
            .iter()
            .find(|(known, _)| *known == name)
            .unwrap_or_else(|| panic!("{name}: add its actions to iam::AWS_MANAGED_POLICIES"));
        actions.extend(granted.iter().map(|a| (*a).to_owned()));
    }
    actions
}

#[test]
fn every_stack_role_carries_the_boundary_and_the_boundary_allows_what_it_needs() {
    let mut roles_seen = 0;
    for (_, file, env, profile) in CASES {
        let d = deployment(file, env, *profile);
        let m = manifest(&d);
        let boundary = boundary(&m, &d);
        let boundary_arn = iam::boundary_policy_arn(&d);
        for stack in &m.stacks {
            let template = yaml(&stack.body);
            let Some(resources) = template["Resources"].as_object() else {
                continue;
            };
            for (id, resource) in resources {
                let kind = resource["Type"].as_str().unwrap_or_default();
                let where_ = format!("{env} {} {id}", stack.name);
                if kind == "AWS::IAM::InstanceProfile" {
                    assert_eq!(
                        resource["Properties"]["Path"],
                        iam::role_path(&d),
                        "{where_}"
                    );
                }
                if kind != "AWS::IAM::Role" {
                    continue;
                }
                roles_seen += 1;
                let properties = &resource["Properties"];
                assert_eq!(
                    resolve(&properties["PermissionsBoundary"], &d),
                    boundary_arn,
                    "{where_}: no permissions boundary"
                );
                assert_eq!(properties["Path"], iam::role_path(&d), "{where_}");
                assert!(
                    properties.get("RoleName").is_none(),
                    "{where_}: a named role"
                );
                for action in role_actions(resource, &d) {
                    let allowed = boundary
                        .iter()
                        .filter(|s| s.allow)
                        .any(|s| s.actions.iter().any(|a| glob(a, &action)));
                    assert!(allowed, "{where_}: the boundary does not allow {action}");
                }
            }
        }
    }
    assert!(roles_seen >= 5 * CASES.len(), "{roles_seen} roles");
}

/// The statements of every stack role that allow one of `actions`, with
/// the role's stack and logical id.
fn role_statements_allowing(
    m: &Manifest,
    d: &Deployment,
    actions: &[&str],
) -> Vec<(String, Statement)> {
    let mut found = Vec::new();
    for stack in &m.stacks {
        let template = yaml(&stack.body);
        for (id, resource) in template["Resources"].as_object().into_iter().flatten() {
            if resource["Type"] != "AWS::IAM::Role" {
                continue;
            }
            let policies = resource["Properties"]["Policies"].as_array().cloned();
            for statement in policies
                .into_iter()
                .flatten()
                .flat_map(|p| statements(&p["PolicyDocument"], d))
                .filter(|s| s.allow)
            {
                if actions
                    .iter()
                    .any(|action| statement.actions.iter().any(|a| glob(a, action)))
                {
                    found.push((format!("{} {id}", stack.name), statement));
                }
            }
        }
    }
    found
}

/// Each secret has a key of its own that one stack role decrypts, through
/// the one service that stores it: the hash key (SSM) the ingest function,
/// the warehouse login (S3) the ETL, which the instance encrypts. Nobody
/// else — not the instance, whose managed SSM policy reads any parameter,
/// not the operator, not an administrator — decrypts either without first
/// changing the key's policy.
#[test]
fn each_secret_is_decrypted_by_one_role_only() {
    let crypto = [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:ReEncryptFrom",
        "kms:CreateGrant",
    ];
    for (_, file, env, profile) in CASES {
        let d = deployment(file, env, *profile);
        let m = manifest(&d);
        let keys = &deployer_template(&m)["Resources"];
        for (key, service, uses) in [
            ("HashKeyKey", "ssm", vec!["kms:Encrypt", "kms:Decrypt"]),
            (
                "WarehouseLoginKey",
                "s3",
                vec!["kms:GenerateDataKey", "kms:Decrypt"],
            ),
        ] {
            let where_ = format!("{env} {key}");
            let properties = &keys[key]["Properties"];
            assert_eq!(properties["EnableKeyRotation"], true, "{where_}");
            let policy = statements(&properties["KeyPolicy"], &d);
            let account_root = format!("arn:aws:iam::{}:root", d.account_id);
            for raw in properties["KeyPolicy"]["Statement"].as_array().unwrap() {
                // The account, so that IAM policies decide within the statement's conditions.
                assert_eq!(
                    resolve(&raw["Principal"]["AWS"], &d),
                    account_root,
                    "{where_}"
                );
            }
            for statement in &policy {
                let crypto_actions: Vec<&String> = statement
                    .actions
                    .iter()
                    .filter(|a| crypto.iter().any(|c| glob(a, c)))
                    .collect();
                if statement.sid == "Administer" {
                    assert!(crypto_actions.is_empty(), "{where_}: {crypto_actions:?}");
                    continue;
                }
                assert_eq!(
                    statement.condition["StringEquals"]["kms:ViaService"],
                    format!("{service}.{}.amazonaws.com", d.region),
                    "{where_} {}",
                    statement.sid
                );
                if statement.actions.iter().any(|a| a == "kms:Decrypt") {
                    assert_eq!(
                        statement.condition["ArnLike"]["aws:PrincipalArn"],
                        format!("arn:aws:iam::{}:role{}*", d.account_id, iam::role_path(&d)),
                        "{where_}: decryption is for the environment's stack roles only"
                    );
                }
            }
            let allowed: Vec<&str> = policy
                .iter()
                .flat_map(|s| s.actions.iter())
                .filter(|a| crypto.contains(&a.as_str()))
                .map(String::as_str)
                .collect();
            assert_eq!(allowed, uses, "{where_}");
        }

        // Besides these, a role may decrypt only a parameter of its own under
        // SSM's default key (ingest: the origin secret), never the hash key.
        let (under_default_key, under_own_keys): (Vec<_>, Vec<_>) =
            role_statements_allowing(&m, &d, &crypto)
                .into_iter()
                .partition(|(_, s)| s.resources.iter().all(|r| r.ends_with(":key/*")));
        for (role, s) in &under_default_key {
            let parameter = s.condition["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"]
                .as_str()
                .unwrap_or_else(|| panic!("{env} {role}: {s:?} is not for one parameter"));
            assert!(
                parameter.ends_with(&render::origin_secret_parameter(&d)),
                "{env} {role}: {parameter}"
            );
        }
        let mut grants: Vec<(String, Vec<String>, String)> = under_own_keys
            .into_iter()
            .map(|(role, s)| {
                assert_eq!(s.resources.len(), 1, "{env} {role}: {s:?}");
                (role, s.actions, s.resources[0].clone())
            })
            .collect();
        grants.sort();
        let import = |output: &str| {
            format!(
                "(stack resource {})",
                serde_json::json!({"Fn::ImportValue": format!("{}-deployer-{output}", d.prefix())})
            )
        };
        assert_eq!(
            grants,
            [
                (
                    "etl FunctionRole".to_owned(),
                    vec!["kms:Decrypt".to_owned()],
                    import("WarehouseLoginKeyArn")
                ),
                (
                    "ingest FunctionRole".to_owned(),
                    vec!["kms:Decrypt".to_owned()],
                    import("HashKeyKeyArn")
                ),
                (
                    "warehouse InstanceRole".to_owned(),
                    vec!["kms:GenerateDataKey".to_owned()],
                    import("WarehouseLoginKeyArn")
                ),
            ],
            "{env}"
        );

        let operator = operator(&d);
        let any_key = format!("arn:aws:kms:{}:{}:key/any", d.region, d.account_id);
        assert!(!allows(&operator, "kms:Decrypt", &any_key), "{env}");
        let encrypt = operator
            .iter()
            .find(|s| s.actions.iter().any(|a| a == "kms:Encrypt"))
            .expect("the operator encrypts the hash key it creates");
        assert_eq!(
            encrypt.condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"],
            iam::hash_key_key_alias(&d),
            "{env}"
        );
    }
}

#[test]
fn the_example_operator_policy_is_what_sbwctl_prints() {
    let d = deployment(EXAMPLE, "prod", None);
    let rendered = render::operator_policy(&d).unwrap();
    let update = std::env::var_os("SBW_UPDATE_GOLDEN").is_some();
    if update {
        std::fs::write(EXAMPLE_POLICY, &rendered).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(EXAMPLE_POLICY).unwrap(),
        rendered,
        "examples/operator-policy.json is not `sbwctl policy operator --config examples/sbw.yaml --env prod` (SBW_UPDATE_GOLDEN=1 cargo test -p sbw-infra --test iam_policy)"
    );
}

#[test]
fn the_glob_matches_like_iam() {
    assert!(glob("s3:GetBucket*", "s3:GetBucketPolicy"));
    assert!(glob(
        "arn:aws:s3:::sbw-shop-prod-*/*",
        "arn:aws:s3:::sbw-shop-prod-raw/k"
    ));
    assert!(!glob(
        "arn:aws:s3:::sbw-shop-prod-*",
        "arn:aws:s3:::sbw-shop-dev-raw"
    ));
    assert!(glob("ec2:describe*", "EC2:DescribeVpcs"));
}

/// Every AWS call `sbwctl` makes itself (deploy/src, cli/src), the IAM
/// action it needs and a resource of this environment it acts on: `{A}` the
/// account, `{R}` the region, `{P}` the prefix, `{S}` the SSM path.
const SBWCTL_CALLS: &[(&str, &[&str], &str)] = &[
    ("get_caller_identity", &["sts:GetCallerIdentity"], "*"),
    (
        "create_change_set",
        &["cloudformation:CreateChangeSet"],
        STACK,
    ),
    (
        "describe_change_set",
        &["cloudformation:DescribeChangeSet"],
        STACK,
    ),
    (
        "execute_change_set",
        &["cloudformation:ExecuteChangeSet"],
        STACK,
    ),
    (
        "delete_change_set",
        &["cloudformation:DeleteChangeSet"],
        STACK,
    ),
    ("describe_stacks", &["cloudformation:DescribeStacks"], STACK),
    (
        "describe_stack_events",
        &["cloudformation:DescribeStackEvents"],
        STACK,
    ),
    (
        "describe_stack_resources",
        &["cloudformation:DescribeStackResources"],
        STACK,
    ),
    ("get_template", &["cloudformation:GetTemplate"], STACK),
    ("delete_stack", &["cloudformation:DeleteStack"], STACK),
    (
        "get_stack_policy",
        &["cloudformation:GetStackPolicy"],
        STACK,
    ),
    (
        "set_stack_policy",
        &["cloudformation:SetStackPolicy"],
        STACK,
    ),
    (
        "update_termination_protection",
        &["cloudformation:UpdateTerminationProtection"],
        STACK,
    ),
    (
        "get_object",
        &["s3:GetObject"],
        "arn:aws:s3:::{P}-storage-artifactsbucket-1/k",
    ),
    (
        "head_object",
        &["s3:GetObject"],
        "arn:aws:s3:::{P}-storage-artifactsbucket-1/k",
    ),
    (
        "put_object",
        &["s3:PutObject"],
        "arn:aws:s3:::{P}-storage-rawbucket-1/k",
    ),
    (
        "list_object_versions",
        &["s3:ListBucketVersions"],
        "arn:aws:s3:::{P}-storage-rawbucket-1",
    ),
    (
        "delete_objects",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "arn:aws:s3:::{P}-storage-rawbucket-1/k",
    ),
    (
        "delete_bucket",
        &["s3:DeleteBucket"],
        "arn:aws:s3:::{P}-storage-accesslogbucket-1",
    ),
    (
        "get_parameter",
        &["ssm:GetParameter"],
        "arn:aws:ssm:{R}:{A}:parameter{S}ingest-hash-key",
    ),
    (
        "put_parameter",
        &["ssm:PutParameter"],
        "arn:aws:ssm:{R}:{A}:parameter{S}ingest-hash-key",
    ),
    ("describe_parameters", &["ssm:DescribeParameters"], "*"),
    ("get_queue_attributes", &["sqs:GetQueueAttributes"], QUEUE),
    ("receive_message", &["sqs:ReceiveMessage"], QUEUE),
    ("delete_message_batch", &["sqs:DeleteMessage"], QUEUE),
    (
        "change_message_visibility_batch",
        &["sqs:ChangeMessageVisibility"],
        QUEUE,
    ),
    (
        "invoke",
        &["lambda:InvokeFunction"],
        "arn:aws:lambda:{R}:{A}:function:{P}-etl",
    ),
    (
        "get_function_configuration",
        &["lambda:GetFunctionConfiguration"],
        "arn:aws:lambda:{R}:{A}:function:{P}-etl",
    ),
    (
        "filter_log_events",
        &["logs:FilterLogEvents"],
        "arn:aws:logs:{R}:{A}:log-group:/aws/lambda/{P}-ingest:*",
    ),
    ("describe_alarms", &["cloudwatch:DescribeAlarms"], "*"),
    (
        "describe_alarm_history",
        &["cloudwatch:DescribeAlarmHistory"],
        "*",
    ),
    (
        "get_metric_statistics",
        &["cloudwatch:GetMetricStatistics"],
        "*",
    ),
    (
        "publish",
        &["sns:Publish"],
        "arn:aws:sns:{R}:{A}:{P}-alarms",
    ),
    (
        "list_subscriptions_by_topic",
        &["sns:ListSubscriptionsByTopic"],
        "arn:aws:sns:{R}:{A}:{P}-alarms",
    ),
    (
        "describe_budget",
        &["budgets:ViewBudget"],
        "arn:aws:budgets::{A}:budget/{P}-monthly",
    ),
    ("describe_volumes", &["ec2:DescribeVolumes"], "*"),
    ("describe_snapshots", &["ec2:DescribeSnapshots"], "*"),
    ("describe_instances", &["ec2:DescribeInstances"], "*"),
    (
        "create_snapshot",
        &["ec2:CreateSnapshot"],
        "arn:aws:ec2:{R}:{A}:volume/vol-1",
    ),
    (
        "delete_snapshot",
        &["ec2:DeleteSnapshot"],
        "arn:aws:ec2:{R}::snapshot/snap-1",
    ),
    (
        "stop_instances",
        &["ec2:StopInstances"],
        "arn:aws:ec2:{R}:{A}:instance/i-1",
    ),
    (
        "detach_volume",
        &["ec2:DetachVolume"],
        "arn:aws:ec2:{R}:{A}:volume/vol-1",
    ),
];
const STACK: &str = "arn:aws:cloudformation:{R}:{A}:stack/{P}-ingest/1";
const QUEUE: &str = "arn:aws:sqs:{R}:{A}:{P}-ingest-DeadLetterQueue-1";
/// Zero-argument methods named like AWS operations that are not calls
/// (accessors of answers).
const NOT_CALLS: &[&str] = &["delete_markers", "start_time"];

/// `.verb_noun()` in the sources: what looks like an SDK operation.
fn operations_in(dir: &Path, into: &mut std::collections::BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            operations_in(&path, into);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (at, _) in text.match_indices("()") {
            let before = &text[..at];
            let Some(dot) = before.rfind('.') else {
                continue;
            };
            let name = &before[dot + 1..];
            let verbs = [
                "describe_",
                "get_",
                "put_",
                "list_",
                "create_",
                "delete_",
                "execute_",
                "receive_",
                "change_",
                "filter_",
                "head_",
                "update_",
                "set_",
                "stop_",
                "start_",
                "detach_",
                "attach_",
                "tag_",
                "modify_",
                "terminate_",
                "run_",
                "copy_",
                "send_",
                "assume_",
            ];
            let operation =
                name == "invoke" || name == "publish" || verbs.iter().any(|v| name.starts_with(v));
            if operation && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                into.insert(name.to_owned());
            }
        }
    }
}

#[test]
fn the_operator_may_make_every_call_sbwctl_makes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = std::collections::BTreeSet::new();
    operations_in(&root.join("deploy/src"), &mut found);
    operations_in(&root.join("cli/src"), &mut found);
    let unknown: Vec<&String> = found
        .iter()
        .filter(|op| {
            !NOT_CALLS.contains(&op.as_str())
                && !SBWCTL_CALLS.iter().any(|(known, _, _)| known == op)
        })
        .collect();
    // The scan sees the calls (and the table holds no call sbwctl dropped).
    for (operation, _, _) in SBWCTL_CALLS {
        assert!(found.contains(*operation), "{operation} is no longer called: remove it from SBWCTL_CALLS and, unless another call needs it, its action from the policy");
    }
    assert!(
        unknown.is_empty(),
        "sbwctl calls {unknown:?}: add each to SBWCTL_CALLS with its IAM action, and the action to templates/operator-policy.json.j2 scoped to the environment"
    );
    for (_, file, env, profile) in CASES {
        let d = deployment(file, env, *profile);
        let policy = operator(&d);
        for (operation, actions, resource) in SBWCTL_CALLS {
            let resource = resource
                .replace("{A}", &d.account_id.to_string())
                .replace("{R}", &d.region.to_string())
                .replace("{P}", &d.prefix())
                .replace("{S}", &iam::parameter_path(&d));
            for action in *actions {
                assert!(
                    allows(&policy, action, &resource),
                    "{env}: {operation} needs {action} on {resource}"
                );
            }
        }
    }
}
