//! Uptime, duration and response-time labels.

use crate::units::*;

#[test]
fn uptime_is_floored_never_rounded_up() {
    assert_eq!(uptime_label(Some(99.949)).as_deref(), Some("99.94 %"));
    assert_eq!(uptime_label(Some(99.95)).as_deref(), Some("99.95 %"));
    assert_eq!(uptime_label(Some(99.999)).as_deref(), Some("99.99 %"));
    assert_eq!(
        uptime_label(Some(99.999_999_999_9)).as_deref(),
        Some("99.99 %")
    );
    assert_eq!(uptime_label(Some(100.0)).as_deref(), Some("100.00 %"));
    assert_eq!(uptime_label(Some(0.004)).as_deref(), Some("0.00 %"));
    assert_eq!(uptime_label(Some(-3.0)).as_deref(), Some("0.00 %"));
    assert_eq!(uptime_label(Some(150.0)).as_deref(), Some("100.00 %"));
    assert_eq!(uptime_label(Some(f64::NAN)), None);
    assert_eq!(uptime_label(Some(f64::INFINITY)), None);
    assert_eq!(uptime_label(None), None);
}

#[test]
fn durations() {
    let cases = [
        (-5, "0 s"),
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (89, "1 min"),
        (90, "2 min"),
        (240, "4 min"),
        (3_600, "1 h"),
        (3_900, "1 h 5 min"),
        (5_561, "1 h 33 min"),
        (86_400, "24 h"),
    ];
    for (s, want) in cases {
        assert_eq!(duration_label(s), want, "{s} s");
    }
}

#[test]
fn response_times() {
    assert_eq!(ms_label(4.26), "4.3 ms");
    assert_eq!(ms_label(412.0), "412 ms");
    assert_eq!(ms_label(1_234.0), "1.2 s");
}
