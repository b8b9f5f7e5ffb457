//! Tests of the pure parts of the web UI: overview model, templates, form and cookie handling.

use std::collections::BTreeMap;
use std::time::Duration;

use askama::Template;
use axum::http::HeaderMap;
use futures::StreamExt;

use super::detail::MonitorDetail;
use super::format::relative;
use super::overview::Overview;
use super::session::{form_field, login_cookie, logout_cookie, url_decode};
use super::*;
use crate::api::views::{rfc3339, ErrorView, MonitorView, NodeView, RegionView, ResultView};
use crate::store::Versions;

const NOW: i64 = 1_700_000_000_000;

fn region(
    name: &str,
    status: &'static str,
    latency: f64,
    error: Option<(&'static str, &str)>,
) -> RegionView {
    RegionView {
        region: name.to_owned(),
        status,
        last_checked_at: Some(rfc3339(NOW - 12_000)),
        latency_ms: Some(latency),
        node: Some(format!("node-{name}")),
        error: error.map(|(class, message)| ErrorView {
            class,
            message: message.to_owned(),
        }),
        stale: false,
    }
}

fn monitor(
    name: &str,
    status: &'static str,
    region_names: &[&str],
    regions: Vec<RegionView>,
) -> MonitorView {
    MonitorView {
        id: format!("mon_{}", name.len()),
        name: name.to_owned(),
        kind: "http",
        target: "http://example.test/".to_owned(),
        interval_s: 30,
        timeout_s: 10,
        paused: status == "paused",
        status,
        decision: None,
        alerting: crate::api::views::AlertingView::of(&Default::default()),
        region_names: region_names.iter().map(|s| (*s).to_owned()).collect(),
        regions,
        settings: BTreeMap::new(),
        revision: 1,
        created_at: rfc3339(NOW),
        updated_at: rfc3339(NOW),
    }
}

fn node(id: &str, region: &str, connected: bool) -> NodeView {
    NodeView {
        id: id.to_owned(),
        region: region.to_owned(),
        connected,
        last_seen: Some(rfc3339(NOW - 5_000)),
        version: "0.1.0".to_owned(),
        labels: BTreeMap::from([("rack".to_owned(), "a<1>".to_owned())]),
        enrolled_at: rfc3339(NOW - 60_000),
        revoked: false,
        results_stored: 0,
        results_duplicate: 0,
        results_rejected: 0,
        last_rejection: None,
        clock_offset_ms: None,
        clock_warning: false,
    }
}

fn sample() -> Overview {
    let monitors = vec![
        monitor(
            "shop",
            "degraded",
            &["eu-west", "us-east"],
            vec![
                region("eu-west", "up", 12.345, None),
                region(
                    "us-east",
                    "down",
                    3.21,
                    Some(("refused", "connection refused")),
                ),
            ],
        ),
        monitor("<script>alert(1)</script>", "unknown", &["eu-west"], vec![]),
        monitor(
            "everywhere",
            "up",
            &["all"],
            vec![region("eu-west", "up", 1.0, None)],
        ),
    ];
    let nodes = vec![
        node("edge-1", "eu-west", true),
        node("edge-2", "ap-south", false),
    ];
    Overview::build(&monitors, &nodes, NOW)
}

#[test]
fn matrix_columns_and_cells() {
    let ov = sample();
    // Columns: regions named by monitors, reported in results and hosting nodes; never "all".
    assert_eq!(ov.regions, ["ap-south", "eu-west", "us-east"]);
    // Rows are sorted by name: "<script>…", "everywhere", "shop".
    let names: Vec<&str> = ov.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["<script>alert(1)</script>", "everywhere", "shop"]);
    let shop = &ov.rows[2];
    assert_eq!(shop.cells.len(), 3);
    assert!(!shop.cells[0].runs, "shop does not run in ap-south");
    assert_eq!(
        (shop.cells[1].status, shop.cells[1].latency.as_str()),
        ("up", "12 ms")
    );
    assert_eq!(
        (shop.cells[2].status, shop.cells[2].latency.as_str()),
        ("down", "3.2 ms")
    );
    assert_eq!(shop.cells[2].error_class, "refused");
    assert!(shop.cells[2]
        .tooltip
        .starts_with("refused: connection refused\n"));
    assert!(shop.cells[2].tooltip.contains("(12 s ago) by node-us-east"));
    // A monitor with no results yet is unknown where it runs, "—" elsewhere.
    let pending = &ov.rows[0];
    assert!(!pending.cells[0].runs);
    assert_eq!(
        (pending.cells[1].runs, pending.cells[1].status),
        (true, "unknown")
    );
    // "all" runs everywhere: unreported regions are unknown, not "—".
    let all = &ov.rows[1];
    assert!(all.cells.iter().all(|c| c.runs));
    assert_eq!(all.cells[0].status, "unknown");
    assert_eq!(all.cells[1].status, "up");

    assert_eq!(
        (
            ov.counts.up,
            ov.counts.degraded,
            ov.counts.unknown,
            ov.counts.total
        ),
        (1, 1, 1, 3)
    );
    assert_eq!(ov.nodes[0].connection, "connected");
    assert_eq!(ov.nodes[1].connection, "disconnected");
    assert_eq!(ov.nodes[0].last_seen_ago, "5 s ago");
    assert_eq!(ov.nodes[0].labels, "rack=a<1>");
}

#[test]
fn fragment_renders_and_escapes() {
    let html = OverviewFragment { ov: sample() }.render().expect("render");
    assert!(
        !html.contains("<script>"),
        "monitor name must be escaped: {html}"
    );
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;")
    );
    assert!(!html.contains("a<1>"), "labels must be escaped");
    // Colour is never the only signal: every status cell has its text.
    assert!(html.contains("✕</span> down"));
    assert!(html.contains("title=\"refused: connection refused\n"));
    assert_eq!(html.matches("<td class=\"cell none\"").count(), 3);
    assert!(html.contains("<span class=\"lat\">12 ms</span>"));
    assert!(html.contains("edge-2"));
}

#[test]
fn page_includes_fragment_and_assets() {
    let page = OverviewPage {
        asset_version: "v1".into(),
        key_name: "admin\"<x>".into(),
        ov: sample(),
    };
    let html = page.render().expect("render");
    assert!(html.contains("<main id=\"overview\" data-fragment=\"/fragment/overview\">"));
    assert!(html.contains("/static/app.js?v=v1"));
    assert!(html.contains("<noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>"));
    assert!(html.contains("class=\"matrix\""));
    assert!(!html.contains("admin\"<x>"));

    let empty = OverviewFragment {
        ov: Overview::build(&[], &[], NOW),
    }
    .render()
    .expect("render");
    assert!(empty.contains("No monitors yet"));
    assert!(empty.contains("No edge nodes yet"));
}

#[test]
fn login_page_shows_error() {
    let html = LoginPage {
        asset_version: "v".into(),
        error: Some("That API key is not valid."),
    }
    .render()
    .expect("render");
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("name=\"key\""));
    let html = LoginPage {
        asset_version: "v".into(),
        error: None,
    }
    .render()
    .expect("render");
    assert!(!html.contains("role=\"alert\""));
}

#[test]
fn form_parsing() {
    assert_eq!(
        form_field(b"key=npk_ab_cd", "key").as_deref(),
        Some("npk_ab_cd")
    );
    assert_eq!(
        form_field(b"x=1&key=a%2Bb+c&key=second", "key").as_deref(),
        Some("a+b c")
    );
    assert_eq!(form_field(b"k%65y=v", "key").as_deref(), Some("v"));
    assert_eq!(form_field(b"key", "key").as_deref(), Some(""));
    assert_eq!(form_field(b"other=1", "key"), None);
    assert_eq!(form_field(b"", "key"), None);
    assert_eq!(url_decode(b"100%").as_deref(), Some("100%"));
    assert_eq!(url_decode(b"%zz%4").as_deref(), Some("%zz%4"));
    assert_eq!(url_decode(b"%C3%A9").as_deref(), Some("é"));
    assert_eq!(url_decode(b"%FF"), None);
}

#[test]
fn cookies() {
    let plain = HeaderMap::new();
    assert_eq!(
        login_cookie("npk_0123_abcd", &plain).as_deref(),
        Some("netpulse_key=npk_0123_abcd; HttpOnly; SameSite=Strict; Path=/")
    );
    assert_eq!(login_cookie("a;b", &plain), None);
    assert_eq!(login_cookie("", &plain), None);
    let mut tls = HeaderMap::new();
    tls.insert("x-forwarded-proto", "https".parse().expect("header"));
    assert!(login_cookie("npk_1_2", &tls)
        .expect("cookie")
        .ends_with("; Secure"));
    assert!(logout_cookie(&plain).contains("Max-Age=0"));
}

#[test]
fn relative_times() {
    assert_eq!(relative(NOW, NOW), "just now");
    assert_eq!(relative(NOW, NOW - 12_400), "12 s ago");
    assert_eq!(relative(NOW, NOW - 180_000), "3 min ago");
    assert_eq!(relative(NOW, NOW - 5 * 3_600_000), "5 h ago");
    assert_eq!(relative(NOW, NOW - 49 * 3_600_000), "2 d ago");
    assert_eq!(relative(NOW, NOW + 3_000), "in 3 s");
}

#[tokio::test]
async fn events_are_debounced() {
    let (tx, rx) = tokio::sync::watch::channel(Versions::default());
    let mut events = Box::pin(events::changes(rx, Duration::from_millis(100)));
    // A burst of changes becomes one event.
    for _ in 0..5 {
        tx.send_modify(|v| v.results += 1);
    }
    let first = tokio::time::timeout(Duration::from_secs(1), events.next())
        .await
        .expect("event");
    assert!(first.is_some());
    tx.send_modify(|v| v.config += 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    tx.send_modify(|v| v.results += 1);
    assert!(events.next().await.is_some());
    // Both changes fell into one debounce window: nothing else is pending.
    assert!(
        tokio::time::timeout(Duration::from_millis(400), events.next())
            .await
            .is_err()
    );
    // The stream ends with the state.
    drop(tx);
    assert!(events.next().await.is_none());
}

#[test]
fn assets_are_versioned() {
    assert_eq!(asset_version().len(), 16);
    assert!(APP_JS.contains("/events"));
    assert!(APP_CSS.contains("prefers-color-scheme"));
}

fn result_view(
    region: &str,
    ago_ms: i64,
    status: &'static str,
    latency_ms: f64,
    error: Option<(&'static str, &str)>,
) -> ResultView {
    ResultView {
        region: region.to_owned(),
        node: format!("node-{region}"),
        status,
        checked_at: rfc3339(NOW - ago_ms),
        latency_ms,
        error: error.map(|(class, message)| ErrorView {
            class,
            message: message.to_owned(),
        }),
        metrics: BTreeMap::new(),
        seq: 1,
        detail: Some("<b>answer</b>".to_owned()),
        facts: BTreeMap::new(),
        truncated: None,
    }
}

fn sample_detail() -> MonitorDetail {
    let m = monitor(
        "shop <main>",
        "degraded",
        &["eu-west", "us-east"],
        vec![
            region("eu-west", "up", 12.0, None),
            region(
                "us-east",
                "down",
                3.0,
                Some(("refused", "connection refused")),
            ),
        ],
    );
    // Newest first, as the store returns them.
    let mut results: Vec<ResultView> = (0..20)
        .map(|i| result_view("eu-west", i * 60_000, "up", 10.0 + i as f64, None))
        .collect();
    results.push(result_view(
        "us-east",
        30_000,
        "down",
        3.0,
        Some(("refused", "connection <refused>")),
    ));
    results.push(result_view("us-east", 90_000, "up", 40.0, None));
    MonitorDetail::build(&m, &results, &results, NOW)
}

#[test]
fn detail_model() {
    let d = sample_detail();
    let regions: Vec<&str> = d.panels.iter().map(|p| p.region.as_str()).collect();
    assert_eq!(regions, ["eu-west", "us-east"]);
    let eu = &d.panels[0];
    assert_eq!((eu.count, eu.uptime.as_str()), (20, "100 %"));
    assert_eq!((eu.p50.as_str(), eu.p95.as_str()), ("19 ms", "28 ms"));
    let us = &d.panels[1];
    assert_eq!((us.status, us.uptime.as_str()), ("down", "50.0 %"));
    assert_eq!(us.p50, "40 ms");
    assert!(us.svg.contains("class=\"pt down"));
    assert_eq!(d.history.len(), 22);
    assert_eq!(d.history[0].ago, "just now");
    assert_eq!(d.window, "last hour");
    assert_eq!(d.fragment_href, "/fragment/monitors/mon_11");
    assert_eq!(d.regions, "eu-west, us-east");

    // A fresh monitor: panels for its regions, empty charts, no history.
    let fresh = MonitorDetail::build(&monitor("new", "unknown", &["all"], vec![]), &[], &[], NOW);
    assert!(fresh.panels.is_empty());
    assert!(fresh.history.is_empty());
}

#[test]
fn detail_page_renders_and_escapes() {
    let page = MonitorPage {
        asset_version: "v1".into(),
        key_name: "admin".into(),
        d: sample_detail(),
    };
    let html = page.render().expect("render");
    assert!(html.contains("<main id=\"detail\" data-fragment=\"/fragment/monitors/mon_11\">"));
    assert!(html.contains("/static/app.js?v=v1"));
    assert!(html.contains("<noscript><meta http-equiv=\"refresh\""));
    assert!(!html.contains("shop <main>"), "name must be escaped");
    assert!(!html.contains("<b>answer</b>"), "detail must be escaped");
    assert!(!html.contains("connection <refused>"));
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 2);
    assert!(html.contains("uptime <b>50.0 %</b>"));
    assert!(html.contains("<span class=\"err\">refused</span>"));
    assert!(html.contains("Check history"));
    assert!(!html.contains("style="), "CSP forbids inline styles");
    assert!(!html.contains("<script>"), "CSP forbids inline scripts");

    let fresh = MonitorFragment {
        d: MonitorDetail::build(
            &monitor("new", "unknown", &["eu-west"], vec![]),
            &[],
            &[],
            NOW,
        ),
    }
    .render()
    .expect("render");
    assert!(fresh.contains("No results yet"));
    assert!(fresh.contains("no results in this window"));
    assert!(!fresh.contains("<html"));
}

#[test]
fn overview_links_to_detail() {
    let html = OverviewFragment { ov: sample() }.render().expect("render");
    assert!(
        html.contains("<a class=\"name\" href=\"/monitors/mon_4\">shop</a>"),
        "{html}"
    );
    assert!(APP_JS.contains("data-fragment"));
}
