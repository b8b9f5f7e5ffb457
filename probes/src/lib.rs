//! Probes: turn a [`ProbeSpec`] into one measurement with a status, an error class and metrics.
//!
//! A [`Probe`] is built once per check revision ([`Probe::build`]) so that parsing, validation
//! and set-up (the HTTP request template, TLS configuration) happen when an assignment arrives, not
//! on every run. [`Probe::run`] then performs one measurement under a timeout that covers the
//! whole exchange (name resolution, connect, TLS, request, body), and always returns a
//! [`ProbeOutcome`]: a probe reports failures as data and never panics, whatever the spec or
//! the peer sends.
//!
//! # Layout
//! - This file: the types every kind shares ([`ProbeContext`], [`ProbeOutcome`],
//!   [`ProbeBuildError`]), the [`ProbeKind`] trait a kind implements, and the registration list
//!   that turns the kinds into the [`Probe`] enum.
//! - One module per kind (below), each with its own unit tests against local peers.
//! - `net.rs`: name resolution and connecting, shared by the TCP-based kinds; it applies the
//!   node's [`policy::TargetPolicy`] to every address before connecting to it.
//! - [`policy`]: the target policy (what a probe may connect to), pure.
//! - `tests/compliance.rs`: the contract every registered kind must keep, run over
//!   [`Probe::KINDS`]; `tests/probe_*.rs` and `tests/probes_real.rs`: kinds against real servers.
//!
//! # Adding a probe kind
//! 1. Append a variant to `netpulse_protocol::check::ProbeSpec` (append, never insert: postcard
//!    encodes the variant index) with its spec struct, and give it a name in `ProbeSpec::kind`;
//!    the name must be the module's name.
//! 2. Add a module `src/<kind>.rs` (and its `pub mod <kind>;` below) holding a `<Kind>Probe`
//!    that implements [`ProbeKind`]: `build` validates everything that can be validated up
//!    front (add a [`ProbeBuildError`] variant if none fits), `run` performs one measurement.
//!    Leave the timeout to [`Probe::run`] unless the kind has partial measurements worth
//!    keeping (then say so with [`ProbeKind::DEADLINE`]). Map failures to the most precise
//!    [`ErrorClass`] and keep secrets (passwords, header values, community strings) out of
//!    every message.
//!    Judge every address against `ctx.target_policy` before sending to it (`net.rs` does
//!    for the TCP-based kinds; [`ErrorClass::Policy`] for a refused target).
//! 3. Add one line to the `register_kinds!` list below: `<kind> => <Variant>(<Kind>Probe)`.
//!    That generates the [`Probe`] variant and its arms in [`Probe::build`], [`Probe::run`]
//!    and [`Probe::kind`]. A kind with a heavy dependency tree (SNMP, SSH) goes behind a Cargo
//!    feature: put `#[cfg(feature = "<kind>")]` on both the `pub mod` and the registration
//!    line; with the feature off, `build` returns [`ProbeBuildError::Unsupported`].
//! 4. Give the kind its fixture in `tests/compliance.rs` (a spec aimed at a local peer, which
//!    peer never answers it, its secrets); the compliance test fails for a registered kind
//!    without one. Then test the kind itself against a real local peer started by the test
//!    (see the tests in `http.rs` and `tcp.rs`, and `tests/probes_real.rs` for peers that are
//!    separate programs: nsd, `openssl s_server`): success, every error class it can produce.
//!
//! `docs/adding-a-probe-kind.md` is this recipe with an example.
//!
//! # Kinds
//! - [`http`]: one request, judged on status and body.
//! - [`tcp`]: connect to `host:port`.
//! - [`dns`]: one query to a chosen or the system nameserver; rcode and expected answers.
//! - [`tls`]: handshake, chain and hostname verification, days until expiry against thresholds.
//! - [`icmp`]: echo requests through one socket per address family shared by the whole node
//!   ([`icmp::IcmpSockets::node`]).
//! - `ssh` (feature `ssh`): login with a checked host key, optional command judged on exit
//!   status and output.
//! - `snmp` (feature `snmp`): v2c/v3 GET and WALK, thresholds on values, counter rates kept
//!   between runs.
//!
//! `docs/probes.md` documents every kind's fields, defaults, metrics and error classes.

pub mod dns;
pub mod http;
pub mod icmp;
mod net;
pub mod policy;
#[cfg(feature = "snmp")]
pub mod snmp;
#[cfg(feature = "ssh")]
pub mod ssh;
pub mod tcp;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::check::ProbeSpec;
use netpulse_protocol::result::{CheckStatus, ErrorClass, ProbeError};
use tokio::time::Instant;

pub use policy::{Refusal, TargetPolicy, TargetRule, TargetRuleError};

/// Node-wide settings every probe is built with.
///
/// The node's shared ICMP sockets are not in here but in [`icmp::IcmpSockets::node`]: they
/// belong to the process (one socket per address family, whatever the number of contexts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeContext {
    /// Sent by protocol probes that identify themselves (HTTP `User-Agent`), so operators of a
    /// monitored service can tell NetPulse traffic, and which node sent it, from real users.
    pub user_agent: String,
    /// What this node's probes may connect to ([`policy`]), checked on every address right
    /// before connecting: after name resolution, on every address tried and on every redirect.
    pub target_policy: Arc<TargetPolicy>,
}

impl ProbeContext {
    /// The standard context for a node: `NetPulse/<version> (region=<region>; node=<node_id>)`.
    pub fn for_node(region: &str, node_id: &str) -> Self {
        Self {
            user_agent: format!(
                "NetPulse/{} (region={region}; node={node_id})",
                env!("CARGO_PKG_VERSION")
            ),
            target_policy: Arc::new(TargetPolicy::default()),
        }
    }

    /// The same context with `policy` instead of the default one.
    pub fn with_target_policy(mut self, policy: TargetPolicy) -> Self {
        self.target_policy = Arc::new(policy);
        self
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

/// Who enforces the timeout of a run: see [`ProbeKind::DEADLINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// [`Probe::run`] wraps the run in `tokio::time::timeout`: at the deadline the in-flight
    /// work is dropped and the outcome is a bare [`ErrorClass::Timeout`]. The safe default.
    Enforced,
    /// The kind stops itself by the deadline and reports what it measured until then (HTTP's
    /// phases, TCP's connect time), so [`Probe::run`] does not wrap it. A kind that says this
    /// and overruns is caught by the compliance test (`tests/compliance.rs`).
    OwnCutOff,
}

/// One probe kind: how to build it from its spec and run it once. Implemented by one type per
/// module (`http::HttpProbe`, ...) and turned into a [`Probe`] variant by one line in the
/// `register_kinds!` list.
///
/// `run` returns a `Send` future because the node runs checks on a multi-threaded runtime; an
/// implementation may still be written as `async fn`.
pub trait ProbeKind: Sized + std::fmt::Debug + Send + Sync + 'static {
    /// The kind's `ProbeSpec` payload.
    type Spec;

    /// Who enforces the run's timeout. Most kinds leave it to [`Probe::run`].
    const DEADLINE: Deadline = Deadline::Enforced;

    /// Validates `spec` and prepares everything that does not change between runs, so a bad
    /// spec is refused when the assignment arrives rather than at every run.
    fn build(spec: &Self::Spec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError>;

    /// Performs one measurement. `timeout` is the budget of the whole run: kinds that pace
    /// themselves (ICMP's echo requests, SNMP's retries) size their steps from it, and
    /// [`Deadline::OwnCutOff`] kinds must stop by it. Failures are outcomes, never panics.
    fn run(&self, timeout: Duration) -> impl Future<Output = ProbeOutcome> + Send;
}

/// Runs one kind under its [`Deadline`]; `Err` means [`Probe::run`]'s timeout cut it off.
async fn run_kind<K: ProbeKind>(
    probe: &K,
    timeout: Duration,
) -> Result<ProbeOutcome, tokio::time::error::Elapsed> {
    match K::DEADLINE {
        Deadline::OwnCutOff => Ok(probe.run(timeout).await),
        Deadline::Enforced => tokio::time::timeout(timeout, probe.run(timeout)).await,
    }
}

/// Generates [`Probe`] and its dispatch from the list of kinds, so that a new kind is one
/// line here instead of a variant and three `match` arms kept in step by hand.
///
/// Each line is `<module> => <Variant>(<Type>)`: `<Variant>` is the kind's `ProbeSpec`
/// variant and the [`Probe`] variant, `<module>` is also the kind's name (`ProbeSpec::kind`),
/// and `<Type>` implements [`ProbeKind`] with `Spec` = the variant's payload. A line may
/// start with `#[cfg(feature = "...")]`; with that feature off the kind's specs build to
/// [`ProbeBuildError::Unsupported`]. The `match` on `ProbeSpec` has no wildcard, so a spec
/// variant without a line here does not compile.
///
/// Every variant is boxed: a node keeps one probe per check, and unboxed the largest kind
/// (HTTP, about 650 bytes) would set the size of every check's probe. The box costs one
/// allocation when a check is (re)built, never per run.
macro_rules! register_kinds {
    ($(
        $(#[cfg(feature = $feature:literal)])?
        $module:ident => $Variant:ident($Type:ident)
    ),+ $(,)?) => {
        /// A probe ready to run, one variant per registered kind (see [`ProbeKind`]).
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum Probe {
            $(
                $(#[cfg(feature = $feature)])?
                #[doc = concat!("A `", stringify!($module), "` probe.")]
                $Variant(Box<$module::$Type>),
            )+
        }

        impl Probe {
            /// The kinds this build can run (`ProbeSpec::kind` names), in registration order;
            /// a kind whose feature is off is missing.
            pub const KINDS: &'static [&'static str] = &[$(
                $(#[cfg(feature = $feature)])?
                stringify!($module),
            )+];

            /// Validates `spec` and prepares everything that does not change between runs.
            pub fn build(spec: &ProbeSpec, ctx: &ProbeContext) -> Result<Probe, ProbeBuildError> {
                match spec {
                    $(
                        $(#[cfg(feature = $feature)])?
                        ProbeSpec::$Variant(s) => {
                            <$module::$Type as ProbeKind>::build(s, ctx).map(Probe::from)
                        }
                        $(
                            #[cfg(not(feature = $feature))]
                            ProbeSpec::$Variant(_) => {
                                Err(ProbeBuildError::Unsupported(stringify!($module)))
                            }
                        )?
                    )+
                }
            }

            /// Runs one measurement. `timeout` bounds the whole run; exceeding it yields
            /// [`ErrorClass::Timeout`] (with what was measured, for the kinds that cut
            /// themselves off, see [`Deadline`]).
            pub async fn run(&self, timeout: Duration) -> ProbeOutcome {
                let start = Instant::now();
                let result = match self {
                    $(
                        $(#[cfg(feature = $feature)])?
                        Probe::$Variant(p) => run_kind(&**p, timeout).await,
                    )+
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
                    $(
                        $(#[cfg(feature = $feature)])?
                        Probe::$Variant(_) => stringify!($module),
                    )+
                }
            }
        }

        $(
            $(#[cfg(feature = $feature)])?
            impl From<$module::$Type> for Probe {
                fn from(probe: $module::$Type) -> Self {
                    Probe::$Variant(Box::new(probe))
                }
            }
        )+
    };
}

// The registration list: one line per kind.
register_kinds! {
    http => Http(HttpProbe),
    tcp => Tcp(TcpProbe),
    dns => Dns(DnsProbe),
    tls => Tls(TlsProbe),
    icmp => Icmp(IcmpProbe),
    #[cfg(feature = "ssh")]
    ssh => Ssh(SshProbe),
    #[cfg(feature = "snmp")]
    snmp => Snmp(SnmpProbe),
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

    /// With its feature off, a kind's specs are refused as unsupported: the node keeps
    /// running and reports those checks as `Internal` instead.
    #[cfg(not(feature = "ssh"))]
    #[test]
    fn ssh_without_its_feature_is_unsupported() {
        use netpulse_protocol::check::{SshAuth, SshSpec};
        let spec = ProbeSpec::Ssh(SshSpec {
            host: "127.0.0.1".into(),
            port: 22,
            username: "u".into(),
            auth: SshAuth::Password("p".into()),
            host_key_fingerprint: None,
            command: None,
            expect_regex: None,
            extract: Vec::new(),
            legacy_algorithms: false,
        });
        let built = Probe::build(&spec, &ProbeContext::for_node("r", "n"));
        assert!(matches!(built, Err(ProbeBuildError::Unsupported("ssh"))));
        assert!(!Probe::KINDS.contains(&"ssh"));
    }

    /// As for SSH.
    #[cfg(not(feature = "snmp"))]
    #[test]
    fn snmp_without_its_feature_is_unsupported() {
        use netpulse_protocol::check::{SnmpSpec, SnmpVersion};
        let spec = ProbeSpec::Snmp(SnmpSpec {
            host: "127.0.0.1".into(),
            port: 161,
            version: SnmpVersion::V2c {
                community: "c".into(),
            },
            oids: vec!["1.3.6.1.2.1.1.5.0".into()],
            walk: Vec::new(),
            thresholds: Vec::new(),
            rates: Vec::new(),
        });
        let built = Probe::build(&spec, &ProbeContext::for_node("r", "n"));
        assert!(matches!(built, Err(ProbeBuildError::Unsupported("snmp"))));
        assert!(!Probe::KINDS.contains(&"snmp"));
    }

    #[test]
    fn kinds_lists_the_registered_kinds_in_order() {
        let mut expected = vec!["http", "tcp", "dns", "tls", "icmp"];
        if cfg!(feature = "ssh") {
            expected.push("ssh");
        }
        if cfg!(feature = "snmp") {
            expected.push("snmp");
        }
        assert_eq!(Probe::KINDS, expected.as_slice());
    }

    /// Every check holds one probe; a small kind must not pay for the largest one (every
    /// variant is boxed, see `register_kinds!`).
    #[test]
    fn a_probe_is_small_whatever_the_largest_kind() {
        assert!(
            std::mem::size_of::<Probe>() <= 128,
            "Probe is {} bytes",
            std::mem::size_of::<Probe>()
        );
    }
}
