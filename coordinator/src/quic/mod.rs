//! The coordinator's one QUIC endpoint: edge nodes, peer coordinators and joining
//! coordinators share a UDP port and are told apart by ALPN.
//!
//! This module only accepts and routes: [`crate::edge`] serves edge nodes (enrolment and
//! sessions), [`crate::cluster`] serves peers and joiners. Nothing is served before the
//! handshake says who connected; "connected" is never taken to mean "authenticated".

pub mod config;

use std::net::SocketAddr;
use std::sync::Arc;

use netpulse_protocol::identity::{is_coordinator_cert, NodeIdentity};
use netpulse_protocol::tls::{ALPN_EDGE, ALPN_EDGE_V1, ALPN_JOIN, ALPN_PEER};
use rustls::pki_types::CertificateDer;
use tokio::sync::watch;

use crate::cluster;
use crate::context::Context;
use crate::edge::{self, session::Dialect};
pub(crate) use config::{alpn, peer_certificate, server_config};
pub use config::{transport_config, EndpointError};

/// The bound endpoint.
pub struct Endpoint {
    endpoint: quinn::Endpoint,
}

impl Endpoint {
    /// Serves on an already bound UDP socket (bound early so a joining coordinator knows its
    /// address before it has certificates).
    pub fn on_socket(
        socket: std::net::UdpSocket,
        identity: &NodeIdentity,
        ca: &CertificateDer<'static>,
    ) -> Result<Self, EndpointError> {
        let addr = socket.local_addr().map_err(|source| EndpointError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;
        let cfg = server_config(identity, ca)?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| EndpointError::Tls("no async runtime for QUIC".into()))?;
        let endpoint =
            quinn::Endpoint::new(quinn::EndpointConfig::default(), Some(cfg), socket, runtime)
                .map_err(|source| EndpointError::Bind { addr, source })?;
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
        let edge = edge::Services::spawn(&ctx);
        loop {
            let incoming = tokio::select! {
                i = self.endpoint.accept() => match i { Some(i) => i, None => break },
                _ = shutdown.changed() => break,
            };
            let (ctx, edge, secret) = (ctx.clone(), edge.clone(), join_secret.clone());
            tokio::spawn(async move {
                let remote = incoming.remote_address();
                let conn = match incoming.await {
                    Ok(conn) => conn,
                    Err(e) => return tracing::debug!(%remote, error = %e, "QUIC handshake failed"),
                };
                match alpn(&conn).as_deref() {
                    Some(ALPN_EDGE) => edge::serve(ctx, edge, conn, Dialect::V2).await,
                    Some(ALPN_EDGE_V1) => edge::serve(ctx, edge, conn, Dialect::V1).await,
                    Some(ALPN_PEER) => match peer_certificate(&conn) {
                        Some(der) if is_coordinator_cert(&der) => {
                            cluster::server::serve(ctx, conn).await
                        }
                        _ => conn.close(
                            quinn::VarInt::from_u32(4),
                            b"coordinator certificate required",
                        ),
                    },
                    Some(ALPN_JOIN) => {
                        cluster::join::serve(&ctx, &conn, secret.as_deref()).await;
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
