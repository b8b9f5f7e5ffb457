//! The HTML page: content, order, options, escaping, self-containment and weight.

use std::io::Write;

use super::fixture::{self, DAY, NOW};
use crate::html::page_html;
use crate::model::*;

fn render(v: &PageView) -> String {
    match page_html(v) {
        Ok(html) => html,
        Err(e) => panic!("render failed: {e}"),
    }
}

/// Byte offset of `needle`, failing the test when absent.
fn at(html: &str, needle: &str) -> usize {
    match html.find(needle) {
        Some(i) => i,
        None => panic!("{needle:?} not found in the page"),
    }
}

#[test]
fn header_banner_and_meta() {
    let html = render(&fixture::view());
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<title>Acme Cloud</title>"));
    assert!(html.contains("<h1>Acme Cloud</h1>"));
    assert!(html.contains("Live status of Acme Cloud services"));
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
    assert!(html.contains("prefers-color-scheme:dark"));
    assert!(
        html.contains(r#"<p class="bn partial_outage" role="status">Partial System Outage</p>"#)
    );
    assert!(!html.contains("may be out of date"));
}

#[test]
fn banner_wording_follows_the_worst_component() {
    use ComponentStatus::*;
    for (status, words) in [
        (Operational, "All Systems Operational"),
        (Maintenance, "Service Under Maintenance"),
        (Degraded, "Partially Degraded Service"),
        (PartialOutage, "Partial System Outage"),
        (MajorOutage, "Major System Outage"),
    ] {
        let mut v = fixture::view();
        for c in v.groups.iter_mut().flat_map(|g| g.components.iter_mut()) {
            c.status = Operational;
        }
        v.groups[2].components[1].status = status;
        assert!(render(&v).contains(&format!(">{words}</p>")), "{words}");
    }
}

#[test]
fn stale_notice() {
    let mut v = fixture::view();
    v.stale = Some(Stale {
        since_ms: NOW - 7 * 60_000,
    });
    let html = render(&v);
    assert!(html.contains(
        "This page may be out of date: last confirmed <time datetime=\"2026-12-03T21:25:41.123Z\">3 Dec 2026, 21:25 UTC</time>"
    ));
}

#[test]
fn no_javascript_and_no_external_requests() {
    let mut v = fixture::view();
    v.base_path = "/acme".into();
    let html = render(&v);
    let lower = html.to_lowercase();
    for forbidden in [
        "<script",
        "javascript:",
        " onclick",
        " onerror",
        " onload",
        " src=",
        "@import",
        "@font-face",
        "url(",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "http://",
        "https://",
    ] {
        assert!(!lower.contains(forbidden), "found {forbidden:?}");
    }
    // The policy says so to the browser too.
    assert!(html.contains("default-src 'none'; style-src 'unsafe-inline'"));
}

#[test]
fn feed_and_api_links_use_the_base_path() {
    let mut v = fixture::view();
    let html = render(&v);
    assert!(html.contains(
        r#"type="application/atom+xml" title="Acme Cloud (Atom)" href="/history.atom">"#
    ));
    assert!(html
        .contains(r#"type="application/rss+xml" title="Acme Cloud (RSS)" href="/history.rss">"#));
    v.base_path = "/acme".into();
    let html = render(&v);
    for link in [
        r#"rel="alternate" type="application/atom+xml" title="Acme Cloud (Atom)" href="/acme/history.atom""#,
        r#"rel="alternate" type="application/rss+xml" title="Acme Cloud (RSS)" href="/acme/history.rss""#,
        r#"<a href="/acme/history.atom">"#,
        r#"<a href="/acme/history.rss">"#,
        r#"<a href="/acme/api/v2/summary.json">"#,
    ] {
        assert!(html.contains(link), "{link}");
    }
}

#[test]
fn active_incidents_come_first_with_their_thread_newest_first() {
    let html = render(&fixture::view());
    let active = at(&html, "Active incidents");
    let api = at(&html, r#"<article class="bx major" id="inc_api_errors">"#);
    let s3 = at(&html, r#"<article class="bx minor" id="inc_s3_slow">"#);
    let components = at(&html, r#"<h2 id="h-comp""#);
    assert!(active < api && api < s3 && s3 < components);
    let newest = at(&html, "A faulty deploy in eu-west");
    let middle = at(&html, "We are still investigating.");
    let oldest = at(&html, "We are investigating elevated error rates");
    assert!(api < newest && newest < middle && middle < oldest && oldest < s3);
    assert!(html.contains(
        r#"<li class="u"><strong>Identified</strong> <time datetime="2026-12-03T21:12:41.123Z">3 Dec 2026, 21:12 UTC</time><p>A faulty deploy"#
    ));
    assert!(html.contains("Affects: Public API</p>"));
    // Line breaks of a body are kept (by CSS), not turned into markup.
    assert!(html.contains("We are still investigating.\nAbout 8 % of requests fail."));
}

#[test]
fn maintenance_in_progress_then_upcoming() {
    let html = render(&fixture::view());
    let running = at(&html, r#"id="mnt_db_storage""#);
    let upcoming = at(&html, r#"id="mnt_cdn_certs""#);
    assert!(at(&html, "Scheduled maintenance") < running && running < upcoming);
    assert!(upcoming < at(&html, r#"<h2 id="h-comp""#));
    assert!(html.contains("<strong>In progress</strong> <time datetime=\"2026-12-03T20:00:00.000Z\">3 Dec 2026, 20:00 – 23:00 UTC</time>"));
    assert!(html.contains("<strong>Scheduled</strong> <time datetime=\"2026-12-04T23:00:00.000Z\">4 Dec 2026, 23:00 UTC – 5 Dec 2026, 00:30 UTC</time>"));
    assert!(html.contains("Affects: CDN, DNS</p>"));
}

#[test]
fn components_grouped_with_status_and_regions() {
    let html = render(&fixture::view());
    let core = at(&html, "<h3>Core platform</h3>");
    let api = at(
        &html,
        r#"<span class="n">Public API</span><span class="s partial_outage">Partial outage</span>"#,
    );
    let data = at(&html, "<h3>Data</h3>");
    let db = at(
        &html,
        r#"<span class="n">Database</span><span class="s under_maintenance">Under maintenance</span>"#,
    );
    let edge = at(&html, "<h3>Edge network</h3>");
    let notify = at(&html, r#"<span class="n">Notifications</span>"#);
    assert!(core < api && api < data && data < db && db < edge && edge < notify);
    // The ungrouped components get no heading.
    assert!(html.contains("<div class=\"g\">\n<ul>\n<li class=\"c\">\n<div class=\"hd\"><span class=\"n\">Notifications</span>"));
    assert!(html.contains("<p>REST and GraphQL endpoints</p>"));
    assert!(html.contains("<p>Failing from 2 of 5 regions: ap-south, eu-west</p>"));
    assert_eq!(html.matches("Failing from").count(), 1);
    assert!(html.contains(r#"<span class="s degraded_performance">Degraded performance</span>"#));
}

#[test]
fn empty_groups_and_empty_pages() {
    let mut v = fixture::view();
    v.groups.push(GroupView {
        id: Some("grp_empty".into()),
        name: Some("Nothing here".into()),
        components: Vec::new(),
    });
    assert!(!render(&v).contains("Nothing here"));
    v.groups.clear();
    v.incidents.clear();
    v.maintenances.clear();
    let html = render(&v);
    assert!(html.contains("All Systems Operational"));
    assert!(html.contains("No components yet."));
    assert!(!html.contains("Active incidents") && !html.contains("Scheduled maintenance"));
    assert_eq!(html.matches("No incidents reported.").count(), 14);
}

#[test]
fn one_bar_per_day_with_tooltips() {
    let html = render(&fixture::view());
    // 7 components × 90 days; every bar focusable and labelled.
    assert_eq!(
        html.matches(r#"tabindex="0" role="img" aria-label=""#)
            .count(),
        630
    );
    // No-data bars: ten days of DNS before it was monitored, one gap on the website (the
    // legend has one more).
    assert_eq!(html.matches(r#"<i class="n""#).count(), 12);
    for tip in [
        r#"<i class="p" tabindex="0" role="img" aria-label="2 Dec 2026: 99.72 % up, down 4 min"></i>"#,
        r#"<i class="p" tabindex="0" role="img" aria-label="3 Dec 2026: 97.67 % up, down 30 min (partial day)"></i>"#,
        r#"<i class="m" tabindex="0" role="img" aria-label="4 Nov 2026: 91.66 % up, down 2 h"></i>"#,
        r#"<i class="n" tabindex="0" role="img" aria-label="20 Oct 2026: no data"></i>"#,
        r#"<i class="n" tabindex="0" role="img" aria-label="14 Sep 2026: no data"></i>"#,
        r#"<i class="o" tabindex="0" role="img" aria-label="15 Sep 2026: 100.00 % up (partial day)"></i>"#,
        r#"<i class="w" tabindex="0" role="img" aria-label="3 Dec 2026: 100.00 % up, maintenance 1 h 33 min (partial day)"></i>"#,
        r#"<i class="d" tabindex="0" role="img" aria-label="3 Dec 2026: 100.00 % up, degraded 5 h (partial day)"></i>"#,
        r#"<i class="o" tabindex="0" role="img" aria-label="5 Sep 2026: 100.00 % up"></i>"#,
    ] {
        assert!(html.contains(tip), "{tip}");
    }
    // The tooltip shows on hover and on keyboard focus, from the label, without script.
    assert!(html.contains(".b i:hover::after,.b i:focus::after{content:attr(aria-label)}"));
}

#[test]
fn uptime_figures_and_axis() {
    let html = render(&fixture::view());
    for figure in [
        "<span>99.94 % uptime</span>",
        "<span>99.99 % uptime</span>",
        "<span>99.50 % uptime</span>",
        "<span>100.00 % uptime</span>",
        "<span>No data</span>",
    ] {
        assert!(html.contains(figure), "{figure}");
    }
    assert_eq!(
        html.matches(r#"<div class="x"><span>90 days ago</span>"#)
            .count(),
        7
    );
    assert_eq!(html.matches("<span>Today</span></div>").count(), 7);
}

#[test]
fn latency_chart_has_gaps_and_a_labelled_maximum() {
    let html = render(&fixture::view());
    // Six components have points; "Notifications" has none.
    assert_eq!(html.matches("<svg ").count(), 6);
    assert!(html
        .contains(r#"<svg viewBox="0 0 230 40" preserveAspectRatio="none" aria-hidden="true">"#));
    assert!(html.contains(r#"<span class="mx" aria-hidden="true">412 ms</span>"#));
    assert!(
        html.contains("Response time, last 24 h: median up to 52 ms, p95 (lighter) up to 412 ms")
    );
    let api = &html[at(&html, "412 ms</span>")..];
    let p95 = &api[at(api, r#"<path class="q" d=""#)..];
    let p95 = &p95[..at(p95, "\"/>")];
    let p50 = &api[at(api, r#"<path d=""#)..];
    let p50 = &p50[..at(p50, "\"/>")];
    // p50: points 5 and 6 missing, so two runs.
    assert_eq!(p50.matches('M').count(), 2, "{p50}");
    assert!(p50.contains("M70.0 "), "{p50}");
    // p95: 5, 6, 8 and 10 missing, so points 7 and 9 stand alone, each drawn as a dot.
    assert_eq!(p95.matches('M').count(), 4, "{p95}");
    assert!(p95.contains("M90.0 ") && p95.contains("l0 0"), "{p95}");
    // The maximum reaches the top margin.
    assert!(p95.ends_with("L230.0 2.0"), "{p95}");
}

#[test]
fn options_hide_what_is_not_wanted() {
    let mut v = fixture::view();
    v.options.show_uptime = false;
    v.options.show_response_times = false;
    v.options.show_regions = false;
    let html = render(&v);
    assert!(!html.contains("tabindex"));
    assert!(!html.contains("days ago"));
    assert!(!html.contains("% uptime"));
    assert!(!html.contains(r#"<p class="lg""#));
    assert!(!html.contains("<svg"));
    assert!(!html.contains("Failing from"));
    assert!(html.contains("Public API") && html.contains("Partial outage"));
}

#[test]
fn past_incidents_cover_fourteen_days_newest_first() {
    let html = render(&fixture::view());
    let past = &html[at(&html, r#"<h2 id="h-past">Past incidents</h2>"#)..];
    assert_eq!(past.matches(r#"<div class="dy">"#).count(), 14);
    let today = at(
        past,
        r#"<h3><time datetime="2026-12-03">3 Dec 2026</time></h3>"#,
    );
    let yesterday = at(
        past,
        r#"<h3><time datetime="2026-12-02">2 Dec 2026</time></h3>"#,
    );
    let login = at(past, r#"id="inc_login""#);
    let dec1 = at(past, "1 Dec 2026</time></h3>");
    let db_minor = at(past, r#"id="mnt_db_minor""#);
    let nov30 = at(past, "30 Nov 2026</time></h3>");
    let nov28 = at(past, "28 Nov 2026</time></h3>");
    let dns = at(past, r#"id="inc_dns""#);
    let last = at(
        past,
        r#"<h3><time datetime="2026-11-20">20 Nov 2026</time></h3>"#,
    );
    assert!(today < yesterday && yesterday < login && login < dec1);
    assert!(dec1 < db_minor && db_minor < nov30 && nov28 < dns && dns < last);
    // Resolved updates thread newest first too.
    let resolved = at(past, "This incident has been resolved.");
    let investigating = at(past, "Some users cannot log in");
    assert!(login < resolved && resolved < investigating);
    // Today had no resolved incident; active ones are not history; the 20-day-old one is out.
    assert!(past[today..yesterday].contains("No incidents reported."));
    assert!(!past.contains("inc_api_errors") && !past.contains("inc_s3_slow"));
    assert!(!html.contains("Webhook delays"));
    assert_eq!(past.matches("No incidents reported.").count(), 11);
    assert!(!html.contains("19 Nov 2026</time></h3>"));
}

#[test]
fn everything_is_escaped() {
    let mut v = fixture::view();
    v.title = "<b>Acme</b> \"status\"".into();
    v.description = Some("Tom & Jerry's".into());
    v.groups[0].name = Some("<em>Core</em>".into());
    v.groups[0].components[0].name = "<script>alert(1)</script>".into();
    v.groups[0].components[0].description = Some("<img src=x onerror=alert(1)>".into());
    v.groups[0].components[0].regions.failing = vec!["<eu>".into()];
    v.incidents[0].name = "Outage <now>".into();
    v.incidents[0].updates[0].body = "</p><script>x</script>".into();
    v.base_path = "/a\"><script>".into();
    let html = render(&v);
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script") && !lower.contains("<img") && !lower.contains("<em>"));
    // askama writes numeric character references.
    assert!(html.contains(r#"<span class="n">&#60;script&#62;alert(1)&#60;/script&#62;</span>"#));
    assert!(html.contains(
        r#"aria-label="Daily uptime of &#60;script&#62;alert(1)&#60;/script&#62;, oldest first""#
    ));
    assert!(html.contains("<p>&#60;img src=x onerror=alert(1)&#62;</p>"));
    assert!(html.contains("<title>&#60;b&#62;Acme&#60;/b&#62; &#34;status&#34;</title>"));
    assert!(html.contains("Tom &#38; Jerry&#39;s"));
    assert!(html.contains("<h3>&#60;em&#62;Core&#60;/em&#62;</h3>"));
    assert!(html.contains("<h3>Outage &#60;now&#62;</h3>"));
    assert!(html.contains("<p>&#60;/p&#62;&#60;script&#62;x&#60;/script&#62;</p>"));
    assert!(html.contains("Failing from 1 of 5 regions: &#60;eu&#62;"));
    assert!(html.contains(r#"href="/a&#34;&#62;&#60;script&#62;/history.atom""#));
}

#[test]
fn same_input_same_bytes() {
    let v = fixture::large_view(20);
    assert_eq!(render(&v), render(&v.clone()));
}

#[test]
fn twenty_components_by_ninety_days_stay_under_30_kb_gzipped() {
    let v = fixture::large_view(20);
    assert_eq!(v.components().count(), 20);
    assert!(v.components().all(|c| c.days.len() == 90));
    let html = render(&v);
    assert_eq!(html.matches("tabindex=\"0\"").count(), 1_800);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let gzipped = gz
        .write_all(html.as_bytes())
        .and_then(|()| gz.finish())
        .map(|b| b.len());
    let Ok(size) = gzipped else {
        panic!("gzip failed: {gzipped:?}");
    };
    println!(
        "20 components x 90 days: {} bytes of HTML, {size} bytes gzipped",
        html.len()
    );
    assert!(size < 30 * 1024, "{size} bytes gzipped");
}

#[test]
fn history_window_is_relative_to_generation_time() {
    let mut v = fixture::view();
    v.generated_at_ms = NOW + DAY;
    let html = render(&v);
    assert!(html.contains(r#"<h3><time datetime="2026-12-04">4 Dec 2026</time></h3>"#));
    assert!(!html.contains(r#"<h3><time datetime="2026-11-20">"#));
}

#[test]
fn fewer_history_days_show_the_newest_bars_and_the_matching_figure() {
    let mut v = fixture::view();
    v.options.history_days = 30;
    let html = render(&v);
    assert_eq!(html.matches(r#"tabindex="0""#).count(), 7 * 30);
    assert!(html.contains("<span>30 days ago</span><span>99.80 % uptime</span>"));
    assert!(html.contains(r#"aria-label="4 Nov 2026: 91.66 % up, down 2 h""#));
    assert!(!html.contains("5 Sep 2026"));
    v.options.history_days = 7;
    assert!(render(&v).contains("<span>7 days ago</span><span>99.60 % uptime</span>"));
    // More days asked than held: all of them.
    v.options.history_days = 365;
    assert_eq!(render(&v).matches(r#"tabindex="0""#).count(), 7 * 90);
}

#[test]
fn absurd_numbers_render_without_panicking() {
    for t in [i64::MIN, -1, 0, i64::MAX] {
        let mut v = fixture::view();
        v.generated_at_ms = t;
        v.updated_at_ms = t;
        v.stale = Some(Stale { since_ms: t });
        let c = &mut v.groups[0].components[0];
        c.days[0].down_s = i64::MAX;
        c.days[0].degraded_s = i64::MIN;
        c.days[0].uptime_pct = Some(f64::NAN);
        c.days[1].uptime_pct = Some(f64::INFINITY);
        c.uptime.quarter = Some(f64::NEG_INFINITY);
        c.regions.voting = 0;
        c.latency[0].p50_ms = Some(f64::NAN);
        c.latency[1].p95_ms = Some(-5.0);
        c.latency[2].p95_ms = Some(f64::INFINITY);
        v.maintenances[0].scheduled_for_ms = t;
        v.incidents[0].updates[0].created_at_ms = t;
        let html = render(&v);
        assert!(html.contains("Failing from 2 of 2 regions"));
        assert!(crate::api_v2::summary(&v).is_ok());
        assert!(crate::atom(&v).ends_with("</feed>\n"));
        assert!(crate::rss(&v).ends_with("</rss>\n"));
    }
}
