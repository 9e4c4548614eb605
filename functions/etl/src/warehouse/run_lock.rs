//! The run lock: one run at a time loads the warehouse. A session-level
//! advisory lock, so it goes with the session of a run that dies.

use std::time::Duration;

use tokio_postgres::Client;

use super::DbResult;

/// `pg_advisory_lock` key held for a whole run ("sbw-etl!").
const RUN_LOCK: i64 = 0x7362_772d_6574_6c21;

/// How long `pg_terminate_backend` waits for a stuck holder to exit.
const TERMINATE_WAIT: Duration = Duration::from_secs(5);

/// Another run holds the run lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    /// The backend pid of the holder, when PostgreSQL tells.
    pub holder_pid: Option<i32>,
}

/// Takes the run lock for this connection's lifetime, or says who holds it.
///
/// A holder stuck in a COPY, waiting for its client's next data for longer
/// than `statement_limit` (the limit every run's statements have), is ended
/// first. Its client is gone: a live one would have been cancelled by its
/// own statement timeout. No session limit ends such a backend (PostgreSQL
/// acts on a statement timeout during a blocked COPY read only once data
/// arrives), and when something on the path answers the keepalives of the
/// dead client, nothing else does. Ending it rolls back its open batch,
/// which the next run loads again.
pub async fn try_lock_run(
    client: &Client,
    statement_limit: Duration,
) -> DbResult<Result<(), Busy>> {
    if try_lock(client).await? {
        return Ok(Ok(()));
    }
    let holder = holder(client, statement_limit).await?;
    if let Some(Holder { pid, stuck: true }) = holder {
        let ended: bool = client
            .query_one(
                "SELECT pg_terminate_backend($1, $2)",
                &[&pid, &(TERMINATE_WAIT.as_millis() as i64)],
            )
            .await?
            .get(0);
        tracing::warn!(
            pid,
            ended,
            "ended a run's backend stuck in a COPY without its client"
        );
        if try_lock(client).await? {
            return Ok(Ok(()));
        }
    }
    Ok(Err(Busy {
        holder_pid: holder.map(|holder| holder.pid),
    }))
}

pub async fn unlock_run(client: &Client) -> DbResult<()> {
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&RUN_LOCK])
        .await
        .map(|_| ())
}

async fn try_lock(client: &Client) -> DbResult<bool> {
    Ok(client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&RUN_LOCK])
        .await?
        .get(0))
}

/// The backend holding the run lock.
struct Holder {
    pid: i32,
    /// In a COPY that has waited on its client for longer than a statement may run.
    stuck: bool,
}

async fn holder(client: &Client, statement_limit: Duration) -> DbResult<Option<Holder>> {
    let row = client
        .query_opt(
            "SELECT l.pid,
                    coalesce(a.state = 'active' AND a.wait_event = 'ClientRead'
                             AND a.query ~* '^\\s*COPY\\M'
                             AND a.query_start < now() - make_interval(secs => $2), false)
             FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
             LIMIT 1",
            &[&RUN_LOCK, &statement_limit.as_secs_f64()],
        )
        .await?;
    Ok(row.map(|row| Holder {
        pid: row.get(0),
        stuck: row.get(1),
    }))
}
