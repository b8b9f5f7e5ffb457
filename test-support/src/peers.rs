//! Local peers that fail the way real services do: servers on `127.0.0.1:0` that answer with an
//! error, refuse or stay silent, so clients are tested over real sockets with real HTTP and SMTP
//! stacks. Used by the channel compliance test (`alert/tests/compliance.rs`) and the probe
//! compliance test (`probes/tests/compliance.rs`, the silent TCP peer).
//!
//! - [`HttpPeer`]: answers every request with one status and echoes the request (line,
//!   `Authorization`, body) in its error body, as some APIs do, so secrets a channel sends must
//!   be scrubbed from the error message.
//! - [`SmtpPeer`]: greets every connection with one reply line (`421 ...`, `554 ...`).
//! - [`SilentPeer`]: accepts connections and never says a word.
//!
//! A port nothing listens on is [`crate::ports::closed_port`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How much of the request body [`HttpPeer`] echoes.
const ECHO_BODY_CHARS: usize = 120;

/// A task serving on `addr`, aborted on drop, with a count of what reached it.
struct Running {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    (listener, addr)
}

/// An HTTP server answering every request with one status code.
pub struct HttpPeer(Running);

#[derive(Clone)]
struct HttpState {
    status: StatusCode,
    hits: Arc<AtomicUsize>,
}

async fn answer(
    State(state): State<HttpState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    state.hits.fetch_add(1, Ordering::SeqCst);
    let request_line = format!(
        "{method} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body: String = String::from_utf8_lossy(&body)
        .chars()
        .take(ECHO_BODY_CHARS)
        .collect();
    // Request line first: error excerpts are cut after a few hundred characters, and what is
    // echoed must be inside them to test scrubbing.
    let echo = format!("rejected {request_line}; authorization: {authorization}; body: {body}");
    (state.status, echo)
}

impl HttpPeer {
    /// Starts a server answering `status` (with the echo) to every request.
    pub async fn start(status: u16) -> Self {
        let status = StatusCode::from_u16(status).expect("valid status code");
        let hits = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().fallback(answer).with_state(HttpState {
            status,
            hits: hits.clone(),
        });
        let (listener, addr) = bind().await;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self(Running { addr, hits, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.0.hits.load(Ordering::SeqCst)
    }
}

/// An SMTP server that greets with one reply line and then only listens until the client
/// leaves. A 4xx greeting means "try again later", a 5xx one "no service here" (RFC 5321 4.3.2).
pub struct SmtpPeer(Running);

impl SmtpPeer {
    /// Starts a server greeting every connection with `greeting` (e.g. `421 4.3.2 busy`).
    pub async fn start(greeting: &'static str) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let (listener, addr) = bind().await;
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = stream.write_all(format!("{greeting}\r\n").as_bytes()).await;
                    // Read (and ignore) whatever the client still says, e.g. QUIT, until it
                    // closes; a bounded buffer, as the client is not trusted either.
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                    }
                });
            }
        });
        Self(Running { addr, hits, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.0.hits.load(Ordering::SeqCst)
    }
}

/// A server that accepts connections, holds them open, and never sends or reads a byte: the
/// worst peer for a client without timeouts.
pub struct SilentPeer(Running);

impl SilentPeer {
    /// Starts it.
    pub async fn start() -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let (listener, addr) = bind().await;
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            // Kept until the peer is dropped, so no connection is closed by us.
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Self(Running { addr, hits, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.0.hits.load(Ordering::SeqCst)
    }
}
