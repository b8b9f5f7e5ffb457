//! ICMP probe: `count` echo requests to one host, judged on loss; reports RTT statistics.
//!
//! # One socket per address family, per node
//! Every ICMP check of a node shares [`IcmpSockets::node`]: one IPv4 and one IPv6 socket,
//! opened on first use and kept for the life of the process, with their receive tasks on the
//! edge node's runtime ([`IcmpSockets::use_runtime`]) or, when no node named one (tests, tools),
//! on a dedicated thread (`netpulse-icmp`), so they outlive any runtime that happens to run the
//! first check. Replies are told apart by sequence number (a counter per socket, so
//! concurrent checks of the same host never collide) and, on raw sockets, by a random
//! identifier per run. Thousands of targets therefore cost two file descriptors and one
//! receive task per family.
//!
//! # Privileges
//! Opening the socket tries, in order:
//! 1. an unprivileged "ping socket" (`SOCK_DGRAM`, `IPPROTO_ICMP`), allowed when the node's
//!    group id is inside `net.ipv4.ping_group_range` (this sysctl also governs IPv6);
//! 2. a raw socket (`SOCK_RAW`), allowed for root or with `CAP_NET_RAW`.
//!
//! When neither is allowed the run is `down` with [`ErrorClass::Internal`] and a message
//! naming the three fixes; the next run tries again, so granting the privilege needs no
//! restart.
//!
//! # Timing
//! Echo requests leave [`MAX_INTERVAL`] apart (closer when the timeout is short, so that all
//! of them fit in the first half of it). Every request waits for its reply until 90 % of the
//! check's timeout, so a lossy run still reports what it measured before `Probe::run` gives
//! up on it.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use netpulse_protocol::check::{IcmpSpec, ICMP_MAX_COUNT, ICMP_MAX_PACKET_SIZE, ICMP_MIN_COUNT};
use netpulse_protocol::result::ErrorClass;
use surge_ping::{Client, Config, IcmpPacket, PingIdentifier, PingSequence, SurgeError, ICMP};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::policy::{Refusal, TargetPolicy};
use super::{ms, net, ProbeBuildError, ProbeContext, ProbeKind, ProbeOutcome};

/// Longest gap between two echo requests of one run.
pub const MAX_INTERVAL: Duration = Duration::from_millis(200);

/// Share of the check's timeout during which replies are awaited.
const WAIT_SHARE: f64 = 0.9;

/// What to do when the node may not open an ICMP socket.
pub const PRIVILEGE_HINT: &str = "run the edge node as root, or grant the capability \
     (`setcap cap_net_raw+ep /path/to/netpulse`), or allow unprivileged ping sockets for its \
     group (`sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`)";

/// ICMP sockets, one per address family, opened lazily and shared by every probe holding
/// this set.
#[derive(Default)]
pub struct IcmpSockets {
    v4: OnceCell<SharedSocket>,
    v6: OnceCell<SharedSocket>,
    /// Where the sockets are opened and their receive tasks run; `None`: the runtime of the
    /// run that opens them.
    runtime: Option<tokio::runtime::Handle>,
}

impl std::fmt::Debug for IcmpSockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcmpSockets")
            .field("v4", &self.v4.get().map(|s| s.kind))
            .field("v6", &self.v6.get().map(|s| s.kind))
            .finish()
    }
}

/// The runtime named by [`IcmpSockets::use_runtime`].
static NODE_RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();

impl IcmpSockets {
    /// The node's sockets: one set per process, used by [`IcmpProbe::build`]. Their receive
    /// tasks run on the runtime given to [`IcmpSockets::use_runtime`], or else on a dedicated
    /// thread, so they keep working whichever runtime runs the checks.
    pub fn node() -> Arc<IcmpSockets> {
        static NODE: OnceLock<Arc<IcmpSockets>> = OnceLock::new();
        NODE.get_or_init(|| {
            let runtime = match NODE_RUNTIME.get() {
                Some(rt) => Some(rt.clone()),
                None => dedicated_runtime()
                    .inspect_err(|e| {
                        tracing::warn!(error = %e, "no ICMP thread; ICMP sockets follow the first run's runtime")
                    })
                    .ok(),
            };
            Arc::new(IcmpSockets {
                runtime,
                ..IcmpSockets::default()
            })
        })
        .clone()
    }

    /// Puts the node's sockets ([`IcmpSockets::node`]) on `runtime`, which must live as long as
    /// the process (an edge node's own runtime). Each reply then wakes its check without a hop
    /// from the dedicated thread's runtime to the node's: that hop was about a tenth of an ICMP
    /// check's CPU. Takes effect only before the sockets' first use; later calls are ignored.
    pub fn use_runtime(runtime: tokio::runtime::Handle) {
        let _ = NODE_RUNTIME.set(runtime);
    }

    /// A separate set whose sockets are opened, and receive, on the runtime of the first run
    /// that needs them (and in that thread's network namespace): for tests and tools that
    /// must not share the node's sockets.
    pub fn on_current_runtime() -> Arc<IcmpSockets> {
        Arc::new(IcmpSockets::default())
    }

    /// The socket for `ip`'s family, opening it if needed. A failure is not remembered: the
    /// next run tries again.
    async fn socket_for(&self, ip: IpAddr) -> Result<&SharedSocket, String> {
        let (cell, family) = match ip {
            IpAddr::V4(_) => (&self.v4, ICMP::V4),
            IpAddr::V6(_) => (&self.v6, ICMP::V6),
        };
        cell.get_or_try_init(|| async {
            match &self.runtime {
                Some(rt) => rt
                    .spawn(SharedSocket::open(family))
                    .await
                    .map_err(|e| format!("ICMP socket set-up failed: {e}"))?,
                None => SharedSocket::open(family).await,
            }
        })
        .await
    }

    /// The kind of socket opened for each family so far (`None`: not opened yet).
    pub fn opened(&self) -> (Option<SocketKind>, Option<SocketKind>) {
        (self.v4.get().map(|s| s.kind), self.v6.get().map(|s| s.kind))
    }
}

/// Which kind of ICMP socket the kernel granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// Unprivileged ping socket (`SOCK_DGRAM`).
    Dgram,
    /// Raw socket (`SOCK_RAW`, root or `CAP_NET_RAW`).
    Raw,
}

impl SocketKind {
    fn as_str(self) -> &'static str {
        match self {
            SocketKind::Dgram => "ping socket",
            SocketKind::Raw => "raw socket",
        }
    }
}

struct SharedSocket {
    client: Client,
    kind: SocketKind,
    /// Node-wide sequence numbers: on ping sockets the kernel picks the identifier, so the
    /// sequence alone tells concurrent checks of one host apart.
    next_seq: AtomicU16,
}

impl SharedSocket {
    async fn open(family: ICMP) -> Result<Self, String> {
        let name = match family {
            ICMP::V4 => "ICMPv4",
            ICMP::V6 => "ICMPv6",
        };
        // surge-ping tries a ping socket first, then a raw socket.
        let config = Config::builder().kind(family).build();
        let client = Client::new(&config).map_err(|e| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                format!(
                    "this node may not open an {name} socket (neither an unprivileged ping \
                     socket nor a raw socket is allowed): {PRIVILEGE_HINT}"
                )
            } else {
                let first_line = e.to_string();
                let first_line = first_line.lines().next().unwrap_or_default().to_owned();
                format!("cannot open an {name} socket: {first_line}")
            }
        })?;
        // surge-ping sets the identifier itself only on raw sockets (the kernel owns it on
        // ping sockets); a pinger tells which kind was granted.
        let any: IpAddr = match family {
            ICMP::V4 => std::net::Ipv4Addr::LOCALHOST.into(),
            ICMP::V6 => std::net::Ipv6Addr::LOCALHOST.into(),
        };
        let kind = if client.pinger(any, PingIdentifier(0)).await.ident.is_some() {
            SocketKind::Raw
        } else {
            SocketKind::Dgram
        };
        Ok(Self {
            client,
            kind,
            next_seq: AtomicU16::new(rand::random()),
        })
    }
}

/// Starts the thread whose runtime owns the node's ICMP sockets and receive tasks.
fn dedicated_runtime() -> Result<tokio::runtime::Handle, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("netpulse-icmp".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = tx.send(Ok(rt.handle().clone()));
            // Lives as long as the process: the sockets are the node's.
            rt.block_on(std::future::pending::<()>());
        })
        .map_err(|e| e.to_string())?;
    rx.recv().map_err(|e| e.to_string())?
}

/// A validated ICMP check.
pub struct IcmpProbe {
    /// Host name or IP literal, without brackets.
    host: String,
    /// Set when `host` is an IP literal: no resolution per run.
    literal: Option<IpAddr>,
    count: u8,
    payload: Vec<u8>,
    sockets: Arc<IcmpSockets>,
    /// The node's target policy, checked on the address before the first echo request
    /// (ICMP has no port: only rules without ports apply).
    policy: Arc<TargetPolicy>,
}

impl std::fmt::Debug for IcmpProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcmpProbe")
            .field("host", &self.host)
            .field("count", &self.count)
            .field("packet_size", &self.payload.len())
            .finish_non_exhaustive()
    }
}

impl ProbeKind for IcmpProbe {
    type Spec = IcmpSpec;

    /// Validates host, count and size; the probe will use the node's shared sockets
    /// ([`IcmpSockets::node`]).
    fn build(spec: &IcmpSpec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
        let mut probe = Self::with_sockets(spec, IcmpSockets::node())?;
        probe.policy = Arc::clone(&ctx.target_policy);
        Ok(probe)
    }

    /// Sends the echo requests and collects the replies until 90 % of `timeout`.
    async fn run(&self, timeout: Duration) -> ProbeOutcome {
        let start = Instant::now();
        let deadline = start + timeout.mul_f64(WAIT_SHARE);
        let mut metrics = Vec::new();
        let ip = match self.literal {
            Some(ip) => match self.policy.check(SocketAddr::new(ip, 0)) {
                Ok(()) => ip,
                Err(refusal) => return net::refused(&refusal, metrics),
            },
            None => match resolve(&self.host, &self.policy).await {
                Ok(ip) => {
                    metrics.push(("dns_ms".to_owned(), ms(start.elapsed())));
                    ip
                }
                Err(Ok(message)) => return ProbeOutcome::down(ErrorClass::Dns, message, metrics),
                Err(Err(refusal)) => return net::refused(&refusal, metrics),
            },
        };
        let socket = match self.sockets.socket_for(ip).await {
            Ok(s) => s,
            Err(message) => return ProbeOutcome::down(ErrorClass::Internal, message, metrics),
        };

        let count = usize::from(self.count);
        let sending_window = deadline.saturating_duration_since(Instant::now()) / 2;
        let interval = MAX_INTERVAL.min(sending_window / u32::from(self.count));
        let ident = PingIdentifier(rand::random());
        let first_send = Instant::now();
        let echoes = (0..count).map(|i| {
            let seq = PingSequence(socket.next_seq.fetch_add(1, Ordering::Relaxed));
            let send_at = first_send + interval * i as u32;
            async move {
                let mut pinger = socket.client.pinger(ip, ident).await;
                tokio::time::sleep_until(send_at).await;
                let before = Instant::now();
                pinger.timeout(deadline.saturating_duration_since(before));
                let reply = pinger.ping(seq, &self.payload).await;
                // surge-ping times from the end of the send call to the receipt of the reply;
                // on loopback the reply can be received before the send call returns, which
                // reads as zero. The time from before the send to the return is an upper
                // bound on the true round trip, used then.
                reply.map(|(packet, rtt)| {
                    let rtt = if rtt.is_zero() { before.elapsed() } else { rtt };
                    (packet, rtt)
                })
            }
        });
        let replies = futures::future::join_all(echoes).await;

        let mut rtts = Vec::with_capacity(count);
        let mut errors = Vec::new();
        let mut icmp_errors = Vec::new();
        for reply in replies {
            match reply {
                Ok((packet, rtt)) => match echo_reply_or_error(&packet) {
                    None => rtts.push(rtt),
                    Some(what) => icmp_errors.push(what),
                },
                Err(SurgeError::Timeout { .. }) => {}
                Err(SurgeError::IOError(e)) => errors.push(format!("send: {e}")),
                Err(e) => errors.push(e.to_string()),
            }
        }
        judge(
            &self.host,
            ip,
            count,
            &rtts,
            &icmp_errors,
            &errors,
            socket.kind,
            metrics,
        )
    }
}

impl IcmpProbe {
    /// As [`IcmpProbe::build`], with a chosen socket set and the default target policy.
    pub fn with_sockets(
        spec: &IcmpSpec,
        sockets: Arc<IcmpSockets>,
    ) -> Result<Self, ProbeBuildError> {
        let trimmed = spec.host.trim();
        let host = match trimmed.strip_prefix('[') {
            Some(rest) => rest
                .strip_suffix(']')
                .ok_or_else(|| ProbeBuildError::InvalidHost(spec.host.clone()))?,
            None => trimmed,
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProbeBuildError::InvalidHost(spec.host.clone()));
        }
        if !(ICMP_MIN_COUNT..=ICMP_MAX_COUNT).contains(&spec.count) {
            return Err(ProbeBuildError::InvalidField {
                field: "count",
                reason: format!("must be {ICMP_MIN_COUNT} to {ICMP_MAX_COUNT}"),
            });
        }
        if spec.packet_size > ICMP_MAX_PACKET_SIZE {
            return Err(ProbeBuildError::InvalidField {
                field: "packet_size",
                reason: format!("must be 0 to {ICMP_MAX_PACKET_SIZE}"),
            });
        }
        // A recognizable, non-zero pattern, as `ping` does.
        let payload = (0..spec.packet_size).map(|i| (i % 256) as u8).collect();
        Ok(Self {
            host: host.to_owned(),
            literal: host.parse().ok(),
            count: spec.count,
            payload,
            sockets,
            policy: Arc::new(TargetPolicy::default()),
        })
    }
}

/// `None` for an echo reply; otherwise what the ICMP error says (unreachable, time exceeded).
fn echo_reply_or_error(packet: &IcmpPacket) -> Option<String> {
    match packet {
        IcmpPacket::V4(p) => {
            let (t, c) = (p.get_icmp_type().0, p.get_icmp_code().0);
            (t != 0).then(|| describe_icmp_v4(t, c, p.get_source().into()))
        }
        IcmpPacket::V6(p) => {
            let (t, c) = (p.get_icmpv6_type().0, p.get_icmpv6_code().0);
            (t != 129).then(|| describe_icmp_v6(t, c, p.get_source().into()))
        }
    }
}

fn describe_icmp_v4(t: u8, code: u8, from: IpAddr) -> String {
    let what = match (t, code) {
        (3, 0) => "network unreachable",
        (3, 1) => "host unreachable",
        (3, 2) => "protocol unreachable",
        (3, 3) => "port unreachable",
        (3, 9 | 10 | 13) => "administratively prohibited",
        (3, _) => "destination unreachable",
        (11, _) => "time exceeded",
        _ => "unexpected ICMP message",
    };
    format!("{what} (ICMP type {t} code {code}) from {from}")
}

fn describe_icmp_v6(t: u8, code: u8, from: IpAddr) -> String {
    let what = match (t, code) {
        (1, 0) => "no route to destination",
        (1, 1) => "administratively prohibited",
        (1, 3) => "address unreachable",
        (1, 4) => "port unreachable",
        (1, _) => "destination unreachable",
        (3, _) => "time exceeded",
        _ => "unexpected ICMPv6 message",
    };
    format!("{what} (ICMPv6 type {t} code {code}) from {from}")
}

/// Resolves a name to its first address the target policy permits. The error is the message
/// of a `dns` failure, or the refusal of the first address when the policy refuses them all.
async fn resolve(host: &str, policy: &TargetPolicy) -> Result<IpAddr, Result<String, Refusal>> {
    match tokio::net::lookup_host((host, 0)).await {
        Ok(addrs) => match net::first_permitted(addrs, policy) {
            Some(Ok(addr)) => Ok(addr.ip()),
            Some(Err(refusal)) => Err(Err(refusal)),
            None => Err(Ok(format!("{host} resolved to no address"))),
        },
        Err(e) => Err(Ok(format!("cannot resolve {host}: {e}"))),
    }
}

/// Round-trip statistics of the replies that came back, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttStats {
    /// Fastest reply.
    pub min: f64,
    /// Mean.
    pub avg: f64,
    /// Slowest reply.
    pub max: f64,
    /// Population standard deviation, as `ping`'s `mdev`.
    pub stddev: f64,
}

/// Statistics over `rtts`; `None` when nothing came back.
pub fn rtt_stats(rtts: &[Duration]) -> Option<RttStats> {
    if rtts.is_empty() {
        return None;
    }
    let values: Vec<f64> = rtts.iter().map(|d| ms(*d)).collect();
    let n = values.len() as f64;
    let avg = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - avg) * (v - avg)).sum::<f64>() / n;
    Some(RttStats {
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        avg,
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        stddev: var.sqrt(),
    })
}

/// Loss as a percentage of `sent`.
pub fn loss_percent(sent: usize, received: usize) -> f64 {
    if sent == 0 {
        return 0.0;
    }
    (sent.saturating_sub(received)) as f64 * 100.0 / sent as f64
}

#[allow(clippy::too_many_arguments)]
fn judge(
    host: &str,
    ip: IpAddr,
    sent: usize,
    rtts: &[Duration],
    icmp_errors: &[String],
    errors: &[String],
    kind: SocketKind,
    mut metrics: Vec<(String, f64)>,
) -> ProbeOutcome {
    let received = rtts.len();
    let loss = loss_percent(sent, received);
    metrics.push(("sent".to_owned(), sent as f64));
    metrics.push(("received".to_owned(), received as f64));
    metrics.push(("loss_percent".to_owned(), loss));
    let target = if host == ip.to_string() {
        host.to_owned()
    } else {
        format!("{host} ({ip})")
    };
    let mut summary = format!(
        "{received}/{sent} echo replies from {target}, {loss:.0}% loss, via {}",
        kind.as_str()
    );
    if let Some(s) = rtt_stats(rtts) {
        metrics.push(("rtt_min_ms".to_owned(), s.min));
        metrics.push(("rtt_avg_ms".to_owned(), s.avg));
        metrics.push(("rtt_max_ms".to_owned(), s.max));
        metrics.push(("rtt_stddev_ms".to_owned(), s.stddev));
        summary.push_str(&format!(
            "; rtt min/avg/max/stddev = {:.3}/{:.3}/{:.3}/{:.3} ms",
            s.min, s.avg, s.max, s.stddev
        ));
    }
    let notes: Vec<&str> = icmp_errors
        .iter()
        .chain(errors)
        .map(String::as_str)
        .collect();
    if !notes.is_empty() {
        summary.push_str("; ");
        summary.push_str(&dedup_join(&notes));
    }
    if received == sent {
        ProbeOutcome::up(metrics).with_detail(summary)
    } else if received > 0 {
        ProbeOutcome::degraded(ErrorClass::Timeout, summary.clone(), metrics).with_detail(summary)
    } else if !icmp_errors.is_empty() || !errors.is_empty() {
        ProbeOutcome::down(ErrorClass::Connect, summary.clone(), metrics).with_detail(summary)
    } else {
        ProbeOutcome::down(ErrorClass::Timeout, summary.clone(), metrics).with_detail(summary)
    }
}

/// Joins messages, each once, with a count when repeated.
fn dedup_join(notes: &[&str]) -> String {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for n in notes {
        match seen.iter_mut().find(|(s, _)| s == n) {
            Some((_, c)) => *c += 1,
            None => seen.push((n, 1)),
        }
    }
    seen.iter()
        .map(|(s, c)| {
            if *c > 1 {
                format!("{s} (x{c})")
            } else {
                (*s).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::result::CheckStatus;

    use super::*;

    fn ctx() -> ProbeContext {
        ProbeContext::for_node("eu-west", "n-abc")
    }

    fn spec(host: &str, count: u8, packet_size: u16) -> IcmpSpec {
        IcmpSpec {
            host: host.into(),
            count,
            packet_size,
        }
    }

    #[test]
    fn stats_match_ping() {
        let rtts = [1.0, 2.0, 3.0, 6.0].map(|m| Duration::from_micros((m * 1000.0) as u64));
        let s = rtt_stats(&rtts).expect("stats");
        assert_eq!((s.min, s.avg, s.max), (1.0, 3.0, 6.0));
        // mdev = sqrt(((2^2 + 1 + 0 + 3^2) / 4)) = sqrt(3.5)
        assert!((s.stddev - 3.5f64.sqrt()).abs() < 1e-9, "{}", s.stddev);
        assert_eq!(rtt_stats(&[]), None);
        let one = rtt_stats(&[Duration::from_millis(5)]).expect("one");
        assert_eq!((one.min, one.max, one.stddev), (5.0, 5.0, 0.0));
    }

    #[test]
    fn loss() {
        assert_eq!(loss_percent(3, 3), 0.0);
        assert!((loss_percent(3, 2) - 33.333).abs() < 0.01);
        assert_eq!(loss_percent(4, 0), 100.0);
        assert_eq!(loss_percent(0, 0), 0.0);
    }

    #[test]
    fn judge_by_loss() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let ms1 = Duration::from_millis(1);
        let up = judge(
            "127.0.0.1",
            ip,
            2,
            &[ms1, ms1],
            &[],
            &[],
            SocketKind::Raw,
            vec![],
        );
        assert_eq!(up.status, CheckStatus::Up);
        assert_eq!(up.metric("loss_percent"), Some(0.0));
        let partial = judge(
            "127.0.0.1",
            ip,
            2,
            &[ms1],
            &[],
            &[],
            SocketKind::Raw,
            vec![],
        );
        assert_eq!(partial.status, CheckStatus::Degraded);
        assert_eq!(partial.error_class(), Some(ErrorClass::Timeout));
        assert_eq!(partial.metric("loss_percent"), Some(50.0));
        let lost = judge("127.0.0.1", ip, 2, &[], &[], &[], SocketKind::Dgram, vec![]);
        assert_eq!(lost.status, CheckStatus::Down);
        assert_eq!(lost.error_class(), Some(ErrorClass::Timeout));
        assert_eq!(lost.metric("rtt_avg_ms"), None);
        let unreachable = describe_icmp_v4(3, 1, ip);
        let refused = judge(
            "h",
            ip,
            2,
            &[],
            &[unreachable.clone(), unreachable],
            &[],
            SocketKind::Raw,
            vec![],
        );
        assert_eq!(refused.error_class(), Some(ErrorClass::Connect));
        let msg = &refused.error.as_ref().expect("error").message;
        assert!(
            msg.contains("host unreachable")
                && msg.contains("(x2)")
                && msg.contains("h (127.0.0.1)"),
            "{msg}"
        );
    }

    #[test]
    fn build_validates() {
        let ok = IcmpProbe::build(&spec("[::1]", 3, 56), &ctx()).expect("valid");
        assert_eq!(ok.literal, Some("::1".parse().expect("ip")));
        assert_eq!(ok.payload.len(), 56);
        let name = IcmpProbe::build(&spec("localhost", 1, 0), &ctx()).expect("valid");
        assert_eq!(name.literal, None);
        for (s, field) in [
            (spec("h", 0, 56), Some("count")),
            (spec("h", 21, 56), Some("count")),
            (spec("h", 3, 1473), Some("packet_size")),
            (spec("", 3, 56), None),
            (spec("a b", 3, 56), None),
        ] {
            match IcmpProbe::build(&s, &ctx()) {
                Err(ProbeBuildError::InvalidField { field: f, .. }) => assert_eq!(Some(f), field),
                Err(ProbeBuildError::InvalidHost(_)) => assert_eq!(field, None),
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }
}
