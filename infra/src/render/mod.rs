//! `sbwctl render`: the CloudFormation templates of one environment, plus a
//! manifest that tells `sbwctl deploy` the order, regions, parameters and
//! dependencies of the stacks.
//!
//! Templates are minijinja files in `templates/`, compiled into the binary.
//! Choices the config makes (profile, WAF, domain) are made at render time,
//! so the rendered templates have no CloudFormation `Conditions` and read
//! like hand-written ones. Output is byte-identical for the same input.

use minijinja::Environment;

use crate::config::{Deployment, GLOBAL_REGION};
use crate::names;

mod engine;
mod manifest;
mod parameters;
mod stacks;
mod template;

pub use engine::{
    current_pointer_key, CONTENT_SECURITY_POLICY, ETL_CREDENTIALS_KEY, OPS_SNAPSHOT_MEMORY_MB,
    OPS_SNAPSHOT_TIMEOUT_SECONDS,
};
use engine::{environment, template_context, tidy};
pub use manifest::{
    deleted_last, DataOnDelete, Manifest, Prerequisite, RenderedStack, TemplateResource,
};
pub use parameters::{
    ami_parameter, hash_key_parameter, origin_secret_parameter, ParameterSource,
    DATA_SNAPSHOT_PARAMETER, ORIGIN_SECRET_PARAMETER,
};
use parameters::{dependencies, parameter_sources};
pub use stacks::{Placement, StackDef, DEPLOYER, INLINE_TEMPLATE_LIMIT, S3_TEMPLATE_LIMIT, STACKS};
pub use template::{Output, Parameter, Resource, Template};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {template}: {source:#}{}", innermost_cause(.source))]
    Template {
        template: String,
        source: minijinja::Error,
    },
    #[error("{stack}.yaml: parameter {parameter} has no default and no known source; add it to PARAMETER_SOURCES")]
    UnknownParameter { stack: String, parameter: String },
    /// The rendered text of a template (`<stack>.yaml`) does not parse.
    #[error("{file}:{line}:{column}: the rendered template does not parse: {message}")]
    InvalidYaml {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The error inside an include or macro, which names the real problem
/// (e.g. an undefined name), after the outer one.
fn innermost_cause(error: &minijinja::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if std::ptr::addr_eq(cause, error as &dyn std::error::Error) {
        String::new()
    } else {
        format!("\ncaused by: {cause}")
    }
}

/// Renders every stack the deployment needs.
pub fn render(d: &Deployment) -> Result<Manifest, RenderError> {
    render_with(d, DataOnDelete::Retain)
}

/// Renders every stack, with the given fate for data when a stack is deleted.
pub fn render_with(d: &Deployment, data: DataOnDelete) -> Result<Manifest, RenderError> {
    render_named(d, data, &names::template_names())
}

/// Renders with `names` as the templates' `names.*`.
fn render_named(
    d: &Deployment,
    data: DataOnDelete,
    names: &minijinja::Value,
) -> Result<Manifest, RenderError> {
    let env = environment()?;
    let enabled: Vec<&StackDef> = STACKS.iter().filter(|s| (s.needed)(d)).collect();
    let mut stacks = Vec::with_capacity(enabled.len());
    for def in &enabled {
        stacks.push(render_stack(&env, d, def, data, names)?);
    }
    let deployer = render_stack(&env, d, &DEPLOYER, data, names)?;
    Ok(Manifest {
        project: d.project.clone(),
        environment: d.environment.clone(),
        profile: d.profile,
        account_id: d.account_id.to_string(),
        region: d.region.to_string(),
        global_region: GLOBAL_REGION,
        prerequisites: vec![
            Prerequisite {
                kind: "ssm_secure_string",
                name: hash_key_parameter(d),
                region: d.region.to_string(),
                how: "created by sbwctl deploy with 32 random bytes if it does not exist; never rotated automatically (rotation changes every hashed user id)",
                only_ingest_decrypts: true,
            },
            Prerequisite {
                kind: "ssm_secure_string",
                name: origin_secret_parameter(d),
                region: d.region.to_string(),
                how: "created by sbwctl deploy with 32 random bytes if it does not exist; CloudFront sends it to the event API, which refuses requests without it; rotated by sbwctl rotate origin-secret (value: current[,previous])",
                only_ingest_decrypts: false,
            },
        ],
        stacks,
        deployer,
        data_on_delete: data,
        protected: d.protected,
    })
}

/// Renders one stack's template and reads its parameters and dependencies.
fn render_stack(
    env: &Environment<'static>,
    d: &Deployment,
    def: &StackDef,
    data: DataOnDelete,
    names: &minijinja::Value,
) -> Result<RenderedStack, RenderError> {
    let prefix = d.prefix();
    let template = format!("{}.yaml.j2", def.name);
    let body = env
        .get_template(&template)
        .and_then(|t| t.render(template_context(d, def.name, data, names)))
        .map_err(|source| RenderError::Template {
            template: template.clone(),
            source,
        })?;
    let body = tidy(&body);
    let template = Template::parse(def.name, &body)?;
    let parameters = parameter_sources(def.name, &template, d)?;
    let depends_on = dependencies(&prefix, &template, &parameters);
    let region = match def.placement {
        Placement::Regional => d.region.to_string(),
        Placement::Global => GLOBAL_REGION.to_owned(),
    };
    let mut stack = RenderedStack {
        name: def.name,
        stack_name: format!("{prefix}-{}", def.name),
        purpose: def.purpose,
        region,
        template_file: format!("{}.yaml", def.name),
        depends_on,
        parameters,
        capabilities: template.capabilities(),
        fetches: def.fetches.to_vec(),
        bytes: 0,
        sha256: String::new(),
        requires_s3_upload: false,
        body: String::new(),
        template,
    };
    stack.keep_body(body);
    Ok(stack)
}

/// The operator's IAM policy for this environment, as pretty JSON: the
/// environment's stacks (not the deployer's), `iam:PassRole` on the deployer
/// role to CloudFormation only, and the calls `sbwctl` makes itself.
pub fn operator_policy(d: &Deployment) -> Result<String, RenderError> {
    let template = "operator-policy.json.j2";
    let text = environment()?
        .get_template(template)
        .and_then(|t| {
            t.render(template_context(
                d,
                "operator-policy",
                DataOnDelete::Retain,
                &names::template_names(),
            ))
        })
        .map_err(|source| RenderError::Template {
            template: template.to_owned(),
            source,
        })?;
    serde_json::from_str::<serde_json::Value>(&text).map_err(|e| RenderError::InvalidYaml {
        file: "operator-policy.json".to_owned(),
        line: e.line() as u64,
        column: e.column() as u64,
        message: e.to_string(),
    })?;
    Ok(text.trim_start().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(environment: &str) -> Deployment {
        crate::config::resolve(
            include_str!("../../../examples/sbw.yaml"),
            "sbw.yaml",
            environment,
            None,
        )
        .unwrap()
    }

    /// The example's dev environment with `names` renamed at `pointer`
    /// (e.g. "/output/RawBucketName" becomes ".../RawBucketNameRenamed").
    fn render_renamed(pointer: &str) -> Result<Manifest, RenderError> {
        let d = example("dev");
        let mut names = serde_json::to_value(names::template_names()).unwrap();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let map = names.pointer_mut(parent).unwrap().as_object_mut().unwrap();
        let value = map
            .remove(key)
            .unwrap_or_else(|| panic!("{pointer} is not a name"));
        map.insert(format!("{key}Renamed"), value);
        render_named(
            &d,
            DataOnDelete::Retain,
            &minijinja::Value::from(minijinja::value::Serde(names)),
        )
    }

    #[test]
    fn a_name_a_template_uses_must_be_defined() {
        for (pointer, template) in [
            ("/output/RawBucketName", "storage.yaml.j2"),
            ("/output/DeadLetterQueueUrl", "ingest.yaml.j2"),
            ("/env/SBW_RAW_BUCKET", "ingest.yaml.j2"),
            ("/metric/dashboard_heartbeat", "warehouse.yaml.j2"),
            ("/alarm/EtlScheduleFailed", "observability.yaml.j2"),
            ("/runbook/DashboardHeartbeat", "observability.yaml.j2"),
        ] {
            let error = render_renamed(pointer).expect_err(pointer).to_string();
            assert!(
                error.starts_with(&format!("template {template}:")) && error.contains("undefined"),
                "{pointer}: {error}"
            );
        }
    }

    #[test]
    fn every_alarm_rendered_has_a_name_and_runbook_from_names() {
        let d = example("prod");
        let manifest = render(&d).unwrap();
        let body = &manifest.stack("observability").unwrap().body;
        let rendered: Vec<&str> = body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("AlarmName: "))
            .collect();
        assert_eq!(rendered.len(), names::ALARMS.len(), "{rendered:?}");
        for (name, runbook) in names::ALARMS {
            assert!(
                rendered.contains(&format!("{}-{name}", d.prefix()).as_str()),
                "{name}"
            );
            assert!(body.contains(&format!("(runbook: {runbook})")), "{runbook}");
        }
    }

    #[test]
    fn a_template_that_does_not_parse_stops_render_with_its_stack_and_line() {
        let d = example("dev");
        let mut env = environment().unwrap();
        env.add_template(
            "storage.yaml.j2",
            "Resources:\n  RawBucket:\n    Type: [AWS::S3::Bucket\n",
        )
        .unwrap();
        let names = names::template_names();
        let error = render_stack(&env, &d, &STACKS[0], DataOnDelete::Retain, &names).unwrap_err();
        assert!(error.to_string().starts_with("storage.yaml:3:"), "{error}");
    }
}
