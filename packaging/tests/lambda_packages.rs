//! The packages `sbwctl build` made, checked as Lambda would use them: one
//! executable `bootstrap` per zip, for the right CPU, needing no glibc newer
//! than provided.al2023's 2.34, completing invocations against the local
//! Runtime API (arm64 ones under qemu-user-static).
//!
//! Cross-builds take minutes, so these run from scripts/test-build.sh, which
//! builds both architectures into $SBW_LAMBDA_PACKAGES/{arm64,x86_64} first.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use object::Object;
use sbw_infra::config::Architecture;
use sbw_packaging::{max_glibc_version, BuildOutput, FUNCTIONS, GLIBC_MAX};
use sbw_testkit::{
    FunctionProcess, HttpApiRequest, HttpApiResponse, InvocationOutcome, RuntimeApi,
};
use serde_json::json;

fn packages_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("SBW_LAMBDA_PACKAGES")
            .expect("SBW_LAMBDA_PACKAGES: run scripts/test-build.sh"),
    )
}

/// The `bootstrap` inside a package, after checking the zip's layout.
fn bootstrap(zip_path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    assert_eq!(archive.len(), 1, "{}: only bootstrap", zip_path.display());
    let mut entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name().unwrap(), "bootstrap");
    assert_eq!(entry.unix_mode().unwrap() & 0o777, 0o755, "executable");
    let mut binary = Vec::new();
    entry.read_to_end(&mut binary).unwrap();
    binary
}

/// Settings that let each function start; nothing they reach is contacted.
fn function_env(function: &str) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![("AWS_ENDPOINT_URL", "http://127.0.0.1:9")];
    env.extend(match function {
        "ingest" => vec![
            ("SBW_RAW_BUCKET", "raw"),
            ("SBW_DLQ_URL", "http://127.0.0.1:9/000000000000/dlq"),
            ("SBW_SITE_KEYS", "pk_test_12345678"),
            ("SBW_ALLOWED_ORIGINS", "https://shop.example"),
            ("SBW_HASH_KEY", "a-test-hashing-key-of-32-bytes-at-least"),
            (
                "SBW_ORIGIN_SECRET",
                "a-test-origin-secret-of-32-bytes-at-least",
            ),
            ("SBW_DEPLOYMENT", "sbw-test"),
        ],
        "etl" => vec![
            ("SBW_RAW_BUCKET", "raw"),
            ("SBW_DB_HOST", "127.0.0.1"),
            ("SBW_DB_CREDENTIALS_BUCKET", "artifacts"),
            ("SBW_DB_CREDENTIALS_KEY", "credentials/etl-database.json"),
            ("SBW_DEPLOYMENT", "sbw-test"),
        ],
        other => panic!("no test settings for function {other}: add them here"),
    });
    env
}

async fn check_invocations(arch: Architecture, function: &str, binary_path: &Path) {
    let runtime = RuntimeApi::start(function, Duration::from_secs(60))
        .await
        .unwrap();
    let mut command = match arch {
        Architecture::X86_64 => runtime.command(binary_path),
        Architecture::Arm64 => {
            let sysroot =
                std::env::var("SBW_ARM64_SYSROOT").unwrap_or("/usr/aarch64-linux-gnu".to_owned());
            let mut command = runtime.command("/usr/bin/qemu-aarch64-static");
            command.arg("-L").arg(sysroot).arg(binary_path);
            command
        }
    };
    command.envs(function_env(function));
    let process = FunctionProcess::spawn(command).unwrap();
    for attempt in 0..2 {
        let outcome = match function {
            // A GET without CloudFront's origin secret: refused without touching AWS.
            "ingest" => {
                runtime
                    .invoke(HttpApiRequest::new("GET", "/v1/events").to_event())
                    .await
            }
            _ => runtime.invoke(json!({"not": "an ETL request"})).await,
        };
        match (function, outcome) {
            ("ingest", Ok(InvocationOutcome::Response(response))) => {
                let response = HttpApiResponse::from_json(&response).unwrap();
                assert!(
                    (400..500).contains(&response.status),
                    "{arch:?} {function} #{attempt}: {}",
                    response.status
                );
            }
            (_, Ok(InvocationOutcome::Error(error))) if function != "ingest" => {
                assert!(!error.body.is_null(), "{error:?}");
            }
            (_, other) => panic!(
                "{arch:?} {function} #{attempt}: {other:?}\n{}",
                process.output()
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sbwctl build output: scripts/test-build.sh runs these"]
async fn every_package_runs_on_provided_al2023() {
    let work = tempfile::tempdir().unwrap();
    for (arch, arch_name, machine) in [
        (Architecture::Arm64, "arm64", object::Architecture::Aarch64),
        (Architecture::X86_64, "x86_64", object::Architecture::X86_64),
    ] {
        let dir = packages_dir().join(arch_name);
        let build = BuildOutput::read(&dir).unwrap();
        assert_eq!(build.architecture, arch);
        for function in FUNCTIONS {
            let package = build
                .package(function.name)
                .unwrap_or_else(|| panic!("{} missing", function.name));
            let binary = bootstrap(&dir.join(&package.file));
            let elf = object::File::parse(binary.as_slice()).unwrap();
            assert_eq!(
                elf.architecture(),
                machine,
                "{} for {arch:?}",
                function.name
            );
            let glibc = max_glibc_version(&binary)
                .unwrap()
                .expect("linked against glibc");
            assert!(glibc <= GLIBC_MAX, "{} needs glibc {glibc}", function.name);
            println!(
                "{arch:?} {}: {} bytes zipped, needs glibc {glibc}",
                function.name, package.bytes
            );
            let path = work.path().join(format!("{}-{arch_name}", function.name));
            std::fs::write(&path, &binary).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            check_invocations(arch, function.name, &path).await;
        }
    }
}
