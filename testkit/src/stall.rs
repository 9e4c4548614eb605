//! An endpoint that accepts connections and never answers: what a stalled
//! service looks like to its client (a hung peer, a path that black-holes).

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct StalledEndpoint {
    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL` and its per-service forms.
    pub url: String,
    task: JoinHandle<()>,
}

impl StalledEndpoint {
    /// Listens on a free port of the loopback, on the current runtime.
    pub async fn start() -> std::io::Result<StalledEndpoint> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            // Held open, never read from nor written to.
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Ok(StalledEndpoint { url, task })
    }
}

impl Drop for StalledEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}
