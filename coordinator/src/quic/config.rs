//! TLS and transport settings of the endpoint, and what a handshake tells about the peer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::identity::NodeIdentity;
use netpulse_protocol::tls::{
    coordinator_server_config, ALPN_EDGE, ALPN_EDGE_V1, ALPN_JOIN, ALPN_PEER,
};
use quinn::crypto::rustls::QuicServerConfig;
use rustls::pki_types::CertificateDer;

/// Errors starting the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// TLS configuration failed.
    #[error("tls: {0}")]
    Tls(String),
    /// Binding the UDP socket failed.
    #[error("bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// QUIC transport settings shared by both ends: keep-alive well inside the idle timeout so a
/// quiet but healthy session never times out, and a modest initial RTT so handshakes under a
/// reconnect storm do not wait out the 333 ms default.
pub fn transport_config() -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
        10_000,
    ))));
    t.keep_alive_interval(Some(Duration::from_secs(2)));
    t.initial_rtt(Duration::from_millis(100));
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(4));
    t.max_concurrent_uni_streams(quinn::VarInt::from_u32(0));
    t
}

pub(crate) fn server_config(
    identity: &NodeIdentity,
    ca: &CertificateDer<'static>,
) -> Result<quinn::ServerConfig, EndpointError> {
    let tls = coordinator_server_config(
        identity,
        ca,
        &[ALPN_EDGE, ALPN_EDGE_V1, ALPN_PEER, ALPN_JOIN],
    )
    .map_err(|e| EndpointError::Tls(e.to_string()))?;
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| EndpointError::Tls(e.to_string()))?;
    let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    cfg.transport_config(Arc::new(transport_config()));
    Ok(cfg)
}

/// The protocol the client chose in the handshake.
pub(crate) fn alpn(conn: &quinn::Connection) -> Option<Vec<u8>> {
    conn.handshake_data()?
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}

/// The verified leaf certificate the peer presented, if any.
pub(crate) fn peer_certificate(conn: &quinn::Connection) -> Option<CertificateDer<'static>> {
    let identity = conn.peer_identity()?;
    let certs = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    certs.first().cloned()
}
