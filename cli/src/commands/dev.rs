//! `sbwctl dev …`: the platform on this machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::local::{LocalServer, LocalSettings};

use super::shell::exit;

mod flags;
mod seed;

use flags::{parse_period, parse_visits_per_minute};

#[derive(Subcommand)]
pub enum DevCommand {
    /// Serve the ingest endpoint (the Lambda's handler) on this machine, writing
    /// the raw store under a local directory.
    Ingest(IngestArgs),
    /// The whole platform on this machine: PostgreSQL, the ingest server, the
    /// ETL on a schedule, the dashboard and the demo shop, supervised.
    ///
    /// PostgreSQL runs as a private cluster in <dir>/pg (made once from the
    /// distribution's binaries), or is the server --database-url names. The
    /// ingest server writes <dir>/raw; the ETL loads it into the warehouse
    /// at once, then every --etl-every. The dashboard runs when R and its
    /// r-cran-* packages are installed. With --demo, simulated shoppers send
    /// visits to the ingest server. Every URL is printed once everything
    /// answers. Ctrl-C (or SIGTERM, or `sbwctl dev down`) stops everything
    /// within seconds; deleting <dir> resets the platform.
    ///
    /// Exit codes: 0 stopped cleanly (with --detach: the platform is up, in
    /// the background); 1 it could not start (the message says why: a port
    /// in use, a missing program, an unwritable --dir, an unreachable
    /// --database-url, another `dev up` on the same --dir, …) or a part did
    /// not stop cleanly; 2 bad arguments.
    Up(UpArgs),
    /// What runs on this machine: each part of a `dev up` asked whether it answers.
    ///
    /// Exit codes: 0 every part answers; 4 some part does not (degraded);
    /// 5 nothing runs on --dir (broken).
    Status(DirArgs),
    /// Stop the platform a `dev up --detach` started, and wait until it has stopped.
    ///
    /// Exit codes: 0 stopped (or nothing ran); 1 it still runs after 15 s.
    Down(DirArgs),
    /// Back-fill the raw store with the simulated shoppers' history: the last
    /// --days days (and today so far), written as the ingest server writes
    /// it, in seconds; with --database-url, then one ETL run.
    ///
    /// Visits follow the shop's day (quiet nights, lunch and evening peaks,
    /// busier weekends in --timezone); some are retried by the SDK (stored
    /// twice, removed by the ETL) or delivered late by offline browsers.
    /// `sbwctl dev up` loads a seeded <dir>/raw at start without --database-url.
    ///
    /// Exit codes: 0 written (and loaded); 1 the raw store could not be
    /// written, the database not reached, or the ETL run failed; 2 bad arguments.
    Seed(seed::SeedArgs),
}

#[derive(Args)]
pub struct DirArgs {
    /// The platform's directory (what `dev up --dir` was given).
    #[arg(long, default_value = ".sbw/dev")]
    dir: PathBuf,
}

#[derive(Args)]
pub struct UpArgs {
    /// Simulated shoppers visit the demo shop (over HTTP, to the ingest server).
    #[arg(long)]
    demo: bool,
    /// An existing PostgreSQL server, as a superuser's URL (e.g.
    /// postgresql://postgres@127.0.0.1:5432/postgres): the warehouse
    /// database, its roles and the hll extension are made there. Without
    /// it, a private cluster runs in <dir>/pg.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The warehouse database's name.
    #[arg(long, default_value = "sbw")]
    database_name: String,
    /// The platform's directory: the database, the raw store, logs, state.
    #[arg(long, default_value = ".sbw/dev")]
    dir: PathBuf,
    /// How often the ETL runs, from the end of one run to the start of the
    /// next: 60s, 5m, 2s (1 s to 24 h).
    #[arg(long, default_value = "60s", value_parser = parse_period, allow_hyphen_values = true)]
    etl_every: Duration,
    /// Visits a minute of the simulated shoppers (with --demo).
    #[arg(long, default_value_t = 4.0, value_parser = parse_visits_per_minute, allow_negative_numbers = true)]
    visits_per_minute: f64,
    /// Seed of the simulated shoppers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run in the background (state in <dir>/state.json, output in
    /// <dir>/logs/dev-up.log); `sbwctl dev status` and `dev down` reach it.
    #[arg(long)]
    detach: bool,
    /// Set on the background process --detach starts.
    #[arg(long, hide = true)]
    detached: bool,
    /// The shop's time zone (IANA name): the dashboard's days are its local days.
    #[arg(long, env = "SBW_TIMEZONE", default_value = sbw_shoppers::site::DEFAULT_TIMEZONE.name())]
    timezone: String,
    /// The demo shop's port (0: any free port).
    #[arg(long, default_value_t = 8000)]
    shop_port: u16,
    /// The ingest server's port (0: any free port).
    #[arg(long, default_value_t = 8787)]
    ingest_port: u16,
    /// The dashboard's port (0: any free port).
    #[arg(long, default_value_t = 3838)]
    dashboard_port: u16,
    /// The private PostgreSQL's port (0: any free port).
    #[arg(long, default_value_t = 0)]
    postgres_port: u16,
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
        DevCommand::Up(args) => up(args),
        DevCommand::Status(args) => status(args),
        DevCommand::Down(args) => down(args),
        DevCommand::Seed(args) => seed::run(args),
    }
}

/// The checkout this sbwctl was built from: the dashboard and the demo shop are served from it.
fn checkout() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn print_notices() -> sbw_dev::Notify {
    Arc::new(|notice| println!("{notice}"))
}

fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    if args.detach {
        let arguments = std::env::args_os()
            .skip(1)
            .map(|a| {
                if a == "--detach" {
                    "--detached".into()
                } else {
                    a
                }
            })
            .collect();
        let program = std::env::current_exe().context("finding the sbwctl program")?;
        // The first start makes the cluster and loads the raw store: minutes at most.
        let state =
            sbw_dev::spawn_detached(&args.dir, &program, arguments, Duration::from_secs(600))?;
        let Some(urls) = state.urls else {
            anyhow::bail!("the background platform reported ready without its URLs");
        };
        println!(
            "{}",
            sbw_dev::Notice::Ready {
                dir: state.dir,
                urls,
                visits_per_minute: state.visits_per_minute,
                detached: true,
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let database = match args.database_url {
        Some(url) => sbw_dev::DatabaseChoice::Existing { url },
        None => sbw_dev::DatabaseChoice::Private {
            port: args.postgres_port,
        },
    };
    let options = sbw_dev::UpOptions {
        dir: args.dir,
        database,
        database_name: args.database_name,
        etl_every: args.etl_every,
        timezone: args.timezone,
        demo: args.demo.then_some(sbw_dev::Demo {
            visits_per_minute: args.visits_per_minute,
            seed: args.seed,
        }),
        shop_port: args.shop_port,
        ingest_port: args.ingest_port,
        dashboard_port: args.dashboard_port,
        checkout: checkout(),
        detached: args.detached,
    };
    super::log_to_stderr();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let (switch, signal) = sbw_dev::stop_pair();
        let stop = stop_requested()?;
        tokio::spawn(async move {
            stop.await;
            switch.pull();
        });
        let report = sbw_dev::up(options, print_notices(), signal).await?;
        println!("{report}");
        Ok(if report.problems.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

fn status(args: DirArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    Ok(runtime.block_on(async {
        match sbw_dev::status(&args.dir).await {
            None => {
                println!(
                    "nothing runs on {} (start it with `sbwctl dev up --dir {}`)",
                    args.dir.display(),
                    args.dir.display()
                );
                ExitCode::from(exit::BROKEN)
            }
            Some(report) => {
                println!("{report}");
                if report.all_answer() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(exit::DEGRADED)
                }
            }
        }
    }))
}

fn down(args: DirArgs) -> anyhow::Result<ExitCode> {
    const WAIT: Duration = Duration::from_secs(15);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let dir = args.dir.display();
    match runtime.block_on(sbw_dev::down(&args.dir, WAIT, &print_notices())) {
        sbw_dev::DownOutcome::NotRunning => println!("nothing runs on {dir}"),
        sbw_dev::DownOutcome::Stopped { took } => {
            println!("stopped the platform on {dir} in {:.1} s", took.as_secs_f64())
        }
        sbw_dev::DownOutcome::LeftoversStopped => println!(
            "the platform's supervisor on {dir} was gone; what it left running is stopped"
        ),
        sbw_dev::DownOutcome::StillRunning => anyhow::bail!(
            "the platform on {dir} still runs {} s after it was asked to stop (its output: {}/logs/dev-up.log)",
            WAIT.as_secs(),
            dir
        ),
    }
    Ok(ExitCode::SUCCESS)
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

/// Completes on Ctrl-C, SIGTERM or SIGHUP (the terminal closed), so
/// in-flight requests finish before exit. The handlers are installed now,
/// before anyone is told the server is up.
fn stop_requested() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut hangup = signal(SignalKind::hangup()).context("installing a SIGHUP handler")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
        }
    })
}
