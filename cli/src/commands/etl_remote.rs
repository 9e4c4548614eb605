//! `sbwctl etl invoke [--wait]` and `sbwctl etl backfill --remote`: the
//! deployed ETL function, run with the requests the local commands make.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use sbw_deploy::etl_remote::{self, BackfillOptions, EtlFunction, WindowDone};
use sbw_etl::{RunRequest, RunStatus, RunSummary, Trigger};

use super::etl::print_summary;
use super::shell::{exit, help_with, Environment, Output, OutputArg};

#[derive(Args)]
#[command(after_help = help_with(
    "Idempotent: the ETL's run lock makes a run that starts while another holds it load nothing \
(status skipped, exit 0), and its manifest skips every object already loaded, so invoking again \
never loads an event twice. Runbooks: etl-failed, freshness."
))]
pub struct InvokeArgs {
    #[command(flatten)]
    environment: Environment,
    /// Wait for the run and print its summary; without it the run is queued
    /// and its request id printed (for `sbwctl logs etl --request-id`).
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    output: OutputArg,
}

/// `--remote` and where the deployed function is (`--config`, `--env`).
#[derive(Args)]
pub struct RemoteArgs {
    /// Send the backfill to the deployed ETL function, in windows that fit its
    /// timeout, instead of running it here (--raw-dir, --database-url and the
    /// shop settings then do not apply: the function has its own).
    #[arg(long, requires_all = ["config", "env"])]
    pub remote: bool,
    /// With --remote: the deployment config file.
    #[arg(long, value_name = "FILE", env = "SBW_CONFIG")]
    config: Option<PathBuf>,
    /// With --remote: the environment inside the config file.
    #[arg(long, value_name = "ENV", env = "SBW_ENV")]
    env: Option<String>,
}

impl RemoteArgs {
    fn environment(&self) -> anyhow::Result<Environment> {
        match (&self.config, &self.env) {
            (Some(config), Some(env)) => Ok(Environment {
                config: config.clone(),
                env: env.clone(),
            }),
            _ => anyhow::bail!("--remote needs --config and --env (or SBW_CONFIG and SBW_ENV)"),
        }
    }
}

pub async fn invoke(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let request = RunRequest::Incremental(Trigger::Manual);
    let deployed = args.environment.connect().await?;
    let function = EtlFunction::find(&deployed.aws, &deployed.manifest).await?;
    if !args.wait {
        let queued = function.queue(&request).await?;
        let request_id = queued.request_id.as_deref().unwrap_or("unknown");
        args.output.print(
                &serde_json::json!({"function": function.name, "request_id": request_id}),
                |_| {
                    format!(
                        "queued a run of {}: request id {request_id}\nits summary: `sbwctl status`; its lines: `sbwctl logs etl --request-id {request_id}`\n",
                        function.name
                    )
                },
            )?;
        return Ok(ExitCode::SUCCESS);
    }
    let summary = function.run(&request).await?;
    show(&args.output, &summary)?;
    Ok(ExitCode::from(match summary.status {
        RunStatus::Failed => exit::FAILED,
        RunStatus::Succeeded | RunStatus::Partial | RunStatus::Skipped => exit::SUCCESS,
    }))
}

fn show(output: &OutputArg, summary: &RunSummary) -> anyhow::Result<()> {
    match output.output {
        Output::Text => print_summary(summary),
        Output::Json => println!("{}", serde_json::to_string_pretty(summary)?),
    }
    Ok(())
}

/// The remote backfill of receive hours `from..=to` (`from <= to`, checked
/// by the caller), one line (or JSON summary) per window.
pub async fn backfill(
    remote: &RemoteArgs,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    output: Output,
) -> anyhow::Result<ExitCode> {
    let environment = remote.environment()?;
    let deployed = environment.connect().await?;
    let function = EtlFunction::find(&deployed.aws, &deployed.manifest).await?;
    if output == Output::Text {
        println!(
            "backfilling through {} (timeout {} s), in windows sized to a third of it",
            function.name,
            function.timeout.as_secs()
        );
    }
    let totals = etl_remote::backfill(&function, from, to, &BackfillOptions::default(), |done| {
        window_line(done, output)
    })
    .await?;
    if output == Output::Text {
        println!(
            "done: {} windows, {} events from {} objects, {} duplicates, {} rejected lines",
            totals.windows,
            totals.events_loaded,
            totals.objects_loaded,
            totals.duplicates,
            totals.rejected_lines
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn window_line(done: &WindowDone, output: Output) {
    let s = &done.summary;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string(s).expect("a run summary serializes")
        ),
        Output::Text => println!(
            "hours {}/{} ({} .. {}): {:?}, {} events from {} objects, {} duplicates, {} rejected lines, in {:.1} s",
            done.hours_done,
            done.hours_total,
            done.window.from.to_rfc3339_opts(SecondsFormat::Secs, true),
            done.window.to.to_rfc3339_opts(SecondsFormat::Secs, true),
            s.status,
            s.events_loaded,
            s.objects_loaded,
            s.duplicates,
            s.rejected_lines,
            done.took.as_secs_f64()
        ),
    }
}
