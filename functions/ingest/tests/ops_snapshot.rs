//! The dev ingest server's operational snapshot, over real HTTP: what it
//! answered and what went to the dead-letter directory reach
//! `<raw-dir>/_ops/snapshot.json`, written at start and at a clean shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sbw_contract::limits::MAX_BODY_BYTES;
use sbw_contract::ops::{
    DeadLetters, IngestCounts, OpsSnapshot, OpsSource, OPS_SNAPSHOT_KEY, OPS_WINDOW_MINUTES,
};
use sbw_ingest::local::{LocalServer, LocalSettings};
use sbw_testkit::events::valid_event;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A dev ingest server in this process, on a port of its own.
struct Running {
    address: SocketAddr,
    dir: tempfile::TempDir,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start() -> Running {
        let dir = tempfile::tempdir().unwrap();
        let settings = LocalSettings {
            raw_dir: dir.path().join("raw"),
            dead_letter_dir: dir.path().join("dead-letter"),
            access: Default::default(),
            hash_key_file: dir.path().join("dev-hash-key"),
            accept_unverified_jwt: false,
        };
        let server = LocalServer::new(&settings).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server.serve(listener, async {
            let _ = stopped.await;
        }));
        let running = Running {
            address,
            dir,
            stop,
            served,
        };
        running.wait_for_first_snapshot().await;
        running
    }

    fn raw_dir(&self) -> PathBuf {
        self.dir.path().join("raw")
    }

    fn dead_letter_dir(&self) -> PathBuf {
        self.dir.path().join("dead-letter")
    }

    fn snapshot(&self) -> Option<OpsSnapshot> {
        read_snapshot(&self.raw_dir())
    }

    async fn wait_for_first_snapshot(&self) -> OpsSnapshot {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(snapshot) = self.snapshot() {
                return snapshot;
            }
            assert!(Instant::now() < deadline, "no snapshot written at start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends `body` to `path` over a connection of its own; returns the status.
    async fn post(&self, path: &str, body: &[u8]) -> u16 {
        let mut stream = TcpStream::connect(self.address).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.address,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8_lossy(&response);
        response
            .split_whitespace()
            .nth(1)
            .and_then(|status| status.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
    }

    /// Stops the server as Ctrl-C does and returns the last snapshot.
    async fn shut_down(self) -> OpsSnapshot {
        let raw_dir = self.raw_dir();
        self.stop.send(()).unwrap();
        self.served.await.unwrap().unwrap();
        read_snapshot(&raw_dir).expect("a snapshot after shutdown")
    }
}

fn read_snapshot(raw_dir: &Path) -> Option<OpsSnapshot> {
    let bytes = std::fs::read(raw_dir.join(OPS_SNAPSHOT_KEY)).ok()?;
    Some(serde_json::from_slice(&bytes).expect("the snapshot is an OpsSnapshot"))
}

fn assert_fresh_local(snapshot: &OpsSnapshot) {
    assert_eq!(snapshot.source, OpsSource::Local);
    assert_eq!(snapshot.window_minutes, OPS_WINDOW_MINUTES);
    let taken_at: DateTime<Utc> = snapshot.taken_at.parse().expect("RFC 3339");
    let age = Utc::now() - taken_at;
    assert!(
        (0..10).contains(&age.num_seconds()),
        "taken_at {}",
        snapshot.taken_at
    );
}

#[tokio::test]
async fn the_snapshot_counts_each_answer_by_class() {
    let server = Running::start().await;
    let first = server.snapshot().unwrap();
    assert_fresh_local(&first);
    assert_eq!(first.ingest, IngestCounts::default());
    assert_eq!(first.dead_letters, DeadLetters::default());

    for _ in 0..3 {
        let event = serde_json::to_vec(&valid_event(Utc::now())).unwrap();
        assert_eq!(server.post("/v1/events", &event).await, 202);
    }
    let rejected = json!([{"event_type": "nope"}]).to_string();
    assert_eq!(server.post("/v1/events", rejected.as_bytes()).await, 400);
    let too_large = vec![b' '; MAX_BODY_BYTES + 1];
    assert_eq!(server.post("/v1/events", &too_large).await, 413);
    assert_eq!(server.post("/v1/nowhere", b"{}").await, 404);

    let last = server.shut_down().await;
    assert_fresh_local(&last);
    assert_eq!(
        last.ingest,
        IngestCounts {
            requests: 6,
            client_errors: 3,
            server_errors: 0,
        }
    );
    assert_eq!(last.dead_letters, DeadLetters::default());
}

#[tokio::test]
async fn a_failed_store_shows_as_a_server_error_and_a_waiting_dead_letter() {
    let server = Running::start().await;
    // The raw store breaks: its directory becomes a file.
    std::fs::remove_dir_all(server.raw_dir()).unwrap();
    std::fs::write(server.raw_dir(), b"not a directory").unwrap();
    let event = serde_json::to_vec(&valid_event(Utc::now())).unwrap();
    assert_eq!(server.post("/v1/events", &event).await, 503);
    let dead_letters = std::fs::read_dir(server.dead_letter_dir()).unwrap().count();
    assert_eq!(
        dead_letters, 1,
        "the events went to the dead-letter directory"
    );

    // The store is back by the time the server stops.
    std::fs::remove_file(server.raw_dir()).unwrap();
    let last = server.shut_down().await;
    assert_fresh_local(&last);
    assert_eq!(
        last.ingest,
        IngestCounts {
            requests: 1,
            client_errors: 0,
            server_errors: 1,
        }
    );
    assert_eq!(last.dead_letters.messages, 1);
    let age = last.dead_letters.oldest_age_seconds.expect("an age");
    assert!(age < 10, "{age}");
}
