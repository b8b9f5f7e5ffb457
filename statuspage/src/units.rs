//! Numbers as visitors read them: uptime percentages, durations and response times.

/// An uptime percentage, floored to two decimals: `99.949` shows as `99.94`, and anything below
/// 100 never shows as `100.00` (a visitor who saw an outage must not read "100 %"). `None` for
/// non-finite input. Values are clamped to 0–100.
pub(crate) fn uptime_floor(pct: f64) -> Option<f64> {
    if !pct.is_finite() {
        return None;
    }
    let p = pct.clamp(0.0, 100.0);
    // The epsilon keeps 99.95 (stored as 99.9499…) from showing as 99.94; the cap keeps the
    // same epsilon from lifting 99.9999999999 to 100.
    let floored = ((p * 100.0 + 1e-9).floor() / 100.0).min(if p < 100.0 { 99.99 } else { 100.0 });
    Some(floored)
}

/// `99.94 %`, floored by [`uptime_floor`]; `None` when there is nothing to show.
pub(crate) fn uptime_label(pct: Option<f64>) -> Option<String> {
    uptime_floor(pct?).map(|p| format!("{p:.2} %"))
}

/// A duration for tooltips: `45 s`, `4 min`, `2 h 5 min`. Minutes are rounded to the nearest,
/// except that a non-zero duration never reads as zero.
pub(crate) fn duration_label(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 60 {
        return format!("{s} s");
    }
    let minutes = s.saturating_add(30) / 60;
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A response time: one decimal under 10 ms, whole milliseconds above, `1.2 s` from a second.
pub(crate) fn ms_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}
