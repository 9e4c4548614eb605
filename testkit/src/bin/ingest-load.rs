//! The load test of the local ingest server (`sbwctl dev ingest`), run by
//! `scripts/load-ingest.sh`, in three phases. Over 400 lines on purpose:
//! one program whose phases share the driver, its counters and the verdict.
//!
//! 1. saturation: 4, then 16, then 64 clients post back to back for
//!    `--saturation-seconds` each; the highest request rate answered 202
//!    is the server's saturation rate (more clients only queue);
//! 2. overload: requests are sent on a fixed schedule (open loop) at
//!    `--factor` times that rate for `--seconds`, at most `--max-in-flight`
//!    at once (a request due while none is free is counted as shed by the
//!    driver, never sent late); the server's resident memory is sampled
//!    meanwhile;
//! 3. verdict: the server still runs and answers, its peak RSS stayed
//!    under `--max-rss-mb`, and every event of every 202 answer is in the
//!    raw store (`--raw-dir`), none invented.
//!
//! Event ids carry the request's number, so the store is checked against
//! the answers without keeping the ids.
//!
//! Usage: ingest-load --url http://127.0.0.1:PORT --pid PID --raw-dir DIR [options]
//! Prints the figures; exits 1 when a check fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use tokio::sync::Semaphore;

#[derive(Parser)]
#[command(about = "Overload the local ingest server and check what it kept")]
struct Args {
    /// The server's base URL.
    #[arg(long)]
    url: String,
    /// The server's process id, for its memory and liveness.
    #[arg(long)]
    pid: u32,
    /// The server's raw store directory.
    #[arg(long)]
    raw_dir: PathBuf,
    #[arg(long, default_value_t = 4)]
    saturation_seconds: u64,
    /// The overload, as a multiple of the saturation rate.
    #[arg(long, default_value_t = 5.0)]
    factor: f64,
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    #[arg(long, default_value_t = 2048)]
    max_in_flight: usize,
    /// A request not answered within this is counted as timed out.
    #[arg(long, default_value_t = 10)]
    timeout_seconds: u64,
    /// Events per request.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// The bound on the server's resident memory.
    #[arg(long, default_value_t = 256)]
    max_rss_mb: u64,
}

/// What became of one scheduled request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Fate {
    NotSent = 0,
    Accepted = 1,
    Unavailable = 2,
    OtherStatus = 3,
    TimedOut = 4,
    Failed = 5,
    Shed = 6,
}

impl From<u8> for Fate {
    fn from(value: u8) -> Fate {
        [
            Fate::NotSent,
            Fate::Accepted,
            Fate::Unavailable,
            Fate::OtherStatus,
            Fate::TimedOut,
            Fate::Failed,
            Fate::Shed,
        ]
        .into_iter()
        .find(|fate| *fate as u8 == value)
        .unwrap_or(Fate::NotSent)
    }
}

/// Event numbers from here on are the saturation run's and the warm-up's;
/// the overload's are below. Ids hold 48 bits of event number.
const SATURATION_EVENTS: u64 = 1 << 44;

/// Request bodies whose event ids encode the request number: every id is
/// `<run prefix><12 hex digits of request * batch + index>`.
struct Batches {
    prefix: String,
    /// The batch's JSON split around its event ids.
    pieces: Vec<String>,
}

impl Batches {
    fn new(batch: usize) -> Batches {
        let run = uuid::Uuid::new_v4().simple().to_string();
        let prefix = format!(
            "{}-{}-4{}-8{}-",
            &run[..8],
            &run[8..12],
            &run[12..15],
            &run[15..18]
        );
        let placeholder = "@@EVENT_ID@@";
        let events: Vec<serde_json::Value> = (0..batch)
            .map(|_| {
                let mut event = sbw_testkit::events::valid_event(chrono::Utc::now());
                event["event_id"] = serde_json::json!(placeholder);
                event
            })
            .collect();
        let json = serde_json::Value::Array(events).to_string();
        let quoted = format!("\"{placeholder}\"");
        Batches {
            prefix,
            pieces: json.split(&quoted).map(str::to_owned).collect(),
        }
    }

    fn body(&self, request: u64) -> String {
        let batch = (self.pieces.len() - 1) as u64;
        let mut body = String::with_capacity(
            self.pieces.iter().map(String::len).sum::<usize>() + 64 * batch as usize,
        );
        for (index, piece) in self.pieces.iter().enumerate() {
            body.push_str(piece);
            if index + 1 < self.pieces.len() {
                let event = request * batch + index as u64;
                body.push_str(&format!("\"{}{event:012x}\"", self.prefix));
            }
        }
        body
    }

    /// The event number of an id of this run.
    fn event_of(&self, id: &str) -> Option<u64> {
        u64::from_str_radix(id.strip_prefix(&self.prefix)?, 16).ok()
    }

    /// The first request number whose events are past the overload's.
    fn first_outside_overload(&self) -> u64 {
        SATURATION_EVENTS.div_ceil((self.pieces.len() - 1) as u64)
    }
}

struct Driver {
    client: reqwest::Client,
    url: String,
    batches: Batches,
}

impl Driver {
    async fn post(&self, request: u64) -> (Fate, Duration) {
        let started = Instant::now();
        let sent = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(self.batches.body(request))
            .send()
            .await;
        let fate = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                // The body is read so that the connection can be reused.
                let _ = response.bytes().await;
                match status {
                    202 => Fate::Accepted,
                    503 => Fate::Unavailable,
                    _ => Fate::OtherStatus,
                }
            }
            Err(error) if error.is_timeout() => Fate::TimedOut,
            Err(_) => Fate::Failed,
        };
        (fate, started.elapsed())
    }
}

/// Resident memory and liveness of the server, sampled.
struct Memory {
    pid: u32,
    peak_kb: AtomicU64,
}

impl Memory {
    /// VmRSS in kB; `None` once the process is gone (or a zombie).
    fn sample(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
        };
        if field("State:").is_some_and(|state| state.starts_with('Z')) {
            return None;
        }
        let rss = field("VmRSS:")?
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        self.peak_kb.fetch_max(rss, Ordering::Relaxed);
        Some(rss)
    }
}

/// Clients of each step of the saturation measurement.
const SATURATION_CLIENTS: [u64; 3] = [4, 16, 64];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(args.timeout_seconds))
        .pool_max_idle_per_host(args.max_in_flight)
        .build()?;
    let driver = Arc::new(Driver {
        client,
        url: format!("{}/v1/events", args.url.trim_end_matches('/')),
        batches: Batches::new(args.batch),
    });
    let memory = Arc::new(Memory {
        pid: args.pid,
        peak_kb: AtomicU64::new(0),
    });
    let idle_kb = memory.sample().context("the server is not running")?;
    let outside = driver.batches.first_outside_overload();
    let (warm_up, _) = driver.post(outside).await;
    if warm_up != Fate::Accepted {
        bail!("the server does not accept a batch: {warm_up:?}");
    }

    let mut saturation: f64 = 0.0;
    for (step, clients) in SATURATION_CLIENTS.into_iter().enumerate() {
        let first_request = outside + 1 + step as u64 * 100_000_000;
        let rate = closed_loop_rate(&driver, clients, first_request, args.saturation_seconds).await;
        println!("closed loop, {clients} clients back to back: {rate:.0} requests/s answered 202");
        saturation = saturation.max(rate);
    }
    let offered = saturation * args.factor;
    println!(
        "saturation: {saturation:.0} requests/s ({:.0} events/s)",
        saturation * args.batch as f64
    );

    let sampler = {
        let memory = memory.clone();
        tokio::spawn(async move {
            while memory.sample().is_some() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let (fates, latencies) = overload(&driver, &args, offered).await;
    let survived = !sampler.is_finished() && memory.sample().is_some();
    sampler.abort();
    let (after, _) = driver.post(outside).await;
    let fates: Vec<Fate> = fates
        .iter()
        .map(|f| Fate::from(f.load(Ordering::Relaxed)))
        .collect();

    let count = |fate: Fate| fates.iter().filter(|&&f| f == fate).count();
    let accepted = count(Fate::Accepted);
    println!(
        "overload: {offered:.0} requests/s offered ({}x) for {} s, {} scheduled; achieved {:.0} accepted requests/s",
        args.factor,
        args.seconds,
        fates.len(),
        accepted as f64 / args.seconds as f64
    );
    println!(
        "answers: 202 {accepted}, 503 {}, other status {}, timed out {}, failed {}; shed by the driver (all {} in flight) {}",
        count(Fate::Unavailable),
        count(Fate::OtherStatus),
        count(Fate::TimedOut),
        count(Fate::Failed),
        args.max_in_flight,
        count(Fate::Shed)
    );
    print_latencies(latencies);
    let peak_mb = memory.peak_kb.load(Ordering::Relaxed) / 1024;
    println!(
        "server RSS: {} MB idle, {peak_mb} MB peak (bound {} MB)",
        idle_kb / 1024,
        args.max_rss_mb
    );
    let store = StoreCheck::of(&args.raw_dir, &driver.batches, &fates)?;
    println!(
        "store: {} events of the overload in {} objects; lost after a 202: {}; stored twice: {}; \
         invented: {}; requests stored without a 202 (timed out or failed): {}",
        store.events,
        store.objects,
        store.lost,
        store.twice,
        store.invented,
        store.unanswered_but_stored
    );

    let mut failures = Vec::new();
    if !survived || after != Fate::Accepted {
        failures.push(format!(
            "the server did not survive: running {survived}, a request after the load: {after:?}"
        ));
    }
    if peak_mb > args.max_rss_mb {
        failures.push(format!(
            "peak RSS {peak_mb} MB over the bound of {} MB",
            args.max_rss_mb
        ));
    }
    if store.lost > 0 || store.invented > 0 || store.twice > 0 {
        failures.push(format!(
            "{} accepted events lost, {} invented, {} stored twice",
            store.lost, store.invented, store.twice
        ));
    }
    if accepted == 0 {
        failures.push("nothing was accepted under overload".to_owned());
    }
    for failure in &failures {
        println!("FAIL: {failure}");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
    println!("PASS");
    Ok(())
}

fn print_latencies(mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |share: f64| {
        let index = (latencies.len() as f64 * share) as usize;
        latencies[index.min(latencies.len() - 1)]
    };
    if !latencies.is_empty() {
        println!(
            "latency of accepted requests: p50 {:?}, p99 {:?}, max {:?}",
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
}

/// Requests per second `clients` clients get answered 202, each posting
/// as soon as its previous request is answered, numbering their requests
/// from `first_request` on.
async fn closed_loop_rate(
    driver: &Arc<Driver>,
    clients: u64,
    first_request: u64,
    seconds: u64,
) -> f64 {
    let answered = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let (driver, answered) = (driver.clone(), answered.clone());
        tasks.spawn(async move {
            let mut request = first_request + client * 1_000_000;
            while Instant::now() < deadline {
                if driver.post(request).await.0 == Fate::Accepted {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                request += 1;
            }
        });
    }
    tasks.join_all().await;
    answered.load(Ordering::Relaxed) as f64 / seconds as f64
}

/// Sends request `n` at `n / rate` seconds from the start, for `--seconds`;
/// returns each request's fate and the latencies of the accepted ones.
async fn overload(
    driver: &Arc<Driver>,
    args: &Args,
    rate: f64,
) -> (Arc<Vec<AtomicU8>>, Vec<Duration>) {
    let total = (rate * args.seconds as f64) as usize;
    let fates: Arc<Vec<AtomicU8>> = Arc::new(
        (0..total)
            .map(|_| AtomicU8::new(Fate::NotSent as u8))
            .collect(),
    );
    let in_flight = Arc::new(Semaphore::new(args.max_in_flight));
    let mut requests = tokio::task::JoinSet::new();
    let start = tokio::time::Instant::now();
    for request in 0..total {
        tokio::time::sleep_until(start + Duration::from_secs_f64(request as f64 / rate)).await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            fates[request].store(Fate::Shed as u8, Ordering::Relaxed);
            continue;
        };
        let (driver, fates) = (driver.clone(), fates.clone());
        requests.spawn(async move {
            let (fate, took) = driver.post(request as u64).await;
            fates[request].store(fate as u8, Ordering::Relaxed);
            drop(permit);
            (fate == Fate::Accepted).then_some(took)
        });
        // Collect finished requests as we go, so the set stays small.
        while let Some(done) = requests.try_join_next() {
            let _ = done;
        }
    }
    let mut latencies = Vec::new();
    while let Some(done) = requests.join_next().await {
        latencies.extend(done.ok().flatten());
    }
    (fates, latencies)
}

/// What the raw store holds of the overload's events, against the answers.
struct StoreCheck {
    events: usize,
    objects: usize,
    /// Events of 202 answers that are not in the store.
    lost: usize,
    /// Requests not answered 202 whose events were stored all the same.
    unanswered_but_stored: usize,
    /// Events stored more than once.
    twice: usize,
    /// Ids of this run's form whose number was never sent.
    invented: usize,
}

impl StoreCheck {
    /// Reads every event object below `raw_dir/events`.
    fn of(raw_dir: &Path, batches: &Batches, fates: &[Fate]) -> anyhow::Result<StoreCheck> {
        let batch = batches.pieces.len() - 1;
        let mut copies = vec![0u8; fates.len() * batch];
        let (mut events, mut objects, mut invented) = (0, 0, 0);
        let marker = "\"event_id\":\"";
        let paths = sbw_testkit::ndjson::files_below(&raw_dir.join("events"))
            .into_iter()
            .filter(|path| path.to_string_lossy().ends_with(".ndjson.gz"));
        for path in paths {
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(std::fs::File::open(&path)?)
                .read_to_string(&mut text)
                .with_context(|| format!("reading {}", path.display()))?;
            objects += 1;
            for (at, _) in text.match_indices(marker) {
                let id_start = at + marker.len();
                let Some(id) = text.get(id_start..id_start + 36) else {
                    continue;
                };
                let Some(event) = batches.event_of(id).filter(|&e| e < SATURATION_EVENTS) else {
                    continue;
                };
                events += 1;
                match copies.get_mut(event as usize) {
                    Some(count) => *count = count.saturating_add(1),
                    None => invented += 1,
                }
            }
        }
        let of_request = |request: usize| &copies[request * batch..(request + 1) * batch];
        let accepted = |request: &usize| fates[*request] == Fate::Accepted;
        Ok(StoreCheck {
            events,
            objects,
            lost: (0..fates.len())
                .filter(accepted)
                .map(|request| of_request(request).iter().filter(|&&n| n == 0).count())
                .sum(),
            unanswered_but_stored: (0..fates.len())
                .filter(|request| !accepted(request))
                .filter(|&request| of_request(request).iter().any(|&n| n > 0))
                .count(),
            twice: copies.iter().filter(|&&n| n > 1).count(),
            invented,
        })
    }
}
