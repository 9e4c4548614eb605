//! A rendered template, parsed once by `render`: its resources, parameters,
//! outputs, imports and the capabilities CloudFormation needs to deploy it.

use serde_json::Value;

use super::RenderError;

/// A CloudFormation template as `render` parsed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    root: Value,
}

/// One resource of a template.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub logical_id: &'a str,
    /// Its `Type`, e.g. `AWS::S3::Bucket`.
    pub kind: &'a str,
    definition: &'a Value,
}

impl<'a> Resource<'a> {
    /// The value at `pointer` (`/Scheme`, `/Environment/Variables/NAME`) under `Properties`.
    pub fn property(&self, pointer: &str) -> Option<&'a Value> {
        self.definition.get("Properties")?.pointer(pointer)
    }

    /// A string at `pointer` under `Properties`.
    pub fn property_str(&self, pointer: &str) -> Option<&'a str> {
        self.property(pointer)?.as_str()
    }

    /// Its `Properties`.
    pub fn properties(&self) -> Option<&'a Value> {
        self.definition.get("Properties")
    }

    /// A key of the resource besides its type and properties: `DependsOn`,
    /// `Metadata`, `DeletionPolicy`, `UpdateReplacePolicy`.
    pub fn attribute(&self, key: &str) -> Option<&'a Value> {
        self.definition.get(key)
    }
}

/// A parameter of a template.
#[derive(Debug, Clone, Copy)]
pub struct Parameter<'a> {
    pub name: &'a str,
    pub default: Option<&'a Value>,
}

/// An output of a template.
#[derive(Debug, Clone, Copy)]
pub struct Output<'a> {
    pub name: &'a str,
    /// The name other stacks import it by, if it is exported.
    pub export: Option<&'a str>,
}

/// IAM resource types and the property that gives one a custom name, which
/// CloudFormation deploys only with `CAPABILITY_NAMED_IAM`.
const NAMED_IAM: &[(&str, &str)] = &[
    ("AWS::IAM::Role", "/RoleName"),
    ("AWS::IAM::ManagedPolicy", "/ManagedPolicyName"),
    ("AWS::IAM::InstanceProfile", "/InstanceProfileName"),
    ("AWS::IAM::Group", "/GroupName"),
    ("AWS::IAM::User", "/UserName"),
];

impl Template {
    /// Parses the rendered `body` of `stack`; an error names the stack and the line.
    pub(super) fn parse(stack: &str, body: &str) -> Result<Template, RenderError> {
        let root = serde_saphyr::from_str(body).map_err(|error: serde_saphyr::Error| {
            let location = error.location();
            RenderError::InvalidYaml {
                file: format!("{stack}.yaml"),
                line: location.map_or(0, |l| l.line()),
                column: location.map_or(0, |l| l.column()),
                message: crate::config::yaml_error_message(&error),
            }
        })?;
        Ok(Template { root })
    }

    pub fn resources(&self) -> impl Iterator<Item = Resource<'_>> {
        self.section("Resources")
            .map(|(logical_id, definition)| Resource {
                logical_id,
                kind: definition
                    .get("Type")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                definition,
            })
    }

    pub fn resource(&self, logical_id: &str) -> Option<Resource<'_>> {
        self.resources().find(|r| r.logical_id == logical_id)
    }

    pub fn parameters(&self) -> impl Iterator<Item = Parameter<'_>> {
        self.section("Parameters")
            .map(|(name, definition)| Parameter {
                name,
                default: definition.get("Default"),
            })
    }

    pub fn outputs(&self) -> impl Iterator<Item = Output<'_>> {
        self.section("Outputs").map(|(name, definition)| Output {
            name,
            export: definition.pointer("/Export/Name").and_then(Value::as_str),
        })
    }

    /// Every name the template imports with `Fn::ImportValue`.
    pub fn imports(&self) -> Vec<&str> {
        let mut imports = Vec::new();
        self.visit(&mut |value| {
            if let Some(Value::String(name)) = value.get("Fn::ImportValue") {
                imports.push(name.as_str());
            }
        });
        imports
    }

    /// What CloudFormation must be allowed to deploy the template: IAM
    /// resources need `CAPABILITY_IAM`, named ones `CAPABILITY_NAMED_IAM`.
    pub fn capabilities(&self) -> Vec<&'static str> {
        let iam: Vec<Resource> = self
            .resources()
            .filter(|r| r.kind.starts_with("AWS::IAM::"))
            .collect();
        let named = iam.iter().any(|resource| {
            NAMED_IAM
                .iter()
                .any(|(kind, name)| resource.kind == *kind && resource.property(name).is_some())
        });
        if named {
            vec!["CAPABILITY_NAMED_IAM"]
        } else if !iam.is_empty() {
            vec!["CAPABILITY_IAM"]
        } else {
            vec![]
        }
    }

    /// Calls `visit` on every value in the template, parents first.
    pub fn visit<'a>(&'a self, visit: &mut impl FnMut(&'a Value)) {
        walk(&self.root, visit);
    }

    fn section(&self, name: &str) -> impl Iterator<Item = (&str, &Value)> {
        self.root
            .get(name)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(key, value)| (key.as_str(), value))
    }
}

fn walk<'a>(value: &'a Value, visit: &mut impl FnMut(&'a Value)) {
    visit(value);
    match value {
        Value::Object(object) => object.values().for_each(|v| walk(v, visit)),
        Value::Array(array) => array.iter().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(body: &str) -> Template {
        Template::parse("test", body).unwrap()
    }

    #[test]
    fn capabilities_follow_the_iam_resources() {
        let role =
            "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      Path: /x/\n";
        assert_eq!(template(role).capabilities(), ["CAPABILITY_IAM"]);
        let named = format!("{role}      RoleName: fixed\n");
        assert_eq!(template(&named).capabilities(), ["CAPABILITY_NAMED_IAM"]);
        let profile = "Resources:\n  Profile:\n    Type: AWS::IAM::InstanceProfile\n";
        assert_eq!(template(profile).capabilities(), ["CAPABILITY_IAM"]);
        let policy = "Resources:\n  Boundary:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      ManagedPolicyName: fixed\n";
        assert_eq!(template(policy).capabilities(), ["CAPABILITY_NAMED_IAM"]);
        // A name on something that is not IAM needs nothing.
        let logs = "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: RoleName\n";
        assert!(template(logs).capabilities().is_empty());
    }

    #[test]
    fn yaml_that_does_not_parse_names_the_stack_and_the_line() {
        let error = Template::parse("auth", "Resources:\n  A:\n    Type: [\n").unwrap_err();
        let RenderError::InvalidYaml { file, line, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!((file.as_str(), *line), ("auth.yaml", 3), "{error}");
        assert!(error.to_string().starts_with("auth.yaml:3:"), "{error}");
    }
}
