//! An HTTP proxy in front of an AWS endpoint (moto) that injects the
//! faults AWS shows on a bad day: `503 SlowDown`, `500 InternalError`,
//! throttling, a request that is never answered, a connection reset before
//! or after the request reached the service. The functions reach it through
//! `AWS_ENDPOINT_URL` like any endpoint; a test changes the plan while they
//! run and reads back what the proxy did.
//!
//! Requests that no rule matches are forwarded unchanged and answered with
//! the service's answer.
//!
//! Over 400 lines on purpose: the rules, the proxy and its record of what it
//! did are one peer; every test that uses it sets rules and reads the record.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
pub use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::connections::{reset_on_close, serve_each};

/// What the proxy does to a request a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers with this status and AWS error code, in the body format of
    /// the request's protocol (XML, or JSON for `x-amz-json` requests); the
    /// service never sees the request.
    Error { status: StatusCode, code: String },
    /// Reads the request and never answers (the connection stays open).
    Stall,
    /// Resets the connection without forwarding the request.
    Reset,
    /// Forwards the request, then resets the connection instead of
    /// answering: the service acted, the client cannot know.
    ResetAfterForwarding,
}

impl Fault {
    /// S3's throttling answer.
    pub fn slow_down() -> Fault {
        Fault::error(StatusCode::SERVICE_UNAVAILABLE, "SlowDown")
    }

    pub fn internal_error() -> Fault {
        Fault::error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError")
    }

    /// The throttling answer of the JSON and query services (SQS, SSM).
    pub fn throttling() -> Fault {
        Fault::error(StatusCode::BAD_REQUEST, "ThrottlingException")
    }

    pub fn error(status: StatusCode, code: &str) -> Fault {
        Fault::Error {
            status,
            code: code.to_owned(),
        }
    }
}

/// Which requests a rule applies to; every condition set must hold.
#[derive(Debug, Clone, Default)]
pub struct Match {
    service: Option<String>,
    method: Option<Method>,
    path_prefix: Option<String>,
    query_contains: Option<String>,
}

impl Match {
    /// Requests signed for `service` (`s3`, `sqs`, `ssm`: the service of
    /// the SigV4 credential scope).
    pub fn service(service: &str) -> Match {
        Match {
            service: Some(service.to_owned()),
            ..Match::default()
        }
    }

    /// Any request.
    pub fn any() -> Match {
        Match::default()
    }

    pub fn method(mut self, method: Method) -> Match {
        self.method = Some(method);
        self
    }

    /// Requests whose path (percent-decoded) starts with `prefix`; with
    /// path-style S3 addressing, `/<bucket>/<key prefix>`.
    pub fn path_prefix(mut self, prefix: &str) -> Match {
        self.path_prefix = Some(prefix.to_owned());
        self
    }

    /// Requests whose query string contains `text` (`list-type=2`: S3 listings).
    pub fn query_contains(mut self, text: &str) -> Match {
        self.query_contains = Some(text.to_owned());
        self
    }

    fn matches(&self, request: &RequestHead) -> bool {
        self.service
            .as_ref()
            .is_none_or(|s| request.service.as_deref() == Some(s.as_str()))
            && self.method.as_ref().is_none_or(|m| *m == request.method)
            && self
                .path_prefix
                .as_ref()
                .is_none_or(|p| request.path.starts_with(p.as_str()))
            && self
                .query_contains
                .as_ref()
                .is_none_or(|q| request.query.contains(q.as_str()))
    }
}

/// A fault for matching requests: every `every`-th of them (1: all), at
/// most `times` times.
#[derive(Debug, Clone)]
pub struct Rule {
    when: Match,
    fault: Fault,
    every: usize,
    times: Option<usize>,
    matched: usize,
    applied: usize,
}

impl Rule {
    /// `fault` for every request `when` matches.
    pub fn new(when: Match, fault: Fault) -> Rule {
        Rule {
            when,
            fault,
            every: 1,
            times: None,
            matched: 0,
            applied: 0,
        }
    }

    /// Only the `n`-th, `2n`-th, … matching request.
    pub fn every(mut self, n: usize) -> Rule {
        self.every = n.max(1);
        self
    }

    /// At most `n` times; then the rule lets requests through.
    pub fn times(mut self, n: usize) -> Rule {
        self.times = Some(n);
        self
    }

    /// The same requests and pattern with another fault (counted afresh).
    pub fn with_fault(&self, fault: Fault) -> Rule {
        Rule {
            fault,
            matched: 0,
            applied: 0,
            ..self.clone()
        }
    }

    /// Counts a matching request; the fault if this one gets it.
    fn apply(&mut self) -> Option<Fault> {
        if self.times.is_some_and(|limit| self.applied >= limit) {
            return None;
        }
        self.matched += 1;
        if !self.matched.is_multiple_of(self.every) {
            return None;
        }
        self.applied += 1;
        Some(self.fault.clone())
    }
}

/// What the proxy did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests forwarded and answered with the service's answer.
    pub forwarded: usize,
    /// Requests answered with an injected error status.
    pub errors: usize,
    pub stalled: usize,
    /// Connections reset before the request was forwarded.
    pub reset: usize,
    /// Connections reset after the service got the request.
    pub reset_after_forwarding: usize,
}

impl Counts {
    /// Every fault injected.
    pub fn faults(&self) -> usize {
        self.errors + self.stalled + self.reset + self.reset_after_forwarding
    }
}

#[derive(Debug, Default)]
struct Counters {
    forwarded: AtomicUsize,
    errors: AtomicUsize,
    stalled: AtomicUsize,
    reset: AtomicUsize,
    reset_after_forwarding: AtomicUsize,
}

impl Counters {
    fn snapshot(&self) -> Counts {
        let read = |counter: &AtomicUsize| counter.load(Ordering::Relaxed);
        Counts {
            forwarded: read(&self.forwarded),
            errors: read(&self.errors),
            stalled: read(&self.stalled),
            reset: read(&self.reset),
            reset_after_forwarding: read(&self.reset_after_forwarding),
        }
    }
}

/// The parts of a request the rules look at.
struct RequestHead {
    service: Option<String>,
    method: Method,
    path: String,
    query: String,
}

impl RequestHead {
    fn of(request: &Request<Incoming>) -> RequestHead {
        RequestHead {
            service: signed_service(request.headers()),
            method: request.method().clone(),
            path: percent_encoding::percent_decode_str(request.uri().path())
                .decode_utf8_lossy()
                .into_owned(),
            query: request.uri().query().unwrap_or_default().to_owned(),
        }
    }
}

/// The service of a SigV4 `Authorization` header's credential scope
/// (`Credential=AKID/20261201/us-east-1/s3/aws4_request`).
fn signed_service(headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_owned)
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the fault proxy could not listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("the fault proxy could not build its HTTP client: {0}")]
    Client(reqwest::Error),
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    rules: Mutex<Vec<Rule>>,
    counters: Counters,
}

/// The proxy, listening on a free port of the loopback; stops when dropped.
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://host:port`) on the current runtime.
    pub async fn start(upstream: &str) -> Result<FaultProxy, ProxyError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(ProxyError::Bind)?;
        let address = listener.local_addr().map_err(ProxyError::Bind)?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ProxyError::Client)?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            rules: Mutex::new(Vec::new()),
            counters: Counters::default(),
        });
        let task = tokio::spawn({
            let shared = shared.clone();
            serve_each(listener, move |stream| {
                serve_connection(stream, shared.clone())
            })
        });
        Ok(FaultProxy {
            url: format!("http://{address}"),
            shared,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a rule. A request gets the fault of the first rule that
    /// matches it and applies to it (see [`Rule::every`], [`Rule::times`]).
    pub fn inject(&self, rule: Rule) {
        self.rules().push(rule);
    }

    /// Removes every rule: requests are forwarded again.
    pub fn clear(&self) {
        self.rules().clear();
    }

    pub fn counts(&self) -> Counts {
        self.shared.counters.snapshot()
    }

    fn rules(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.shared.rules.lock().expect("the fault plan lock")
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Its connections are in the task's JoinSet and end with it.
        self.task.abort();
    }
}

/// Serves one client connection until it closes, or resets it when a
/// request's fault says so.
async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let reset = Arc::new(Notify::new());
    let service = {
        let reset = reset.clone();
        hyper::service::service_fn(move |request| {
            let (shared, reset) = (shared.clone(), reset.clone());
            async move { Ok::<_, std::convert::Infallible>(answer(request, &shared, &reset).await) }
        })
    };
    let reset_requested = {
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(&mut stream), service);
        tokio::select! {
            _ = connection => false,
            () = reset.notified() => true,
        }
    };
    if reset_requested {
        reset_on_close(&stream);
    }
}

async fn answer(
    request: Request<Incoming>,
    shared: &Shared,
    reset: &Notify,
) -> Response<Full<Bytes>> {
    let head = RequestHead::of(&request);
    let fault = shared
        .rules
        .lock()
        .expect("the fault plan lock")
        .iter_mut()
        .filter(|rule| rule.when.matches(&head))
        .find_map(Rule::apply);
    let counters = &shared.counters;
    match fault {
        None => {
            let response = forward(request, shared).await;
            counters.forwarded.fetch_add(1, Ordering::Relaxed);
            response
        }
        Some(Fault::Error { status, code }) => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            error_response(status, &code, is_json_protocol(request.headers()))
        }
        Some(Fault::Stall) => {
            counters.stalled.fetch_add(1, Ordering::Relaxed);
            std::future::pending().await
        }
        Some(Fault::Reset) => {
            counters.reset.fetch_add(1, Ordering::Relaxed);
            reset.notify_one();
            std::future::pending().await
        }
        Some(Fault::ResetAfterForwarding) => {
            forward(request, shared).await;
            counters
                .reset_after_forwarding
                .fetch_add(1, Ordering::Relaxed);
            reset.notify_one();
            std::future::pending().await
        }
    }
}

/// Headers that describe one hop's connection, not the message.
const HOP_BY_HOP: [http::HeaderName; 4] = [
    http::header::CONNECTION,
    http::header::TRANSFER_ENCODING,
    http::header::TE,
    http::header::UPGRADE,
];

/// The upstream's answer to `request`, or a 502 saying why there is none.
async fn forward(request: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => return bad_gateway(&format!("reading the request body: {error}")),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut headers = parts.headers;
    for name in HOP_BY_HOP.iter().chain([&http::header::CONTENT_LENGTH]) {
        headers.remove(name);
    }
    let upstream = shared
        .client
        .request(parts.method, format!("{}{path}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(response) => response,
        Err(error) => return bad_gateway(&format!("forwarding to {}: {error}", shared.upstream)),
    };
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    let body = match upstream.bytes().await {
        Ok(body) => body,
        Err(error) => return bad_gateway(&format!("reading the upstream's answer: {error}")),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn bad_gateway(reason: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("fault proxy: {reason}"))));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

/// Whether the request speaks an AWS JSON protocol (SQS, SSM), whose errors
/// are JSON; the others (S3's REST-XML, the query protocols) answer XML.
fn is_json_protocol(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-amz-json"))
}

fn error_response(status: StatusCode, code: &str, json: bool) -> Response<Full<Bytes>> {
    let message = "injected by the test's fault proxy";
    let (content_type, body) = if json {
        (
            "application/x-amz-json-1.0",
            serde_json::json!({"__type": code, "message": message}).to_string(),
        )
    } else {
        (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
            ),
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(code) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", code);
    }
    response
}
