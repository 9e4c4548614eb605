//! An operator's environment in moto, shared by the tests that deploy one:
//! the example's prod environment in moto's account, the user's hosted zone,
//! stand-in packages, and `sbwctl` run as an operator runs it.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sbw_infra::config::Architecture;
use sbw_packaging::{pack_dashboard, write_package, BuildOutput};

pub const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");
/// moto's account.
pub const ACCOUNT: &str = "123456789012";
/// An AMI moto knows (the example resolves Ubuntu's public SSM parameter,
/// which moto does not serve).
pub const MOTO_AMI: &str = "ami-1e749f67";
pub const REGION: &str = "eu-west-1";
pub const GLOBAL_REGION: &str = "us-east-1";

pub fn sbwctl(args: &[&str], endpoint: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbwctl"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .output()
        .expect("run sbwctl")
}

pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The example's prod environment (hardened: moto cannot model the minimal
/// profile's IPv6 VPC) in moto's account, in eu-west-1 so that edge-global and
/// budget live in another region, with `etl.every_minutes` set.
pub fn write_config(dir: &Path, hosted_zone: &str, etl_every_minutes: u32) -> PathBuf {
    let example = std::fs::read_to_string(EXAMPLE).unwrap();
    let prod = example.find("  prod:").unwrap();
    let (head, prod_section) = example.split_at(prod);
    let prod_section = prod_section
        .replace("\"222222222222\"", &format!("\"{ACCOUNT}\""))
        .replace("region: us-east-1", &format!("region: {REGION}"))
        .replace("Z0123456789ABCDEFGHIJ", hosted_zone)
        .replace(
            "    etl:\n      every_minutes: 15\n",
            &format!("    etl:\n      every_minutes: {etl_every_minutes}\n    warehouse:\n      ami_id: {MOTO_AMI}\n"),
        );
    assert!(
        prod_section.contains(MOTO_AMI),
        "the example's prod etl section moved"
    );
    let path = dir.join("sbw.yaml");
    std::fs::write(&path, format!("{head}{prod_section}")).unwrap();
    path
}

/// What an administrator runs once before the first deploy: the deployer
/// stack (the CloudFormation role every stack is deployed with).
pub fn bootstrap(config: &str, endpoint: &str) -> Output {
    let output = sbwctl(
        &["bootstrap", "--config", config, "--env", "prod", "--yes"],
        endpoint,
    );
    assert!(output.status.success(), "{}", text(&output));
    output
}

/// The deployer role `sbwctl bootstrap` creates for the example's prod.
pub const DEPLOYER_ROLE: &str = "arn:aws:iam::123456789012:role/sbw-shop-prod-deployer";

/// Stand-in packages and a small dashboard app whose `app.R` says `version`:
/// what deploy uploads is whatever `sbwctl build` made.
pub fn write_build(dir: &Path, version: &str) -> BuildOutput {
    let packages = ["ingest", "etl"]
        .iter()
        .map(|f| write_package(dir, f, format!("{f} bootstrap").as_bytes()).unwrap())
        .collect();
    let app = dir.join("dashboard-source");
    std::fs::create_dir_all(app.join("R")).unwrap();
    std::fs::write(
        app.join("app.R"),
        format!("# {version}\nshiny::shinyApp(ui, server)\n"),
    )
    .unwrap();
    std::fs::write(app.join("R/traffic.R"), "traffic_ui <- function(id) NULL\n").unwrap();
    let build = BuildOutput {
        architecture: Architecture::Arm64,
        packages,
        bundles: vec![pack_dashboard(&app, dir).unwrap()],
    };
    build.write(dir).unwrap();
    build
}

/// The user's Route 53 zone, which the edge stack adds records to.
pub async fn create_hosted_zone(endpoint: &str) -> String {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>analytics.shop.example.com</Name><CallerReference>sbw-deploy-flow</CallerReference></CreateHostedZoneRequest>"#;
    let answer = reqwest::Client::new()
        .post(format!("{endpoint}/2013-04-01/hostedzone"))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = answer
        .split("<Id>/hostedzone/")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no zone id in {answer}"));
    id.to_owned()
}
