//! Simulated shoppers for `--demo`: `sbw_shoppers`' live traffic, visits of
//! the demo shop sent to the ingest endpoint over HTTP as the browser SDK
//! sends them.

use sbw_shoppers::live::{Live, LiveOptions, LiveStats};
use sbw_shoppers::Shop;

use crate::error::DevError;
use crate::stop::StopSignal;

/// Where and how fast to send visits.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// The ingest server's base URL (`http://127.0.0.1:8787`).
    pub endpoint: String,
    /// The demo shop's origin, one the ingest server allows.
    pub origin: String,
    pub site_key: String,
    /// The shop's time zone: the visitors' day follows it.
    pub timezone: String,
    pub visits_per_minute: f64,
    pub seed: u64,
}

/// The shoppers, ready to play: what is wrong with the settings is said
/// before anything is announced.
pub fn prepare(traffic: Traffic) -> Result<Live, DevError> {
    let unusable = |reason: String| DevError::Traffic(reason);
    let endpoint = traffic
        .endpoint
        .parse()
        .map_err(|e| unusable(format!("{}: {e}", traffic.endpoint)))?;
    let shop =
        Shop::new(&traffic.origin, &traffic.timezone).map_err(|e| unusable(e.to_string()))?;
    Live::new(LiveOptions {
        endpoint,
        site_key: Some(traffic.site_key),
        shop,
        visits_per_minute: traffic.visits_per_minute,
        seed: traffic.seed,
    })
    .map_err(|e| unusable(e.to_string()))
}

/// Plays visits until `stop`, then says what was sent.
pub async fn play(live: Live, mut stop: StopSignal) -> LiveStats {
    live.run(async move { stop.stopped().await }).await
}
