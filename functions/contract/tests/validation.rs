//! Every validation rule, judged by the validator and by the JSON Schema file.

use chrono::{Duration, Utc};
use sbw_contract::limits::MAX_EVENTS_PER_REQUEST;
use sbw_contract::{parse_batch, validate_event, BatchError, EventType};
use sbw_testkit::events::{event_cases, valid_event, validate, Verdict};
use serde_json::{json, Value};

fn schema() -> jsonschema::Validator {
    let text = include_str!("../schema/event.schema.json");
    let schema: Value = serde_json::from_str(text).expect("the schema file is JSON");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema file is a valid JSON Schema")
}

#[test]
fn the_validator_judges_every_case_as_expected() {
    let now = Utc::now();
    let cases = event_cases(now);
    assert!(cases.len() >= 60, "the table shrank to {}", cases.len());
    for case in cases {
        let result = validate(&case.event, now);
        match (&case.verdict, result) {
            (Verdict::Valid, Ok(_)) => {}
            (Verdict::Valid, Err(errors)) => {
                panic!("{}: expected valid, got {errors:?}", case.name)
            }
            (Verdict::Invalid(path), Ok(_)) => {
                panic!("{}: expected an error at {path}, got valid", case.name)
            }
            (Verdict::Invalid(path), Err(errors)) => assert!(
                errors
                    .iter()
                    .any(|e| &e.path == path && !e.reason.is_empty()),
                "{}: expected an error at {path}, got {errors:?}",
                case.name
            ),
        }
    }
}

#[test]
fn the_schema_file_agrees_with_the_validator() {
    let schema = schema();
    let now = Utc::now();
    for case in event_cases(now) {
        let schema_valid = schema.is_valid(&case.event);
        let expected = case.verdict == Verdict::Valid || !case.schema_states_it;
        assert_eq!(
            schema_valid, expected,
            "{}: the schema says valid={schema_valid}; expected {expected} (schema_states_it={})",
            case.name, case.schema_states_it
        );
    }
}

#[test]
fn remembered_urls_give_the_same_verdicts_as_fresh_ones() {
    let now = Utc::now();
    // Every case, then events cycling through pages and referrers.
    let mut events: Vec<Value> = event_cases(now).into_iter().map(|c| c.event).collect();
    for i in 0..40 {
        let mut event = valid_event(now);
        event["page_url"] = json!(format!(
            "https://Shop.example/p/{}/./x?utm_source=x#top",
            i % 13
        ));
        event["referrer"] = json!(format!("https://ref{}.example/?q=1", i % 3));
        events.push(event);
    }
    let body = serde_json::to_vec(&events).unwrap();
    let values = parse_batch(&body).unwrap();
    let first: Vec<_> = values.iter().map(|v| validate_event(v, now)).collect();
    let again: Vec<_> = values.iter().map(|v| validate_event(v, now)).collect();
    assert_eq!(first, again);
    let page = first.last().unwrap().as_ref().unwrap().page_url.as_str();
    assert_eq!(page, "https://shop.example/p/0/x?utm_source=x#top");
}

#[test]
fn the_last_of_duplicate_keys_counts_at_every_level() {
    let now = Utc::now();
    let text = serde_json::to_string(&valid_event(now)).unwrap();
    let validate_text = |text: &str| {
        let values = parse_batch(text.as_bytes()).unwrap();
        validate_event(&values[0], now)
    };
    // A bad value first, overridden by the event's own.
    let overridden = text.replacen('{', r#"{"event_type":"nope","#, 1).replacen(
        r#""ecom":{"#,
        r#""ecom":{"qty":-1,"#,
        1,
    );
    let event = validate_text(&overridden).expect("the last values are valid");
    assert_eq!(event.event_type.as_str(), "add_to_cart");
    assert_eq!(event.ecom.and_then(|e| e.qty), Some(1));
    // A bad value last wins over the good one.
    let overriding = text.replacen(r#""qty":1}"#, r#""qty":1,"qty":0}"#, 1);
    let errors = validate_text(&overriding).expect_err("qty 0 is refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "$.ecom.qty");
}

#[test]
fn every_problem_of_an_event_is_reported() {
    let mut event = valid_event(Utc::now());
    event["event_id"] = json!("nope");
    event["ecom"]["price"] = json!(-5);
    event["ecom"]["qty"] = json!(0);
    event["props"] = json!({"nested": {"a": 1}});
    let errors = validate(&event, Utc::now()).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["$.event_id", "$.ecom.price", "$.ecom.qty", "$.props.nested"]
    );
}

#[test]
fn valid_events_come_out_typed_and_exact() {
    let now = "2026-11-26T05:00:01Z".parse().unwrap();
    let mut event = valid_event(now);
    event["ecom"]["price"] = json!(19.99);
    event["ts"] = json!("2026-11-26T12:00:00.123+07:00");
    let parsed = validate(&event, now).unwrap();
    assert_eq!(parsed.ts.to_rfc3339(), "2026-11-26T05:00:00.123+00:00");
    assert_eq!(parsed.ecom.unwrap().price.unwrap().to_string(), "19.99");
    assert_eq!(parsed.props.len(), 4);
    let mut event = valid_event(now);
    event["ecom"]["price"] = json!(1.5e3);
    assert_eq!(
        validate(&event, now)
            .unwrap()
            .ecom
            .unwrap()
            .price
            .unwrap()
            .to_string(),
        "1500"
    );
}

#[test]
fn batches_are_one_object_or_an_array_within_limits() {
    let one = serde_json::to_vec(&valid_event(Utc::now())).unwrap();
    assert_eq!(parse_batch(&one).unwrap().len(), 1);
    assert_eq!(parse_batch(b"[{},{}]").unwrap().len(), 2);
    assert_eq!(parse_batch(b"[]"), Err(BatchError::Empty));
    assert_eq!(parse_batch(b"42"), Err(BatchError::NotObjectOrArray));
    assert_eq!(parse_batch(b"\"x\""), Err(BatchError::NotObjectOrArray));
    assert!(matches!(
        parse_batch(b"{\"a\":"),
        Err(BatchError::Malformed(_))
    ));
    assert!(matches!(parse_batch(b""), Err(BatchError::Malformed(_))));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(
        parse_batch(deep.as_bytes()),
        Err(BatchError::Malformed(_))
    ));
    let many = format!("[{}]", vec!["{}"; MAX_EVENTS_PER_REQUEST + 1].join(","));
    assert_eq!(
        parse_batch(many.as_bytes()),
        Err(BatchError::TooManyEvents {
            count: MAX_EVENTS_PER_REQUEST + 1
        })
    );
    let max = format!("[{}]", vec!["{}"; MAX_EVENTS_PER_REQUEST].join(","));
    assert_eq!(
        parse_batch(max.as_bytes()).unwrap().len(),
        MAX_EVENTS_PER_REQUEST
    );
}

#[test]
fn the_time_window_applies_after_clock_skew_correction() {
    let now = Utc::now();
    let mut event = valid_event(now);
    // The client clock is 3 days slow: ts and sent_at both lag; corrected, the event is recent.
    event["ts"] = json!(sbw_testkit::events::rfc3339(
        now - Duration::days(3) - Duration::seconds(5)
    ));
    event["sent_at"] = json!(sbw_testkit::events::rfc3339(now - Duration::days(3)));
    assert!(validate(&event, now).is_ok());
    // Without sent_at the same ts is just 3 days old: still inside the 30-day window.
    event.as_object_mut().unwrap().remove("sent_at");
    assert!(validate(&event, now).is_ok());
}

#[test]
fn impressions_name_their_product_and_where_it_was_shown() {
    let now = Utc::now();
    let event = validate(&sbw_testkit::events::impression(now), now).unwrap();
    assert_eq!(event.event_type, EventType::Impression);
    assert_eq!(EventType::parse("impression"), Some(EventType::Impression));
    let ecom = event.ecom.as_ref().unwrap();
    assert_eq!(ecom.product_id.as_deref(), Some("LAP-014"));
    assert_eq!((ecom.price, ecom.qty), (None, None));
    assert_eq!(event.props["list"], json!("category:laptops"));
    assert_eq!(event.props["position"], json!(3));

    let mut unnamed = sbw_testkit::events::impression(now);
    unnamed["ecom"] = Value::Null;
    unnamed["props"]["position"] = json!(0);
    let errors = validate(&unnamed, now).unwrap_err();
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "$.ecom.product_id: is required for impression events",
            "$.props.position: must be >= 1"
        ]
    );
}
