//! Probes: turn a [`ProbeSpec`] into one measurement with a status, an error class and metrics.
//!
//! A [`Probe`] is built once per check revision ([`Probe::build`]) so that parsing, validation
//! and set-up (the HTTP request template, TLS configuration) happen when an assignment arrives, not
//! on every run. [`Probe::run`] then performs one measurement under a timeout that covers the
//! whole exchange (name resolution, connect, TLS, request, body), and always returns a
//! [`ProbeOutcome`]: a probe reports failures as data and never panics, whatever the spec or
//! the peer sends.
//!
//! # Adding a probe kind
//! 1. Append a variant to `netpulse_protocol::check::ProbeSpec` (append, never insert: postcard
//!    encodes the variant index) with its spec struct, and give it a name in `ProbeSpec::kind`.
//! 2. Add a module here, `probe/<kind>.rs`, holding a `<Kind>Probe` with
//!    `fn build(spec, ctx) -> Result<Self, ProbeBuildError>` (validate everything that can be
//!    validated up front; add a [`ProbeBuildError`] variant if none fits) and
//!    `async fn run(&self) -> ProbeOutcome`. Do not enforce the overall timeout inside it:
//!    [`Probe::run`] does that for every kind. Map failures to the most precise
//!    [`ErrorClass`] and keep secrets (passwords, header values, community strings) out of
//!    messages.
//! 3. Add the variant to [`Probe`] and to the `match`es in [`Probe::build`], [`Probe::run`] and
//!    [`Probe::kind`]. Kinds with heavy dependencies (SNMP, SSH) go behind a Cargo feature; when
//!    the feature is off, `build` returns [`ProbeBuildError::Unsupported`].
//! 4. Test against a real local peer started by the test (see the tests in `http.rs` and
//!    `tcp.rs`, and `tests/probes_real.rs` for peers that are separate programs: nsd,
//!    `openssl s_server`): success, every error class the kind can produce, and the timeout.
//!
//! # Kinds
//! - [`http`]: one request, judged on status and body.
//! - [`tcp`]: connect to `host:port`.
//! - [`dns`]: one query to a chosen or the system nameserver; rcode and expected answers.
//! - [`tls`]: handshake, chain and hostname verification, days until expiry against thresholds.
//! - [`icmp`]: echo requests through one socket per address family shared by the whole node
//!   ([`icmp::IcmpSockets::node`]).
//! - [`ssh`]: login with a checked host key, optional command judged on exit status and output.
//! - [`snmp`]: v2c/v3 GET and WALK, thresholds on values, counter rates kept between runs.
//!
//! `docs/probes.md` documents every kind's fields, defaults, metrics and error classes.

pub mod dns;
pub mod http;
pub mod icmp;
mod net;
pub mod snmp;
pub mod ssh;
pub mod tcp;
pub mod tls;

use std::time::Duration;

use netpulse_protocol::check::ProbeSpec;
use netpulse_protocol::result::{CheckStatus, ErrorClass, ProbeError};
use tokio::time::Instant;

/// Node-wide settings every probe is built with.
///
/// The node's shared ICMP sockets are not in here but in [`icmp::IcmpSockets::node`]: they
/// belong to the process (one socket per address family, whatever the number of contexts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeContext {
    /// Sent by protocol probes that identify themselves (HTTP `User-Agent`), so operators of a
    /// monitored service can tell NetPulse traffic, and which node sent it, from real users.
    pub user_agent: String,
}

impl ProbeContext {
    /// The standard context for a node: `NetPulse/<version> (region=<region>; node=<node_id>)`.
    pub fn for_node(region: &str, node_id: &str) -> Self {
        Self {
            user_agent: format!(
                "NetPulse/{} (region={region}; node={node_id})",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// The result of one probe run, before it gets a sequence number and a timestamp in the
/// outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeOutcome {
    /// Up, degraded or down.
    pub status: CheckStatus,
    /// Set whenever `status` is not up, so the coordinator can group failures by class.
    pub error: Option<ProbeError>,
    /// Named measurements (timing phases in milliseconds, sizes, codes); kept even on failure
    /// when they were measured, since a slow failure is worth seeing.
    pub metrics: Vec<(String, f64)>,
    /// Wall time of the whole run, measured by [`Probe::run`] around the timeout.
    pub duration: Duration,
    /// What the probe saw, for humans, also when the run was up (DNS answers, certificate
    /// subject and issuer): the error message says why a run failed, this says what was
    /// there. Never contains secrets. Not part of `CheckResult` yet, so it stays on the node
    /// (logs, tests) until the wire format carries it.
    pub detail: Option<String>,
    /// Named facts for the coordinator to act on (`ssh_host_key` under trust on first use).
    pub facts: Vec<(String, String)>,
}

impl ProbeOutcome {
    /// A run where every expectation held.
    pub fn up(metrics: Vec<(String, f64)>) -> Self {
        Self {
            status: CheckStatus::Up,
            error: None,
            metrics,
            duration: Duration::ZERO,
            detail: None,
            facts: Vec::new(),
        }
    }

    /// A run that worked but not well enough (a certificate about to expire, packet loss);
    /// `class` names what is wrong, as for a failure.
    pub fn degraded(
        class: ErrorClass,
        message: impl Into<String>,
        metrics: Vec<(String, f64)>,
    ) -> Self {
        Self {
            status: CheckStatus::Degraded,
            ..Self::down(class, message, metrics)
        }
    }

    /// A run cut off by its timeout, with whatever it had measured by then.
    pub fn timed_out(timeout: Duration, metrics: Vec<(String, f64)>) -> Self {
        Self::down(
            ErrorClass::Timeout,
            format!("no result within {} ms", timeout.as_millis()),
            metrics,
        )
    }

    /// A failed run; `message` is for humans and must not contain secrets.
    pub fn down(
        class: ErrorClass,
        message: impl Into<String>,
        metrics: Vec<(String, f64)>,
    ) -> Self {
        Self {
            status: CheckStatus::Down,
            error: Some(ProbeError {
                class,
                message: message.into(),
            }),
            metrics,
            duration: Duration::ZERO,
            detail: None,
            facts: Vec::new(),
        }
    }

    /// Attaches what the probe saw (see [`ProbeOutcome::detail`]).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a named fact (see [`ProbeOutcome::facts`]).
    pub fn with_fact(mut self, name: &str, value: impl Into<String>) -> Self {
        self.facts.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the wall time (kinds leave it at zero; [`Probe::run`] fills it in).
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// The error class, if the run failed.
    pub fn error_class(&self) -> Option<ErrorClass> {
        self.error.as_ref().map(|e| e.class)
    }

    /// The value of a metric, if it was measured.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// Why a spec could not be turned into a runnable probe. The coordinator validates specs too;
/// this is the node's own line of defence, reported as an `Internal` result instead of
/// crashing the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeBuildError {
    /// The URL did not parse.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL scheme is not `http` or `https`.
    #[error("unsupported URL scheme {0:?} (expected http or https)")]
    UnsupportedScheme(String),
    /// The request method is not a valid HTTP token.
    #[error("invalid HTTP method {0:?}")]
    InvalidMethod(String),
    /// A header name is not a valid HTTP token (position in the spec's header list).
    #[error("invalid name for header #{index}")]
    InvalidHeaderName {
        /// Zero-based position in the header list.
        index: usize,
    },
    /// A header value contains forbidden bytes; the value itself is never shown.
    #[error("invalid value for header {name:?}")]
    InvalidHeaderValue {
        /// The header's name (names are not secret, values may be).
        name: String,
    },
    /// The node's user agent is not a valid header value.
    #[error("invalid user agent")]
    InvalidUserAgent,
    /// The target host is empty or malformed.
    #[error("invalid host {0:?}")]
    InvalidHost(String),
    /// The HTTP probe's TLS configuration could not be set up.
    #[error("cannot set up the HTTP probe's TLS: {0}")]
    Client(String),
    /// This node was built without support for the probe kind.
    #[error("probe kind {0:?} is not supported by this node")]
    Unsupported(&'static str),
    /// A kind-specific setting is invalid (DNS expectations, TLS roots, ICMP counts).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The setting's name as in the API (`expect`, `ca_pem`, `count`, ...).
        field: &'static str,
        /// Why; never quotes secret values.
        reason: String,
    },
    /// The node has no usable system trust roots for a TLS check without `ca_pem`.
    #[error("no system CA roots: {0}")]
    SystemRoots(String),
}

/// A probe ready to run, one variant per probe kind.
///
/// A node keeps one per assigned check, so the enum's size is paid by every check whatever its
/// kind: unboxed, the HTTP variant made every TCP probe 656 bytes. The variants larger than
/// about a hundred bytes are boxed, which costs their kinds one allocation when the probe is
/// built (not per run) and keeps the common small ones small.
#[derive(Debug)]
pub enum Probe {
    /// HTTP(S) request.
    Http(Box<http::HttpProbe>),
    /// TCP connect.
    Tcp(tcp::TcpProbe),
    /// DNS query.
    Dns(Box<dns::DnsProbe>),
    /// TLS handshake and certificate checks.
    Tls(tls::TlsProbe),
    /// ICMP echo.
    Icmp(icmp::IcmpProbe),
    /// SSH login and command.
    Ssh(Box<ssh::SshProbe>),
    /// SNMP GET/WALK with thresholds and counter rates.
    Snmp(Box<snmp::SnmpProbe>),
}

impl Probe {
    /// Validates `spec` and prepares everything that does not change between runs.
    pub fn build(spec: &ProbeSpec, ctx: &ProbeContext) -> Result<Probe, ProbeBuildError> {
        match spec {
            ProbeSpec::Http(s) => http::HttpProbe::build(s, ctx).map(|p| Probe::Http(Box::new(p))),
            ProbeSpec::Tcp(s) => tcp::TcpProbe::build(s, ctx).map(Probe::Tcp),
            ProbeSpec::Dns(s) => dns::DnsProbe::build(s, ctx).map(|p| Probe::Dns(Box::new(p))),
            ProbeSpec::Tls(s) => tls::TlsProbe::build(s, ctx).map(Probe::Tls),
            ProbeSpec::Icmp(s) => icmp::IcmpProbe::build(s, ctx).map(Probe::Icmp),
            ProbeSpec::Ssh(s) => ssh::SshProbe::build(s, ctx).map(|p| Probe::Ssh(Box::new(p))),
            ProbeSpec::Snmp(s) => snmp::SnmpProbe::build(s, ctx).map(|p| Probe::Snmp(Box::new(p))),
        }
    }

    /// Runs one measurement. `timeout` bounds the whole run; exceeding it yields
    /// [`ErrorClass::Timeout`] and drops the in-flight work.
    pub async fn run(&self, timeout: Duration) -> ProbeOutcome {
        let start = Instant::now();
        let result = match self {
            // HTTP keeps the phases it measured when the timeout cuts it off.
            Probe::Http(p) => Ok(p.run(timeout).await),
            // TCP keeps its connect time when the exchange after it times out.
            Probe::Tcp(p) => Ok(p.run(timeout).await),
            Probe::Dns(p) => tokio::time::timeout(timeout, p.run()).await,
            Probe::Tls(p) => tokio::time::timeout(timeout, p.run()).await,
            // ICMP spreads its echo requests over the run and must stop waiting for replies
            // before the timeout, so that a lossy run still reports its loss and RTTs.
            Probe::Icmp(p) => tokio::time::timeout(timeout, p.run(timeout)).await,
            Probe::Ssh(p) => tokio::time::timeout(timeout, p.run()).await,
            // SNMP sizes its per-request timeout and retry from the budget.
            Probe::Snmp(p) => tokio::time::timeout(timeout, p.run(timeout)).await,
        };
        let elapsed = start.elapsed();
        match result {
            Ok(outcome) => outcome.with_duration(elapsed),
            Err(_) => ProbeOutcome::timed_out(timeout, Vec::new()).with_duration(elapsed),
        }
    }

    /// The kind name, as in `ProbeSpec::kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Http(_) => "http",
            Probe::Tcp(_) => "tcp",
            Probe::Dns(_) => "dns",
            Probe::Tls(_) => "tls",
            Probe::Icmp(_) => "icmp",
            Probe::Ssh(_) => "ssh",
            Probe::Snmp(_) => "snmp",
        }
    }
}

/// Milliseconds as a metric value.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_protocol::check::TcpSpec;

    #[test]
    fn context_user_agent_names_region_and_node() {
        let ctx = ProbeContext::for_node("eu-west", "n-abc");
        assert_eq!(
            ctx.user_agent,
            format!(
                "NetPulse/{} (region=eu-west; node=n-abc)",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn outcome_helpers() {
        let up = ProbeOutcome::up(vec![("a".into(), 1.0)]);
        assert_eq!(up.status, CheckStatus::Up);
        assert_eq!(up.error_class(), None);
        assert_eq!(up.metric("a"), Some(1.0));
        assert_eq!(up.metric("b"), None);
        let down = ProbeOutcome::down(ErrorClass::Dns, "x", Vec::new())
            .with_duration(Duration::from_millis(5));
        assert_eq!(down.status, CheckStatus::Down);
        assert_eq!(down.error_class(), Some(ErrorClass::Dns));
        assert_eq!(down.duration, Duration::from_millis(5));
        let degraded = ProbeOutcome::degraded(ErrorClass::Tls, "soon", vec![("d".into(), 4.0)])
            .with_detail("facts");
        assert_eq!(degraded.status, CheckStatus::Degraded);
        assert_eq!(degraded.error_class(), Some(ErrorClass::Tls));
        assert_eq!(degraded.metric("d"), Some(4.0));
        assert_eq!(degraded.detail.as_deref(), Some("facts"));
    }

    #[tokio::test]
    async fn build_dispatches_on_kind() {
        let ctx = ProbeContext::for_node("r", "n");
        let spec = ProbeSpec::Tcp(TcpSpec {
            host: "127.0.0.1".into(),
            port: 1,
            ..Default::default()
        });
        let probe = Probe::build(&spec, &ctx).expect("valid tcp spec");
        assert_eq!(probe.kind(), spec.kind());
        assert!(matches!(probe, Probe::Tcp(_)));
    }

    /// Every check holds one probe; a small kind must not pay for the largest one.
    #[test]
    fn a_probe_is_small_whatever_the_largest_kind() {
        assert!(
            std::mem::size_of::<Probe>() <= 128,
            "Probe is {} bytes",
            std::mem::size_of::<Probe>()
        );
    }
}
