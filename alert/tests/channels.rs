//! Every HTTP channel sent to a real local HTTP server (axum on 127.0.0.1:0) that records what
//! arrives; assertions are on the recorded requests, so the tests see exactly what a service
//! would see on the wire.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use netpulse_alert::{Alert, AlertEvent, ChannelConfig, RegionVote, SendError, Sender};
use netpulse_test_support::ports::closed_port;
use serde_json::{json, Value};
use sha2::Sha256;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    /// Path and query, as sent.
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    status: Arc<AtomicU16>,
}

/// A recording HTTP server. Answers `status` (200 unless told otherwise); error answers echo
/// the request path, like some APIs do, so tests can check that secrets in it are scrubbed.
struct Receiver {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    shared.requests.lock().unwrap().push(Recorded {
        method,
        path: path.clone(),
        headers,
        body: body.to_vec(),
    });
    let status = StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap();
    let mut response_headers = HeaderMap::new();
    if status.is_redirection() {
        response_headers.insert("location", "http://127.0.0.1:9/elsewhere".parse().unwrap());
    }
    let body = if status.is_success() {
        r#"{"ok":true}"#.to_string()
    } else {
        format!("{{\"error\":\"bad request for {path}\"}}")
    };
    (status, response_headers, body)
}

impl Receiver {
    async fn start() -> Self {
        let shared = Shared::default();
        shared.status.store(200, Ordering::SeqCst);
        let app = axum::Router::new()
            .fallback(record)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    fn only_request(&self) -> Recorded {
        let r = self.requests();
        assert_eq!(r.len(), 1, "{r:#?}");
        r.into_iter().next().unwrap()
    }
}

fn parse(kind: &str, config: Value) -> ChannelConfig {
    ChannelConfig::parse(kind, &config).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn down_alert() -> Alert {
    Alert::new(
        AlertEvent::MonitorDown,
        "inc-1-down-0",
        "api.example.com is DOWN: 2/3 regions failing",
        1_795_398_514_120,
    )
    .with_monitor("mon-1", "API", "https://api.example.com/health")
    .with_incident("inc-1", 1_795_398_514_120, None, false)
    .with_region("eu-west", RegionVote::Down, Some("connect timeout".into()))
    .with_region("us-east", RegionVote::Down, Some("HTTP 503".into()))
    .with_region("ap-south", RegionVote::Up, None)
}

fn up_alert() -> Alert {
    Alert::new(
        AlertEvent::MonitorUp,
        "inc-1-up",
        "api.example.com is UP after 5m",
        1_795_398_814_120,
    )
    .with_monitor("mon-1", "API", "https://api.example.com/health")
    .with_incident("inc-1", 1_795_398_514_120, Some(1_795_398_814_120), false)
}

fn user_agent_ok(r: &Recorded) {
    let ua = r.header("user-agent").unwrap_or_default();
    assert!(ua.starts_with("NetPulse/"), "user agent {ua:?}");
}

#[tokio::test]
async fn webhook_is_signed_json_with_idempotency_key() {
    let rx = Receiver::start().await;
    let secret = "whsec-0123456789abcdef";
    let cfg = parse(
        "webhook",
        json!({"url": rx.url("/hooks/netpulse"), "secret": secret}),
    );
    let alert = down_alert();
    Sender::new().send(&cfg, &alert).await.unwrap();

    let r = rx.only_request();
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.path, "/hooks/netpulse");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-netpulse-event"), Some("monitor.down"));
    assert_eq!(r.header("idempotency-key"), Some("inc-1-down-0"));
    user_agent_ok(&r);

    // Verify the signature the way a receiver would: HMAC over the raw body bytes.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&r.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.header("x-netpulse-signature"), Some(expected.as_str()));
    // And with the crate's own helper (what the docs show).
    assert_eq!(
        netpulse_alert::channel::webhook::sign(secret.as_bytes(), &r.body),
        expected
    );

    // The body is the documented Alert JSON.
    let body = r.json();
    assert_eq!(body, serde_json::to_value(&alert).unwrap());
    assert_eq!(body["event"], "monitor.down");
    assert_eq!(body["incident"]["status"], "open");
    assert_eq!(body["regions"][0]["vote"], "down");
    assert_eq!(body["timestamp"], "2026-11-23T01:48:34.120Z");
}

#[tokio::test]
async fn webhook_without_secret_is_unsigned() {
    let rx = Receiver::start().await;
    let cfg = parse("webhook", json!({"url": rx.url("/h")}));
    Sender::new()
        .send(&cfg, &Alert::test("t-1", 0))
        .await
        .unwrap();
    let r = rx.only_request();
    assert!(r.header("x-netpulse-signature").is_none());
    assert_eq!(r.header("idempotency-key"), Some("t-1"));
    assert_eq!(r.header("x-netpulse-event"), Some("test"));
}

#[tokio::test]
async fn slack_discord_teams_post_their_formats() {
    let rx = Receiver::start().await;
    let sender = Sender::new();
    let alert = down_alert();

    let slack = parse("slack", json!({"webhook_url": rx.url("/services/T/B/x")}));
    sender.send(&slack, &alert).await.unwrap();
    let discord = parse(
        "discord",
        json!({"webhook_url": rx.url("/api/webhooks/1/y")}),
    );
    sender.send(&discord, &alert).await.unwrap();
    let teams = parse("teams", json!({"webhook_url": rx.url("/workflows/z")}));
    sender.send(&teams, &alert).await.unwrap();

    let r = rx.requests();
    assert_eq!(r.len(), 3);
    for req in &r {
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.header("content-type"), Some("application/json"));
        user_agent_ok(req);
    }

    assert_eq!(r[0].path, "/services/T/B/x");
    let s = r[0].json();
    assert_eq!(s["text"], alert.summary);
    assert!(s["blocks"].as_array().is_some_and(|b| !b.is_empty()));

    assert_eq!(r[1].path, "/api/webhooks/1/y");
    let d = r[1].json();
    assert_eq!(d["content"], alert.summary);
    assert_eq!(d["embeds"][0]["title"], "DOWN: API");
    assert!(d["embeds"][0]["color"].is_u64());
    assert_eq!(d["embeds"][0]["fields"].as_array().map(Vec::len), Some(3));

    assert_eq!(r[2].path, "/workflows/z");
    let t = r[2].json();
    assert_eq!(t["type"], "message");
    assert_eq!(t["attachments"][0]["content"]["type"], "AdaptiveCard");
}

#[tokio::test]
async fn telegram_puts_the_token_in_the_path() {
    let rx = Receiver::start().await;
    let token = "123456789:AAE-tok_en";
    let cfg = parse(
        "telegram",
        json!({"bot_token": token, "chat_id": -1001234567, "api_url": rx.url("")}),
    );
    Sender::new().send(&cfg, &down_alert()).await.unwrap();
    let r = rx.only_request();
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.path, format!("/bot{token}/sendMessage"));
    let body = r.json();
    assert_eq!(body["chat_id"], "-1001234567");
    assert_eq!(body["disable_web_page_preview"], true);
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("api.example.com is DOWN"), "{text}");
    assert!(text.contains("eu-west: down (connect timeout)"), "{text}");
}

#[tokio::test]
async fn pagerduty_triggers_then_resolves_with_one_dedup_key() {
    let rx = Receiver::start().await;
    rx.answer(202);
    let key = "R0UT1NGKEY0123456789abcdefghijkl";
    let cfg = parse(
        "pagerduty",
        json!({"routing_key": key, "url": rx.url("/v2/enqueue")}),
    );
    let sender = Sender::new();
    sender.send(&cfg, &down_alert()).await.unwrap();
    sender.send(&cfg, &up_alert()).await.unwrap();

    let r = rx.requests();
    assert_eq!(r.len(), 2);
    let trigger = r[0].json();
    assert_eq!(r[0].path, "/v2/enqueue");
    assert_eq!(trigger["routing_key"], key);
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "inc-1");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(
        trigger["payload"]["source"],
        "https://api.example.com/health"
    );
    assert_eq!(trigger["payload"]["timestamp"], "2026-11-23T01:48:34.120Z");
    assert_eq!(
        trigger["payload"]["custom_details"]["regions"][1]["detail"],
        "HTTP 503"
    );
    let resolve = r[1].json();
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], "inc-1");
}

#[tokio::test]
async fn opsgenie_creates_then_closes_by_alias() {
    let rx = Receiver::start().await;
    rx.answer(202);
    let cfg = parse(
        "opsgenie",
        json!({"api_key": "0f0e-og-key", "api_url": rx.url("/"), "priority": "p2"}),
    );
    let sender = Sender::new();
    sender.send(&cfg, &down_alert()).await.unwrap();
    sender.send(&cfg, &up_alert()).await.unwrap();

    let r = rx.requests();
    assert_eq!(r.len(), 2);
    for req in &r {
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.header("authorization"), Some("GenieKey 0f0e-og-key"));
    }
    assert_eq!(r[0].path, "/v2/alerts");
    let create = r[0].json();
    assert_eq!(create["alias"], "inc-1");
    assert_eq!(create["priority"], "P2");
    assert_eq!(create["details"]["region.us-east"], "down (HTTP 503)");
    assert_eq!(r[1].path, "/v2/alerts/inc-1/close?identifierType=alias");
    assert_eq!(r[1].json()["source"], "NetPulse");
}

#[tokio::test]
async fn twilio_sends_one_form_per_recipient_with_basic_auth() {
    let rx = Receiver::start().await;
    rx.answer(201);
    let sid = "AC0123456789abcdef0123456789abcdef";
    let cfg = parse(
        "twilio",
        json!({"account_sid": sid, "auth_token": "twilio-token-xyz",
               "from": "+15005550006", "to": ["+14155550100", "+447700900123"],
               "api_url": rx.url("")}),
    );
    Sender::new().send(&cfg, &down_alert()).await.unwrap();

    let r = rx.requests();
    assert_eq!(r.len(), 2);
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{sid}:twilio-token-xyz"))
    );
    for (req, to) in r.iter().zip(["+14155550100", "+447700900123"]) {
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.path,
            format!("/2010-04-01/Accounts/{sid}/Messages.json")
        );
        assert_eq!(req.header("authorization"), Some(expected_auth.as_str()));
        assert_eq!(
            req.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        // Decode the form with an independent parser.
        let body = String::from_utf8(req.body.clone()).unwrap();
        let form: std::collections::HashMap<String, String> =
            reqwest::Url::parse(&format!("http://x/?{body}"))
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect();
        assert_eq!(form["To"], to);
        assert_eq!(form["From"], "+15005550006");
        assert!(
            form["Body"].starts_with("api.example.com is DOWN"),
            "{form:?}"
        );
        assert!(form["Body"].chars().count() <= 1600);
    }
}

#[tokio::test]
async fn status_codes_are_classified() {
    let rx = Receiver::start().await;
    let cfg = parse("webhook", json!({"url": rx.url("/h")}));
    let sender = Sender::new();
    let alert = Alert::test("k", 0);

    for (status, retryable) in [
        (500, true),
        (503, true),
        (429, true),
        (408, true),
        (400, false),
        (401, false),
        (404, false),
        (301, false),
    ] {
        rx.answer(status);
        let err = sender.send(&cfg, &alert).await.unwrap_err();
        assert_eq!(err.is_retryable(), retryable, "{status}: {err}");
        assert!(err.message().contains(&status.to_string()), "{err}");
    }
    // A redirect is reported, not followed: only the requests above reached the server.
    assert_eq!(rx.requests().len(), 8);
    rx.answer(204);
    sender.send(&cfg, &alert).await.unwrap();
}

#[tokio::test]
async fn errors_do_not_leak_secrets() {
    let rx = Receiver::start().await;
    rx.answer(400);
    let token = "987654:SECRETtoken_value";
    let cfg = parse(
        "telegram",
        json!({"bot_token": token, "chat_id": 1, "api_url": rx.url("")}),
    );
    let err = Sender::new().send(&cfg, &down_alert()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent(_)), "{err}");
    // The receiver echoed the path (with the token); the message must not carry it.
    assert!(
        err.message().contains("bad request for /bot********"),
        "{err}"
    );
    assert!(!err.to_string().contains("SECRETtoken_value"), "{err}");
}

#[tokio::test]
async fn connection_refused_is_retryable_and_hides_the_url() {
    let port = closed_port().port();
    let token = "555:REFUSEDtoken";
    let sender = Sender::new();
    let cfg = parse(
        "telegram",
        json!({"bot_token": token, "chat_id": 1, "api_url": format!("http://127.0.0.1:{port}")}),
    );
    let err = sender.send(&cfg, &down_alert()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(
        err.message().to_lowercase().contains("connection refused"),
        "{err}"
    );
    assert!(!err.to_string().contains("REFUSEDtoken"), "{err}");

    let cfg = parse(
        "webhook",
        json!({"url": format!("http://127.0.0.1:{port}/h")}),
    );
    assert!(sender
        .send(&cfg, &down_alert())
        .await
        .unwrap_err()
        .is_retryable());
}

#[tokio::test]
async fn twilio_partial_failure_reports_the_recipient() {
    let rx = Receiver::start().await;
    rx.answer(400);
    let cfg = parse(
        "twilio",
        json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "tok-secret",
               "from": "NetPulse", "to": ["+14155550100"], "api_url": rx.url("")}),
    );
    let err = Sender::new().send(&cfg, &down_alert()).await.unwrap_err();
    assert!(matches!(err, SendError::Permanent(_)), "{err}");
    assert!(err.message().contains("+14155550100"), "{err}");
    assert!(!err.message().contains("tok-secret"), "{err}");
}
