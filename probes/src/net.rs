//! Resolve-and-connect shared by the probes that open their own TCP connection (tcp, tls, ssh,
//! http).
//!
//! The name is resolved on every run (a moved service shows up at once), then every address is
//! tried in order until one accepts, so a dual-stack name with a broken IPv6 path still works
//! over IPv4. A failure is judged by the last attempt.
//!
//! Every address is checked against the node's [`TargetPolicy`] before it is tried: a refused
//! address is skipped without any packet sent to it, and when every address is refused the
//! outcome is class `policy`, naming the rule and the address.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use netpulse_protocol::result::ErrorClass;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::policy::{Refusal, TargetPolicy};
use super::{ms, ProbeOutcome};

/// An open connection and the `dns_ms` / `connect_ms` metrics of getting it.
pub(crate) struct Connected {
    /// The connection (`TCP_NODELAY` set: probes exchange small messages).
    pub stream: TcpStream,
    /// The address that accepted.
    pub addr: SocketAddr,
    /// `dns_ms` and `connect_ms`.
    pub metrics: Vec<(String, f64)>,
}

/// Resolves `host` and connects to the first address that accepts; on failure, the finished
/// down outcome (class `dns`, `policy`, `refused`, `timeout` or `connect`) with the metrics
/// measured so far.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    policy: &TargetPolicy,
) -> Result<Connected, ProbeOutcome> {
    let start = Instant::now();
    let addrs = match resolve(host, port).await {
        Ok(addrs) => addrs,
        Err(message) => return Err(ProbeOutcome::down(ErrorClass::Dns, message, Vec::new())),
    };
    let metrics = vec![("dns_ms".to_owned(), ms(start.elapsed()))];
    connect_first(host, &addrs, metrics, policy).await
}

/// Resolves `host` with the system resolver; the error is the message of a `dns` failure.
/// Never empty when it succeeds.
pub(crate) async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolved to no address"));
    }
    Ok(addrs)
}

/// Connects to the first of `addrs` that `policy` permits and that accepts, adding
/// `connect_ms` to `metrics`.
pub(crate) async fn connect_first(
    host: &str,
    addrs: &[SocketAddr],
    mut metrics: Vec<(String, f64)>,
    policy: &TargetPolicy,
) -> Result<Connected, ProbeOutcome> {
    match first_accepting(addrs, policy).await {
        Ok((stream, addr, took)) => {
            metrics.push(("connect_ms".to_owned(), ms(took)));
            Ok(Connected {
                stream,
                addr,
                metrics,
            })
        }
        Err(failure) => Err(ProbeOutcome::down(
            failure.class(),
            failure.message(host),
            metrics,
        )),
    }
}

/// Connects to the first of `addrs` that accepts, skipping (never connecting to) the ones
/// `policy` refuses. Returns the connection (`TCP_NODELAY` set), the address and how long the
/// accepting attempt took, so callers that keep their own metrics (http sums them over
/// redirect hops) need not build a metrics list.
pub(crate) async fn first_accepting(
    addrs: &[SocketAddr],
    policy: &TargetPolicy,
) -> Result<(TcpStream, SocketAddr, Duration), ConnectFailure> {
    let mut last = None;
    let mut refused = Vec::new();
    for &addr in addrs {
        if let Err(refusal) = policy.check(addr) {
            tracing::debug!(%refusal, "address skipped");
            refused.push(refusal);
            continue;
        }
        let attempt = Instant::now();
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Best effort: small packets of an exchange should not wait.
                let _ = stream.set_nodelay(true);
                return Ok((stream, addr, attempt.elapsed()));
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    Err(ConnectFailure {
        tried: addrs.len() - refused.len(),
        last,
        refused,
    })
}

/// The first of `addrs` that `policy` permits, for the kinds that send to one address (DNS,
/// SNMP, ICMP); the first refusal when none is permitted. `None` when `addrs` is empty.
pub(crate) fn first_permitted(
    addrs: impl IntoIterator<Item = SocketAddr>,
    policy: &TargetPolicy,
) -> Option<Result<SocketAddr, Refusal>> {
    let mut first_refusal = None;
    for addr in addrs {
        match policy.check(addr) {
            Ok(()) => return Some(Ok(addr)),
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    first_refusal.map(Err)
}

/// The down outcome of a target refused by the policy: class `policy`, naming rule and address.
pub(crate) fn refused(refusal: &Refusal, metrics: Vec<(String, f64)>) -> ProbeOutcome {
    ProbeOutcome::down(ErrorClass::Policy, refusal.to_string(), metrics)
}

/// No address accepted: the last attempt judges the failure, or the policy when it refused
/// every address.
#[derive(Debug)]
pub(crate) struct ConnectFailure {
    /// The last address tried and its error; `None` when there was no address to try.
    last: Option<(SocketAddr, io::Error)>,
    /// Addresses tried (not refused by the policy).
    tried: usize,
    /// The addresses the policy refused, in order; never connected to.
    refused: Vec<Refusal>,
}

impl ConnectFailure {
    /// `refused`, `timeout` or `connect`; `policy` when the policy refused every address;
    /// `dns` when there was no address at all.
    pub(crate) fn class(&self) -> ErrorClass {
        match &self.last {
            None if !self.refused.is_empty() => ErrorClass::Policy,
            None => ErrorClass::Dns,
            Some((_, e)) => match e.kind() {
                io::ErrorKind::ConnectionRefused => ErrorClass::Refused,
                io::ErrorKind::TimedOut => ErrorClass::Timeout,
                _ => ErrorClass::Connect,
            },
        }
    }

    /// The message of the down outcome; `host` is the name that was resolved.
    pub(crate) fn message(&self, host: &str) -> String {
        let others = |n: usize| match n {
            0 => String::new(),
            1 => " (and 1 other address)".to_owned(),
            n => format!(" (and {n} other addresses)"),
        };
        let Some((addr, err)) = &self.last else {
            return match self.refused.first() {
                Some(refusal) => format!("{refusal}{}", others(self.refused.len() - 1)),
                None => format!("{host} resolved to no address"),
            };
        };
        let tried = if self.tried > 1 {
            format!(" (all {} addresses failed)", self.tried)
        } else {
            String::new()
        };
        let skipped = match self.refused.len() {
            0 => String::new(),
            n => format!(
                "; {n} more refused by the target policy ({})",
                self.refused[0].rule
            ),
        };
        format!("connect to {addr}: {err}{tried}{skipped}")
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;

    #[tokio::test]
    async fn tries_every_address_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let good = listener.local_addr().expect("addr");
        let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let bad = closed.local_addr().expect("addr");
        drop(closed);
        let policy = TargetPolicy::default();
        let c = connect_first("h", &[bad, good], Vec::new(), &policy)
            .await
            .map_err(|o| format!("{o:?}"))
            .expect("second accepts");
        assert_eq!(c.addr, good);
        assert!(c.metrics.iter().any(|(k, _)| k == "connect_ms"));
        let Err(o) = connect_first("h", &[bad, bad], Vec::new(), &policy).await else {
            panic!("nothing accepts")
        };
        assert_eq!(o.error_class(), Some(ErrorClass::Refused));
        assert!(
            o.error
                .as_ref()
                .is_some_and(|e| e.message.contains("all 2 addresses failed")),
            "{o:?}"
        );
        let Err(o) = connect_first("h", &[], Vec::new(), &policy).await else {
            panic!("no address")
        };
        assert_eq!(o.error_class(), Some(ErrorClass::Dns));
    }

    /// A refused address is never connected to; the others still are. With every address
    /// refused the outcome is `policy`, naming the rule and the address.
    #[tokio::test]
    async fn refused_addresses_are_skipped_without_connecting() {
        let denied = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let denied_addr = denied.local_addr().expect("addr");
        let allowed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let allowed_addr = allowed.local_addr().expect("addr");
        let rule = format!("127.0.0.1/32:{}", denied_addr.port());
        let policy = TargetPolicy::parse::<[&str; 0], _>([], [rule.as_str()]).expect("rule");

        let c = connect_first("h", &[denied_addr, allowed_addr], Vec::new(), &policy)
            .await
            .map_err(|o| format!("{o:?}"))
            .expect("the allowed address accepts");
        assert_eq!(c.addr, allowed_addr);

        let Err(o) = connect_first("h", &[denied_addr, denied_addr], Vec::new(), &policy).await
        else {
            panic!("every address refused")
        };
        assert_eq!(o.error_class(), Some(ErrorClass::Policy), "{o:?}");
        let message = &o.error.as_ref().expect("error").message;
        assert_eq!(
            message,
            &format!(
                "target policy refuses {denied_addr}: deny {rule} (--deny-target) \
                 (and 1 other address)"
            )
        );
        // Nothing ever reached the denied listener.
        let pending = tokio::time::timeout(Duration::from_millis(200), denied.accept()).await;
        assert!(pending.is_err(), "the denied listener saw a connection");

        // A mix: the allowed address is tried and fails; the message mentions the refusal.
        drop(allowed);
        let Err(o) = connect_first("h", &[denied_addr, allowed_addr], Vec::new(), &policy).await
        else {
            panic!("nothing accepts")
        };
        assert_eq!(o.error_class(), Some(ErrorClass::Refused), "{o:?}");
        let message = &o.error.as_ref().expect("error").message;
        assert!(
            message.contains("1 more refused by the target policy"),
            "{message}"
        );
    }

    #[test]
    fn first_permitted_skips_refused_addresses() {
        let policy = TargetPolicy::default();
        let meta: SocketAddr = "169.254.169.254:53".parse().expect("addr");
        let ok: SocketAddr = "192.0.2.1:53".parse().expect("addr");
        assert_eq!(first_permitted([meta, ok], &policy), Some(Ok(ok)));
        let Some(Err(r)) = first_permitted([meta], &policy) else {
            panic!("refused")
        };
        assert_eq!(r.addr, meta);
        assert_eq!(first_permitted([], &policy), None);
    }
}
