//! TCP probe: can a connection to `host:port` be opened?
//!
//! The name is resolved on every run (a moved service shows up at once), then every resolved
//! address is tried in order until one accepts, so a dual-stack name whose IPv6 path is broken
//! still reports up when IPv4 works. Optionally the probe then sends a payload and reads what
//! the peer says (up to 4 KiB, until `expect_regex` matches or the peer closes); otherwise the
//! connection is closed straight away.

use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::check::TcpSpec;
use netpulse_protocol::result::ErrorClass;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::policy::TargetPolicy;
use super::{ms, net, Deadline, ProbeBuildError, ProbeContext, ProbeKind, ProbeOutcome};

/// A validated TCP connect check.
#[derive(Debug, Clone)]
pub struct TcpProbe {
    /// Host name or IP literal, without URL-style brackets.
    host: String,
    port: u16,
    send: Option<Vec<u8>>,
    expect: Option<regex::Regex>,
    /// The node's target policy, checked on every address before connecting.
    policy: Arc<TargetPolicy>,
}

/// Most bytes read from the peer when a banner is expected.
pub const MAX_BANNER_BYTES: usize = 4096;

/// Quiet time after the peer's last bytes before an unmatched answer is judged.
pub const BANNER_QUIET: Duration = Duration::from_millis(500);

impl ProbeKind for TcpProbe {
    type Spec = TcpSpec;
    const DEADLINE: Deadline = Deadline::OwnCutOff;

    /// Validates the host; accepts IPv6 literals with or without brackets (`::1`, `[::1]`).
    fn build(spec: &TcpSpec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
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
        let expect = match spec.expect_regex.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => Some(
                regex::RegexBuilder::new(r)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| ProbeBuildError::InvalidField {
                        field: "expect_regex",
                        reason: e.to_string(),
                    })?,
            ),
            None => None,
        };
        Ok(Self {
            host: host.to_owned(),
            port: spec.port,
            send: spec.send.as_ref().map(|s| s.as_bytes().to_vec()),
            expect,
            policy: Arc::clone(&ctx.target_policy),
        })
    }

    /// Resolves and connects once, then sends and reads as asked, all within `timeout`. A peer
    /// that accepts but never answers runs into the timeout with the connect time reported:
    /// "connects in 1 ms, then silent" is what an operator needs to see.
    async fn run(&self, timeout: Duration) -> ProbeOutcome {
        let deadline = Instant::now() + timeout;
        let connected = match tokio::time::timeout_at(
            deadline,
            net::connect(&self.host, self.port, &self.policy),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(down)) => return down,
            Err(_) => return ProbeOutcome::timed_out(timeout, Vec::new()),
        };
        let measured = connected.metrics.clone();
        match tokio::time::timeout_at(deadline, self.exchange(connected)).await {
            Ok(outcome) => outcome,
            Err(_) => ProbeOutcome::timed_out(timeout, measured),
        }
    }
}

impl TcpProbe {
    /// Sends the payload and reads until the expectation matches, after the connect.
    async fn exchange(&self, connected: net::Connected) -> ProbeOutcome {
        let net::Connected {
            mut stream,
            addr,
            mut metrics,
        } = connected;
        tracing::trace!(%addr, "tcp probe connected");
        if self.send.is_none() && self.expect.is_none() {
            return ProbeOutcome::up(metrics);
        }
        let exchange = Instant::now();
        if let Some(payload) = &self.send {
            if let Err(e) = stream.write_all(payload).await {
                return ProbeOutcome::down(
                    ErrorClass::Protocol,
                    format!("sending to {addr}: {e}"),
                    metrics,
                );
            }
        }
        let Some(expect) = &self.expect else {
            metrics.push(("exchange_ms".to_owned(), ms(exchange.elapsed())));
            return ProbeOutcome::up(metrics);
        };
        let mut got = Vec::with_capacity(512);
        let mut buf = [0u8; 1024];
        loop {
            if expect.is_match(&String::from_utf8_lossy(&got)) {
                metrics.push(("exchange_ms".to_owned(), ms(exchange.elapsed())));
                return ProbeOutcome::up(metrics).with_detail(excerpt(&got));
            }
            if got.len() >= MAX_BANNER_BYTES {
                break;
            }
            // Before the peer says anything, wait as long as the check allows; once it has
            // spoken, a pause without a match means the answer is wrong, not late.
            let read = if got.is_empty() {
                stream.read(&mut buf).await
            } else {
                match tokio::time::timeout(BANNER_QUIET, stream.read(&mut buf)).await {
                    Ok(r) => r,
                    Err(_) => break,
                }
            };
            match read {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n.min(MAX_BANNER_BYTES - got.len())]),
                Err(e) => {
                    return ProbeOutcome::down(
                        ErrorClass::Protocol,
                        format!("reading from {addr}: {e}"),
                        metrics,
                    )
                }
            }
        }
        metrics.push(("exchange_ms".to_owned(), ms(exchange.elapsed())));
        ProbeOutcome::down(
            ErrorClass::Assertion,
            format!(
                "peer said {} which does not match /{}/",
                excerpt(&got),
                expect.as_str()
            ),
            metrics,
        )
    }
}

/// The first 128 characters of what the peer sent, quoted.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let short: String = text.chars().take(128).collect();
    format!(
        "{short:?}{}",
        if short.len() < text.len() { "..." } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use netpulse_protocol::check::ProbeSpec;
    use netpulse_protocol::result::CheckStatus;
    use std::net::SocketAddr;

    use tokio::net::TcpListener;

    use super::*;
    use crate::Probe;

    fn ctx() -> ProbeContext {
        ProbeContext::for_node("eu-west", "n-abc")
    }

    async fn run(host: &str, port: u16) -> ProbeOutcome {
        let spec = ProbeSpec::Tcp(TcpSpec {
            host: host.into(),
            port,
            ..Default::default()
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

    /// A line-based server: greets with `banner`, then answers `PING` with `PONG`.
    async fn chatty_server(banner: &'static str) -> u16 {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let _ = w.write_all(banner.as_bytes()).await;
                    let mut lines = BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if line.trim() == "PING" {
                            let _ = w.write_all(b"+PONG\r\n").await;
                        } else {
                            return;
                        }
                    }
                });
            }
        });
        port
    }

    async fn run_exchange(port: u16, send: Option<&str>, expect: &str) -> ProbeOutcome {
        let spec = ProbeSpec::Tcp(TcpSpec {
            host: "127.0.0.1".into(),
            port,
            send: send.map(Into::into),
            expect_regex: Some(expect.into()),
        });
        Probe::build(&spec, &ctx())
            .expect("valid spec")
            .run(Duration::from_secs(5))
            .await
    }

    #[tokio::test]
    async fn banner_and_send_expect_exchange() {
        let port = chatty_server("220 mail.example ESMTP ready\r\n").await;
        let o = run_exchange(port, None, r"^220 .*ESMTP").await;
        assert_eq!(o.status, CheckStatus::Up, "{o:?}");
        assert!(o.metric("exchange_ms").is_some());
        let o = run_exchange(port, Some("PING\r\n"), r"\+PONG").await;
        assert_eq!(o.status, CheckStatus::Up, "{o:?}");
        let o = run_exchange(port, None, r"^554 ").await;
        assert_eq!(o.error_class(), Some(ErrorClass::Assertion), "{o:?}");
        assert!(
            o.error
                .as_ref()
                .is_some_and(|e| e.message.contains("220 mail.example")),
            "{o:?}"
        );
        // A server that never says the expected thing runs into the probe's timeout.
        let silent = chatty_server("").await;
        let spec = ProbeSpec::Tcp(TcpSpec {
            host: "127.0.0.1".into(),
            port: silent,
            send: None,
            expect_regex: Some("READY".into()),
        });
        let o = Probe::build(&spec, &ctx())
            .expect("valid")
            .run(Duration::from_millis(300))
            .await;
        assert_eq!(o.error_class(), Some(ErrorClass::Timeout), "{o:?}");
        // The connect worked and is reported; the exchange never finished.
        assert!(o.metric("connect_ms").is_some(), "{o:?}");
        assert_eq!(o.metric("exchange_ms"), None, "{o:?}");
        let bad = ProbeSpec::Tcp(TcpSpec {
            expect_regex: Some("(".into()),
            ..TcpSpec::default()
        });
        assert!(Probe::build(&bad, &ctx()).is_err());
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
                ..Default::default()
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
