//! The client side of coordinator-to-coordinator RPCs.
//!
//! One QUIC connection per peer address, reused across calls and re-dialled when it breaks; one
//! bi-directional stream per call. Peers authenticate each other with coordinator certificates
//! from the cluster CA (mutual TLS, ALPN `netpulse-peer/1`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netpulse_protocol::frame::{self, FrameDecoder};
use netpulse_protocol::identity::{NodeIdentity, COORDINATOR_SERVER_NAME};
use netpulse_protocol::tls::{node_client_config, ALPN_PEER};
use quinn::crypto::rustls::QuicClientConfig;
use rustls::pki_types::CertificateDer;

use super::messages::{PeerRequest, PeerResponse, PEER_MAX_FRAME};

/// Why a call did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No connection could be made: the peer is down or unreachable.
    #[error("peer {addr} unreachable: {detail}")]
    Unreachable { addr: String, detail: String },
    /// The connection broke or the answer was malformed.
    #[error("peer {addr}: {detail}")]
    Network { addr: String, detail: String },
    /// No answer in time.
    #[error("peer {addr} did not answer within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
}

/// Pooled connections to the other coordinators; cheap to clone.
#[derive(Clone)]
pub struct Peers {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: quinn::Endpoint,
    client: quinn::ClientConfig,
    conns: Mutex<HashMap<String, quinn::Connection>>,
}

/// Errors setting up the client.
#[derive(Debug, thiserror::Error)]
#[error("peer transport: {0}")]
pub struct PeersError(String);

impl Peers {
    /// A client presenting this coordinator's `identity`, trusting `ca`, sending from
    /// `bind_ip` (the coordinator's own address, so peers and firewalls see one address per
    /// coordinator).
    pub fn new(
        identity: &NodeIdentity,
        ca: &CertificateDer<'static>,
        bind_ip: std::net::IpAddr,
    ) -> Result<Self, PeersError> {
        let tls =
            node_client_config(identity, ca, ALPN_PEER).map_err(|e| PeersError(e.to_string()))?;
        let crypto = QuicClientConfig::try_from(tls).map_err(|e| PeersError(e.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        client.transport_config(Arc::new(crate::quic::config::transport_config()));
        let endpoint = quinn::Endpoint::client(SocketAddr::new(bind_ip, 0))
            .map_err(|e| PeersError(format!("UDP socket: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                client,
                conns: Mutex::new(HashMap::new()),
            }),
        })
    }

    fn cached(&self, addr: &str) -> Option<quinn::Connection> {
        let conns = self.inner.conns.lock().unwrap_or_else(|p| p.into_inner());
        conns
            .get(addr)
            .filter(|c| c.close_reason().is_none())
            .cloned()
    }

    async fn connection(&self, addr: &str) -> Result<quinn::Connection, CallError> {
        if let Some(c) = self.cached(addr) {
            return Ok(c);
        }
        let unreachable = |detail: String| CallError::Unreachable {
            addr: addr.to_owned(),
            detail,
        };
        let sa = tokio::net::lookup_host(addr)
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .next()
            .ok_or_else(|| unreachable("resolves to nothing".into()))?;
        let connecting = self
            .inner
            .endpoint
            .connect_with(self.inner.client.clone(), sa, COORDINATOR_SERVER_NAME)
            .map_err(|e| unreachable(e.to_string()))?;
        let conn = tokio::time::timeout(Duration::from_secs(3), connecting)
            .await
            .map_err(|_| unreachable("handshake timed out".into()))?
            .map_err(|e| unreachable(e.to_string()))?;
        self.inner
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(addr.to_owned(), conn.clone());
        Ok(conn)
    }

    /// Sends `req` to the coordinator at `addr` and waits up to `timeout` for the answer.
    pub async fn call(
        &self,
        addr: &str,
        req: &PeerRequest,
        timeout: Duration,
    ) -> Result<PeerResponse, CallError> {
        let bytes = frame::encode_limited(req, PEER_MAX_FRAME).map_err(|e| CallError::Network {
            addr: addr.to_owned(),
            detail: e.to_string(),
        })?;
        match tokio::time::timeout(timeout, self.exchange(addr, &bytes)).await {
            Ok(r) => r,
            Err(_) => Err(CallError::Timeout {
                addr: addr.to_owned(),
                timeout,
            }),
        }
    }

    async fn exchange(&self, addr: &str, bytes: &[u8]) -> Result<PeerResponse, CallError> {
        let net = |detail: String| CallError::Network {
            addr: addr.to_owned(),
            detail,
        };
        let conn = self.connection(addr).await?;
        let (mut send, mut recv) = match conn.open_bi().await {
            Ok(s) => s,
            Err(e) => {
                // A stale pooled connection: forget it so the next call dials again.
                self.inner
                    .conns
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(addr);
                return Err(CallError::Unreachable {
                    addr: addr.to_owned(),
                    detail: e.to_string(),
                });
            }
        };
        send.write_all(bytes)
            .await
            .map_err(|e| net(e.to_string()))?;
        let _ = send.finish();
        let mut dec = FrameDecoder::with_max(PEER_MAX_FRAME);
        loop {
            if let Some(resp) = dec
                .next_frame::<PeerResponse>()
                .map_err(|e| net(e.to_string()))?
            {
                return Ok(resp);
            }
            match recv
                .read_chunk(256 * 1024, true)
                .await
                .map_err(|e| net(e.to_string()))?
            {
                Some(chunk) => dec.push(&chunk.bytes),
                None => return Err(net("stream ended without an answer".into())),
            }
        }
    }

    /// Closes every pooled connection (shutdown).
    pub fn close(&self) {
        self.inner
            .endpoint
            .close(quinn::VarInt::from_u32(0), b"coordinator shutting down");
    }
}
