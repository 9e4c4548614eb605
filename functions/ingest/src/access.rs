//! Who may send events: the route decides. Anonymous traffic needs a
//! publishable site key and an allowed Origin; signed-in traffic needs a JWT
//! that API Gateway verified. CORS answers only allowed origins.

use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::request::{IngestRequest, IngestResponse, Refusal, ANONYMOUS_PATH, SIGNED_IN_PATH};

/// The header alternative to the `site_key` query parameter (sendBeacon cannot set headers).
pub const SITE_KEY_HEADER: &str = "x-sbw-site-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Anonymous,
    SignedIn,
}

impl Route {
    pub fn from_path(path: &str) -> Option<Route> {
        match path.trim_end_matches('/') {
            ANONYMOUS_PATH => Some(Route::Anonymous),
            SIGNED_IN_PATH => Some(Route::SignedIn),
            _ => None,
        }
    }
}

/// Site keys and allowed origins. Empty lists mean "no check", which only the
/// local development server uses; the Lambda refuses to start without them.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    pub site_keys: Vec<String>,
    pub allowed_origins: Vec<String>,
}

impl AccessPolicy {
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.is_empty()
            || self
                .allowed_origins
                .iter()
                .any(|o| o.trim_end_matches('/') == origin)
    }

    /// Checks the caller of a POST; `Ok` means the events may be read.
    pub fn authorize(&self, route: Route, request: &IngestRequest) -> Result<(), Refusal> {
        if let Some(origin) = request.header("origin") {
            if !self.origin_allowed(origin) {
                return Err(forbidden_origin(origin));
            }
        } else if route == Route::Anonymous && !self.allowed_origins.is_empty() {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "origin_required",
                "anonymous events must come from a browser on an allowed site (no Origin header)",
            ));
        }
        match route {
            Route::SignedIn if request.verified_subject.is_none() => Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "not_signed_in",
                "this route needs a verified sign-in token (Authorization: Bearer <id token>)",
            )),
            Route::SignedIn => Ok(()),
            Route::Anonymous => self.check_site_key(request),
        }
    }

    fn check_site_key(&self, request: &IngestRequest) -> Result<(), Refusal> {
        if self.site_keys.is_empty() {
            return Ok(());
        }
        let key = request
            .query_param("site_key")
            .or_else(|| request.header(SITE_KEY_HEADER).map(str::to_owned));
        match key {
            None => Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "site_key_missing",
                "send the site key as ?site_key=… or the X-SBW-Site-Key header",
            )),
            Some(key) if self.site_keys.contains(&key) => Ok(()),
            Some(_) => Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "site_key_unknown",
                "the site key is not valid for this deployment",
            )),
        }
    }

    /// Answers an `OPTIONS` preflight: allowed origins only.
    pub fn preflight(&self, request: &IngestRequest) -> Result<IngestResponse, Refusal> {
        let origin = request.header("origin").ok_or_else(|| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                "origin_required",
                "a CORS preflight needs an Origin header",
            )
        })?;
        if !self.origin_allowed(origin) {
            return Err(forbidden_origin(origin));
        }
        let mut response = IngestResponse::empty(StatusCode::NO_CONTENT);
        self.add_cors_headers(request, &mut response.headers);
        let h = &mut response.headers;
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("POST, OPTIONS"),
        );
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static(
                "content-type, content-encoding, authorization, x-sbw-site-key",
            ),
        );
        h.insert("access-control-max-age", HeaderValue::from_static("600"));
        Ok(response)
    }

    /// CORS headers for a response to an allowed origin; never with credentials.
    pub fn add_cors_headers(&self, request: &IngestRequest, headers: &mut HeaderMap) {
        headers.insert(http::header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = request.header("origin").filter(|o| self.origin_allowed(o)) else {
            return;
        };
        if let Ok(value) = HeaderValue::from_str(origin) {
            headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            // The SDK honours Retry-After on 429/503; browsers hide it unless exposed.
            headers.insert(
                http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("retry-after"),
            );
        }
    }
}

fn forbidden_origin(origin: &str) -> Refusal {
    Refusal::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        format!("origin {origin:?} is not in this deployment's allowed origins"),
    )
}

/// Whether an events route takes `method`; anything else is a 405.
pub fn is_allowed_method(method: &Method) -> bool {
    method == Method::POST || method == Method::OPTIONS
}
