//! The web UI against a real in-process coordinator: login, cookie session, overview, monitor
//! detail, live events and static assets.

use std::time::Duration;

use netpulse_coordinator::node::{start, Config, Running};
use reqwest::{header, redirect, Client, StatusCode};

async fn coordinator(dir: &std::path::Path) -> Running {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cfg = Config::standalone(
        dir.to_path_buf(),
        "127.0.0.1:0".parse().expect("addr"),
        "127.0.0.1:0".parse().expect("addr"),
    );
    start(cfg).await.expect("coordinator starts")
}

async fn create_monitor(http: &Client, base: &str, key: &str, name: &str) -> String {
    let body = serde_json::json!({
        "name": name,
        "kind": "http",
        "target": "http://127.0.0.1:9/",
        "interval_s": 60,
        "regions": ["eu-west"],
    });
    let r = http
        .post(format!("{base}/v1/monitors"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("create monitor");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["data"]["id"].as_str().expect("monitor id").to_owned()
}

async fn get(http: &Client, url: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = http.get(url);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let r = req.send().await.expect("GET");
    let status = r.status();
    (status, r.text().await.expect("body"))
}

/// Stores results of `monitor` as if an edge node in eu-west had sent them.
async fn ingest_results(running: &Running, monitor: &str) {
    use netpulse_engine::command::{AgedResult, Command, IngestBatch, IngestItem, NodeIngest};
    use netpulse_engine::model::EdgeNode;
    use netpulse_protocol::result::{CheckResult, CheckStatus, ErrorClass, ProbeError};
    use netpulse_test_support::fixtures::{test_node, test_result};

    let now = netpulse_coordinator::now_ms();
    let node = EdgeNode {
        id: "edge-web-1".into(),
        version: "test".into(),
        token_id: "tok".into(),
        enrolled_at_ms: now,
        ..test_node("eu-west")
    };
    running
        .ctx
        .write(Command::RegisterNode(node))
        .await
        .expect("register node");
    let results: Vec<CheckResult> = (1..=6u64)
        .map(|seq| {
            let down = seq == 4;
            let status = if down {
                CheckStatus::Down
            } else {
                CheckStatus::Up
            };
            CheckResult {
                duration_us: 10_000 + seq * 1_000,
                error: down.then(|| ProbeError {
                    class: ErrorClass::Refused,
                    message: "connection <refused>".into(),
                }),
                metrics: vec![],
                ..test_result(seq, monitor, now - (7 - seq as i64) * 60_000, status)
            }
        })
        .collect();
    running
        .ctx
        .write(Command::Ingest(IngestBatch {
            received_at_ms: now,
            per_node: vec![NodeIngest {
                node: "edge-web-1".into(),
                sent_at_ms: Some(now),
                items: results
                    .into_iter()
                    .map(|r| {
                        IngestItem::Result(AgedResult {
                            age_ms: now.saturating_sub(r.checked_at_ms).max(0) as u64,
                            result: r,
                        })
                    })
                    .collect(),
            }],
        }))
        .await
        .expect("ingest");
}

#[tokio::test]
async fn monitor_detail_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = coordinator(dir.path()).await;
    let key = running.admin_key.clone().expect("admin key on first start");
    let base = format!("http://{}", running.http_addr);
    let http = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client");
    let cookie = format!("netpulse_key={key}");
    let id = create_monitor(&http, &base, &key, "detail <one>").await;
    let page = format!("{base}/monitors/{id}");

    // Without a session: the login form, like the overview.
    let r = http.get(&page).send().await.expect("GET detail");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/login");
    let (status, _) = get(&http, &format!("{base}/fragment/monitors/{id}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Unknown ids are a 404 page.
    let (status, html) = get(
        &http,
        &format!("{base}/monitors/mon_nope%3Cx%3E"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains("Not found") && !html.contains("mon_nope<x>"),
        "{html}"
    );
    let (status, _) = get(
        &http,
        &format!("{base}/fragment/monitors/mon_nope"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A fresh monitor: header, empty chart, no history.
    let (status, html) = get(&http, &page, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("detail &#60;one&#62;") || html.contains("detail &lt;one&gt;"),
        "{html}"
    );
    assert!(html.contains("http://127.0.0.1:9/") && html.contains("60 s"));
    assert!(html.contains("No results yet"));
    assert!(html.contains("no results in this window"));

    // The overview links to it.
    let (_, overview) = get(&http, &format!("{base}/"), Some(&cookie)).await;
    assert!(
        overview.contains(&format!("href=\"/monitors/{id}\"")),
        "{overview}"
    );

    // With results: a chart with points and a down marker, and the history.
    ingest_results(&running, &id).await;
    let (status, html) = get(&http, &page, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<svg class=\"chart\""), "{html}");
    assert_eq!(html.matches("<circle").count(), 6, "{html}");
    assert!(html.contains("class=\"pt down"));
    assert!(html.contains("<polyline"));
    assert!(!html.contains("No results yet"));
    assert!(html.contains("edge-web-1"));
    assert!(html.contains("<span class=\"err\">refused</span>"));
    assert!(!html.contains("connection <refused>"));
    assert!(html.contains("uptime <b>83.3 %</b>"), "{html}");
    let (status, fragment) = get(
        &http,
        &format!("{base}/fragment/monitors/{id}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(fragment.contains("<svg class=\"chart\"") && !fragment.contains("<html"));

    drop(http);
    running.shutdown().await;
}

#[tokio::test]
async fn login_overview_events_assets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let running = coordinator(dir.path()).await;
    let key = running.admin_key.clone().expect("admin key on first start");
    let base = format!("http://{}", running.http_addr);
    let http = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client");

    // Without a session the overview redirects to the login form.
    let r = http.get(format!("{base}/")).send().await.expect("GET /");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/login");
    let r = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET /login");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("body").contains("name=\"key\""));

    // A wrong key gets the form again, with 401 and no cookie.
    let r = http
        .post(format!("{base}/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("key=npk_0000000000000000_0000000000000000000000000000000000000000")
        .send()
        .await
        .expect("POST /login");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    assert!(r.text().await.expect("body").contains("not valid"));

    // The admin key logs in.
    let r = http
        .post(format!("{base}/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("key={key}"))
        .send()
        .await
        .expect("POST /login");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/");
    let set_cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        set_cookie.starts_with(&format!("netpulse_key={key};")),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = format!("netpulse_key={key}");

    // The overview shows a monitor created through the API.
    create_monitor(&http, &base, &key, "web <first>").await;
    let r = http
        .get(format!("{base}/"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("GET /");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .starts_with("text/html"));
    let html = r.text().await.expect("body");
    assert!(
        html.contains("web &#60;first&#62;") || html.contains("web &lt;first&gt;"),
        "{html}"
    );
    assert!(html.contains(">eu-west</th>"));
    let r = http
        .get(format!("{base}/fragment/overview"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("fragment");
    assert_eq!(r.status(), StatusCode::OK);
    let fragment = r.text().await.expect("body");
    assert!(fragment.contains("class=\"matrix\"") && !fragment.contains("<html"));
    let r = http
        .get(format!("{base}/fragment/overview"))
        .send()
        .await
        .expect("fragment");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Live events: creating another monitor produces `changed`.
    let r = http
        .get(format!("{base}/events"))
        .send()
        .await
        .expect("events");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let mut events = http
        .get(format!("{base}/events"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("events");
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()[header::CONTENT_TYPE], "text/event-stream");
    create_monitor(&http, &base, &key, "web second").await;
    let mut seen = String::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = events.chunk().await.expect("event stream") {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: changed") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(got, Ok(true), "no changed event; got {seen:?}");
    drop(events);

    // Static assets.
    let r = http
        .get(format!("{base}/static/app.js"))
        .send()
        .await
        .expect("app.js");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .starts_with("text/javascript"));
    assert!(r.headers()[header::CACHE_CONTROL]
        .to_str()
        .expect("ascii")
        .contains("max-age"));
    assert!(r.text().await.expect("body").contains("EventSource"));
    let r = http
        .get(format!("{base}/static/app.css"))
        .send()
        .await
        .expect("app.css");
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .starts_with("text/css"));

    // Logging out clears the cookie.
    let r = http
        .post(format!("{base}/logout"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .contains("Max-Age=0"));

    drop(http);
    running.shutdown().await;
}
