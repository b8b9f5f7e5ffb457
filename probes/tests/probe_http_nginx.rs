//! The HTTP probe against a real nginx started by the test (issue 4 asks for real servers, not
//! only the hand-written one in `probes/src/http.rs`): nginx's framing, redirects, error pages,
//! rate-limited bodies and OpenSSL's TLS are what production checks meet.
//!
//! Each test starts its own nginx (foreground, single process, everything under a temporary
//! directory, free ports on 127.0.0.1, ::1 and 127.0.0.2), so tests share no state and can run
//! in parallel; it is killed and reaped on drop. The HTTPS server block presents a certificate
//! for `localhost` and 127.0.0.1 issued by a CA made here with rcgen.
//!
//! The server and its site are `netpulse_test_support::nginx`. `scripts/test-peers.sh` installs
//! nginx. A missing nginx fails the tests with a message naming the package and that script;
//! nothing is skipped.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use netpulse_probes::{Probe, ProbeContext, ProbeOutcome};
use netpulse_protocol::check::{HttpSpec, ProbeSpec, StatusMatch};
use netpulse_protocol::result::{CheckStatus, ErrorClass};
use netpulse_test_support::nginx::{Nginx, BIG_HEAD, BIG_TAIL, CERT_DAYS, INDEX_HTML, STATUS_JSON};
use netpulse_test_support::ports::closed_port;
use support::{message, metric};

/// The probe's body cap (`probe::http::MAX_BODY_BYTES`), restated so a change is noticed here.
const BODY_CAP: f64 = (1u64 << 20) as f64;

fn ctx() -> ProbeContext {
    ProbeContext::for_node("test", "n-nginx")
}

/// A GET of `url` with nothing expected but a 2xx.
fn get(url: impl Into<String>) -> HttpSpec {
    HttpSpec::get(url)
}

/// Runs the spec once with a generous timeout.
async fn run(spec: HttpSpec) -> ProbeOutcome {
    run_within(spec, Duration::from_secs(5)).await
}

async fn run_within(spec: HttpSpec, timeout: Duration) -> ProbeOutcome {
    let spec = ProbeSpec::Http(spec);
    let probe = Probe::build(&spec, &ctx()).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
    let outcome = probe.run(timeout).await;
    // Shown with --nocapture, and for failing tests.
    println!("{spec:?}\n  -> {outcome:?}");
    outcome
}

/// Asserts the metrics every answered plain-HTTP request to an IP literal has: no name
/// resolution, a connect, a first byte no later than the end, the status and the body size.
fn assert_answered(o: &ProbeOutcome, status: u16, body_bytes: usize) {
    assert_eq!(metric(o, "dns_ms"), 0.0, "IP literal: {o:?}");
    let connect = metric(o, "connect_ms");
    let ttfb = metric(o, "time_to_first_byte_ms");
    let total = metric(o, "total_ms");
    assert!(connect > 0.0 && connect <= ttfb, "{o:?}");
    assert!(ttfb <= total && total < 5000.0, "{o:?}");
    assert_eq!(metric(o, "status_code"), f64::from(status), "{o:?}");
    assert_eq!(metric(o, "body_bytes"), body_bytes as f64, "{o:?}");
    assert_eq!(metric(o, "body_truncated"), 0.0, "{o:?}");
    assert_eq!(o.metric("tls_ms"), None, "plain http: {o:?}");
    assert_eq!(o.metric("cert_days_left"), None, "plain http: {o:?}");
}

fn assert_down(o: &ProbeOutcome, class: ErrorClass, message_part: &str) {
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(class), "{o:?}");
    assert!(message(o).contains(message_part), "{o:?}");
}

/// nginx's raw answer to `method path` (head, body as sent), asked over a plain socket, not
/// through the probe under test: for what has no file to compare with (error and redirect
/// pages such as "<center>404 Not Found</center>...") and for the framing.
fn direct(nginx: &Nginx, method: &str, path: &str) -> (String, String) {
    let mut stream =
        TcpStream::connect(("127.0.0.1", nginx.http)).expect("connect to nginx directly");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set read timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .expect("send request to nginx");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read nginx response");
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("nginx response has a head");
    (head.to_owned(), body.to_owned())
}

/// The length of the body nginx sends for `method path` (not chunked).
fn direct_body_len(nginx: &Nginx, method: &str, path: &str) -> usize {
    let (head, body) = direct(nginx, method, path);
    assert!(head.contains("Content-Length:"), "{head}");
    body.len()
}

/// The access log lines for requests whose line contains `needle`, once `done` accepts them.
/// nginx writes a line when a request ends, which can be a moment after the probe returned.
fn access_log(nginx: &Nginx, needle: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let path = nginx.dir.path().join("access.log");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let text = std::fs::read_to_string(&path).expect("read nginx access.log");
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect();
        if done(&lines) || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn static_page_is_up_with_every_metric() {
    let nginx = Nginx::start();
    let mut spec = get(nginx.url("/index.html"));
    spec.body_contains = Some("Hello from nginx".into());
    spec.body_regex = Some(r"build \d{4} all systems nominal".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(o.error, None);
    assert_answered(&o, 200, INDEX_HTML.len());
    assert!(o.duration > Duration::ZERO, "{o:?}");

    // Through a name: resolution is measured.
    let o = run(get(format!("http://localhost:{}/index.html", nginx.http))).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert!(metric(&o, "dns_ms") > 0.0, "{o:?}");
    assert_eq!(metric(&o, "body_bytes"), INDEX_HTML.len() as f64);
}

#[tokio::test]
async fn body_assertions_that_fail_are_assertion_class() {
    let nginx = Nginx::start();
    let mut spec = get(nginx.url("/index.html"));
    spec.body_contains = Some("Goodbye from nginx".into());
    let o = run(spec).await;
    assert_down(
        &o,
        ErrorClass::Assertion,
        "body does not contain \"Goodbye from nginx\"",
    );
    // The response was measured all the same.
    assert_answered(&o, 200, INDEX_HTML.len());

    let mut spec = get(nginx.url("/index.html"));
    spec.body_regex = Some(r"build \d{5}".into());
    let o = run(spec).await;
    assert_down(
        &o,
        ErrorClass::Assertion,
        r"body does not match /build \d{5}/",
    );
    assert_answered(&o, 200, INDEX_HTML.len());
}

#[tokio::test]
async fn json_path_assertions_against_a_static_json_file() {
    let nginx = Nginx::start();
    let json = |path: &str, equals: &str| {
        let mut spec = get(nginx.url("/status.json"));
        spec.json_path = Some(path.into());
        spec.json_equals = Some(equals.into());
        spec
    };
    for (path, equals) in [
        ("$.status", "ok"),
        ("$.status", "\"ok\""),
        ("$.checks.db", "up"),
        ("$.checks.n", "3"),
        ("$['checks']['n']", "3"),
    ] {
        let o = run(json(path, equals)).await;
        assert_eq!(o.status, CheckStatus::Up, "{path} == {equals}: {o:?}");
        assert_answered(&o, 200, STATUS_JSON.len());
    }

    let o = run(json("$.checks.db", "down")).await;
    assert_down(
        &o,
        ErrorClass::Assertion,
        "JSON path $.checks.db is \"up\", expected \"down\"",
    );
    assert_answered(&o, 200, STATUS_JSON.len());

    // The number 3 is not the string "3".
    let o = run(json("$.checks.n", "\"3\"")).await;
    assert_down(&o, ErrorClass::Assertion, "expected \"3\"");

    let o = run(json("$.checks.cache", "up")).await;
    assert_down(
        &o,
        ErrorClass::Assertion,
        "JSON path $.checks.cache not found",
    );

    let mut spec = get(nginx.url("/status.json"));
    spec.json_path = Some("$.checks".into());
    spec.json_contains = Some("\"db\":\"up\"".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");

    // HTML is not JSON.
    let mut spec = get(nginx.url("/index.html"));
    spec.json_path = Some("$.status".into());
    let o = run(spec).await;
    assert_down(&o, ErrorClass::Assertion, "body is not JSON");
}

#[tokio::test]
async fn error_statuses_are_status_class_with_the_code() {
    let nginx = Nginx::start();
    let o = run(get(nginx.url("/nope.html"))).await;
    assert_down(&o, ErrorClass::Status, "status 404, expected 2xx");
    assert_answered(&o, 404, direct_body_len(&nginx, "GET", "/nope.html"));

    let o = run(get(nginx.url("/unavailable"))).await;
    assert_down(&o, ErrorClass::Status, "status 503, expected 2xx");
    assert_answered(&o, 503, direct_body_len(&nginx, "GET", "/unavailable"));

    // A body assertion is not even looked at when the status is wrong.
    let mut spec = get(nginx.url("/nope.html"));
    spec.body_contains = Some("never there".into());
    let o = run(spec).await;
    assert_down(&o, ErrorClass::Status, "status 404");
}

#[tokio::test]
async fn expected_status_list_or_class_accepts_404() {
    let nginx = Nginx::start();
    let with = |expect: Vec<StatusMatch>| {
        let mut spec = get(nginx.url("/nope.html"));
        spec.expect_status = expect;
        spec.body_contains = Some("404 Not Found".into());
        spec
    };
    for expect in [
        vec![StatusMatch::Code(404)],
        vec![StatusMatch::Code(200), StatusMatch::Code(404)],
        vec![StatusMatch::Class(4)],
        vec![StatusMatch::Class(2), StatusMatch::Class(4)],
    ] {
        let o = run(with(expect.clone())).await;
        assert_eq!(o.status, CheckStatus::Up, "{expect:?}: {o:?}");
        assert_eq!(metric(&o, "status_code"), 404.0);
    }
    // Expecting 404 makes a 200 a failure, named with what was expected.
    let mut spec = get(nginx.url("/index.html"));
    spec.expect_status = vec![StatusMatch::Code(404), StatusMatch::Class(5)];
    let o = run(spec).await;
    assert_down(&o, ErrorClass::Status, "status 200, expected 404, 5xx");
    assert_answered(&o, 200, INDEX_HTML.len());
}

#[tokio::test]
async fn redirects_followed_reach_the_page() {
    let nginx = Nginx::start();
    // A relative 301 (nginx makes it absolute) and an absolute 302.
    for path in ["/moved", "/found"] {
        let mut spec = get(nginx.url(path));
        spec.follow_redirects = true;
        spec.body_contains = Some("Hello from nginx".into());
        let o = run(spec).await;
        assert_eq!(o.status, CheckStatus::Up, "{path}: {o:?}");
        // The final response is judged and measured; connects are summed over both hops.
        assert_answered(&o, 200, INDEX_HTML.len());
    }
}

#[tokio::test]
async fn redirects_change_the_method_as_browsers_do() {
    let nginx = Nginx::start();
    let post = |path: &str| {
        let mut spec = get(nginx.url(path));
        spec.method = "POST".into();
        spec.body = Some("ping".into());
        spec.follow_redirects = true;
        spec
    };
    // 301 after a POST: the next hop is a GET without body, which the static file answers.
    let o = run(post("/moved")).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_answered(&o, 200, INDEX_HTML.len());
    // 307 resends the POST, which the static file refuses.
    let o = run(post("/temporary")).await;
    assert_down(&o, ErrorClass::Status, "status 405");
    let lines = access_log(&nginx, " /index.html ", |l| l.len() >= 2);
    assert!(
        lines.len() == 2
            && lines[0].contains("\"GET /index.html ")
            && lines[1].contains("\"POST /index.html "),
        "{lines:?}"
    );

    // Spec headers go with every hop.
    let mut spec = get(nginx.url("/to-echo"));
    spec.follow_redirects = true;
    spec.headers = vec![("X-Probe".into(), "after-redirect".into())];
    spec.body_contains = Some("x-probe=after-redirect".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
}

#[tokio::test]
async fn redirects_not_followed_are_judged_themselves() {
    let nginx = Nginx::start();
    let o = run(get(nginx.url("/moved"))).await;
    assert_down(&o, ErrorClass::Status, "status 301, expected 2xx");
    assert_eq!(metric(&o, "status_code"), 301.0);

    let o = run(get(nginx.url("/found"))).await;
    assert_down(&o, ErrorClass::Status, "status 302, expected 2xx");
    assert_eq!(metric(&o, "status_code"), 302.0);

    let mut spec = get(nginx.url("/moved"));
    spec.expect_status = vec![StatusMatch::Code(301)];
    spec.body_contains = Some("301 Moved Permanently".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_answered(&o, 301, direct_body_len(&nginx, "GET", "/moved"));
}

#[tokio::test]
async fn redirect_loop_is_protocol_error() {
    let nginx = Nginx::start();
    let mut spec = get(nginx.url("/loop"));
    spec.follow_redirects = true;
    let o = run(spec).await;
    assert_down(&o, ErrorClass::Protocol, "too many redirects");
    assert!(metric(&o, "connect_ms") > 0.0, "{o:?}");
    // The first request and ten redirects followed, each answered 301.
    let lines = access_log(&nginx, "GET /loop ", |l| l.len() >= 11);
    assert_eq!(lines.len(), 11, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains("\" 301 ")), "{lines:?}");
    assert_eq!(o.metric("status_code"), None, "{o:?}");
}

#[tokio::test]
async fn large_body_is_read_up_to_the_cap_only() {
    let nginx = Nginx::start();
    let mut spec = get(nginx.url("/big.bin"));
    spec.body_contains = Some(BIG_HEAD.into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "status_code"), 200.0);
    assert_eq!(metric(&o, "body_bytes"), BODY_CAP, "{o:?}");
    assert_eq!(metric(&o, "body_truncated"), 1.0, "{o:?}");

    // Only counted, not kept, without an assertion: same cap.
    let o = run(get(nginx.url("/big.bin"))).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "body_bytes"), BODY_CAP, "{o:?}");
    assert_eq!(metric(&o, "body_truncated"), 1.0, "{o:?}");

    // What lies beyond the cap is not searched, and the message says so.
    let mut spec = get(nginx.url("/big.bin"));
    spec.body_contains = Some(BIG_TAIL.into());
    let o = run(spec).await;
    assert_down(&o, ErrorClass::Assertion, "body truncated");
    assert_eq!(metric(&o, "body_truncated"), 1.0, "{o:?}");
}

#[tokio::test]
async fn chunked_bodies_are_counted_and_capped() {
    let nginx = Nginx::start();
    let (head, _) = direct(&nginx, "GET", "/chunked/index.html");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");

    let mut spec = get(nginx.url("/chunked/index.html"));
    spec.body_contains = Some("Hello from chunked nginx".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_answered(&o, 200, INDEX_HTML.len() + "chunked ".len());

    let o = run(get(nginx.url("/chunked/big.bin"))).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "body_bytes"), BODY_CAP, "{o:?}");
    assert_eq!(metric(&o, "body_truncated"), 1.0, "{o:?}");
}

#[tokio::test]
async fn connection_close_and_no_content_are_read_to_the_end() {
    let nginx = Nginx::start();
    let (head, _) = direct(&nginx, "GET", "/close/index.html");
    assert!(head.contains("Connection: close"), "{head}");

    let mut spec = get(nginx.url("/close/index.html"));
    spec.body_contains = Some("Hello from nginx".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_answered(&o, 200, INDEX_HTML.len());

    let o = run(get(nginx.url("/close/big.bin"))).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_eq!(metric(&o, "body_bytes"), BODY_CAP, "{o:?}");
    assert_eq!(metric(&o, "body_truncated"), 1.0, "{o:?}");

    let o = run(get(nginx.url("/empty"))).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_answered(&o, 204, 0);
}

#[tokio::test]
async fn post_to_a_static_file_is_405() {
    let nginx = Nginx::start();
    let mut spec = get(nginx.url("/index.html"));
    spec.method = "POST".into();
    spec.headers = vec![("Content-Type".into(), "application/json".into())];
    spec.body = Some(r#"{"ping":true}"#.into());
    let o = run(spec.clone()).await;
    assert_down(&o, ErrorClass::Status, "status 405, expected 2xx");
    assert_answered(&o, 405, direct_body_len(&nginx, "POST", "/index.html"));

    // HEAD gets the head only.
    let mut head = get(nginx.url("/index.html"));
    head.method = "HEAD".into();
    let o = run(head).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_answered(&o, 200, 0);
}

#[tokio::test]
async fn custom_headers_and_user_agent_reach_nginx() {
    let nginx = Nginx::start();
    let mut spec = get(nginx.url("/echo/probe"));
    spec.headers = vec![("X-Probe".into(), "hello-from-netpulse".into())];
    spec.body_contains = Some("x-probe=hello-from-netpulse".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_answered(&o, 200, "x-probe=hello-from-netpulse".len());

    let agent = ctx().user_agent;
    let mut spec = get(nginx.url("/echo/agent"));
    spec.body_contains = Some(format!("user-agent={agent}"));
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert!(agent.starts_with("NetPulse/") && agent.contains("node=n-nginx"));

    // A spec header of the same name wins over the node's user agent.
    let mut spec = get(nginx.url("/echo/agent"));
    spec.headers = vec![("User-Agent".into(), "custom-agent/1".into())];
    spec.body_regex = Some("^user-agent=custom-agent/1$".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
}

#[tokio::test]
async fn ipv6_loopback_with_bracketed_host_header() {
    let nginx = Nginx::start();
    let host = format!("[::1]:{}", nginx.http);
    let mut spec = get(format!("http://{host}/echo/host"));
    spec.body_contains = Some(format!("host={host}"));
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert_answered(&o, 200, format!("host={host}").len());
}

#[tokio::test]
async fn https_with_the_test_ca_is_up_with_tls_metrics() {
    let nginx = Nginx::start();
    for host in ["localhost", "127.0.0.1"] {
        let mut spec = get(nginx.https_url(host, "/index.html"));
        spec.ca_pem = Some(nginx.ca_pem.clone());
        spec.body_contains = Some("Hello from nginx".into());
        let probe = Probe::build(&ProbeSpec::Http(spec), &ctx()).expect("valid https spec");
        // Twice through one probe: the second run may resume the TLS session, and must
        // report the same.
        for run in 0..2 {
            let o = probe.run(Duration::from_secs(5)).await;
            println!("{host} run {run} -> {o:?}");
            assert_eq!(o.status, CheckStatus::Up, "{host} run {run}: {o:?}");
            let tls = metric(&o, "tls_ms");
            assert!(
                tls > 0.0 && tls <= metric(&o, "time_to_first_byte_ms"),
                "{o:?}"
            );
            let days = metric(&o, "cert_days_left");
            assert!(
                ((CERT_DAYS - 1) as f64..=CERT_DAYS as f64).contains(&days),
                "{host} run {run}: {o:?}"
            );
            assert_eq!(metric(&o, "status_code"), 200.0);
            assert_eq!(metric(&o, "body_bytes"), INDEX_HTML.len() as f64);
            assert!(metric(&o, "connect_ms") > 0.0);
        }
    }
}

#[tokio::test]
async fn redirect_from_http_to_https() {
    let nginx = Nginx::start();
    // The check's roots apply to the https hop of an http check.
    let mut spec = get(nginx.url("/secure"));
    spec.follow_redirects = true;
    spec.ca_pem = Some(nginx.ca_pem.clone());
    spec.body_contains = Some("Hello from nginx".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert!(
        metric(&o, "dns_ms") > 0.0,
        "the second hop resolves localhost: {o:?}"
    );
    assert!(metric(&o, "tls_ms") > 0.0, "{o:?}");
    assert!(
        metric(&o, "cert_days_left") >= (CERT_DAYS - 1) as f64,
        "{o:?}"
    );
    assert_eq!(metric(&o, "status_code"), 200.0);

    // Without them, the system roots (set up on the first https hop) do not know the test CA.
    let mut spec = get(nginx.url("/secure"));
    spec.follow_redirects = true;
    let o = run(spec).await;
    assert_down(&o, ErrorClass::Tls, "UnknownIssuer");
    assert!(metric(&o, "tls_ms") > 0.0, "{o:?}");
}

#[tokio::test]
async fn https_without_the_ca_is_tls_class() {
    let nginx = Nginx::start();
    let o = run(get(nginx.https_url("localhost", "/index.html"))).await;
    assert_down(&o, ErrorClass::Tls, "TLS handshake with localhost failed");
    assert!(message(&o).contains("UnknownIssuer"), "{o:?}");
    // The handshake was measured; no response was.
    assert!(metric(&o, "tls_ms") > 0.0, "{o:?}");
    assert_eq!(o.metric("status_code"), None, "{o:?}");
}

#[tokio::test]
async fn https_insecure_skip_verify_is_up() {
    let nginx = Nginx::start();
    let mut spec = get(nginx.https_url("127.0.0.2", "/index.html"));
    spec.insecure_skip_verify = true;
    spec.body_contains = Some("Hello from nginx".into());
    let o = run(spec).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");
    assert!(metric(&o, "tls_ms") > 0.0, "{o:?}");
    // The certificate is not verified but still read.
    assert!(
        metric(&o, "cert_days_left") >= (CERT_DAYS - 1) as f64,
        "{o:?}"
    );
}

#[tokio::test]
async fn https_name_not_in_the_certificate_is_tls_class() {
    let nginx = Nginx::start();
    // The certificate covers localhost and 127.0.0.1, not 127.0.0.2.
    let mut spec = get(nginx.https_url("127.0.0.2", "/index.html"));
    spec.ca_pem = Some(nginx.ca_pem.clone());
    let o = run(spec).await;
    assert_down(&o, ErrorClass::Tls, "TLS handshake with 127.0.0.2 failed");
    assert!(
        message(&o).contains("certificate not valid for name \"127.0.0.2\""),
        "{o:?}"
    );
    assert!(metric(&o, "tls_ms") > 0.0, "{o:?}");
}

#[tokio::test]
async fn http_to_the_https_port_is_answered_400() {
    let nginx = Nginx::start();
    // nginx answers plain HTTP on a TLS port with its own 400 page.
    let o = run(get(format!("http://127.0.0.1:{}/index.html", nginx.https))).await;
    assert_down(&o, ErrorClass::Status, "status 400");
    assert_eq!(metric(&o, "status_code"), 400.0);
}

#[tokio::test]
async fn connection_closed_without_response_is_protocol_error() {
    let nginx = Nginx::start();
    let o = run(get(nginx.url("/drop"))).await;
    assert_down(&o, ErrorClass::Protocol, "error sending request");
    // Connected, but nothing was answered.
    assert!(metric(&o, "connect_ms") > 0.0, "{o:?}");
    assert_eq!(o.metric("status_code"), None, "{o:?}");
}

#[tokio::test]
async fn slow_body_hits_the_timeout() {
    let nginx = Nginx::start();
    // Control: the same timeout is plenty for a normal page.
    let o = run_within(get(nginx.url("/index.html")), Duration::from_secs(1)).await;
    assert_eq!(o.status, CheckStatus::Up, "{o:?}");

    let o = run_within(get(nginx.url("/slow/big.bin")), Duration::from_secs(1)).await;
    assert_down(&o, ErrorClass::Timeout, "no result within 1000 ms");
    assert!(
        o.duration >= Duration::from_secs(1) && o.duration < Duration::from_secs(3),
        "{o:?}"
    );
    // The run keeps what it measured before the body stalled.
    assert_eq!(metric(&o, "status_code"), 200.0, "{o:?}");
    assert!(metric(&o, "connect_ms") > 0.0, "{o:?}");
    assert!(metric(&o, "time_to_first_byte_ms") < 1000.0, "{o:?}");
    assert_eq!(o.metric("total_ms"), None, "{o:?}");
    // nginx did answer 200 and start sending: only the body was slow. It logs the request
    // once the probe has dropped the connection.
    let lines = access_log(&nginx, "/slow/big.bin", |l| !l.is_empty());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("\" 200 "), "{lines:?}");
}

#[tokio::test]
async fn closed_port_is_refused() {
    let port = closed_port().port();
    let o = run(get(format!("http://127.0.0.1:{port}/"))).await;
    assert_down(&o, ErrorClass::Refused, &format!("127.0.0.1:{port}"));
    assert_eq!(metric(&o, "dns_ms"), 0.0);
    assert_eq!(o.metric("connect_ms"), None, "{o:?}");
    assert_eq!(o.metric("status_code"), None, "{o:?}");
}
