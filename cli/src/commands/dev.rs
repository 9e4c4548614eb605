//! `sbwctl dev …`: the platform on this machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::local::{LocalServer, LocalSettings};

#[derive(Subcommand)]
pub enum DevCommand {
    /// Serve the ingest endpoint (the Lambda's handler) on this machine, writing
    /// the raw store under a local directory.
    Ingest(IngestArgs),
}

#[derive(Args)]
pub struct IngestArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Raw store directory: events/year=…/hour=…/events-<uuid>.ndjson.gz, as in S3.
    #[arg(long, default_value = ".sbw/raw")]
    raw_dir: PathBuf,
    /// Where events go when the raw store cannot be written [default: <raw-dir>/../dead-letter].
    #[arg(long)]
    dead_letter_dir: Option<PathBuf>,
    /// Publishable site key anonymous events must carry (repeatable). With none, no key is needed.
    #[arg(long = "site-key", value_name = "KEY")]
    site_keys: Vec<String>,
    /// Origin allowed to send events and get CORS answers (repeatable). With none, every origin is.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// File holding the identifier hashing key; created with a random key if missing
    /// [default: <raw-dir>/../dev-hash-key].
    #[arg(long)]
    hash_key_file: Option<PathBuf>,
    /// Development only: on /v1/events/signed-in, take the user from a bearer JWT
    /// without verifying it (API Gateway verifies it in AWS).
    #[arg(long)]
    dev_accept_unverified_jwt: bool,
}

pub fn run(command: DevCommand) -> anyhow::Result<ExitCode> {
    match command {
        DevCommand::Ingest(args) => ingest(args),
    }
}

fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let beside_raw_dir = |name: &str| args.raw_dir.parent().unwrap_or(&args.raw_dir).join(name);
    let settings = LocalSettings {
        dead_letter_dir: args
            .dead_letter_dir
            .clone()
            .unwrap_or_else(|| beside_raw_dir("dead-letter")),
        hash_key_file: args
            .hash_key_file
            .clone()
            .unwrap_or_else(|| beside_raw_dir("dev-hash-key")),
        raw_dir: args.raw_dir,
        access: AccessPolicy {
            site_keys: args.site_keys,
            allowed_origins: args.allowed_origins,
        },
        accept_unverified_jwt: args.dev_accept_unverified_jwt,
    };
    let server = LocalServer::new(&settings)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        sbw_aws::logging::init_json();
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}: is another server using it?",
                    args.listen
                )
            })?;
        let stop = stop_requested()?;
        eprintln!(
            "ingest listening on http://{}/v1/events, writing {}",
            listener.local_addr()?,
            settings.raw_dir.display()
        );
        server.serve(listener, stop).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM, so in-flight requests finish before exit.
/// The handlers are installed now, before anyone is told the server is up.
fn stop_requested() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
