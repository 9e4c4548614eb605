//! The guard over a change set: which data resources it may lose, and what
//! the deploy does about it.

pub(super) fn describe_at_risk(at_risk: &[ResourceChange]) -> String {
    at_risk
        .iter()
        .map(ResourceChange::risk)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One resource's line of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// True, False or Conditional (Modify only).
    pub replacement: Option<String>,
}

impl ResourceChange {
    /// Replaced (a new resource, the old one deleted), maybe replaced, or
    /// removed from the stack.
    pub fn loses_the_resource(&self) -> bool {
        self.action == "Remove"
            || matches!(self.replacement.as_deref(), Some("True" | "Conditional"))
    }

    fn risk(&self) -> String {
        let what = match (self.action.as_str(), self.replacement.as_deref()) {
            ("Remove", _) => "remove",
            (_, Some("Conditional")) => "maybe replace",
            _ => "replace",
        };
        format!(
            "{what} the data resource {} ({})",
            self.logical_id, self.resource_type
        )
    }

    pub(super) fn line(&self) -> String {
        let replacement = match self.replacement.as_deref() {
            Some("True") => " (replaced)",
            Some("Conditional") => " (may be replaced)",
            _ => "",
        };
        format!(
            "{:<7} {} {}{replacement}",
            self.action, self.logical_id, self.resource_type
        )
    }
}

/// Which data resources a change set may lose, and what the deploy does.
#[derive(Debug, Clone, Default)]
pub struct DataGuard {
    /// Logical ids of the stack's data resources
    /// ([`sbw_infra::render::RenderedStack::data_resources`]).
    pub data_resources: Vec<String>,
    /// `--allow-replace`: execute a change set that loses one anyway.
    pub allow_replace: bool,
    /// The environment is protected: the stack has a policy denying what an
    /// allowed replacement does, lifted while it runs.
    pub protected: bool,
}

/// What to do with a change set, given the data resources it may lose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No data resource is replaced or removed.
    Proceed,
    /// Some are, and `--allow-replace` says so: warn, then go on as usual.
    ProceedWarned(Vec<ResourceChange>),
    /// Some are: the operator is asked, with the warning above the question.
    AskWarned(Vec<ResourceChange>),
    /// Some are, and nobody is asked (`--yes`): refused.
    Refuse(Vec<ResourceChange>),
}

/// The guard over a change set's entries: a change set that replaces (or
/// may replace, or removes) a data resource runs only when the operator
/// answers the warning on a terminal, or passed `--allow-replace`.
pub fn decide(changes: &[ResourceChange], guard: &DataGuard, interactive: bool) -> Decision {
    let at_risk: Vec<ResourceChange> = changes
        .iter()
        .filter(|c| c.loses_the_resource() && guard.data_resources.contains(&c.logical_id))
        .cloned()
        .collect();
    match (at_risk.is_empty(), guard.allow_replace, interactive) {
        (true, _, _) => Decision::Proceed,
        (false, true, _) => Decision::ProceedWarned(at_risk),
        (false, false, true) => Decision::AskWarned(at_risk),
        (false, false, false) => Decision::Refuse(at_risk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, id: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: action.to_owned(),
            logical_id: id.to_owned(),
            resource_type: "AWS::S3::Bucket".to_owned(),
            replacement: replacement.map(str::to_owned),
        }
    }

    fn guard(allow_replace: bool) -> DataGuard {
        DataGuard {
            data_resources: vec!["RawBucket".to_owned(), "DataVolume".to_owned()],
            allow_replace,
            protected: false,
        }
    }

    #[test]
    fn a_change_set_that_may_lose_a_data_resource_runs_only_when_answered_or_allowed() {
        let replaced = change("Modify", "RawBucket", Some("True"));
        let maybe = change("Modify", "DataVolume", Some("Conditional"));
        let removed = change("Remove", "RawBucket", None);
        let harmless = [
            change("Modify", "RawBucket", Some("False")),
            change("Add", "RawBucket", None),
            // Not a data resource: replacing it loses nothing.
            change("Modify", "Function", Some("True")),
            change("Remove", "Function", None),
        ];
        for interactive in [false, true] {
            for allow in [false, true] {
                assert_eq!(
                    decide(&harmless, &guard(allow), interactive),
                    Decision::Proceed
                );
            }
        }
        for at_risk in [&replaced, &maybe, &removed] {
            let changes: Vec<ResourceChange> =
                harmless.iter().cloned().chain([at_risk.clone()]).collect();
            let only = vec![at_risk.clone()];
            // --yes: refused.
            assert_eq!(
                decide(&changes, &guard(false), false),
                Decision::Refuse(only.clone())
            );
            // On a terminal: asked, with the warning.
            assert_eq!(
                decide(&changes, &guard(false), true),
                Decision::AskWarned(only.clone())
            );
            // --allow-replace: warned, then as usual.
            for interactive in [false, true] {
                assert_eq!(
                    decide(&changes, &guard(true), interactive),
                    Decision::ProceedWarned(only.clone())
                );
            }
        }
        // Without data resources (a guard that knows none) nothing is refused.
        assert_eq!(
            decide(
                std::slice::from_ref(&replaced),
                &DataGuard::default(),
                false
            ),
            Decision::Proceed
        );
        assert_eq!(
            describe_at_risk(&[replaced, maybe, removed]),
            "replace the data resource RawBucket (AWS::S3::Bucket), maybe replace the data resource DataVolume (AWS::S3::Bucket), remove the data resource RawBucket (AWS::S3::Bucket)"
        );
    }
}
