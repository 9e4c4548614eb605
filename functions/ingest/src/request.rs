//! The transport-neutral request and response the handler speaks; the Lambda
//! and the local server each convert their own types into these.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::Serialize;

/// The anonymous route: publishable site key + Origin allow-list.
pub const ANONYMOUS_PATH: &str = "/v1/events";
/// The signed-in route: API Gateway's JWT authorizer verified the caller.
pub const SIGNED_IN_PATH: &str = "/v1/events/signed-in";

#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub request_id: String,
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The `sub` claim of a JWT that API Gateway verified; never read from the body.
    pub verified_subject: Option<String>,
}

impl IngestRequest {
    /// A POST of `body` to the anonymous route as a page of `origin` sends
    /// it: JSON, the site key in the query, a request id of its own.
    pub fn anonymous_post(site_key: &str, origin: HeaderValue, body: impl Into<Bytes>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ORIGIN, origin);
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        IngestRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            method: Method::POST,
            path: ANONYMOUS_PATH.to_owned(),
            query: Some(format!("site_key={site_key}")),
            headers,
            body: body.into(),
            verified_subject: None,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

#[derive(Debug, Clone)]
pub struct IngestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A refusal of the whole request, in the client's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    /// Stable, machine-readable; also the `error_code` of the request log.
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl IngestResponse {
    pub fn json(status: StatusCode, body: &impl Serialize) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        IngestResponse {
            status,
            headers,
            body: Bytes::from(serde_json::to_vec(body).expect("responses serialize")),
        }
    }

    pub fn empty(status: StatusCode) -> Self {
        IngestResponse {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub fn refusal(refusal: &Refusal) -> Self {
        Self::json(
            refusal.status,
            &ErrorBody {
                error: ErrorDetail {
                    code: refusal.code,
                    message: &refusal.message,
                },
            },
        )
    }
}
