//! A stand-in coordinator for benchmarks that measure one edge node alone.
//!
//! A real coordinator costs CPU and memory on the same two cores and would need 100,000
//! monitors written through its API and Raft before the node sees them; this one speaks the
//! same protocol from the `protocol` crate and nothing more. It makes its own cluster CA,
//! serves QUIC with mutual TLS (`coordinator_server_config`, ALPN `netpulse-edge/2`), answers
//! the node's enrolment by signing its CSR (join token in the real `np1.<id>.<secret>.<ca>`
//! format, so the node pins this CA as it would a real one), and then runs the session as
//! `coordinator/src/edge/session.rs` does: `Welcome`, the cluster view, the assignment (an
//! `AssignmentFull` and the `AssignmentDelta`s after it, cut by
//! `netpulse_protocol::message::assignment_messages` exactly like the real one), and an `Ack`
//! for every result batch as soon as it is read (nothing is stored).
//!
//! The assignment is held back until [`FakeCoordinator::assign`], so a benchmark can measure the
//! node with a session but no checks first.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netpulse_protocol::check::CheckSpec;
use netpulse_protocol::frame;
use netpulse_protocol::identity::ClusterCa;
use netpulse_protocol::message::{
    assignment_messages, ClusterView, CoordinatorMessage, EdgeMessage, Enrolled, WireError,
    WireErrorCode,
};
use netpulse_protocol::result::{CheckResult, CheckStatus};
use netpulse_protocol::tls::{coordinator_server_config, ALPN_EDGE};
use netpulse_protocol::token::JoinToken;
use netpulse_protocol::FrameDecoder;
use quinn::crypto::rustls::QuicServerConfig;
use rustls::pki_types::CertificateDer;
use tokio::sync::{mpsc, watch};

/// The id the enrolled node gets.
pub const NODE_ID: &str = "n-bench";
/// How often the node is told to send heartbeats (the real coordinator's value).
const HEARTBEAT_INTERVAL_MS: u64 = 5_000;

/// What the fake coordinator saw, readable while it runs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Sessions accepted (a node that reconnects counts again).
    pub sessions: AtomicU64,
    /// Result batches acknowledged.
    pub batches: AtomicU64,
    /// Results acknowledged.
    pub results: AtomicU64,
    /// Of those, results whose status was not up (a bench target that failed).
    pub not_up: AtomicU64,
    /// Highest sequence acknowledged; the next session's `Welcome` carries it.
    pub committed_seq: AtomicU64,
    /// Assignment messages sent.
    pub assignment_messages: AtomicU64,
    /// Per check (by index in the assignment), how many results arrived.
    runs: Mutex<Vec<u32>>,
}

impl Stats {
    /// How many checks have reported at least `n` results.
    pub fn checks_with_runs(&self, n: u32) -> usize {
        lock(&self.runs).iter().filter(|r| **r >= n).count()
    }

    fn record(&self, results: &[CheckResult]) {
        let mut runs = lock(&self.runs);
        let mut not_up = 0;
        for r in results {
            if r.status != CheckStatus::Up {
                not_up += 1;
            }
            if let Some(i) = check_index(&r.monitor_id).filter(|i| *i < runs.len()) {
                runs[i] += 1;
            }
        }
        self.not_up.fetch_add(not_up, Ordering::Relaxed);
        self.results
            .fetch_add(results.len() as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
    }
}

/// Monitor id of the `i`-th bench check.
pub fn check_id(i: usize) -> String {
    format!("mon_{i:07}")
}

fn check_index(id: &str) -> Option<usize> {
    id.strip_prefix("mon_")?.parse().ok()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running fake coordinator.
pub struct FakeCoordinator {
    /// Its QUIC address, for `--coordinator`.
    pub addr: SocketAddr,
    /// A join token for it, for `--join-token`.
    pub token: String,
    /// What it saw.
    pub stats: Arc<Stats>,
    assign: watch::Sender<bool>,
    endpoint: quinn::Endpoint,
}

impl FakeCoordinator {
    /// Starts serving on 127.0.0.1 (a free UDP port). `checks` are sent to the node once
    /// [`FakeCoordinator::assign`] is called, and again to every later session.
    pub fn start(checks: Vec<CheckSpec>) -> Self {
        let ca = ClusterCa::generate().expect("cluster CA");
        let identity = ca
            .issue_coordinator(&["127.0.0.1".parse().expect("ip")])
            .expect("coordinator certificate");
        let tls =
            coordinator_server_config(&identity, ca.cert_der(), &[ALPN_EDGE]).expect("server TLS");
        let crypto = QuicServerConfig::try_from(tls).expect("QUIC TLS");
        let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        // As the real coordinator (coordinator/src/edge/mod.rs, transport_config).
        let mut transport = quinn::TransportConfig::default();
        transport.max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
            10_000,
        ))));
        transport.keep_alive_interval(Some(Duration::from_secs(2)));
        transport.initial_rtt(Duration::from_millis(100));
        cfg.transport_config(Arc::new(transport));
        let endpoint =
            quinn::Endpoint::server(cfg, "127.0.0.1:0".parse().expect("addr")).expect("endpoint");
        let addr = endpoint.local_addr().expect("local addr");
        let token = JoinToken {
            id: "0123456789abcdef".into(),
            secret: "5ec2e7".repeat(6),
            ca_fingerprint: ca.fingerprint(),
        }
        .to_string();
        let stats = Arc::new(Stats {
            runs: Mutex::new(vec![0; checks.len()]),
            ..Stats::default()
        });
        let (assign, assigned) = watch::channel(false);
        let shared = Arc::new(Shared {
            ca,
            token: token.clone(),
            addr,
            checks,
            stats: stats.clone(),
            assigned,
        });
        let accept = endpoint.clone();
        tokio::spawn(async move {
            while let Some(incoming) = accept.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let Ok(conn) = incoming.await else { return };
                    if let Err(e) = serve(&shared, &conn).await {
                        eprintln!("fake coordinator: connection ended: {e}");
                    }
                    conn.close(quinn::VarInt::from_u32(0), b"done");
                });
            }
        });
        Self {
            addr,
            token,
            stats,
            assign,
            endpoint,
        }
    }

    /// Sends the checks to the node (now, if it has a session, else when it gets one).
    pub fn assign(&self) {
        self.assign.send_replace(true);
    }

    /// Whether the node holds a session.
    pub fn sessions(&self) -> u64 {
        self.stats.sessions.load(Ordering::Relaxed)
    }
}

impl Drop for FakeCoordinator {
    fn drop(&mut self) {
        self.endpoint
            .close(quinn::VarInt::from_u32(0), b"bench over");
    }
}

struct Shared {
    ca: ClusterCa,
    token: String,
    addr: SocketAddr,
    checks: Vec<CheckSpec>,
    stats: Arc<Stats>,
    assigned: watch::Receiver<bool>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn read(
    recv: &mut quinn::RecvStream,
    dec: &mut FrameDecoder,
) -> Result<Option<EdgeMessage>, BoxError> {
    loop {
        if let Some(msg) = dec.next_frame()? {
            return Ok(Some(msg));
        }
        match recv.read_chunk(64 * 1024, true).await? {
            Some(chunk) => dec.push(&chunk.bytes),
            None => return Ok(None),
        }
    }
}

async fn write(send: &mut quinn::SendStream, msg: &CoordinatorMessage) -> Result<(), BoxError> {
    send.write_all(&frame::encode(msg)?).await?;
    Ok(())
}

fn has_client_certificate(conn: &quinn::Connection) -> bool {
    conn.peer_identity()
        .and_then(|i| i.downcast::<Vec<CertificateDer<'static>>>().ok())
        .is_some_and(|certs| !certs.is_empty())
}

async fn serve(shared: &Shared, conn: &quinn::Connection) -> Result<(), BoxError> {
    let (mut send, mut recv) = conn.accept_bi().await?;
    let mut dec = FrameDecoder::new();
    if !has_client_certificate(conn) {
        // Enrolment, as coordinator/src/edge/enrol.rs (minus the state).
        let reply = match read(&mut recv, &mut dec).await? {
            Some(EdgeMessage::Enrol(req)) if req.token == shared.token => {
                let cert_der = shared.ca.sign_node_csr(&req.csr_der, NODE_ID)?;
                CoordinatorMessage::Enrolled(Enrolled {
                    node_id: NODE_ID.into(),
                    cert_der,
                    ca_der: shared.ca.cert_der().to_vec(),
                })
            }
            _ => CoordinatorMessage::Error(WireError {
                code: WireErrorCode::InvalidToken,
                message: "not the bench token".into(),
            }),
        };
        write(&mut send, &reply).await?;
        let _ = send.finish();
        let _ = tokio::time::timeout(Duration::from_secs(2), send.stopped()).await;
        return Ok(());
    }
    match read(&mut recv, &mut dec).await? {
        Some(EdgeMessage::Hello(h)) if h.node_id == NODE_ID => {}
        other => return Err(format!("expected hello, got {other:?}").into()),
    }
    shared.stats.sessions.fetch_add(1, Ordering::Relaxed);

    // One writer owns the send side, so acks go out while the assignment is still streaming.
    let (out, mut out_rx) = mpsc::channel::<CoordinatorMessage>(64);
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            if write(&mut send, &msg).await.is_err() {
                return;
            }
        }
        let _ = send.finish();
    });
    out.send(CoordinatorMessage::Welcome {
        heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS,
        committed_seq: shared.stats.committed_seq.load(Ordering::Relaxed),
    })
    .await?;
    out.send(CoordinatorMessage::Cluster(ClusterView {
        members: vec![shared.addr.to_string()],
        leader: Some(shared.addr.to_string()),
    }))
    .await?;
    let pusher = {
        let (out, mut assigned) = (out.clone(), shared.assigned.clone());
        let messages = assignment_messages(true, shared.checks.clone(), Vec::new());
        let stats = shared.stats.clone();
        tokio::spawn(async move {
            if assigned.wait_for(|a| *a).await.is_err() {
                return;
            }
            for m in messages {
                if out.send(m).await.is_err() {
                    return;
                }
                stats.assignment_messages.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let outcome = loop {
        let msg = match read(&mut recv, &mut dec).await {
            Ok(Some(m)) => m,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let results = match msg {
            EdgeMessage::Heartbeat { .. } => {
                out.send(CoordinatorMessage::HeartbeatAck).await?;
                continue;
            }
            EdgeMessage::TimedResults(b) => b.results,
            EdgeMessage::Results(b) => b.results,
            other => break Err(format!("unexpected {other:?}").into()),
        };
        let Some(last) = results.last().map(|r| r.seq) else {
            continue;
        };
        shared.stats.record(&results);
        shared
            .stats
            .committed_seq
            .fetch_max(last, Ordering::Relaxed);
        out.send(CoordinatorMessage::Ack { up_to_seq: last })
            .await?;
    };
    pusher.abort();
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    outcome
}
