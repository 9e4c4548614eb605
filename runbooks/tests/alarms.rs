//! Every alarm of every rendered environment names a runbook that exists,
//! as a file beside this crate and embedded in the binary, the index links
//! every runbook, and what a runbook runs on the instance is installed there.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sbw_infra::config::{self, Profile};
use sbw_infra::render;
use serde_json::Value;

#[path = "../../infra/tests/variants/mod.rs"]
mod variants;

use variants::CASES;

fn runbook_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (alarm logical id, description) of every alarm in every rendered stack.
fn alarms(file: &str, env: &str, profile: Option<Profile>) -> Vec<(String, String)> {
    let deployment = config::load(Path::new(file), env, profile).unwrap();
    let manifest = render::render(&deployment).unwrap();
    let mut alarms = Vec::new();
    for stack in &manifest.stacks {
        let template: Value = serde_saphyr::from_str(&stack.body).unwrap();
        let Some(resources) = template["Resources"].as_object() else {
            continue;
        };
        for (id, resource) in resources {
            if resource["Type"] == "AWS::CloudWatch::Alarm" {
                let description = resource["Properties"]["AlarmDescription"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                alarms.push((format!("{}/{id}", stack.name), description));
            }
        }
    }
    alarms
}

#[test]
fn every_alarm_of_every_variant_names_an_existing_runbook() {
    let mut named = BTreeSet::new();
    for (_, file, env, profile) in CASES {
        let alarms = alarms(file, env, *profile);
        assert!(
            alarms.len() >= 9,
            "{env} {profile:?}: only {} alarms found",
            alarms.len()
        );
        for (alarm, description) in alarms {
            let names = sbw_runbooks::named_in(&description);
            let [name] = names[..] else {
                panic!("{env} {profile:?} {alarm}: the description must name one runbook as \"(runbook: NAME)\": {description:?}");
            };
            assert!(
                runbook_dir().join(format!("{name}.md")).is_file(),
                "{env} {profile:?} {alarm}: runbooks/{name}.md does not exist"
            );
            let embedded = sbw_runbooks::find(name)
                .unwrap_or_else(|e| panic!("{env} {profile:?} {alarm}: {e}"));
            assert_eq!(
                embedded.text,
                std::fs::read_to_string(runbook_dir().join(format!("{name}.md"))).unwrap(),
                "{name}: the embedded text is the file's"
            );
            named.insert(name.to_owned());
        }
    }
    // The hardened profile's load balancer check and the alarms of both profiles.
    for name in ["dashboard-down", "dlq", "freshness", "warehouse-down"] {
        assert!(named.contains(name), "no alarm names {name}: {named:?}");
    }
}

#[test]
fn every_runbook_file_is_embedded_and_linked_from_the_index() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(runbook_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != "README")
        .collect();
    let embedded: BTreeSet<String> = sbw_runbooks::all().map(|r| r.name.to_owned()).collect();
    assert_eq!(embedded, on_disk);
    let index = std::fs::read_to_string(runbook_dir().join("README.md")).unwrap();
    for name in &on_disk {
        assert!(
            index.contains(&format!("]({name}.md)")),
            "runbooks/README.md does not link {name}.md"
        );
    }
}

#[test]
fn links_between_runbooks_point_at_runbooks() {
    for runbook in sbw_runbooks::all() {
        for (at, _) in runbook.text.match_indices("](") {
            let target = &runbook.text[at + 2..];
            let target = &target[..target.find(')').unwrap()];
            if let Some(name) = target.strip_suffix(".md") {
                assert!(
                    sbw_runbooks::find(name).is_ok(),
                    "{}: link to {target}, which is no runbook",
                    runbook.name
                );
            }
        }
    }
}

#[test]
fn every_runbook_the_shared_names_give_exists() {
    let mut names: Vec<&str> = sbw_infra::names::ALARMS.iter().map(|(_, r)| *r).collect();
    names.push(sbw_infra::names::BUDGET_RUNBOOK);
    for name in names {
        assert!(
            sbw_runbooks::find(name).is_ok(),
            "runbooks/{name}.md is missing"
        );
    }
}

/// The warehouse's bootstrap script of one rendered environment.
fn user_data(file: &str, env: &str, profile: Option<Profile>) -> String {
    let deployment = config::load(Path::new(file), env, profile).unwrap();
    render::render(&deployment)
        .unwrap()
        .warehouse_user_data()
        .unwrap()
}

/// A command a runbook runs on the instance (`/usr/local/sbin/NAME`) is one
/// the bootstrap installs there, in every variant.
#[test]
fn every_instance_command_a_runbook_runs_is_installed_by_the_bootstrap() {
    let mut named = BTreeSet::new();
    for runbook in sbw_runbooks::all() {
        for (at, _) in runbook.text.match_indices("/usr/local/sbin/") {
            let rest = &runbook.text[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_".contains(c)))
                .unwrap_or(rest.len());
            named.insert((runbook.name, rest[..end].to_owned()));
        }
    }
    assert!(
        named
            .iter()
            .any(|(_, path)| path == "/usr/local/sbin/sbw-bootstrap"),
        "{named:?}"
    );
    for (_, file, env, profile) in CASES {
        let script = user_data(file, env, *profile);
        for (runbook, path) in &named {
            let installed = script.lines().any(|line| {
                line.starts_with(&format!("cat >{path} "))
                    || (line.contains("install ") && line.ends_with(&format!(" {path}")))
            });
            assert!(
                installed,
                "{env} {profile:?}: runbooks/{runbook}.md runs {path}, which the bootstrap does not install"
            );
        }
    }
}
