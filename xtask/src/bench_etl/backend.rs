//! The ETL's PostgreSQL backends watched from /proc while it runs (the
//! server is on this machine): peak memory and CPU time.

use std::collections::BTreeMap;
use std::time::Duration;

use sbw_testkit::postgres::connect;

use crate::measure::{cpu_time, status_kb};

/// The peak memory and CPU time of a database's `sbw_etl` backends,
/// sampled every 0.2 s from /proc (the server runs on this machine).
pub struct BackendSampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<Backend>>,
}

#[derive(Default)]
pub struct Backend {
    /// Peak RSS, shared buffers it touched included.
    pub peak_rss_kb: u64,
    /// Peak private (anonymous) memory.
    pub peak_anon_kb: u64,
    /// CPU time of each backend.
    cpu: BTreeMap<i32, Duration>,
}

impl BackendSampler {
    pub fn start(admin_url: String, database: String) -> BackendSampler {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let admin = connect(&admin_url).await?;
            let mut backend = Backend::default();
            loop {
                let pids = admin
                    .query(
                        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename = 'sbw_etl'",
                        &[&database],
                    )
                    .await?;
                for pid in pids.iter().map(|row| row.get::<_, i32>(0)) {
                    backend.sample(pid);
                }
                tokio::select! {
                    _ = &mut stopped => return Ok(backend),
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        });
        BackendSampler { stop, task }
    }

    pub async fn stop(self) -> anyhow::Result<Backend> {
        let _ = self.stop.send(());
        self.task.await?
    }
}

impl Backend {
    /// Reads one backend's figures; a backend that just ended is skipped.
    fn sample(&mut self, pid: i32) {
        if let Some(hwm) = status_kb(pid, "VmHWM:") {
            self.peak_rss_kb = self.peak_rss_kb.max(hwm);
        }
        if let Some(anon) = status_kb(pid, "RssAnon:") {
            self.peak_anon_kb = self.peak_anon_kb.max(anon);
        }
        if let Some(cpu) = cpu_time(pid) {
            let seen = self.cpu.entry(pid).or_default();
            *seen = (*seen).max(cpu);
        }
    }

    /// The CPU time of every backend seen.
    pub fn cpu(&self) -> Duration {
        self.cpu.values().sum()
    }
}
