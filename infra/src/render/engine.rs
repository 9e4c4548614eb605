//! The templates' sources (compiled in), the minijinja environment that
//! renders them, and the values every template sees.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{context, AutoEscape, Environment, UndefinedBehavior};

use super::{
    ami_parameter, hash_key_parameter, origin_secret_parameter, DataOnDelete, RenderError,
    ORIGIN_SECRET_PARAMETER,
};
use crate::catalogue::{Architecture, ROOT_VOLUME_GB};
use crate::config::{Deployment, Profile};
use crate::{iam, names};

/// Template sources, compiled in so `sbwctl` works from any directory.
const TEMPLATES: &[(&str, &str)] = &[
    ("_macros.j2", include_str!("../../../templates/_macros.j2")),
    (
        "warehouse-user-data.sh.j2",
        include_str!("../../../templates/warehouse-user-data.sh.j2"),
    ),
    (
        "network.yaml.j2",
        include_str!("../../../templates/network.yaml.j2"),
    ),
    (
        "auth.yaml.j2",
        include_str!("../../../templates/auth.yaml.j2"),
    ),
    (
        "storage.yaml.j2",
        include_str!("../../../templates/storage.yaml.j2"),
    ),
    (
        "warehouse.yaml.j2",
        include_str!("../../../templates/warehouse.yaml.j2"),
    ),
    (
        "ingest.yaml.j2",
        include_str!("../../../templates/ingest.yaml.j2"),
    ),
    (
        "etl.yaml.j2",
        include_str!("../../../templates/etl.yaml.j2"),
    ),
    (
        "edge-global.yaml.j2",
        include_str!("../../../templates/edge-global.yaml.j2"),
    ),
    (
        "edge.yaml.j2",
        include_str!("../../../templates/edge.yaml.j2"),
    ),
    (
        "observability.yaml.j2",
        include_str!("../../../templates/observability.yaml.j2"),
    ),
    (
        "budget.yaml.j2",
        include_str!("../../../templates/budget.yaml.j2"),
    ),
    (
        "deployer.yaml.j2",
        include_str!("../../../templates/deployer.yaml.j2"),
    ),
    (
        "operator-policy.json.j2",
        include_str!("../../../templates/operator-policy.json.j2"),
    ),
];

/// The S3 key (in the artifacts bucket) where the warehouse instance publishes
/// the ETL's database credentials.
pub const ETL_CREDENTIALS_KEY: &str = "credentials/etl-database.json";

/// The S3 key (in the artifacts bucket) of the small JSON object that names
/// the current version of a fetched artifact: `{"key", "sha256", "bytes"}`.
/// The deploy writes it after uploading the version; the instance follows it.
pub fn current_pointer_key(artifact: &str) -> String {
    format!("{artifact}/current.json")
}

/// The Content-Security-Policy CloudFront adds to the site's answers: what
/// the site loads comes from itself (the SDK posts to `/v1/events` on the
/// same origin), images may also be `data:` URLs, and nothing else runs,
/// frames it or receives its forms.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests";

/// Memory and timeout of the ops snapshot collector (a few CloudWatch, SQS and
/// S3 calls per run); `sbwctl cost` prices the same numbers.
pub const OPS_SNAPSHOT_MEMORY_MB: u64 = 128;
pub const OPS_SNAPSHOT_TIMEOUT_SECONDS: u64 = 30;

pub(super) fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Values are written as YAML by the templates (`tojson` where quoting matters).
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Compact JSON (a valid YAML flow scalar), without `tojson`'s HTML escapes.
    env.add_filter("json", |value: minijinja::Value| {
        serde_json::to_string(&value).map_err(|e| {
            minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
        })
    });
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|source| RenderError::Template {
            template: "(syntax)".to_owned(),
            source,
        })?;
    env.set_syntax(syntax);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|source| RenderError::Template {
                template: (*name).to_owned(),
                source,
            })?;
    }
    Ok(env)
}

/// Values every template sees besides the deployment itself.
pub(super) fn template_context(
    d: &Deployment,
    stack: &str,
    data: DataOnDelete,
    names: &minijinja::Value,
) -> minijinja::Value {
    let hardened = d.profile == Profile::Hardened;
    let subnet_prefix = d.vpc_cidr.prefix + 2;
    let subnets: Vec<String> = (0..4)
        .filter_map(|i| d.vpc_cidr.subnet(subnet_prefix, i))
        .map(|c| c.to_string())
        .collect();
    let lambda_arch = match d.ingest.architecture {
        Architecture::Arm64 => "arm64",
        Architecture::X86_64 => "x86_64",
    };
    context! {
        d => Serde(d),
        names => names.clone(),
        stack => stack,
        retain_data => data == DataOnDelete::Retain,
        prefix => d.prefix(),
        hardened => hardened,
        subnets => subnets,
        ami_parameter => ami_parameter(d),
        lambda_arch => lambda_arch,
        root_volume_gb => ROOT_VOLUME_GB,
        hash_key_parameter => hash_key_parameter(d),
        origin_secret_parameter => origin_secret_parameter(d),
        origin_secret_stack_parameter => ORIGIN_SECRET_PARAMETER,
        etl_credentials_key => ETL_CREDENTIALS_KEY,
        dashboard_pointer_key => current_pointer_key("dashboard"),
        ops_memory_mb => OPS_SNAPSHOT_MEMORY_MB,
        content_security_policy => CONTENT_SECURITY_POLICY,
        ops_timeout_seconds => OPS_SNAPSHOT_TIMEOUT_SECONDS,
        origins => d.origins.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        site_keys => d.site_keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        dashboard_domain => d.domain.as_ref().map(|dom| format!("dashboard.{}", dom.name)),
        role_path => iam::role_path(d),
        parameter_path => iam::parameter_path(d),
        boundary_policy_name => iam::boundary_policy_name(d),
        deployer_role_name => iam::deployer_role_name(d),
        hash_key_key_alias => iam::hash_key_key_alias(d),
        warehouse_login_key_alias => iam::warehouse_login_key_alias(d),
        deployer_stack_name => iam::deployer_stack_name(d),
        budget_name => names::budget_name(&d.prefix()),
        service_linked_roles => iam::SERVICE_LINKED_ROLES.to_vec(),
    }
}

/// Drops trailing spaces and runs of blank lines that template logic leaves.
pub(super) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if !blank && !out.is_empty() {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        blank = false;
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_blank_lines_and_trailing_spaces() {
        assert_eq!(tidy("\n\na:  \n\n\n  b: 1\n\n"), "a:\n\n  b: 1\n");
    }
}
