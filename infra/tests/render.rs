//! Rendering: golden files, determinism, the manifest, and the wiring the
//! functions rely on (environment variables, routes, exports).
//!
//! Golden files are insta snapshots in tests/golden/<case>/<file>.snap. After
//! an intended template change, `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test -p sbw-infra --test render`) takes the new
//! ones; review the diff like code.
//!
//! Over 400 lines on purpose: one test per fact of the rendered wiring the
//! functions rely on; each file under tests/ is its own test binary, linked
//! anew on every change.

mod variants;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sbw_infra::config::{self, Profile};
use sbw_infra::render::{self, Manifest, ParameterSource, INLINE_TEMPLATE_LIMIT};
use serde_json::Value;

use variants::{CASES, EXAMPLE, VARIANTS};

fn manifest(file: &str, env: &str, profile: Option<Profile>) -> Manifest {
    render::render(&config::load(Path::new(file), env, profile).unwrap()).unwrap()
}

fn parse(manifest: &Manifest, stack: &str) -> Value {
    serde_saphyr::from_str(&manifest.stack(stack).unwrap().body).unwrap()
}

/// The files `sbwctl render` writes for `manifest`: file name -> text.
fn rendered_files(case: &str, manifest: &Manifest) -> BTreeMap<String, String> {
    let scratch = std::env::temp_dir().join(format!("sbw-golden-{case}-{}", std::process::id()));
    manifest.write_to(&scratch).unwrap();
    let files = std::fs::read_dir(&scratch)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    std::fs::remove_dir_all(&scratch).unwrap();
    files
}

/// The rendered files with a golden snapshot in `dir` (`<file>.snap`).
fn golden_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).map_or_else(
        |_| BTreeSet::new(),
        |entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .strip_suffix(".snap")
                        .map(str::to_owned)
                })
                .collect()
        },
    )
}

#[test]
fn rendered_templates_match_the_golden_files() {
    let golden_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (case, file, env, profile) in CASES {
        let files = rendered_files(case, &manifest(file, env, *profile));
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(golden_root.join(case));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(format!(
            "{case}: {env} of {}",
            Path::new(file).file_name().unwrap().to_string_lossy()
        ));
        settings.bind(|| {
            for (name, text) in &files {
                insta::assert_snapshot!(name.as_str(), text);
            }
        });
        let rendered: BTreeSet<String> = files.into_keys().collect();
        assert_eq!(
            golden_files(&golden_root.join(case)),
            rendered,
            "{case}: a golden file for a file no longer rendered (delete its .snap)"
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    for (_, file, env, profile) in CASES {
        let first = manifest(file, env, *profile);
        let second = manifest(file, env, *profile);
        assert_eq!(first.to_json(), second.to_json());
        for (a, b) in first.stacks.iter().zip(&second.stacks) {
            assert_eq!(a.body, b.body, "{}", a.name);
        }
    }
}

#[test]
fn manifest_orders_stacks_and_places_global_ones_in_us_east_1() {
    let loaded = manifest(VARIANTS, "loaded", None);
    let order: Vec<&str> = loaded.stacks.iter().map(|s| s.name).collect();
    assert_eq!(
        order,
        [
            "storage",
            "network",
            "auth",
            "warehouse",
            "ingest",
            "etl",
            "edge-global",
            "edge",
            "observability",
            "budget"
        ]
    );
    for stack in &loaded.stacks {
        let expected = if ["edge-global", "budget"].contains(&stack.name) {
            "us-east-1"
        } else {
            "ap-southeast-1"
        };
        assert_eq!(stack.region, expected, "{}", stack.name);
        assert_eq!(stack.stack_name, format!("sbw-lab-loaded-{}", stack.name));
        assert!(
            !stack.requires_s3_upload && stack.bytes < INLINE_TEMPLATE_LIMIT,
            "{} is {} bytes",
            stack.name,
            stack.bytes
        );
    }
    // Without WAF managed rules or a custom domain, us-east-1 still holds the
    // web ACL of the per-client rate rule, and nothing else for CloudFront.
    let bare = manifest(VARIANTS, "bare", None);
    assert_eq!(bare.stack("edge-global").unwrap().region, "us-east-1");
    assert_eq!(
        bare.stack("edge").unwrap().depends_on,
        ["storage", "ingest", "edge-global"]
    );
    assert_eq!(
        bare.stack("edge")
            .unwrap()
            .parameters
            .keys()
            .collect::<Vec<_>>(),
        ["OriginSecret", "SiteWebAclArn"]
    );
}

/// Every variant: CloudFront has a web ACL whose rule blocks one client
/// address past `ingest.client_requests_per_minute` requests to /v1/ a minute;
/// the managed rule groups only with `features.waf`.
#[test]
fn every_variant_limits_each_client_with_a_waf_rate_rule() {
    for (case, file, env, profile) in CASES {
        let manifest = manifest(file, env, *profile);
        let d = config::load(Path::new(file), env, *profile).unwrap();
        let global = parse(&manifest, "edge-global");
        let acl = &global["Resources"]["WebAcl"]["Properties"];
        assert_eq!(acl["Scope"], "CLOUDFRONT", "{case}");
        let rules = acl["Rules"].as_array().unwrap();
        let rate = rules
            .iter()
            .find(|r| r["Name"] == "RateLimitPerClient")
            .unwrap_or_else(|| panic!("{case}: no per-client rate rule"));
        assert_eq!(rate["Action"], serde_json::json!({"Block": {}}), "{case}");
        let statement = &rate["Statement"]["RateBasedStatement"];
        assert_eq!(statement["AggregateKeyType"], "IP", "{case}");
        assert_eq!(statement["EvaluationWindowSec"], 60, "{case}");
        assert_eq!(statement["Limit"], d.client_requests_per_minute, "{case}");
        assert!(
            d.client_requests_per_minute < d.ingest.throttle_rate.get() * 60,
            "{case}"
        );
        let scope = &statement["ScopeDownStatement"]["ByteMatchStatement"];
        assert_eq!(scope["SearchString"], "/v1/", "{case}");
        assert_eq!(scope["PositionalConstraint"], "STARTS_WITH", "{case}");
        assert!(scope["FieldToMatch"]["UriPath"].is_object(), "{case}");
        let managed = rules
            .iter()
            .filter(|r| r["Statement"]["ManagedRuleGroupStatement"].is_object())
            .count();
        assert_eq!(managed > 0, d.waf, "{case}: {managed} managed rule groups");
        // Minimal: WAF logs the blocked requests only.
        let filter = &global["Resources"]["WebAclLogging"]["Properties"]["LoggingFilter"];
        assert_eq!(filter.is_null(), d.waf, "{case}");
        let edge = parse(&manifest, "edge");
        assert_eq!(
            edge["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["WebACLId"],
            serde_json::json!({"Ref": "SiteWebAclArn"}),
            "{case}"
        );
    }
    // The default follows the throttle: a tenth of it, at most 300 a minute.
    let loaded = config::load(Path::new(VARIANTS), "loaded", None).unwrap();
    assert_eq!(
        loaded.client_requests_per_minute,
        (loaded.ingest.throttle_rate.get() * 6).clamp(10, 300)
    );
}

#[test]
fn manifest_says_where_every_parameter_comes_from() {
    let loaded = manifest(VARIANTS, "loaded", None);
    let source = |stack: &str, parameter: &str| {
        loaded
            .stack(stack)
            .unwrap()
            .parameters
            .get(parameter)
            .cloned()
    };
    assert_eq!(
        source("ingest", "IngestCodeKey"),
        Some(ParameterSource::Artifact { artifact: "ingest" })
    );
    assert_eq!(
        source("etl", "EtlCodeKey"),
        Some(ParameterSource::Artifact { artifact: "etl" })
    );
    assert_eq!(
        source("etl", "WarehouseHost"),
        Some(ParameterSource::StackOutput {
            stack: "warehouse",
            output: "DatabaseHost"
        })
    );
    assert_eq!(
        source("observability", "WarehouseInstanceId"),
        Some(ParameterSource::StackOutput {
            stack: "warehouse",
            output: "InstanceId"
        })
    );
    assert_eq!(
        source("edge", "SiteWebAclArn"),
        Some(ParameterSource::StackOutput {
            stack: "edge-global",
            output: "WebAclArn"
        })
    );
    // t3.small is x86_64: the amd64 Ubuntu image.
    assert_eq!(
        source("warehouse", "AmiId"),
        Some(ParameterSource::SsmParameterOnce {
            name:
                "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
                    .to_owned()
        })
    );
    let prod = manifest(EXAMPLE, "prod", None);
    assert_eq!(
        prod.stack("edge")
            .unwrap()
            .parameters
            .get("SiteCertificateArn"),
        Some(&ParameterSource::StackOutput {
            stack: "edge-global",
            output: "CertificateArn"
        })
    );
    assert_eq!(
        prod.prerequisites[0].name,
        "/sbw/sbw-shop/prod/ingest-hash-key"
    );
    let capabilities: Vec<_> = prod
        .stacks
        .iter()
        .filter(|s| !s.capabilities.is_empty())
        .map(|s| s.name)
        .collect();
    assert_eq!(capabilities, ["warehouse", "ingest", "etl"]);
}

#[test]
fn ingest_function_gets_exactly_the_settings_it_reads() {
    let dev = manifest(EXAMPLE, "dev", None);
    let ingest = parse(&dev, "ingest");
    let function = &ingest["Resources"]["Function"]["Properties"];
    let variables: BTreeSet<&str> = function["Environment"]["Variables"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        variables,
        BTreeSet::from([
            "SBW_RAW_BUCKET",
            "SBW_DLQ_URL",
            "SBW_SITE_KEYS",
            "SBW_ALLOWED_ORIGINS",
            "SBW_HASH_KEY_PARAM",
            "SBW_ORIGIN_SECRET_PARAM",
            "SBW_DEPLOYMENT",
            "SBW_METRICS_NAMESPACE",
            "RUST_LOG"
        ])
    );
    let vars = &function["Environment"]["Variables"];
    assert_eq!(
        vars["SBW_ALLOWED_ORIGINS"],
        "https://dev.shop.example.com,http://localhost:8080"
    );
    assert_eq!(vars["SBW_SITE_KEYS"], "pk_dev_4f1c9a2e");
    assert_eq!(
        vars["SBW_HASH_KEY_PARAM"],
        "/sbw/sbw-shop/dev/ingest-hash-key"
    );
    assert_eq!(vars["SBW_DEPLOYMENT"], "sbw-shop-dev");
    assert_eq!(vars["SBW_METRICS_NAMESPACE"], "SBW");
    assert_eq!(function["Runtime"], "provided.al2023");
    assert_eq!(function["Handler"], "bootstrap");
    assert_eq!(function["Architectures"][0], "arm64");
}

/// Every variant: CloudFront adds the origin secret, from a NoEcho
/// parameter the deploy fills from SSM, to requests to the API origin only;
/// the ingest function is told the parameter and may read that one alone.
#[test]
fn cloudfront_sends_the_origin_secret_the_function_may_read() {
    for (case, file, env, profile) in CASES {
        let manifest = manifest(file, env, *profile);
        let d = config::load(Path::new(file), env, *profile).unwrap();
        let parameter = format!("/sbw/{}/{}/origin-secret", d.project, d.environment);
        let edge = parse(&manifest, "edge");
        let secret = &edge["Parameters"]["OriginSecret"];
        assert_eq!(secret["NoEcho"], true, "{case}");
        assert!(
            secret.get("Default").is_none(),
            "{case}: no secret in a template"
        );
        assert_eq!(
            manifest.stack("edge").unwrap().parameters["OriginSecret"],
            ParameterSource::SecureParameter {
                name: parameter.clone()
            },
            "{case}"
        );
        assert!(
            manifest
                .prerequisites
                .iter()
                .any(|p| p.name == parameter && p.kind == "ssm_secure_string"),
            "{case}: the deploy creates it"
        );
        let origins = edge["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
            ["Origins"]
            .as_array()
            .unwrap();
        for origin in origins {
            let headers = &origin["OriginCustomHeaders"];
            if origin["Id"] == "api" {
                assert_eq!(
                    headers,
                    &serde_json::json!([{
                        "HeaderName": "x-sbw-origin-secret",
                        "HeaderValue": {"Ref": "OriginSecret"}
                    }]),
                    "{case}"
                );
            } else {
                assert!(headers.is_null(), "{case}: the site bucket gets no secret");
            }
        }
        let ingest = parse(&manifest, "ingest");
        let function = &ingest["Resources"]["Function"]["Properties"];
        assert_eq!(
            function["Environment"]["Variables"]["SBW_ORIGIN_SECRET_PARAM"], parameter,
            "{case}"
        );
        let statements = ingest["Resources"]["FunctionRole"]["Properties"]["Policies"][0]
            ["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
        let reads: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Action"] == "ssm:GetParameter")
            .map(|s| &s["Resource"]["Fn::Sub"])
            .collect();
        assert!(
            reads.contains(&&Value::from(format!(
                "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{parameter}"
            ))),
            "{case}: {reads:?}"
        );
        assert!(
            !ingest.to_string().contains("origin-secret*"),
            "{case}: the role reads that parameter alone"
        );
    }
}

#[test]
fn routes_authorize_only_the_signed_in_post_and_the_api_has_no_cors() {
    let ingest = parse(&manifest(EXAMPLE, "prod", None), "ingest");
    let resources = ingest["Resources"].as_object().unwrap();
    let mut routes: Vec<(String, String)> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Route")
        .map(|r| {
            let p = &r["Properties"];
            (
                p["RouteKey"].as_str().unwrap().to_owned(),
                p["AuthorizationType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    routes.sort();
    assert_eq!(
        routes,
        [
            ("OPTIONS /v1/events".to_owned(), "NONE".to_owned()),
            ("OPTIONS /v1/events/signed-in".to_owned(), "NONE".to_owned()),
            ("POST /v1/events".to_owned(), "NONE".to_owned()),
            ("POST /v1/events/signed-in".to_owned(), "JWT".to_owned()),
        ]
    );
    assert!(resources["Api"]["Properties"]
        .get("CorsConfiguration")
        .is_none());
    assert_eq!(
        resources["Integration"]["Properties"]["PayloadFormatVersion"],
        "2.0"
    );
}

#[test]
fn database_port_is_open_to_the_etl_group_only() {
    for (_, file, env, profile) in CASES {
        let network = parse(&manifest(file, env, *profile), "network");
        let resources = network["Resources"].as_object().unwrap();
        let postgres: Vec<&Value> = resources
            .values()
            .filter(|r| {
                r["Type"] == "AWS::EC2::SecurityGroupIngress" && r["Properties"]["FromPort"] == 5432
            })
            .collect();
        assert_eq!(postgres.len(), 1, "{env}");
        assert_eq!(
            postgres[0]["Properties"]["SourceSecurityGroupId"]["Ref"],
            "EtlSecurityGroup"
        );
        let group_rules =
            resources["WarehouseSecurityGroup"]["Properties"]["SecurityGroupIngress"].as_array();
        assert!(
            group_rules
                .into_iter()
                .flatten()
                .all(|rule| rule["FromPort"] == 443),
            "{env}"
        );
    }
}

#[test]
fn minimal_profile_has_no_nat_alb_or_interface_endpoints() {
    for (case, file, env, profile) in CASES {
        let manifest = manifest(file, env, *profile);
        let types: BTreeSet<String> = manifest
            .stacks
            .iter()
            .flat_map(|s| {
                let template: Value = serde_saphyr::from_str(&s.body).unwrap();
                template["Resources"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|r| r["Type"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        let hardened = manifest.profile == Profile::Hardened;
        for costly in [
            "AWS::EC2::NatGateway",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
        ] {
            assert_eq!(types.contains(costly), hardened, "{case}: {costly}");
        }
        let interface_endpoints = manifest
            .stacks
            .iter()
            .any(|s| s.body.contains("VpcEndpointType: Interface"));
        assert!(!interface_endpoints, "{case}");
    }
}

#[test]
fn data_is_kept_when_stacks_go() {
    let prod = manifest(EXAMPLE, "prod", None);
    let storage = parse(&prod, "storage");
    for bucket in ["RawBucket", "ArtifactsBucket", "AccessLogBucket"] {
        assert_eq!(
            storage["Resources"][bucket]["DeletionPolicy"], "Retain",
            "{bucket}"
        );
    }
    let warehouse = parse(&prod, "warehouse");
    assert_eq!(
        warehouse["Resources"]["DataVolume"]["DeletionPolicy"],
        "Snapshot"
    );
    assert_eq!(
        warehouse["Resources"]["DataVolume"]["Properties"]["Encrypted"],
        true
    );
    assert_eq!(
        warehouse["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
            ["MetadataOptions"]["HttpTokens"],
        "required"
    );
}

#[test]
fn delete_data_rendering_changes_only_the_deletion_policies() {
    let deployment = config::load(Path::new(EXAMPLE), "prod", None).unwrap();
    let kept = render::render(&deployment).unwrap();
    let deleted = render::render_with(&deployment, render::DataOnDelete::Delete).unwrap();
    let mut changed = BTreeSet::new();
    for (kept, deleted) in kept.stacks.iter().zip(&deleted.stacks) {
        let policies = |body: &str| {
            let template: Value = serde_saphyr::from_str(body).unwrap();
            let resources = template["Resources"].as_object().unwrap().clone();
            resources
                .into_iter()
                .filter_map(|(id, r)| Some((id, r.get("DeletionPolicy")?.as_str()?.to_owned())))
                .collect::<Vec<_>>()
        };
        for ((id, before), (_, after)) in policies(&kept.body).iter().zip(policies(&deleted.body)) {
            if *before != after {
                assert_eq!(after, "Delete", "{}.{id}", kept.name);
                changed.insert(format!("{}.{id}", kept.name));
            }
        }
        // ... and the user pools' deletion protection, which would make
        // CloudFormation fail to delete them.
        let without_policies = |body: &str| {
            body.lines()
                .filter(|l| !l.trim_start().starts_with("DeletionPolicy:"))
                .map(|l| l.replace("DeletionProtection: INACTIVE", "DeletionProtection: ACTIVE"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            without_policies(&kept.body),
            without_policies(&deleted.body)
        );
    }
    let expected = [
        "auth.DashboardPool",
        "auth.ShopperPool",
        "edge.SiteBucket",
        "ingest.DeadLetterQueue",
        "storage.ArtifactsBucket",
        "storage.RawBucket",
        "warehouse.DataVolume",
    ];
    assert_eq!(changed, expected.iter().map(|s| s.to_string()).collect());
    for pool in ["ShopperPool", "DashboardPool"] {
        let protection = |manifest: &Manifest| {
            parse(manifest, "auth")["Resources"][pool]["Properties"]["DeletionProtection"].clone()
        };
        assert_eq!(protection(&kept), "ACTIVE", "{pool}");
        assert_eq!(protection(&deleted), "INACTIVE", "{pool}");
    }
    // The access-log bucket outlives the stacks even then: sbwctl deletes it
    // after the buckets that log into it are gone.
    let storage = parse(&deleted, "storage");
    assert_eq!(
        storage["Resources"]["AccessLogBucket"]["DeletionPolicy"],
        "Retain"
    );
    assert_eq!(
        render::deleted_last(&deleted),
        [("storage", "AccessLogBucket".to_owned())]
    );
    assert_eq!(render::deleted_last(&kept), []);
}

#[test]
fn etl_schedule_and_freshness_alarm_follow_the_config() {
    let prod = manifest(EXAMPLE, "prod", None);
    let etl = parse(&prod, "etl");
    assert_eq!(
        etl["Resources"]["Schedule"]["Properties"]["ScheduleExpression"],
        "rate(15 minutes)"
    );
    let observability = parse(&prod, "observability");
    let freshness = &observability["Resources"]["WarehouseFreshnessAlarm"]["Properties"];
    assert_eq!(freshness["Namespace"], "SBW");
    assert_eq!(freshness["MetricName"], "DWFreshnessMinutes");
    assert_eq!(freshness["Threshold"], 45); // 2 x 15 + 15
    assert_eq!(freshness["TreatMissingData"], "breaching");
    assert_eq!(freshness["Dimensions"][0]["Value"], "sbw-shop-prod");
}

#[test]
fn user_data_carries_no_secret() {
    for (case, file, env, profile) in CASES {
        let manifest = manifest(file, env, *profile);
        let warehouse = &manifest.stack("warehouse").unwrap().body;
        assert!(
            warehouse.contains("head -c 32 /dev/urandom"),
            "{case}: the password is generated on the instance"
        );
        // The only password set in SQL is the shell variable holding the generated one.
        for (at, _) in warehouse.match_indices("PASSWORD '") {
            assert!(
                warehouse[at..].starts_with("PASSWORD '$PASSWORD'"),
                "{case}: {}",
                &warehouse[at..at + 40]
            );
        }
    }
}

#[test]
fn written_files_match_the_manifest() {
    let dir = std::env::temp_dir().join(format!("sbw-render-test-{}", std::process::id()));
    let prod = manifest(EXAMPLE, "prod", None);
    prod.write_to(&dir).unwrap();
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        written["stacks"].as_array().unwrap().len(),
        prod.stacks.len()
    );
    for stack in &prod.stacks {
        assert_eq!(
            std::fs::read_to_string(dir.join(&stack.template_file)).unwrap(),
            stack.body
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn user_data_is_valid_bash() {
    for (case, file, env, profile) in CASES {
        let script = user_data(&manifest(file, env, *profile));
        assert!(script.starts_with("#!/bin/bash\n"), "{case}");
        let path =
            std::env::temp_dir().join(format!("sbw-user-data-{case}-{}.sh", std::process::id()));
        std::fs::write(&path, &script).unwrap();
        let check = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .output()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(
            check.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

/// CloudFormation refuses to change an export that another stack imports, so
/// an output that changes when a resource is replaced (a restore or a new AMI
/// replaces the warehouse's instance and data volume) must be passed to the
/// stacks that use it as a parameter, never exported.
#[test]
fn nothing_replaceable_is_exported() {
    const REPLACEABLE: &[&str] = &["AWS::EC2::Instance", "AWS::EC2::Volume"];
    fn mentions(value: &Value, names: &BTreeSet<&str>) -> bool {
        match value {
            Value::Object(object) => {
                let direct = ["Ref", "Fn::GetAtt"].iter().any(|f| match object.get(*f) {
                    Some(Value::String(name)) => names.contains(name.as_str()),
                    Some(Value::Array(parts)) => parts
                        .first()
                        .and_then(Value::as_str)
                        .is_some_and(|name| names.contains(name)),
                    _ => false,
                });
                direct || object.values().any(|v| mentions(v, names))
            }
            Value::Array(items) => items.iter().any(|v| mentions(v, names)),
            Value::String(text) => names.iter().any(|n| text.contains(&format!("${{{n}}}"))),
            _ => false,
        }
    }
    for (case, file, env, profile) in CASES {
        let manifest = manifest(file, env, *profile);
        for stack in &manifest.stacks {
            let template = parse(&manifest, stack.name);
            let replaceable: BTreeSet<&str> = template["Resources"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, r)| REPLACEABLE.contains(&r["Type"].as_str().unwrap_or_default()))
                .map(|(name, _)| name.as_str())
                .collect();
            let Some(outputs) = template["Outputs"].as_object() else {
                continue;
            };
            for (name, output) in outputs {
                assert!(
                    output.get("Export").is_none() || !mentions(&output["Value"], &replaceable),
                    "{case}: {} exports {name}, which changes when {replaceable:?} is replaced",
                    stack.name
                );
            }
        }
    }
}

#[test]
fn dependencies_come_from_what_each_template_uses() {
    let deps = |manifest: &Manifest, stack: &str| manifest.stack(stack).unwrap().depends_on.clone();
    let prod = manifest(EXAMPLE, "prod", None);
    // The S3 gateway endpoint's policy names the project's buckets.
    assert_eq!(deps(&prod, "network"), ["storage"]);
    // The hardened dashboard load balancer signs users in with the auth stack's pool.
    assert_eq!(deps(&prod, "warehouse"), ["storage", "network", "auth"]);
    assert_eq!(deps(&prod, "ingest"), ["storage", "auth"]);
    // The ops snapshot collector reads the ingest stack's API and dead-letter queue.
    assert_eq!(
        deps(&prod, "etl"),
        ["storage", "network", "warehouse", "ingest"]
    );
    assert_eq!(deps(&prod, "edge"), ["storage", "ingest", "edge-global"]);
    assert_eq!(deps(&prod, "observability"), ["warehouse", "ingest", "etl"]);
    let dev = manifest(EXAMPLE, "dev", None);
    assert_eq!(deps(&dev, "warehouse"), ["storage", "network"]);
    // Every dependency is deployed earlier.
    for m in [&prod, &dev] {
        for (index, stack) in m.stacks.iter().enumerate() {
            for dep in &stack.depends_on {
                assert!(
                    m.stacks[..index].iter().any(|s| s.name == *dep),
                    "{} before {dep}",
                    stack.name
                );
            }
        }
    }
}

fn variable_names(function: &Value) -> BTreeSet<&str> {
    function["Environment"]["Variables"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn etl_reads_the_shops_time_zone_and_freshness_objective() {
    let dev = parse(&manifest(EXAMPLE, "dev", None), "etl");
    let variables = &dev["Resources"]["Function"]["Properties"]["Environment"]["Variables"];
    assert_eq!(variables["SBW_TIMEZONE"], "Asia/Ho_Chi_Minh");
    // The dashboard measures freshness against the alarm's threshold: 2 x 60 + 15.
    assert_eq!(variables["SBW_FRESHNESS_SLO_MINUTES"], "135");
    // Without the key: UTC.
    let bare = parse(&manifest(VARIANTS, "bare", None), "etl");
    assert_eq!(
        bare["Resources"]["Function"]["Properties"]["Environment"]["Variables"]["SBW_TIMEZONE"],
        "UTC"
    );
}

#[test]
fn ops_snapshot_collector_runs_outside_the_vpc_with_least_privilege() {
    for (case, file, env, profile) in CASES {
        let etl = parse(&manifest(file, env, *profile), "etl");
        let resources = &etl["Resources"];
        let etl_function = &resources["Function"]["Properties"];
        let ops = &resources["OpsFunction"]["Properties"];
        // The same package and architecture as the ETL, no VPC, its own role and log group.
        assert_eq!(ops["Code"], etl_function["Code"], "{case}");
        assert_eq!(
            ops["Architectures"], etl_function["Architectures"],
            "{case}"
        );
        assert!(ops.get("VpcConfig").is_none(), "{case}");
        assert_eq!(ops["Role"]["Fn::GetAtt"][0], "OpsFunctionRole", "{case}");
        assert_eq!(
            ops["LoggingConfig"]["LogGroup"]["Ref"],
            "OpsFunctionLogGroup"
        );
        assert_eq!(
            resources["OpsFunctionLogGroup"]["Properties"]["RetentionInDays"],
            resources["FunctionLogGroup"]["Properties"]["RetentionInDays"]
        );
        assert_eq!(
            variable_names(ops),
            BTreeSet::from([
                "SBW_ETL_TASK",
                "SBW_RAW_BUCKET",
                "SBW_HTTP_API_ID",
                "SBW_HTTP_API_STAGE",
                "SBW_DLQ_URL",
                "RUST_LOG"
            ]),
            "{case}"
        );
        let vars = &ops["Environment"]["Variables"];
        assert_eq!(vars["SBW_ETL_TASK"], "ops-snapshot");
        assert_eq!(vars["SBW_HTTP_API_STAGE"], "$default");
        let statements: Vec<(String, Value, Value)> = resources["OpsFunctionRole"]["Properties"]
            ["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["Sid"].as_str().unwrap().to_owned(),
                    s["Action"].clone(),
                    s["Resource"].clone(),
                )
            })
            .collect();
        let prefix = etl["Resources"]["Function"]["Properties"]["FunctionName"]
            .as_str()
            .unwrap()
            .trim_end_matches("-etl")
            .to_owned();
        let import =
            |name: &str| serde_json::json!({"Fn::ImportValue": format!("{prefix}-{name}")});
        assert_eq!(
            statements,
            [
                (
                    "Logs".to_owned(),
                    serde_json::json!(["logs:CreateLogStream", "logs:PutLogEvents"]),
                    serde_json::json!({"Fn::GetAtt": ["OpsFunctionLogGroup", "Arn"]})
                ),
                (
                    "ReadMetrics".to_owned(),
                    serde_json::json!("cloudwatch:GetMetricData"),
                    serde_json::json!("*")
                ),
                (
                    "DeadLetterDepth".to_owned(),
                    serde_json::json!("sqs:GetQueueAttributes"),
                    import("ingest-DeadLetterQueueArn")
                ),
                (
                    "WriteSnapshot".to_owned(),
                    serde_json::json!("s3:PutObject"),
                    serde_json::json!({"Fn::Sub": ["${Bucket}/_ops/*", {"Bucket": import("storage-RawBucketArn")}]})
                ),
            ],
            "{case}"
        );
        // One schedule tick starts both functions, each allowed to be invoked by it.
        let targets: Vec<&str> = resources["Schedule"]["Properties"]["Targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["Arn"]["Fn::GetAtt"][0].as_str().unwrap())
            .collect();
        assert_eq!(targets, ["Function", "OpsFunction"], "{case}");
        assert_eq!(
            resources["OpsSchedulePermission"]["Properties"]["FunctionName"]["Ref"],
            "OpsFunction"
        );
        assert_eq!(
            resources["OpsAsyncInvokeConfig"]["Properties"]["MaximumRetryAttempts"],
            0
        );
    }
}

fn user_data(manifest: &Manifest) -> String {
    manifest.warehouse_user_data().unwrap()
}

#[test]
fn warehouse_creates_hll_before_the_migrations() {
    for (case, file, env, profile) in CASES {
        let script = user_data(&manifest(file, env, *profile));
        let install = script.find("\"postgresql-$PG_MAJOR-hll\"").expect(case);
        let create = script
            .find("CREATE EXTENSION IF NOT EXISTS hll;")
            .expect(case);
        let migrations = script.rfind("/usr/local/sbin/sbw-migrate\n").expect(case);
        let etl_login = script.find("credentials/etl-database.json\"").expect(case);
        assert!(install < create && create < migrations, "{case}");
        assert!(
            create < etl_login,
            "{case}: the ETL could log in before hll exists"
        );
        // Run by the superuser, in database sbw.
        let psql = script[..create].rfind("sudo -u postgres psql").expect(case);
        let block = &script[psql..create];
        assert!(
            block.ends_with("\\c sbw\n") && !block.contains("\nSQL\n"),
            "{case}: {block}"
        );
    }
}

#[test]
fn warehouse_installs_exactly_the_r_packages_the_dashboard_loads() {
    let script = user_data(&manifest(EXAMPLE, "dev", None));
    let packages: BTreeSet<&str> = script
        .split(|c: char| c.is_whitespace() || c == '\\')
        .filter(|word| word.starts_with("r-cran-"))
        .collect();
    assert_eq!(
        packages,
        BTreeSet::from([
            "r-cran-shiny",
            "r-cran-bslib",
            "r-cran-plotly",
            "r-cran-dt",
            "r-cran-dplyr",
            "r-cran-lubridate",
            "r-cran-dbi",
            "r-cran-rpostgresql",
            "r-cran-memoise",
            "r-cran-htmltools",
            "r-cran-jsonlite",
        ])
    );
}

#[test]
fn dashboard_health_is_answered_by_shiny_and_new_versions_arrive_without_replacement() {
    let prod = manifest(EXAMPLE, "prod", None);
    let script = user_data(&prod);
    // nginx passes /healthz to Shiny (which checks the database) instead of answering itself.
    let health = &script[script.find("location = /healthz {").unwrap()..];
    let health = &health[..health.find('}').unwrap()];
    assert!(
        health.contains("proxy_pass http://127.0.0.1:3838/healthz;"),
        "{health}"
    );
    assert!(!health.contains("return 200"), "{health}");
    let warehouse = parse(&prod, "warehouse");
    assert_eq!(
        warehouse["Resources"]["TargetGroup"]["Properties"]["HealthCheckPath"],
        "/healthz"
    );
    // Shiny: unprivileged, peer login, from the symlinked current version.
    for line in [
        "User=sbw-dashboard",
        "Environment=PGHOST=/var/run/postgresql PGDATABASE=sbw PGUSER=sbw_dashboard",
        "ExecStart=/usr/bin/Rscript -e \"shiny::runApp('/srv/sbw-dashboard/current', host = '127.0.0.1', port = 3838)\"",
    ] {
        assert!(script.lines().any(|l| l == line), "{line}");
    }
    // A timer follows the pointer the deploy writes; the dashboard is no template parameter.
    assert!(script.contains("SBW_DASHBOARD_POINTER=dashboard/current.json\n"));
    assert!(script.contains("systemctl enable --now sbw-dashboard-update.timer"));
    assert_eq!(
        render::current_pointer_key("dashboard"),
        "dashboard/current.json"
    );
    assert_eq!(prod.stack("warehouse").unwrap().fetches, ["dashboard"]);
    for stack in &prod.stacks {
        assert!(
            !stack.parameters.values().any(|p| *p
                == ParameterSource::Artifact {
                    artifact: "dashboard"
                }),
            "{}",
            stack.name
        );
    }
    // The instance may read the dashboard bundles, nothing more of it.
    let statements = &warehouse["Resources"]["InstanceRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"];
    let read = statements
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == "s3:GetObject")
        .unwrap();
    assert_eq!(read["Resource"][0]["Fn::Sub"][0], "${Bucket}/dashboard/*");
}

/// The bootstrap's data-volume step, run by bash with stand-ins for `blkid`
/// (answering with the exit code under test) and `mkfs.ext4` (which logs):
/// only a device that exists and that blkid finds empty (exit 2) is formatted.
#[test]
fn the_data_volume_is_formatted_only_when_blkid_finds_nothing_on_it() {
    let step = manifest(EXAMPLE, "prod", None)
        .warehouse_user_data_step("format-data-volume")
        .unwrap();
    let work = std::env::temp_dir().join(format!("sbw-format-{}", std::process::id()));
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mkfs_log = work.join("mkfs.log");
    for (name, body) in [
        ("blkid", "#!/bin/sh\nexit \"$BLKID_EXIT\"\n".to_owned()),
        (
            "mkfs.ext4",
            format!("#!/bin/sh\necho \"$*\" >>{}\n", mkfs_log.display()),
        ),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let path = bin.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let device = work.join("nvme-data");
    let run = |blkid_exit: u8, device_exists: bool| {
        let _ = std::fs::remove_file(&mkfs_log);
        if device_exists {
            std::fs::write(&device, b"").unwrap();
        } else {
            let _ = std::fs::remove_file(&device);
        }
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("set -euo pipefail\n{step}"))
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("BLKID_EXIT", blkid_exit.to_string())
            .env("DEVICE", &device)
            .env("VOLUME", "vol-0123456789abcdef0")
            .output()
            .unwrap();
        let formatted = std::fs::read_to_string(&mkfs_log).unwrap_or_default();
        (output.status.code(), formatted)
    };
    // A filesystem is there (the warehouse, a restored snapshot): kept.
    assert_eq!(run(0, true), (Some(0), String::new()));
    // Nothing on it: formatted, once, with the label fstab mounts.
    assert_eq!(
        run(2, true),
        (Some(0), format!("-q -L sbw-data {}\n", device.display()))
    );
    // blkid cannot tell (ambiguous probe, I/O error, usage): stop, format nothing.
    for unsure in [1, 4, 8] {
        assert_eq!(run(unsure, true), (Some(1), String::new()), "exit {unsure}");
    }
    // The attachment never came: blkid would say "nothing found"; stop instead.
    assert_eq!(run(2, false), (Some(1), String::new()));
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn the_site_answers_with_a_content_security_policy() {
    for (case, file, env, profile) in CASES {
        let edge = parse(&manifest(file, env, *profile), "edge");
        let resources = &edge["Resources"];
        let headers = &resources["SecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
            ["SecurityHeadersConfig"];
        let csp = &headers["ContentSecurityPolicy"];
        assert_eq!(csp["Override"], true, "{case}");
        let policy = csp["ContentSecurityPolicy"].as_str().unwrap();
        assert_eq!(policy, render::CONTENT_SECURITY_POLICY, "{case}");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
        ] {
            assert!(policy.contains(directive), "{case}: {directive}");
        }
        assert!(
            !policy.contains("unsafe-") && !policy.contains('*'),
            "{case}"
        );
        // CloudFront's limit for the header's value.
        assert!(policy.len() <= 1783, "{case}");
        let distribution = &resources["Distribution"]["Properties"]["DistributionConfig"];
        assert_eq!(
            distribution["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]["Ref"],
            "SecurityHeaders",
            "{case}"
        );
    }
}

#[test]
fn the_s3_endpoint_reaches_the_projects_buckets_only() {
    for (case, file, env, profile) in CASES {
        let manifest = manifest(file, env, *profile);
        let network = parse(&manifest, "network");
        let policy = &network["Resources"]["S3GatewayEndpoint"]["Properties"]["PolicyDocument"];
        let statements = policy["Statement"].as_array().expect(case);
        let prefix = format!("{}-{}", manifest.project, manifest.environment);
        let imported: BTreeSet<String> = statements
            .iter()
            .flat_map(|s| s["Resource"].as_array().unwrap())
            .filter_map(|r| {
                r["Fn::ImportValue"]
                    .as_str()
                    .or_else(|| r["Fn::Sub"][1]["Bucket"]["Fn::ImportValue"].as_str())
            })
            .map(str::to_owned)
            .collect();
        assert_eq!(
            imported,
            BTreeSet::from([
                format!("{prefix}-storage-ArtifactsBucketArn"),
                format!("{prefix}-storage-RawBucketArn"),
            ]),
            "{case}"
        );
        for statement in statements {
            assert_eq!(statement["Effect"], "Allow", "{case}");
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(one) => vec![one.as_str()],
                many => many
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect(),
            };
            assert!(
                actions
                    .iter()
                    .all(|a| a.starts_with("s3:") && !a.contains('*')),
                "{case}: {actions:?}"
            );
            for resource in statement["Resource"].as_array().unwrap() {
                assert_ne!(resource, "*", "{case}");
                // Anything not imported is an AWS-owned bucket of the Region, read-only.
                if let Some(arn) = resource["Fn::Sub"].as_str() {
                    assert!(
                        arn.starts_with("arn:${AWS::Partition}:s3:::")
                            && arn.contains("${AWS::Region}")
                            && actions == ["s3:GetObject"],
                        "{case}: {arn}"
                    );
                }
            }
        }
        assert!(
            manifest
                .stack("network")
                .unwrap()
                .depends_on
                .contains(&"storage"),
            "{case}: the buckets exist before the endpoint names them"
        );
    }
}
