//! Enrolment: a join token and a CSR in, a node certificate out.
//!
//! Runs on connections without a client certificate, which may do nothing else.

use std::time::Duration;

use netpulse_protocol::message::{
    CoordinatorMessage, EdgeMessage, Enrolled, WireError as Refusal, WireErrorCode,
};
use netpulse_protocol::FrameDecoder;
use rand::RngCore;

use super::wire;
use crate::auth::{verify_join_token, AuthError};
use crate::context::Context;
use crate::now_ms;
use netpulse_engine::command::Command;
use netpulse_engine::input::valid_region;
use netpulse_engine::model::EdgeNode;

const ENROL_TIMEOUT: Duration = Duration::from_secs(10);

fn refuse(code: WireErrorCode, message: impl Into<String>) -> CoordinatorMessage {
    CoordinatorMessage::Error(Refusal {
        code,
        message: message.into(),
    })
}

/// Serves one enrolment stream.
pub async fn serve(ctx: &Context, mut send: quinn::SendStream, mut recv: quinn::RecvStream) {
    let mut dec = FrameDecoder::new();
    let reply = match tokio::time::timeout(
        ENROL_TIMEOUT,
        wire::read::<EdgeMessage>(&mut recv, &mut dec),
    )
    .await
    {
        Err(_) => refuse(
            WireErrorCode::BadRequest,
            "no enrolment request within 10 s",
        ),
        Ok(Err(e)) => refuse(WireErrorCode::BadRequest, e.to_string()),
        Ok(Ok(None)) => return,
        Ok(Ok(Some(EdgeMessage::Enrol(req)))) => enrol(ctx, req).await,
        Ok(Ok(Some(_))) => refuse(
            WireErrorCode::Unauthenticated,
            "a connection without a node certificate may only enrol",
        ),
    };
    if let CoordinatorMessage::Error(e) = &reply {
        tracing::info!(code = ?e.code, message = %e.message, "enrolment refused");
    }
    if wire::write(&mut send, &reply).await.is_ok() {
        let _ = send.finish();
        let _ = tokio::time::timeout(Duration::from_secs(2), send.stopped()).await;
    }
}

async fn enrol(ctx: &Context, req: netpulse_protocol::message::Enrol) -> CoordinatorMessage {
    let now = now_ms();
    let token = match verify_join_token(ctx.store(), &req.token, now) {
        Ok(t) => t,
        Err(AuthError::State(e)) => {
            tracing::error!(error = %e, "cannot read join tokens");
            return refuse(
                WireErrorCode::Unavailable,
                "coordinator storage unavailable",
            );
        }
        Err(e) => return refuse(WireErrorCode::InvalidToken, e.to_string()),
    };
    if !valid_region(&req.region) {
        return refuse(
            WireErrorCode::BadRequest,
            format!("invalid region {:?}", req.region),
        );
    }
    let mut id = [0u8; 6];
    rand::rng().fill_bytes(&mut id);
    let node_id = format!("n-{}", hex::encode(id));
    let cert_der = match ctx.ca().sign_node_csr(&req.csr_der, &node_id) {
        Ok(c) => c,
        Err(e) => return refuse(WireErrorCode::BadRequest, format!("invalid CSR: {e}")),
    };
    let node = EdgeNode {
        id: node_id.clone(),
        region: req.region,
        labels: Default::default(),
        version: String::new(),
        token_id: token.id,
        enrolled_at_ms: now,
        session: None,
        session_since_ms: 0,
        last_seen_ms: now,
        revoked: false,
        results_stored: 0,
        results_duplicate: 0,
    };
    if let Err(e) = ctx.write(Command::RegisterNode(node)).await {
        return refuse(WireErrorCode::Unavailable, e.to_string());
    }
    tracing::info!(node = %node_id, "edge node enrolled");
    CoordinatorMessage::Enrolled(Enrolled {
        node_id,
        cert_der,
        ca_der: ctx.ca().cert_der().to_vec(),
    })
}
