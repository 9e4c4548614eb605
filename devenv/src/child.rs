//! Child processes: each in a process group of its own (a Ctrl-C in the
//! terminal reaches the supervisor only, which stops them in order),
//! output appended to a log file, started again with back-off when they die.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::notice::{Notice, Notify};
use crate::stop::{stop_pair, StopSignal, StopSwitch};

/// Whose identity a child takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs {
    /// The supervisor's own.
    Me,
    /// Another user's (PostgreSQL refuses to run as root).
    User { uid: u32, gid: u32 },
}

#[derive(Debug, Clone)]
pub struct ChildSpec {
    pub name: &'static str,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub log: PathBuf,
    pub run_as: RunAs,
    /// What asks it to stop (PostgreSQL: SIGINT, its fast shutdown).
    pub stop_signal: i32,
    /// How long it may take to stop before its group is killed.
    pub grace: Duration,
}

impl ChildSpec {
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .process_group(0)
            .stdin(Stdio::null())
            // Only if the supervisor is torn down abnormally (a child
            // starting while start-up is interrupted): a stop waits for it.
            .kill_on_drop(true);
        if let RunAs::User { uid, gid } = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Starts it, its output appended to its log.
    pub fn spawn(&self) -> std::io::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        self.command().stdout(log.try_clone()?).stderr(log).spawn()
    }
}

/// Sends `signal` to a process. Never to pid 0 or 1: 0 would be this
/// process's own group.
pub fn signal(pid: u32, signal: i32) -> bool {
    let Some(pid) = process_id(pid) else {
        return false;
    };
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Kills every process left in the group `pgid` (a child's pid).
pub fn kill_group(pgid: u32) {
    if let Some(pgid) = process_id(pgid) {
        // SAFETY: killpg(2) has no memory-safety preconditions.
        unsafe { libc::killpg(pgid, libc::SIGKILL) };
    }
}

fn process_id(pid: u32) -> Option<libc::pid_t> {
    libc::pid_t::try_from(pid).ok().filter(|pid| *pid > 1)
}

/// Whether a process with this pid exists.
pub fn alive(pid: u32) -> bool {
    signal(pid, 0)
}

/// How a child ended when asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It exited within its grace period.
    Cleanly,
    /// It was killed after its grace period.
    Killed,
    /// It was not running (between restarts).
    NotRunning,
}

/// Asks the child to stop, kills its group after the grace period, and
/// sweeps the group either way, so nothing it started outlives it.
pub async fn stop(child: &mut Child, spec: &ChildSpec) -> Stopped {
    let Some(pid) = child.id() else {
        return Stopped::NotRunning;
    };
    signal(pid, spec.stop_signal);
    let outcome = match tokio::time::timeout(spec.grace, child.wait()).await {
        Ok(_) => Stopped::Cleanly,
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            Stopped::Killed
        }
    };
    kill_group(pid);
    outcome
}

/// Waits before the next start: 1 s, doubling to 30 s while the child keeps
/// dying; back to 1 s once it has run a minute.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const MOST: Duration = Duration::from_secs(30);
    const STEADY: Duration = Duration::from_secs(60);

    fn new() -> Backoff {
        Backoff { next: Self::FIRST }
    }

    fn after_running(&mut self, ran: Duration) -> Duration {
        if ran >= Self::STEADY {
            self.next = Self::FIRST;
        }
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MOST);
        wait
    }
}

/// A running child, started again whenever it dies, until stopped.
pub struct Supervised {
    switch: StopSwitch,
    task: JoinHandle<Stopped>,
}

impl Supervised {
    /// Supervises `child`, already started (and answering) from `spec`.
    /// `started` is told each new pid.
    pub fn start(
        spec: ChildSpec,
        child: Child,
        notify: Notify,
        started: impl Fn(u32) + Send + 'static,
    ) -> Supervised {
        let (switch, signal) = stop_pair();
        let task = tokio::spawn(supervise(spec, child, notify, started, signal));
        Supervised { switch, task }
    }

    pub async fn stop(self) -> Stopped {
        self.switch.pull();
        self.task.await.unwrap_or(Stopped::NotRunning)
    }
}

async fn supervise(
    spec: ChildSpec,
    child: Child,
    notify: Notify,
    started: impl Fn(u32),
    mut stop_signal: StopSignal,
) -> Stopped {
    let mut backoff = Backoff::new();
    let pid = child.id().unwrap_or_default();
    let mut running = Some((child, pid, Instant::now()));
    loop {
        let wait = match running.as_mut() {
            Some((child, pid, since)) => tokio::select! {
                status = child.wait() => {
                    kill_group(*pid);
                    let wait = backoff.after_running(since.elapsed());
                    notify(Notice::ChildExited {
                        name: spec.name,
                        status: describe(status),
                        log: spec.log.clone(),
                        restart_in: wait,
                    });
                    wait
                }
                _ = stop_signal.stopped() => return stop(child, &spec).await,
            },
            // The last start failed.
            None => backoff.after_running(Duration::ZERO),
        };
        running = None;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop_signal.stopped() => return Stopped::NotRunning,
        }
        match spec.spawn() {
            Ok(child) => {
                let pid = child.id().unwrap_or_default();
                started(pid);
                notify(Notice::ChildRestarted {
                    name: spec.name,
                    pid,
                });
                running = Some((child, pid, Instant::now()));
            }
            Err(error) => notify(Notice::ChildNotRestarted {
                name: spec.name,
                reason: error.to_string(),
            }),
        }
    }
}

fn describe(status: std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => status.to_string(),
        },
        Err(error) => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_resets_after_a_steady_minute() {
        let mut backoff = Backoff::new();
        let quick = Duration::from_millis(100);
        let waits: Vec<u64> = (0..7)
            .map(|_| backoff.after_running(quick).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff.after_running(Duration::from_secs(61)).as_secs(), 1);
        assert_eq!(backoff.after_running(quick).as_secs(), 2);
    }
}
