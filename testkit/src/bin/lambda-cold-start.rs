//! Cold start of a Lambda bootstrap against the local Runtime API: time from
//! spawning the process to its first `/next` poll, and the latency of its
//! first invocation, over several fresh processes; with the spawn-to-exit
//! time of `/bin/true` measured in the same run as the floor.
//!
//! `scripts/bench-lambda.sh` runs it on the release `ingest` binary.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use sbw_testkit::{InvocationOutcome, RuntimeApi};

#[derive(Parser)]
#[command(about = "Measure a Lambda bootstrap's cold start against a local Runtime API")]
struct Args {
    /// The bootstrap executable.
    bootstrap: PathBuf,
    /// How many fresh processes to start.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// An environment variable of the function, KEY=VALUE (repeatable).
    #[arg(long = "env", value_parser = parse_env_var)]
    env: Vec<(String, String)>,
    /// The event of each process's first invocation (JSON file); without it
    /// only the time to the first poll is measured.
    #[arg(long)]
    event: Option<PathBuf>,
    /// Cold start target in milliseconds, judged on the median.
    #[arg(long)]
    target_ms: Option<f64>,
}

fn parse_env_var(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

/// One fresh process: how long to its first poll and through its first invocation.
struct ColdStart {
    to_first_poll: Duration,
    first_invocation: Option<(Duration, String)>,
}

async fn cold_start(args: &Args, event: Option<&serde_json::Value>) -> anyhow::Result<ColdStart> {
    let runtime = RuntimeApi::start("sbw-bench", Duration::from_secs(30)).await?;
    let mut command = runtime.command(&args.bootstrap);
    command
        .envs(args.env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let spawned = Instant::now();
    let mut process = command
        .spawn()
        .with_context(|| format!("starting {}", args.bootstrap.display()))?;
    let first_poll = tokio::select! {
        polled = runtime.wait_for_first_poll(Duration::from_secs(10)) => polled?,
        status = process.wait() => bail!("{} exited before polling: {status:?}", args.bootstrap.display()),
    };
    let first_invocation = match event {
        None => None,
        Some(event) => {
            let sent = Instant::now();
            let outcome = runtime.invoke(event.clone()).await?;
            let answer = match outcome {
                InvocationOutcome::Response(response) => match response.get("statusCode") {
                    Some(status) => format!("status {status}"),
                    None => "response".to_owned(),
                },
                InvocationOutcome::Error(error) => format!("error {}", error.body),
            };
            Some((sent.elapsed(), answer))
        }
    };
    process.kill().await?;
    Ok(ColdStart {
        to_first_poll: first_poll - spawned,
        first_invocation,
    })
}

/// Spawn-to-exit of a process that does nothing: the floor of any cold start.
async fn spawn_floor() -> anyhow::Result<Duration> {
    let spawned = Instant::now();
    let status = tokio::process::Command::new("/bin/true").status().await?;
    anyhow::ensure!(status.success(), "/bin/true failed");
    Ok(spawned.elapsed())
}

fn percentile(samples: &[Duration], fraction: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn row(label: &str, samples: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<34} {:>9.2} ms {:>9.2} ms",
        ms(percentile(samples, 0.5)),
        ms(percentile(samples, 0.9))
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let event = match &args.event {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", path.display()))?,
            )
        }
        None => None,
    };

    let mut floor = Vec::new();
    let mut to_first_poll = Vec::new();
    let mut first_invocation = Vec::new();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    // Alternate the two measurements so both see the same machine load.
    for _ in 0..args.runs {
        floor.push(spawn_floor().await?);
        let run = cold_start(&args, event.as_ref()).await?;
        to_first_poll.push(run.to_first_poll);
        if let Some((latency, answer)) = run.first_invocation {
            first_invocation.push(latency);
            *answers.entry(answer).or_default() += 1;
        }
    }

    println!("{} — {} cold starts", args.bootstrap.display(), args.runs);
    println!("{:<34} {:>12} {:>12}", "", "median", "p90");
    row("spawn -> exit of /bin/true", &floor);
    row("spawn -> first /next poll", &to_first_poll);
    if !first_invocation.is_empty() {
        row("first invocation", &first_invocation);
        let answers: Vec<String> = answers
            .iter()
            .map(|(answer, n)| format!("{answer} ×{n}"))
            .collect();
        println!("first invocation answers: {}", answers.join(", "));
    }
    if let Some(target_ms) = args.target_ms {
        let median_ms = percentile(&to_first_poll, 0.5).as_secs_f64() * 1000.0;
        let verdict = if median_ms < target_ms {
            "met"
        } else {
            "MISSED"
        };
        println!("target: first poll < {target_ms} ms (median) — {verdict}");
    }
    Ok(())
}
