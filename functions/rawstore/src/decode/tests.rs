use std::io::Write;

use super::*;

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn decode(gzipped: &[u8]) -> DecodedObject {
    decode_guarded(gzipped, &DecodeLimits::default())
}

fn line(id: u128) -> String {
    serde_json::json!({
        "schema_version": 1, "event_id": uuid::Uuid::from_u128(id), "event_type": "page_view",
        "ts": "2026-11-20T08:00:00.000Z", "client_ts": "2026-11-20T08:00:00.000Z",
        "received_at": "2026-11-20T08:00:01.000Z", "clock_skew_ms": null,
        "session_id": uuid::Uuid::from_u128(7), "anonymous_id_hash": "a", "user_id_hash": null,
        "page_url": "https://shop.example/", "referrer": null,
        "device": {"type": "desktop", "browser": null, "os": null, "family": null, "bot": false},
        "geo": {"country": null, "city": null}, "ecom": null, "props": {}, "request_id": "r"
    })
    .to_string()
}

#[test]
fn every_line_is_an_event_and_the_last_newline_is_optional() {
    let decoded = decode(&gzip(&format!("{}\n\n{}", line(1), line(2))));
    // Blank lines are skipped, not refused.
    assert_eq!(decoded.events.len(), 2);
    assert!(decoded.rejects.is_empty());
    assert!(!decoded.damaged);
}

#[test]
fn concatenated_gzip_members_are_one_object() {
    let mut bytes = gzip(&format!("{}\n", line(1)));
    bytes.extend(gzip(&format!("{}\n", line(2))));
    assert_eq!(decode(&bytes).events.len(), 2);
}

#[test]
fn bad_lines_are_refused_with_their_number_and_reason() {
    let unknown = line(3).replacen('{', "{\"extra\":1,", 1);
    let version = line(4).replace("\"schema_version\":1", "\"schema_version\":2");
    let zero_qty = line(5).replace(
        "\"ecom\":null",
        "\"ecom\":{\"product_id\":\"p\",\"category\":null,\"currency\":null,\"price\":null,\"qty\":0}",
    );
    let text = [
        line(1),
        "[]".into(),
        unknown,
        version,
        zero_qty,
        "\u{fffd}".into(),
    ]
    .join("\n");
    let decoded = decode(&gzip(&text));
    assert_eq!(decoded.events.len(), 1);
    let got: Vec<(Option<i32>, bool)> = decoded
        .rejects
        .iter()
        .map(|r| (r.line_number, r.excerpt.is_some()))
        .collect();
    assert_eq!(got, [2, 3, 4, 5, 6].map(|n| (Some(n), true)));
    assert!(decoded.rejects[1].reason.contains("unknown field `extra`"));
    assert!(decoded.rejects[2].reason.contains("schema_version 2"));
    assert!(decoded.rejects[3].reason.contains("ecom.qty is 0"));
    assert_eq!(decoded.rejected_lines(), 5);
    assert!(!decoded.damaged);
}

#[test]
fn a_truncated_object_keeps_its_complete_lines_and_is_damaged() {
    let whole = gzip(&format!("{}\n{}\n{}\n", line(1), line(2), line(3)));
    let decoded = decode(&whole[..whole.len() - 10]);
    assert!(decoded.damaged);
    assert!(decoded.events.len() <= 3);
    assert_eq!(decoded.rejects.len(), 1);
    assert_eq!(decoded.rejects[0].line_number, None);
    assert!(decoded.rejects[0].reason.contains("corrupt or truncated"));
}

#[test]
fn bytes_that_are_not_gzip_are_damaged_with_nothing_loaded() {
    let decoded = decode(b"{\"event_id\": 1}\n");
    assert!(decoded.damaged);
    assert!(decoded.events.is_empty());
    let empty = decode(b"");
    assert!(empty.damaged, "zero bytes are no gzip stream either");
}

#[test]
fn a_line_over_the_limit_is_refused_with_its_length_and_the_next_lines_load() {
    let limits = DecodeLimits {
        line_bytes: 2048,
        ..DecodeLimits::default()
    };
    let long = "x".repeat(10_000);
    let decoded = decode_object(&gzip(&format!("{}\n{long}\n{}", line(1), line(2))), &limits);
    assert_eq!(decoded.events.len(), 2);
    assert_eq!(decoded.rejects.len(), 1);
    assert_eq!(decoded.rejects[0].line_number, Some(2));
    assert!(
        decoded.rejects[0]
            .reason
            .contains("10001 bytes long, over the limit of 2048"),
        "{:?}",
        decoded.rejects
    );
    assert!(!decoded.damaged);
}

#[test]
fn an_object_decompressing_past_the_limit_is_quarantined() {
    let limits = DecodeLimits {
        object_bytes: 4096,
        ..DecodeLimits::default()
    };
    let bomb = format!("{}\n{}", line(1), "\n".repeat(1 << 20));
    let decoded = decode_object(&gzip(&bomb), &limits);
    assert!(decoded.damaged);
    assert!(
        decoded.rejects[0].reason.contains("more than 4096 bytes"),
        "{:?}",
        decoded.rejects
    );
}

#[test]
fn events_at_times_the_warehouse_cannot_hold_are_refused() {
    let at = |ts: &str, received: &str| {
        line(1)
            .replace(
                "\"ts\":\"2026-11-20T08:00:00.000Z\"",
                &format!("\"ts\":\"{ts}\""),
            )
            .replace(
                "\"received_at\":\"2026-11-20T08:00:01.000Z\"",
                &format!("\"received_at\":\"{received}\""),
            )
    };
    let text = [
        at("9999-12-15T00:00:00Z", "9999-12-15T00:00:00Z"),
        at("2026-12-20T08:00:00Z", "2026-11-20T08:00:01Z"),
        at("2026-11-20T08:04:00Z", "2026-11-20T08:00:01Z"),
    ]
    .join("\n");
    let decoded = decode(&gzip(&text));
    assert_eq!(decoded.events.len(), 1, "{:?}", decoded.rejects);
    assert!(decoded.rejects[0].reason.contains("outside the years"));
    assert!(decoded.rejects[1]
        .reason
        .contains("is not within 30 days before"));
}
