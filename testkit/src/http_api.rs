//! API Gateway HTTP API events (payload format 2.0) as AWS sends them to a
//! Lambda function, and the function's response as API Gateway reads it.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::Utc;
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The address API Gateway reports as the caller's (TEST-NET-1, never routed).
const SOURCE_IP: &str = "192.0.2.10";

/// One HTTP request to an HTTP API, built up and turned into the event
/// Lambda receives with [`HttpApiRequest::to_event`].
#[derive(Debug, Clone)]
pub struct HttpApiRequest {
    method: String,
    path: String,
    raw_query: String,
    headers: BTreeMap<String, String>,
    body: Option<String>,
    body_is_base64: bool,
    jwt_claims: Option<BTreeMap<String, String>>,
}

impl HttpApiRequest {
    pub fn new(method: &str, path: &str) -> Self {
        HttpApiRequest {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            raw_query: String::new(),
            headers: BTreeMap::new(),
            body: None,
            body_is_base64: false,
            jwt_claims: None,
        }
    }

    /// The query string, without `?`, as the client sent it.
    pub fn query(mut self, raw_query: &str) -> Self {
        self.raw_query = raw_query.to_owned();
        self
    }

    /// Adds a header; API Gateway lower-cases names and joins repeated ones with commas.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .entry(name.to_ascii_lowercase())
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
        self
    }

    /// A text body, passed through as is.
    pub fn body(mut self, text: impl Into<String>) -> Self {
        self.body = Some(text.into());
        self.body_is_base64 = false;
        self
    }

    /// A binary body (gzip, …): API Gateway base64-encodes it and sets `isBase64Encoded`.
    pub fn binary_body(mut self, bytes: &[u8]) -> Self {
        self.body = Some(BASE64.encode(bytes));
        self.body_is_base64 = true;
        self
    }

    /// The claims of a JWT that the route's JWT authorizer verified; API
    /// Gateway passes every claim as a string.
    pub fn jwt_claims<K: Into<String>, V: Into<String>>(
        mut self,
        claims: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.jwt_claims = Some(
            claims
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// The Lambda event, with a fresh `requestId`.
    pub fn to_event(&self) -> Value {
        let route_key = format!("{} {}", self.method, self.path);
        let now = Utc::now();
        let user_agent = self.headers.get("user-agent").cloned().unwrap_or_default();
        let mut request_context = json!({
            "accountId": "000000000000",
            "apiId": "sbwtestapi",
            "domainName": "sbwtestapi.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "sbwtestapi",
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": user_agent,
            },
            "requestId": Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        });
        if let Some(claims) = &self.jwt_claims {
            request_context["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": self.raw_query,
            "headers": self.headers,
            "requestContext": request_context,
            "isBase64Encoded": self.body_is_base64,
        });
        let query_parameters = query_parameters(&self.raw_query);
        if !query_parameters.is_empty() {
            event["queryStringParameters"] = Value::Object(query_parameters);
        }
        if let Some(body) = &self.body {
            event["body"] = Value::String(body.clone());
        }
        event
    }
}

/// `queryStringParameters`: decoded, repeated names joined with commas.
fn query_parameters(raw_query: &str) -> Map<String, Value> {
    let mut parameters: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        parameters
            .entry(name.into_owned())
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    parameters
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

#[derive(Debug, thiserror::Error)]
#[error("not an HTTP API response: {0}")]
pub struct NotAResponse(String);

/// A function's answer as API Gateway turns it into an HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpApiResponse {
    pub status: u16,
    /// Names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl HttpApiResponse {
    pub fn from_json(response: &Value) -> Result<Self, NotAResponse> {
        let status = response["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| NotAResponse(format!("no statusCode in {response}")))?;
        let headers = response["headers"]
            .as_object()
            .map(|headers| {
                headers
                    .iter()
                    .map(|(name, value)| {
                        (
                            name.to_ascii_lowercase(),
                            value.as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let text = response["body"].as_str().unwrap_or_default();
        let body = match response["isBase64Encoded"].as_bool().unwrap_or(false) {
            true => BASE64
                .decode(text)
                .map_err(|e| NotAResponse(format!("body is not base64: {e}")))?,
            false => text.as_bytes().to_vec(),
        };
        Ok(HttpApiResponse {
            status,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_what_api_gateway_sends() {
        let event = HttpApiRequest::new("post", "/v1/events")
            .query("site_key=k1&x=a%20b&x=c")
            .header("Content-Type", "text/plain")
            .header("User-Agent", "UA/1")
            .header("X-Forwarded-For", "1.1.1.1")
            .header("x-forwarded-for", "2.2.2.2")
            .binary_body(b"\x1f\x8b")
            .jwt_claims([("sub", "u-1")])
            .to_event();
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "POST /v1/events");
        assert_eq!(event["headers"]["content-type"], "text/plain");
        assert_eq!(event["headers"]["x-forwarded-for"], "1.1.1.1,2.2.2.2");
        assert_eq!(
            event["queryStringParameters"],
            json!({"site_key": "k1", "x": "a b,c"})
        );
        assert_eq!(event["requestContext"]["http"]["userAgent"], "UA/1");
        assert_eq!(
            event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"],
            "u-1"
        );
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "H4s=");
    }

    #[test]
    fn responses_decode_base64_bodies() {
        let response = HttpApiResponse::from_json(&json!({
            "statusCode": 202, "headers": {"Content-Type": "application/json"},
            "body": "e30=", "isBase64Encoded": true
        }))
        .unwrap();
        assert_eq!(response.status, 202);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json(), json!({}));
        assert!(HttpApiResponse::from_json(&json!({"body": ""})).is_err());
    }
}
