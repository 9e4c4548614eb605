//! The ingest handler, shared by the Lambda and the local server: one
//! request in, every valid event stored exactly once per container, every
//! invalid one answered with its index, field path and reason.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Instant;

use chrono::Utc;
use http::{HeaderValue, Method, StatusCode};
use lru::LruCache;
use sbw_contract::enrich::{parse_user_agent, UserAgentFacts};
use sbw_contract::rawkey::{object_key, ObjectKind};
use sbw_contract::{
    enrich, parse_batch, validate_event, BatchError, BatchHasher, FieldError, IdentifierHasher,
    Json, RejectedEvent, RequestMeta,
};
use serde::Serialize;
use uuid::Uuid;

use crate::access::{is_allowed_method, AccessPolicy, Route};
use crate::dead_letter::DeadLetter;
use crate::front_door::FrontDoor;
use crate::metrics::Metrics;
use crate::recent::RecentIds;
use crate::request::{IngestRequest, IngestResponse, Refusal};
use sbw_rawstore::ndjson;
use sbw_rawstore::RawStore;

/// A container remembers the event ids of its last 50,000 to 100,000 stored
/// events to answer retries.
const RECENT_IDS_PER_GENERATION: usize = 50_000;
/// How many distinct user agents one container remembers parsed; visitors
/// share a handful of browser builds, and parsing one costs far more than an event.
const PARSED_USER_AGENTS: usize = 4_096;

/// Seconds a client should wait before retrying after a storage failure.
const RETRY_AFTER_SECS: &str = "30";

pub struct Ingest {
    /// Who may come in at all; [`FrontDoor::ThisServer`] unless told.
    door: FrontDoor,
    access: AccessPolicy,
    hasher: IdentifierHasher,
    store: RawStore,
    dead_letter: DeadLetter,
    /// Where storage failures are counted; `None` outside Lambda.
    metrics: Option<Metrics>,
    recent: Mutex<RecentIds>,
    user_agents: Mutex<LruCache<String, UserAgentFacts>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Accepted,
    /// Already stored by an earlier request to this container.
    Duplicate,
    Rejected,
}

#[derive(Debug, Serialize)]
pub struct EventResult {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    pub status: EventStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldError>,
}

#[derive(Debug, Serialize)]
pub struct BatchResponse {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<EventResult>,
}

/// What one request did, for its log line.
#[derive(Debug, Default)]
struct Outcome {
    accepted: usize,
    duplicates: usize,
    rejected: usize,
    error_code: Option<&'static str>,
}

impl Ingest {
    pub fn new(
        access: AccessPolicy,
        hasher: IdentifierHasher,
        store: RawStore,
        dead_letter: DeadLetter,
    ) -> Self {
        Ingest {
            door: FrontDoor::ThisServer,
            access,
            hasher,
            store,
            dead_letter,
            metrics: None,
            recent: Mutex::new(RecentIds::new(RECENT_IDS_PER_GENERATION)),
            user_agents: Mutex::new(LruCache::new(
                NonZeroUsize::new(PARSED_USER_AGENTS).expect("non-zero"),
            )),
        }
    }

    /// Takes requests only through `door` (CloudFront with its origin secret).
    pub fn with_front_door(mut self, door: FrontDoor) -> Self {
        self.door = door;
        self
    }

    /// Counts storage failures in `metrics` (EMF lines on stdout).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Answers one request. Never fails: every problem is a response.
    pub async fn handle(&self, request: IngestRequest) -> IngestResponse {
        let started = Instant::now();
        let (mut response, outcome) = match self.route(&request).await {
            Ok(answer) => answer,
            Err(refusal) => {
                let outcome = Outcome {
                    error_code: Some(refusal.code),
                    ..Outcome::default()
                };
                (IngestResponse::refusal(&refusal), outcome)
            }
        };
        if request.method != Method::OPTIONS {
            self.access
                .add_cors_headers(&request, &mut response.headers);
        }
        if response.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers.insert(
                http::header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        tracing::info!(
            request_id = %request.request_id,
            method = %request.method,
            path = %request.path,
            status = response.status.as_u16(),
            accepted = outcome.accepted,
            duplicates = outcome.duplicates,
            rejected = outcome.rejected,
            error_code = outcome.error_code.unwrap_or(""),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "ingest request"
        );
        response
    }

    async fn route(&self, request: &IngestRequest) -> Result<(IngestResponse, Outcome), Refusal> {
        self.door.check(request).await?;
        let route = Route::from_path(&request.path).ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!(
                    "no such endpoint: {}; send events to POST /v1/events",
                    request.path
                ),
            )
        })?;
        if request.method == Method::OPTIONS {
            return Ok((self.access.preflight(request)?, Outcome::default()));
        }
        if !is_allowed_method(&request.method) {
            return Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} is not allowed here; use POST", request.method),
            ));
        }
        self.access.authorize(route, request)?;
        let body = crate::body::decode(request)?;
        let values = parse_batch(&body).map_err(|error| {
            let (status, code) = match error {
                BatchError::TooManyEvents { .. } => {
                    (StatusCode::PAYLOAD_TOO_LARGE, "too_many_events")
                }
                BatchError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
                BatchError::NotObjectOrArray | BatchError::Empty => {
                    (StatusCode::BAD_REQUEST, "bad_batch")
                }
            };
            Refusal::new(status, code, error.to_string())
        })?;
        let meta = RequestMeta {
            request_id: request.request_id.clone(),
            received_at: Utc::now(),
            user_agent: request
                .header("user-agent")
                .map(|ua| self.parse_user_agent(ua))
                .unwrap_or_default(),
            // Past the front door: set by CloudFront (or, locally, this server's clients).
            viewer_country: request
                .header("cloudfront-viewer-country")
                .map(str::to_owned),
            verified_subject: match route {
                Route::SignedIn => request.verified_subject.clone(),
                Route::Anonymous => None,
            },
        };
        self.ingest_batch(&values, &meta).await
    }

    async fn ingest_batch(
        &self,
        values: &[Json<'_>],
        meta: &RequestMeta,
    ) -> Result<(IngestResponse, Outcome), Refusal> {
        let mut results = Vec::with_capacity(values.len());
        // Stored lines run to about a kilobyte each.
        let mut lines = Vec::with_capacity(values.len() * 1024);
        let mut stored_ids = Vec::new();
        let mut rejects = Vec::new();
        let mut hasher = BatchHasher::new(&self.hasher);
        for (index, value) in values.iter().enumerate() {
            let result = match validate_event(value, meta.received_at) {
                Err(errors) => {
                    let event_id = value
                        .get("event_id")
                        .and_then(|v| v.as_str())
                        .and_then(|s| Uuid::try_parse(s).ok());
                    ndjson::push_line(
                        &mut rejects,
                        &RejectedEvent {
                            received_at: meta.received_at,
                            request_id: meta.request_id.clone(),
                            index,
                            event_id,
                            event_type: value
                                .get("event_type")
                                .and_then(|v| v.as_str())
                                .map(|s| s.chars().take(32).collect()),
                            errors: errors.clone(),
                        },
                    );
                    EventResult {
                        index,
                        event_id,
                        status: EventStatus::Rejected,
                        errors,
                        warnings: vec![],
                    }
                }
                Ok(event)
                    if stored_ids.contains(&event.event_id)
                        || self.seen_recently(&event.event_id) =>
                {
                    EventResult {
                        index,
                        event_id: Some(event.event_id),
                        status: EventStatus::Duplicate,
                        errors: vec![],
                        warnings: vec![],
                    }
                }
                Ok(event) => {
                    let (stored, warnings) = enrich(event, meta, &mut hasher);
                    stored_ids.push(stored.event_id);
                    ndjson::push_line(&mut lines, &stored);
                    EventResult {
                        index,
                        event_id: Some(stored.event_id),
                        status: EventStatus::Accepted,
                        errors: vec![],
                        warnings,
                    }
                }
            };
            results.push(result);
        }

        if !lines.is_empty() {
            self.store_events(meta, &lines).await?;
            let mut recent = self.recent.lock().expect("recent-id cache lock");
            for id in &stored_ids {
                recent.insert(*id);
            }
        }
        if !rejects.is_empty() {
            self.store_rejects(meta, &rejects).await;
        }

        let count = |status| results.iter().filter(|r| r.status == status).count();
        let outcome = Outcome {
            accepted: count(EventStatus::Accepted),
            duplicates: count(EventStatus::Duplicate),
            rejected: count(EventStatus::Rejected),
            error_code: None,
        };
        // A batch in which nothing was kept is the client's mistake: 400, so it is not retried.
        let status = if outcome.accepted + outcome.duplicates == 0 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::ACCEPTED
        };
        let outcome = Outcome {
            error_code: (status == StatusCode::BAD_REQUEST).then_some("all_events_rejected"),
            ..outcome
        };
        let body = BatchResponse {
            accepted: outcome.accepted,
            duplicates: outcome.duplicates,
            rejected: outcome.rejected,
            results,
        };
        Ok((IngestResponse::json(status, &body), outcome))
    }

    /// Whether an earlier request to this container stored the event; the
    /// lock is held for the look-up only, not across a batch.
    fn seen_recently(&self, event_id: &Uuid) -> bool {
        self.recent
            .lock()
            .expect("recent-id cache lock")
            .contains(event_id)
    }

    fn parse_user_agent(&self, user_agent: &str) -> UserAgentFacts {
        if let Some(facts) = self
            .user_agents
            .lock()
            .expect("user-agent cache lock")
            .get(user_agent)
        {
            return facts.clone();
        }
        let facts = parse_user_agent(user_agent);
        self.user_agents
            .lock()
            .expect("user-agent cache lock")
            .put(user_agent.to_owned(), facts.clone());
        facts
    }

    /// Writes the accepted events; if the raw store fails, dead-letters them
    /// and tells the client to retry (the ETL dedupes by event id).
    async fn store_events(&self, meta: &RequestMeta, lines: &[u8]) -> Result<(), Refusal> {
        let key = object_key(ObjectKind::Events, meta.received_at, Uuid::new_v4());
        let Err(store_error) = self.store.put(&key, ndjson::gzip(lines)).await else {
            return Ok(());
        };
        tracing::error!(request_id = %meta.request_id, error = %store_error, "raw store write failed; dead-lettering");
        let dead_lettered = match self
            .dead_letter
            .send(&meta.request_id, &key, &store_error.to_string(), lines)
            .await
        {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(request_id = %meta.request_id, error = %error, "dead-letter write failed too; the client must retry");
                false
            }
        };
        if let Some(metrics) = &self.metrics {
            println!("{}", metrics.storage_failure(dead_lettered));
        }
        let message = if dead_lettered {
            "storage is unavailable; the events were queued for recovery, retry later (duplicates are removed)"
        } else {
            "storage is unavailable; retry later"
        };
        Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            message,
        ))
    }

    /// Rejects are diagnostics: a failure to store them is logged, not returned.
    async fn store_rejects(&self, meta: &RequestMeta, rejects: &[u8]) {
        let key = object_key(ObjectKind::Rejects, meta.received_at, Uuid::new_v4());
        if let Err(error) = self.store.put(&key, ndjson::gzip(rejects)).await {
            tracing::warn!(request_id = %meta.request_id, error = %error, "could not store the rejected-event record");
        }
    }
}
