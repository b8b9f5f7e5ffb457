//! HTTP(S) probe: one request, judged on status code and body content.
//!
//! Each probe owns a `reqwest::Client` configured for its spec (redirects, certificate checks,
//! user agent) with connection pooling disabled, so every run pays, and therefore measures, a
//! fresh DNS lookup, TCP connect and TLS handshake, as a first-time visitor would.

use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netpulse_protocol::check::{HttpSpec, StatusMatch};
use netpulse_protocol::json_path::{JsonPath, Segment};
use netpulse_protocol::result::ErrorClass;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Url};
use tokio::time::Instant;

use super::{ms, ProbeBuildError, ProbeContext, ProbeOutcome};

/// Most body bytes a probe reads; the rest is never downloaded, so a huge or endless response
/// cannot exhaust the node's memory or bandwidth.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Redirects followed when the spec asks to follow them.
pub const MAX_REDIRECTS: usize = 10;

/// Longest excerpt of the expected body text quoted in an assertion message.
const NEEDLE_QUOTE_CHARS: usize = 64;

/// A validated HTTP check with its own client.
pub struct HttpProbe {
    client: Client,
    url: Url,
    method: Method,
    headers: HeaderMap,
    body: Option<String>,
    expect_status: Vec<StatusMatch>,
    body_contains: Option<String>,
    body_regex: Option<regex::Regex>,
    json: Option<JsonCheck>,
    phases: Phases,
}

/// Connection phase timings of the current run, written by the client's resolver and
/// connector layer (each probe owns its client). Summed over redirect hops.
#[derive(Debug, Default, Clone, Copy)]
struct PhaseClock {
    /// Name resolution.
    dns: Duration,
    /// The whole connector call: resolution, TCP connect and, for https, the TLS handshake.
    connector: Duration,
    /// Connections opened.
    connections: u32,
}

type Phases = Arc<Mutex<PhaseClock>>;

fn lock(p: &Phases) -> std::sync::MutexGuard<'_, PhaseClock> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// The system resolver, timed.
struct TimedResolver {
    phases: Phases,
}

impl reqwest::dns::Resolve for TimedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let phases = self.phases.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let start = Instant::now();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await;
            lock(&phases).dns += start.elapsed();
            let addrs: Vec<SocketAddr> = found?.collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Wraps reqwest's connector to time each connection (resolve + connect + TLS).
#[derive(Clone)]
struct TimingLayer {
    phases: Phases,
}

impl<S> tower::Layer<S> for TimingLayer {
    type Service = TimedConnector<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimedConnector {
            inner,
            phases: self.phases.clone(),
        }
    }
}

#[derive(Clone)]
struct TimedConnector<S> {
    inner: S,
    phases: Phases,
}

impl<S, R> tower::Service<R> for TimedConnector<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let start = Instant::now();
        let fut = self.inner.call(req);
        let phases = self.phases.clone();
        Box::pin(async move {
            let out = fut.await;
            let mut p = lock(&phases);
            p.connector += start.elapsed();
            p.connections += 1;
            out
        })
    }
}

/// An assertion on one value of a JSON response.
#[derive(Debug)]
struct JsonCheck {
    path: JsonPath,
    expect: JsonExpect,
}

#[derive(Debug)]
enum JsonExpect {
    /// The value must exist.
    Exists,
    /// The value must equal this.
    Equals(serde_json::Value),
    /// The value must contain this.
    Contains(String),
}

/// Largest compiled size of a `body_regex`, so a hostile pattern cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl HttpProbe {
    /// Validates the spec (URL, method, headers) and builds the client.
    pub fn build(spec: &HttpSpec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
        let url =
            Url::parse(spec.url.trim()).map_err(|e| ProbeBuildError::InvalidUrl(e.to_string()))?;
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(ProbeBuildError::UnsupportedScheme(other.to_owned())),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ProbeBuildError::InvalidUrl("URL has no host".into()));
        }
        let method = Method::from_bytes(spec.method.trim().as_bytes())
            .map_err(|_| ProbeBuildError::InvalidMethod(spec.method.clone()))?;

        let mut headers = HeaderMap::new();
        for (index, (name, value)) in spec.headers.iter().enumerate() {
            let header_name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| ProbeBuildError::InvalidHeaderName { index })?;
            let mut header_value =
                HeaderValue::from_str(value).map_err(|_| ProbeBuildError::InvalidHeaderValue {
                    name: header_name.as_str().to_owned(),
                })?;
            // Keeps the value out of any `Debug` output of the map.
            header_value.set_sensitive(true);
            headers.append(header_name, header_value);
        }

        let user_agent = HeaderValue::from_str(&ctx.user_agent)
            .map_err(|_| ProbeBuildError::InvalidUserAgent)?;
        let redirect = if spec.follow_redirects {
            reqwest::redirect::Policy::limited(MAX_REDIRECTS)
        } else {
            reqwest::redirect::Policy::none()
        };
        let body_regex = match spec.body_regex.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => Some(
                regex::RegexBuilder::new(r)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| ProbeBuildError::InvalidField {
                        field: "body_regex",
                        reason: e.to_string(),
                    })?,
            ),
            None => None,
        };
        let json = match spec.json_path.as_deref() {
            Some(p) => {
                let path = JsonPath::parse(p).map_err(|e| ProbeBuildError::InvalidField {
                    field: "json_path",
                    reason: e.to_string(),
                })?;
                let expect = match (&spec.json_equals, &spec.json_contains) {
                    (Some(eq), _) => JsonExpect::Equals(
                        serde_json::from_str(eq)
                            .unwrap_or_else(|_| serde_json::Value::String(eq.clone())),
                    ),
                    (None, Some(c)) => JsonExpect::Contains(c.clone()),
                    (None, None) => JsonExpect::Exists,
                };
                Some(JsonCheck { path, expect })
            }
            None => None,
        };
        let mut builder = Client::builder();
        if let Some(pem) = spec.ca_pem.as_deref() {
            let roots = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                ProbeBuildError::InvalidField {
                    field: "ca_pem",
                    reason: describe(&e),
                }
            })?;
            if roots.is_empty() {
                return Err(ProbeBuildError::InvalidField {
                    field: "ca_pem",
                    reason: "no certificate".into(),
                });
            }
            // The operator named the CA of this service: trust it alone.
            builder = builder.tls_certs_only(roots);
        }
        let phases = Phases::default();
        let client = builder
            .dns_resolver(Arc::new(TimedResolver {
                phases: phases.clone(),
            }))
            .connector_layer(TimingLayer {
                phases: phases.clone(),
            })
            .user_agent(user_agent)
            // Lets the run read the server certificate for expiry facts.
            .tls_info(true)
            .redirect(redirect)
            .tls_danger_accept_invalid_certs(spec.insecure_skip_verify)
            // A fresh connection per run: the check measures connect and handshake every time.
            .pool_max_idle_per_host(0)
            // Probe the target itself, never through a proxy from the node's environment.
            .no_proxy()
            // One attempt per run; a retried request would hide the failure being measured.
            .retry(reqwest::retry::never())
            .build()
            .map_err(|e| ProbeBuildError::Client(describe(&e)))?;

        Ok(Self {
            client,
            url,
            method,
            headers,
            body: spec.body.clone(),
            expect_status: spec.expect_status.clone(),
            body_contains: spec.body_contains.clone(),
            body_regex,
            json,
            phases,
        })
    }

    /// Performs one request. Never enforces a timeout itself (see `Probe::run`).
    pub async fn run(&self) -> ProbeOutcome {
        // Runs of one check do not overlap unless its timeout exceeds its interval; then the
        // phases of the overlapping runs mix (documented).
        *lock(&self.phases) = PhaseClock::default();
        let start = Instant::now();
        let mut request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }

        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return ProbeOutcome::down(classify(&e), describe(&e), Vec::new()),
        };
        let ttfb = start.elapsed();
        let status = response.status().as_u16();
        let cert_days_left = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|t| t.peer_certificate())
            .and_then(days_left);

        // Read the body up to the limit, keeping it only when an assertion needs it.
        let keep = self.body_contains.as_deref().is_some_and(|n| !n.is_empty())
            || self.body_regex.is_some()
            || self.json.is_some();
        let mut kept: Vec<u8> = Vec::new();
        let mut body_bytes = 0usize;
        let mut truncated = false;
        let mut body_error = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_BODY_BYTES - body_bytes;
                    let take = chunk.len().min(room);
                    if keep {
                        kept.extend_from_slice(&chunk[..take]);
                    }
                    body_bytes += take;
                    if chunk.len() > room {
                        truncated = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(e);
                    break;
                }
            }
        }
        // Without pooling, dropping the response closes the connection, abandoning the rest.
        drop(response);
        let total = start.elapsed();

        let phases = *lock(&self.phases);
        let mut metrics = vec![
            ("dns_ms".to_owned(), ms(phases.dns)),
            (
                "connect_ms".to_owned(),
                ms(phases.connector.saturating_sub(phases.dns)),
            ),
            ("time_to_first_byte_ms".to_owned(), ms(ttfb)),
            ("total_ms".to_owned(), ms(total)),
            ("status_code".to_owned(), f64::from(status)),
            ("body_bytes".to_owned(), body_bytes as f64),
            (
                "body_truncated".to_owned(),
                if truncated { 1.0 } else { 0.0 },
            ),
        ];
        if let Some(days) = cert_days_left {
            metrics.push(("cert_days_left".to_owned(), days));
        }

        if !status_accepted(&self.expect_status, status) {
            return ProbeOutcome::down(
                ErrorClass::Status,
                format!(
                    "status {status}, expected {}",
                    expected_text(&self.expect_status)
                ),
                metrics,
            );
        }
        if let Some(e) = body_error {
            return ProbeOutcome::down(
                classify(&e),
                format!("reading body after {body_bytes} bytes: {}", describe(&e)),
                metrics,
            );
        }
        if let Some(needle) = self.body_contains.as_deref() {
            if keep && !contains(&kept, needle.as_bytes()) {
                let quoted: String = needle.chars().take(NEEDLE_QUOTE_CHARS).collect();
                let ellipsis = if quoted.len() < needle.len() {
                    "..."
                } else {
                    ""
                };
                let scope = if truncated {
                    format!(" (searched the first {MAX_BODY_BYTES} bytes; body truncated)")
                } else {
                    String::new()
                };
                return ProbeOutcome::down(
                    ErrorClass::Assertion,
                    format!("body does not contain {quoted:?}{ellipsis}{scope}"),
                    metrics,
                );
            }
        }
        if let Some(re) = &self.body_regex {
            if !re.is_match(&String::from_utf8_lossy(&kept)) {
                let quoted: String = re.as_str().chars().take(NEEDLE_QUOTE_CHARS).collect();
                return ProbeOutcome::down(
                    ErrorClass::Assertion,
                    format!("body does not match /{quoted}/"),
                    metrics,
                );
            }
        }
        if let Some(check) = &self.json {
            if let Err(why) = check.evaluate(&kept) {
                return ProbeOutcome::down(ErrorClass::Assertion, why, metrics);
            }
        }
        ProbeOutcome::up(metrics)
    }
}

/// Whole days until the certificate's notAfter (negative when expired).
fn days_left(der: &[u8]) -> Option<f64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some(((not_after - now) as f64 / 86_400.0).floor())
}

impl JsonCheck {
    fn evaluate(&self, body: &[u8]) -> Result<(), String> {
        let doc: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        let mut cur = &doc;
        for seg in &self.path.0 {
            let next = match seg {
                Segment::Key(k) => cur.get(k.as_str()),
                Segment::Index(i) => cur.get(*i),
            };
            cur = next.ok_or_else(|| format!("JSON path {} not found", self.path))?;
        }
        let shown = || {
            let full = cur.to_string();
            let mut t: String = full.chars().take(128).collect();
            if t.len() < full.len() {
                t.push_str("...");
            }
            t
        };
        match &self.expect {
            JsonExpect::Exists => Ok(()),
            JsonExpect::Equals(want) if cur == want => Ok(()),
            JsonExpect::Equals(want) => Err(format!(
                "JSON path {} is {}, expected {want}",
                self.path,
                shown()
            )),
            JsonExpect::Contains(needle) => {
                let found = match cur {
                    serde_json::Value::String(s) => s.contains(needle.as_str()),
                    // An element equal to the needle, read as JSON when it is JSON ("2", "true"),
                    // else as a string.
                    serde_json::Value::Array(items) => {
                        let want = serde_json::from_str(needle)
                            .unwrap_or_else(|_| serde_json::Value::String(needle.clone()));
                        items
                            .iter()
                            .any(|v| *v == want || v.as_str() == Some(needle.as_str()))
                    }
                    other => other.to_string().contains(needle.as_str()),
                };
                if found {
                    Ok(())
                } else {
                    Err(format!(
                        "JSON path {} ({}) does not contain {needle:?}",
                        self.path,
                        shown()
                    ))
                }
            }
        }
    }
}

/// Shows the shape of the check but none of its secrets: header values, request body and
/// URL password are left out, so a probe can be logged safely.
impl std::fmt::Debug for HttpProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut url = self.url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("redacted"));
        }
        let header_names: Vec<&str> = self.headers.keys().map(HeaderName::as_str).collect();
        f.debug_struct("HttpProbe")
            .field("method", &self.method.as_str())
            .field("url", &url.as_str())
            .field("headers", &header_names)
            .field("body_len", &self.body.as_ref().map(String::len))
            .field("expect_status", &self.expect_status)
            .field("body_contains", &self.body_contains)
            .finish_non_exhaustive()
    }
}

fn status_accepted(expect: &[StatusMatch], status: u16) -> bool {
    if expect.is_empty() {
        (200..300).contains(&status)
    } else {
        expect.iter().any(|m| m.matches(status))
    }
}

fn expected_text(expect: &[StatusMatch]) -> String {
    if expect.is_empty() {
        return "2xx".to_owned();
    }
    expect
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Walks an error and everything under it. `io::Error::source` skips the error it wraps
/// (it returns the wrapped error's source), so the wrapped error is visited explicitly:
/// that is where rustls and hyper-util put the interesting part.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut next = Some(err);
    let mut depth = 0;
    std::iter::from_fn(move || {
        let current = next?;
        depth += 1;
        next = if depth > 32 {
            None
        } else if let Some(inner) = current
            .downcast_ref::<io::Error>()
            .and_then(|e| e.get_ref())
        {
            Some(inner as &(dyn StdError + 'static))
        } else {
            current.source()
        };
        Some(current)
    })
}

/// Maps a reqwest error to the most precise class. Order matters: a TLS failure is also a
/// connect error, and a refused connection is too.
fn classify(err: &reqwest::Error) -> ErrorClass {
    let io_kind_is = |kind: io::ErrorKind| {
        chain(err).any(|e| {
            e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == kind)
        })
    };
    if err.is_dns() {
        ErrorClass::Dns
    } else if chain(err).any(|e| e.is::<rustls::Error>()) {
        ErrorClass::Tls
    } else if io_kind_is(io::ErrorKind::ConnectionRefused) {
        ErrorClass::Refused
    } else if err.is_timeout() {
        ErrorClass::Timeout
    } else if err.is_connect() {
        ErrorClass::Connect
    } else {
        // The connection was up: malformed response, early close, too many redirects.
        ErrorClass::Protocol
    }
}

/// A readable message from the error chain. reqwest's own message would include the URL,
/// which may carry credentials, so it is left out; header values never appear in these
/// errors.
fn describe(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (i, e) in chain(err).enumerate() {
        let text = if i == 0 {
            top_level_text(err)
        } else {
            e.to_string()
        };
        if text.is_empty() || parts.last().is_some_and(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

fn top_level_text(err: &reqwest::Error) -> String {
    if err.is_redirect() {
        "error following redirect".into()
    } else if err.is_decode() {
        "error decoding response body".into()
    } else if err.is_body() {
        "request or response body error".into()
    } else if err.is_builder() {
        "request could not be built".into()
    } else {
        "error sending request".into()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use netpulse_protocol::check::ProbeSpec;
    use netpulse_protocol::result::CheckStatus;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::probe::Probe;

    const SECRET: &str = "s3cr3t-token-value";

    /// What the test server does with one request.
    #[derive(Clone)]
    enum Reply {
        /// Write these bytes, then close.
        Raw(Vec<u8>),
        /// Write each part, pausing in between, then close.
        Parts(Vec<Vec<u8>>),
        /// Keep the connection open and never answer.
        Hang,
        /// Write these bytes, then keep the connection open and send nothing more.
        ThenHang(Vec<u8>),
    }

    type Handler = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

    /// A tiny HTTP/1.1 server on 127.0.0.1:0. Records every raw request it receives.
    struct TestServer {
        addr: SocketAddr,
        requests: Arc<Mutex<Vec<String>>>,
    }

    impl TestServer {
        async fn start(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local addr");
            let requests = Arc::new(Mutex::new(Vec::new()));
            let handler: Handler = Arc::new(handler);
            let recorded = requests.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let handler = handler.clone();
                    let recorded = recorded.clone();
                    tokio::spawn(async move {
                        handle(stream, handler, recorded).await;
                    });
                }
            });
            Self { addr, requests }
        }

        fn url(&self, path: &str) -> String {
            format!("http://{}{}", self.addr, path)
        }

        fn requests(&self) -> Vec<String> {
            self.requests.lock().expect("lock").clone()
        }
    }

    async fn handle(mut stream: TcpStream, handler: Handler, recorded: Arc<Mutex<Vec<String>>>) {
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        let header_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            match stream.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let content_length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < header_end + content_length {
            match stream.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        recorded
            .lock()
            .expect("lock")
            .push(String::from_utf8_lossy(&buf).to_string());
        match handler(&path) {
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes).await;
            }
            Reply::Parts(parts) => {
                for part in parts {
                    if stream.write_all(&part).await.is_err() {
                        return;
                    }
                    let _ = stream.flush().await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Reply::ThenHang(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
        let _ = stream.shutdown().await;
    }

    fn response(status: &str, extra_headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in extra_headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }

    fn ok(body: &str) -> Reply {
        Reply::Raw(response("200 OK", &[], body.as_bytes()))
    }

    fn spec(url: String) -> HttpSpec {
        HttpSpec {
            url,
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            expect_status: Vec::new(),
            body_contains: None,
            follow_redirects: false,
            insecure_skip_verify: false,
            body_regex: None,
            json_path: None,
            json_equals: None,
            json_contains: None,
            ca_pem: None,
        }
    }

    fn ctx() -> ProbeContext {
        ProbeContext::for_node("eu-west", "n-abc")
    }

    async fn run(spec: HttpSpec) -> ProbeOutcome {
        run_with(spec, Duration::from_secs(10)).await
    }

    async fn run_with(spec: HttpSpec, timeout: Duration) -> ProbeOutcome {
        let probe = Probe::build(&ProbeSpec::Http(spec), &ctx()).expect("valid spec");
        probe.run(timeout).await
    }

    fn message(outcome: &ProbeOutcome) -> &str {
        outcome
            .error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or("")
    }

    /// A port nothing listens on: bound, then released.
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        port
    }

    #[tokio::test]
    async fn up_on_200_with_metrics() {
        let server = TestServer::start(|_| ok("hello world")).await;
        let outcome = run(spec(server.url("/health"))).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.metric("status_code"), Some(200.0));
        assert_eq!(outcome.metric("body_bytes"), Some(11.0));
        assert_eq!(outcome.metric("body_truncated"), Some(0.0));
        let ttfb = outcome.metric("time_to_first_byte_ms").expect("ttfb");
        let total = outcome.metric("total_ms").expect("total");
        assert!(ttfb > 0.0 && ttfb <= total, "ttfb {ttfb} total {total}");
        assert!(outcome.duration > Duration::ZERO);
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn sends_method_headers_body_and_user_agent() {
        let server = TestServer::start(|_| ok("created")).await;
        let mut s = spec(server.url("/submit?x=1"));
        s.method = "POST".into();
        s.headers = vec![("X-Probe-Test".into(), "yes".into())];
        s.body = Some("payload-123".into());
        let outcome = run(s).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let req = requests[0].to_ascii_lowercase();
        assert!(req.starts_with("post /submit?x=1 http/1.1\r\n"), "{req}");
        assert!(req.contains("x-probe-test: yes\r\n"), "{req}");
        assert!(req.ends_with("\r\n\r\npayload-123"), "{req}");
        let ua = format!("user-agent: {}\r\n", ctx().user_agent).to_ascii_lowercase();
        assert!(req.contains(&ua), "{req}");
    }

    #[tokio::test]
    async fn each_run_opens_a_fresh_connection() {
        let server = TestServer::start(|_| {
            // A keep-alive response on a connection the server keeps open but never reads
            // again: a client that reused it would wait forever on its second request.
            Reply::ThenHang(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec())
        })
        .await;
        let probe =
            Probe::build(&ProbeSpec::Http(spec(server.url("/"))), &ctx()).expect("valid spec");
        for _ in 0..3 {
            let outcome = probe.run(Duration::from_secs(3)).await;
            assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        }
        // The server records one request per accepted connection: each run connected anew.
        assert_eq!(server.requests().len(), 3);
    }

    #[tokio::test]
    async fn wrong_status_is_status_error() {
        let server =
            TestServer::start(|_| Reply::Raw(response("503 Service Unavailable", &[], b"down")))
                .await;
        let outcome = run(spec(server.url("/"))).await;
        assert_eq!(outcome.status, CheckStatus::Down);
        assert_eq!(outcome.error_class(), Some(ErrorClass::Status));
        assert_eq!(message(&outcome), "status 503, expected 2xx");
        assert_eq!(outcome.metric("status_code"), Some(503.0));
    }

    #[tokio::test]
    async fn explicit_expected_status_list() {
        let server = TestServer::start(|path| match path {
            "/gone" => Reply::Raw(response("410 Gone", &[], b"")),
            _ => Reply::Raw(response("404 Not Found", &[], b"")),
        })
        .await;
        let mut accepted = spec(server.url("/gone"));
        accepted.expect_status = vec![StatusMatch::Code(410)];
        let outcome = run(accepted).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");

        let mut rejected = spec(server.url("/missing"));
        rejected.expect_status = vec![StatusMatch::Code(200), StatusMatch::Class(3)];
        let outcome = run(rejected).await;
        assert_eq!(outcome.error_class(), Some(ErrorClass::Status));
        assert_eq!(message(&outcome), "status 404, expected 200, 3xx");
    }

    #[tokio::test]
    async fn body_contains_present_and_missing() {
        let server = TestServer::start(|_| ok("status: all systems operational")).await;
        let mut present = spec(server.url("/"));
        present.body_contains = Some("operational".into());
        let outcome = run(present).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");

        let mut missing = spec(server.url("/"));
        missing.body_contains = Some("degraded".into());
        let outcome = run(missing).await;
        assert_eq!(outcome.status, CheckStatus::Down);
        assert_eq!(outcome.error_class(), Some(ErrorClass::Assertion));
        assert!(message(&outcome).contains("\"degraded\""), "{outcome:?}");
    }

    #[tokio::test]
    async fn body_match_spans_chunks() {
        // Sent in separate writes with pauses, so the needle straddles read boundaries.
        let server = TestServer::start(|_| {
            let body = "first half NEED|LE second half".replace('|', "");
            let full = response("200 OK", &[], body.as_bytes());
            let split = full.len() - "LE second half".len();
            Reply::Parts(vec![full[..split].to_vec(), full[split..].to_vec()])
        })
        .await;
        let mut s = spec(server.url("/"));
        s.body_contains = Some("NEEDLE".into());
        let outcome = run(s).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    }

    #[tokio::test]
    async fn body_is_read_at_most_one_mib() {
        let mut body = vec![b'a'; 3 * MAX_BODY_BYTES];
        body.extend_from_slice(b"TAIL-MARKER");
        let server = TestServer::start(move |_| Reply::Raw(response("200 OK", &[], &body))).await;

        let plain = run(spec(server.url("/"))).await;
        assert_eq!(plain.status, CheckStatus::Up, "{plain:?}");
        assert_eq!(plain.metric("body_bytes"), Some(MAX_BODY_BYTES as f64));
        assert_eq!(plain.metric("body_truncated"), Some(1.0));

        let mut s = spec(server.url("/"));
        s.body_contains = Some("TAIL-MARKER".into());
        let outcome = run(s).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Assertion),
            "{outcome:?}"
        );
        assert!(message(&outcome).contains("truncated"), "{outcome:?}");
    }

    #[tokio::test]
    async fn connection_refused() {
        let port = closed_port().await;
        let outcome = run(spec(format!("http://127.0.0.1:{port}/"))).await;
        assert_eq!(outcome.status, CheckStatus::Down);
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Refused),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let server = TestServer::start(|_| Reply::Hang).await;
        let timeout = Duration::from_millis(300);
        let outcome = run_with(spec(server.url("/")), timeout).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Timeout),
            "{outcome:?}"
        );
        assert!(outcome.duration >= timeout, "{:?}", outcome.duration);
        assert!(
            outcome.duration < Duration::from_secs(5),
            "{:?}",
            outcome.duration
        );
    }

    #[tokio::test]
    async fn slow_body_times_out() {
        // Headers arrive at once, the body never completes: the timeout covers the body too.
        let server = TestServer::start(|_| {
            Reply::ThenHang(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial".to_vec())
        })
        .await;
        let outcome = run_with(spec(server.url("/")), Duration::from_millis(150)).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Timeout),
            "{outcome:?}"
        );
    }

    fn redirecting(path: &str) -> Reply {
        match path {
            "/old" => Reply::Raw(response("302 Found", &[("Location", "/new")], b"")),
            "/new" => ok("landed"),
            "/loop" => Reply::Raw(response("302 Found", &[("Location", "/loop")], b"")),
            _ => Reply::Raw(response("404 Not Found", &[], b"")),
        }
    }

    #[tokio::test]
    async fn redirect_followed_when_asked() {
        let server = TestServer::start(redirecting).await;
        let mut s = spec(server.url("/old"));
        s.follow_redirects = true;
        s.body_contains = Some("landed".into());
        let outcome = run(s).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn redirect_judged_itself_when_not_followed() {
        let server = TestServer::start(redirecting).await;
        let outcome = run(spec(server.url("/old"))).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Status),
            "{outcome:?}"
        );
        assert_eq!(message(&outcome), "status 302, expected 2xx");
        assert_eq!(server.requests().len(), 1);

        let mut accept_3xx = spec(server.url("/old"));
        accept_3xx.expect_status = vec![StatusMatch::Class(3)];
        assert_eq!(run(accept_3xx).await.status, CheckStatus::Up);
    }

    #[tokio::test]
    async fn redirect_loop_is_protocol_error() {
        let server = TestServer::start(redirecting).await;
        let mut s = spec(server.url("/loop"));
        s.follow_redirects = true;
        let outcome = run(s).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Protocol),
            "{outcome:?}"
        );
        assert!(message(&outcome).contains("redirect"), "{outcome:?}");
        // The first request plus at most MAX_REDIRECTS follow-ups.
        assert_eq!(server.requests().len(), MAX_REDIRECTS + 1);
    }

    #[tokio::test]
    async fn unresolvable_name_is_dns_error() {
        let outcome = run(spec("http://no-such-host.netpulse.invalid/".into())).await;
        assert_eq!(outcome.error_class(), Some(ErrorClass::Dns), "{outcome:?}");
    }

    #[tokio::test]
    async fn malformed_response_is_protocol_error() {
        let server = TestServer::start(|_| Reply::Raw(b"THIS IS NOT HTTP\r\n\r\n".to_vec())).await;
        let outcome = run(spec(server.url("/"))).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Protocol),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn close_without_response_is_protocol_error() {
        let server = TestServer::start(|_| Reply::Raw(Vec::new())).await;
        let outcome = run(spec(server.url("/"))).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Protocol),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn truncated_body_is_protocol_error() {
        // Content-Length promises more than is sent before the close.
        let server = TestServer::start(|_| {
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort".to_vec())
        })
        .await;
        let outcome = run(spec(server.url("/"))).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Protocol),
            "{outcome:?}"
        );
        assert_eq!(outcome.metric("status_code"), Some(200.0));
    }

    #[tokio::test]
    async fn header_values_never_appear_in_messages() {
        let server =
            TestServer::start(|_| Reply::Raw(response("500 Internal Server Error", &[], b"")))
                .await;
        let port = closed_port().await;
        for url in [server.url("/"), format!("http://127.0.0.1:{port}/")] {
            let mut s = spec(url);
            s.headers = vec![("Authorization".into(), format!("Bearer {SECRET}"))];
            let outcome = run(s).await;
            assert_eq!(outcome.status, CheckStatus::Down);
            assert!(!format!("{outcome:?}").contains(SECRET), "{outcome:?}");
        }
        let mut logged = spec(format!("http://user:{SECRET}@{}/", server.addr));
        logged.headers = vec![("Authorization".into(), format!("Bearer {SECRET}"))];
        logged.body = Some(format!("password={SECRET}"));
        let probe = Probe::build(&ProbeSpec::Http(logged), &ctx()).expect("valid spec");
        let shown = format!("{probe:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("authorization"), "{shown}");

        let mut bad = spec(server.url("/"));
        bad.headers = vec![("Authorization".into(), format!("{SECRET}\r\nX: y"))];
        let err = HttpProbe::build(&bad, &ctx()).expect_err("newline in header value");
        assert!(!err.to_string().contains(SECRET), "{err}");
        assert!(!format!("{err:?}").contains(SECRET), "{err:?}");
    }

    #[test]
    fn build_rejects_bad_specs() {
        let base = || spec("http://example.test/".into());
        type Expect = fn(&ProbeBuildError) -> bool;
        let cases: Vec<(HttpSpec, Expect)> = vec![
            (
                HttpSpec {
                    url: "not a url".into(),
                    ..base()
                },
                |e| matches!(e, ProbeBuildError::InvalidUrl(_)),
            ),
            (
                HttpSpec {
                    url: "".into(),
                    ..base()
                },
                |e| matches!(e, ProbeBuildError::InvalidUrl(_)),
            ),
            (
                HttpSpec {
                    url: "ftp://example.test/".into(),
                    ..base()
                },
                |e| matches!(e, ProbeBuildError::UnsupportedScheme(s) if s == "ftp"),
            ),
            (
                HttpSpec {
                    method: "GE T".into(),
                    ..base()
                },
                |e| matches!(e, ProbeBuildError::InvalidMethod(_)),
            ),
            (
                HttpSpec {
                    method: "".into(),
                    ..base()
                },
                |e| matches!(e, ProbeBuildError::InvalidMethod(_)),
            ),
            (
                HttpSpec {
                    headers: vec![("Bad Name".into(), "v".into())],
                    ..base()
                },
                |e| matches!(e, ProbeBuildError::InvalidHeaderName { index: 0 }),
            ),
            (
                HttpSpec {
                    headers: vec![("X-Ok".into(), "a\nb".into())],
                    ..base()
                },
                |e| matches!(e, ProbeBuildError::InvalidHeaderValue { name } if name == "x-ok"),
            ),
        ];
        for (s, expected) in cases {
            match HttpProbe::build(&s, &ctx()) {
                Err(e) => assert!(expected(&e), "{s:?} gave {e:?}"),
                Ok(_) => panic!("{s:?} should not build"),
            }
        }
        let bad_ua = ProbeContext {
            user_agent: "a\r\nb".into(),
        };
        assert!(matches!(
            HttpProbe::build(&base(), &bad_ua),
            Err(ProbeBuildError::InvalidUserAgent)
        ));
        // Odd but valid inputs build.
        let odd = HttpSpec {
            method: "PROPFIND".into(),
            body_contains: Some(String::new()),
            expect_status: vec![StatusMatch::Class(9)],
            ..base()
        };
        assert!(HttpProbe::build(&odd, &ctx()).is_ok());
    }

    #[tokio::test]
    async fn empty_needle_and_impossible_status_do_not_panic() {
        let server = TestServer::start(|_| ok("")).await;
        let mut s = spec(server.url("/"));
        s.body_contains = Some(String::new());
        assert_eq!(run(s).await.status, CheckStatus::Up);
        let mut s = spec(server.url("/"));
        s.expect_status = vec![StatusMatch::Class(9)];
        let outcome = run(s).await;
        assert_eq!(outcome.error_class(), Some(ErrorClass::Status));
        assert_eq!(message(&outcome), "status 200, expected 9xx");
    }

    /// An HTTPS server on 127.0.0.1 whose certificate comes from a CA nobody trusts.
    /// Runs rustls on blocking std sockets in threads, so no extra TLS crate is needed.
    fn start_tls_server(body: &'static str) -> SocketAddr {
        start_tls_server_with_ca(body).0
    }

    /// A TLS server with a certificate from a fresh private CA; returns the CA's PEM too.
    fn start_tls_server_with_ca(body: &'static str) -> (SocketAddr, String) {
        use netpulse_protocol::identity::ClusterCa;
        let ca = ClusterCa::generate().expect("ca");
        let ca_pem = ca.cert_pem().to_owned();
        let identity = ca
            .issue_coordinator(&["127.0.0.1".parse().expect("ip")])
            .expect("cert");
        let config =
            rustls::ServerConfig::builder_with_provider(netpulse_protocol::tls::provider())
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(identity.cert_chain.clone(), identity.key.clone_key())
                .expect("server config");
        let config = Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let config = config.clone();
                std::thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut tmp) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    let _ = tls.write_all(&response("200 OK", &[], body.as_bytes()));
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        (addr, ca_pem)
    }

    #[tokio::test]
    async fn untrusted_certificate_is_tls_error_unless_skipped() {
        let addr = start_tls_server("secure hello");
        let url = format!("https://127.0.0.1:{}/", addr.port());

        let outcome = run(spec(url.clone())).await;
        assert_eq!(outcome.error_class(), Some(ErrorClass::Tls), "{outcome:?}");

        let mut insecure = spec(url);
        insecure.insecure_skip_verify = true;
        insecure.body_contains = Some("secure hello".into());
        let outcome = run(insecure).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    }

    #[tokio::test]
    async fn custom_ca_is_trusted_and_certificate_expiry_is_reported() {
        let (addr, ca_pem) = start_tls_server_with_ca("secure hello");
        let mut s = spec(format!("https://127.0.0.1:{}/", addr.port()));
        s.ca_pem = Some(ca_pem);
        let outcome = run(s).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        // The test CA issues leaf certificates for 825 days.
        let days = outcome.metric("cert_days_left").expect("cert facts");
        assert!((800.0..=825.0).contains(&days), "{days}");
        let mut bad = spec(format!("https://127.0.0.1:{}/", addr.port()));
        bad.ca_pem = Some("not pem".into());
        assert!(matches!(
            Probe::build(&ProbeSpec::Http(bad), &ctx()),
            Err(ProbeBuildError::InvalidField {
                field: "ca_pem",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn connection_phases_are_timed() {
        let server = TestServer::start(|_| ok("hello")).await;
        let url = format!("http://localhost:{}/", server.addr.port());
        let outcome = run(spec(url)).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        let (dns, connect, ttfb, total) = (
            outcome.metric("dns_ms").expect("dns"),
            outcome.metric("connect_ms").expect("connect"),
            outcome.metric("time_to_first_byte_ms").expect("ttfb"),
            outcome.metric("total_ms").expect("total"),
        );
        assert!(dns > 0.0 && connect > 0.0, "{outcome:?}");
        assert!(
            dns + connect <= ttfb && ttfb <= total,
            "phases nest: {outcome:?}"
        );
        // TLS is part of the connect phase for https.
        let (addr, ca_pem) = start_tls_server_with_ca("secure hello");
        let mut s = spec(format!("https://127.0.0.1:{}/", addr.port()));
        s.ca_pem = Some(ca_pem);
        let outcome = run(s).await;
        assert_eq!(
            outcome.metric("dns_ms"),
            Some(0.0),
            "an IP literal needs no lookup"
        );
        assert!(
            outcome.metric("connect_ms").is_some_and(|c| c > 0.0),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn body_regex_matches_or_is_an_assertion() {
        let server = TestServer::start(|_| ok("build 4711 healthy")).await;
        let mut s = spec(server.url("/"));
        s.body_regex = Some(r"build \d+ (healthy|degraded)".into());
        assert_eq!(run(s.clone()).await.status, CheckStatus::Up);
        s.body_regex = Some(r"^down$".into());
        let outcome = run(s).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Assertion),
            "{outcome:?}"
        );
        assert!(message(&outcome).contains("does not match"), "{outcome:?}");
        let mut invalid = spec(server.url("/"));
        invalid.body_regex = Some("(unclosed".into());
        assert!(Probe::build(&ProbeSpec::Http(invalid), &ctx()).is_err());
    }

    #[tokio::test]
    async fn json_path_equals_contains_and_missing() {
        let body = r#"{"status": "ok", "version": 7, "checks": [{"name": "db", "ok": true}], "tags": ["eu", "prod"]}"#;
        let server = TestServer::start(move |_| ok(body)).await;
        let check = |path: &str, eq: Option<&str>, contains: Option<&str>| {
            let mut s = spec(server.url("/"));
            s.json_path = Some(path.into());
            s.json_equals = eq.map(Into::into);
            s.json_contains = contains.map(Into::into);
            s
        };
        for (s, up) in [
            (check("$.status", Some("ok"), None), true),
            (check("$.status", Some("\"ok\""), None), true),
            (check("$.version", Some("7"), None), true),
            (check("$.version", Some("8"), None), false),
            (check("$.checks[0].ok", Some("true"), None), true),
            (check("$.checks[0].name", None, Some("d")), true),
            (check("$.tags", None, Some("prod")), true),
            (check("$.tags", None, Some("us")), false),
            (check("$.checks[3]", None, None), false),
            (check("$.missing", None, None), false),
        ] {
            let desc = format!(
                "{:?} {:?} {:?}",
                s.json_path, s.json_equals, s.json_contains
            );
            let outcome = run(s).await;
            if up {
                assert_eq!(outcome.status, CheckStatus::Up, "{desc}: {outcome:?}");
            } else {
                assert_eq!(
                    outcome.error_class(),
                    Some(ErrorClass::Assertion),
                    "{desc}: {outcome:?}"
                );
            }
        }
        let not_json = TestServer::start(|_| ok("<html>")).await;
        let mut s = spec(not_json.url("/"));
        s.json_path = Some("$.status".into());
        let outcome = run(s).await;
        assert!(message(&outcome).contains("not JSON"), "{outcome:?}");
    }

    #[tokio::test]
    async fn https_to_plain_http_server_is_tls_error() {
        // The server answers the ClientHello with plain text.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut tmp = [0u8; 1024];
                let _ = stream.read(&mut tmp).await;
                let _ = stream
                    .write_all(&response("400 Bad Request", &[], b"plain http here"))
                    .await;
            }
        });
        let outcome = run(spec(format!("https://{addr}/"))).await;
        assert_eq!(outcome.error_class(), Some(ErrorClass::Tls), "{outcome:?}");
    }
}
