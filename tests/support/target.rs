//! Local targets for probes: an HTTP server and a TCP listener that can be stopped.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A target that answers until stopped; once stopped its port refuses connections.
pub struct Target {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Target {
    /// HTTP/1.1 server answering every request with 200 and `body`.
    pub async fn http(body: &'static str) -> Target {
        Target::http_on("127.0.0.1:0".parse().expect("addr"), body).await
    }

    /// The same on a chosen address (to bring a stopped target back on its port).
    pub async fn http_on(addr: SocketAddr, body: &'static str) -> Target {
        let listener = TcpListener::bind(addr).await.expect("bind");
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
        let listener = TcpListener::bind(addr).await.expect("bind");
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
