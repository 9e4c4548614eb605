//! Asking the parts whether they answer, over HTTP as a browser would.

use std::time::{Duration, Instant};

/// An HTTP client for this machine's servers: no proxy, bounded waits.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("a client without TLS or proxies builds")
}

/// GET `url`, waiting at most `timeout`: the answer's status.
pub async fn get(url: &str, timeout: Duration) -> Result<u16, String> {
    client(timeout)
        .get(url)
        .send()
        .await
        .map(|response| response.status().as_u16())
        .map_err(|e| e.to_string())
}

/// Asks `url` until it answers 2xx, for at most `within`.
pub async fn until_ok(url: &str, within: Duration) -> bool {
    until(url, within, |status| (200..300).contains(&status)).await
}

/// Asks `url` until its answer's status is one `accept` takes, for at most `within`.
pub async fn until(url: &str, within: Duration, accept: impl Fn(u16) -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if matches!(get(url, Duration::from_secs(5)).await, Ok(status) if accept(status)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
