//! `sbwctl dlq redrive`: every dead letter back into the raw store, where
//! the next ETL run loads it.
//!
//! The ETL lists the receive hours from shortly before its previous listing
//! ended through the current hour ([`sbw_etl::run::plan_listing`]), so an
//! object written under its original, older hour could be missed. A redriven
//! message is written under the hour it is redriven in instead, which every
//! later run lists. Its events keep their own `received_at`, and the ETL keeps
//! one copy of each event id, so a message redriven twice, or whose client
//! retried successfully, is loaded once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::Utc;
use sbw_ingest::store::{RawStore, StoreError};
use serde::Serialize;

use super::letter::Replay;
use super::{inspect, Queue, Received, SQS_BATCH};
use crate::aws::AwsError;

/// Batches received, stored and deleted at once: up to 40 messages in flight.
const WORKERS: usize = 4;
/// How long a received message stays hidden while its batch is stored; one
/// left undeleted (its store failed) is redriven again after it.
pub const VISIBILITY_SECONDS: i32 = 120;
/// Store errors kept for the report; the rest are counted.
const KEPT_ERRORS: usize = 5;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedriveReport {
    pub dry_run: bool,
    /// Messages received (a dry run: read and made visible again).
    pub messages: usize,
    /// Valid events stored (or, in a dry run, that would be).
    pub events: usize,
    pub event_objects: usize,
    /// Records written under `rejects/`: invalid lines, and messages that are not dead letters.
    pub rejected: usize,
    pub reject_objects: usize,
    pub deleted: usize,
    /// Stored, but SQS did not delete them: the next redrive stores them
    /// again, and the ETL keeps one copy of each event.
    pub not_deleted: usize,
    /// Not stored, so left in the queue.
    pub failed: usize,
    pub errors: Vec<String>,
}

impl RedriveReport {
    fn count(&mut self, replay: &Replay) {
        self.messages += 1;
        self.events += replay.events;
        self.event_objects += usize::from(replay.events_object.is_some());
        self.rejected += replay.rejected;
        self.reject_objects += usize::from(replay.rejects_object.is_some());
    }

    fn fail(&mut self, error: &StoreError) {
        self.messages += 1;
        self.failed += 1;
        let error = error.to_string();
        if self.errors.len() < KEPT_ERRORS && !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }
}

/// Stores every message in `store` and deletes each once stored; with
/// `dry_run`, reads them as `inspect` does and writes nothing. Stops taking
/// new batches at the first store failure.
pub async fn redrive(
    queue: &Queue,
    store: &RawStore,
    dry_run: bool,
) -> Result<RedriveReport, AwsError> {
    if dry_run {
        let read = queue.read(usize::MAX, inspect::VISIBILITY_SECONDS).await?;
        let mut report = RedriveReport {
            dry_run,
            ..RedriveReport::default()
        };
        let now = Utc::now();
        for message in &read {
            report.count(&message.replay(now));
        }
        queue.release(&read.iter().collect::<Vec<_>>()).await;
        return Ok(report);
    }
    let report = Mutex::new(RedriveReport::default());
    let unstored = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let workers = (0..WORKERS).map(|_| work(queue, store, &stop, &report, &unstored));
    let worked = futures_util::future::try_join_all(workers).await;
    // Back in the queue at once for the next redrive; not earlier, or this
    // one would receive them again.
    let unstored = unstored.into_inner().expect("no worker panicked");
    queue.release(&unstored.iter().collect::<Vec<_>>()).await;
    worked?;
    Ok(report.into_inner().expect("no worker panicked"))
}

async fn work(
    queue: &Queue,
    store: &RawStore,
    stop: &AtomicBool,
    report: &Mutex<RedriveReport>,
    unstored: &Mutex<Vec<Received>>,
) -> Result<(), AwsError> {
    while !stop.load(Ordering::Relaxed) {
        let batch = queue.receive(SQS_BATCH, VISIBILITY_SECONDS).await?;
        if batch.is_empty() {
            return Ok(());
        }
        let outcomes =
            futures_util::future::join_all(batch.iter().map(|message| store_one(store, message)))
                .await;
        let (stored, failed): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .zip(outcomes)
            .partition(|(_, outcome)| outcome.is_ok());
        let not_deleted = queue
            .delete(
                &stored
                    .iter()
                    .map(|(message, _)| message)
                    .collect::<Vec<_>>(),
            )
            .await?;
        let mut report = report.lock().expect("report lock");
        for (_, outcome) in stored.iter().chain(&failed) {
            match outcome {
                Ok(replay) => report.count(replay),
                Err(error) => report.fail(error),
            }
        }
        report.deleted += stored.len() - not_deleted;
        report.not_deleted += not_deleted;
        if !failed.is_empty() {
            stop.store(true, Ordering::Relaxed);
            let mut unstored = unstored.lock().expect("unstored lock");
            unstored.extend(failed.into_iter().map(|(message, _)| message));
        }
    }
    Ok(())
}

/// Writes the message's objects; the events first, so that a message is
/// never deleted with only its rejects stored.
async fn store_one(store: &RawStore, message: &Received) -> Result<Replay, StoreError> {
    let replay = message.replay(Utc::now());
    for (key, object) in [
        (&replay.events_key, &replay.events_object),
        (&replay.rejects_key, &replay.rejects_object),
    ] {
        if let Some(object) = object {
            store.put(key, object.clone()).await?;
        }
    }
    Ok(replay)
}

impl RedriveReport {
    pub fn to_text(&self) -> String {
        let (verb, stored) = if self.dry_run {
            (
                "would store",
                "A dry run: nothing was written or deleted.\n",
            )
        } else {
            ("stored", "")
        };
        let mut out = format!(
            "{stored}{} messages: {} events {verb} in {} objects under events/ (this hour), {} records {verb} in {} objects under rejects/\n",
            self.messages, self.events, self.event_objects, self.rejected, self.reject_objects
        );
        if !self.dry_run {
            out.push_str(&format!(
                "{} messages deleted from the queue\n",
                self.deleted
            ));
        }
        if self.not_deleted > 0 {
            out.push_str(&format!(
                "{} stored messages were not deleted: the next redrive stores them again (the ETL keeps one copy of each event)\n",
                self.not_deleted
            ));
        }
        if self.failed > 0 {
            out.push_str(&format!(
                "{} messages were not stored and stay in the queue; redrive again once the raw store takes writes:\n",
                self.failed
            ));
            for error in &self.errors {
                out.push_str(&format!("  - {error}\n"));
            }
        }
        out
    }
}
