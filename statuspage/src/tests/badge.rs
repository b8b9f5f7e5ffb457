//! Badges: geometry, text widths, colours, accessibility and escaping.

use crate::badge::{flat, status_badge, uptime_badge};
use crate::model::ComponentStatus;
use crate::text_width::{preferred_width, verdana_11, MAX_WIDTH};

/// The value of the first `attr="…"` in `svg`.
fn attr<'a>(svg: &'a str, attr: &str) -> &'a str {
    let key = format!(" {attr}=\"");
    svg.split(key.as_str())
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
}

fn width(svg: &str) -> u32 {
    attr(svg, "width").parse().unwrap_or_default()
}

#[test]
fn matches_shields_geometry() {
    // shields.io's "build | passing": 37 + 51 px.
    let svg = flat("build", "passing", "#4c1");
    assert_eq!(width(&svg), 88);
    assert!(svg.contains(r##"<rect width="37" height="20" fill="#555"/><rect x="37" width="51" height="20" fill="#4c1"/>"##));
    assert!(svg.contains(
        r##"x="195" y="140" transform="scale(.1)" fill="#fff" textLength="270">build</text>"##
    ));
    assert!(svg.contains(
        r##"x="615" y="140" transform="scale(.1)" fill="#fff" textLength="410">passing</text>"##
    ));
    assert!(svg.contains(
        r##"<text aria-hidden="true" x="195" y="150" fill="#010101" fill-opacity=".3""##
    ));
}

#[test]
fn text_widths() {
    assert!((verdana_11("a") - 1230.0 * 11.0 / 2048.0).abs() < 1e-9);
    assert_eq!(preferred_width(""), 1);
    assert_eq!(preferred_width("build"), 27);
    assert_eq!(preferred_width("passing"), 41);
    // Wide and narrow letters differ; unknown characters count as wide.
    assert!(verdana_11("WWW") > verdana_11("iii") * 3.0);
    assert!(verdana_11("é") >= verdana_11("m"));
    assert_eq!(verdana_11("\u{7}"), 0.0);
    assert!(preferred_width(&"W".repeat(100_000)) > 500_000);
    assert!(preferred_width(&"W".repeat(10_000_000)) <= MAX_WIDTH);
}

#[test]
fn width_grows_with_text() {
    let short = width(&status_badge("API", ComponentStatus::Operational));
    let long = width(&status_badge(
        "Public API gateway",
        ComponentStatus::Operational,
    ));
    let longer_message = width(&status_badge("API", ComponentStatus::PartialOutage));
    assert!(short > 0 && long > short && longer_message > short);
    // Each extra character adds its own width, not a fixed amount.
    let i = width(&uptime_badge("iiii", Some(100.0)));
    let w = width(&uptime_badge("WWWW", Some(100.0)));
    assert!(w > i + 20, "{i} {w}");
}

#[test]
fn status_badges() {
    let cases = [
        (ComponentStatus::Operational, "operational", "#4c1"),
        (ComponentStatus::Degraded, "degraded performance", "#dfb317"),
        (ComponentStatus::PartialOutage, "partial outage", "#fe7d37"),
        (ComponentStatus::MajorOutage, "major outage", "#e05d44"),
        (ComponentStatus::Maintenance, "under maintenance", "#007ec6"),
    ];
    for (status, message, color) in cases {
        let svg = status_badge("API", status);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(&format!("role=\"img\" aria-label=\"API: {message}\"")));
        assert!(svg.contains(&format!("<title>API: {message}</title>")));
        assert!(svg.contains(&format!("fill=\"{color}\"/>")), "{svg}");
        assert!(svg.contains(&format!(">{message}</text>")));
        assert!(svg.ends_with("</g></svg>"));
    }
}

#[test]
fn uptime_badges() {
    let cases = [
        (Some(100.0), "100.00%", "#4c1"),
        (Some(99.95), "99.95%", "#4c1"),
        (Some(99.9), "99.90%", "#4c1"),
        (Some(99.8999), "99.89%", "#97ca00"),
        (Some(99.0), "99.00%", "#97ca00"),
        (Some(97.5), "97.50%", "#dfb317"),
        (Some(95.0), "95.00%", "#dfb317"),
        (Some(94.999), "94.99%", "#e05d44"),
        (Some(99.9999), "99.99%", "#4c1"),
        (None, "no data", "#9f9f9f"),
        (Some(f64::NAN), "no data", "#9f9f9f"),
    ];
    for (pct, message, color) in cases {
        let svg = uptime_badge("uptime", pct);
        assert!(
            svg.contains(&format!("<title>uptime: {message}</title>")),
            "{pct:?}: {svg}"
        );
        assert!(
            svg.contains(&format!("fill=\"{color}\"/>")),
            "{pct:?}: {svg}"
        );
    }
}

#[test]
fn text_is_escaped() {
    let svg = status_badge("<a&\"b'>", ComponentStatus::Operational);
    assert!(svg.contains("<title>&lt;a&amp;&quot;b&apos;&gt;: operational</title>"));
    assert!(svg.contains("aria-label=\"&lt;a&amp;&quot;b&apos;&gt;: operational\""));
    assert!(svg.contains(">&lt;a&amp;&quot;b&apos;&gt;</text>"));
    assert!(!svg.contains("<a&"));
}

#[test]
fn empty_label_gives_a_message_only_badge() {
    let svg = uptime_badge("", Some(99.95));
    assert!(svg.contains("<title>99.95%</title>"));
    assert!(svg.contains(r##"<rect width="0" height="20" fill="#555"/>"##));
    assert_eq!(svg.matches("</text>").count(), 2);
    let message = preferred_width("99.95%");
    assert_eq!(width(&svg), message + 10);
    // Centred in the message box, which starts at 0.
    assert!(svg.contains(&format!("x=\"{}\"", 50 + 5 * message)));
}
