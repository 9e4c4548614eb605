//! `dev status`, `dev down` and `dev up --detach`: a platform seen from
//! outside, through its directory's state file and lock.

use std::ffi::OsString;
use std::fmt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::child;
use crate::error::DevError;
use crate::layout::Layout;
use crate::leftovers::stop_leftovers;
use crate::lock::DirLock;
use crate::notice::Notify;
use crate::probe;
use crate::state::{Phase, State};
use crate::warehouse;

/// One part, asked whether it answers.
#[derive(Debug, Clone)]
pub struct PartStatus {
    pub name: &'static str,
    pub address: String,
    pub answers: bool,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct StatusReport {
    pub dir: PathBuf,
    pub state: State,
    /// Whether the supervisor that wrote the state still runs.
    pub supervisor_runs: bool,
    pub parts: Vec<PartStatus>,
}

impl StatusReport {
    pub fn all_answer(&self) -> bool {
        self.supervisor_runs && self.parts.iter().all(|p| p.answers)
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.supervisor_runs {
            return write!(
                f,
                "the platform on {} is not running: its supervisor (pid {}) is gone; `sbwctl dev down --dir {}` stops what it left",
                self.dir.display(),
                self.state.pid,
                self.dir.display()
            );
        }
        let phase = match self.state.phase {
            Phase::Starting => "starting",
            Phase::Ready => "running",
            Phase::Stopping => "stopping",
        };
        writeln!(
            f,
            "the platform on {} is {phase} (supervisor pid {}, since {})",
            self.dir.display(),
            self.state.pid,
            self.state.started_at
        )?;
        for part in &self.parts {
            let verdict = if part.answers {
                "answers"
            } else {
                "DOES NOT ANSWER"
            };
            writeln!(
                f,
                "  {:<10} {:<48} {verdict}{}",
                part.name, part.address, part.detail
            )?;
        }
        match self.state.visits_per_minute {
            Some(rate) => write!(f, "  simulated shoppers: {rate} visits a minute"),
            None => write!(f, "  no simulated shoppers (start with --demo for them)"),
        }
    }
}

/// What runs on `dir`, each part asked; `None` when nothing does.
pub async fn status(dir: &Path) -> Option<StatusReport> {
    let layout = Layout::of(dir);
    let state = State::read(&layout.state())?;
    let supervisor_runs = DirLock::held(&layout);
    let mut parts = Vec::new();
    if let (true, Some(urls)) = (supervisor_runs, &state.urls) {
        parts.push(http_status("shop", &urls.shop, None).await);
        parts.push(http_status("ingest", &urls.ingest, None).await);
        if let Some(url) = &urls.dashboard {
            parts.push(http_status("dashboard", url, Some("healthz")).await);
        }
        parts.push(database_status(&urls.database).await);
    }
    Some(StatusReport {
        dir: layout.dir().to_path_buf(),
        state,
        supervisor_runs,
        parts,
    })
}

/// Any answer from `url`; with `health`, a 200 from that path below it.
async fn http_status(name: &'static str, url: &str, health: Option<&str>) -> PartStatus {
    let probed = format!("{url}{}", health.unwrap_or_default());
    let (answers, detail) = match (probe::get(&probed, Duration::from_secs(5)).await, health) {
        (Ok(status), Some(_)) => (status == 200, format!(" ({probed} {status})")),
        (Ok(_), None) => (true, String::new()),
        (Err(error), _) => (false, format!(" ({error})")),
    };
    PartStatus {
        name,
        address: url.to_owned(),
        answers,
        detail,
    }
}

/// The warehouse answers, and what its last ETL run did.
async fn database_status(url: &str) -> PartStatus {
    let shown = warehouse::redacted(url);
    let part = |answers, detail| PartStatus {
        name: "database",
        address: shown.clone(),
        answers,
        detail,
    };
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return part(false, " (not a PostgreSQL URL)".to_owned());
    };
    let client = match warehouse::connect(&config, &shown).await {
        Ok(client) => client,
        Err(error) => return part(false, format!(" ({error})")),
    };
    let last_run = client
        .query_opt(
            "SELECT run_id, status, extract(epoch FROM now() - coalesce(finished_at, started_at))::float8
             FROM etl_runs ORDER BY run_id DESC LIMIT 1",
            &[],
        )
        .await;
    match last_run {
        Ok(Some(row)) => {
            let (run_id, status, ago): (i64, String, f64) = (row.get(0), row.get(1), row.get(2));
            part(
                true,
                format!("; last ETL run {run_id} {status} {ago:.0} s ago"),
            )
        }
        Ok(None) => part(true, "; no ETL run yet".to_owned()),
        Err(error) => part(true, format!("; ETL runs unreadable: {error}")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownOutcome {
    /// Nothing ran on the directory.
    NotRunning,
    /// The supervisor stopped everything and exited.
    Stopped { took: Duration },
    /// The supervisor was gone; what it left running was stopped.
    LeftoversStopped,
    /// The supervisor was asked, and still runs after the wait.
    StillRunning,
}

/// Stops the platform running on `dir` (SIGTERM to its supervisor, as a
/// Ctrl-C does in its terminal) and waits at most `wait` for it to end.
pub async fn down(dir: &Path, wait: Duration, notify: &Notify) -> DownOutcome {
    let layout = Layout::of(dir);
    if !DirLock::held(&layout) {
        if layout.state().is_file() {
            stop_leftovers(&layout, notify).await;
            return DownOutcome::LeftoversStopped;
        }
        return DownOutcome::NotRunning;
    }
    let Some(pid) = supervisor_pid(&layout) else {
        return DownOutcome::StillRunning;
    };
    let began = Instant::now();
    child::signal(pid, libc::SIGTERM);
    while DirLock::held(&layout) {
        if began.elapsed() > wait {
            return DownOutcome::StillRunning;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    DownOutcome::Stopped {
        took: began.elapsed(),
    }
}

/// The lock holder's pid, which it writes in the lock file.
fn supervisor_pid(layout: &Layout) -> Option<u32> {
    std::fs::read_to_string(layout.lock())
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Starts `program args` (a `dev up` without `--detach`) in a session of
/// its own, its output appended to `<dir>/logs/dev-up.log`, and waits at
/// most `wait` for it to report ready; returns its state.
pub fn spawn_detached(
    dir: &Path,
    program: &Path,
    args: Vec<OsString>,
    wait: Duration,
) -> Result<State, DevError> {
    let layout = Layout::create(dir)?;
    if DirLock::held(&layout) {
        return Err(DevError::Busy {
            dir: layout.dir().to_path_buf(),
            pid: supervisor_pid(&layout),
        });
    }
    let log_path = layout.log("dev-up");
    let unusable = |error: std::io::Error| DevError::Dir {
        dir: layout.dir().to_path_buf(),
        reason: error.to_string(),
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(unusable)?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or_default();
    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(unusable)?)
        .stderr(log);
    // SAFETY: setsid(2) is async-signal-safe; it only detaches the child
    // from this terminal's session, so the terminal's signals miss it.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut supervisor = command.spawn().map_err(|e| DevError::Spawn {
        program: program.display().to_string(),
        reason: e.to_string(),
    })?;
    let began = Instant::now();
    loop {
        if let Some(state) = State::read(&layout.state()) {
            if state.pid == supervisor.id() && state.phase == Phase::Ready {
                return Ok(state);
            }
        }
        if let Ok(Some(_)) = supervisor.try_wait() {
            return Err(DevError::DetachedFailed(last_error(&log_path, log_start)));
        }
        if began.elapsed() > wait {
            return Err(DevError::DetachedTimeout {
                seconds: wait.as_secs(),
                log: log_path,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `error: …` line a failed `dev up` wrote after `offset`, else its last line.
fn last_error(log: &Path, offset: u64) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(text.get(offset as usize..).unwrap_or_default());
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .or(lines.last().copied())
        .unwrap_or("it wrote nothing")
        .to_owned()
}
