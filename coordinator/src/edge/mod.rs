//! Edge nodes at the coordinator: enrolment of new nodes, then one session per node that
//! sends assignments and takes results in.
//!
//! Connections arrive through [`crate::quic`], already told apart by ALPN. Connections with
//! a valid node certificate (verified by rustls against the cluster CA) get a session;
//! connections without one may only enrol.

pub mod assignments;
pub mod enrol;
pub mod ingest;
pub mod registry;
pub mod session;
pub mod wire;

use std::time::Duration;

use netpulse_protocol::identity::node_id_from_cert;
use tokio::sync::watch;

use crate::context::Context;
use crate::quic::config::peer_certificate;
use assignments::Assignments;
use ingest::Ingest;
use session::{Dialect, EdgePeer};

/// What every edge session of this coordinator shares: the ingest queue and the published
/// assignments.
#[derive(Clone)]
pub struct Services {
    ingest: Ingest,
    assignments: watch::Receiver<Assignments>,
}

impl Services {
    /// Starts the ingest queue and the assignment publisher.
    pub fn spawn(ctx: &Context) -> Self {
        Self {
            ingest: Ingest::spawn(ctx.clone()),
            assignments: assignments::spawn(ctx.store().clone()),
        }
    }
}

fn peer_node(conn: &quinn::Connection) -> Option<Result<String, String>> {
    let leaf = peer_certificate(conn)?;
    Some(node_id_from_cert(&leaf).map_err(|e| e.to_string()))
}

/// Serves one edge connection: enrolment without a node certificate, a session with one.
pub async fn serve(ctx: Context, services: Services, conn: quinn::Connection, dialect: Dialect) {
    let Services {
        ingest,
        assignments,
    } = services;
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
