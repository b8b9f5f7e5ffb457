//! HTTP(S) probe: one request, judged on status code and body content.
//!
//! # One request, driven directly
//! A run is one request on a fresh connection, so a general HTTP client's machinery (connection
//! pool, boxed connector services, a spawned task per connection, URL conversions on every
//! request) is only overhead, and it was a large share of a check's CPU (issue 4). The probe
//! instead drives one exchange over hyper's HTTP/1.1 connection API:
//!
//! 1. resolve the host with the system resolver (skipped for an IP literal) and connect to the
//!    first address that accepts (`net`);
//! 2. for https, a rustls handshake: SNI and verification for the URL's host (no SNI for an IP
//!    literal), ALPN `http/1.1`, roots from `ca_pem` or the system (shared with the tls probe),
//!    or no verification at all with `insecure_skip_verify`;
//! 3. send the request and read the response while polling hyper's connection future in the
//!    same task: no task is spawned and no wake-up crosses tasks;
//! 4. read at most [`MAX_BODY_BYTES`] of the body, then drop the connection: it is never reused,
//!    so every run pays, and therefore measures, name resolution, connect and TLS handshake, as
//!    a first-time visitor would.
//!
//! Everything that does not change between runs (URL parts, method, headers including `Host`,
//! the rustls configuration) is built once in [`HttpProbe::build`].
//!
//! # Behaviour kept from reqwest
//! The probe used reqwest before; what its checks could observe is unchanged: the headers sent
//! (`Host`, `User-Agent`, `Accept: */*`, `Authorization: Basic` from URL credentials, each
//! overridden by a spec header of the same name), the redirect rules (301/302 turn a POST into a
//! GET without body, 303 turns anything but HEAD into a GET without body, 307/308 resend as is;
//! credentials are dropped when a redirect leaves the origin; at most [`MAX_REDIRECTS`]), TLS 1.2
//! and 1.3, and TLS session resumption between runs of one check.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures::future::Either;
use http_body_util::{BodyExt, Full};
use hyper::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_TYPE, COOKIE, HOST, LOCATION, PROXY_AUTHORIZATION, TRANSFER_ENCODING, USER_AGENT,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use netpulse_protocol::check::{HttpSpec, StatusMatch};
use netpulse_protocol::json_path::{JsonPath, Segment};
use netpulse_protocol::result::ErrorClass;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use url::{Host, Position, Url};

use super::policy::TargetPolicy;
use super::{ms, net, tls, Deadline, ProbeBuildError, ProbeContext, ProbeKind, ProbeOutcome};

/// Most body bytes a probe reads; the rest is never downloaded, so a huge or endless response
/// cannot exhaust the node's memory or bandwidth.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Redirects followed when the spec asks to follow them.
pub const MAX_REDIRECTS: usize = 10;

/// Longest excerpt of the expected body text quoted in an assertion message.
const NEEDLE_QUOTE_CHARS: usize = 64;

/// Largest compiled size of a `body_regex`, so a hostile pattern cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A validated HTTP check, with its first request and TLS configuration ready.
pub struct HttpProbe {
    /// The spec's URL as given (credentials included; `Debug` redacts them).
    url: Url,
    /// The request to the spec's URL, built once and cloned into each run's request.
    first: Target,
    /// The spec sets `Host`: it is sent on every hop instead of one derived from the URL.
    spec_host: bool,
    follow_redirects: bool,
    /// The rustls configuration. Built in `build` when the check can need it (https URL,
    /// `ca_pem` or `insecure_skip_verify`), so configuration errors surface there; otherwise
    /// on the first redirect to https, since an http check must not fail for want of system
    /// roots it may never use.
    tls: OnceLock<Result<TlsConnector, String>>,
    expect_status: Vec<StatusMatch>,
    body_contains: Option<String>,
    body_regex: Option<regex::Regex>,
    json: Option<JsonCheck>,
    /// An assertion reads the body, so it is kept (up to [`MAX_BODY_BYTES`]); otherwise it is
    /// only counted.
    keep_body: bool,
    /// The node's target policy, checked on every address of every hop before connecting, so
    /// a redirect cannot lead a check where the policy forbids.
    policy: Arc<TargetPolicy>,
}

/// One request: where it goes and what it carries. Built once for the spec's URL, and once per
/// redirect hop.
#[derive(Clone)]
struct Target {
    /// Base for resolving a relative `Location`, and the origin a redirect is compared with.
    url: Url,
    host: Host<String>,
    port: u16,
    /// `Some` for https: the name the certificate must match, sent as SNI unless an IP.
    server_name: Option<ServerName<'static>>,
    method: Method,
    /// Origin form: path and query.
    uri: Uri,
    /// Every header sent, `Host` included; values are marked sensitive.
    headers: HeaderMap,
    /// Empty when there is no body.
    body: Bytes,
}

impl Target {
    /// `headers` are complete but for `Host`, which is derived from `url` when `set_host`.
    fn new(
        url: Url,
        method: Method,
        mut headers: HeaderMap,
        body: Bytes,
        set_host: bool,
    ) -> Result<Self, String> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("unsupported URL scheme {other:?}")),
        };
        let host = match url.host() {
            Some(Host::Domain("")) | None => return Err("URL has no host".into()),
            Some(host) => host.to_owned(),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| "URL has no port".to_owned())?;
        let server_name = if https {
            Some(match &host {
                Host::Domain(name) => ServerName::try_from(name.clone())
                    .map_err(|_| format!("{name:?} is not a valid TLS server name"))?,
                Host::Ipv4(ip) => ServerName::IpAddress(IpAddr::V4(*ip).into()),
                Host::Ipv6(ip) => ServerName::IpAddress(IpAddr::V6(*ip).into()),
            })
        } else {
            None
        };
        let uri = Uri::try_from(&url[Position::BeforePath..Position::AfterQuery])
            .map_err(|e| format!("path or query not usable in a request: {e}"))?;
        if set_host {
            // `host_str` keeps the brackets of an IPv6 literal; the port only when not default.
            let host_str = url.host_str().unwrap_or_default();
            let value = match url.port() {
                Some(port) => HeaderValue::from_str(&format!("{host_str}:{port}")),
                None => HeaderValue::from_str(host_str),
            }
            .map_err(|_| "host not usable in a Host header".to_owned())?;
            headers.insert(HOST, value);
        }
        Ok(Self {
            url,
            host,
            port,
            server_name,
            method,
            uri,
            headers,
            body,
        })
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Phase timings of one run, summed over redirect hops.
#[derive(Debug, Default)]
struct Phases {
    /// Name resolution (zero for IP literals).
    dns: Duration,
    /// TCP connect of the address that accepted; `None` until a hop connected.
    connect: Option<Duration>,
    /// TLS handshakes, failed ones included; `None` when no hop tried https.
    tls: Option<Duration>,
    /// Status and time to first byte of the last response head, kept here so that a run cut
    /// off by its timeout while reading the body still reports them.
    head: Option<(u16, Duration)>,
}

impl Phases {
    /// The phase metrics measured so far, for any outcome.
    fn metrics(&self) -> Vec<(String, f64)> {
        let mut metrics = Vec::with_capacity(10);
        metrics.push(("dns_ms".to_owned(), ms(self.dns)));
        if let Some(connect) = self.connect {
            metrics.push(("connect_ms".to_owned(), ms(connect)));
        }
        if let Some(tls) = self.tls {
            metrics.push(("tls_ms".to_owned(), ms(tls)));
        }
        metrics
    }
}

/// Why a run ended before a response could be judged.
#[derive(Debug)]
struct Failure {
    class: ErrorClass,
    message: String,
}

impl Failure {
    fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}

/// What one hop's exchange ended with.
enum Exchanged {
    /// A redirect to follow; its body was not read.
    Redirect { status: StatusCode, next: Url },
    /// The response to judge.
    Answer(Answer),
}

/// A response to judge, with as much of its body as was read.
struct Answer {
    status: u16,
    /// From the start of the run to this response's head.
    ttfb: Duration,
    /// Bytes read, at most [`MAX_BODY_BYTES`].
    body_bytes: usize,
    /// The body was longer than [`MAX_BODY_BYTES`].
    truncated: bool,
    /// The bytes read, when an assertion needs them.
    kept: Vec<u8>,
    /// Reading the body failed after `body_bytes`.
    body_error: Option<hyper::Error>,
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

impl ProbeKind for HttpProbe {
    type Spec = HttpSpec;
    const DEADLINE: Deadline = Deadline::OwnCutOff;

    /// Validates the spec (URL, method, headers, assertions, `ca_pem`) and builds the first
    /// request and, when the check can need it, the TLS configuration.
    fn build(spec: &HttpSpec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
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
        // The spec's headers win over these defaults, as they did with reqwest.
        let spec_host = headers.contains_key(HOST);
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, user_agent);
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        if !headers.contains_key(AUTHORIZATION) {
            if let Some(credentials) = basic_auth(&url) {
                headers.insert(AUTHORIZATION, credentials);
            }
        }

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
        let keep_body = spec.body_contains.as_deref().is_some_and(|n| !n.is_empty())
            || body_regex.is_some()
            || json.is_some();

        let tls = OnceLock::new();
        if url.scheme() == "https" || spec.ca_pem.is_some() || spec.insecure_skip_verify {
            let connector = tls_connector(spec.ca_pem.as_deref(), spec.insecure_skip_verify)?;
            let _ = tls.set(Ok(connector));
        }
        let body = spec
            .body
            .as_ref()
            .map_or_else(Bytes::new, |b| Bytes::copy_from_slice(b.as_bytes()));
        let first = Target::new(url.clone(), method, headers, body, !spec_host)
            .map_err(ProbeBuildError::InvalidUrl)?;

        Ok(Self {
            url,
            first,
            spec_host,
            follow_redirects: spec.follow_redirects,
            tls,
            expect_status: spec.expect_status.clone(),
            body_contains: spec.body_contains.clone(),
            body_regex,
            json,
            keep_body,
            policy: Arc::clone(&ctx.target_policy),
        })
    }

    /// Performs one request, following redirects when asked, within `timeout`. It enforces the
    /// timeout itself (unlike most probes, see `Probe::run`) so that a run cut off in a slow
    /// phase still reports the phases it measured before: a slow body after a quick connect and
    /// first byte is worth seeing.
    async fn run(&self, timeout: Duration) -> ProbeOutcome {
        let mut phases = Phases::default();
        match tokio::time::timeout(timeout, self.hops(&mut phases)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let mut metrics = phases.metrics();
                if let Some((status, ttfb)) = phases.head {
                    metrics.push(("time_to_first_byte_ms".to_owned(), ms(ttfb)));
                    metrics.push(("status_code".to_owned(), f64::from(status)));
                }
                ProbeOutcome::timed_out(timeout, metrics)
            }
        }
    }
}

impl HttpProbe {
    /// The run without its timeout: dropping it closes the connection.
    async fn hops(&self, phases: &mut Phases) -> ProbeOutcome {
        let start = Instant::now();
        let mut hop = Cow::Borrowed(&self.first);
        let mut redirects = 0;
        let (answer, cert_days_left) = loop {
            let (exchanged, cert_days_left) = match self.visit(&hop, start, phases).await {
                Ok(visited) => visited,
                Err(f) => return ProbeOutcome::down(f.class, f.message, phases.metrics()),
            };
            match exchanged {
                Exchanged::Answer(answer) => break (answer, cert_days_left),
                Exchanged::Redirect { status, next } => {
                    if redirects == MAX_REDIRECTS {
                        return ProbeOutcome::down(
                            ErrorClass::Protocol,
                            format!(
                                "error following redirect: too many redirects \
                                 (more than {MAX_REDIRECTS})"
                            ),
                            phases.metrics(),
                        );
                    }
                    redirects += 1;
                    hop = match self.redirected(&hop, status, next) {
                        Ok(target) => Cow::Owned(target),
                        Err(why) => {
                            return ProbeOutcome::down(
                                ErrorClass::Protocol,
                                format!("error following redirect: {why}"),
                                phases.metrics(),
                            )
                        }
                    };
                }
            }
        };
        let total = start.elapsed();

        let mut metrics = phases.metrics();
        metrics.extend([
            ("time_to_first_byte_ms".to_owned(), ms(answer.ttfb)),
            ("total_ms".to_owned(), ms(total)),
            ("status_code".to_owned(), f64::from(answer.status)),
            ("body_bytes".to_owned(), answer.body_bytes as f64),
            (
                "body_truncated".to_owned(),
                if answer.truncated { 1.0 } else { 0.0 },
            ),
        ]);
        if let Some(days) = cert_days_left {
            metrics.push(("cert_days_left".to_owned(), days));
        }
        self.judge(answer, metrics)
    }

    /// One hop: resolve, connect, TLS for https, then the exchange. Adds its phases to
    /// `phases`; also returns the days left on the server certificate for https.
    async fn visit(
        &self,
        hop: &Target,
        start: Instant,
        phases: &mut Phases,
    ) -> Result<(Exchanged, Option<f64>), Failure> {
        let host = hop.url.host_str().unwrap_or_default();
        let one: [SocketAddr; 1];
        let resolved: Vec<SocketAddr>;
        let addrs: &[SocketAddr] = match &hop.host {
            Host::Domain(name) => {
                let began = Instant::now();
                let found = net::resolve(name, hop.port).await;
                phases.dns += began.elapsed();
                resolved = found.map_err(|message| Failure::new(ErrorClass::Dns, message))?;
                &resolved
            }
            Host::Ipv4(ip) => {
                one = [SocketAddr::from((*ip, hop.port))];
                &one
            }
            Host::Ipv6(ip) => {
                one = [SocketAddr::from((*ip, hop.port))];
                &one
            }
        };
        let (tcp, _, took) = net::first_accepting(addrs, &self.policy)
            .await
            .map_err(|f| Failure::new(f.class(), f.message(host)))?;
        *phases.connect.get_or_insert(Duration::ZERO) += took;

        let Some(server_name) = &hop.server_name else {
            return Ok((
                self.exchange(tcp, hop, start, &mut phases.head).await?,
                None,
            ));
        };
        let connector = self
            .tls_connector()
            .map_err(|e| Failure::new(ErrorClass::Tls, format!("TLS configuration: {e}")))?;
        let began = Instant::now();
        let handshake = connector.connect(server_name.clone(), tcp).await;
        *phases.tls.get_or_insert(Duration::ZERO) += began.elapsed();
        let stream = handshake.map_err(|e| tls_failure(&e, host))?;
        let cert_days_left = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(<[CertificateDer<'_>]>::first)
            .and_then(|leaf| days_left(leaf));
        Ok((
            self.exchange(stream, hop, start, &mut phases.head).await?,
            cert_days_left,
        ))
    }

    /// Sends `hop`'s request over `io` and reads the response: only its head when it is a
    /// redirect to follow, else the body up to [`MAX_BODY_BYTES`]. The connection is dropped
    /// on return.
    async fn exchange<IO>(
        &self,
        io: IO,
        hop: &Target,
        start: Instant,
        head: &mut Option<(u16, Duration)>,
    ) -> Result<Exchanged, Failure>
    where
        IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let sending = |e: &hyper::Error| {
            Failure::new(
                classify(e),
                format!("error sending request: {}", describe(e)),
            )
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| sending(&e))?;
        let request = hop.request();
        let follow = self.follow_redirects;
        let keep = self.keep_body;
        let exchange = async move {
            let response = sender.send_request(request).await?;
            let ttfb = start.elapsed();
            let status = response.status();
            *head = Some((status.as_u16(), ttfb));
            if follow && is_redirect(status) {
                // Like reqwest: a Location that is missing or does not resolve leaves the 3xx
                // to be judged itself.
                let next = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| std::str::from_utf8(l.as_bytes()).ok())
                    .and_then(|l| hop.url.join(l).ok());
                if let Some(next) = next {
                    return Ok(Exchanged::Redirect { status, next });
                }
            }
            let mut answer = Answer {
                status: status.as_u16(),
                ttfb,
                body_bytes: 0,
                truncated: false,
                kept: Vec::new(),
                body_error: None,
            };
            let mut body = response.into_body();
            while let Some(frame) = body.frame().await {
                let chunk = match frame.map(hyper::body::Frame::into_data) {
                    Ok(Ok(chunk)) => chunk,
                    // Trailers.
                    Ok(Err(_)) => continue,
                    Err(e) => {
                        answer.body_error = Some(e);
                        break;
                    }
                };
                let room = MAX_BODY_BYTES - answer.body_bytes;
                let take = chunk.len().min(room);
                if keep {
                    answer.kept.extend_from_slice(&chunk[..take]);
                }
                answer.body_bytes += take;
                if chunk.len() > room {
                    answer.truncated = true;
                    break;
                }
            }
            Ok::<_, hyper::Error>(Exchanged::Answer(answer))
        };
        // The connection future does the I/O; it is polled here, next to the request, rather
        // than spawned. It is passed by value so that it is dropped as soon as it finishes:
        // that hands any request still waiting an error instead of leaving it pending.
        let exchange = std::pin::pin!(exchange);
        let result = match futures::future::select(exchange, conn).await {
            Either::Left((result, _conn)) => result,
            Either::Right((conn_result, exchange)) => {
                // The connection ended first (the server closed, or broke the protocol): what
                // it left the request or the body to see arrives at once.
                let mut result = exchange.await;
                if let Err(conn_error) = conn_result {
                    // The connection's own error says more than the "connection error" the
                    // body gets.
                    match &mut result {
                        Err(e) => *e = conn_error,
                        Ok(Exchanged::Answer(a)) if a.body_error.is_some() => {
                            a.body_error = Some(conn_error)
                        }
                        Ok(_) => {}
                    }
                }
                result
            }
        };
        result.map_err(|e| sending(&e))
    }

    /// The request for the next hop, as reqwest built it: the method and body change for
    /// 301/302 after a POST and for 303; credentials stay within the origin.
    fn redirected(&self, prev: &Target, status: StatusCode, next: Url) -> Result<Target, String> {
        let mut headers = prev.headers.clone();
        let (method, body) = match status {
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND if prev.method == Method::POST => {
                drop_payload_headers(&mut headers);
                (Method::GET, Bytes::new())
            }
            StatusCode::SEE_OTHER => {
                drop_payload_headers(&mut headers);
                let method = if prev.method == Method::HEAD {
                    Method::HEAD
                } else {
                    Method::GET
                };
                (method, Bytes::new())
            }
            _ => (prev.method.clone(), prev.body.clone()),
        };
        let same_origin = next.scheme() == prev.url.scheme()
            && next.host_str() == prev.url.host_str()
            && next.port_or_known_default() == prev.url.port_or_known_default();
        if !same_origin {
            for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, WWW_AUTHENTICATE] {
                headers.remove(name);
            }
            headers.remove("cookie2");
        }
        Target::new(next, method, headers, body, !self.spec_host)
    }

    fn tls_connector(&self) -> Result<&TlsConnector, &str> {
        self.tls
            .get_or_init(|| tls_connector(None, false).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Status first, then a body read error, then the body assertions.
    fn judge(&self, answer: Answer, metrics: Vec<(String, f64)>) -> ProbeOutcome {
        let status = answer.status;
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
        if let Some(e) = &answer.body_error {
            return ProbeOutcome::down(
                classify(e),
                format!(
                    "reading body after {} bytes: {}",
                    answer.body_bytes,
                    describe(e)
                ),
                metrics,
            );
        }
        let kept = &answer.kept;
        if let Some(needle) = self.body_contains.as_deref() {
            if self.keep_body && !contains(kept, needle.as_bytes()) {
                let quoted: String = needle.chars().take(NEEDLE_QUOTE_CHARS).collect();
                let ellipsis = if quoted.len() < needle.len() {
                    "..."
                } else {
                    ""
                };
                let scope = if answer.truncated {
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
            if !re.is_match(&String::from_utf8_lossy(kept)) {
                let quoted: String = re.as_str().chars().take(NEEDLE_QUOTE_CHARS).collect();
                return ProbeOutcome::down(
                    ErrorClass::Assertion,
                    format!("body does not match /{quoted}/"),
                    metrics,
                );
            }
        }
        if let Some(check) = &self.json {
            if let Err(why) = check.evaluate(kept) {
                return ProbeOutcome::down(ErrorClass::Assertion, why, metrics);
            }
        }
        ProbeOutcome::up(metrics)
    }
}

/// The statuses a redirect policy acts on (others, like 300 and 304, are judged themselves).
fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

/// A request whose body was dropped must not describe it.
fn drop_payload_headers(headers: &mut HeaderMap) {
    for name in [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        CONTENT_ENCODING,
        TRANSFER_ENCODING,
    ] {
        headers.remove(name);
    }
}

/// `Authorization: Basic` from the URL's user and password (percent-decoded), as reqwest sent
/// it; marked sensitive.
fn basic_auth(url: &Url) -> Option<HeaderValue> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(url.username());
    let password = url.password().map(decode);
    if user.is_empty() && password.is_none() {
        return None;
    }
    let plain = format!("{user}:{}", password.unwrap_or_default());
    let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The client configuration for https hops: TLS 1.2 and 1.3 with the process's provider,
/// ALPN `http/1.1` only, and the verifier the spec asks for. `ca_pem` is parsed even when
/// verification is off, so a broken one is reported either way.
fn tls_connector(ca_pem: Option<&str>, insecure: bool) -> Result<TlsConnector, ProbeBuildError> {
    let provider = netpulse_protocol::tls::provider();
    let custom = ca_pem
        .map(|pem| tls::custom_verifier(pem, provider.clone()))
        .transpose()?;
    let verifier: Arc<dyn ServerCertVerifier> = if insecure {
        Arc::new(AcceptAnyCertificate::new(&provider))
    } else if let Some(custom) = custom {
        custom
    } else {
        tls::system_verifier()?
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeBuildError::Client(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// `insecure_skip_verify`: any certificate and any handshake signature are accepted (as
/// reqwest's `danger_accept_invalid_certs` did), but the handshake still runs, so the check
/// still measures it and sees the certificate's expiry.
#[derive(Debug)]
struct AcceptAnyCertificate {
    schemes: Vec<SignatureScheme>,
}

impl AcceptAnyCertificate {
    fn new(provider: &CryptoProvider) -> Self {
        Self {
            schemes: provider
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
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
        let header_names: Vec<&str> = self.first.headers.keys().map(HeaderName::as_str).collect();
        f.debug_struct("HttpProbe")
            .field("method", &self.first.method.as_str())
            .field("url", &url.as_str())
            .field("headers", &header_names)
            .field("body_len", &self.first.body.len())
            .field("expect_status", &self.expect_status)
            .field("body_contains", &self.body_contains)
            .field("follow_redirects", &self.follow_redirects)
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

/// Substring search with memchr's SIMD searcher: a miss scans up to a whole MiB of body, which
/// byte-by-byte window comparison made cost milliseconds of CPU per run.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// Walks an error and everything under it. `io::Error::source` skips the error it wraps
/// (it returns the wrapped error's source), so the wrapped error is visited explicitly:
/// that is where rustls puts the interesting part.
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

fn io_kind_in_chain(err: &(dyn StdError + 'static), kind: io::ErrorKind) -> bool {
    chain(err).any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == kind)
    })
}

/// Classifies a failure once the connection was up (TLS done): a TLS error underneath is
/// `tls`, a timed-out read `timeout`, anything else (malformed response, early close) the
/// server breaking the protocol.
fn classify(err: &hyper::Error) -> ErrorClass {
    if chain(err).any(|e| e.is::<rustls::Error>()) {
        ErrorClass::Tls
    } else if io_kind_in_chain(err, io::ErrorKind::ConnectionRefused) {
        ErrorClass::Refused
    } else if err.is_timeout() || io_kind_in_chain(err, io::ErrorKind::TimedOut) {
        ErrorClass::Timeout
    } else {
        ErrorClass::Protocol
    }
}

/// A failed TLS handshake: `tls` when rustls refused something (certificate, protocol), else
/// the connection failed under it (`connect`, as reqwest reported a close or reset there).
fn tls_failure(err: &io::Error, host: &str) -> Failure {
    let class = if chain(err).any(|e| e.is::<rustls::Error>()) {
        ErrorClass::Tls
    } else {
        match err.kind() {
            io::ErrorKind::ConnectionRefused => ErrorClass::Refused,
            io::ErrorKind::TimedOut => ErrorClass::Timeout,
            _ => ErrorClass::Connect,
        }
    };
    Failure::new(
        class,
        format!("TLS handshake with {host} failed: {}", describe(err)),
    )
}

/// A readable message from the error chain, repeated parts left out. The errors come from
/// hyper, rustls and the OS and never carry the URL or header values.
fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in chain(err) {
        let text = e.to_string();
        if text.is_empty() || parts.last().is_some_and(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
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
    use crate::Probe;

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
        HttpSpec::get(url)
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
        assert_eq!(outcome.metric("dns_ms"), Some(0.0), "{outcome:?}");
        assert_eq!(outcome.metric("connect_ms"), None, "never connected");
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
        // What was measured before the body stalled is kept.
        assert!(outcome.metric("connect_ms").is_some(), "{outcome:?}");
        assert_eq!(outcome.metric("status_code"), Some(200.0), "{outcome:?}");
        let ttfb = outcome.metric("time_to_first_byte_ms").expect("ttfb");
        assert!(ttfb < 150.0, "{outcome:?}");
        assert_eq!(outcome.metric("total_ms"), None, "the run never finished");
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
            ..ctx()
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
        assert_eq!(
            outcome.metric("tls_ms"),
            None,
            "plain http has no handshake"
        );
        // For https the handshake is its own phase, after the connect.
        let (addr, ca_pem) = start_tls_server_with_ca("secure hello");
        let mut s = spec(format!("https://127.0.0.1:{}/", addr.port()));
        s.ca_pem = Some(ca_pem);
        let outcome = run(s).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        assert_eq!(
            outcome.metric("dns_ms"),
            Some(0.0),
            "an IP literal needs no lookup"
        );
        let (connect, tls, ttfb) = (
            outcome.metric("connect_ms").expect("connect"),
            outcome.metric("tls_ms").expect("tls"),
            outcome.metric("time_to_first_byte_ms").expect("ttfb"),
        );
        assert!(connect > 0.0 && tls > 0.0, "{outcome:?}");
        assert!(connect + tls <= ttfb, "phases nest: {outcome:?}");
    }

    #[tokio::test]
    async fn handshake_is_timed_without_verification_too() {
        // insecure_skip_verify skips the checks, not the handshake.
        let addr = start_tls_server("secure hello");
        let mut s = spec(format!("https://127.0.0.1:{}/", addr.port()));
        s.insecure_skip_verify = true;
        let outcome = run(s).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        assert!(
            outcome.metric("tls_ms").is_some_and(|t| t > 0.0),
            "{outcome:?}"
        );
        assert!(outcome.metric("cert_days_left").is_some(), "{outcome:?}");
        // A failed handshake still reports its time.
        let outcome = run(spec(format!("https://127.0.0.1:{}/", addr.port()))).await;
        assert_eq!(outcome.error_class(), Some(ErrorClass::Tls), "{outcome:?}");
        assert!(outcome.metric("tls_ms").is_some(), "{outcome:?}");
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

    #[tokio::test]
    async fn sends_host_accept_and_url_credentials() {
        let server = TestServer::start(|_| ok("hi")).await;
        let outcome = run(spec(format!(
            "http://us%65r:p%40ss@{}/a?b=c#frag",
            server.addr
        )))
        .await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        let req = server.requests()[0].to_ascii_lowercase();
        assert!(req.starts_with("get /a?b=c http/1.1\r\n"), "{req}");
        assert!(
            req.contains(&format!("host: {}\r\n", server.addr)),
            "non-default port in Host: {req}"
        );
        assert!(req.contains("accept: */*\r\n"), "{req}");
        // "user:p@ss", percent-decoded, as Basic credentials.
        assert!(
            req.contains("authorization: basic dxnlcjpwqhnz\r\n"),
            "{req}"
        );
        assert!(!req.contains("content-length"), "no body, no length: {req}");

        // The spec's headers replace the defaults.
        let mut s = spec(server.url("/"));
        s.headers = vec![
            ("Host".into(), "example.test".into()),
            ("Accept".into(), "text/plain".into()),
            ("User-Agent".into(), "custom".into()),
        ];
        assert_eq!(run(s).await.status, CheckStatus::Up);
        let req = server.requests()[1].to_ascii_lowercase();
        assert_eq!(req.matches("host:").count(), 1, "{req}");
        assert!(req.contains("host: example.test\r\n"), "{req}");
        assert!(req.contains("accept: text/plain\r\n"), "{req}");
        assert!(req.contains("user-agent: custom\r\n"), "{req}");
        assert!(!req.contains("netpulse"), "{req}");
    }

    #[tokio::test]
    async fn see_other_after_post_becomes_get_without_body() {
        let server = TestServer::start(|path| match path {
            "/submit" => Reply::Raw(response("303 See Other", &[("Location", "/done")], b"")),
            "/temporary" => Reply::Raw(response(
                "307 Temporary Redirect",
                &[("Location", "/done")],
                b"",
            )),
            "/done" => ok("done"),
            _ => Reply::Raw(response("404 Not Found", &[], b"")),
        })
        .await;
        let post = |path: &str| {
            let mut s = spec(server.url(path));
            s.method = "POST".into();
            s.headers = vec![("Content-Type".into(), "text/plain".into())];
            s.body = Some("payload-123".into());
            s.follow_redirects = true;
            s.body_contains = Some("done".into());
            s
        };
        let outcome = run(post("/submit")).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        let requests: Vec<String> = server
            .requests()
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert!(requests[0].starts_with("post /submit "), "{requests:?}");
        assert!(requests[0].ends_with("\r\n\r\npayload-123"), "{requests:?}");
        let get = &requests[1];
        assert!(get.starts_with("get /done http/1.1\r\n"), "{get}");
        assert!(get.ends_with("\r\n\r\n"), "no body: {get}");
        assert!(!get.contains("content-length"), "{get}");
        assert!(!get.contains("content-type"), "{get}");

        // 307 resends the same request.
        let outcome = run(post("/temporary")).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        let requests = server.requests();
        let again = requests[3].to_ascii_lowercase();
        assert!(again.starts_with("post /done http/1.1\r\n"), "{again}");
        assert!(again.contains("content-type: text/plain\r\n"), "{again}");
        assert!(again.ends_with("\r\n\r\npayload-123"), "{again}");
    }

    #[tokio::test]
    async fn redirect_to_another_origin_reconnects_without_credentials() {
        let other = TestServer::start(|_| ok("elsewhere")).await;
        let target = other.url("/there");
        let first = TestServer::start(move |_| {
            Reply::Raw(response("302 Found", &[("Location", target.as_str())], b""))
        })
        .await;
        let mut s = spec(first.url("/away"));
        s.follow_redirects = true;
        s.headers = vec![
            ("Authorization".into(), format!("Bearer {SECRET}")),
            ("X-Kept".into(), "yes".into()),
        ];
        s.body_contains = Some("elsewhere".into());
        let outcome = run(s).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        assert_eq!(first.requests().len(), 1);
        assert!(first.requests()[0].contains(SECRET));
        let there = other.requests();
        assert_eq!(there.len(), 1);
        let req = there[0].to_ascii_lowercase();
        assert!(req.starts_with("get /there http/1.1\r\n"), "{req}");
        assert!(
            req.contains(&format!("host: {}\r\n", other.addr)),
            "Host follows the hop: {req}"
        );
        assert!(req.contains("x-kept: yes\r\n"), "{req}");
        assert!(!req.contains("authorization"), "{req}");
        // Both hops connected: their connect times add up.
        assert!(outcome.metric("connect_ms").is_some_and(|c| c > 0.0));
    }

    #[tokio::test]
    async fn hostile_responses_are_protocol_errors() {
        let huge_header = {
            let mut r = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            r.extend(std::iter::repeat_n(b'a', 2 << 20));
            r.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
            r
        };
        let many_headers = {
            let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..10_000 {
                r.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
            }
            r.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            r
        };
        let server = TestServer::start(move |path| match path {
            "/huge" => Reply::Raw(huge_header.clone()),
            "/many" => Reply::Raw(many_headers.clone()),
            "/bad-chunk" => Reply::Raw(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n".to_vec(),
            ),
            "/bad-length" => Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n".to_vec()),
            _ => Reply::Raw(response("404 Not Found", &[], b"")),
        })
        .await;
        for path in ["/huge", "/many", "/bad-chunk", "/bad-length"] {
            let outcome = run(spec(server.url(path))).await;
            assert_eq!(
                outcome.error_class(),
                Some(ErrorClass::Protocol),
                "{path}: {outcome:?}"
            );
        }
    }

    #[tokio::test]
    async fn endless_chunked_body_stops_at_the_limit() {
        let server = TestServer::start(|_| {
            let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..40 {
                r.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                r.extend_from_slice(&chunk);
                r.extend_from_slice(b"\r\n");
            }
            // No final chunk: the server hangs instead.
            Reply::ThenHang(r)
        })
        .await;
        let outcome = run_with(spec(server.url("/")), Duration::from_secs(5)).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        assert_eq!(outcome.metric("body_bytes"), Some(MAX_BODY_BYTES as f64));
        assert_eq!(outcome.metric("body_truncated"), Some(1.0));
    }
}
