//! Canary checks: is this node's own network working?
//!
//! A node that lost its uplink sees every target fail. Its results must not vote a target down
//! (a cut-off probe location must never cause a customer-facing alert), so the node probes a
//! few canary targets of its own and marks every result measured while they fail as
//! `impaired`; the coordinators' voting ignores such results.
//!
//! - [`CanaryState`] is the rule, sans-I/O: it takes each round's outcomes with `now` and says
//!   whether the node is impaired. Impaired when more than half of the canaries failed in each
//!   of the last [`IMPAIR_AFTER_ROUNDS`] rounds (one lost packet does not silence a region);
//!   healthy again after one round in which more than half succeeded. A tie (half failed)
//!   keeps the current state and breaks a run of failed rounds. With no canaries the node is
//!   never impaired.
//! - [`spawn`] runs rounds every interval, all canaries at once with a timeout each, and
//!   publishes [`Health`] on a watch channel that the check runner samples.
//!
//! Canaries are either explicit TCP targets (`--canary host:port`, connect only) or, by
//! default, the coordinators themselves: a fresh QUIC handshake with the node's own
//! certificate, closed straight away. The default needs no extra configuration, sends no
//! traffic to third parties, tests the UDP path the session uses, and succeeds only if a
//! coordinator of this cluster proved its identity (a captive portal or a hijacked name cannot
//! fake it). A node that cannot reach any coordinator cannot deliver results either.

use std::net::SocketAddr;
use std::time::Duration;

use netpulse_protocol::check::TcpSpec;
use netpulse_protocol::identity::COORDINATOR_SERVER_NAME;
use netpulse_protocol::result::ErrorClass;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use netpulse_probes::tcp::TcpProbe;
use netpulse_probes::{ProbeContext, ProbeKind};

/// Time between canary rounds unless configured otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// How long one canary may take. Short: a working path answers a connect or handshake well
/// within it, and a round must finish well within the interval.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Consecutive failed rounds before the node counts as impaired.
pub const IMPAIR_AFTER_ROUNDS: u32 = 2;

/// Which canaries a node runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CanaryTargets {
    /// A QUIC handshake with each coordinator (`Config.coordinators`).
    #[default]
    Coordinators,
    /// TCP connects to these `host:port` targets (`[v6]:port` for IPv6 literals).
    Tcp(Vec<String>),
    /// No canaries: the node is never impaired (single-box setups).
    Disabled,
}

/// Why canaries could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    /// A `--canary` value is not a usable `host:port`.
    #[error("canary target {target:?}: {reason}")]
    InvalidTarget {
        /// The value as given.
        target: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The QUIC client for coordinator canaries could not be built.
    #[error("canary QUIC client: {0}")]
    Quic(String),
}

/// One canary that did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryFailure {
    /// The target as configured (`host:port`).
    pub target: String,
    /// Why it failed, for humans.
    pub reason: String,
}

/// What the check runner and operators need to know about the node's own network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Results measured now must not vote.
    pub impaired: bool,
    /// Canaries that failed in the latest round. Can be non-empty while healthy (a minority
    /// failed, or only one round failed so far).
    pub failing: Vec<CanaryFailure>,
    /// Rounds completed so far.
    pub rounds: u64,
    /// How many times the node has become impaired. A check whose run saw this change was
    /// impaired for part of its run even if both ends looked healthy.
    pub episodes: u64,
}

/// A change of [`Health::impaired`], returned so the driver can log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The node just became impaired; these canaries failed in the deciding round.
    Impaired {
        /// Failed canaries of the latest round.
        failing: Vec<CanaryFailure>,
    },
    /// The node is healthy again after being impaired for this long.
    Recovered {
        /// From the round that made it impaired to the round that cleared it.
        impaired_for: Duration,
    },
}

/// The impairment rule, without clocks or sockets.
#[derive(Debug, Default)]
pub struct CanaryState {
    /// Consecutive rounds in which a majority failed.
    failed_rounds: u32,
    /// When the node became impaired, while it is.
    impaired_since: Option<Instant>,
    health: Health,
}

impl CanaryState {
    /// A healthy node that has run no round yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one round's outcomes (`(target, Ok(()) | Err(reason))`, one per canary) finished
    /// at `now`, and returns the transition it caused, if any.
    pub fn handle_round(
        &mut self,
        now: Instant,
        outcomes: Vec<(String, Result<(), String>)>,
    ) -> Option<Transition> {
        let total = outcomes.len();
        let failing: Vec<CanaryFailure> = outcomes
            .into_iter()
            .filter_map(|(target, r)| r.err().map(|reason| CanaryFailure { target, reason }))
            .collect();
        let failed = failing.len();
        let succeeded = total - failed;
        self.health.rounds += 1;
        self.health.failing = failing;
        // No canaries: nothing can prove the network gone, so never impaired.
        let majority_failed = total > 0 && failed * 2 > total;
        let majority_succeeded = total == 0 || succeeded * 2 > total;
        if majority_failed {
            self.failed_rounds = self.failed_rounds.saturating_add(1);
        } else {
            self.failed_rounds = 0;
        }
        match self.impaired_since {
            None if self.failed_rounds >= IMPAIR_AFTER_ROUNDS => {
                self.impaired_since = Some(now);
                self.health.impaired = true;
                self.health.episodes += 1;
                Some(Transition::Impaired {
                    failing: self.health.failing.clone(),
                })
            }
            Some(since) if majority_succeeded => {
                self.impaired_since = None;
                self.health.impaired = false;
                Some(Transition::Recovered {
                    impaired_for: now.saturating_duration_since(since),
                })
            }
            _ => None,
        }
    }

    /// Whether results measured now must not vote.
    pub fn impaired(&self) -> bool {
        self.health.impaired
    }

    /// Canaries that failed in the latest round.
    pub fn failing(&self) -> &[CanaryFailure] {
        &self.health.failing
    }

    /// Everything the runner publishes.
    pub fn health(&self) -> &Health {
        &self.health
    }
}

/// Splits `host:port`; IPv6 literals need brackets (`[2001:db8::1]:443`), since a bare
/// `2001:db8::1:443` is ambiguous. The host is resolved later, on every round.
pub fn parse_tcp_target(target: &str) -> Result<(String, u16), CanaryError> {
    let invalid = |reason: &str| CanaryError::InvalidTarget {
        target: target.to_owned(),
        reason: reason.to_owned(),
    };
    let s = target.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid("missing ] after IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| invalid("expected host:port"))?;
        (host, port)
    } else {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| invalid("expected host:port"))?;
        if host.contains(':') {
            return Err(invalid("write IPv6 addresses as [address]:port"));
        }
        (host, port)
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("empty or malformed host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Ok((host.to_owned(), p)),
        _ => Err(invalid("port must be 1-65535")),
    }
}

/// One canary, ready to probe.
enum Target {
    Tcp { name: String, probe: TcpProbe },
    Quic { addr: String },
}

/// The QUIC side of coordinator canaries: an endpoint of their own, so canary handshakes never
/// share state with the session.
struct QuicCanary {
    endpoint: quinn::Endpoint,
    client: quinn::ClientConfig,
}

/// The canaries a node probes each round.
pub struct CanarySet {
    targets: Vec<Target>,
    quic: Option<QuicCanary>,
}

impl CanarySet {
    /// No canaries: the node is never impaired.
    pub fn none() -> Self {
        Self {
            targets: Vec::new(),
            quic: None,
        }
    }

    /// TCP connect canaries, `host:port` each.
    pub fn tcp<S: AsRef<str>>(targets: &[S]) -> Result<Self, CanaryError> {
        // Canaries send no payload, so no user agent; the default target policy applies (the
        // operator chose these targets, but a link-local canary says nothing about the path
        // to the targets anyway).
        let ctx = ProbeContext {
            user_agent: String::new(),
            target_policy: Default::default(),
        };
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            let name = t.as_ref().trim().to_owned();
            let (host, port) = parse_tcp_target(&name)?;
            let spec = TcpSpec {
                host,
                port,
                ..Default::default()
            };
            let probe = TcpProbe::build(&spec, &ctx).map_err(|e| CanaryError::InvalidTarget {
                target: name.clone(),
                reason: e.to_string(),
            })?;
            out.push(Target::Tcp { name, probe });
        }
        Ok(Self {
            targets: out,
            quic: None,
        })
    }

    /// QUIC handshake canaries against the coordinators (`host:port`), presenting the node's
    /// identity through `tls` (the same configuration the session uses: cluster CA, node
    /// certificate, edge ALPN). Opens a UDP socket, so it must run inside a tokio runtime.
    pub fn coordinators(
        addrs: &[String],
        tls: rustls::ClientConfig,
        timeout: Duration,
    ) -> Result<Self, CanaryError> {
        if addrs.is_empty() {
            return Ok(Self::none());
        }
        let mut transport = quinn::TransportConfig::default();
        // A handshake that cannot finish within the canary timeout is abandoned; let quinn
        // forget it at the same moment instead of keeping state for the default 30 s.
        let idle_ms = u32::try_from(timeout.as_millis())
            .unwrap_or(u32::MAX)
            .max(1);
        transport.max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
            idle_ms,
        ))));
        // Retransmit a lost Initial packet early enough to matter within the timeout.
        transport.initial_rtt(Duration::from_millis(100));
        let client = crate::quic::client_config(tls, transport).map_err(CanaryError::Quic)?;
        let endpoint = crate::quic::client_endpoint()
            .map_err(|e| CanaryError::Quic(format!("cannot open UDP socket: {e}")))?;
        Ok(Self {
            targets: addrs
                .iter()
                .map(|a| Target::Quic {
                    addr: a.trim().to_owned(),
                })
                .collect(),
            quic: Some(QuicCanary { endpoint, client }),
        })
    }

    /// Number of canaries.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no canaries (the node is then never impaired).
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Probes every canary at once, each bounded by `timeout`.
    pub async fn round(&self, timeout: Duration) -> Vec<(String, Result<(), String>)> {
        let probes = self.targets.iter().map(|t| async move {
            let (name, outcome) = match t {
                Target::Tcp { name, probe } => (name, Ok(tcp_canary(probe, timeout).await)),
                Target::Quic { addr } => (
                    addr,
                    tokio::time::timeout(timeout, self.quic_canary(addr)).await,
                ),
            };
            let outcome = outcome.unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")));
            (name.clone(), outcome)
        });
        futures::future::join_all(probes).await
    }

    /// Resolves `addr` (every round: a moved coordinator shows up at once) and completes a
    /// handshake with the first address that answers, then closes the connection unused.
    async fn quic_canary(&self, addr: &str) -> Result<(), String> {
        let Some(q) = &self.quic else {
            return Err("no QUIC endpoint".into());
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr)
            .await
            .map_err(|e| format!("cannot resolve: {e}"))?
            .collect();
        let mut last = format!("{addr} resolved to no address");
        for sa in addrs {
            let connecting =
                match q
                    .endpoint
                    .connect_with(q.client.clone(), sa, COORDINATOR_SERVER_NAME)
                {
                    Ok(c) => c,
                    Err(e) => {
                        last = format!("{sa}: {e}");
                        continue;
                    }
                };
            match connecting.await {
                Ok(conn) => {
                    conn.close(quinn::VarInt::from_u32(0), b"canary");
                    return Ok(());
                }
                Err(e) => last = format!("QUIC handshake with {sa}: {e}"),
            }
        }
        Err(last)
    }
}

async fn tcp_canary(probe: &TcpProbe, timeout: Duration) -> Result<(), String> {
    let outcome = probe.run(timeout).await;
    match outcome.error {
        None => Ok(()),
        // Worded like the QUIC canaries' timeout.
        Some(e) if e.class == ErrorClass::Timeout => Err(format!("no answer within {timeout:?}")),
        Some(e) => Err(e.message),
    }
}

impl Drop for CanarySet {
    fn drop(&mut self) {
        if let Some(q) = &self.quic {
            q.endpoint
                .close(quinn::VarInt::from_u32(0), b"canaries stopped");
        }
    }
}

/// Runs canary rounds every `interval` until `shutdown` flips to true (or every receiver is
/// gone) and publishes [`Health`] after each round. With no canaries no task is started and
/// the returned receiver stays healthy forever.
pub fn spawn(
    set: CanarySet,
    interval: Duration,
    timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> (watch::Receiver<Health>, Option<JoinHandle<()>>) {
    let (tx, rx) = watch::channel(Health::default());
    if set.is_empty() {
        return (rx, None);
    }
    let interval = interval.max(Duration::from_millis(10));
    let task = tokio::spawn(async move {
        let mut state = CanaryState::new();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => break,
                _ = tx.closed() => break,
            }
            let outcomes = tokio::select! {
                o = set.round(timeout) => o,
                _ = shutdown.changed() => break,
            };
            match state.handle_round(Instant::now(), outcomes) {
                Some(Transition::Impaired { failing }) => tracing::warn!(
                    failing = %describe(&failing),
                    canaries = set.len(),
                    "canary checks failing: this node's network looks impaired; its results will not vote"
                ),
                Some(Transition::Recovered { impaired_for }) => tracing::info!(
                    impaired_for = ?impaired_for,
                    still_failing = %describe(state.failing()),
                    "canary checks pass again: results vote again"
                ),
                None => {}
            }
            tx.send_replace(state.health().clone());
        }
    });
    (rx, Some(task))
}

/// `target (reason), …` for logs.
fn describe(failing: &[CanaryFailure]) -> String {
    failing
        .iter()
        .map(|f| format!("{} ({})", f.target, f.reason))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(results: &[(&str, bool)]) -> Vec<(String, Result<(), String>)> {
        results
            .iter()
            .map(|(t, ok)| {
                let r = if *ok {
                    Ok(())
                } else {
                    Err("refused".to_owned())
                };
                (t.to_string(), r)
            })
            .collect()
    }

    const ALL_UP: &[(&str, bool)] = &[("a:1", true), ("b:2", true), ("c:3", true)];
    const ALL_DOWN: &[(&str, bool)] = &[("a:1", false), ("b:2", false), ("c:3", false)];
    const TWO_DOWN: &[(&str, bool)] = &[("a:1", false), ("b:2", false), ("c:3", true)];
    const ONE_DOWN: &[(&str, bool)] = &[("a:1", false), ("b:2", true), ("c:3", true)];

    #[test]
    fn one_failed_round_is_not_enough() {
        let t0 = Instant::now();
        let mut s = CanaryState::new();
        assert_eq!(s.handle_round(t0, round(ALL_UP)), None);
        assert_eq!(
            s.handle_round(t0 + Duration::from_secs(5), round(ALL_DOWN)),
            None
        );
        assert!(!s.impaired());
        assert_eq!(
            s.failing().len(),
            3,
            "failures are visible before impairment"
        );
        assert_eq!(
            s.handle_round(t0 + Duration::from_secs(10), round(ALL_UP)),
            None
        );
        assert!(s.failing().is_empty());
        // A healthy round in between resets the count.
        assert_eq!(
            s.handle_round(t0 + Duration::from_secs(15), round(ALL_DOWN)),
            None
        );
        assert!(!s.impaired());
    }

    #[test]
    fn two_majority_failed_rounds_impair_and_one_good_round_recovers() {
        let t0 = Instant::now();
        let mut s = CanaryState::new();
        assert_eq!(s.handle_round(t0, round(TWO_DOWN)), None);
        let t = s.handle_round(t0 + Duration::from_secs(5), round(ALL_DOWN));
        let Some(Transition::Impaired { failing }) = t else {
            panic!("expected impaired, got {t:?}")
        };
        let names: Vec<&str> = failing.iter().map(|f| f.target.as_str()).collect();
        assert_eq!(names, ["a:1", "b:2", "c:3"]);
        assert!(s.impaired());
        assert_eq!(s.health().episodes, 1);
        // Still failing: no new transition.
        assert_eq!(
            s.handle_round(t0 + Duration::from_secs(10), round(ALL_DOWN)),
            None
        );
        assert!(s.impaired());
        // One round with a majority up clears it, even with a minority still failing.
        let t = s.handle_round(t0 + Duration::from_secs(15), round(ONE_DOWN));
        assert_eq!(
            t,
            Some(Transition::Recovered {
                impaired_for: Duration::from_secs(10)
            })
        );
        assert!(!s.impaired());
        assert_eq!(s.failing().len(), 1);
        assert_eq!(s.health().rounds, 4);
    }

    #[test]
    fn a_failing_minority_never_impairs() {
        let t0 = Instant::now();
        let mut s = CanaryState::new();
        for i in 0..10 {
            assert_eq!(
                s.handle_round(t0 + Duration::from_secs(i), round(ONE_DOWN)),
                None
            );
        }
        assert!(!s.impaired());
    }

    #[test]
    fn a_tie_neither_impairs_nor_recovers() {
        let t0 = Instant::now();
        let half = &[("a:1", false), ("b:2", true)];
        let none_up = &[("a:1", false), ("b:2", false)];
        let mut s = CanaryState::new();
        // A tie breaks a run of failed rounds.
        assert_eq!(s.handle_round(t0, round(none_up)), None);
        assert_eq!(s.handle_round(t0, round(half)), None);
        assert_eq!(s.handle_round(t0, round(none_up)), None);
        assert!(!s.impaired());
        assert!(s.handle_round(t0, round(none_up)).is_some());
        // While impaired, a tie is not a majority of successes.
        assert_eq!(s.handle_round(t0, round(half)), None);
        assert!(s.impaired());
        assert!(s
            .handle_round(t0, round(&[("a:1", true), ("b:2", true)]))
            .is_some());
        assert!(!s.impaired());
    }

    #[test]
    fn a_single_canary_decides_alone() {
        let t0 = Instant::now();
        let mut s = CanaryState::new();
        assert_eq!(s.handle_round(t0, round(&[("c:1", false)])), None);
        assert!(s.handle_round(t0, round(&[("c:1", false)])).is_some());
        assert!(s.handle_round(t0, round(&[("c:1", true)])).is_some());
        assert_eq!(s.health().episodes, 1);
    }

    #[test]
    fn no_canaries_never_impair() {
        let t0 = Instant::now();
        let mut s = CanaryState::new();
        for _ in 0..5 {
            assert_eq!(s.handle_round(t0, Vec::new()), None);
        }
        assert!(!s.impaired());
        assert_eq!(s.health().rounds, 5);
    }

    #[test]
    fn episodes_count_each_impairment() {
        let t0 = Instant::now();
        let mut s = CanaryState::new();
        for _ in 0..3 {
            s.handle_round(t0, round(ALL_DOWN));
            s.handle_round(t0, round(ALL_DOWN));
            s.handle_round(t0, round(ALL_UP));
        }
        assert_eq!(s.health().episodes, 3);
        assert!(!s.impaired());
    }

    #[test]
    fn parses_targets() {
        let ok = |s: &str| parse_tcp_target(s).map_err(|e| e.to_string());
        assert_eq!(ok("example.com:443"), Ok(("example.com".into(), 443)));
        assert_eq!(ok(" 192.0.2.1:53 "), Ok(("192.0.2.1".into(), 53)));
        assert_eq!(ok("[2001:db8::1]:443"), Ok(("2001:db8::1".into(), 443)));
        for bad in [
            "example.com",
            "example.com:",
            "example.com:0",
            "example.com:70000",
            ":80",
            "2001:db8::1:443",
            "[2001:db8::1]",
            "[2001:db8::1:443",
            "bad host:80",
        ] {
            assert!(parse_tcp_target(bad).is_err(), "{bad} should be refused");
        }
    }

    #[tokio::test]
    async fn empty_set_is_never_impaired_and_starts_no_task() {
        let (_stop, stop_rx) = watch::channel(false);
        let (health, task) = spawn(
            CanarySet::none(),
            Duration::from_millis(10),
            DEFAULT_TIMEOUT,
            stop_rx,
        );
        assert!(task.is_none());
        assert!(!health.borrow().impaired);
    }
}
