//! `sbwctl validate`: checks on the rendered templates.
//!
//! In-process checks need no tool and run in milliseconds: every `Ref`,
//! `Fn::GetAtt`, `Fn::Sub` variable and `DependsOn` names something that
//! exists; every `Fn::ImportValue` has an export in an earlier stack of the
//! same region; no IAM statement allows a `*` action, nor a `*` resource
//! unless every action in it has no resource-level permissions; nothing is
//! open to 0.0.0.0/0 or ::/0 except HTTPS on the public entry point; no YAML
//! short-form tags; no literal secrets; template sizes within CloudFormation's
//! limits. Then cfn-lint and checkov, when they are installed.

mod tools;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::render::{Manifest, Resource, Template, S3_TEMPLATE_LIMIT};
pub use tools::{run_cfn_lint, run_checkov, ToolOutcome};

/// One problem in one stack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub stack: String,
    pub check: &'static str,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.yaml [{}] {}", self.stack, self.check, self.message)
    }
}

const SHORT_TAGS: &[&str] = &[
    "!Ref",
    "!Sub",
    "!GetAtt",
    "!ImportValue",
    "!Join",
    "!Select",
    "!Split",
    "!If",
    "!Equals",
    "!Base64",
    "!GetAZs",
    "!FindInMap",
    "!Cidr",
    "!Not",
    "!And",
    "!Or",
    "!Condition",
];

/// Actions for which IAM knows no resource type (the Service Authorization
/// Reference lists none): `*` is the only Resource a statement can give them.
const ACTIONS_WITHOUT_RESOURCE_TYPES: &[&str] =
    &["cloudwatch:GetMetricData", "cloudwatch:PutMetricData"];

/// Runs every in-process check on every stack of `manifest`.
pub fn check(manifest: &Manifest) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut exports: BTreeMap<String, (usize, String)> = BTreeMap::new();
    // The deployer stack (`sbwctl bootstrap`) comes before every other and
    // exports the keys of the secrets; its own rules are infra/tests/iam_policy.rs's.
    for export in exports_of(manifest.deployer.template()) {
        exports.insert(export.to_owned(), (0, manifest.deployer.region.clone()));
    }
    for (index, stack) in manifest.stacks.iter().enumerate() {
        let mut report = |check: &'static str, message: String| {
            findings.push(Finding {
                stack: stack.name.to_owned(),
                check,
                message,
            });
        };
        if stack.bytes > S3_TEMPLATE_LIMIT {
            report(
                "size",
                format!(
                    "{} bytes: over CloudFormation's 1 MB template limit",
                    stack.bytes
                ),
            );
        }
        for tag in SHORT_TAGS {
            if stack.body.split_whitespace().any(|word| word == *tag) {
                report(
                    "long-form",
                    format!("uses the short-form tag {tag}; write the long form (Fn::...)"),
                );
            }
        }
        let template = Checked::new(stack.template());
        template.check_references(&mut report);
        template.check_iam(&mut report);
        template.check_ingress(&mut report);
        template.check_secrets(&mut report);
        template.check_skip_reasons(&mut report);
        for import in stack.template().imports() {
            match exports.get(import) {
                None => report("imports", format!("imports {import}, which no earlier stack exports")),
                Some((_, region)) if *region != stack.region => report(
                    "imports",
                    format!("imports {import} from {region}; exports do not cross regions (use a parameter)"),
                ),
                Some(_) => {}
            }
        }
        for export in exports_of(stack.template()) {
            if exports
                .insert(export.to_owned(), (index, stack.region.clone()))
                .is_some()
            {
                report(
                    "exports",
                    format!("exports {export}, which another stack already exports"),
                );
            }
        }
    }
    findings
}

fn exports_of(template: &Template) -> impl Iterator<Item = &str> {
    template.outputs().filter_map(|output| output.export)
}

/// A template under check and the names it defines.
struct Checked<'a> {
    template: &'a Template,
    resources: BTreeMap<&'a str, Resource<'a>>,
    parameters: BTreeSet<&'a str>,
}

impl<'a> Checked<'a> {
    fn new(template: &'a Template) -> Self {
        Checked {
            template,
            resources: template.resources().map(|r| (r.logical_id, r)).collect(),
            parameters: template.parameters().map(|p| p.name).collect(),
        }
    }

    fn defines(&self, name: &str) -> bool {
        name.starts_with("AWS::")
            || self.parameters.contains(name)
            || self.resources.contains_key(name)
    }

    fn check_references(&self, report: &mut impl FnMut(&'static str, String)) {
        for (name, resource) in &self.resources {
            let depends = match resource.attribute("DependsOn") {
                Some(Value::String(one)) => vec![one.as_str()],
                Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            for target in depends {
                if !self.resources.contains_key(target) {
                    report(
                        "references",
                        format!("{name} DependsOn {target}, which is not a resource"),
                    );
                }
            }
        }
        self.template.visit(&mut |value| {
            let Some(object) = value.as_object() else {
                return;
            };
            if let Some(Value::String(target)) = object.get("Ref") {
                if !self.defines(target) {
                    report(
                        "references",
                        format!("Ref {target}: no such parameter or resource"),
                    );
                }
            }
            if let Some(get_att) = object.get("Fn::GetAtt") {
                let target = match get_att {
                    Value::Array(parts) => parts.first().and_then(Value::as_str),
                    Value::String(dotted) => dotted.split('.').next(),
                    _ => None,
                };
                if let Some(target) = target.filter(|t| !self.resources.contains_key(t)) {
                    report(
                        "references",
                        format!("Fn::GetAtt {target}: no such resource"),
                    );
                }
            }
            if let Some(sub) = object.get("Fn::Sub") {
                let (text, variables) = match sub {
                    Value::String(text) => (text.as_str(), None),
                    Value::Array(parts) => (
                        parts.first().and_then(Value::as_str).unwrap_or_default(),
                        parts.get(1).and_then(Value::as_object),
                    ),
                    _ => ("", None),
                };
                for variable in sub_variables(text) {
                    let base = variable.split('.').next().unwrap_or_default();
                    let in_map = variables.is_some_and(|v| v.contains_key(variable.as_str()));
                    if !in_map && !self.defines(base) {
                        report(
                            "references",
                            format!(
                                "Fn::Sub variable ${{{variable}}}: no such parameter or resource"
                            ),
                        );
                    }
                }
            }
        });
    }

    fn check_iam(&self, report: &mut impl FnMut(&'static str, String)) {
        self.template.visit(&mut |value| {
            let Some(statements) = value.get("Statement").and_then(Value::as_array) else {
                return;
            };
            for statement in statements {
                if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
                    continue;
                }
                let sid = statement
                    .get("Sid")
                    .and_then(Value::as_str)
                    .unwrap_or("(no Sid)");
                if statement.get("NotAction").is_some() || statement.get("NotResource").is_some() {
                    report(
                        "iam",
                        format!("statement {sid} allows with NotAction/NotResource"),
                    );
                }
                let actions = strings(statement.get("Action"));
                for action in &actions {
                    if *action == "*" || action.ends_with(":*") {
                        report(
                            "iam",
                            format!("statement {sid} allows the wildcard action {action}"),
                        );
                    }
                }
                let only_unscoped_actions = !actions.is_empty()
                    && actions
                        .iter()
                        .all(|a| ACTIONS_WITHOUT_RESOURCE_TYPES.contains(a));
                if strings(statement.get("Resource")).contains(&"*") && !only_unscoped_actions {
                    report(
                        "iam",
                        format!("statement {sid} allows on every resource (*)"),
                    );
                }
            }
        });
    }

    fn check_ingress(&self, report: &mut impl FnMut(&'static str, String)) {
        let entry_point = |group: &str| {
            self.resources
                .get(group)
                .and_then(|g| g.attribute("Metadata"))
                .and_then(|m| m.pointer("/sbw/public_entry_point"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let mut rules: Vec<(&str, &Value)> = Vec::new();
        for (name, resource) in &self.resources {
            match resource.kind {
                "AWS::EC2::SecurityGroup" => {
                    if let Some(ingress) = resource
                        .property("/SecurityGroupIngress")
                        .and_then(Value::as_array)
                    {
                        rules.extend(ingress.iter().map(|rule| (*name, rule)));
                    }
                }
                "AWS::EC2::SecurityGroupIngress" => {
                    let group = resource.property_str("/GroupId/Ref").unwrap_or("");
                    if let Some(rule) = resource.properties() {
                        rules.push((group, rule));
                    }
                }
                _ => {}
            }
        }
        for (group, rule) in rules {
            let anywhere = [("CidrIp", "0.0.0.0/0"), ("CidrIpv6", "::/0")]
                .iter()
                .any(|(key, all)| rule.get(*key).and_then(Value::as_str) == Some(*all));
            if !anywhere {
                continue;
            }
            let port = |key: &str| rule.get(key).and_then(Value::as_i64);
            let https_only = port("FromPort") == Some(443) && port("ToPort") == Some(443);
            if !(https_only && entry_point(group)) {
                report(
                    "ingress",
                    format!(
                        "{group} is open to the internet on ports {:?}-{:?}; only HTTPS (443) on the public entry point may be",
                        port("FromPort"),
                        port("ToPort")
                    ),
                );
            }
        }
    }

    fn check_secrets(&self, report: &mut impl FnMut(&'static str, String)) {
        self.template.visit(&mut |value| {
            let Some(object) = value.as_object() else {
                return;
            };
            for (key, value) in object {
                let lower = key.to_ascii_lowercase();
                let secret_key = ["password", "secret", "privatekey"]
                    .iter()
                    .any(|word| lower.contains(word));
                // The name of the SSM parameter that holds one, not a secret.
                let names_a_parameter = lower.ends_with("_param") || lower.ends_with("parameter");
                if secret_key && !names_a_parameter && value.is_string() {
                    report(
                        "secrets",
                        format!("{key} has a literal value; secrets never go in templates"),
                    );
                }
            }
        });
    }

    /// Every checkov skip says why, in the template itself.
    fn check_skip_reasons(&self, report: &mut impl FnMut(&'static str, String)) {
        for (name, resource) in &self.resources {
            let skips = resource
                .attribute("Metadata")
                .and_then(|m| m.pointer("/checkov/skip"))
                .and_then(Value::as_array);
            for skip in skips.into_iter().flatten() {
                let id = skip.get("id").and_then(Value::as_str).unwrap_or("(no id)");
                let comment = skip
                    .get("comment")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim();
                if comment.len() < 20 {
                    report(
                        "skips",
                        format!("{name} skips checkov {id} without a written reason"),
                    );
                }
            }
        }
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// The `${Name}` variables of an `Fn::Sub` string (`${!Literal}` excluded).
fn sub_variables(text: &str) -> Vec<String> {
    let mut variables = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let variable = &rest[..end];
        if !variable.starts_with('!') {
            variables.push(variable.to_owned());
        }
        rest = &rest[end + 1..];
    }
    variables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_variables_skip_literals() {
        assert_eq!(
            sub_variables("a${X}b${Y.Arn}c${!Z}${AWS::Region}"),
            ["X", "Y.Arn", "AWS::Region"]
        );
        assert!(sub_variables("no variables ${").is_empty());
    }
}
