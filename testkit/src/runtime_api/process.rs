//! A function binary run as Lambda runs it, its output kept line by line
//! as CloudWatch Logs would keep it.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

/// A running function binary whose stdout and stderr are read line by line
/// while it runs (stdout is where Lambda functions log, and where CloudWatch
/// Embedded Metric Format lines go). Killed when dropped.
pub struct FunctionProcess {
    pub child: tokio::process::Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl FunctionProcess {
    /// Spawns `command` (typically from [`super::RuntimeApi::command`]) with its
    /// stdout and stderr piped and collected.
    pub fn spawn(mut command: tokio::process::Command) -> std::io::Result<FunctionProcess> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect_lines(child.stdout.take().expect("piped stdout"), stdout.clone()),
            collect_lines(child.stderr.take().expect("piped stderr"), stderr.clone()),
        ];
        Ok(FunctionProcess {
            child,
            stdout,
            stderr,
            readers,
        })
    }

    /// The lines read from stdout so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().expect("output lock").clone()
    }

    /// The lines read from stderr so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("output lock").clone()
    }

    /// Everything read so far, stdout then stderr, for failure messages.
    pub fn output(&self) -> String {
        let mut output = self.stdout_lines().join("\n");
        output.push_str("\n--- stderr ---\n");
        output.push_str(&self.stderr_lines().join("\n"));
        output
    }

    /// The first stdout line from index `from` on that `matches`, waiting up
    /// to `timeout` for it to be printed; `None` when none came.
    pub async fn wait_for_stdout_line(
        &self,
        from: usize,
        matches: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .stdout_lines()
                .into_iter()
                .skip(from)
                .find(|line| matches(line));
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits up to `timeout` for the process to exit and its output to be
    /// read to the end; `None` when it is still running.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()?
            .expect("waiting for the function process");
        for reader in self.readers.drain(..) {
            let _ = reader.await;
        }
        Some(status)
    }
}

fn collect_lines(
    stream: impl AsyncRead + Unpin + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            lines.lock().expect("output lock").push(line);
        }
    })
}
