//! Local targets for probes: an HTTP server and a TCP listener that can be stopped, and brought
//! back on the same address. Used by the end-to-end tests (`tests/`), the edge node's canary
//! tests and the benchmarks.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How long a bind to a given address is retried: a port just released by a stopped target may
/// still be held for a moment.
const REBIND_PATIENCE: Duration = Duration::from_secs(20);

/// Binds `addr`, retrying while it is still taken.
async fn bind(addr: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + REBIND_PATIENCE;
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(e) if Instant::now() < deadline => {
                eprintln!("rebinding {addr}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot bind {addr}: {e}"),
        }
    }
}

/// A target that answers until stopped; once stopped its port refuses connections.
pub struct Target {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Target {
    /// HTTP/1.1 server answering every request with 200 and `body`.
    pub async fn http(body: &'static str) -> Target {
        Target::http_on("127.0.0.1:0".parse().expect("addr"), body).await
    }

    /// The same on a chosen address (to bring a stopped target back on its port; a port still
    /// held is retried for a while).
    pub async fn http_on(addr: SocketAddr, body: &'static str) -> Target {
        let listener = bind(addr).await;
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n{body}", body.len());
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Target { addr, task }
    }

    /// TCP listener that accepts and closes.
    pub async fn tcp() -> Target {
        Target::tcp_on("127.0.0.1:0".parse().expect("addr")).await
    }

    /// The same on a chosen address.
    pub async fn tcp_on(addr: SocketAddr) -> Target {
        let listener = bind(addr).await;
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            loop {
                if let Ok((sock, _)) = listener.accept().await {
                    drop(sock);
                }
            }
        });
        Target { addr, task }
    }

    /// Stops serving and closes the listening socket.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
