//! The bad-input suite: every way a request can be wrong, each asserting the
//! status and where the problem is, and at the end that nothing invalid
//! reached the raw store while every valid event did, exactly once.
//!
//! Over 400 lines on purpose: the suite ends by checking the raw store
//! against every case before it, so the cases stay together.

mod common;

use std::collections::HashSet;

use chrono::Utc;
use common::{gzip, Harness, Req, ORIGIN, SITE_KEY};
use http::Method;
use sbw_contract::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST};
use sbw_testkit::events::{event_cases, valid_event, Verdict};
use serde_json::{json, Value};

/// What a request-level case expects.
enum Expect {
    /// The whole request refused with this error code.
    Refused(&'static str),
    /// Answered per event: (index, field path) of each rejected event.
    Rejected(Vec<(usize, &'static str)>),
    /// Answered with no body (preflight).
    Empty,
}

struct Case {
    name: &'static str,
    request: Req,
    status: u16,
    expect: Expect,
}

fn batch(events: &[Value]) -> Value {
    Value::Array(events.to_vec())
}

fn request_cases(valid: &mut Vec<Value>) -> Vec<Case> {
    let now = Utc::now();
    let mut fresh = || {
        let event = valid_event(now);
        valid.push(event.clone());
        event
    };
    let nested = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let too_many = batch(&vec![valid_event(now); MAX_EVENTS_PER_REQUEST + 1]);
    let huge_string = json!([{"event_id": "x", "props": {"note": "y".repeat(MAX_BODY_BYTES)}}]);
    let bomb = gzip(&vec![b' '; MAX_BODY_BYTES * 4]);
    let bad_event = {
        let mut e = valid_event(now);
        e["ecom"]["price"] = json!(-1);
        e
    };
    let use_case = |name, request, status, expect| Case {
        name,
        request,
        status,
        expect,
    };
    use Expect::*;
    vec![
        use_case(
            "malformed JSON",
            Req::post("{\"event_id\": "),
            400,
            Refused("malformed_json"),
        ),
        use_case(
            "trailing garbage",
            Req::post("{} x"),
            400,
            Refused("malformed_json"),
        ),
        use_case("empty body", Req::post(""), 400, Refused("malformed_json")),
        use_case("JSON scalar", Req::post("42"), 400, Refused("bad_batch")),
        use_case(
            "JSON string",
            Req::post("\"page_view\""),
            400,
            Refused("bad_batch"),
        ),
        use_case("empty array", Req::post("[]"), 400, Refused("bad_batch")),
        use_case(
            "deep nesting",
            Req::post(nested),
            400,
            Refused("malformed_json"),
        ),
        use_case(
            "raw NUL byte in body",
            Req::post(&b"{\"a\":\"\x00\"}"[..]),
            400,
            Refused("malformed_json"),
        ),
        use_case(
            "invalid UTF-8",
            Req::post(&b"{\"a\":\"\xff\xfe\"}"[..]),
            400,
            Refused("malformed_json"),
        ),
        use_case(
            "too many events",
            Req::json(&too_many),
            413,
            Refused("too_many_events"),
        ),
        use_case(
            "oversized body",
            Req::json(&huge_string),
            413,
            Refused("body_too_large"),
        ),
        use_case(
            "gzip bomb",
            Req::post(bomb).header("content-encoding", "gzip"),
            413,
            Refused("body_too_large"),
        ),
        use_case(
            "bad gzip",
            Req::post("not gzip at all").header("content-encoding", "gzip"),
            400,
            Refused("bad_gzip"),
        ),
        use_case(
            "truncated gzip",
            Req::post(gzip(b"[{}]")[..10].to_vec()).header("content-encoding", "gzip"),
            400,
            Refused("bad_gzip"),
        ),
        use_case(
            "unsupported encoding",
            Req::json(&json!({})).header("content-encoding", "br"),
            415,
            Refused("unsupported_encoding"),
        ),
        use_case(
            "XML content type",
            Req::post("<event/>").header("content-type", "application/xml"),
            415,
            Refused("unsupported_content_type"),
        ),
        use_case(
            "form content type",
            Req::post("a=1").header("content-type", "application/x-www-form-urlencoded"),
            415,
            Refused("unsupported_content_type"),
        ),
        use_case(
            "no content type",
            Req::json(&json!({})).without("content-type"),
            415,
            Refused("unsupported_content_type"),
        ),
        use_case(
            "GET",
            Req::post("").method(Method::GET),
            405,
            Refused("method_not_allowed"),
        ),
        use_case(
            "PUT",
            Req::json(&json!({})).method(Method::PUT),
            405,
            Refused("method_not_allowed"),
        ),
        use_case(
            "DELETE",
            Req::post("").method(Method::DELETE),
            405,
            Refused("method_not_allowed"),
        ),
        use_case(
            "unknown path",
            Req::json(&json!({})).path("/v1/event"),
            404,
            Refused("not_found"),
        ),
        use_case(
            "root path",
            Req::json(&json!({})).path("/"),
            404,
            Refused("not_found"),
        ),
        use_case(
            "site key missing",
            Req::json(&json!({})).query(None),
            401,
            Refused("site_key_missing"),
        ),
        use_case(
            "site key wrong",
            Req::json(&json!({})).query(Some("site_key=pk_other")),
            403,
            Refused("site_key_unknown"),
        ),
        use_case(
            "origin not allowed",
            Req::json(&json!({})).header("origin", "https://evil.example"),
            403,
            Refused("origin_not_allowed"),
        ),
        use_case(
            "origin missing",
            Req::json(&json!({})).without("origin"),
            403,
            Refused("origin_required"),
        ),
        use_case(
            "signed-in route without a verified token",
            Req::json(&json!({})).path("/v1/events/signed-in"),
            401,
            Refused("not_signed_in"),
        ),
        use_case(
            "signed-in route from a foreign origin",
            Req::json(&json!({}))
                .path("/v1/events/signed-in")
                .subject("u1")
                .header("origin", "https://evil.example"),
            403,
            Refused("origin_not_allowed"),
        ),
        use_case(
            "preflight from a foreign origin",
            Req::post("")
                .method(Method::OPTIONS)
                .header("origin", "https://evil.example"),
            403,
            Refused("origin_not_allowed"),
        ),
        use_case(
            "preflight without origin",
            Req::post("").method(Method::OPTIONS).without("origin"),
            403,
            Refused("origin_required"),
        ),
        use_case(
            "preflight from the shop",
            Req::post("").method(Method::OPTIONS),
            204,
            Empty,
        ),
        use_case(
            "every event invalid",
            Req::json(&batch(&[bad_event.clone(), json!(7)])),
            400,
            Rejected(vec![(0, "$.ecom.price"), (1, "$")]),
        ),
        use_case(
            "mixed batch keeps the valid events",
            Req::json(&batch(&[fresh(), bad_event.clone(), fresh()])),
            202,
            Rejected(vec![(1, "$.ecom.price")]),
        ),
        use_case(
            "text/plain from sendBeacon",
            Req::json(&fresh()).header("content-type", "text/plain;charset=UTF-8"),
            202,
            Rejected(vec![]),
        ),
        use_case(
            "gzip body",
            Req::post(gzip(
                &serde_json::to_vec(&batch(&[fresh(), fresh()])).unwrap(),
            ))
            .header("content-encoding", "gzip"),
            202,
            Rejected(vec![]),
        ),
        use_case(
            "site key in a header",
            Req::json(&fresh())
                .query(None)
                .header("x-sbw-site-key", SITE_KEY),
            202,
            Rejected(vec![]),
        ),
        use_case(
            "signed-in route with a verified token",
            Req::json(&fresh())
                .path("/v1/events/signed-in")
                .query(None)
                .subject("cognito-sub"),
            202,
            Rejected(vec![]),
        ),
        use_case(
            "unicode event",
            Req::json(&{
                let mut e = fresh();
                e["props"] = json!({"tìm_kiếm": "bàn phím 🎹"});
                valid.pop();
                valid.push(e.clone());
                e
            }),
            202,
            Rejected(vec![]),
        ),
    ]
}

#[tokio::test]
async fn every_bad_request_is_answered_precisely_and_only_valid_events_are_stored() {
    let harness = Harness::deployed();
    let mut valid = Vec::new();
    let cases = request_cases(&mut valid);
    let mut checked = 0;
    for case in cases {
        let (response, body) = harness.send(case.request.0).await;
        assert_eq!(
            response.status.as_u16(),
            case.status,
            "{}: {body}",
            case.name
        );
        match case.expect {
            Expect::Refused(code) => {
                assert_eq!(body["error"]["code"], code, "{}: {body}", case.name);
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{}",
                    case.name
                );
            }
            Expect::Rejected(rejected) => {
                let results = body["results"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{}: {body}", case.name));
                let got: Vec<(usize, String)> = results
                    .iter()
                    .filter(|r| r["status"] == "rejected")
                    .map(|r| {
                        (
                            r["index"].as_u64().unwrap() as usize,
                            r["errors"][0]["path"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                let want: Vec<(usize, String)> =
                    rejected.iter().map(|(i, p)| (*i, p.to_string())).collect();
                assert_eq!(got, want, "{}: {body}", case.name);
                assert_eq!(body["rejected"], want.len(), "{}", case.name);
            }
            Expect::Empty => assert!(response.body.is_empty(), "{}", case.name),
        }
        checked += 1;
    }
    assert!(checked >= 39);

    let stored = harness.stored_events();
    let expected: HashSet<String> = valid
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    let got: HashSet<String> = stored.keys().cloned().collect();
    assert_eq!(got, expected, "exactly the valid events are stored");
    assert!(
        stored.values().all(|(count, _)| *count == 1),
        "each stored once"
    );
    // The rejected events left a record of why, without their content.
    let rejects = harness.rejected_records();
    assert_eq!(rejects.len(), 3);
    assert!(rejects
        .iter()
        .all(|r| r.get("props").is_none() && r.get("page_url").is_none()));
}

#[tokio::test]
async fn every_event_level_case_is_judged_as_the_contract_says() {
    let harness = Harness::deployed();
    let now = Utc::now();
    let mut expected_stored = HashSet::new();
    let cases = event_cases(now);
    assert!(cases.len() >= 60);
    for case in cases {
        // Each case rides with a valid event, so the batch is always mixed or all valid.
        let companion = valid_event(now);
        expected_stored.insert(companion["event_id"].as_str().unwrap().to_owned());
        let (response, body) = harness
            .send(Req::json(&json!([companion, case.event])).0)
            .await;
        assert_eq!(response.status.as_u16(), 202, "{}: {body}", case.name);
        let result = &body["results"][1];
        match &case.verdict {
            Verdict::Valid => {
                assert_eq!(result["status"], "accepted", "{}: {body}", case.name);
                expected_stored.insert(case.event["event_id"].as_str().unwrap().to_owned());
            }
            Verdict::Invalid(path) => {
                assert_eq!(result["status"], "rejected", "{}: {body}", case.name);
                let paths: Vec<&str> = result["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["path"].as_str().unwrap())
                    .collect();
                assert!(
                    paths.contains(&path.as_str()),
                    "{}: expected {path} in {paths:?}",
                    case.name
                );
            }
        }
    }
    let stored = harness.stored_events();
    let got: HashSet<String> = stored.keys().cloned().collect();
    assert_eq!(got, expected_stored);
    assert!(stored.values().all(|(count, _)| *count == 1));
    // No PII reached the store: no raw user id, no e-mail, no user agent.
    let everything =
        serde_json::to_string(&stored.values().map(|(_, e)| e).collect::<Vec<_>>()).unwrap();
    assert!(
        !everything.contains("a@b.c")
            && !everything.contains("Mozilla")
            && !everything.contains("a1b2c3d4-anon")
    );
}

#[tokio::test]
async fn cors_headers_answer_allowed_origins_only_and_never_allow_credentials() {
    let harness = Harness::deployed();
    let (response, _) = harness.send(Req::post("").method(Method::OPTIONS).0).await;
    let h = &response.headers;
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("content-encoding"));
    assert!(h.get("access-control-allow-credentials").is_none());
    let (response, _) = harness.send(Req::json(&valid_event(Utc::now())).0).await;
    assert_eq!(response.headers["access-control-allow-origin"], ORIGIN);
    assert_eq!(
        response.headers["access-control-expose-headers"],
        "retry-after"
    );
    let (response, _) = harness
        .send(
            Req::json(&json!({}))
                .header("origin", "https://evil.example")
                .0,
        )
        .await;
    assert!(response
        .headers
        .get("access-control-allow-origin")
        .is_none());
}
