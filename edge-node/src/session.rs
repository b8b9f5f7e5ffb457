//! The QUIC connection to a coordinator.
//!
//! - [`enrol`]: one exchange on a certificate-less connection, pinned to the CA fingerprint in the
//!   join token.
//! - [`run`]: the long-lived session loop. It connects to one coordinator after another with
//!   jittered exponential backoff, says hello, forwards assignments to the check runner, streams
//!   results from the outbox and deletes them only when acknowledged as committed. One batch is in
//!   flight at a time and every (re)send starts at the oldest unacknowledged result, so the
//!   coordinator's per-node sequence check is enough to make redelivery exactly-once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netpulse_protocol::check::CheckSpec;
use netpulse_protocol::identity::{generate_csr, COORDINATOR_SERVER_NAME};
use netpulse_protocol::limits::{MAX_BATCH_BYTES, MAX_BATCH_RESULTS};
use netpulse_protocol::message::{
    ClusterView, CoordinatorMessage, EdgeMessage, Enrol, Enrolled, Hello, TimedResultBatch,
    WireError as Refusal, WireErrorCode,
};
use netpulse_protocol::tls::{enrolment_client_config, node_client_config, ALPN_EDGE};
use netpulse_protocol::token::JoinToken;
use netpulse_protocol::FrameDecoder;
use tokio::sync::{mpsc, watch};

use crate::coordinators::Coordinators;
use crate::identity::StoredIdentity;
use crate::metrics::EdgeMetrics;
use crate::outbox::Outbox;
use crate::wire::{self, WireError};

/// A batch not acknowledged within this time ends the session; the next one resends it.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Why talking to the coordinators failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The coordinator refused us for a reason retrying will not fix.
    #[error("refused by coordinator: {0}")]
    Refused(Refusal),
    /// Transport failure; worth retrying.
    #[error("connection: {0}")]
    Connection(String),
    /// The TLS handshake failed: the peer is not a coordinator of our cluster (or we are not
    /// a node of it). Final at enrolment; retried in a running session (certificates rotate).
    #[error("TLS handshake: {0}")]
    Tls(String),
    /// Local storage failed.
    #[error("outbox: {0}")]
    Outbox(#[from] crate::outbox::OutboxError),
    /// Local configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
}

impl From<WireError> for SessionError {
    fn from(e: WireError) -> Self {
        SessionError::Connection(e.to_string())
    }
}

/// A change to the node's checks, forwarded to the check runner.
#[derive(Debug, Clone, PartialEq)]
pub enum AssignmentUpdate {
    /// Replace everything.
    Full(Vec<CheckSpec>),
    /// Add/replace some, remove others.
    Delta {
        upsert: Vec<CheckSpec>,
        remove: Vec<String>,
    },
}

/// QUIC transport settings: keep-alive every 2 s inside a 10 s idle timeout (a dead coordinator
/// is noticed within 10 s even with nothing to send), modest initial RTT.
fn transport() -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
        10_000,
    ))));
    t.keep_alive_interval(Some(Duration::from_secs(2)));
    t.initial_rtt(Duration::from_millis(100));
    t
}

fn client_endpoint() -> Result<quinn::Endpoint, SessionError> {
    crate::quic::client_endpoint()
        .map_err(|e| SessionError::Config(format!("cannot open UDP socket: {e}")))
}

fn quic_client(tls: rustls::ClientConfig) -> Result<quinn::ClientConfig, SessionError> {
    crate::quic::client_config(tls, transport()).map_err(SessionError::Config)
}

async fn resolve(addr: &str) -> Result<SocketAddr, SessionError> {
    tokio::net::lookup_host(addr)
        .await
        .map_err(|e| SessionError::Connection(format!("resolve {addr}: {e}")))?
        .next()
        .ok_or_else(|| SessionError::Connection(format!("{addr} resolves to nothing")))
}

async fn connect(
    endpoint: &quinn::Endpoint,
    cfg: quinn::ClientConfig,
    addr: &str,
) -> Result<quinn::Connection, SessionError> {
    let sa = resolve(addr).await?;
    let connecting = endpoint
        .connect_with(cfg, sa, COORDINATOR_SERVER_NAME)
        .map_err(|e| SessionError::Connection(format!("{addr}: {e}")))?;
    match tokio::time::timeout(Duration::from_secs(10), connecting).await {
        Err(_) => Err(SessionError::Connection(format!(
            "{addr}: handshake timed out"
        ))),
        Ok(Ok(conn)) => Ok(conn),
        // QUIC carries TLS alerts as transport error codes 0x100..0x200.
        Ok(Err(quinn::ConnectionError::TransportError(e)))
            if (0x100..0x200).contains(&u64::from(e.code)) =>
        {
            Err(SessionError::Tls(format!("{addr}: {e}")))
        }
        Ok(Err(e)) => Err(SessionError::Connection(format!("{addr}: {e}"))),
    }
}

/// The key and certificate material obtained by enrolling.
pub struct Enrolment {
    /// PEM of the private key generated here.
    pub key_pem: String,
    /// What the coordinator returned.
    pub enrolled: Enrolled,
}

/// Enrols with the first coordinator that answers. Refusals are final; unreachable coordinators
/// are retried with backoff until `deadline`.
pub async fn enrol(
    coordinators: &[String],
    token: &str,
    region: &str,
    deadline: Duration,
) -> Result<Enrolment, SessionError> {
    let parsed: JoinToken = token
        .parse()
        .map_err(|e| SessionError::Config(format!("{e}")))?;
    let tls = enrolment_client_config(&parsed.ca_fingerprint, ALPN_EDGE)
        .map_err(|e| SessionError::Config(e.to_string()))?;
    let cfg = quic_client(tls)?;
    let endpoint = client_endpoint()?;
    let pending = generate_csr().map_err(|e| SessionError::Config(e.to_string()))?;
    let started = tokio::time::Instant::now();
    let mut backoff = Backoff::new();
    let mut i = 0usize;
    loop {
        let addr = &coordinators[i % coordinators.len()];
        i += 1;
        match enrol_once(
            &endpoint,
            cfg.clone(),
            addr,
            token,
            region,
            &pending.csr_der,
        )
        .await
        {
            Ok(enrolled) => {
                endpoint.close(quinn::VarInt::from_u32(0), b"enrolled");
                return Ok(Enrolment {
                    key_pem: pending.key_pem,
                    enrolled,
                });
            }
            Err(SessionError::Tls(e)) => {
                return Err(SessionError::Tls(format!(
                    "{e} (does the join token belong to this cluster?)"
                )))
            }
            Err(SessionError::Connection(e)) if started.elapsed() < deadline => {
                tracing::warn!(coordinator = %addr, error = %e, "enrolment attempt failed; retrying");
                tokio::time::sleep(backoff.next()).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn enrol_once(
    endpoint: &quinn::Endpoint,
    cfg: quinn::ClientConfig,
    addr: &str,
    token: &str,
    region: &str,
    csr_der: &[u8],
) -> Result<Enrolled, SessionError> {
    let conn = connect(endpoint, cfg, addr).await?;
    let (mut send, mut recv) = conn
        .open_bi()
        .await
        .map_err(|e| SessionError::Connection(e.to_string()))?;
    let req = EdgeMessage::Enrol(Enrol {
        token: token.to_owned(),
        csr_der: csr_der.to_vec(),
        region: region.to_owned(),
    });
    wire::write(&mut send, &req).await?;
    let _ = send.finish();
    let mut dec = FrameDecoder::new();
    let reply = tokio::time::timeout(
        Duration::from_secs(15),
        wire::read::<CoordinatorMessage>(&mut recv, &mut dec),
    )
    .await
    .map_err(|_| SessionError::Connection("no enrolment answer".into()))??;
    conn.close(quinn::VarInt::from_u32(0), b"done");
    match reply {
        Some(CoordinatorMessage::Enrolled(e)) => Ok(e),
        Some(CoordinatorMessage::Error(e)) if e.code == WireErrorCode::Unavailable => {
            Err(SessionError::Connection(e.to_string()))
        }
        Some(CoordinatorMessage::Error(e)) => Err(SessionError::Refused(e)),
        Some(_) | None => Err(SessionError::Connection(
            "unexpected enrolment answer".into(),
        )),
    }
}

/// Jittered exponential backoff between connection attempts.
struct Backoff {
    current: Duration,
}

impl Backoff {
    const MIN: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(10);

    fn new() -> Self {
        Self { current: Self::MIN }
    }

    fn next(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(Self::MAX);
        // +-20 % so a fleet that lost the same coordinator does not reconnect in lockstep.
        base.mul_f64(0.8 + rand::random::<f64>() * 0.4)
    }

    fn reset(&mut self) {
        self.current = Self::MIN;
    }
}

/// What a session needs besides the outbox.
pub struct SessionConfig {
    /// Coordinator QUIC addresses (`host:port`): given and learned, in dialling order.
    pub coordinators: Coordinators,
    /// Where the learned addresses are remembered (the node's data directory).
    pub data_dir: PathBuf,
    /// The node's identity.
    pub identity: StoredIdentity,
    /// Labels sent in hello.
    pub labels: BTreeMap<String, String>,
    /// Where connection attempts, sessions and acknowledgements are counted for `/metrics`.
    pub metrics: Arc<EdgeMetrics>,
}

/// Keeps a session with some coordinator until `shutdown` or a final refusal.
pub async fn run(
    cfg: SessionConfig,
    outbox: Arc<Outbox>,
    updates: mpsc::Sender<AssignmentUpdate>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), SessionError> {
    let dialer = Mutex::new(cfg.coordinators.clone());
    let tls = node_client_config(&cfg.identity.tls, &cfg.identity.ca, ALPN_EDGE)
        .map_err(|e| SessionError::Config(e.to_string()))?;
    let client = quic_client(tls)?;
    let endpoint = client_endpoint()?;
    let mut backoff = Backoff::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let Some(addr) = lock(&dialer).next_addr() else {
            return Err(SessionError::Config("no coordinator address".into()));
        };
        let started = tokio::time::Instant::now();
        let peer = Peer {
            cfg: &cfg,
            dialer: &dialer,
            outbox: &outbox,
            updates: &updates,
        };
        cfg.metrics.session_attempt();
        let outcome = tokio::select! {
            r = peer.session_once(&endpoint, client.clone(), &addr) => r,
            _ = shutdown.changed() => break,
        };
        cfg.metrics.session_ended();
        match outcome {
            Err(SessionError::Refused(e))
                if matches!(
                    e.code,
                    WireErrorCode::Forbidden | WireErrorCode::Unauthenticated
                ) =>
            {
                return Err(SessionError::Refused(e));
            }
            Err(SessionError::Outbox(e)) => return Err(SessionError::Outbox(e)),
            Err(e) => tracing::warn!(coordinator = %addr, error = %e, "session ended"),
            Ok(()) => tracing::info!(coordinator = %addr, "session closed by coordinator"),
        }
        if started.elapsed() > Duration::from_secs(10) {
            backoff.reset();
        }
        let wait = backoff.next();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => break,
        }
    }
    endpoint.close(quinn::VarInt::from_u32(0), b"edge node shutting down");
    Ok(())
}

/// What one session attempt works with.
struct Peer<'a> {
    cfg: &'a SessionConfig,
    dialer: &'a Mutex<Coordinators>,
    outbox: &'a Arc<Outbox>,
    updates: &'a mpsc::Sender<AssignmentUpdate>,
}

fn lock(dialer: &Mutex<Coordinators>) -> std::sync::MutexGuard<'_, Coordinators> {
    // The guarded value is plain bookkeeping, consistent after any panic.
    dialer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Peer<'_> {
    async fn session_once(
        &self,
        endpoint: &quinn::Endpoint,
        client: quinn::ClientConfig,
        addr: &str,
    ) -> Result<(), SessionError> {
        let Peer { cfg, outbox, .. } = *self;
        let conn = connect(endpoint, client, addr).await?;
        let (mut send, mut recv) = conn
            .open_bi()
            .await
            .map_err(|e| SessionError::Connection(e.to_string()))?;
        let hello = Hello {
            node_id: cfg.identity.info.node_id.clone(),
            region: cfg.identity.info.region.clone(),
            labels: cfg.labels.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        wire::write(&mut send, &EdgeMessage::Hello(hello)).await?;
        let mut dec = FrameDecoder::new();
        let first = tokio::time::timeout(
            Duration::from_secs(15),
            wire::read::<CoordinatorMessage>(&mut recv, &mut dec),
        )
        .await
        .map_err(|_| SessionError::Connection("no welcome".into()))??;
        let heartbeat = match first {
            Some(CoordinatorMessage::Welcome {
                heartbeat_interval_ms,
                committed_seq,
            }) => {
                let dropped = outbox.ack(committed_seq).await?;
                cfg.metrics.results_acknowledged(dropped);
                Duration::from_millis(heartbeat_interval_ms.clamp(1000, 60_000))
            }
            Some(CoordinatorMessage::Error(e)) => return Err(SessionError::Refused(e)),
            other => {
                return Err(SessionError::Connection(format!(
                    "expected welcome, got {other:?}"
                )))
            }
        };
        tracing::info!(coordinator = %addr, "session established");
        cfg.metrics.session_established();

        let (acked_tx, acked_rx) = watch::channel(0u64);
        let reader = self.read_loop(recv, dec, acked_tx);
        let writer = send_loop(send, outbox.clone(), acked_rx, heartbeat);
        let result = tokio::select! {
            r = reader => r,
            r = writer => r,
        };
        conn.close(quinn::VarInt::from_u32(0), b"session ended");
        result
    }

    /// Remembers the coordinators a session told about (see [`crate::coordinators`]).
    fn learn(&self, view: &ClusterView) {
        let mut dialer = lock(self.dialer);
        if dialer.learn(view) {
            tracing::info!(members = ?view.members, leader = ?view.leader, "coordinators learned");
            if let Err(e) = dialer.save(&self.cfg.data_dir) {
                tracing::warn!(error = %e, "cannot remember the coordinators; they are kept in memory");
            }
        }
    }

    async fn read_loop(
        &self,
        mut recv: quinn::RecvStream,
        mut dec: FrameDecoder,
        acked: watch::Sender<u64>,
    ) -> Result<(), SessionError> {
        let Peer {
            outbox, updates, ..
        } = *self;
        loop {
            match wire::read::<CoordinatorMessage>(&mut recv, &mut dec).await? {
                None => return Ok(()),
                Some(CoordinatorMessage::AssignmentFull { checks }) => {
                    tracing::info!(checks = checks.len(), "full assignment received");
                    let _ = updates.send(AssignmentUpdate::Full(checks)).await;
                }
                Some(CoordinatorMessage::AssignmentDelta { upsert, remove }) => {
                    tracing::info!(
                        upsert = upsert.len(),
                        remove = remove.len(),
                        "assignment change received"
                    );
                    let _ = updates
                        .send(AssignmentUpdate::Delta { upsert, remove })
                        .await;
                }
                Some(CoordinatorMessage::Ack { up_to_seq }) => {
                    let dropped = outbox.ack(up_to_seq).await?;
                    self.cfg.metrics.results_acknowledged(dropped);
                    acked.send_modify(|a| *a = (*a).max(up_to_seq));
                }
                Some(CoordinatorMessage::HeartbeatAck) => {}
                Some(CoordinatorMessage::Cluster(view)) => self.learn(&view),
                Some(CoordinatorMessage::Error(e)) => return Err(SessionError::Refused(e)),
                Some(other) => {
                    return Err(SessionError::Connection(format!(
                        "unexpected message {other:?}"
                    )));
                }
            }
        }
    }
}

async fn send_loop(
    mut send: quinn::SendStream,
    outbox: Arc<Outbox>,
    mut acked: watch::Receiver<u64>,
    heartbeat: Duration,
) -> Result<(), SessionError> {
    let notify = outbox.notify_handle();
    let mut ticker = tokio::time::interval(heartbeat);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Register interest before peeking so a push between the two is not missed.
        let pushed = notify.notified();
        let batch = outbox.peek(None, MAX_BATCH_RESULTS, MAX_BATCH_BYTES)?;
        let Some(last) = batch.last().map(|r| r.seq) else {
            tokio::select! {
                _ = pushed => {}
                _ = ticker.tick() => {
                    wire::write(&mut send, &EdgeMessage::Heartbeat { now_ms: now_ms() }).await?;
                }
            }
            continue;
        };
        let batch = TimedResultBatch {
            sent_at_ms: now_ms(),
            results: batch,
        };
        wire::write(&mut send, &EdgeMessage::TimedResults(batch)).await?;
        let deadline = tokio::time::Instant::now() + ACK_TIMEOUT;
        loop {
            if *acked.borrow_and_update() >= last {
                break;
            }
            tokio::select! {
                r = acked.changed() => if r.is_err() { return Ok(()) },
                _ = ticker.tick() => {
                    wire::write(&mut send, &EdgeMessage::Heartbeat { now_ms: now_ms() }).await?;
                }
                // A healthy coordinator acknowledges within milliseconds; silence means it lost
                // the connection or its leadership. Reconnect and resend from the oldest result.
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(SessionError::Connection(format!("batch up to seq {last} not acknowledged within {ACK_TIMEOUT:?}")));
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
