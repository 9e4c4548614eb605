use super::*;

#[test]
fn windows_grow_to_a_third_of_the_timeout_at_most_fourfold() {
    let mut sizer = WindowSizer::new(Duration::from_secs(900));
    assert_eq!(sizer.next_hours(), WindowSizer::FIRST_HOURS);
    // 6 hours in 30 s: 5 s an hour, 300 s fit 60 hours, but growth stops at 24.
    sizer.finished(6, Duration::from_secs(30));
    assert_eq!(sizer.next_hours(), 24);
    // 24 hours in 240 s: 10 s an hour, 30 hours fit.
    sizer.finished(24, Duration::from_secs(240));
    assert_eq!(sizer.next_hours(), 30);
    // Instant runs stop at a week.
    sizer.finished(100, Duration::ZERO);
    assert_eq!(sizer.next_hours(), WindowSizer::MAX_HOURS);
}

#[test]
fn slow_windows_shrink_to_one_hour_and_timeouts_halve() {
    let mut sizer = WindowSizer::new(Duration::from_secs(60));
    sizer.finished(6, Duration::from_secs(600));
    assert_eq!(sizer.next_hours(), 1, "never below one hour");
    assert!(sizer.timed_out(10));
    assert_eq!(sizer.next_hours(), 5);
    assert!(!sizer.timed_out(1), "one hour cannot be split");
    assert_eq!(sizer.next_hours(), 1);
}

#[test]
fn a_window_counts_both_ends() {
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let window = Window {
        from: t("2026-11-20T00:00:00Z"),
        to: t("2026-11-20T05:00:00Z"),
    };
    assert_eq!(window.hours(), 6);
}
