//! Answering other coordinators on the shared QUIC endpoint.
//!
//! Peers present coordinator certificates from the cluster CA; each bi-directional stream
//! carries one request and its answer. A malformed request closes that stream only.

use std::time::Duration;

use netpulse_protocol::frame::{self, FrameDecoder};

use super::membership;
use super::messages::{ForwardError, PeerRequest, PeerResponse, PEER_MAX_FRAME};
use crate::context::Context;

/// Serves RPC streams on an authenticated peer connection until it closes.
pub async fn serve(ctx: Context, conn: quinn::Connection) {
    loop {
        let (send, recv) = match conn.accept_bi().await {
            Ok(s) => s,
            Err(_) => return,
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(ctx, send, recv).await {
                tracing::debug!(error = %e, "peer RPC failed");
            }
        });
    }
}

async fn handle(
    ctx: Context,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> Result<(), String> {
    let mut dec = FrameDecoder::with_max(PEER_MAX_FRAME);
    let req = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(req) = dec.next_frame::<PeerRequest>().map_err(|e| e.to_string())? {
                return Ok::<_, String>(req);
            }
            match recv
                .read_chunk(256 * 1024, true)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(c) => dec.push(&c.bytes),
                None => return Err("stream ended before a request".into()),
            }
        }
    })
    .await
    .map_err(|_| "request not received in time".to_owned())??;

    let resp = match req {
        PeerRequest::AppendEntries(r) => {
            PeerResponse::AppendEntries(ctx.raft().append_entries(r).await)
        }
        PeerRequest::Vote(r) => PeerResponse::Vote(ctx.raft().vote(r).await),
        PeerRequest::InstallSnapshot(r) => {
            PeerResponse::InstallSnapshot(ctx.raft().install_snapshot(r).await)
        }
        PeerRequest::ClientWrite(cmd) => PeerResponse::ClientWrite(ctx.write_local(cmd).await),
        r @ (PeerRequest::AddMember { .. } | PeerRequest::RemoveMember { .. }) => {
            PeerResponse::Write(membership::handle(&ctx, r).await)
        }
        PeerRequest::Status => PeerResponse::Status(if ctx.is_leader() {
            Ok(membership::local_status(&ctx))
        } else {
            Err(ForwardError::NotLeader {
                leader: ctx.leader().map(|l| l.0),
                leader_addr: ctx.leader().map(|l| l.1),
            })
        }),
    };
    let bytes = frame::encode_limited(&resp, PEER_MAX_FRAME).map_err(|e| e.to_string())?;
    send.write_all(&bytes).await.map_err(|e| e.to_string())?;
    let _ = send.finish();
    Ok(())
}
