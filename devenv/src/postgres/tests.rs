use super::*;

#[test]
fn the_major_version_is_read_from_the_version_line() {
    assert_eq!(
        parse_major("postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"),
        Some(15)
    );
    assert_eq!(parse_major("postgres (PostgreSQL) 17beta1"), None);
    assert_eq!(parse_major("postgres (PostgreSQL) 9.6.24"), Some(9));
}

#[test]
fn a_cluster_of_another_major_version_is_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("PG_VERSION"), "9\n").unwrap();
    match choose(dir.path()) {
        Err(error @ DevError::OtherMajor { .. }) => {
            let text = error.to_string();
            assert!(text.contains("holds a PostgreSQL 9 cluster"), "{text}");
            assert!(text.contains("install postgresql-9"), "{text}");
            assert!(!text.contains('\n'));
        }
        Err(DevError::NoPostgres) => eprintln!("skipped: PostgreSQL is not installed"),
        other => panic!("expected OtherMajor, got {other:?}"),
    }
}

#[test]
fn the_log_names_the_fatal_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("postgres.log");
    std::fs::write(
        &log,
        "LOG:  starting PostgreSQL\nFATAL:  could not create lock file\nLOG:  database system is shut down\n",
    )
    .unwrap();
    assert_eq!(last_problem(&log), "FATAL:  could not create lock file");
    std::fs::write(&log, "").unwrap();
    assert_eq!(last_problem(&log), "no message");
}
