//! A new coordinator joining a cluster with the shared join secret.
//!
//! The joiner has no CA yet, so TLS alone cannot tell it whom it talks to. Both sides therefore
//! prove knowledge of the secret with an HMAC over the TLS exporter of this very connection
//! (RFC 5705 keying material): a man in the middle would hold two TLS sessions with different
//! exporters and could forward neither proof. Only after checking the server's proof does the
//! joiner trust the CA it receives.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use netpulse_protocol::frame::{self, FrameDecoder};
use netpulse_protocol::identity::COORDINATOR_SERVER_NAME;
use netpulse_protocol::tls::{join_client_config, ALPN_JOIN};
use quinn::crypto::rustls::QuicClientConfig;
use sha2::Sha256;

use super::messages::{JoinReply, JoinRequest};
use crate::context::Context;
use netpulse_engine::command::{Command, CommandResponse};

const EXPORTER_LABEL: &[u8] = b"EXPORTER-netpulse-join";

/// Why joining failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The member could not be reached.
    #[error("cannot reach {addr}: {detail}")]
    Unreachable { addr: String, detail: String },
    /// The member refused (wrong secret, joins disabled).
    #[error("join refused by {addr}: {reason}")]
    Refused { addr: String, reason: String },
    /// The member could not prove it knows the secret: not our cluster, or an attacker.
    #[error("{addr} did not prove knowledge of the join secret; not joining")]
    BadServerProof { addr: String },
    /// Protocol failure.
    #[error("join with {addr} failed: {detail}")]
    Protocol { addr: String, detail: String },
}

/// What a successful join yields.
pub struct JoinGrant {
    /// Our Raft node id.
    pub node_id: u64,
    /// Cluster CA certificate, PEM.
    pub ca_cert_pem: String,
    /// Cluster CA key, PEM.
    pub ca_key_pem: String,
    /// The key that seals channel credentials, base64.
    pub secret_key: String,
}

fn mac(secret: &str, role: &[u8], exporter: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC takes keys of any length, so this never fails; an empty proof never verifies.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(role);
    mac.update(exporter);
    Some(mac)
}

fn proof(secret: &str, role: &[u8], exporter: &[u8]) -> Vec<u8> {
    mac(secret, role, exporter)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default()
}

fn verify(secret: &str, role: &[u8], exporter: &[u8], presented: &[u8]) -> bool {
    mac(secret, role, exporter).is_some_and(|m| m.verify_slice(presented).is_ok())
}

fn exporter(conn: &quinn::Connection) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    conn.export_keying_material(&mut out, EXPORTER_LABEL, b"")
        .map_err(|_| "TLS exporter unavailable".to_owned())?;
    Ok(out)
}

/// Joins the cluster through the member at `member` (its QUIC address); `my_addr` is where the
/// other coordinators will reach us.
pub async fn join(member: &str, secret: &str, my_addr: &str) -> Result<JoinGrant, JoinError> {
    let unreachable = |detail: String| JoinError::Unreachable {
        addr: member.to_owned(),
        detail,
    };
    let protocol = |detail: String| JoinError::Protocol {
        addr: member.to_owned(),
        detail,
    };
    let tls = join_client_config(ALPN_JOIN).map_err(|e| protocol(e.to_string()))?;
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| protocol(e.to_string()))?;
    let client = quinn::ClientConfig::new(Arc::new(crypto));
    let endpoint = quinn::Endpoint::client(SocketAddr::from(([0, 0, 0, 0], 0)))
        .map_err(|e| protocol(e.to_string()))?;
    let sa = tokio::net::lookup_host(member)
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .next()
        .ok_or_else(|| unreachable("resolves to nothing".into()))?;
    let connecting = endpoint
        .connect_with(client, sa, COORDINATOR_SERVER_NAME)
        .map_err(|e| unreachable(e.to_string()))?;
    let conn = tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .map_err(|_| unreachable("handshake timed out".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let ekm = exporter(&conn).map_err(protocol)?;
    let (mut send, mut recv) = conn
        .open_bi()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let req = JoinRequest {
        proof: proof(secret, b"client", &ekm),
        addr: my_addr.to_owned(),
    };
    send.write_all(&frame::encode(&req).map_err(|e| protocol(e.to_string()))?)
        .await
        .map_err(|e| protocol(e.to_string()))?;
    let _ = send.finish();
    let bytes = tokio::time::timeout(Duration::from_secs(60), recv.read_to_end(1 << 20))
        .await
        .map_err(|_| protocol("no answer".into()))?
        .map_err(|e| protocol(e.to_string()))?;
    let mut dec = FrameDecoder::new();
    dec.push(&bytes);
    let reply: JoinReply = dec
        .next_frame()
        .map_err(|e| protocol(e.to_string()))?
        .ok_or_else(|| protocol("empty answer".into()))?;
    conn.close(quinn::VarInt::from_u32(0), b"join done");
    endpoint.wait_idle().await;
    match reply {
        JoinReply::Refused(reason) => Err(JoinError::Refused {
            addr: member.to_owned(),
            reason,
        }),
        JoinReply::Accepted {
            proof: server_proof,
            node_id,
            ca_cert_pem,
            ca_key_pem,
            secret_key,
        } => {
            if !verify(secret, b"server", &ekm, &server_proof) {
                return Err(JoinError::BadServerProof {
                    addr: member.to_owned(),
                });
            }
            Ok(JoinGrant {
                node_id,
                ca_cert_pem,
                ca_key_pem,
                secret_key,
            })
        }
    }
}

/// Answers a join connection. `secret` is `None` when this cluster accepts no joins.
pub async fn serve(ctx: &Context, conn: &quinn::Connection, secret: Option<&str>) {
    let Ok((mut send, mut recv)) = tokio::time::timeout(Duration::from_secs(10), conn.accept_bi())
        .await
        .unwrap_or(Err(quinn::ConnectionError::TimedOut))
    else {
        return;
    };
    let reply = match read_request(&mut recv).await {
        Err(e) => JoinReply::Refused(e),
        Ok(req) => decide(ctx, conn, secret, req).await,
    };
    if let JoinReply::Refused(r) = &reply {
        tracing::warn!(remote = %conn.remote_address(), reason = %r, "coordinator join refused");
    }
    if let Ok(bytes) = frame::encode(&reply) {
        let _ = send.write_all(&bytes).await;
        let _ = send.finish();
        let _ = tokio::time::timeout(Duration::from_secs(5), send.stopped()).await;
    }
}

async fn read_request(recv: &mut quinn::RecvStream) -> Result<JoinRequest, String> {
    let bytes = tokio::time::timeout(Duration::from_secs(10), recv.read_to_end(64 * 1024))
        .await
        .map_err(|_| "no join request within 10 s".to_owned())?
        .map_err(|e| format!("bad join request: {e}"))?;
    let mut dec = FrameDecoder::new();
    dec.push(&bytes);
    dec.next_frame()
        .map_err(|e| format!("bad join request: {e}"))?
        .ok_or_else(|| "empty join request".to_owned())
}

async fn decide(
    ctx: &Context,
    conn: &quinn::Connection,
    secret: Option<&str>,
    req: JoinRequest,
) -> JoinReply {
    let Some(secret) = secret else {
        return JoinReply::Refused(
            "this coordinator accepts no joins (started without --join-secret)".into(),
        );
    };
    let Ok(ekm) = exporter(conn) else {
        return JoinReply::Refused("TLS exporter unavailable".into());
    };
    if !verify(secret, b"client", &ekm, &req.proof) {
        return JoinReply::Refused("wrong join secret".into());
    }
    if req.addr.parse::<SocketAddr>().is_err() && !req.addr.contains(':') {
        return JoinReply::Refused(format!("invalid address {:?}", req.addr));
    }
    let node_id = match ctx
        .write(Command::AllocateCoordinatorId)
        .await
        .map(CommandResponse::allocated)
    {
        Ok(Ok(id)) => id,
        Ok(Err(refused)) => return JoinReply::Refused(format!("no id allocated: {refused}")),
        Err(e) => return JoinReply::Refused(format!("cluster cannot accept members now: {e}")),
    };
    tracing::info!(member = node_id, addr = %req.addr, "coordinator admitted; it will ask to be added");
    JoinReply::Accepted {
        proof: proof(secret, b"server", &ekm),
        node_id,
        ca_cert_pem: ctx.ca().cert_pem().to_owned(),
        ca_key_pem: ctx.ca().key_pem(),
        secret_key: ctx.secret_key().to_base64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_bind_secret_role_and_exporter() {
        let p = proof("s3cret", b"client", &[1; 32]);
        assert!(verify("s3cret", b"client", &[1; 32], &p));
        assert!(
            !verify("s3cret", b"server", &[1; 32], &p),
            "a client proof is not a server proof"
        );
        assert!(!verify("other", b"client", &[1; 32], &p));
        assert!(
            !verify("s3cret", b"client", &[2; 32], &p),
            "bound to this connection"
        );
    }
}
