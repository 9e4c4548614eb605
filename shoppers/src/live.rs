//! Live traffic: visits played in real time against an ingest endpoint,
//! over HTTP, as browsers running the SDK send them — visits starting at
//! random (a Poisson stream at the given rate) and overlapping, each one's
//! requests at a human pace, a JSON array as `text/plain` with the shop's
//! `Origin`, the browser's `User-Agent`, a `CloudFront-Viewer-Country`
//! header (the local ingest server honours it), the site key in the query,
//! and signed-in customers on the signed-in route with their ID token.
//!
//! Answers are counted ([`LiveStats`]); a refusal or an unreachable server
//! is logged (at most one line every 10 s) and traffic goes on.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;
use url::Url;

use crate::sdk::Request;
use crate::shoppers::Shoppers;
use crate::site::Shop;
use crate::visit::Visit;

/// Mixed into the seed for the gaps between visits, so they do not follow the visits' own draws.
const VISIT_GAPS: u64 = 0x6761_7073_2121_2121;
/// A request gets this long to be answered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// At a stop, how long requests in flight may take to be answered before
/// they are abandoned (a supervisor stops everything within a few seconds).
const STOP_GRACE: Duration = Duration::from_secs(2);
/// At most one warning about failed requests this often.
const WARNING_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The ingest server, e.g. `http://127.0.0.1:8787`: its scheme, host and
    /// port; requests go to `/v1/events` and `/v1/events/signed-in`.
    pub endpoint: Url,
    /// The publishable site key (`?site_key=`), if the server wants one.
    pub site_key: Option<String>,
    /// The shop the visitors browse: its origin (page URLs, the `Origin`
    /// header: one the server allows) and time zone.
    pub shop: Shop,
    /// Visits starting per minute, on average.
    pub visits_per_minute: f64,
    /// Mixed with the start time: each run's visitors and event ids are new.
    pub seed: u64,
}

/// What was sent and how the endpoint answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LiveStats {
    pub visits: u64,
    pub requests: u64,
    pub events_sent: u64,
    pub accepted: u64,
    /// Events the server had stored already (an SDK retry).
    pub duplicates: u64,
    pub rejected: u64,
    /// Requests without a 2xx answer (refused, timed out, unreachable).
    pub failed_requests: u64,
}

impl std::fmt::Display for LiveStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} visits, {} requests, {} events sent: {} accepted, {} duplicates, {} rejected; {} requests failed",
            self.visits,
            self.requests,
            self.events_sent,
            self.accepted,
            self.duplicates,
            self.rejected,
            self.failed_requests
        )
    }
}

/// The counts while traffic runs; [`LiveCounters::snapshot`] reads them.
#[derive(Debug, Default)]
pub struct LiveCounters {
    visits: AtomicU64,
    requests: AtomicU64,
    events_sent: AtomicU64,
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    failed_requests: AtomicU64,
    /// When the last warning was logged, and failures since.
    warned: Mutex<(Option<Instant>, u64)>,
}

impl LiveCounters {
    pub fn snapshot(&self) -> LiveStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        LiveStats {
            visits: read(&self.visits),
            requests: read(&self.requests),
            events_sent: read(&self.events_sent),
            accepted: read(&self.accepted),
            duplicates: read(&self.duplicates),
            rejected: read(&self.rejected),
            failed_requests: read(&self.failed_requests),
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a failed request; logs it unless a warning went out less than [`WARNING_EVERY`] ago.
    fn failed(&self, what: String) {
        Self::add(&self.failed_requests, 1);
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        let (last, since) = &mut *warned;
        *since += 1;
        if last.is_none_or(|at| at.elapsed() >= WARNING_EVERY) {
            tracing::warn!(failed_requests = *since, "simulated shoppers: {what}");
            *last = Some(Instant::now());
            *since = 0;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("the ingest endpoint {0} is not an http:// URL with a host (this client speaks plain HTTP to a local ingest server)")]
    Endpoint(Url),
    #[error("{0} visits a minute is not a rate: give a positive number")]
    Rate(f64),
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Live traffic, ready to run.
pub struct Live {
    options: LiveOptions,
    client: reqwest::Client,
    counters: Arc<LiveCounters>,
}

impl Live {
    pub fn new(options: LiveOptions) -> Result<Live, LiveError> {
        let endpoint = &options.endpoint;
        if endpoint.scheme() != "http" || endpoint.host().is_none() {
            return Err(LiveError::Endpoint(endpoint.clone()));
        }
        let rate = options.visits_per_minute;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(LiveError::Rate(rate));
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Live {
            options,
            client,
            counters: Arc::new(LiveCounters::default()),
        })
    }

    /// The counts, readable while [`Live::run`] runs.
    pub fn counters(&self) -> Arc<LiveCounters> {
        self.counters.clone()
    }

    /// Plays visits until `shutdown` completes, then stops every visit (the
    /// requests in flight get up to 2 s to be answered, and are abandoned
    /// after, as a closed tab abandons them) and returns the counts.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> LiveStats {
        let Live {
            options,
            client,
            counters,
        } = self;
        let sender = Arc::new(Sender {
            client,
            endpoint: options.endpoint.clone(),
            site_key: options.site_key.clone(),
            origin: options.shop.origin().to_owned(),
            counters: counters.clone(),
        });
        let mean_gap = 60.0 / options.visits_per_minute;
        // Each run its own visitors and event ids: a restart must not send
        // the ids of an earlier run again (ingest and the ETL would drop them
        // as duplicates). The seed still sets the gaps between visits.
        let run = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
        let mut shoppers = Shoppers::for_shop(options.seed ^ run, options.shop);
        let mut gaps = StdRng::seed_from_u64(options.seed ^ VISIT_GAPS);
        let mut visits = JoinSet::new();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut next = Instant::now();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep_until(next) => {
                    let visit = shoppers.visit(Utc::now());
                    LiveCounters::add(&counters.visits, 1);
                    visits.spawn(play(visit, sender.clone(), stopped.clone()));
                    // Poisson arrivals: exponential gaps.
                    let gap = -mean_gap * (1.0 - gaps.random::<f64>()).ln();
                    next += Duration::from_secs_f64(gap);
                    while visits.try_join_next().is_some() {}
                }
            }
        }
        let _ = stop.send(true);
        let answered = async { while visits.join_next().await.is_some() {} };
        if tokio::time::timeout(STOP_GRACE, answered).await.is_err() {
            visits.shutdown().await;
        }
        counters.snapshot()
    }
}

/// [`Live::new`] and [`Live::run`] in one call.
pub async fn run(
    options: LiveOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<LiveStats, LiveError> {
    Ok(Live::new(options)?.run(shutdown).await)
}

struct Sender {
    client: reqwest::Client,
    endpoint: Url,
    site_key: Option<String>,
    origin: String,
    counters: Arc<LiveCounters>,
}

/// `request` as the browser posts it to the ingest server at `endpoint`
/// from a page of `origin`.
pub fn post(
    client: &reqwest::Client,
    endpoint: &Url,
    site_key: Option<&str>,
    origin: &str,
    request: &Request,
) -> reqwest::RequestBuilder {
    let mut url = endpoint.clone();
    url.set_path(request.path());
    url.set_query(None);
    url.set_fragment(None);
    if let Some(key) = site_key {
        url.query_pairs_mut().append_pair("site_key", key);
    }
    let mut post = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .header(reqwest::header::ORIGIN, origin)
        .header(reqwest::header::USER_AGENT, request.user_agent)
        .header("cloudfront-viewer-country", request.country)
        .body(request.body());
    if let Some(token) = request.id_token() {
        post = post.bearer_auth(token);
    }
    post
}

/// Sends a visit's requests when its browser would, until `stopped`.
async fn play(visit: Visit, sender: Arc<Sender>, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let started = Instant::now();
    let Some(first) = visit.requests.iter().map(|r| r.sent_at).min() else {
        return;
    };
    let mut requests = visit.requests;
    requests.sort_by_key(|r| r.sent_at);
    for request in requests {
        let offset = (request.sent_at - first).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep_until(started + offset) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        sender.send(&request).await;
    }
}

/// The counts an ingest answer carries.
#[derive(Debug, Default, serde::Deserialize)]
struct Answer {
    #[serde(default)]
    accepted: u64,
    #[serde(default)]
    duplicates: u64,
    #[serde(default)]
    rejected: u64,
}

impl Sender {
    async fn send(&self, request: &Request) {
        let counters = &self.counters;
        LiveCounters::add(&counters.requests, 1);
        LiveCounters::add(&counters.events_sent, request.events.len() as u64);
        let post = post(
            &self.client,
            &self.endpoint,
            self.site_key.as_deref(),
            &self.origin,
            request,
        );
        let response = match post.send().await {
            Ok(response) => response,
            Err(error) => return counters.failed(format!("a request failed: {error}")),
        };
        let status = response.status();
        let url = response.url().clone();
        let body = response.text().await.unwrap_or_default();
        let answer: Answer = serde_json::from_str(&body).unwrap_or_default();
        LiveCounters::add(&counters.accepted, answer.accepted);
        LiveCounters::add(&counters.duplicates, answer.duplicates);
        LiveCounters::add(&counters.rejected, answer.rejected);
        if !status.is_success() {
            let body: String = body.chars().take(300).collect();
            counters.failed(format!("POST {url} answered {status}: {body}"));
        }
    }
}
