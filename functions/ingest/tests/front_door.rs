//! The event API's one front door, through the handler: behind CloudFront a
//! request needs an accepted origin secret, checked before anything else,
//! and only such requests are trusted with `CloudFront-Viewer-Country`; the
//! secrets follow a rotation in SSM (moto) while the handler is warm.

#[allow(dead_code)] // this file uses the parameter helpers only
mod aws_peers;
mod common;

use std::time::Duration;

use chrono::Utc;
use common::{Harness, Req};
use http::Method;
use sbw_ingest::front_door::{FrontDoor, OriginSecrets, SecretSource};
use sbw_names::origin_secret::HEADER;
use sbw_testkit::events::valid_event;
use serde_json::{json, Value};

const CURRENT: &str = "current-origin-secret-0123456789abcdef";
const PREVIOUS: &str = "previous-origin-secret-0123456789abcdef";

fn behind_cloudfront(secrets: OriginSecrets) -> Harness {
    let Harness { ingest, dir } = Harness::deployed();
    Harness {
        ingest: ingest.with_front_door(FrontDoor::CloudFront(secrets)),
        dir,
    }
}

fn fixed() -> Harness {
    behind_cloudfront(OriginSecrets::fixed(vec![
        CURRENT.to_owned(),
        PREVIOUS.to_owned(),
    ]))
}

/// One valid event from Vietnam (its own `geo.country`), sent from `viewer_country`.
fn event_from(viewer_country: &str) -> (Req, String) {
    let event = valid_event(Utc::now());
    let id = event["event_id"].as_str().unwrap().to_owned();
    (
        Req::json(&json!([event])).header("cloudfront-viewer-country", viewer_country),
        id,
    )
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn without_an_accepted_secret_nothing_comes_in() {
    let harness = fixed();
    let cases = [
        (event_from("SG").0, "not_through_cloudfront"),
        (
            event_from("SG").0.header(HEADER, "guessed"),
            "origin_secret_unknown",
        ),
        // Almost the secret: one character short, one too many.
        (
            event_from("SG").0.header(HEADER, &CURRENT[1..]),
            "origin_secret_unknown",
        ),
        (
            event_from("SG").0.header(HEADER, &format!("{CURRENT}0")),
            "origin_secret_unknown",
        ),
        // Checked before the route, the method and the preflight.
        (
            Req::post("").method(Method::OPTIONS),
            "not_through_cloudfront",
        ),
        (
            Req::post("").path("/v1/other").header(HEADER, "guessed"),
            "origin_secret_unknown",
        ),
    ];
    for (Req(request), code) in cases {
        let (response, body) = harness.send(request).await;
        assert_eq!(response.status, 403, "{code}: {body}");
        assert_eq!(error_code(&body), code, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("CloudFront"),
            "{body}"
        );
    }
    assert!(harness.stored_events().is_empty());
    assert!(harness.rejected_records().is_empty());
}

#[tokio::test]
async fn the_current_and_the_previous_secret_come_in_with_their_viewer_country() {
    let harness = fixed();
    let (current, current_id) = event_from("SG");
    let (previous, previous_id) = event_from("DE");
    for (Req(mut request), secret) in [(current, CURRENT), (previous, PREVIOUS)] {
        request.headers.insert(HEADER, secret.parse().unwrap());
        let (response, body) = harness.send(request).await;
        assert_eq!(response.status, 202, "{body}");
    }
    let stored = harness.stored_events();
    assert_eq!(stored[&current_id].1["geo"]["country"], "SG");
    assert_eq!(stored[&previous_id].1["geo"]["country"], "DE");
}

/// `sbwctl dev ingest` has no CloudFront: it is its own front door, and the
/// demo shoppers' `CloudFront-Viewer-Country` stands for CloudFront's.
#[tokio::test]
async fn the_local_server_is_its_own_front_door() {
    let harness = Harness::deployed();
    let (Req(request), id) = event_from("JP");
    let (response, body) = harness.send(request).await;
    assert_eq!(response.status, 202, "{body}");
    assert_eq!(harness.stored_events()[&id].1["geo"]["country"], "JP");
}

/// A rotation (`new,current` written to SSM) reaches a warm handler with the
/// first request that carries the new secret; made-up secrets make it re-read
/// the parameter at most once per interval.
#[tokio::test]
async fn a_warm_handler_follows_a_rotation_and_rereads_at_most_once_per_interval() {
    let aws = aws_peers::Aws::connect().await;
    let ssm = aws_sdk_ssm::Client::new(&aws.config);
    let parameter = format!("/{}/origin-secret", aws_peers::unique_name("ssm"));
    aws.put_secure_parameter(&parameter, CURRENT).await;
    let interval = Duration::from_secs(3);
    let secrets = OriginSecrets::load(SecretSource {
        ssm: ssm.clone(),
        parameter: parameter.clone(),
    })
    .await
    .unwrap()
    .with_reload_interval(interval);
    let harness = behind_cloudfront(secrets);
    let status = |secret: &'static str| {
        let harness = &harness;
        async move {
            let (Req(mut request), _) = event_from("SG");
            request.headers.insert(HEADER, secret.parse().unwrap());
            harness.send(request).await.0.status.as_u16()
        }
    };
    assert_eq!(status(CURRENT).await, 202);

    // Rotated: the first request with the new secret re-reads the parameter.
    aws.put_secure_parameter(&parameter, &format!("{PREVIOUS},{CURRENT}"))
        .await;
    assert_eq!(status(PREVIOUS).await, 202);
    assert_eq!(
        status(CURRENT).await,
        202,
        "the previous secret still works"
    );

    // Within the interval a new value is not looked up again ...
    let newest = "newest-origin-secret-0123456789abcdef";
    aws.put_secure_parameter(&parameter, &format!("{newest},{PREVIOUS}"))
        .await;
    assert_eq!(status("made-up").await, 403);
    assert_eq!(status(newest).await, 403);
    // ... after it, it is.
    tokio::time::sleep(interval).await;
    assert_eq!(status(newest).await, 202);
    assert_eq!(status(CURRENT).await, 403, "retired by the second rotation");
}

/// A parameter that holds no secret stops the cold start with a reason.
#[tokio::test]
async fn an_empty_parameter_is_an_error_that_says_what_to_run() {
    let aws = aws_peers::Aws::connect().await;
    let ssm = aws_sdk_ssm::Client::new(&aws.config);
    let parameter = format!("/{}/origin-secret", aws_peers::unique_name("ssm"));
    aws.put_secure_parameter(&parameter, " , ").await;
    let error = OriginSecrets::load(SecretSource {
        ssm,
        parameter: parameter.clone(),
    })
    .await
    .err()
    .expect("no secret");
    let message = error.to_string();
    assert!(message.contains(&parameter), "{message}");
    assert!(message.contains("sbwctl deploy"), "{message}");
}
