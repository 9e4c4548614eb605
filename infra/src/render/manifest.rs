//! What `render` returns: the rendered stacks and the manifest the deploy reads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ParameterSource, RenderError, Template, INLINE_TEMPLATE_LIMIT};
use crate::config::Profile;

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
    /// What CloudFormation must be allowed: [`Template::capabilities`].
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
    pub(super) template: Template,
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
    pub(super) fn keep_body(&mut self, body: String) {
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
