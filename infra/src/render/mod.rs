//! `sbwctl render`: the CloudFormation templates of one environment, plus a
//! manifest that tells `sbwctl deploy` the order, regions, parameters and
//! dependencies of the stacks.
//!
//! Templates are minijinja files in `templates/`, compiled into the binary.
//! Choices the config makes (profile, WAF, domain) are made at render time,
//! so the rendered templates have no CloudFormation `Conditions` and read
//! like hand-written ones. Output is byte-identical for the same input.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{context, AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::catalogue::{Architecture, ROOT_VOLUME_GB};
use crate::config::{Deployment, Profile, GLOBAL_REGION};
use crate::{iam, names};

mod template;
pub use template::{Output, Parameter, Resource, Template};

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
    /// Build artifacts the stack's instance fetches by itself (see [`current_pointer_key`]).
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

/// Where `sbwctl deploy` gets a template parameter's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ParameterSource {
    /// The S3 key of a build artifact (`sbwctl build`), in the artifacts bucket.
    Artifact { artifact: &'static str },
    /// An output of another stack, read by the deploy (stacks in other regions
    /// cannot use exports).
    StackOutput {
        stack: &'static str,
        output: &'static str,
    },
    /// A public SSM parameter, resolved by the deploy on the stack's first
    /// deploy and kept afterwards (so a new AMI does not replace the instance).
    SsmParameterOnce { name: String },
    /// The template's default.
    Default { value: String },
    /// The current value of an SSM SecureString the deploy reads (with
    /// decryption) and passes to a `NoEcho` parameter on every deploy, so that
    /// a new value is a stack change (CloudFront properties take no
    /// `{{resolve:ssm-secure:...}}` references): the origin secret.
    SecureParameter { name: String },
    /// Set only by an operator command (the data volume's snapshot, by
    /// `sbwctl snapshot restore`) and kept by every deploy; `first` (the
    /// template's default) on the stack's first deploy.
    Kept { first: String },
}

/// The edge stack's parameter holding the origin secret CloudFront sends.
pub const ORIGIN_SECRET_PARAMETER: &str = "OriginSecret";

/// The warehouse parameter naming the snapshot its data volume was restored from.
pub const DATA_SNAPSHOT_PARAMETER: &str = "DataSnapshotId";

/// Parameters with a default that a deploy must not reset to it.
const KEPT_PARAMETERS: &[&str] = &[DATA_SNAPSHOT_PARAMETER];

/// Parameters without a default, and where their values come from.
const PARAMETER_SOURCES: &[(&str, ParameterSource)] = &[
    (
        "IngestCodeKey",
        ParameterSource::Artifact { artifact: "ingest" },
    ),
    ("EtlCodeKey", ParameterSource::Artifact { artifact: "etl" }),
    // What a restore or a new AMI replaces: passed, not imported, since
    // CloudFormation refuses to change an export another stack imports.
    (
        "WarehouseHost",
        ParameterSource::StackOutput {
            stack: "warehouse",
            output: "DatabaseHost",
        },
    ),
    (
        "WarehouseInstanceId",
        ParameterSource::StackOutput {
            stack: "warehouse",
            output: "InstanceId",
        },
    ),
    (
        "SiteWebAclArn",
        ParameterSource::StackOutput {
            stack: "edge-global",
            output: "WebAclArn",
        },
    ),
    (
        "SiteCertificateArn",
        ParameterSource::StackOutput {
            stack: "edge-global",
            output: "CertificateArn",
        },
    ),
];

/// A secret the deploy must create before the stacks (CloudFormation cannot
/// create SecureString parameters, and secrets never appear in templates).
#[derive(Debug, Clone, Serialize)]
pub struct Prerequisite {
    pub kind: &'static str,
    pub name: String,
    pub region: String,
    pub how: &'static str,
    /// Encrypted with the deployer stack's hash-key key, which only the
    /// ingest role may decrypt; else with SSM's default key (the origin
    /// secret, which the operator reads to give CloudFront).
    pub only_ingest_decrypts: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenderedStack {
    pub name: &'static str,
    pub stack_name: String,
    pub purpose: &'static str,
    pub region: String,
    pub template_file: String,
    pub depends_on: Vec<&'static str>,
    pub parameters: BTreeMap<String, ParameterSource>,
    pub capabilities: Vec<&'static str>,
    /// Build artifacts the deploy uploads and points `<artifact>/current.json`
    /// at before this stack; its instance installs them without being replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fetches: Vec<&'static str>,
    pub bytes: usize,
    pub sha256: String,
    /// Larger than the inline limit: upload to the artifacts bucket, deploy by URL.
    pub requires_s3_upload: bool,
    /// The template as CloudFormation gets it; [`RenderedStack::set_body`]
    /// changes it together with its parse.
    #[serde(skip)]
    pub body: String,
    #[serde(skip)]
    template: Template,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub project: String,
    pub environment: String,
    pub profile: Profile,
    pub account_id: String,
    pub region: String,
    pub global_region: &'static str,
    pub prerequisites: Vec<Prerequisite>,
    /// In deployment order; destroy in reverse.
    pub stacks: Vec<RenderedStack>,
    /// The deployer stack (`sbwctl bootstrap`), not deployed by `deploy`.
    pub deployer: RenderedStack,
    /// What the templates do with data when their stacks are deleted.
    #[serde(skip)]
    pub data_on_delete: DataOnDelete,
    /// `protected: true`: the stacks get termination protection and the stack
    /// policy of their data resources.
    #[serde(skip)]
    pub protected: bool,
}

/// What deleting a stack does to the resources that hold data (buckets, user
/// pools, the warehouse volume).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataOnDelete {
    /// Kept, or snapshotted: the templates as deployed.
    #[default]
    Retain,
    /// Deleted with the stack: what `sbwctl destroy --delete-data` deploys
    /// just before deleting.
    Delete,
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

/// A resource of a rendered template: its logical id and type.
pub type TemplateResource = (String, String);

impl RenderedStack {
    /// The parsed template.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Replaces the template with `body`, parsed as `render` parses it (to
    /// check an edited template); the parameters, dependencies and
    /// capabilities stay as rendered.
    pub fn set_body(&mut self, body: String) -> Result<(), RenderError> {
        self.template = Template::parse(self.name, &body)?;
        self.keep_body(body);
        Ok(())
    }

    /// Stores `body` and what the deploy needs to know of its size.
    fn keep_body(&mut self, body: String) {
        self.bytes = body.len();
        self.sha256 = hex::encode(Sha256::digest(body.as_bytes()));
        self.requires_s3_upload = body.len() > INLINE_TEMPLATE_LIMIT;
        self.body = body;
    }

    /// The resources that hold data: raw events, artifacts, the site, the
    /// access logs, dead letters, user pools, the warehouse volume. The
    /// templates mark them with the `keeps_data` macro, whose
    /// `UpdateReplacePolicy` (Retain or Snapshot, in every rendering) is what
    /// this reads: the one definition that the stack policy of protected
    /// environments, the deploy's replacement guard and destroy share.
    pub fn data_resources(&self) -> Vec<TemplateResource> {
        self.resources_where("UpdateReplacePolicy")
    }

    /// The resources that outlive the stack when it is deleted
    /// (`DeletionPolicy` Retain or Snapshot).
    pub fn kept_resources(&self) -> Vec<TemplateResource> {
        self.resources_where("DeletionPolicy")
    }

    fn resources_where(&self, policy: &str) -> Vec<TemplateResource> {
        self.template
            .resources()
            .filter(|r| {
                matches!(
                    r.attribute(policy).and_then(|p| p.as_str()),
                    Some("Retain" | "Snapshot")
                )
            })
            .map(|r| (r.logical_id.to_owned(), r.kind.to_owned()))
            .collect()
    }
}

/// In templates rendered for `destroy --delete-data`: the data resources
/// that still outlive their stacks (`keeps_data(deleted_last=true)`), which
/// the destroy deletes itself once every stack is gone; (stack, logical id).
pub fn deleted_last(manifest: &Manifest) -> Vec<(&'static str, String)> {
    if manifest.data_on_delete != DataOnDelete::Delete {
        return Vec::new();
    }
    manifest
        .stacks
        .iter()
        .flat_map(|stack| {
            stack
                .kept_resources()
                .into_iter()
                .map(move |(id, _)| (stack.name, id))
        })
        .collect()
}

impl Manifest {
    /// Writes `<stack>.yaml` for every stack and `manifest.json` into `dir`.
    pub fn write_to(&self, dir: &Path) -> Result<(), RenderError> {
        let write = |path: &Path, text: &str| {
            std::fs::write(path, text).map_err(|source| RenderError::Write {
                path: path.display().to_string(),
                source,
            })
        };
        std::fs::create_dir_all(dir).map_err(|source| RenderError::Write {
            path: dir.display().to_string(),
            source,
        })?;
        for stack in self.stacks.iter().chain([&self.deployer]) {
            write(&dir.join(&stack.template_file), &stack.body)?;
        }
        write(&dir.join("manifest.json"), &(self.to_json() + "\n"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn stack(&self, name: &str) -> Option<&RenderedStack> {
        self.stacks.iter().find(|s| s.name == name)
    }

    /// The script the warehouse instance runs at first boot, as its template
    /// holds it (before CloudFormation substitutes the `${...}` names).
    pub fn warehouse_user_data(&self) -> Option<String> {
        self.stack("warehouse")?
            .template
            .resource("LaunchTemplate")?
            .property_str("/LaunchTemplateData/UserData/Fn::Base64/Fn::Sub/0")
            .map(str::to_owned)
    }

    /// The step of the warehouse's first-boot script between the lines
    /// `# NAME: begin` and `# NAME: end`, which tests run on their own.
    pub fn warehouse_user_data_step(&self, name: &str) -> Option<String> {
        let script = self.warehouse_user_data()?;
        let begin = format!("# {name}: begin\n");
        let start = script.find(&begin)? + begin.len();
        let end = start + script[start..].find(&format!("# {name}: end\n"))?;
        Some(script[start..end].to_owned())
    }
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

/// The SSM SecureString that holds the ingest function's HMAC key.
pub fn hash_key_parameter(d: &Deployment) -> String {
    format!("/sbw/{}/{}/ingest-hash-key", d.project, d.environment)
}

/// The SSM SecureString with the origin secrets (`current[,previous]`, see
/// [`sbw_names::origin_secret`]), under the environment's parameter path.
pub fn origin_secret_parameter(d: &Deployment) -> String {
    format!("{}origin-secret", iam::parameter_path(d))
}

/// The public SSM parameter with the current Ubuntu 24.04 LTS AMI for the
/// warehouse instance's architecture.
pub fn ami_parameter(d: &Deployment) -> String {
    let arch = match d.instance_arch() {
        Architecture::Arm64 => "arm64",
        Architecture::X86_64 => "amd64",
    };
    format!("/aws/service/canonical/ubuntu/server/24.04/stable/current/{arch}/hvm/ebs-gp3/ami-id")
}

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

fn environment() -> Result<Environment<'static>, RenderError> {
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
fn template_context(
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
fn tidy(text: &str) -> String {
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

/// The stacks whose outputs `template` uses: exports it imports (named
/// `<prefix>-<stack>-<Output>`) and outputs passed to it as parameters.
fn dependencies(
    prefix: &str,
    template: &Template,
    parameters: &BTreeMap<String, ParameterSource>,
) -> Vec<&'static str> {
    let imports = template.imports();
    let exporting = |import: &str| {
        let (stack, _output) = import
            .strip_prefix(prefix)?
            .strip_prefix('-')?
            .rsplit_once('-')?;
        Some(stack.to_owned())
    };
    let mut used: Vec<String> = imports.iter().filter_map(|i| exporting(i)).collect();
    used.extend(parameters.values().filter_map(|source| match source {
        ParameterSource::StackOutput { stack, .. } => Some((*stack).to_owned()),
        _ => None,
    }));
    STACKS
        .iter()
        .map(|s| s.name)
        .filter(|name| used.iter().any(|u| u == name))
        .collect()
}

/// The template's parameters and where their values come from.
fn parameter_sources(
    stack: &str,
    template: &Template,
    d: &Deployment,
) -> Result<BTreeMap<String, ParameterSource>, RenderError> {
    let mut sources = BTreeMap::new();
    for Parameter { name, default } in template.parameters() {
        let default = default.map(|default| {
            default
                .as_str()
                .map_or_else(|| default.to_string(), str::to_owned)
        });
        let source = match default {
            Some(first) if KEPT_PARAMETERS.contains(&name) => ParameterSource::Kept { first },
            Some(value) => ParameterSource::Default { value },
            None if name == "AmiId" => ParameterSource::SsmParameterOnce {
                name: ami_parameter(d),
            },
            None if name == ORIGIN_SECRET_PARAMETER => ParameterSource::SecureParameter {
                name: origin_secret_parameter(d),
            },
            None => PARAMETER_SOURCES
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, source)| source.clone())
                .ok_or_else(|| RenderError::UnknownParameter {
                    stack: stack.to_owned(),
                    parameter: name.to_owned(),
                })?,
        };
        sources.insert(name.to_owned(), source);
    }
    Ok(sources)
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
            &minijinja::Value::from(Serde(names)),
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

    #[test]
    fn tidy_collapses_blank_lines_and_trailing_spaces() {
        assert_eq!(tidy("\n\na:  \n\n\n  b: 1\n\n"), "a:\n\n  b: 1\n");
    }
}
