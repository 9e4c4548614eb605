//! What the supervisor tells its user, one line (or block) each; the CLI
//! decides where it goes.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sbw_etl::{RunStatus, RunSummary};

use crate::etl::EtlStop;
use crate::state::Urls;

pub type Notify = Arc<dyn Fn(Notice) + Send + Sync>;

#[derive(Debug)]
pub enum Notice {
    /// A start-up step under way.
    Progress(String),
    /// The dashboard will not run, and how to install what it needs.
    DashboardOff(String),
    /// Everything answers.
    Ready {
        dir: PathBuf,
        urls: Urls,
        visits_per_minute: Option<f64>,
        detached: bool,
    },
    EtlRun(Box<RunSummary>),
    /// A scheduled run could not start (the database does not answer).
    EtlNotRun(String),
    ChildExited {
        name: &'static str,
        status: String,
        log: PathBuf,
        restart_in: Duration,
    },
    ChildRestarted {
        name: &'static str,
        pid: u32,
    },
    ChildNotRestarted {
        name: &'static str,
        reason: String,
    },
    /// A process an earlier run left behind, stopped.
    LeftoverStopped {
        name: String,
        pid: u32,
    },
    Stopping,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Progress(step) => write!(f, "{step}"),
            Notice::DashboardOff(why) => write!(f, "dashboard: off, {why}"),
            Notice::Ready {
                dir,
                urls,
                visits_per_minute,
                detached,
            } => {
                writeln!(f, "SBW runs on this machine ({}):", dir.display())?;
                writeln!(f, "  demo shop   {}", urls.shop)?;
                match &urls.dashboard {
                    Some(url) => writeln!(f, "  dashboard   {url}")?,
                    None => writeln!(f, "  dashboard   off (see above)")?,
                }
                writeln!(f, "  ingest      {}", urls.ingest)?;
                writeln!(f, "  database    psql '{}'", urls.database)?;
                if let Some(rate) = visits_per_minute {
                    writeln!(f, "  shoppers    simulated, {rate} visits a minute")?;
                }
                if *detached {
                    write!(
                        f,
                        "It runs in the background: `sbwctl dev status --dir {0}`, `sbwctl dev down --dir {0}`.",
                        dir.display()
                    )
                } else {
                    write!(f, "Ctrl-C stops everything.")
                }
            }
            Notice::EtlRun(summary) => write!(f, "{}", etl_line(summary)),
            Notice::EtlNotRun(why) => write!(f, "etl: no run this time: {why}"),
            Notice::ChildExited {
                name,
                status,
                log,
                restart_in,
            } => write!(
                f,
                "{name}: exited ({status}), starting it again in {} s (log: {})",
                restart_in.as_secs(),
                log.display()
            ),
            Notice::ChildRestarted { name, pid } => write!(f, "{name}: running again (pid {pid})"),
            Notice::ChildNotRestarted { name, reason } => {
                write!(f, "{name}: could not start it again: {reason}")
            }
            Notice::LeftoverStopped { name, pid } => write!(
                f,
                "stopped {name} (pid {pid}), left running by an earlier `dev up`"
            ),
            Notice::Stopping => write!(f, "stopping…"),
        }
    }
}

/// One line per ETL run.
fn etl_line(s: &RunSummary) -> String {
    let run = s.run_id.map_or_else(String::new, |id| format!("run {id} "));
    let took = match (
        chrono::DateTime::parse_from_rfc3339(&s.started_at),
        chrono::DateTime::parse_from_rfc3339(&s.finished_at),
    ) {
        (Ok(start), Ok(end)) => {
            format!("{:.2} s", (end - start).num_milliseconds() as f64 / 1000.0)
        }
        _ => "?".to_owned(),
    };
    match s.status {
        RunStatus::Skipped => format!(
            "etl: skipped, {}",
            s.error.as_deref().unwrap_or("another run holds the lock")
        ),
        RunStatus::Failed => format!(
            "etl: {run}FAILED after {took}: {}",
            s.error.as_deref().unwrap_or_default()
        ),
        RunStatus::Succeeded | RunStatus::Partial => {
            let freshness = s
                .freshness_minutes
                .map_or_else(String::new, |m| format!(", freshness {m:.1} min"));
            let refused = if s.rejected_lines + s.objects_quarantined > 0 {
                format!(
                    ", {} lines rejected and {} objects quarantined (see etl_rejects)",
                    s.rejected_lines, s.objects_quarantined
                )
            } else {
                String::new()
            };
            format!(
                "etl: {run}succeeded in {took}: {} objects, {} events loaded ({} duplicates), {} sessions rebuilt{refused}{freshness}",
                s.objects_loaded, s.events_loaded, s.duplicates, s.sessions_rebuilt
            )
        }
    }
}

/// How the platform stopped.
#[derive(Debug)]
pub struct ShutdownReport {
    pub took: Duration,
    pub etl: EtlStop,
    pub traffic: Option<sbw_shoppers::live::LiveStats>,
    /// Parts that had to be killed, or did not stop cleanly.
    pub problems: Vec<String>,
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(traffic) = &self.traffic {
            writeln!(f, "simulated shoppers: {traffic}")?;
        }
        let etl = match self.etl {
            EtlStop::Idle => "no ETL run was in flight",
            EtlStop::Finished => "the ETL run in flight finished",
            EtlStop::Cancelled => {
                "the ETL run in flight was cancelled (its committed batches stay; the next run goes on from there)"
            }
            EtlStop::NotStarted => "the ETL had not started",
        };
        write!(f, "stopped in {:.1} s; {etl}", self.took.as_secs_f64())?;
        if self.problems.is_empty() {
            write!(f, "; nothing is left running")
        } else {
            write!(f, "; {}", self.problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(status: RunStatus) -> RunSummary {
        RunSummary {
            run_id: Some(7),
            trigger: "schedule".into(),
            status,
            started_at: "2026-11-20T08:00:00.000Z".into(),
            finished_at: "2026-11-20T08:00:01.250Z".into(),
            objects_loaded: 3,
            objects_quarantined: 0,
            events_loaded: 45,
            duplicates: 2,
            rejected_lines: 0,
            sessions_rebuilt: 9,
            loaded_through: None,
            freshness_minutes: Some(0.42),
            newest_event_received_at: None,
            error: None,
        }
    }

    #[test]
    fn an_etl_run_is_one_line() {
        let line = etl_line(&summary(RunStatus::Succeeded));
        assert_eq!(
            line,
            "etl: run 7 succeeded in 1.25 s: 3 objects, 45 events loaded (2 duplicates), 9 sessions rebuilt, freshness 0.4 min"
        );
        let mut failed = summary(RunStatus::Failed);
        failed.error = Some("database: connection closed".into());
        assert_eq!(
            etl_line(&failed),
            "etl: run 7 FAILED after 1.25 s: database: connection closed"
        );
        let mut refused = summary(RunStatus::Succeeded);
        refused.rejected_lines = 4;
        assert!(etl_line(&refused).contains("4 lines rejected"));
        assert!(!etl_line(&refused).contains('\n'));
    }
}
