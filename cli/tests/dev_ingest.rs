//! `sbwctl dev ingest` as a user runs it: a real process, real HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use chrono::Utc;
use sbw_testkit::events::valid_event;
use sbw_testkit::ndjson::{gzip, lines_below};
use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sbwctl"))
            .args(["dev", "ingest", "--listen", "127.0.0.1:0", "--raw-dir"])
            .arg(&raw)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches("/v1/events,")
            .trim_end_matches("/v1/events")
            .to_owned();
        Server { child, base, dir }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn stored_lines(&self) -> Vec<Value> {
        lines_below(&self.dir.path().join("raw/events"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn events_posted_over_http_land_in_the_raw_directory() {
    let server = Server::start(&[]);
    let client = reqwest::Client::new();
    let now = Utc::now();
    let events = json!([valid_event(now), valid_event(now), {"event_type": "nope"}]);
    let response = client
        .post(server.url("/v1/events"))
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["accepted"].as_u64(), body["rejected"].as_u64()),
        (Some(2), Some(1))
    );

    // What navigator.sendBeacon sends, gzipped.
    let beacon = json!([valid_event(now)]);
    let response = client
        .post(server.url("/v1/events"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("content-encoding", "gzip")
        .body(gzip(&serde_json::to_vec(&beacon).unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);

    let stored = server.stored_lines();
    let mut got: Vec<&str> = stored
        .iter()
        .map(|l| l["event_id"].as_str().unwrap())
        .collect();
    let mut sent: Vec<&str> = events.as_array().unwrap()[..2]
        .iter()
        .chain(beacon.as_array().unwrap())
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    got.sort();
    sent.sort();
    assert_eq!(got, sent);
    let key = std::fs::read_dir(server.dir.path().join("raw/events"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert!(key.file_name().to_str().unwrap().starts_with("year="));
}

#[tokio::test]
async fn site_keys_and_origins_given_on_the_command_line_are_enforced() {
    let server = Server::start(&[
        "--site-key",
        "pk_live_1",
        "--allowed-origin",
        "https://shop.example",
    ]);
    let client = reqwest::Client::new();
    let event = valid_event(Utc::now());
    let post = |query: &'static str, origin: &'static str| {
        client
            .post(server.url(&format!("/v1/events{query}")))
            .header("origin", origin)
            .json(&event)
            .send()
    };
    assert_eq!(
        post("", "https://shop.example").await.unwrap().status(),
        401
    );
    assert_eq!(
        post("?site_key=pk_live_1", "https://evil.example")
            .await
            .unwrap()
            .status(),
        403
    );
    let ok = post("?site_key=pk_live_1", "https://shop.example")
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let preflight = client
        .request(reqwest::Method::OPTIONS, server.url("/v1/events"))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let missing = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = Server::start(&[]);
    let pid = server.child.id() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn wrong_arguments_get_clear_errors() {
    let bad_address = Command::new(env!("CARGO_BIN_EXE_sbwctl"))
        .args(["dev", "ingest", "--listen", "localhost"])
        .output()
        .unwrap();
    assert_eq!(bad_address.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_address.stderr).contains("--listen"));

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let busy = Command::new(env!("CARGO_BIN_EXE_sbwctl"))
        .args(["dev", "ingest", "--listen", &address, "--raw-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );

    let not_a_directory = dir.path().join("a-file");
    std::fs::write(&not_a_directory, "").unwrap();
    let unwritable = Command::new(env!("CARGO_BIN_EXE_sbwctl"))
        .args(["dev", "ingest", "--listen", "127.0.0.1:0", "--raw-dir"])
        .arg(not_a_directory.join("raw"))
        .output()
        .unwrap();
    assert_eq!(unwritable.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unwritable.stderr);
    assert!(stderr.contains("cannot create the raw store"), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
}
