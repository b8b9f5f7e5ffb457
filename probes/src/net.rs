//! Resolve-and-connect shared by the probes that open their own TCP connection (tcp, tls, ssh,
//! http).
//!
//! The name is resolved on every run (a moved service shows up at once), then every address is
//! tried in order until one accepts, so a dual-stack name with a broken IPv6 path still works
//! over IPv4. A failure is judged by the last attempt.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use netpulse_protocol::result::ErrorClass;
use tokio::net::TcpStream;
use tokio::time::Instant;

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
/// down outcome (class `dns`, `refused`, `timeout` or `connect`) with the metrics measured so far.
pub(crate) async fn connect(host: &str, port: u16) -> Result<Connected, ProbeOutcome> {
    let start = Instant::now();
    let addrs = match resolve(host, port).await {
        Ok(addrs) => addrs,
        Err(message) => return Err(ProbeOutcome::down(ErrorClass::Dns, message, Vec::new())),
    };
    let metrics = vec![("dns_ms".to_owned(), ms(start.elapsed()))];
    connect_first(host, &addrs, metrics).await
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

/// Connects to the first of `addrs` that accepts, adding `connect_ms` to `metrics`.
pub(crate) async fn connect_first(
    host: &str,
    addrs: &[SocketAddr],
    mut metrics: Vec<(String, f64)>,
) -> Result<Connected, ProbeOutcome> {
    match first_accepting(addrs).await {
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

/// Connects to the first of `addrs` that accepts. Returns the connection (`TCP_NODELAY` set),
/// the address and how long the accepting attempt took, so callers that keep their own
/// metrics (http sums them over redirect hops) need not build a metrics list.
pub(crate) async fn first_accepting(
    addrs: &[SocketAddr],
) -> Result<(TcpStream, SocketAddr, Duration), ConnectFailure> {
    let mut last = None;
    for &addr in addrs {
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
        last,
        tried: addrs.len(),
    })
}

/// No address accepted: the last attempt judges the failure.
#[derive(Debug)]
pub(crate) struct ConnectFailure {
    /// The last address tried and its error; `None` when there was no address.
    last: Option<(SocketAddr, io::Error)>,
    /// Addresses tried.
    tried: usize,
}

impl ConnectFailure {
    /// `refused`, `timeout` or `connect`; `dns` when there was no address to try.
    pub(crate) fn class(&self) -> ErrorClass {
        match &self.last {
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
        let Some((addr, err)) = &self.last else {
            return format!("{host} resolved to no address");
        };
        let tried = if self.tried > 1 {
            format!(" (all {} addresses failed)", self.tried)
        } else {
            String::new()
        };
        format!("connect to {addr}: {err}{tried}")
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
        let c = connect_first("h", &[bad, good], Vec::new())
            .await
            .map_err(|o| format!("{o:?}"))
            .expect("second accepts");
        assert_eq!(c.addr, good);
        assert!(c.metrics.iter().any(|(k, _)| k == "connect_ms"));
        let Err(o) = connect_first("h", &[bad, bad], Vec::new()).await else {
            panic!("nothing accepts")
        };
        assert_eq!(o.error_class(), Some(ErrorClass::Refused));
        assert!(
            o.error
                .as_ref()
                .is_some_and(|e| e.message.contains("all 2 addresses failed")),
            "{o:?}"
        );
        let Err(o) = connect_first("h", &[], Vec::new()).await else {
            panic!("no address")
        };
        assert_eq!(o.error_class(), Some(ErrorClass::Dns));
    }
}
