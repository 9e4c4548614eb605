//! `dev up`: starts the parts in order, says where they answer, and stops
//! them in the reverse order when asked.
//!
//! Over 400 lines on purpose: `Start` is one chain, each part needing the
//! addresses of the parts started before it; `up` and the stop order read it
//! in one place.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sbw_etl::{RawStore, RunOptions, ShopSettings};
use sbw_ingest::access::AccessPolicy;
use sbw_ingest::local::{LocalServer, LocalSettings};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::child::{Stopped, Supervised};
use crate::dashboard::{self, Availability};
use crate::error::DevError;
use crate::etl::{self, EtlStop, Schedule};
use crate::layout::Layout;
use crate::leftovers::stop_leftovers;
use crate::lock::DirLock;
use crate::notice::{Notice, Notify, ShutdownReport};
use crate::ports;
use crate::postgres::{self, Cluster};
use crate::probe;
use crate::shop;
use crate::state::{Phase, State, StateFile, Urls};
use crate::stop::{stop_pair, StopSignal, StopSwitch};
use crate::traffic::{self, Traffic};
use crate::warehouse::{self, Passwords};
use sbw_shoppers::live::LiveStats;

/// The demo shop's publishable site key, which the ingest server requires.
pub const SITE_KEY: &str = "demo-shop";

/// How long start-up waits for the dashboard's first answer (R loads its
/// packages and builds a first page).
const DASHBOARD_START: Duration = Duration::from_secs(120);
/// How long the shop and the ingest server may take to finish the requests
/// in flight when asked to stop.
const DRAIN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub enum DatabaseChoice {
    /// A private cluster in `<dir>/pg`, on this port (0: a free one).
    Private { port: u16 },
    /// An existing server, reached as a superuser at this URL.
    Existing { url: String },
}

#[derive(Debug, Clone)]
pub struct Demo {
    pub visits_per_minute: f64,
    pub seed: u64,
}

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub dir: PathBuf,
    pub database: DatabaseChoice,
    /// The warehouse database's name.
    pub database_name: String,
    pub etl_every: Duration,
    /// The shop's IANA time zone: rollup days are its local days.
    pub timezone: String,
    pub demo: Option<Demo>,
    pub shop_port: u16,
    pub ingest_port: u16,
    pub dashboard_port: u16,
    /// The checkout holding `dashboard/` and `examples/demo-shop/`.
    pub checkout: PathBuf,
    /// Started by `--detach` (changes what the ready notice says).
    pub detached: bool,
}

/// Runs the platform until `stop`. Returns how it stopped, or why it could
/// not start (everything it had started is stopped again first).
pub async fn up(
    options: UpOptions,
    notify: Notify,
    mut stop: StopSignal,
) -> Result<ShutdownReport, DevError> {
    let layout = Layout::create(&options.dir)?;
    let _lock = DirLock::acquire(&layout)?;
    let shop_dir = options.checkout.join("examples/demo-shop");
    if !shop_dir.join("index.html").is_file() {
        return Err(DevError::MissingFiles {
            what: "demo shop",
            path: shop_dir,
        });
    }
    let private_postgres_port = match options.database {
        DatabaseChoice::Private { port } => Some(port),
        DatabaseChoice::Existing { .. } => None,
    };
    ports::distinct(&[
        (options.shop_port, ports::SHOP),
        (options.ingest_port, ports::INGEST),
        (options.dashboard_port, ports::DASHBOARD),
        (private_postgres_port.unwrap_or(0), ports::POSTGRES),
    ])?;
    let listeners = Listeners {
        shop: ports::bind(options.shop_port, ports::SHOP)?,
        ingest: ports::bind(options.ingest_port, ports::INGEST)?,
    };
    let app_dir = options.checkout.join("dashboard");
    let rscript = match dashboard::availability() {
        Availability::Ready { .. } if !app_dir.join("app.R").is_file() => {
            notify(Notice::DashboardOff(format!(
                "its app is not at {}",
                app_dir.display()
            )));
            None
        }
        Availability::Ready { rscript } => Some(rscript),
        Availability::Missing(why) => {
            notify(Notice::DashboardOff(why));
            None
        }
    };
    let dashboard_port = match rscript {
        Some(_) => Some(ports::free(options.dashboard_port, ports::DASHBOARD)?),
        None => None,
    };
    let postgres_port = private_postgres_port
        .map(|port| ports::free(port, ports::POSTGRES))
        .transpose()?;
    stop_leftovers(&layout, &notify).await;
    let state = StateFile::create(
        layout.state(),
        State {
            pid: std::process::id(),
            phase: Phase::Starting,
            started_at: chrono::Utc::now().to_rfc3339(),
            dir: layout.dir().to_path_buf(),
            urls: None,
            children: Vec::new(),
            visits_per_minute: options.demo.as_ref().map(|d| d.visits_per_minute),
        },
    )?;

    let mut parts = Parts::default();
    let start = Start {
        options: &options,
        layout: &layout,
        notify: &notify,
        state: &state,
        app_dir,
        shop_dir,
        rscript,
        dashboard_port,
        postgres_port,
    };
    let started = tokio::select! {
        started = start.run(listeners, &mut parts) => Some(started),
        _ = stop.stopped() => None,
    };
    match started {
        Some(Ok(urls)) => {
            state.update(|s| {
                s.phase = Phase::Ready;
                s.urls = Some(urls.clone());
            });
            notify(Notice::Ready {
                dir: layout.dir().to_path_buf(),
                urls,
                visits_per_minute: options.demo.as_ref().map(|d| d.visits_per_minute),
                detached: options.detached,
            });
            stop.stopped().await;
        }
        Some(Err(error)) => {
            parts.stop(&state).await;
            state.remove();
            return Err(error);
        }
        None => {}
    }
    notify(Notice::Stopping);
    state.update(|s| s.phase = Phase::Stopping);
    let report = parts.stop(&state).await;
    state.remove();
    Ok(report)
}

struct Listeners {
    shop: std::net::TcpListener,
    ingest: std::net::TcpListener,
}

/// A task of this process, with the switch that stops it.
type Task<T> = (StopSwitch, JoinHandle<T>);

/// What runs.
#[derive(Default)]
struct Parts {
    traffic: Option<Task<LiveStats>>,
    shop: Option<Task<std::io::Result<()>>>,
    ingest: Option<Task<Result<(), String>>>,
    etl: Option<Task<EtlStop>>,
    dashboard: Option<Supervised>,
    postgres: Option<Supervised>,
}

impl Parts {
    /// Traffic first, then the shop, the ingest server, the ETL and the
    /// dashboard together, the database last.
    async fn stop(&mut self, state: &StateFile) -> ShutdownReport {
        let began = Instant::now();
        let mut problems = Vec::new();
        let traffic = match self.traffic.take() {
            Some((switch, task)) => {
                switch.pull();
                task.await.ok()
            }
            None => None,
        };
        let shop = drain(self.shop.take(), ports::SHOP.name);
        let ingest = drain(self.ingest.take(), ports::INGEST.name);
        let etl = async {
            match self.etl.take() {
                Some((switch, task)) => {
                    switch.pull();
                    task.await.unwrap_or(EtlStop::Idle)
                }
                None => EtlStop::NotStarted,
            }
        };
        let dashboard = async {
            match self.dashboard.take() {
                Some(dashboard) => dashboard.stop().await,
                None => Stopped::NotRunning,
            }
        };
        let (shop, ingest, etl, dashboard) = tokio::join!(shop, ingest, etl, dashboard);
        problems.extend(shop);
        problems.extend(ingest);
        if dashboard == Stopped::Killed {
            problems.push("the dashboard did not stop in time and was killed".to_owned());
        }
        state.remove_child(dashboard::NAME);
        if let Some(database) = self.postgres.take() {
            if database.stop().await == Stopped::Killed {
                problems.push("PostgreSQL did not stop in time and was killed".to_owned());
            }
            state.remove_child(postgres::NAME);
        }
        ShutdownReport {
            took: began.elapsed(),
            etl,
            traffic,
            problems,
        }
    }
}

/// Stops a server and waits (a little) for its requests in flight.
async fn drain<E: std::fmt::Display>(
    server: Option<Task<Result<(), E>>>,
    name: &str,
) -> Option<String> {
    let (switch, task) = server?;
    switch.pull();
    let abort = task.abort_handle();
    match tokio::time::timeout(DRAIN, task).await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(error))) => Some(format!("the {name} ended with an error: {error}")),
        Ok(Err(_)) => Some(format!("the {name} ended abnormally")),
        Err(_) => {
            abort.abort();
            Some(format!(
                "the {name} still had connections open after {} s; they were closed",
                DRAIN.as_secs()
            ))
        }
    }
}

struct Start<'a> {
    options: &'a UpOptions,
    layout: &'a Layout,
    notify: &'a Notify,
    state: &'a StateFile,
    app_dir: PathBuf,
    shop_dir: PathBuf,
    rscript: Option<PathBuf>,
    dashboard_port: Option<u16>,
    postgres_port: Option<u16>,
}

impl Start<'_> {
    /// Starts every part, storing each in `parts` as soon as it runs (so a
    /// stop at any point stops it), and returns the URLs once they answer.
    async fn run(self, listeners: Listeners, parts: &mut Parts) -> Result<Urls, DevError> {
        let notify = self.notify;
        let passwords = Passwords::load_or_create(&self.layout.secrets())?;
        let (admin, shown_as) = self.database(&passwords, parts).await?;
        notify(Notice::Progress(format!(
            "database: setting up the warehouse {} (roles, hll, migrations)",
            self.options.database_name
        )));
        let warehouse = warehouse::bootstrap(
            &admin,
            &shown_as,
            &self.options.database_name,
            &passwords,
            &self.options.timezone,
        )
        .await?;

        let shop_port = local_port(&listeners.shop);
        let ingest_port = local_port(&listeners.ingest);
        let ingest_base = format!("http://127.0.0.1:{ingest_port}");
        let shop_origin = format!("http://127.0.0.1:{shop_port}");
        parts.ingest = Some(self.start_ingest(listeners.ingest, shop_port)?);
        let (switch, signal) = stop_pair();
        parts.shop = Some((
            switch,
            tokio::spawn(shop::serve(
                tokio_listener(listeners.shop, ports::SHOP)?,
                self.shop_dir.clone(),
                shop::config_js(&ingest_base, SITE_KEY),
                signal,
            )),
        ));

        let (first_run, first_run_done) = oneshot::channel();
        let (switch, signal) = stop_pair();
        let schedule = Schedule {
            source: RawStore::Directory(self.layout.raw()),
            database: warehouse.etl_config(),
            shown_as: warehouse::redacted(&warehouse.etl_url()),
            options: RunOptions {
                shop: ShopSettings {
                    timezone: self.options.timezone.clone(),
                    freshness_slo_minutes: freshness_objective(self.options.etl_every),
                },
                ..RunOptions::default()
            },
            every: self.options.etl_every,
        };
        notify(Notice::Progress(format!(
            "etl: a first run now (it loads whatever the raw store holds that the warehouse lacks: \
             a seeded month takes a while), then every {} s",
            self.options.etl_every.as_secs_f64()
        )));
        parts.etl = Some((
            switch,
            tokio::spawn(etl::run_schedule(
                schedule,
                notify.clone(),
                first_run,
                signal,
            )),
        ));

        let dashboard_url = match (&self.rscript, self.dashboard_port) {
            (Some(rscript), Some(port)) => {
                parts.dashboard = Some(self.start_dashboard(rscript, port, &warehouse)?);
                Some(format!("http://127.0.0.1:{port}/"))
            }
            _ => None,
        };
        let dashboard_answers = async {
            match &dashboard_url {
                Some(url) => probe::until_ok(&format!("{url}healthz"), DASHBOARD_START).await,
                None => true,
            }
        };
        let (dashboard_answers, _) = tokio::join!(dashboard_answers, first_run_done);
        if let (false, Some(url)) = (dashboard_answers, &dashboard_url) {
            notify(Notice::Progress(format!(
                "dashboard: {url}healthz has not answered 200 within {} s; it runs on and is restarted if it dies (log: {})",
                DASHBOARD_START.as_secs(),
                self.layout.log(dashboard::NAME).display()
            )));
        }
        let urls = Urls {
            shop: format!("{shop_origin}/"),
            ingest: format!("{ingest_base}/v1/events"),
            dashboard: dashboard_url,
            database: warehouse.etl_url(),
        };
        for (service, url) in [(ports::SHOP, &urls.shop), (ports::INGEST, &urls.ingest)] {
            if !probe::until(url, Duration::from_secs(10), |_| true).await {
                return Err(DevError::NotAnswering {
                    service: service.name,
                    url: url.clone(),
                    seconds: 10,
                    log: self.layout.logs(),
                });
            }
        }
        if let Some(demo) = &self.options.demo {
            let (switch, signal) = stop_pair();
            let shoppers = traffic::prepare(Traffic {
                endpoint: ingest_base,
                origin: shop_origin,
                site_key: SITE_KEY.to_owned(),
                timezone: self.options.timezone.clone(),
                visits_per_minute: demo.visits_per_minute,
                seed: demo.seed,
            })?;
            parts.traffic = Some((switch, tokio::spawn(traffic::play(shoppers, signal))));
        }
        Ok(urls)
    }

    /// Starts the private cluster (or reads `--database-url`): a superuser's
    /// connection settings, and how to show them.
    async fn database(
        &self,
        passwords: &Passwords,
        parts: &mut Parts,
    ) -> Result<(tokio_postgres::Config, String), DevError> {
        let port = match (&self.options.database, self.postgres_port) {
            (DatabaseChoice::Existing { url }, _) => {
                let shown_as = warehouse::redacted(url);
                let config = url.parse().map_err(|_| DevError::Unreachable {
                    url: shown_as.clone(),
                    reason: "it is not a PostgreSQL URL (postgresql://user@host:port/database)"
                        .to_owned(),
                })?;
                return Ok((config, shown_as));
            }
            (DatabaseChoice::Private { .. }, Some(port)) => port,
            (DatabaseChoice::Private { port }, None) => *port,
        };
        let cluster = Cluster::prepare(self.layout, &passwords.superuser, self.notify).await?;
        let mut admin = tokio_postgres::Config::new();
        admin
            .host("127.0.0.1")
            .port(port)
            .user("postgres")
            .password(passwords.superuser.as_str())
            .dbname("postgres")
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        (self.notify)(Notice::Progress(format!(
            "database: starting PostgreSQL {} on 127.0.0.1:{port} (log: {})",
            cluster.install.major,
            cluster.log.display()
        )));
        let spec = cluster.spec(port);
        let server = postgres::start(&spec, &admin).await?;
        let data = cluster.data.display().to_string();
        let record = {
            let state = self.state.clone();
            move |pid| state.set_child(postgres::NAME, pid, &data)
        };
        record(server.id().unwrap_or_default());
        parts.postgres = Some(Supervised::start(spec, server, self.notify.clone(), record));
        Ok((
            admin,
            format!("postgresql://postgres@127.0.0.1:{port}/postgres"),
        ))
    }

    fn start_ingest(
        &self,
        listener: std::net::TcpListener,
        shop_port: u16,
    ) -> Result<Task<Result<(), String>>, DevError> {
        let settings = LocalSettings {
            raw_dir: self.layout.raw(),
            dead_letter_dir: self.layout.dead_letter(),
            hash_key_file: self.layout.hash_key(),
            access: AccessPolicy {
                site_keys: vec![SITE_KEY.to_owned()],
                allowed_origins: vec![
                    format!("http://127.0.0.1:{shop_port}"),
                    format!("http://localhost:{shop_port}"),
                ],
            },
            // The demo shop's "Sign in" hands the SDK an unsigned token.
            accept_unverified_jwt: true,
        };
        let server = LocalServer::new(&settings).map_err(|e| DevError::Ingest(format!("{e:#}")))?;
        let listener = tokio_listener(listener, ports::INGEST)?;
        let (switch, mut signal) = stop_pair();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async move { signal.stopped().await })
                .await
                .map_err(|e| format!("{e:#}"))
        });
        Ok((switch, task))
    }

    fn start_dashboard(
        &self,
        rscript: &std::path::Path,
        port: u16,
        warehouse: &warehouse::Warehouse,
    ) -> Result<Supervised, DevError> {
        let spec = dashboard::spec(
            rscript,
            &self.app_dir,
            port,
            warehouse.dashboard_env(),
            self.layout.log(dashboard::NAME),
        );
        (self.notify)(Notice::Progress(format!(
            "dashboard: starting the Shiny app on 127.0.0.1:{port} (log: {})",
            spec.log.display()
        )));
        let child = spec.spawn().map_err(|e| DevError::Spawn {
            program: spec.program.display().to_string(),
            reason: e.to_string(),
        })?;
        let app = self.app_dir.display().to_string();
        let record = {
            let state = self.state.clone();
            move |pid| state.set_child(dashboard::NAME, pid, &app)
        };
        record(child.id().unwrap_or_default());
        Ok(Supervised::start(spec, child, self.notify.clone(), record))
    }
}

fn local_port(listener: &std::net::TcpListener) -> u16 {
    listener.local_addr().map(|a| a.port()).unwrap_or_default()
}

fn tokio_listener(
    listener: std::net::TcpListener,
    service: ports::Service,
) -> Result<TcpListener, DevError> {
    let port = local_port(&listener);
    listener
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(listener))
        .map_err(|e| DevError::Listen {
            service: service.name,
            port,
            reason: e.to_string(),
        })
}

/// The freshness objective the dashboard measures against: twice the
/// cadence plus 15 minutes, as the deployed configuration's default.
fn freshness_objective(every: Duration) -> u32 {
    let minutes = u32::try_from(every.as_secs().div_ceil(60)).unwrap_or(u32::MAX / 4);
    2 * minutes.max(1) + 15
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_freshness_objective_follows_the_cadence() {
        assert_eq!(freshness_objective(Duration::from_secs(2)), 17);
        assert_eq!(freshness_objective(Duration::from_secs(60)), 17);
        assert_eq!(freshness_objective(Duration::from_secs(600)), 35);
    }
}
