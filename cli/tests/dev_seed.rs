//! `sbwctl dev seed` as a user runs it: history written to a raw store as
//! the ingest server writes it, loaded by one ETL run into a real warehouse
//! with every retried copy removed; seeding again adds only what is new;
//! bad arguments are one plain sentence.

use std::path::Path;
use std::process::{Command, Output};

use sbw_testkit::ndjson::files_below;
use sbw_testkit::postgres::TestDb;

fn sbwctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbwctl"))
        .args(args)
        .env_remove("SBW_TIMEZONE")
        .output()
        .unwrap()
}

fn seed(raw: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["dev", "seed", "--raw-dir", raw.to_str().unwrap()];
    args.extend_from_slice(extra);
    sbwctl(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The number before `word` in `line`: "wrote 1234 events (1200 unique" -> 1234 for "events".
fn figure(line: &str, word: &str) -> i64 {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.trim_start_matches('(') == word)
        .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
    words[at - 1]
        .trim_start_matches('(')
        .parse()
        .unwrap_or_else(|_| panic!("no number before {word:?} in {line:?}"))
}

#[tokio::test]
async fn seeded_history_is_loaded_once_with_its_duplicates_removed() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let url = db.etl_url();
    let first = seed(
        &raw,
        &[
            "--days",
            "2",
            "--events-per-day",
            "3000",
            "--database-url",
            &url,
        ],
    );
    let stdout = text(&first.stdout);
    assert!(first.status.success(), "{stdout}{}", text(&first.stderr));
    let wrote = stdout.lines().next().unwrap();
    let (lines, unique) = (figure(wrote, "events"), figure(wrote, "unique,"));
    let retried = figure(wrote, "retried");
    assert!((6_000..15_000).contains(&lines), "{wrote}");
    assert_eq!(lines - retried, unique, "{wrote}");
    assert!(retried > 0, "{wrote}");
    assert!(stdout.contains("events/s"), "{stdout}");
    assert!(stdout.contains(" succeeded in "), "{stdout}");
    // One object per request, next to the key the ingest server would use.
    let objects = files_below(&raw.join("events"));
    assert_eq!(objects.len() as i64, figure(wrote, "objects"), "{wrote}");
    assert!(dir.path().join("dev-hash-key").exists());

    let client = db.etl_client().await;
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM fact_events").await, unique);
    assert!(count("SELECT count(*) FROM fact_sessions").await > 50);
    for rollup in [
        "SELECT count(*) FROM rollup_traffic",
        "SELECT count(*) FROM rollup_pages",
        "SELECT count(*) FROM rollup_funnel",
        "SELECT count(*) FROM rollup_acquisition",
        "SELECT count(*) FROM rollup_products",
    ] {
        assert!(count(rollup).await > 0, "{rollup}");
    }
    let timezone: String = client
        .query_one("SELECT timezone FROM warehouse_settings", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(timezone, "Asia/Ho_Chi_Minh");

    // Another seed into the same store: its hours are loaded as a backfill,
    // the first history stays loaded once.
    let second = seed(
        &raw,
        &[
            "--days",
            "1",
            "--events-per-day",
            "2000",
            "--seed",
            "2",
            "--database-url",
            &url,
        ],
    );
    let stdout = text(&second.stdout);
    assert!(second.status.success(), "{stdout}{}", text(&second.stderr));
    let more = figure(stdout.lines().next().unwrap(), "unique,");
    assert_eq!(
        count("SELECT count(*) FROM fact_events").await,
        unique + more
    );
    assert_eq!(
        count("SELECT count(*) FROM etl_runs WHERE status = 'succeeded'").await,
        2
    );
}

#[test]
fn without_a_database_it_writes_and_says_how_to_load() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("store");
    let output = seed(&raw, &["--days", "1", "--events-per-day", "500"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("sbwctl etl run --raw-dir"), "{stdout}");
    assert!(!files_below(&raw.join("events")).is_empty());
}

#[test]
fn bad_arguments_are_one_sentence_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    for (days, shown) in [
        ("0", "0 is not in 1..=400"),
        ("401", "401 is not in 1..=400"),
    ] {
        let output = seed(&raw, &["--days", days]);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            text(&output.stderr).contains(shown),
            "{}",
            text(&output.stderr)
        );
    }
    let output = seed(&raw, &["--events-per-day", "10"]);
    assert_eq!(output.status.code(), Some(2));

    let refused = |output: Output, sentence: &str| {
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(sentence), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    refused(
        seed(&raw, &["--timezone", "Mars/Olympus_Mons"]),
        "\"Mars/Olympus_Mons\" is not a time zone",
    );
    refused(
        seed(&raw, &["--shop-origin", "shop.example"]),
        "is not an http(s) origin",
    );
    // Nothing listens on port 1: the database is reached before anything is written.
    refused(
        seed(
            &raw,
            &["--database-url", "postgresql://sbw_etl@127.0.0.1:1/sbw"],
        ),
        "connecting to the warehouse postgresql://sbw_etl@127.0.0.1:1/sbw",
    );
    assert!(
        !raw.exists(),
        "the raw store was written before the database was reached"
    );
    // A raw store below a file cannot be made.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    refused(
        seed(
            &file.join("raw"),
            &["--days", "1", "--events-per-day", "100"],
        ),
        "cannot create the raw store",
    );
}
