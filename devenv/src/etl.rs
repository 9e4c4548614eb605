//! The ETL on a schedule: the Lambda's run (`sbw_etl::run`, trigger
//! `schedule`) against the local raw store, the first at once, then every
//! period after the previous one ended.

use std::time::Duration;

use sbw_etl::{RawStore, RunOptions, RunRequest, Trigger};
use tokio::sync::oneshot;

use crate::notice::{Notice, Notify};
use crate::stop::StopSignal;
use crate::warehouse;

/// How long a stop waits for the run in flight before cancelling it.
pub const FINISH_GRACE: Duration = Duration::from_secs(2);

/// What a stop found the schedule doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtlStop {
    /// Waiting for the next run.
    Idle,
    /// A run was in flight and finished within the grace period.
    Finished,
    /// A run was in flight and was cancelled: its open transaction rolled
    /// back; batches it had committed stay, and the next run goes on from there.
    Cancelled,
    /// The schedule had not started.
    NotStarted,
}

pub struct Schedule {
    pub source: RawStore,
    pub database: tokio_postgres::Config,
    pub shown_as: String,
    pub options: RunOptions,
    pub every: Duration,
}

/// Runs until `stop`. `first_run` is told when the first run has ended
/// (whatever its outcome), so start-up can wait for a loaded warehouse.
pub async fn run_schedule(
    schedule: Schedule,
    notify: Notify,
    first_run: oneshot::Sender<()>,
    mut stop: StopSignal,
) -> EtlStop {
    let mut first_run = Some(first_run);
    loop {
        if let Some(stopped) = run_once(&schedule, &notify, &mut stop).await {
            return stopped;
        }
        if let Some(first_run) = first_run.take() {
            let _ = first_run.send(());
        }
        tokio::select! {
            _ = tokio::time::sleep(schedule.every) => {}
            _ = stop.stopped() => return EtlStop::Idle,
        }
    }
}

/// One run, reported. `Some` when a stop came while it was in flight.
async fn run_once(schedule: &Schedule, notify: &Notify, stop: &mut StopSignal) -> Option<EtlStop> {
    let request = RunRequest::Incremental(Trigger::Schedule);
    let mut client = tokio::select! {
        client = warehouse::connect(&schedule.database, &schedule.shown_as) => match client {
            Ok(client) => client,
            Err(error) => {
                notify(Notice::EtlNotRun(error.to_string()));
                return None;
            }
        },
        _ = stop.stopped() => return Some(EtlStop::Idle),
    };
    let cancel = client.cancel_token();
    let run = sbw_etl::run(&schedule.source, &mut client, &request, &schedule.options);
    tokio::pin!(run);
    let (outcome, stopped) = tokio::select! {
        outcome = &mut run => (outcome, None),
        _ = stop.stopped() => match tokio::time::timeout(FINISH_GRACE, &mut run).await {
            Ok(outcome) => (outcome, Some(EtlStop::Finished)),
            Err(_) => {
                // The server stops the statement and rolls its transaction
                // back; the connection closes when the client is dropped.
                let _ = cancel.cancel_query(tokio_postgres::NoTls).await;
                return Some(EtlStop::Cancelled);
            }
        },
    };
    match outcome {
        Ok(summary) => notify(Notice::EtlRun(Box::new(summary))),
        Err(sbw_etl::EtlError::RunFailed { summary, .. }) => notify(Notice::EtlRun(summary)),
        Err(error) => notify(Notice::EtlNotRun(error.to_string())),
    }
    stopped
}
