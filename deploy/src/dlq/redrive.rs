//! `sbwctl dlq redrive`: every dead letter back into the raw store, where
//! the next ETL run loads it.
//!
//! The ETL lists the receive hours from shortly before its previous listing
//! ended through the current hour (the ETL's `plan_listing`), so an
//! object written under its original, older hour could be missed. A redriven
//! message is written under the hour it is redriven in instead, which every
//! later run lists. Its events keep their own `received_at`, and the ETL keeps
//! one copy of each event id, so a message redriven twice, or whose client
//! retried successfully, is loaded once.
//!
//! SQS delivers a message at least once: it can hand out one again while (or
//! after) a worker stores it. A run stores each message id once; a copy
//! received after its message was stored is deleted, and one received while
//! another worker still stores it is left to come back.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::Utc;
use sbw_rawstore::{RawStore, StoreError};
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
    /// Copies SQS delivered again of messages this run had stored: deleted,
    /// not stored or counted twice.
    pub repeats: usize,
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
    let run = Run {
        queue,
        store,
        stop: AtomicBool::new(false),
        report: Mutex::new(RedriveReport::default()),
        unstored: Mutex::new(Vec::new()),
        taken: Mutex::new(HashSet::new()),
        stored: Mutex::new(HashSet::new()),
    };
    let workers = (0..WORKERS).map(|_| run.work());
    let worked = futures_util::future::try_join_all(workers).await;
    // Back in the queue at once for the next redrive; not earlier, or this
    // one would receive them again.
    let unstored = run.unstored.into_inner().expect("no worker panicked");
    queue.release(&unstored.iter().collect::<Vec<_>>()).await;
    worked?;
    Ok(run.report.into_inner().expect("no worker panicked"))
}

/// What the workers of one redrive share.
struct Run<'a> {
    queue: &'a Queue,
    store: &'a RawStore,
    /// Set at the first store failure: no new batches.
    stop: AtomicBool,
    report: Mutex<RedriveReport>,
    /// Received, not stored: made visible again when the run ends.
    unstored: Mutex<Vec<Received>>,
    /// Message ids a worker took to store, and those it stored.
    taken: Mutex<HashSet<String>>,
    stored: Mutex<HashSet<String>>,
}

impl Run<'_> {
    async fn work(&self) -> Result<(), AwsError> {
        while !self.stop.load(Ordering::Relaxed) {
            let batch = self.queue.receive(SQS_BATCH, VISIBILITY_SECONDS).await?;
            if batch.is_empty() {
                return Ok(());
            }
            let (repeats, batch) = self.sort_out_copies(batch);
            let outcomes = futures_util::future::join_all(
                batch.iter().map(|message| store_one(self.store, message)),
            )
            .await;
            let (stored, failed): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .zip(outcomes)
                .partition(|(_, outcome)| outcome.is_ok());
            self.stored
                .lock()
                .expect("stored lock")
                .extend(stored.iter().map(|(m, _)| m.message_id.clone()));
            let not_deleted = self
                .queue
                .delete(&stored.iter().map(|(m, _)| m).collect::<Vec<_>>())
                .await?;
            // A copy left undeleted comes back and is deleted then.
            let repeats_not_deleted = self
                .queue
                .delete(&repeats.iter().collect::<Vec<_>>())
                .await?;
            let mut report = self.report.lock().expect("report lock");
            for (_, outcome) in stored.iter().chain(&failed) {
                match outcome {
                    Ok(replay) => report.count(replay),
                    Err(error) => report.fail(error),
                }
            }
            report.repeats += repeats.len() - repeats_not_deleted;
            report.deleted += stored.len() - not_deleted;
            report.not_deleted += not_deleted;
            if !failed.is_empty() {
                self.stop.store(true, Ordering::Relaxed);
                let mut unstored = self.unstored.lock().expect("unstored lock");
                unstored.extend(failed.into_iter().map(|(message, _)| message));
            }
        }
        Ok(())
    }

    /// Splits a batch into copies of messages this run stored (to delete)
    /// and messages to store; drops copies of messages another worker is
    /// still storing (they come back once hidden no more).
    fn sort_out_copies(&self, batch: Vec<Received>) -> (Vec<Received>, Vec<Received>) {
        let stored = self.stored.lock().expect("stored lock");
        let mut taken = self.taken.lock().expect("taken lock");
        let (repeats, fresh): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .partition(|m| stored.contains(&m.message_id));
        let fresh = fresh
            .into_iter()
            .filter(|m| taken.insert(m.message_id.clone()))
            .collect();
        (repeats, fresh)
    }
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
        if self.repeats > 0 {
            out.push_str(&format!(
                "{} copies SQS delivered again of messages already stored were deleted\n",
                self.repeats
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

#[cfg(test)]
mod tests {
    use super::*;

    fn received(id: &str) -> Received {
        Received {
            message_id: id.to_owned(),
            receipt_handle: format!("handle-of-{id}"),
            sent_at: None,
            body_bytes: 0,
            content: Err("not a dead letter".to_owned()),
        }
    }

    #[test]
    fn copies_of_stored_messages_are_deleted_and_copies_in_progress_left_alone() {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .build();
        let queue = Queue::new(aws_sdk_sqs::Client::from_conf(config), "queue".to_owned());
        let store = RawStore::Directory("unused".into());
        let run = Run {
            queue: &queue,
            store: &store,
            stop: AtomicBool::new(false),
            report: Mutex::new(RedriveReport::default()),
            unstored: Mutex::new(Vec::new()),
            taken: Mutex::new(["stored", "storing"].map(str::to_owned).into()),
            stored: Mutex::new(["stored"].map(str::to_owned).into()),
        };
        let batch = ["stored", "storing", "new", "new"].map(received).into();
        let (repeats, fresh) = run.sort_out_copies(batch);
        let ids = |messages: &[Received]| {
            messages
                .iter()
                .map(|m| m.message_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&repeats), ["stored"]);
        assert_eq!(ids(&fresh), ["new"]);
        assert!(run.taken.lock().unwrap().contains("new"));
    }
}
