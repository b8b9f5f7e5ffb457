//! The coordinator's QUIC endpoint: edge nodes, peer coordinators and joining coordinators,
//! told apart by ALPN.
//!
//! Connections with a valid node certificate (verified by rustls against the cluster CA) get a
//! session; connections without one may only enrol. "Connected" is never taken to mean
//! "authenticated": the peer identity is read from the handshake before anything is served.

pub mod assignments;
pub mod enrol;
pub mod ingest;
pub mod registry;
pub mod session;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::identity::{is_coordinator_cert, node_id_from_cert, NodeIdentity};
use netpulse_protocol::tls::{
    coordinator_server_config, ALPN_EDGE, ALPN_EDGE_V1, ALPN_JOIN, ALPN_PEER,
};
use quinn::crypto::rustls::QuicServerConfig;
use rustls::pki_types::CertificateDer;
use tokio::sync::watch;

use crate::context::Context;
use assignments::Assignments;
use ingest::Ingest;
use session::{Dialect, EdgePeer};

/// Errors starting the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EdgeServerError {
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

/// A bound edge endpoint.
pub struct EdgeServer {
    endpoint: quinn::Endpoint,
}

impl EdgeServer {
    /// Serves on an already bound UDP socket (bound early so a joining coordinator knows its
    /// address before it has certificates).
    pub fn on_socket(
        socket: std::net::UdpSocket,
        identity: &NodeIdentity,
        ca: &CertificateDer<'static>,
    ) -> Result<Self, EdgeServerError> {
        let addr = socket
            .local_addr()
            .map_err(|source| EdgeServerError::Bind {
                addr: SocketAddr::from(([0, 0, 0, 0], 0)),
                source,
            })?;
        let cfg = server_config(identity, ca)?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| EdgeServerError::Tls("no async runtime for QUIC".into()))?;
        let endpoint =
            quinn::Endpoint::new(quinn::EndpointConfig::default(), Some(cfg), socket, runtime)
                .map_err(|source| EdgeServerError::Bind { addr, source })?;
        Ok(Self { endpoint })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Accepts connections until `shutdown` flips to true. `join_secret` enables coordinator
    /// joins through this endpoint.
    pub async fn run(
        self,
        ctx: Context,
        join_secret: Option<Arc<str>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let ingest = Ingest::spawn(ctx.clone());
        let assignments = assignments::spawn(ctx.store().clone());
        loop {
            let incoming = tokio::select! {
                i = self.endpoint.accept() => match i { Some(i) => i, None => break },
                _ = shutdown.changed() => break,
            };
            let (ctx, ingest, assignments, secret) = (
                ctx.clone(),
                ingest.clone(),
                assignments.clone(),
                join_secret.clone(),
            );
            tokio::spawn(async move {
                let remote = incoming.remote_address();
                let conn = match incoming.await {
                    Ok(conn) => conn,
                    Err(e) => return tracing::debug!(%remote, error = %e, "QUIC handshake failed"),
                };
                match alpn(&conn).as_deref() {
                    Some(ALPN_EDGE) => {
                        serve_connection(ctx, ingest, assignments, conn, Dialect::V2).await
                    }
                    Some(ALPN_EDGE_V1) => {
                        serve_connection(ctx, ingest, assignments, conn, Dialect::V1).await
                    }
                    Some(ALPN_PEER) => match peer_certificate(&conn) {
                        Some(der) if is_coordinator_cert(&der) => {
                            crate::cluster::server::serve(ctx, conn).await
                        }
                        _ => conn.close(
                            quinn::VarInt::from_u32(4),
                            b"coordinator certificate required",
                        ),
                    },
                    Some(ALPN_JOIN) => {
                        crate::cluster::join::serve(&ctx, &conn, secret.as_deref()).await;
                        conn.close(quinn::VarInt::from_u32(0), b"join done");
                    }
                    _ => conn.close(quinn::VarInt::from_u32(5), b"unknown protocol"),
                }
            });
        }
        self.endpoint
            .close(quinn::VarInt::from_u32(0), b"coordinator shutting down");
        self.endpoint.wait_idle().await;
    }
}

fn server_config(
    identity: &NodeIdentity,
    ca: &CertificateDer<'static>,
) -> Result<quinn::ServerConfig, EdgeServerError> {
    let tls = coordinator_server_config(
        identity,
        ca,
        &[ALPN_EDGE, ALPN_EDGE_V1, ALPN_PEER, ALPN_JOIN],
    )
    .map_err(|e| EdgeServerError::Tls(e.to_string()))?;
    let crypto =
        QuicServerConfig::try_from(tls).map_err(|e| EdgeServerError::Tls(e.to_string()))?;
    let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    cfg.transport_config(Arc::new(transport_config()));
    Ok(cfg)
}

fn alpn(conn: &quinn::Connection) -> Option<Vec<u8>> {
    conn.handshake_data()?
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}

/// The verified leaf certificate the peer presented, if any.
fn peer_certificate(conn: &quinn::Connection) -> Option<CertificateDer<'static>> {
    let identity = conn.peer_identity()?;
    let certs = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    certs.first().cloned()
}

fn peer_node(conn: &quinn::Connection) -> Option<Result<String, String>> {
    let leaf = peer_certificate(conn)?;
    Some(node_id_from_cert(&leaf).map_err(|e| e.to_string()))
}

async fn serve_connection(
    ctx: Context,
    ingest: Ingest,
    assignments: watch::Receiver<Assignments>,
    conn: quinn::Connection,
    dialect: Dialect,
) {
    let remote = conn.remote_address();
    let (send, recv) = match tokio::time::timeout(Duration::from_secs(10), conn.accept_bi()).await {
        Ok(Ok(s)) => s,
        _ => {
            conn.close(quinn::VarInt::from_u32(3), b"no stream opened");
            return;
        }
    };
    match peer_node(&conn) {
        None => {
            enrol::serve(&ctx, send, recv).await;
            conn.close(quinn::VarInt::from_u32(0), b"enrolment done");
        }
        Some(Err(why)) => {
            tracing::warn!(%remote, %why, "certificate names no node");
            conn.close(quinn::VarInt::from_u32(4), b"certificate names no node");
        }
        Some(Ok(node_id)) => {
            let peer = EdgePeer {
                conn: conn.clone(),
                node_id: node_id.clone(),
                dialect,
            };
            let result = session::run(ctx, ingest, assignments, peer, send, recv).await;
            if let Err(e) = result {
                tracing::info!(node = %node_id, %remote, error = %e, "edge session ended");
            }
            conn.close(quinn::VarInt::from_u32(0), b"session ended");
        }
    }
}
