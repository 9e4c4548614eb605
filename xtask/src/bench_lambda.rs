//! `cargo xtask bench-lambda`: the cold start of the ingest function as it
//! ships — `sbwctl build`'s `bootstrap.zip` for the host's architecture,
//! unpacked and run by a local Lambda Runtime API with moto as S3, SQS and
//! SSM — over fresh processes: spawn -> first `/next` poll, and the first
//! invocation (a 25-event POST), next to the spawn-to-exit floor of
//! `/bin/true` measured in the same run; then the package's size.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use sbw_infra::config::Architecture;
use sbw_names::{env, origin_secret};
use sbw_testkit::events::rfc3339;
use sbw_testkit::{HttpApiRequest, InvocationOutcome, Moto, RuntimeApi};
use serde_json::{json, Value};

use crate::measure::percentile;

#[derive(clap::Args)]
pub struct Options {
    /// How many fresh processes to start.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Cold start target in milliseconds, judged on the median time to the first poll.
    #[arg(long, default_value_t = 10.0)]
    target_ms: f64,
}

/// What every first invocation must answer for its figures to count.
const EXPECTED_ANSWER: &str = "status 202";
/// The package size target.
const TARGET_ZIP_BYTES: u64 = 8_000_000;
const SITE_KEY: &str = "pk_bench";
const ORIGIN: &str = "https://shop.example";
const HASH_KEY_PARAMETER: &str = "/sbw/bench/hash-key";
const ORIGIN_SECRET_PARAMETER: &str = "/sbw/bench/origin-secret";
/// What CloudFront would add to every request it forwards.
const ORIGIN_SECRET: &str = "bench-origin-secret-0123456789abcdef";
const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

pub async fn run(options: Options) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let architecture = host_architecture()?;
    let out = work.path().join("build");
    eprintln!("==> sbwctl build's packages for {architecture:?}");
    let build = {
        let out = out.clone();
        tokio::task::spawn_blocking(move || sbw_packaging::build(&out, architecture)).await??
    };
    let package = build
        .package("ingest")
        .context("the build has no ingest package")?;
    let (bootstrap, binary_bytes) = unpack_bootstrap(&out.join(&package.file), work.path())?;

    let moto = tokio::task::spawn_blocking(Moto::start).await??;
    let environment = function_environment(&moto).await?;
    let event = first_invocation();

    eprintln!("==> cold starts ({} runs)", options.runs);
    let mut floor = Vec::new();
    let mut to_first_poll = Vec::new();
    let mut first_invocation = Vec::new();
    // Alternate the two measurements so both see the same machine load.
    for _ in 0..options.runs {
        floor.push(spawn_floor().await?);
        let run = cold_start(&bootstrap, &environment, &event).await?;
        if run.answer != EXPECTED_ANSWER {
            bail!(
                "a first invocation answered {}, not {EXPECTED_ANSWER}: the benchmark measured a failure",
                run.answer
            );
        }
        to_first_poll.push(run.to_first_poll);
        first_invocation.push(run.first_invocation);
    }

    println!(
        "{} ({}) — {} cold starts",
        package.file,
        sbw_packaging::architecture_name(architecture),
        options.runs
    );
    println!("{:<34} {:>12} {:>12}", "", "median", "p90");
    row("spawn -> exit of /bin/true", &floor);
    row("spawn -> first /next poll", &to_first_poll);
    row("first invocation", &first_invocation);
    println!(
        "first invocation answers: {EXPECTED_ANSWER} ×{}",
        options.runs
    );
    let median_ms = percentile(&to_first_poll, 0.5).as_secs_f64() * 1000.0;
    println!(
        "target: first poll < {} ms (median) — {}",
        options.target_ms,
        verdict(median_ms < options.target_ms)
    );
    println!(
        "binary {:.2} MB, bootstrap.zip {:.2} MB ({} bytes); target < {} MB — {}",
        binary_bytes as f64 / 1e6,
        package.bytes as f64 / 1e6,
        package.bytes,
        TARGET_ZIP_BYTES / 1_000_000,
        verdict(package.bytes < TARGET_ZIP_BYTES)
    );
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// The Lambda architecture this machine runs, so the package can run here.
fn host_architecture() -> anyhow::Result<Architecture> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(Architecture::X86_64),
        "aarch64" => Ok(Architecture::Arm64),
        other => bail!("Lambda has no {other} architecture to build for and run here"),
    }
}

/// Extracts `bootstrap` from the package into `dir`; returns its path and size.
fn unpack_bootstrap(zip_path: &Path, dir: &Path) -> anyhow::Result<(PathBuf, u64)> {
    use std::os::unix::fs::PermissionsExt;
    let file =
        std::fs::File::open(zip_path).with_context(|| format!("opening {}", zip_path.display()))?;
    let mut archive =
        zip::ZipArchive::new(file).with_context(|| format!("reading {}", zip_path.display()))?;
    let mut entry = archive
        .by_name("bootstrap")
        .context("the package holds no bootstrap")?;
    let path = dir.join("bootstrap");
    let mut unpacked = std::fs::File::create(&path)?;
    let bytes = std::io::copy(&mut entry, &mut unpacked)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok((path, bytes))
}

/// The function's bucket, dead-letter queue, hashing key and origin secret
/// in moto, and the environment that names them.
async fn function_environment(moto: &Moto) -> anyhow::Result<Vec<(String, String)>> {
    let config = moto.sdk_config().await;
    let bucket = "sbw-bench-raw";
    aws_sdk_s3::Client::new(&config)
        .create_bucket()
        .bucket(bucket)
        .send()
        .await?;
    let queue_url = aws_sdk_sqs::Client::new(&config)
        .create_queue()
        .queue_name("sbw-bench-dlq")
        .send()
        .await?
        .queue_url
        .context("moto returned no queue URL")?;
    let ssm = aws_sdk_ssm::Client::new(&config);
    for (name, value) in [
        (HASH_KEY_PARAMETER, "bench-hashing-key-of-at-least-32-bytes"),
        (ORIGIN_SECRET_PARAMETER, ORIGIN_SECRET),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await?;
    }
    Ok([
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        (env::RAW_BUCKET, bucket),
        (env::DLQ_URL, &queue_url),
        (env::SITE_KEYS, SITE_KEY),
        (env::ALLOWED_ORIGINS, ORIGIN),
        (env::HASH_KEY_PARAM, HASH_KEY_PARAMETER),
        (env::ORIGIN_SECRET_PARAM, ORIGIN_SECRET_PARAMETER),
        (env::DEPLOYMENT, "sbw-bench"),
    ]
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .into())
}

/// A browser's POST of 25 page views, as API Gateway hands it to the function.
fn first_invocation() -> Value {
    let stamp = rfc3339(Utc::now());
    let events: Vec<Value> = (0..25)
        .map(|n| {
            json!({
                "event_id": uuid::Uuid::new_v4().to_string(),
                "ts": stamp,
                "sent_at": stamp,
                "event_type": "page_view",
                "session_id": uuid::Uuid::new_v4().to_string(),
                "anonymous_id": "bench-anonymous-1",
                "page_url": format!("{ORIGIN}/p/{n}?utm_source=bench"),
                "referrer": "https://www.google.com/",
            })
        })
        .collect();
    HttpApiRequest::new("POST", "/v1/events")
        .query(&format!("site_key={SITE_KEY}"))
        .header(origin_secret::HEADER, ORIGIN_SECRET)
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", ORIGIN)
        .header("user-agent", USER_AGENT)
        .body(Value::from(events).to_string())
        .to_event()
}

/// One fresh process: how long to its first poll and through its first invocation.
struct ColdStart {
    to_first_poll: Duration,
    first_invocation: Duration,
    answer: String,
}

async fn cold_start(
    bootstrap: &Path,
    environment: &[(String, String)],
    event: &Value,
) -> anyhow::Result<ColdStart> {
    let runtime = RuntimeApi::start("sbw-bench", Duration::from_secs(30)).await?;
    let mut command = runtime.command(bootstrap);
    command
        .envs(environment.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let spawned = Instant::now();
    let mut process = command
        .spawn()
        .with_context(|| format!("starting {}", bootstrap.display()))?;
    let first_poll = tokio::select! {
        polled = runtime.wait_for_first_poll(Duration::from_secs(10)) => polled?,
        status = process.wait() => bail!("{} exited before polling: {status:?}", bootstrap.display()),
    };
    let sent = Instant::now();
    let answer = match runtime.invoke(event.clone()).await? {
        InvocationOutcome::Response(response) => match response.get("statusCode") {
            Some(status) => format!("status {status}"),
            None => "response".to_owned(),
        },
        InvocationOutcome::Error(error) => format!("error {}", error.body),
    };
    let first_invocation = sent.elapsed();
    process.kill().await?;
    Ok(ColdStart {
        to_first_poll: first_poll - spawned,
        first_invocation,
        answer,
    })
}

/// Spawn-to-exit of a process that does nothing: the floor of any cold start.
async fn spawn_floor() -> anyhow::Result<Duration> {
    let spawned = Instant::now();
    let status = tokio::process::Command::new("/bin/true").status().await?;
    anyhow::ensure!(status.success(), "/bin/true failed");
    Ok(spawned.elapsed())
}

fn row(label: &str, samples: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<34} {:>9.2} ms {:>9.2} ms",
        ms(percentile(samples, 0.5)),
        ms(percentile(samples, 0.9))
    );
}
