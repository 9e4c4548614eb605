//! `sbwctl dev ingest`: the same handler behind a plain HTTP server, writing
//! the raw store's keys under a local directory, and the operational snapshot
//! of its answers and dead letters beside them.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::body::{Body, HttpBody};
use axum::extract::State;
use base64::Engine;
use http_body_util::BodyExt;
use sbw_contract::limits::MAX_BODY_BYTES;
use sbw_contract::IdentifierHasher;
use tokio::net::TcpListener;

use crate::access::AccessPolicy;
use crate::dead_letter::DeadLetter;
use crate::handler::Ingest;
use crate::ops_snapshot::{AnswerCounter, SnapshotWriter};
use crate::request::{IngestRequest, IngestResponse};
use sbw_rawstore::RawStore;

#[derive(Debug, Clone)]
pub struct LocalSettings {
    pub raw_dir: PathBuf,
    pub dead_letter_dir: PathBuf,
    pub access: AccessPolicy,
    pub hash_key_file: PathBuf,
    /// Development only: take the signed-in user from a bearer JWT without
    /// verifying it (in AWS, API Gateway verifies it).
    pub accept_unverified_jwt: bool,
}

struct Server {
    ingest: Ingest,
    accept_unverified_jwt: bool,
    answers: Arc<AnswerCounter>,
}

/// The local server, ready to serve: its hashing key read and its
/// directories made, so what is wrong with the settings is reported before
/// anyone is told the server is up.
pub struct LocalServer {
    server: Arc<Server>,
    snapshot: SnapshotWriter,
}

impl LocalServer {
    pub fn new(settings: &LocalSettings) -> anyhow::Result<Self> {
        for (dir, what) in [
            (&settings.raw_dir, "the raw store"),
            (&settings.dead_letter_dir, "the dead-letter directory"),
        ] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {what} {}", dir.display()))?;
        }
        let key = read_or_create_key(&settings.hash_key_file)?;
        let hasher = IdentifierHasher::new(key.as_bytes()).context("the identifier hashing key")?;
        sbw_contract::enrich::warm_up_user_agent_parser();
        let answers = Arc::new(AnswerCounter::default());
        Ok(LocalServer {
            snapshot: SnapshotWriter::new(
                &settings.raw_dir,
                &settings.dead_letter_dir,
                answers.clone(),
            ),
            server: Arc::new(Server {
                ingest: Ingest::new(
                    settings.access.clone(),
                    hasher,
                    RawStore::Directory(settings.raw_dir.clone()),
                    DeadLetter::Directory(settings.dead_letter_dir.clone()),
                ),
                accept_unverified_jwt: settings.accept_unverified_jwt,
                answers,
            }),
        })
    }

    /// Serves until `shutdown` completes, then writes the last operational
    /// snapshot once every request in flight is answered.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_snapshots, stopped) = tokio::sync::oneshot::channel();
        let snapshots = tokio::spawn(self.snapshot.run(stopped));
        let app = axum::Router::new().fallback(handle).with_state(self.server);
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP");
        let _ = stop_snapshots.send(());
        snapshots.await.context("writing the last ops snapshot")?;
        served
    }
}

async fn handle(
    State(server): State<Arc<Server>>,
    request: http::Request<Body>,
) -> http::Response<Body> {
    let (parts, body) = request.into_parts();
    let verified_subject = if server.accept_unverified_jwt {
        parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(unverified_jwt_subject)
    } else {
        None
    };
    let request = IngestRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body: read_body_up_to_limit(body).await,
        verified_subject,
    };
    let IngestResponse {
        status,
        headers,
        body,
    } = server.ingest.handle(request).await;
    server.answers.record(status);
    let mut response = http::Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Reads at most one chunk past [`MAX_BODY_BYTES`]: enough for the handler
/// to answer 413, without buffering an unbounded body.
async fn read_body_up_to_limit(mut body: Body) -> bytes::Bytes {
    // Content-Length, when sent, sizes the buffer once; a false one only costs the cap.
    let expected = body.size_hint().lower().min(MAX_BODY_BYTES as u64 + 1);
    let mut collected = Vec::with_capacity(expected as usize);
    while collected.len() <= MAX_BODY_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    collected.extend_from_slice(data);
                }
            }
            // A broken upload is an empty body: the handler answers 400.
            Some(Err(_)) => return bytes::Bytes::new(),
            None => break,
        }
    }
    bytes::Bytes::from(collected)
}

/// The `sub` claim of `Bearer <jwt>`, signature not checked.
fn unverified_jwt_subject(authorization: &str) -> Option<String> {
    let token = authorization.strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&json).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// The development hashing key: read from `path`, or made and saved there
/// (owner-only) on the first run so hashes stay stable across restarts.
/// Whatever else writes the same raw store (`sbwctl dev seed`) hashes with it too.
pub fn read_or_create_key(path: &Path) -> anyhow::Result<String> {
    if let Ok(key) = std::fs::read_to_string(path) {
        return Ok(key.trim().to_owned());
    }
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_private(path, &key)
        .with_context(|| format!("writing the development hashing key to {}", path.display()))?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_comes_from_the_jwt_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"sub":"user-42","email":"x@y.z"}"#);
        assert_eq!(
            unverified_jwt_subject(&format!("Bearer h.{payload}.s")),
            Some("user-42".into())
        );
        assert_eq!(unverified_jwt_subject("Bearer not-a-jwt"), None);
        assert_eq!(
            unverified_jwt_subject(&format!("Basic h.{payload}.s")),
            None
        );
    }

    #[test]
    fn the_dev_key_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/hash-key");
        let first = read_or_create_key(&path).unwrap();
        assert!(first.len() >= 32);
        assert_eq!(read_or_create_key(&path).unwrap(), first);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
