//! The browser SDK's side of a visit, as `sdk/src/tracker.ts` behaves: the
//! events it records (the contract's `Event` JSON, stamped by the device's
//! clock) and the requests it sends them in — a batch when 10 events wait,
//! 5 s after the first one otherwise, everything left when the page goes
//! away (sendBeacon), a retry when an answer was lost, and what an offline
//! page left in IndexedDB when the visitor comes back.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use sbw_contract::EventType;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::random::{millis, uuid};
use crate::visitor::Visitor;

/// Events that make the SDK send at once (its `batchSize`).
pub const BATCH_SIZE: usize = 10;
/// How long the first waiting event waits at most (its `flushInterval`).
pub const FLUSH_INTERVAL: Duration = Duration::seconds(5);
/// Inactivity after which the SDK starts a new session.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// The SDK's body budgets: one fetch, one sendBeacon.
const MAX_FETCH_BYTES: usize = 400_000;
const MAX_BEACON_BYTES: usize = 60_000;

/// How a request left the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `fetch` while the page is open; retried when no answer comes.
    Fetch,
    /// `navigator.sendBeacon` (or a keepalive fetch) as the page goes away: never retried.
    Beacon,
}

/// Why a request was sent when it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// During the visit.
    OnTime,
    /// The events of an earlier request again: it reached the server, its
    /// answer did not reach the browser, and the SDK tried again.
    Retry,
    /// Events an offline page left in IndexedDB, sent by the visitor's
    /// next page load, hours or days later.
    Late,
}

/// One `POST /v1/events` (or `/v1/events/signed-in`) of a browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// When the browser sent it (true time; the events' `sent_at` is the device's clock).
    pub sent_at: DateTime<Utc>,
    /// When the ingest endpoint has it: what ingest stamps as `received_at`.
    pub received_at: DateTime<Utc>,
    /// The id ingest gives the request (its `request_id`), for stored history.
    pub request_id: String,
    pub transport: Transport,
    pub delivery: Delivery,
    pub user_agent: &'static str,
    /// The `CloudFront-Viewer-Country` header.
    pub country: &'static str,
    /// The signed-in customer (the verified ID token's subject): the request
    /// goes to the signed-in route with a bearer token.
    pub customer: Option<String>,
    pub events: Vec<SentEvent>,
}

/// One event as the SDK sends it: an object of the event contract (the SDK
/// sets no `user_id`, `device` or `geo`: ingest derives them). Times are the
/// device's clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentEvent {
    pub event_id: Uuid,
    #[serde(serialize_with = "millis_utc")]
    pub ts: DateTime<Utc>,
    /// When the request carrying it left (each request sets its own).
    #[serde(serialize_with = "millis_utc")]
    pub sent_at: DateTime<Utc>,
    pub event_type: EventType,
    pub session_id: Uuid,
    pub anonymous_id: Uuid,
    pub page_url: String,
    /// `null` on a page nothing linked to.
    pub referrer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecom: Option<Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub props: Map<String, Value>,
}

/// RFC 3339 in UTC with milliseconds, as `Date.prototype.toISOString` writes.
fn millis_utc<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// The anonymous route; the signed-in one adds `/signed-in`.
pub const EVENTS_PATH: &str = "/v1/events";
pub const SIGNED_IN_PATH: &str = "/v1/events/signed-in";

impl Request {
    /// The body the SDK posts: a JSON array of events.
    pub fn body(&self) -> String {
        serde_json::to_string(&self.events).unwrap_or_default()
    }

    pub fn path(&self) -> &'static str {
        if self.customer.is_some() {
            SIGNED_IN_PATH
        } else {
            EVENTS_PATH
        }
    }

    /// The demo shop's unsigned ID token for the signed-in customer (what
    /// `sbwctl dev ingest --dev-accept-unverified-jwt` reads; API Gateway
    /// verifies real ones).
    pub fn id_token(&self) -> Option<String> {
        use base64::Engine;
        let encode = |value: Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        let customer = self.customer.as_ref()?;
        let expires = self.sent_at.timestamp() + 3600;
        Some(format!(
            "{}.{}.",
            encode(serde_json::json!({"alg": "none", "typ": "JWT"})),
            encode(serde_json::json!({"sub": customer, "token_use": "id", "exp": expires}))
        ))
    }

    pub fn event_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.events.iter().map(|e| e.event_id)
    }
}

/// An event waiting in the SDK's queue.
struct Queued {
    event: SentEvent,
    /// Its size as the SDK estimates it (JSON text plus room for `sent_at`).
    bytes: usize,
}

/// The SDK on one page after another of one visit.
pub(crate) struct Tracker {
    visitor: Visitor,
    page_url: Option<String>,
    page_referrer: Option<String>,
    queue: Vec<Queued>,
    /// When the flush timer fires, if one is set.
    flush_due: Option<DateTime<Utc>>,
    offline_since: Option<DateTime<Utc>>,
    last_event_at: Option<DateTime<Utc>>,
    requests: Vec<Request>,
}

/// What the SDK records: the event type and its `ecom` and `props`.
pub(crate) struct Record {
    pub event_type: EventType,
    pub ecom: Option<Value>,
    pub props: Map<String, Value>,
}

impl Record {
    pub fn new(event_type: EventType) -> Record {
        Record {
            event_type,
            ecom: None,
            props: Map::new(),
        }
    }

    pub fn ecom(mut self, ecom: Value) -> Record {
        self.ecom = Some(ecom);
        self
    }

    pub fn prop(mut self, key: &str, value: impl Into<Value>) -> Record {
        self.props.insert(key.to_owned(), value.into());
        self
    }
}

impl Tracker {
    /// The SDK starting on the visit's first page, which `referrer` linked to.
    pub fn new(visitor: Visitor, referrer: Option<String>) -> Tracker {
        Tracker {
            visitor,
            page_url: None,
            page_referrer: referrer,
            queue: Vec::new(),
            flush_due: None,
            offline_since: None,
            last_event_at: None,
            requests: Vec::new(),
        }
    }

    /// The page the visitor is on.
    pub fn page_url(&self) -> Option<&str> {
        self.page_url.as_deref()
    }

    /// A page view of `url`: its referrer is the previous page (or, for the
    /// first page, the site that linked to it).
    pub fn page(&mut self, rng: &mut StdRng, at: DateTime<Utc>, url: String) {
        if let Some(previous) = self.page_url.take() {
            self.page_referrer = Some(previous);
        }
        self.page_url = Some(url);
        self.record(rng, at, Record::new(EventType::PageView));
    }

    pub fn record(&mut self, rng: &mut StdRng, at: DateTime<Utc>, record: Record) {
        self.record_all(rng, at, vec![record]);
    }

    /// Events recorded together (a list's impressions): one enqueue, so they
    /// go out in one request.
    pub fn record_all(&mut self, rng: &mut StdRng, at: DateTime<Utc>, records: Vec<Record>) {
        self.timer(rng, at);
        for record in records {
            let event = self.event(rng, at, record);
            // What the SDK counts: the JSON text, and room for `sent_at`.
            let bytes = serde_json::to_vec(&event).map_or(0, |json| json.len()) + 40;
            self.queue.push(Queued { event, bytes });
        }
        if self.queue.len() >= BATCH_SIZE {
            self.flush(rng, at, Transport::Fetch);
        } else if self.flush_due.is_none() && !self.queue.is_empty() {
            self.flush_due = Some(at + FLUSH_INTERVAL);
        }
    }

    fn event(&mut self, rng: &mut StdRng, at: DateTime<Utc>, record: Record) -> SentEvent {
        let session_id = match self.visitor.session {
            Some((id, last)) if at - last < SESSION_IDLE && at >= last => id,
            _ => uuid(rng),
        };
        self.visitor.session = Some((session_id, at));
        self.last_event_at = Some(at);
        let device_time = at + self.visitor.clock_skew;
        SentEvent {
            event_id: uuid(rng),
            ts: device_time,
            // Set again when a request carries it.
            sent_at: device_time,
            event_type: record.event_type,
            session_id,
            anonymous_id: self.visitor.anonymous_id,
            page_url: self.page_url.clone().unwrap_or_default(),
            referrer: self.page_referrer.clone(),
            ecom: record.ecom,
            props: record.props,
        }
    }

    /// The flush timer fires if it is due by `now`.
    fn timer(&mut self, rng: &mut StdRng, now: DateTime<Utc>) {
        if let Some(due) = self.flush_due.filter(|&due| due <= now) {
            self.flush(rng, due, Transport::Fetch);
        }
    }

    /// The page goes away at `at` (a link followed, the tab closed): what
    /// waits is handed to the browser to deliver.
    pub fn leave(&mut self, rng: &mut StdRng, at: DateTime<Utc>) {
        self.timer(rng, at);
        self.flush(rng, at, Transport::Beacon);
    }

    /// The connection drops at `at`; nothing is sent any more.
    pub fn go_offline(&mut self, at: DateTime<Utc>) {
        self.offline_since = Some(at);
    }

    pub fn is_offline(&self) -> bool {
        self.offline_since.is_some()
    }

    /// Sends every waiting event, in as many requests as the budgets take.
    fn flush(&mut self, rng: &mut StdRng, at: DateTime<Utc>, transport: Transport) {
        self.flush_due = None;
        if self.offline_since.is_some() {
            return;
        }
        let mut sent_at = at;
        while !self.queue.is_empty() {
            let batch = self.next_batch(transport);
            self.send(rng, sent_at, transport, Delivery::OnTime, batch);
            sent_at += millis(rng, 5..40);
        }
    }

    fn next_batch(&mut self, transport: Transport) -> Vec<SentEvent> {
        let budget = match transport {
            Transport::Fetch => MAX_FETCH_BYTES,
            Transport::Beacon => MAX_BEACON_BYTES,
        };
        let mut bytes = 2;
        let mut take = 0;
        for queued in &self.queue {
            if take == sbw_contract::limits::MAX_EVENTS_PER_REQUEST
                || (take > 0 && bytes + queued.bytes > budget)
            {
                break;
            }
            bytes += queued.bytes;
            take += 1;
        }
        self.queue.drain(..take).map(|q| q.event).collect()
    }

    /// One request of `events`; a fetch whose answer is lost is sent again
    /// 1-2 s later (the SDK's first back-off), with a new `sent_at`.
    fn send(
        &mut self,
        rng: &mut StdRng,
        sent_at: DateTime<Utc>,
        transport: Transport,
        delivery: Delivery,
        events: Vec<SentEvent>,
    ) {
        let network = self.visitor.network();
        let request = self.request(rng, sent_at, transport, delivery, &events);
        self.requests.push(request);
        if transport == Transport::Fetch && rng.random_bool(network.lost_answers) {
            let again = sent_at + millis(rng, 1_000..2_000);
            let retry = self.request(rng, again, transport, Delivery::Retry, &events);
            self.requests.push(retry);
        }
    }

    fn request(
        &self,
        rng: &mut StdRng,
        sent_at: DateTime<Utc>,
        transport: Transport,
        delivery: Delivery,
        events: &[SentEvent],
    ) -> Request {
        let (low, high) = self.visitor.network().latency_ms;
        let device_sent_at = sent_at + self.visitor.clock_skew;
        Request {
            sent_at,
            received_at: sent_at + millis(rng, low..high),
            request_id: uuid(rng).to_string(),
            transport,
            delivery,
            user_agent: self.visitor.user_agent,
            country: self.visitor.country,
            customer: self.visitor.customer.clone(),
            events: events
                .iter()
                .map(|event| SentEvent {
                    sent_at: device_sent_at,
                    ..event.clone()
                })
                .collect(),
        }
    }

    /// The visit is over: its requests, and the visitor as the browser
    /// keeps them. What an offline page left waiting is sent `comes_back`
    /// after the last event, when the visitor comes back; never otherwise.
    pub fn finish(
        mut self,
        rng: &mut StdRng,
        comes_back: Option<Duration>,
    ) -> (Vec<Request>, Visitor) {
        if let (Some(_), Some(back), Some(last)) =
            (self.offline_since, comes_back, self.last_event_at)
        {
            let mut sent_at = last + back;
            while !self.queue.is_empty() {
                let batch = self.next_batch(Transport::Fetch);
                let request = self.request(rng, sent_at, Transport::Fetch, Delivery::Late, &batch);
                self.requests.push(request);
                sent_at += millis(rng, 5..40);
            }
        }
        (self.requests, self.visitor)
    }
}
