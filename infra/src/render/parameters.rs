//! Where the deploy gets each template parameter's value, the SSM
//! parameters the stacks read, and which stacks a stack depends on.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Parameter, RenderError, Template, STACKS};
use crate::catalogue::Architecture;
use crate::config::Deployment;
use crate::iam;

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

/// The stacks whose outputs `template` uses: exports it imports (named
/// `<prefix>-<stack>-<Output>`) and outputs passed to it as parameters.
pub(super) fn dependencies(
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
pub(super) fn parameter_sources(
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
