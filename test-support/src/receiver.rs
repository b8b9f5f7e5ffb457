//! A webhook receiver (used by the end-to-end tests and the detection bench): records every
//! request, verifies `X-NetPulse-Signature` independently (HMAC-SHA256 over the raw body), and
//! can be told to answer with an error for a while.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The JSON body.
    pub body: Value,
    /// Whether the signature header matched the body.
    pub signature_ok: bool,
    /// The status the receiver answered with.
    pub answered: u16,
    /// When the whole request had arrived.
    pub at: std::time::Instant,
}

impl Received {
    /// The `Idempotency-Key` header.
    pub fn key(&self) -> &str {
        self.headers
            .get("idempotency-key")
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The `event` field.
    pub fn event(&self) -> &str {
        self.body["event"].as_str().unwrap_or("")
    }
}

#[derive(Default)]
struct Shared {
    requests: Vec<Received>,
    /// Answer this status to the next `fail_next` requests.
    fail_status: u16,
    fail_next: usize,
}

/// A local HTTP server standing in for a webhook consumer.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    secret: String,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Starts on 127.0.0.1 (or `ip`), verifying signatures with `secret`.
    pub async fn start(ip: &str, secret: &str) -> Receiver {
        let listener = TcpListener::bind(format!("{ip}:0")).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared: Arc<Mutex<Shared>> = Arc::default();
        let (s, key) = (shared.clone(), secret.to_owned());
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let (s, key) = (s.clone(), key.clone());
                tokio::spawn(async move { serve(sock, &s, &key).await });
            }
        });
        Receiver {
            addr,
            secret: secret.to_owned(),
            shared,
            task,
        }
    }

    /// The webhook URL.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The secret the channel must be configured with.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Answer `status` to the next `n` requests.
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut s = self.shared.lock().expect("lock");
        s.fail_next = n;
        s.fail_status = status;
    }

    /// Every request so far, accepted or not.
    pub fn requests(&self) -> Vec<Received> {
        self.shared.lock().expect("lock").requests.clone()
    }

    /// Requests answered with 2xx, deduplicated by idempotency key (as a consumer would).
    pub fn accepted_by_key(&self) -> BTreeMap<String, Vec<Received>> {
        let mut out: BTreeMap<String, Vec<Received>> = BTreeMap::new();
        for r in self.requests().into_iter().filter(|r| r.answered < 300) {
            out.entry(r.key().to_owned()).or_default().push(r);
        }
        out
    }

    /// Accepted requests with this event, one per idempotency key.
    pub fn events(&self, event: &str) -> Vec<Received> {
        self.accepted_by_key()
            .into_values()
            .filter_map(|v| v.into_iter().next())
            .filter(|r| r.event() == event)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut sock: tokio::net::TcpStream, shared: &Mutex<Shared>, secret: &str) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, headers) = loop {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).into_owned();
            let headers: BTreeMap<String, String> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            break (i + 4, headers);
        }
    };
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let at = std::time::Instant::now();
    let body = &buf[head_end..head_end + len];
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let signature_ok = headers.get("x-netpulse-signature") == Some(&expected);
    let answered = {
        let mut s = shared.lock().expect("lock");
        let status = if s.fail_next > 0 {
            s.fail_next -= 1;
            s.fail_status
        } else {
            200
        };
        s.requests.push(Received {
            headers,
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
            signature_ok,
            answered: status,
            at,
        });
        status
    };
    let resp = format!("HTTP/1.1 {answered} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}
