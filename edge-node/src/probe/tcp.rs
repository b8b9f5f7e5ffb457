//! TCP probe: can a connection to `host:port` be opened?
//!
//! The name is resolved on every run (a moved service shows up at once), then every resolved
//! address is tried in order until one accepts, so a dual-stack name whose IPv6 path is broken
//! still reports up when IPv4 works. The connection is closed straight away; nothing is sent.

use std::io;
use std::net::SocketAddr;

use netpulse_protocol::check::TcpSpec;
use netpulse_protocol::result::ErrorClass;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{ms, ProbeBuildError, ProbeContext, ProbeOutcome};

/// A validated TCP connect check.
#[derive(Debug, Clone)]
pub struct TcpProbe {
    /// Host name or IP literal, without URL-style brackets.
    host: String,
    port: u16,
}

impl TcpProbe {
    /// Validates the host; accepts IPv6 literals with or without brackets (`::1`, `[::1]`).
    pub fn build(spec: &TcpSpec, _ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
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
        Ok(Self {
            host: host.to_owned(),
            port: spec.port,
        })
    }

    /// Resolves and connects once. Never enforces a timeout itself (see `Probe::run`).
    pub async fn run(&self) -> ProbeOutcome {
        let start = Instant::now();
        let addrs: Vec<SocketAddr> =
            match tokio::net::lookup_host((self.host.as_str(), self.port)).await {
                Ok(addrs) => addrs.collect(),
                Err(e) => {
                    return ProbeOutcome::down(
                        ErrorClass::Dns,
                        format!("cannot resolve {}: {e}", self.host),
                        Vec::new(),
                    )
                }
            };
        let dns = start.elapsed();
        if addrs.is_empty() {
            return ProbeOutcome::down(
                ErrorClass::Dns,
                format!("{} resolved to no address", self.host),
                Vec::new(),
            );
        }
        let mut metrics = vec![("dns_ms".to_owned(), ms(dns))];
        match connect_any(&addrs).await {
            Ok((addr, connect)) => {
                metrics.push(("connect_ms".to_owned(), ms(connect)));
                tracing::trace!(%addr, "tcp probe connected");
                ProbeOutcome::up(metrics)
            }
            Err(failure) => ProbeOutcome::down(failure.class, failure.message, metrics),
        }
    }
}

/// Why no address accepted a connection: judged by the last attempt.
#[derive(Debug)]
struct ConnectFailure {
    class: ErrorClass,
    message: String,
}

/// Tries each address in order; returns the one that accepted and how long its connect took.
async fn connect_any(
    addrs: &[SocketAddr],
) -> Result<(SocketAddr, std::time::Duration), ConnectFailure> {
    let mut last: Option<(SocketAddr, io::Error)> = None;
    for &addr in addrs {
        let attempt = Instant::now();
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let took = attempt.elapsed();
                drop(stream);
                return Ok((addr, took));
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let Some((addr, err)) = last else {
        return Err(ConnectFailure {
            class: ErrorClass::Dns,
            message: "no address to connect to".into(),
        });
    };
    let class = match err.kind() {
        io::ErrorKind::ConnectionRefused => ErrorClass::Refused,
        io::ErrorKind::TimedOut => ErrorClass::Timeout,
        _ => ErrorClass::Connect,
    };
    let tried = if addrs.len() > 1 {
        format!(" (all {} addresses failed)", addrs.len())
    } else {
        String::new()
    };
    Err(ConnectFailure {
        class,
        message: format!("connect to {addr}: {err}{tried}"),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use netpulse_protocol::check::ProbeSpec;
    use netpulse_protocol::result::CheckStatus;
    use tokio::net::TcpListener;

    use super::*;
    use crate::probe::Probe;

    fn ctx() -> ProbeContext {
        ProbeContext::for_node("eu-west", "n-abc")
    }

    async fn run(host: &str, port: u16) -> ProbeOutcome {
        let spec = ProbeSpec::Tcp(TcpSpec {
            host: host.into(),
            port,
        });
        let probe = Probe::build(&spec, &ctx()).expect("valid spec");
        probe.run(Duration::from_secs(10)).await
    }

    /// A listener that counts accepted connections.
    async fn counting_listener(
        listener: TcpListener,
    ) -> (u16, tokio::sync::mpsc::UnboundedReceiver<SocketAddr>) {
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((_stream, peer)) = listener.accept().await {
                let _ = tx.send(peer);
            }
        });
        (port, rx)
    }

    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        port
    }

    #[tokio::test]
    async fn connects_to_listening_port() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (port, mut accepted) = counting_listener(listener).await;
        let outcome = run("127.0.0.1", port).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
        assert_eq!(outcome.error, None);
        let connect = outcome.metric("connect_ms").expect("connect_ms");
        assert!(connect > 0.0, "{connect}");
        assert!(outcome.metric("dns_ms").is_some());
        let peer = tokio::time::timeout(Duration::from_secs(5), accepted.recv())
            .await
            .expect("server saw the connection");
        assert!(peer.is_some());
    }

    #[tokio::test]
    async fn closed_port_is_refused() {
        let port = closed_port().await;
        let outcome = run("127.0.0.1", port).await;
        assert_eq!(outcome.status, CheckStatus::Down);
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Refused),
            "{outcome:?}"
        );
        assert!(outcome.metric("connect_ms").is_none());
    }

    #[tokio::test]
    async fn ipv6_loopback_literal() {
        let listener = match TcpListener::bind("[::1]:0").await {
            Ok(l) => l,
            Err(e) => {
                println!("skipping IPv6 test: cannot bind [::1]:0: {e}");
                return;
            }
        };
        let (port, _accepted) = counting_listener(listener).await;
        for host in ["::1", "[::1]"] {
            let outcome = run(host, port).await;
            assert_eq!(outcome.status, CheckStatus::Up, "{host}: {outcome:?}");
        }
        // A released IPv6 port is refused like an IPv4 one.
        let outcome = run("::1", closed_v6_port().await).await;
        assert_eq!(
            outcome.error_class(),
            Some(ErrorClass::Refused),
            "{outcome:?}"
        );
    }

    async fn closed_v6_port() -> u16 {
        let listener = TcpListener::bind("[::1]:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        port
    }

    #[tokio::test]
    async fn unresolvable_name_is_dns_error() {
        let outcome = run("no-such-host.netpulse.invalid", 80).await;
        assert_eq!(outcome.error_class(), Some(ErrorClass::Dns), "{outcome:?}");
        assert!(outcome
            .error
            .as_ref()
            .is_some_and(|e| e.message.contains("netpulse.invalid")));
    }

    #[tokio::test]
    async fn tries_every_address_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (port, _accepted) = counting_listener(listener).await;
        let good: SocketAddr = ([127, 0, 0, 1], port).into();
        let bad: SocketAddr = ([127, 0, 0, 1], closed_port().await).into();
        let (addr, _) = connect_any(&[bad, good])
            .await
            .expect("second address accepts");
        assert_eq!(addr, good);

        let err = connect_any(&[bad, bad]).await.expect_err("nothing accepts");
        assert_eq!(err.class, ErrorClass::Refused);
        assert!(
            err.message.contains("all 2 addresses failed"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn name_resolving_to_loopback_connects() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (port, _accepted) = counting_listener(listener).await;
        let outcome = run("localhost", port).await;
        assert_eq!(outcome.status, CheckStatus::Up, "{outcome:?}");
    }

    #[test]
    fn build_rejects_bad_hosts() {
        for host in ["", "   ", "[::1", "bad host", "a\nb"] {
            let spec = TcpSpec {
                host: host.into(),
                port: 80,
            };
            assert!(
                matches!(
                    TcpProbe::build(&spec, &ctx()),
                    Err(ProbeBuildError::InvalidHost(_))
                ),
                "{host:?}"
            );
        }
    }

    #[tokio::test]
    async fn port_zero_fails_without_panicking() {
        let outcome = run("127.0.0.1", 0).await;
        assert_eq!(outcome.status, CheckStatus::Down, "{outcome:?}");
    }
}
