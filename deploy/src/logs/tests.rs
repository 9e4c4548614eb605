use super::*;

fn now() -> DateTime<Utc> {
    "2026-11-30T12:00:00Z".parse().unwrap()
}

#[test]
fn since_takes_durations_and_times() {
    let back = |text: &str| now() - parse_since(text, now()).unwrap();
    assert_eq!(back("1h"), chrono::Duration::hours(1));
    assert_eq!(back("90s"), chrono::Duration::seconds(90));
    assert_eq!(back("1h30m"), chrono::Duration::minutes(90));
    assert_eq!(back("2d"), chrono::Duration::days(2));
    assert_eq!(back("1w"), chrono::Duration::days(7));
    assert_eq!(
        parse_since("2026-11-30T08:00:00Z", now()).unwrap(),
        "2026-11-30T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[test]
fn since_garbage_is_one_sentence() {
    for garbage in [
        "",
        "1",
        "h",
        "1x",
        "yesterday",
        "0m",
        "-1h",
        "99999999999999999999d",
    ] {
        let error = parse_since(garbage, now()).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("{garbage:?} is neither a duration")),
            "{garbage}: {error}"
        );
        assert!(!error.contains('\n'));
    }
}

#[test]
fn our_json_lines_show_level_request_id_message_and_fields() {
    let raw = r#"{"timestamp":"2026-11-30T11:59:59.1Z","level":"WARN","message":"storing failed, sent to the queue","events":10,"reason":"SlowDown: retry","target":"sbw_ingest","spans":[{"requestId":"1d2c3b4a-0000-4000-8000-000000000001","name":"Lambda runtime invoke"}]}"#;
    let line = LogLine::parse(now(), raw);
    assert_eq!(line.level.as_deref(), Some("WARN"));
    assert_eq!(
        line.request_id.as_deref(),
        Some("1d2c3b4a-0000-4000-8000-000000000001")
    );
    assert!(!line.is_error());
    assert_eq!(
        line.to_text(),
        "2026-11-30T12:00:00.000Z WARN   1d2c3b4a-0000-4000-8000-000000000001 storing failed, sent to the queue events=10 reason=\"SlowDown: retry\""
    );
    assert_eq!(line.to_json(), raw, "JSON passes through");
}

#[test]
fn lambda_lines_name_the_request_and_failures_count_as_errors() {
    let id = "1d2c3b4a-0000-4000-8000-000000000002";
    let start = LogLine::parse(now(), &format!("START RequestId: {id} Version: $LATEST"));
    assert_eq!(start.request_id.as_deref(), Some(id));
    assert_eq!(start.level.as_deref(), Some("START"));
    assert!(!start.is_error());
    let report = LogLine::parse(
        now(),
        &format!("REPORT RequestId: {id}\tDuration: 900000.00 ms\tStatus: timeout"),
    );
    assert!(report.is_error());
    let timeout = LogLine::parse(
        now(),
        &format!("2026-11-30T11:59:59.000Z {id} Task timed out after 900.00 seconds"),
    );
    assert_eq!(timeout.request_id.as_deref(), Some(id));
    assert!(timeout.is_error());
    let json: Value = serde_json::from_str(&timeout.to_json()).unwrap();
    assert_eq!(json["timestamp"], "2026-11-30T12:00:00.000Z");
    assert!(json["message"].as_str().unwrap().contains("Task timed out"));
}

#[test]
fn error_lines_and_metrics() {
    let error = LogLine::parse(
        now(),
        r#"{"level":"ERROR","message":"run failed","error":"connection refused"}"#,
    );
    assert!(error.is_error());
    assert!(error
        .to_text()
        .ends_with("run failed error=\"connection refused\""));
    let crash = LogLine::parse(
        now(),
        r#"{"errorType":"Runtime.ExitError","errorMessage":"exit status 101"}"#,
    );
    assert!(crash.is_error());
    assert_eq!(crash.message, "Runtime.ExitError: exit status 101");
    let metrics = LogLine::parse(
        now(),
        r#"{"_aws":{"CloudWatchMetrics":[]},"DWFreshnessMinutes":12.5,"Deployment":"shop-prod"}"#,
    );
    assert_eq!(metrics.level.as_deref(), Some("METRIC"));
    assert!(metrics
        .to_text()
        .ends_with("metrics DWFreshnessMinutes=12.5 Deployment=shop-prod"));
}
