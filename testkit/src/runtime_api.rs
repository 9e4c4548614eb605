//! A local implementation of the AWS Lambda Runtime API, the HTTP protocol a
//! `provided.al2023` bootstrap speaks with Lambda: it long-polls
//! `GET /2018-06-01/runtime/invocation/next` for an event and posts the
//! answer to `.../invocation/{id}/response` or `.../invocation/{id}/error`,
//! or reports a failed start to `/2018-06-01/runtime/init/error`.
//!
//! [`RuntimeApi::invoke`] plays the Lambda service: it queues one event and
//! waits for the function's answer. [`FunctionProcess`] runs the function's
//! binary and keeps what it prints, as CloudWatch Logs would.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::{AWS_REGION, FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY};

mod process;
pub use process::FunctionProcess;

/// Lambda's limit on a synchronous invocation's event and response.
const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The memory size the functions are given, as Lambda reports it.
const FUNCTION_MEMORY_MB: &str = "256";

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum InvocationOutcome {
    /// The JSON the function posted to `/invocation/{id}/response`.
    Response(Value),
    /// What the function posted to `/invocation/{id}/error`.
    Error(FunctionError),
}

/// An invocation error reported by the function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    /// The `Lambda-Runtime-Function-Error-Type` header, when sent.
    pub error_type: Option<String>,
    /// The posted body: JSON with `errorType` and `errorMessage`, or the raw text.
    pub body: Value,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("could not listen on 127.0.0.1: {0}")]
    Bind(String),
    #[error("the function reported an initialization error: {0}")]
    InitFailed(Value),
    #[error("no answer to invocation {request_id} within {timeout:?}")]
    Timeout {
        request_id: String,
        timeout: Duration,
    },
    #[error("the function did not poll for an invocation within {0:?}")]
    NoPoll(Duration),
    #[error("the response to invocation {request_id} is not JSON: {message}")]
    ResponseNotJson { request_id: String, message: String },
}

struct Invocation {
    request_id: String,
    payload: Value,
    deadline: SystemTime,
}

type Answer = Result<InvocationOutcome, RuntimeApiError>;

struct Shared {
    function_arn: String,
    queue: mpsc::UnboundedSender<Invocation>,
    /// Polled by one `/next` request at a time.
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    /// Invocations sent out and not answered yet.
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    first_poll: watch::Sender<Option<Instant>>,
    init_error: OnceLock<Value>,
}

impl Shared {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Answer>>> {
        self.waiting.lock().expect("runtime API state lock")
    }

    fn complete(&self, request_id: &str, answer: Answer) -> Response {
        match self.waiting().remove(request_id) {
            Some(invoker) => {
                // The invoker may have given up (timeout); the function still did its job.
                let _ = invoker.send(answer);
                json_response(StatusCode::ACCEPTED, json!({ "status": "OK" }))
            }
            None => json_response(
                StatusCode::BAD_REQUEST,
                json!({ "errorType": "InvalidRequestID", "errorMessage": format!("no pending invocation {request_id}") }),
            ),
        }
    }
}

/// A running Runtime API on `127.0.0.1:<free port>`; stops when dropped.
pub struct RuntimeApi {
    address: SocketAddr,
    function_name: String,
    invocation_timeout: Duration,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts serving the function `function_name`; each invocation must be
    /// answered within `invocation_timeout` (also its `Lambda-Runtime-Deadline-Ms`).
    pub async fn start(
        function_name: &str,
        invocation_timeout: Duration,
    ) -> Result<Self, RuntimeApiError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| RuntimeApiError::Bind(e.to_string()))?;
        let address = listener
            .local_addr()
            .map_err(|e| RuntimeApiError::Bind(e.to_string()))?;
        let (queue, next) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: format!(
                "arn:aws:lambda:{AWS_REGION}:000000000000:function:{function_name}"
            ),
            queue,
            next: tokio::sync::Mutex::new(next),
            waiting: Mutex::new(HashMap::new()),
            first_poll: watch::Sender::new(None),
            init_error: OnceLock::new(),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{request_id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{request_id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            // Serving only ends with an accept error on a loopback listener; the tests then time out.
            let _ = axum::serve(listener, router).await;
        });
        Ok(RuntimeApi {
            address,
            function_name: function_name.to_owned(),
            invocation_timeout,
            shared,
            server,
        })
    }

    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// A command that runs `bootstrap` as Lambda does: a clean environment
    /// with the Lambda variables, this Runtime API, the region and fake
    /// credentials. Add the function's own variables, then spawn; the process
    /// is killed when its `Child` is dropped.
    pub fn command(&self, bootstrap: impl AsRef<OsStr>) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(bootstrap);
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("TZ", ":UTC")
            .env("LANG", "en_US.UTF-8")
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", FUNCTION_MEMORY_MB)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.function_name),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]0123456789abcdef",
            )
            .env("AWS_REGION", AWS_REGION)
            .env("AWS_DEFAULT_REGION", AWS_REGION)
            .env("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
            .env("AWS_SESSION_TOKEN", "fake-session-token")
            .kill_on_drop(true);
        command
    }

    /// Sends `payload` to the function and waits for its answer.
    pub async fn invoke(&self, payload: Value) -> Result<InvocationOutcome, RuntimeApiError> {
        let request_id = Uuid::new_v4().to_string();
        let (invoker, answer) = oneshot::channel();
        self.shared.waiting().insert(request_id.clone(), invoker);
        // Checked after registering: a concurrent init error either sees the
        // registration and answers it, or has already been recorded here.
        if let Some(error) = self.shared.init_error.get() {
            self.shared.waiting().remove(&request_id);
            return Err(RuntimeApiError::InitFailed(error.clone()));
        }
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            deadline: SystemTime::now() + self.invocation_timeout,
        };
        self.shared
            .queue
            .send(invocation)
            .expect("the queue's receiver lives as long as the API");
        let timeout = || RuntimeApiError::Timeout {
            request_id: request_id.clone(),
            timeout: self.invocation_timeout,
        };
        match tokio::time::timeout(self.invocation_timeout, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_dropped)) => Err(timeout()),
            Err(_elapsed) => {
                self.shared.waiting().remove(&request_id);
                Err(timeout())
            }
        }
    }

    /// When the function first polled `/next`: its cold start ends there.
    pub async fn wait_for_first_poll(&self, timeout: Duration) -> Result<Instant, RuntimeApiError> {
        let mut first_poll = self.shared.first_poll.subscribe();
        let polled = tokio::time::timeout(timeout, first_poll.wait_for(Option::is_some))
            .await
            .map_err(|_| RuntimeApiError::NoPoll(timeout))?
            .expect("the sender lives as long as the API");
        Ok(polled.expect("waited for Some"))
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("generated header values are ASCII")
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    let now = Instant::now();
    shared.first_poll.send_if_modified(|first| match first {
        Some(_) => false,
        None => {
            *first = Some(now);
            true
        }
    });
    let invocation = shared
        .next
        .lock()
        .await
        .recv()
        .await
        .expect("the queue's sender lives in the shared state");
    let deadline_ms = invocation
        .deadline
        .duration_since(UNIX_EPOCH)
        .expect("deadlines are after 1970")
        .as_millis();
    let trace_id = Uuid::new_v4().simple().to_string();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "lambda-runtime-aws-request-id",
        header_value(&invocation.request_id),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        header_value(&deadline_ms.to_string()),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header_value(&shared.function_arn),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        header_value(&format!(
            "Root=1-{}-{};Sampled=0",
            &trace_id[..8],
            &trace_id[8..]
        )),
    );
    (StatusCode::OK, headers, invocation.payload.to_string()).into_response()
}

async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    let answer = serde_json::from_slice(&body)
        .map(InvocationOutcome::Response)
        .map_err(|e| RuntimeApiError::ResponseNotJson {
            request_id: request_id.clone(),
            message: e.to_string(),
        });
    shared.complete(&request_id, answer)
}

/// A body as JSON, or as a JSON string when it is not JSON.
fn json_or_text(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = FunctionError {
        error_type: headers
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: json_or_text(&body),
    };
    shared.complete(&request_id, Ok(InvocationOutcome::Error(error)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let error = json_or_text(&body);
    let _ = shared.init_error.set(error.clone());
    for (_, invoker) in shared.waiting().drain() {
        let _ = invoker.send(Err(RuntimeApiError::InitFailed(error.clone())));
    }
    json_response(StatusCode::ACCEPTED, json!({ "status": "OK" }))
}

#[cfg(test)]
mod tests;
