//! moto in server mode, the AWS API emulator of the tests (S3, SQS, SSM, …),
//! reached through an endpoint URL.
//!
//! `scripts/test.sh` installs moto into `.venv` and sets `SBW_MOTO_SERVER`;
//! without that variable the launcher falls back to the workspace's
//! `.venv/bin/moto_server`, and fails with directions when neither exists.
//! moto starts with `moto-patches/` on its PYTHONPATH, which fixes its
//! CloudFormation change sets (outputs, exports, imports).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

use crate::{AWS_REGION, FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY};

/// The variable naming the `moto_server` executable.
pub const MOTO_SERVER_ENV: &str = "SBW_MOTO_SERVER";

/// Fixes to moto's CloudFormation change sets, loaded by moto's Python at
/// start-up (see the file for what they fix).
const PATCHES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/moto-patches");

/// How long moto may take to import and start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs moto in the background and kills it when the test process exits,
/// however it exits: the shell reads a pipe whose write end only this
/// process holds, and kills moto when the pipe closes. (Background jobs
/// read /dev/null unless redirected, hence the copy of stdin on fd 3.)
const WATCHDOG_SCRIPT: &str = r#"exec 3<&0
"$0" "$@" </dev/null & moto=$!
(cat <&3 >/dev/null; kill "$moto" 2>/dev/null) &
wait "$moto""#;

#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error(
        "moto_server not found: {MOTO_SERVER_ENV} is not set and {fallback} does not exist. \
         Run the tests through scripts/test.sh, which installs moto and sets {MOTO_SERVER_ENV}, \
         or create the venv with `source scripts/lib/ensure.sh; ensure_venv .venv scripts/requirements-aws-emulator.txt`"
    )]
    NotInstalled { fallback: String },
    #[error("{MOTO_SERVER_ENV}={path} does not exist; run the tests through scripts/test.sh, which installs moto")]
    Missing { path: String },
    #[error("starting moto_server failed: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("moto_server exited before answering ({status}); its log {log}:\n{tail}")]
    Exited {
        status: String,
        log: String,
        tail: String,
    },
    #[error("moto_server did not answer on {endpoint} within {timeout:?}; its log {log}:\n{tail}")]
    NoAnswer {
        endpoint: String,
        timeout: Duration,
        log: String,
        tail: String,
    },
}

/// A running `moto_server -H 127.0.0.1 -p <free port>`; stopped when dropped.
pub struct Moto {
    endpoint: String,
    watchdog: Child,
    /// Closing it (drop, or this process ending) stops moto.
    lifeline: Option<ChildStdin>,
}

impl Moto {
    /// One moto for the whole test binary, started by the first caller;
    /// tests share it and keep apart by using their own resource names.
    /// Panics with the start error (and how to fix it) when moto cannot run.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Result<Moto, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Moto::start().map_err(|e| e.to_string())) {
            Ok(moto) => moto,
            Err(error) => panic!("{error}"),
        }
    }

    /// Starts a moto server of its own and waits until it answers.
    pub fn start() -> Result<Moto, MotoError> {
        let executable = moto_server_path()?;
        let port = free_port().map_err(MotoError::Spawn)?;
        let log_path = std::env::temp_dir().join(format!("sbw-moto-{port}.log"));
        let log = std::fs::File::create(&log_path).map_err(MotoError::Spawn)?;
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg(&executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONPATH", PATCHES_DIR)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().map_err(MotoError::Spawn)?)
            .stderr(log)
            .spawn()
            .map_err(MotoError::Spawn)?;
        let lifeline = watchdog.stdin.take();
        let mut moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            watchdog,
            lifeline,
        };
        moto.wait_until_answering(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), &log_path)?;
        Ok(moto)
    }

    /// The endpoint URL, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// AWS SDK configuration for this moto: its endpoint, the test region
    /// and fake credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.endpoint).await
    }

    fn wait_until_answering(
        &mut self,
        address: SocketAddr,
        log_path: &Path,
    ) -> Result<(), MotoError> {
        let started = Instant::now();
        let log = || (log_path.display().to_string(), log_tail(log_path));
        while !answers_http(address) {
            if let Ok(Some(status)) = self.watchdog.try_wait() {
                let (log, tail) = log();
                return Err(MotoError::Exited {
                    status: status.to_string(),
                    log,
                    tail,
                });
            }
            if started.elapsed() > START_TIMEOUT {
                let (log, tail) = log();
                return Err(MotoError::NoAnswer {
                    endpoint: self.endpoint.clone(),
                    timeout: START_TIMEOUT,
                    log,
                    tail,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.watchdog.wait();
    }
}

/// AWS SDK configuration for the test peers at `endpoint` (moto, or a
/// [`crate::fault_proxy::FaultProxy`] in front of it): the test region and
/// fake credentials.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(AWS_REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            FAKE_ACCESS_KEY_ID,
            FAKE_SECRET_ACCESS_KEY,
            None,
            None,
            "sbw-testkit",
        ))
        .load()
        .await
}

/// [`sdk_config_for`] with `timeouts` on every call, as a function sets
/// its own (`sbw_aws::CallTimeouts::to_timeout_config`).
pub async fn sdk_config_timing_out(endpoint: &str, timeouts: TimeoutConfig) -> SdkConfig {
    sdk_config_for(endpoint)
        .await
        .into_builder()
        .timeout_config(timeouts)
        .build()
}

fn moto_server_path() -> Result<PathBuf, MotoError> {
    if let Some(path) = std::env::var_os(MOTO_SERVER_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return match path.exists() {
            true => Ok(path),
            false => Err(MotoError::Missing {
                path: path.display().to_string(),
            }),
        };
    }
    let fallback = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testkit lives inside the workspace")
        .join(".venv/bin/moto_server");
    match fallback.exists() {
        true => Ok(fallback),
        false => Err(MotoError::NotInstalled {
            fallback: fallback.display().to_string(),
        }),
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Whether an HTTP server answers a request on `address`.
fn answers_http(address: SocketAddr) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut status_line = [0u8; 5];
        stream.read_exact(&mut status_line)?;
        Ok(&status_line == b"HTTP/")
    };
    attempt().unwrap_or(false)
}

fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let start = log.len().saturating_sub(2000);
    let start = (start..log.len())
        .find(|&i| log.is_char_boundary(i))
        .unwrap_or(log.len());
    log[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moto_answers_once_started_and_stops_when_dropped() {
        let moto = Moto::start().unwrap();
        let address: SocketAddr = moto
            .endpoint()
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        assert!(answers_http(address));
        drop(moto);
        assert!(
            !answers_http(address),
            "moto still answers after its launcher was dropped"
        );
    }
}
