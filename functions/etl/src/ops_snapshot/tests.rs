use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn the_window_is_the_hour_before_the_current_minute() {
    let window = MetricWindow::ending_at(at("2026-11-20T10:37:42.512Z"));
    assert_eq!(window.start, at("2026-11-20T09:37:00Z"));
    assert_eq!(window.end, at("2026-11-20T10:37:00Z"));
    let on_the_minute = MetricWindow::ending_at(at("2026-11-20T00:00:00Z"));
    assert_eq!(on_the_minute.start, at("2026-11-19T23:00:00Z"));
    assert_eq!(on_the_minute.end, at("2026-11-20T00:00:00Z"));
}

fn settings(vars: &[(&str, &str)]) -> anyhow::Result<CollectorSettings> {
    CollectorSettings::from_vars(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    })
}

const VARS: [(&str, &str); 4] = [
    (env::RAW_BUCKET, "shop-dev-raw"),
    (
        env::DLQ_URL,
        "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-dev-ingest-dlq",
    ),
    (env::HTTP_API_ID, "a1b2c3d4e5"),
    (env::HTTP_API_STAGE, "$default"),
];

#[test]
fn settings_name_the_queue_after_its_url() {
    let parsed = settings(&VARS).unwrap();
    assert_eq!(parsed.dead_letter_queue_name, "shop-dev-ingest-dlq");
    assert_eq!(parsed.http_api_stage, "$default");
    assert_eq!(parsed.raw_bucket, "shop-dev-raw");
}

#[test]
fn a_missing_setting_or_a_url_without_a_queue_is_named() {
    for missing in VARS.map(|(name, _)| name) {
        let vars: Vec<_> = VARS.into_iter().filter(|(n, _)| *n != missing).collect();
        let error = settings(&vars).unwrap_err().to_string();
        assert!(error.contains(missing), "{error}");
    }
    let mut vars = VARS;
    vars[1] = (env::DLQ_URL, "https://sqs.eu-west-1.amazonaws.com/");
    let error = settings(&vars).unwrap_err().to_string();
    assert!(error.contains("is not a queue URL"), "{error}");
}
