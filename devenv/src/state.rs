//! `<dir>/state.json`: what a running platform is made of (its pids, ports
//! and URLs), for `dev status`, `dev down` and the tests. Owner-only: the
//! database URL holds a password.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::DevError;
use crate::postgres::write_owner_only;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Starting,
    Ready,
    Stopping,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Urls {
    pub shop: String,
    pub ingest: String,
    /// Absent when the dashboard cannot run here.
    pub dashboard: Option<String>,
    /// The ETL role's URL (for psql).
    pub database: String,
}

/// A child process, with a word of its command line (checked before it is
/// signalled, in case its pid went to another process).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildRecord {
    pub name: String,
    pub pid: u32,
    pub command_contains: String,
}

impl ChildRecord {
    /// Whether the pid still runs this child.
    pub fn runs(&self) -> bool {
        std::fs::read(format!("/proc/{}/cmdline", self.pid))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&self.command_contains))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The supervisor's pid.
    pub pid: u32,
    pub phase: Phase,
    pub started_at: String,
    pub dir: PathBuf,
    pub urls: Option<Urls>,
    pub children: Vec<ChildRecord>,
    /// Simulated shoppers' visits a minute, with `--demo`.
    pub visits_per_minute: Option<f64>,
}

impl State {
    pub fn read(path: &Path) -> Option<State> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }
}

/// The state of this process's platform, rewritten on every change.
#[derive(Clone)]
pub struct StateFile {
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

impl StateFile {
    pub fn create(path: PathBuf, state: State) -> Result<StateFile, DevError> {
        let file = StateFile {
            path,
            state: Arc::new(Mutex::new(state)),
        };
        file.write().map_err(|reason| DevError::State {
            path: file.path.clone(),
            reason,
        })?;
        Ok(file)
    }

    /// Changes the state and writes it. A failed write leaves the previous
    /// file whole (it is replaced by a rename): `dev status` reads it stale.
    pub fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = self.write();
    }

    pub fn set_child(&self, name: &str, pid: u32, command_contains: &str) {
        self.update(|state| {
            state.children.retain(|c| c.name != name);
            state.children.push(ChildRecord {
                name: name.to_owned(),
                pid,
                command_contains: command_contains.to_owned(),
            });
        });
    }

    pub fn remove_child(&self, name: &str) {
        self.update(|state| state.children.retain(|c| c.name != name));
    }

    fn write(&self) -> Result<(), String> {
        let json = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            serde_json::to_string_pretty(&*state).expect("the state serializes")
        };
        let temporary = self.path.with_extension("json.tmp");
        write_owner_only(&temporary, &json).map_err(|e| e.to_string())?;
        std::fs::rename(&temporary, &self.path).map_err(|e| e.to_string())
    }

    /// The platform stopped: nothing of it runs any more.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
