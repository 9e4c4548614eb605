//! The in-process template checks: clean on every rendered environment, and
//! each one catches the mistake it exists for.

mod variants;

use sbw_infra::checks::{self, Finding};
use sbw_infra::config::{self, Profile};
use sbw_infra::render::{self, Manifest, RenderError};
use variants::{CASES, EXAMPLE};

fn manifest(file: &str, env: &str, profile: Option<Profile>) -> Manifest {
    render::render(&config::load(std::path::Path::new(file), env, profile).unwrap()).unwrap()
}

fn prod() -> Manifest {
    manifest(EXAMPLE, "prod", None)
}

/// The findings after replacing `from` with `to` in `stack`'s template.
fn findings_after(mut manifest: Manifest, stack: &str, from: &str, to: &str) -> Vec<Finding> {
    let target = manifest
        .stacks
        .iter_mut()
        .find(|s| s.name == stack)
        .unwrap();
    assert!(target.body.contains(from), "{stack}.yaml has no {from:?}");
    target.set_body(target.body.replacen(from, to, 1)).unwrap();
    checks::check(&manifest)
}

#[track_caller]
fn assert_single(findings: &[Finding], stack: &str, check: &str, message: &str) {
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].stack, stack);
    assert_eq!(findings[0].check, check);
    assert!(findings[0].message.contains(message), "{}", findings[0]);
}

#[test]
fn every_rendered_environment_is_clean() {
    for (case, file, env, profile) in CASES {
        assert_eq!(checks::check(&manifest(file, env, *profile)), [], "{case}");
    }
}

#[test]
fn ref_to_a_missing_resource() {
    let findings = findings_after(
        prod(),
        "etl",
        r#"FunctionName: {"Ref": Function}"#,
        r#"FunctionName: {"Ref": Fnction}"#,
    );
    assert_single(
        &findings,
        "etl",
        "references",
        "Ref Fnction: no such parameter or resource",
    );
}

#[test]
fn get_att_of_a_missing_resource() {
    let findings = findings_after(
        prod(),
        "ingest",
        r#"{"Fn::GetAtt": [DeadLetterQueue, Arn]}"#,
        r#"{"Fn::GetAtt": [DeadLetters, Arn]}"#,
    );
    assert_single(
        &findings,
        "ingest",
        "references",
        "Fn::GetAtt DeadLetters: no such resource",
    );
}

#[test]
fn sub_variable_that_is_not_defined() {
    let findings = findings_after(
        prod(),
        "ingest",
        "integrations/${Integration}",
        "integrations/${Integraton}",
    );
    assert_single(
        &findings,
        "ingest",
        "references",
        "Fn::Sub variable ${Integraton}",
    );
}

#[test]
fn depends_on_a_missing_resource() {
    let findings = findings_after(
        prod(),
        "budget",
        "DependsOn: BudgetTopicPolicy",
        "DependsOn: TopicPolicy",
    );
    assert_single(
        &findings,
        "budget",
        "references",
        "MonthlyBudget DependsOn TopicPolicy",
    );
}

#[test]
fn wildcard_iam_action() {
    let findings = findings_after(
        prod(),
        "ingest",
        "Action: sqs:SendMessage\n                Resource",
        "Action: sqs:*\n                Resource",
    );
    assert_single(
        &findings,
        "ingest",
        "iam",
        "statement DeadLetters allows the wildcard action sqs:*",
    );
}

#[test]
fn iam_on_every_resource() {
    let findings = findings_after(
        prod(),
        "warehouse",
        "Action: s3:GetObject\n                Resource:\n",
        "Action: s3:GetObject\n                Resource: \"*\"\n                Ignored:\n",
    );
    assert_single(
        &findings,
        "warehouse",
        "iam",
        "statement ReadDashboardAndMigrations allows on every resource (*)",
    );
}

#[test]
fn every_resource_only_for_actions_without_resource_types() {
    // GetMetricData alone on "*" is how IAM wants it (every environment is clean);
    // a scoped action added to that statement is not.
    let findings = findings_after(
        prod(),
        "etl",
        "Action: cloudwatch:GetMetricData\n",
        "Action: [cloudwatch:GetMetricData, sqs:GetQueueAttributes]\n",
    );
    assert_single(
        &findings,
        "etl",
        "iam",
        "statement ReadMetrics allows on every resource (*)",
    );
}

#[test]
fn import_without_an_export() {
    let findings = findings_after(
        prod(),
        "etl",
        "sbw-shop-prod-storage-RawBucketName",
        "sbw-shop-prod-storage-RawBucket",
    );
    assert_single(
        &findings,
        "etl",
        "imports",
        "imports sbw-shop-prod-storage-RawBucket, which no earlier stack exports",
    );
}

#[test]
fn import_from_a_later_stack() {
    // The warehouse imports an output of the etl stack, deployed after it.
    let findings = findings_after(
        prod(),
        "warehouse",
        "sbw-shop-prod-network-VpcId",
        "sbw-shop-prod-etl-FunctionName",
    );
    assert_single(
        &findings,
        "warehouse",
        "imports",
        "sbw-shop-prod-etl-FunctionName, which no earlier stack exports",
    );
}

#[test]
fn import_across_regions() {
    let mut manifest = prod();
    manifest
        .stacks
        .iter_mut()
        .find(|s| s.name == "auth")
        .unwrap()
        .region = "eu-west-1".to_owned();
    let findings = checks::check(&manifest);
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| f.check == "imports" && f.message.contains("exports do not cross regions")),
        "{findings:#?}"
    );
}

#[test]
fn database_port_open_to_the_internet() {
    let findings = findings_after(
        prod(),
        "network",
        "      SourceSecurityGroupId: {\"Ref\": EtlSecurityGroup}",
        "      CidrIp: 0.0.0.0/0",
    );
    assert_single(
        &findings,
        "network",
        "ingress",
        "WarehouseSecurityGroup is open to the internet on ports Some(5432)-Some(5432)",
    );
}

#[test]
fn https_open_to_the_internet_only_on_the_public_entry_point() {
    let entry_point = "      sbw:\n        public_entry_point: true\n";
    let findings = findings_after(prod(), "network", entry_point, "");
    assert_single(
        &findings,
        "network",
        "ingress",
        "AlbSecurityGroup is open to the internet on ports Some(443)-Some(443)",
    );
}

#[test]
fn short_form_tag() {
    let findings = findings_after(
        prod(),
        "etl",
        r#"FunctionName: {"Ref": Function}"#,
        "FunctionName: !Ref Function",
    );
    assert_single(
        &findings,
        "etl",
        "long-form",
        "uses the short-form tag !Ref",
    );
}

#[test]
fn literal_secret() {
    let findings = findings_after(
        prod(),
        "etl",
        "          SBW_DEPLOYMENT:",
        "          SBW_DB_PASSWORD: hunter2hunter2\n          SBW_DEPLOYMENT:",
    );
    assert_single(
        &findings,
        "etl",
        "secrets",
        "SBW_DB_PASSWORD has a literal value",
    );
}

/// The name of the SSM parameter a secret is in is no secret; the secret is.
#[test]
fn literal_origin_secret_but_not_its_parameter_name() {
    let findings = findings_after(
        prod(),
        "ingest",
        "          SBW_DEPLOYMENT:",
        "          SBW_ORIGIN_SECRET: 0123456789abcdef0123456789abcdef\n          SBW_DEPLOYMENT:",
    );
    assert_single(
        &findings,
        "ingest",
        "secrets",
        "SBW_ORIGIN_SECRET has a literal value",
    );
}

#[test]
fn checkov_skip_without_a_reason() {
    let findings = findings_after(
        prod(),
        "budget",
        "            comment: \"AWS Budgets cannot publish",
        "            note: \"AWS Budgets cannot publish",
    );
    assert_single(
        &findings,
        "budget",
        "skips",
        "BudgetTopic skips checkov CKV_AWS_26 without a written reason",
    );
}

/// A manifest holds parsed templates only: a template that is not YAML is
/// refused where it is made (by `render`, or here by the edit), with the
/// stack and the line, before any check could run on it.
#[test]
fn template_that_is_not_yaml() {
    let mut manifest = prod();
    let auth = manifest
        .stacks
        .iter_mut()
        .find(|s| s.name == "auth")
        .unwrap();
    let edited = auth.body.replacen("Resources:\n", "Resources: [\n", 1);
    let error = auth.set_body(edited).unwrap_err();
    let RenderError::InvalidYaml { file, line, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!((file.as_str(), *line), ("auth.yaml", 10), "{error}");
    assert!(error.to_string().starts_with("auth.yaml:10:"), "{error}");
    assert_eq!(checks::check(&manifest), [], "the stack keeps its template");
}
