//! Display helpers the pages share: status symbols, relative times, latencies, links.
//!
//! Pure functions of their arguments, kept apart from the pages so no page imports another.

/// A status symbol, so status is readable without colour.
pub fn symbol(status: &str) -> &'static str {
    match status {
        "up" => "✓",
        "degraded" => "▲",
        "down" => "✕",
        "paused" => "‖",
        _ => "?",
    }
}

/// How long ago `then_ms` was, coarsely: `"just now"`, `"12 s ago"`, `"3 min ago"`, `"5 h ago"`,
/// `"2 d ago"`. Times in the future (clock skew between nodes) read `"in 3 s"`.
pub fn relative(now_ms: i64, then_ms: i64) -> String {
    let diff = now_ms.saturating_sub(then_ms);
    let secs = (diff / 1000).unsigned_abs();
    let amount = match secs {
        0 => return "just now".to_owned(),
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    };
    if diff < 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// Latency with precision that suits its size.
pub fn format_latency(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The URL path of a monitor's detail page (`/monitors/<id>`), the id percent-encoded.
pub fn monitor_href(id: &str) -> String {
    format!("/monitors/{}", path_segment(id))
}

/// The URL path of a monitor's detail fragment (`/fragment/monitors/<id>`).
pub fn fragment_href(id: &str) -> String {
    format!("/fragment/monitors/{}", path_segment(id))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
/// Percent-encodes everything but unreserved characters (RFC 3986), for one path segment.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_encode_the_id() {
        assert_eq!(monitor_href("mon_ab-1"), "/monitors/mon_ab-1");
        assert_eq!(fragment_href("a/b?c"), "/fragment/monitors/a%2Fb%3Fc");
    }
}
