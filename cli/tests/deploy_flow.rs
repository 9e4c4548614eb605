//! `sbwctl deploy | status | destroy` end to end against moto, through the
//! binary as an operator runs it: only `AWS_ENDPOINT_URL` and fake
//! credentials differ from a real account. Results are checked with the SDK.
//!
//! Over 400 lines on purpose: the cases share one deployed environment per
//! test and its checks; each file under tests/ is its own test binary, linked
//! anew on every change and links the AWS SDKs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_cloudformation::Client as CloudFormation;
use sbw_deploy::deploy::CurrentPointer;
use sbw_infra::config;
use sbw_testkit::Moto;
use serde_json::Value;

mod moto_account;
use moto_account::{
    bootstrap, create_hosted_zone, sbwctl, text, write_build, write_config, DEPLOYER_ROLE, EXAMPLE,
    GLOBAL_REGION, REGION,
};

/// The lines deploy printed about the dashboard bundle (uploads, pointer writes).
fn dashboard_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains("/dashboard/"))
        .map(str::to_owned)
        .collect()
}

/// The warehouse instance's dashboard updater, as the rendered user-data
/// installs it, run here against moto with a stand-in `systemctl` that logs.
struct Instance {
    script: PathBuf,
    root: PathBuf,
    bin: PathBuf,
    systemctl_log: PathBuf,
}

impl Instance {
    fn new(config: &str, work: &Path) -> Instance {
        let deployment = config::load(Path::new(config), "prod", None).unwrap();
        let manifest = sbw_infra::render::render(&deployment).unwrap();
        let user_data = manifest.warehouse_user_data().unwrap();
        let start = "cat >/usr/local/sbin/sbw-dashboard-update <<'UPDATE'\n";
        let script = &user_data[user_data.find(start).unwrap() + start.len()..];
        let script = &script[..script.find("\nUPDATE\n").unwrap() + 1];
        let instance = Instance {
            script: work.join("sbw-dashboard-update"),
            root: work.join("srv"),
            bin: work.join("bin"),
            systemctl_log: work.join("systemctl.log"),
        };
        std::fs::create_dir_all(instance.root.join("releases")).unwrap();
        std::fs::create_dir_all(&instance.bin).unwrap();
        std::fs::write(&instance.script, script).unwrap();
        let systemctl = instance.bin.join("systemctl");
        std::fs::write(
            &systemctl,
            format!(
                "#!/bin/sh\necho \"$*\" >>{}\n",
                instance.systemctl_log.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755)).unwrap();
        instance
    }

    /// One timer tick; returns the updater's output.
    fn tick(&self, endpoint: &str, bucket: &str) -> String {
        // moto's venv has boto3, as Ubuntu's python3-boto3 on the instance.
        let moto_server = std::env::var_os(sbw_testkit::moto::MOTO_SERVER_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server")
            });
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new(moto_server.with_file_name("python3"))
            .arg(&self.script)
            .env("PATH", path)
            .env("SBW_DASHBOARD_ROOT", &self.root)
            .env("SBW_REGION", REGION)
            .env("SBW_ARTIFACTS_BUCKET", bucket)
            .env("SBW_DASHBOARD_POINTER", "dashboard/current.json")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .unwrap();
        let text = text(&output);
        assert!(output.status.success(), "{text}");
        text
    }

    /// The version `current` points at, and what is in it.
    fn current(&self) -> (String, String) {
        let target = std::fs::read_link(self.root.join("current")).unwrap();
        let version = target.file_name().unwrap().to_string_lossy().into_owned();
        (
            version,
            std::fs::read_to_string(target.join("app.R")).unwrap(),
        )
    }

    fn restarts(&self) -> usize {
        std::fs::read_to_string(&self.systemctl_log)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == "restart sbw-dashboard.service")
            .count()
    }
}

struct Stacks {
    regional: CloudFormation,
    global: CloudFormation,
}

impl Stacks {
    async fn connect(moto: &Moto) -> Stacks {
        let config = moto.sdk_config().await;
        let client = |region: &'static str| {
            CloudFormation::from_conf(
                aws_sdk_cloudformation::config::Builder::from(&config)
                    .region(aws_sdk_cloudformation::config::Region::new(region))
                    .build(),
            )
        };
        Stacks {
            regional: client(REGION),
            global: client(GLOBAL_REGION),
        }
    }

    fn client(&self, stack: &str) -> &CloudFormation {
        match stack {
            "edge-global" | "budget" => &self.global,
            _ => &self.regional,
        }
    }

    /// Status, parameters and outputs of `sbw-shop-prod-<stack>`; `None` once deleted.
    async fn get(
        &self,
        stack: &str,
    ) -> Option<(String, BTreeMap<String, String>, BTreeMap<String, String>)> {
        let name = format!("sbw-shop-prod-{stack}");
        let state = sbw_deploy::stack::describe(self.client(stack), &name)
            .await
            .ok()??;
        let status = state.status.as_str().to_owned();
        (status != "DELETE_COMPLETE").then_some((status, state.parameters, state.outputs))
    }

    async fn status(&self, stack: &str) -> Option<String> {
        self.get(stack).await.map(|(status, _, _)| status)
    }

    /// The service role CloudFormation changes `sbw-shop-prod-<stack>` with.
    async fn role(&self, stack: &str) -> Option<String> {
        self.describe(stack).await?.role_arn().map(str::to_owned)
    }

    /// `sbw-shop-prod-<stack>` as DescribeStacks answers; `None` when it does not.
    async fn describe(&self, stack: &str) -> Option<aws_sdk_cloudformation::types::Stack> {
        self.client(stack)
            .describe_stacks()
            .stack_name(format!("sbw-shop-prod-{stack}"))
            .send()
            .await
            .ok()?
            .stacks
            .and_then(|stacks| stacks.into_iter().next())
    }
}

const STACKS: &[&str] = &[
    "network",
    "auth",
    "storage",
    "warehouse",
    "ingest",
    "etl",
    "edge-global",
    "edge",
    "observability",
    "budget",
];

/// The result column of deploy's summary, per stack.
fn results(output: &Output) -> BTreeMap<String, String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let stack = words.next()?.strip_prefix("sbw-shop-prod-")?;
            let _region = words.next()?;
            Some((stack.to_owned(), words.collect::<Vec<_>>().join(" ")))
        })
        .collect()
}

/// moto with the example's prod environment configured, bootstrapped (the
/// administrator's `sbwctl bootstrap`) and built, not deployed.
struct Prod {
    moto: Moto,
    endpoint: String,
    work: tempfile::TempDir,
    zone: String,
    config: String,
    build_dir: PathBuf,
    build: sbw_packaging::BuildOutput,
}

impl Prod {
    async fn new() -> Prod {
        let prod = Prod::unbootstrapped().await;
        bootstrap(&prod.config, &prod.endpoint);
        prod
    }

    /// Before the administrator's `sbwctl bootstrap`.
    async fn unbootstrapped() -> Prod {
        let moto = Moto::start().expect("moto");
        let endpoint = moto.endpoint().to_owned();
        let work = tempfile::tempdir().unwrap();
        let zone = create_hosted_zone(&endpoint).await;
        let config = write_config(work.path(), &zone, 15);
        let build_dir = work.path().join("build");
        std::fs::create_dir_all(&build_dir).unwrap();
        let build = write_build(&build_dir, "version 1");
        Prod {
            config: config.to_str().unwrap().to_owned(),
            moto,
            endpoint,
            work,
            zone,
            build_dir,
            build,
        }
    }
}

/// `deploy --yes` of the prod environment in `config`, from the build in `build_dir`.
fn deploy_prod<'a>(config: &'a str, build_dir: &'a Path) -> [&'a str; 8] {
    [
        "deploy",
        "--config",
        config,
        "--env",
        "prod",
        "--yes",
        "--build-dir",
        build_dir.to_str().unwrap(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_status_noop_update_destroy() {
    let Prod {
        moto,
        endpoint,
        work,
        zone,
        config,
        build_dir,
        build,
    } = Prod::unbootstrapped().await;
    let config = config.as_str();
    let deploy = deploy_prod(config, &build_dir);
    let stacks = Stacks::connect(&moto).await;

    // Before `sbwctl bootstrap` there is no role to deploy with: a failed
    // precondition (exit 1) that says what to run, and no stack is touched.
    let unprepared = sbwctl(&deploy, &endpoint);
    assert_eq!(unprepared.status.code(), Some(1), "{}", text(&unprepared));
    let said = String::from_utf8_lossy(&unprepared.stderr);
    assert!(
        said.contains("sbw-shop-prod-deployer")
            && said.contains(
                "an administrator runs `sbwctl bootstrap --config <file> --env prod` once"
            ),
        "{said}"
    );
    assert_eq!(stacks.status("network").await, None);
    // The administrator's bootstrap creates the role once; again, nothing changes.
    let created = bootstrap(config, &endpoint);
    assert!(
        String::from_utf8_lossy(&created.stdout)
            .lines()
            .any(|l| l.split_whitespace().eq(["DeployerRoleArn", DEPLOYER_ROLE])),
        "{}",
        text(&created)
    );
    let again = bootstrap(config, &endpoint);
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .lines()
            .any(|l| l
                .split_whitespace()
                .eq(["sbw-shop-prod-deployer", REGION, "unchanged"])),
        "{}",
        text(&again)
    );

    // First deploy: every stack created, in its region, wired together.
    let first = sbwctl(&deploy, &endpoint);
    assert!(first.status.success(), "{}", text(&first));
    let created = results(&first);
    for stack in STACKS {
        assert_eq!(
            created.get(*stack).map(String::as_str),
            Some("created"),
            "{stack}: {}",
            text(&first)
        );
        assert_eq!(
            stacks.status(stack).await.as_deref(),
            Some("CREATE_COMPLETE"),
            "{stack}"
        );
        assert_eq!(
            stacks.role(stack).await.as_deref(),
            Some(DEPLOYER_ROLE),
            "{stack} is deployed with the deployer role"
        );
    }
    // prod is protected: every stack has termination protection, and the
    // stacks holding data a policy that denies replacing or deleting it.
    for stack in STACKS {
        let described = stacks
            .client(stack)
            .describe_stacks()
            .stack_name(format!("sbw-shop-prod-{stack}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            described.stacks()[0].enable_termination_protection(),
            Some(true),
            "{stack}"
        );
    }
    let policy = stacks
        .regional
        .get_stack_policy()
        .stack_name("sbw-shop-prod-storage")
        .send()
        .await
        .unwrap();
    let mut policy: Value = serde_json::from_str(policy.stack_policy_body().unwrap()).unwrap();
    policy["Statement"][1]["Resource"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|r| r.to_string());
    assert_eq!(
        policy["Statement"][1],
        serde_json::json!({
            "Effect": "Deny", "Principal": "*", "Action": ["Update:Replace", "Update:Delete"],
            "Resource": ["LogicalResourceId/AccessLogBucket", "LogicalResourceId/ArtifactsBucket", "LogicalResourceId/RawBucket"]
        })
    );
    let (_, ingest_parameters, ingest_outputs) = stacks.get("ingest").await.unwrap();
    assert_eq!(
        ingest_parameters["IngestCodeKey"],
        build.package("ingest").unwrap().key()
    );
    let (_, edge_parameters, _) = stacks.get("edge").await.unwrap();
    let (_, _, edge_global_outputs) = stacks.get("edge-global").await.unwrap();
    assert_eq!(
        edge_parameters["SiteCertificateArn"], edge_global_outputs["CertificateArn"],
        "the us-east-1 certificate reaches the regional edge stack as a parameter"
    );
    let aws = moto.sdk_config().await;
    let ssm = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&aws)
            .region(aws_sdk_ssm::config::Region::new(REGION))
            .build(),
    );
    // The dashboard bundle is uploaded once and the pointer names it.
    let (_, _, storage_outputs) = stacks.get("storage").await.unwrap();
    let artifacts = &storage_outputs["ArtifactsBucketName"];
    let s3 = sbw_aws::s3_client(
        &aws.to_builder()
            .region(aws_config::Region::new(REGION))
            .build(),
    );
    let read = |key: String| {
        let s3 = s3.clone();
        let artifacts = artifacts.clone();
        async move {
            let object = s3
                .get_object()
                .bucket(artifacts)
                .key(key)
                .send()
                .await
                .unwrap();
            object.body.collect().await.unwrap().into_bytes().to_vec()
        }
    };
    let bundle = build.bundle("dashboard").unwrap();
    let pointer: CurrentPointer =
        serde_json::from_slice(&read("dashboard/current.json".to_owned()).await).unwrap();
    assert_eq!(
        pointer,
        CurrentPointer {
            key: bundle.key(),
            sha256: bundle.sha256.clone(),
            bytes: bundle.bytes
        }
    );
    assert_eq!(
        read(bundle.key()).await,
        std::fs::read(build_dir.join(&bundle.file)).unwrap()
    );
    let lines = dashboard_lines(&first);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("uploaded s3://") && lines[0].contains(&bundle.key()));
    assert!(lines[1].contains("dashboard/current.json now names"));

    // The instance's timer installs it, and does nothing more while it is current.
    let instance = Instance::new(config, &work.path().join("instance"));
    assert!(instance
        .tick(&endpoint, artifacts)
        .contains("installed dashboard-"));
    let version_1 = bundle.file.trim_end_matches(".tar.gz").to_owned();
    assert_eq!(
        instance.current(),
        (
            version_1.clone(),
            "# version 1\nshiny::shinyApp(ui, server)\n".to_owned()
        )
    );
    assert_eq!(instance.restarts(), 1);
    instance.tick(&endpoint, artifacts);
    assert_eq!(instance.restarts(), 1, "unchanged: no restart");

    let key = ssm
        .get_parameter()
        .name(&ingest_outputs["HashKeyParameter"])
        .with_decryption(true)
        .send()
        .await
        .expect("deploy creates the hashing key");
    let key = key.parameter().unwrap().value().unwrap().to_owned();
    assert!(
        key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );

    // Status: stacks and the dead-letter queue are read; CloudWatch is not served by moto.
    s3.put_object()
        .bucket(&storage_outputs["RawBucketName"])
        .key(sbw_etl::LAST_RUN_KEY)
        .body(
            serde_json::json!({
                "run_id": 3, "trigger": "schedule", "status": "succeeded",
                "started_at": "2026-01-01T10:00:00Z", "finished_at": "2026-01-01T10:00:40Z",
                "objects_loaded": 2, "objects_quarantined": 0, "events_loaded": 57, "duplicates": 1,
                "rejected_lines": 0, "sessions_rebuilt": 9, "loaded_through": "2026-01-01T09:59:00Z",
                "freshness_minutes": 1.7, "newest_event_received_at": "2026-01-01T09:58:10Z", "error": null
            })
            .to_string()
            .into_bytes()
            .into(),
        )
        .send()
        .await
        .unwrap();
    let status = sbwctl(
        &[
            "status", "--config", config, "--env", "prod", "--output", "json",
        ],
        &endpoint,
    );
    let report: Value =
        serde_json::from_slice(&status.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&status)));
    assert_eq!(
        status.status.code(),
        Some(4),
        "degraded: the alarms cannot be read; {}",
        text(&status)
    );
    assert_eq!(report["health"], "degraded");
    for stack in report["stacks"].as_array().unwrap() {
        assert_eq!(stack["status"], "CREATE_COMPLETE", "{stack}");
    }
    assert_eq!(report["dead_letters"]["Ok"], 0);
    assert_eq!(report["last_etl_run"]["Ok"]["events_loaded"], 57);
    let alarms_error = report["alarms_in_alarm"]["Err"]
        .as_str()
        .unwrap_or_default();
    assert!(alarms_error.contains("HTTP"), "{report}");
    let table = sbwctl(&["status", "--config", config, "--env", "prod"], &endpoint);
    assert!(
        String::from_utf8_lossy(&table.stdout)
            .contains("Succeeded at 2026-01-01T10:00:40Z: 57 events"),
        "{}",
        text(&table)
    );

    // Again: nothing to do.
    let again = sbwctl(&deploy, &endpoint);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        results(&again).values().all(|r| r == "unchanged"),
        "{}",
        text(&again)
    );
    assert_eq!(
        dashboard_lines(&again),
        Vec::<String>::new(),
        "nothing uploaded or rewritten"
    );

    // A new dashboard: uploaded and pointed at; the instance switches without being replaced.
    let build = write_build(&build_dir, "version 2");
    let bundle = build.bundle("dashboard").unwrap();
    let new_app = sbwctl(&deploy, &endpoint);
    assert!(new_app.status.success(), "{}", text(&new_app));
    assert!(
        results(&new_app).values().all(|r| r == "unchanged"),
        "{}",
        text(&new_app)
    );
    assert_eq!(dashboard_lines(&new_app).len(), 2, "{}", text(&new_app));
    assert!(instance
        .tick(&endpoint, artifacts)
        .contains("installed dashboard-"));
    let (version_2, app) = instance.current();
    assert_eq!(version_2, bundle.file.trim_end_matches(".tar.gz"));
    assert_ne!(version_2, version_1);
    assert_eq!(app, "# version 2\nshiny::shinyApp(ui, server)\n");
    assert_eq!(instance.restarts(), 2);
    assert!(
        instance.root.join("releases").join(&version_1).is_dir(),
        "the previous version stays for a rollback"
    );

    // A config change updates the stacks it touches, and only those.
    write_config(work.path(), &zone, 30);
    let update = sbwctl(&deploy, &endpoint);
    assert!(update.status.success(), "{}", text(&update));
    let updated = results(&update);
    assert_eq!(updated["etl"], "updated", "{}", text(&update));
    assert_eq!(
        updated["observability"], "updated",
        "its freshness alarm follows the cadence"
    );
    assert_eq!(updated["network"], "unchanged");
    assert_eq!(updated["ingest"], "unchanged");
    assert_eq!(
        stacks.status("etl").await.as_deref(),
        Some("UPDATE_COMPLETE")
    );
    assert_eq!(
        stacks.status("network").await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    // A change set that may replace a data resource (moto answers every
    // Modify with Replacement: Conditional, as CloudFormation does when it
    // cannot tell) is refused under --yes, and nothing changes...
    let config_text = std::fs::read_to_string(config).unwrap();
    std::fs::write(
        config,
        config_text.replace(
            "      log_days: 90\n",
            "      log_days: 90\n      raw_infrequent_access_days: 45\n",
        ),
    )
    .unwrap();
    let refused = sbwctl(&deploy, &endpoint);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("would maybe replace the data resource RawBucket (AWS::S3::Bucket)")
            && stderr.contains("--allow-replace"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        stacks.status("storage").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    // ... unless the operator says so.
    let allowed = sbwctl(
        &deploy
            .iter()
            .copied()
            .chain(["--allow-replace"])
            .collect::<Vec<_>>(),
        &endpoint,
    );
    assert!(allowed.status.success(), "{}", text(&allowed));
    assert_eq!(
        results(&allowed)["storage"],
        "updated",
        "{}",
        text(&allowed)
    );
    assert!(
        String::from_utf8_lossy(&allowed.stderr).contains("!!! DATA AT RISK"),
        "{}",
        text(&allowed)
    );

    // prod is protected: destroy needs --force.
    let refused = sbwctl(
        &["destroy", "--config", config, "--env", "prod", "--yes"],
        &endpoint,
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is protected"),
        "{}",
        text(&refused)
    );
    assert!(stacks.status("network").await.is_some());

    let destroy = sbwctl(
        &[
            "destroy", "--config", config, "--env", "prod", "--yes", "--force",
        ],
        &endpoint,
    );
    assert!(destroy.status.success(), "{}", text(&destroy));
    for stack in STACKS {
        assert_eq!(stacks.status(stack).await, None, "{stack} is gone");
    }
    let raw_bucket = &storage_outputs["RawBucketName"];
    assert!(
        s3.head_bucket().bucket(raw_bucket).send().await.is_ok(),
        "the raw bucket is kept without --delete-data"
    );
    let kept = String::from_utf8_lossy(&destroy.stdout);
    assert!(
        kept.contains("RawBucket") && kept.contains(raw_bucket.as_str()),
        "{}",
        text(&destroy)
    );
}

/// `destroy` checks the credentials' account as `deploy` does, before it asks
/// or deletes anything: the example's dev environment is configured for
/// another account than moto's.
#[test]
fn destroy_refuses_credentials_of_another_account() {
    let moto = Moto::start().expect("moto");
    let output = sbwctl(
        &["destroy", "--config", EXAMPLE, "--env", "dev", "--yes"],
        moto.endpoint(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(
            "the AWS credentials are for account 123456789012, but environment dev is configured for account 111111111111"
        ),
        "{}",
        text(&output)
    );
}

/// `destroy --delete-data` leaves nothing: every bucket emptied and deleted,
/// the access-log bucket after the buckets that log into it (the storage
/// stack's deletion keeps it; destroy deletes it once every stack is gone).
#[tokio::test(flavor = "multi_thread")]
async fn destroy_delete_data_deletes_the_access_logs_last() {
    let Prod {
        moto,
        endpoint,
        config,
        build_dir,
        work: _work,
        ..
    } = Prod::new().await;
    let (endpoint, config) = (endpoint.as_str(), config.as_str());
    let deploy = sbwctl(&deploy_prod(config, &build_dir), endpoint);
    assert!(deploy.status.success(), "{}", text(&deploy));
    let stacks = Stacks::connect(&moto).await;
    let (_, _, storage) = stacks.get("storage").await.unwrap();
    let (_, _, edge) = stacks.get("edge").await.unwrap();
    let aws = moto.sdk_config().await;
    let s3 = sbw_aws::s3_client(
        &aws.to_builder()
            .region(aws_config::Region::new(REGION))
            .build(),
    );
    let buckets = [
        storage["RawBucketName"].clone(),
        storage["ArtifactsBucketName"].clone(),
        storage["AccessLogBucketName"].clone(),
        edge["SiteBucketName"].clone(),
    ];
    for bucket in &buckets {
        s3.put_object()
            .bucket(bucket)
            .key("some/object")
            .body(b"data".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let destroy = sbwctl(
        &[
            "destroy",
            "--config",
            config,
            "--env",
            "prod",
            "--yes",
            "--force",
            "--delete-data",
            "--confirm",
            "prod",
        ],
        endpoint,
    );
    assert!(destroy.status.success(), "{}", text(&destroy));
    for stack in STACKS {
        assert_eq!(stacks.status(stack).await, None, "{stack} is gone");
    }
    for bucket in &buckets {
        assert!(
            s3.head_bucket().bucket(bucket).send().await.is_err(),
            "{bucket} is deleted: {}",
            text(&destroy)
        );
    }
    let stdout = String::from_utf8_lossy(&destroy.stdout);
    assert!(
        stdout.contains(&format!(
            "deleted s3://{} last, after the buckets that logged into it",
            storage["AccessLogBucketName"]
        )),
        "{}",
        text(&destroy)
    );
    assert!(!stdout.contains("kept"), "{}", text(&destroy));
}

/// `sbwctl rotate origin-secret`: refused with what to run before a deploy
/// and with wrong arguments; after one, the parameter holds `new,current`
/// and the edge stack (only it) sends the new secret; a deploy after it
/// changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn rotate_origin_secret_keeps_the_previous_one_and_updates_cloudfront() {
    let Prod {
        moto,
        endpoint,
        config,
        build_dir,
        work: _work,
        ..
    } = Prod::new().await;
    let (endpoint, config) = (endpoint.as_str(), config.as_str());
    let rotate = [
        "rotate",
        "origin-secret",
        "--config",
        config,
        "--env",
        "prod",
    ];

    let usage = sbwctl(&["rotate", "origin-secret", "--env", "prod"], endpoint);
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage));
    assert!(text(&usage).contains("--config"), "{}", text(&usage));
    let unknown = sbwctl(
        &["rotate", "hash-key", "--config", config, "--env", "prod"],
        endpoint,
    );
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    let early = sbwctl(&rotate, endpoint);
    assert_eq!(early.status.code(), Some(1), "{}", text(&early));
    assert!(
        text(&early).contains("sbw-shop-prod-edge is not deployed")
            && text(&early).contains("sbwctl deploy"),
        "{}",
        text(&early)
    );

    let deploy = sbwctl(&deploy_prod(config, &build_dir), endpoint);
    assert!(deploy.status.success(), "{}", text(&deploy));
    let aws = moto.sdk_config().await;
    let ssm = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&aws)
            .region(aws_sdk_ssm::config::Region::new(REGION))
            .build(),
    );
    let parameter = "/sbw/sbw-shop/prod/origin-secret";
    let stored = || async {
        ssm.get_parameter()
            .name(parameter)
            .with_decryption(true)
            .send()
            .await
            .expect("deploy creates the origin secret")
            .parameter
            .unwrap()
            .value
            .unwrap()
    };
    let first = stored().await;
    assert!(
        first.len() == 64 && first.bytes().all(|b| b.is_ascii_hexdigit()),
        "one secret, 32 random bytes: {first}"
    );
    let stacks = Stacks::connect(&moto).await;
    // moto echoes NoEcho parameters (AWS shows ****): what CloudFront gets.
    let sent = || async { stacks.get("edge").await.unwrap().1["OriginSecret"].clone() };
    assert_eq!(sent().await, first);

    let rotated = sbwctl(&rotate, endpoint);
    assert!(rotated.status.success(), "{}", text(&rotated));
    let said = text(&rotated);
    assert!(
        said.contains("stored a new origin secret in /sbw/sbw-shop/prod/origin-secret"),
        "{said}"
    );
    assert!(said.contains("origin secret rotated"), "{said}");
    assert!(!said.contains(&first), "a secret was printed: {said}");
    let after = stored().await;
    let (new, previous) = after.split_once(',').expect("new,previous");
    assert_eq!(previous, first);
    assert!(new.len() == 64 && new != first, "{after}");
    assert!(!said.contains(new), "a secret was printed: {said}");
    assert_eq!(sent().await, new, "CloudFront sends the new secret");
    assert_eq!(
        stacks.status("edge").await.as_deref(),
        Some("UPDATE_COMPLETE")
    );
    assert_eq!(
        stacks.status("ingest").await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    let again = sbwctl(&deploy_prod(config, &build_dir), endpoint);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(results(&again)["edge"], "unchanged", "{}", text(&again));
    assert_eq!(stored().await, after, "a deploy keeps the rotated secrets");
}
