//! The dev ingest server's operational snapshot, `<raw-dir>/_ops/snapshot.json`
//! ([`sbw_contract::ops`]): the answers of the last hour and what waits in the
//! dead-letter directory, written at start, every [`WRITE_EVERY`] and at a
//! clean shutdown, so the local ETL records it in the warehouse as it does the
//! AWS collector's.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use http::StatusCode;
use sbw_contract::ops::{
    DeadLetters, IngestCounts, OpsSnapshot, OpsSource, OPS_SNAPSHOT_KEY, OPS_WINDOW_MINUTES,
};
use tokio::sync::oneshot;

use sbw_rawstore::directory::replace_atomically;

/// How often the snapshot is rewritten while the server runs.
pub const WRITE_EVERY: Duration = Duration::from_secs(30);

const WINDOW: Duration = Duration::from_secs(OPS_WINDOW_MINUTES as u64 * 60);

/// Answers since the server started: one or two relaxed atomic additions per
/// answer, no lock on the request path. Aligned to a cache line of its own so
/// the counting does not slow down readers of neighbouring data.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct AnswerCounter {
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
}

impl AnswerCounter {
    pub fn record(&self, status: StatusCode) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status.is_client_error() {
            self.client_errors.fetch_add(1, Ordering::Relaxed);
        } else if status.is_server_error() {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn totals(&self) -> IngestCounts {
        IngestCounts {
            requests: self.requests.load(Ordering::Relaxed),
            client_errors: self.client_errors.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
        }
    }
}

/// The running totals at each snapshot, so that a window's counts are the
/// totals now less those of the oldest snapshot inside the window (the
/// counts cover the window to within [`WRITE_EVERY`]).
#[derive(Debug, Default)]
struct TotalsHistory {
    samples: VecDeque<(Instant, IngestCounts)>,
}

impl TotalsHistory {
    /// The answers counted over the last `window`, given the `totals` at
    /// `now`; remembers them for later windows. Before the first sample
    /// everything since start counts; when no sample falls inside the window
    /// (the process was suspended), the newest one before it is the base.
    fn counts_over(
        &mut self,
        window: Duration,
        now: Instant,
        totals: IngestCounts,
    ) -> IngestCounts {
        let before_window = |at: Instant| now.saturating_duration_since(at) > window;
        while self.samples.len() > 1 && before_window(self.samples[0].0) {
            self.samples.pop_front();
        }
        let base = self
            .samples
            .front()
            .map(|(_, counts)| *counts)
            .unwrap_or_default();
        self.samples.push_back((now, totals));
        IngestCounts {
            requests: totals.requests.saturating_sub(base.requests),
            client_errors: totals.client_errors.saturating_sub(base.client_errors),
            server_errors: totals.server_errors.saturating_sub(base.server_errors),
        }
    }
}

/// Messages in the dead-letter directory (one file each) and the age of the
/// oldest; a missing directory holds none. Hidden files are writes in progress.
fn dead_letters_in(dir: &Path, now: SystemTime) -> std::io::Result<DeadLetters> {
    let entries = match std::fs::read_dir(dir) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(DeadLetters::default())
        }
        entries => entries?,
    };
    let mut messages = 0;
    let mut oldest: Option<SystemTime> = None;
    for entry in entries {
        let entry = entry?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let metadata = match entry.metadata() {
            // Redriven since the listing.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            metadata => metadata?,
        };
        if !metadata.is_file() {
            continue;
        }
        messages += 1;
        let modified = metadata.modified()?;
        oldest = Some(oldest.map_or(modified, |o| o.min(modified)));
    }
    Ok(DeadLetters {
        messages,
        oldest_age_seconds: oldest.map(|at| now.duration_since(at).unwrap_or_default().as_secs()),
    })
}

/// Writes the snapshot; owns the history of totals, so one task writes.
pub(crate) struct SnapshotWriter {
    answers: Arc<AnswerCounter>,
    history: TotalsHistory,
    path: PathBuf,
    dead_letter_dir: PathBuf,
}

impl SnapshotWriter {
    pub(crate) fn new(raw_dir: &Path, dead_letter_dir: &Path, answers: Arc<AnswerCounter>) -> Self {
        SnapshotWriter {
            answers,
            history: TotalsHistory::default(),
            path: raw_dir.join(OPS_SNAPSHOT_KEY),
            dead_letter_dir: dead_letter_dir.to_owned(),
        }
    }

    /// Writes a snapshot now, every [`WRITE_EVERY`], and a last one when
    /// `stop` fires (or its sender is dropped).
    pub(crate) async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut every = tokio::time::interval(WRITE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => self.write().await,
                _ = &mut stop => break,
            }
        }
        self.write().await;
    }

    /// A failure is logged, not fatal: the server keeps taking events, and
    /// the snapshot's `taken_at` shows readers how old the last one is.
    async fn write(&mut self) {
        let taken_at = SystemTime::now();
        let ingest = self
            .history
            .counts_over(WINDOW, Instant::now(), self.answers.totals());
        let dir = self.dead_letter_dir.clone();
        let dead_letters =
            match tokio::task::spawn_blocking(move || dead_letters_in(&dir, taken_at)).await {
                Ok(Ok(dead_letters)) => dead_letters,
                Ok(Err(error)) => {
                    tracing::warn!(
                    "ops snapshot not written: cannot read the dead-letter directory {}: {error}",
                    self.dead_letter_dir.display()
                );
                    return;
                }
                Err(error) => {
                    tracing::warn!("ops snapshot not written: {error}");
                    return;
                }
            };
        let snapshot = OpsSnapshot {
            source: OpsSource::Local,
            taken_at: DateTime::<Utc>::from(taken_at).to_rfc3339_opts(SecondsFormat::Secs, true),
            window_minutes: OPS_WINDOW_MINUTES,
            ingest,
            dead_letters,
        };
        let json = serde_json::to_vec_pretty(&snapshot).expect("snapshots serialize");
        if let Err(error) = replace_atomically(&self.path, &json) {
            tracing::warn!("ops snapshot not written: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(requests: u64, client_errors: u64, server_errors: u64) -> IngestCounts {
        IngestCounts {
            requests,
            client_errors,
            server_errors,
        }
    }

    #[test]
    fn statuses_are_counted_by_class() {
        let answers = AnswerCounter::default();
        for status in [202, 202, 204, 400, 413, 401, 503, 500, 404] {
            answers.record(StatusCode::from_u16(status).unwrap());
        }
        assert_eq!(answers.totals(), counts(9, 4, 2));
    }

    #[test]
    fn a_window_counts_what_was_answered_since_its_oldest_snapshot() {
        let start = Instant::now();
        let mut history = TotalsHistory::default();
        assert_eq!(
            history.counts_over(WINDOW, start, counts(0, 0, 0)),
            counts(0, 0, 0)
        );
        // One request answered every 30 s, every fourth a 4xx, for 100 minutes.
        let mut last = counts(0, 0, 0);
        for tick in 1..=200u64 {
            let totals = counts(tick, tick / 4, 0);
            last = history.counts_over(WINDOW, start + WRITE_EVERY * tick as u32, totals);
            if tick <= 120 {
                assert_eq!(last, totals, "the first hour counts everything since start");
            }
        }
        assert_eq!(last, counts(120, 50 - 20, 0), "only the last hour counts");
        assert!(history.samples.len() <= 122, "{}", history.samples.len());
    }

    #[test]
    fn after_a_gap_longer_than_the_window_the_last_snapshot_is_the_base() {
        let start = Instant::now();
        let mut history = TotalsHistory::default();
        history.counts_over(WINDOW, start, counts(0, 0, 0));
        history.counts_over(WINDOW, start + WRITE_EVERY, counts(10, 1, 1));
        let later = start + Duration::from_secs(3 * 3600);
        assert_eq!(
            history.counts_over(WINDOW, later, counts(17, 2, 1)),
            counts(7, 1, 0)
        );
    }

    #[test]
    fn dead_letters_are_the_files_of_the_directory_and_the_oldest_age() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        assert_eq!(
            dead_letters_in(&dir.path().join("missing"), now).unwrap(),
            DeadLetters::default()
        );
        assert_eq!(
            dead_letters_in(dir.path(), now).unwrap(),
            DeadLetters::default()
        );
        for name in ["a.part1.json", "b.part1.json", ".c.part1.json.tmp"] {
            std::fs::write(dir.path().join(name), b"{}").unwrap();
        }
        std::fs::File::options()
            .write(true)
            .open(dir.path().join("b.part1.json"))
            .unwrap()
            .set_modified(now - Duration::from_secs(600))
            .unwrap();
        let found = dead_letters_in(dir.path(), now).unwrap();
        assert_eq!(
            found.messages, 2,
            "the hidden temporary file is not a message"
        );
        assert_eq!(found.oldest_age_seconds, Some(600));
    }
}
