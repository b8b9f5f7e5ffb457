//! One edge node's session: hello, assignments out, results in, acknowledgements out.
//!
//! The reader loop handles the node's messages in order; a result batch is acknowledged only
//! after the state machine has applied it, with the node's highest committed sequence. A writer
//! task owns the send side; an assignment task sends the node the difference whenever its checks
//! change.

use std::collections::BTreeMap;
use std::time::Duration;

use netpulse_protocol::check::CheckSpec;
use netpulse_protocol::message::{
    CoordinatorMessage, EdgeMessage, Hello, WireError as Refusal, WireErrorCode,
};
use netpulse_protocol::result::CheckResult;
use netpulse_protocol::FrameDecoder;
use tokio::sync::{mpsc, watch};

use super::assignments::Assignments;
use super::ingest::Ingest;
use super::registry::SessionEntry;
use super::wire;
use crate::context::Context;
use crate::now_ms;
use crate::state::command::{Command, NodeSessionEvent};

/// How often nodes send heartbeats.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A node silent for this long is disconnected.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(20);
/// Most results accepted in one batch.
pub const MAX_BATCH: usize = 5000;

/// Why a session ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Transport or framing failure.
    #[error(transparent)]
    Wire(#[from] wire::WireError),
    /// The node broke the protocol; it was told why.
    #[error("protocol violation: {0}")]
    Violation(String),
    /// No message for [`SILENCE_LIMIT`].
    #[error("node silent for {0:?}")]
    Silent(Duration),
}

/// Runs an authenticated session for `node_id` until it ends.
pub async fn run(
    ctx: Context,
    ingest: Ingest,
    assignments: watch::Receiver<Assignments>,
    conn: quinn::Connection,
    node_id: String,
    send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> Result<(), SessionError> {
    let (out, out_rx) = mpsc::channel::<CoordinatorMessage>(64);
    let writer = tokio::spawn(write_loop(send, out_rx));
    let mut dec = FrameDecoder::new();

    let hello = match tokio::time::timeout(
        Duration::from_secs(10),
        wire::read::<EdgeMessage>(&mut recv, &mut dec),
    )
    .await
    {
        Ok(Ok(Some(EdgeMessage::Hello(h)))) => h,
        Ok(Err(e)) => return Err(e.into()),
        Ok(Ok(None)) => return Ok(()),
        Ok(Ok(Some(_))) | Err(_) => {
            return violation(
                &out,
                writer,
                WireErrorCode::BadRequest,
                "expected hello first",
            )
            .await
        }
    };
    if let Err(why) = check_hello(&ctx, &node_id, &hello) {
        return violation(&out, writer, WireErrorCode::Forbidden, &why).await;
    }
    let region = match ctx.store().node(&node_id) {
        Ok(Some(n)) => n.region,
        _ => return violation(&out, writer, WireErrorCode::Forbidden, "unknown node").await,
    };

    let session_id = rand::random::<u64>();
    let event = |coordinator| {
        Command::NodeSession(NodeSessionEvent {
            node: node_id.clone(),
            coordinator,
            labels: hello.labels.clone(),
            version: hello.version.clone(),
            at_ms: now_ms(),
        })
    };
    if let Err(e) = ctx.write(event(Some(ctx.id()))).await {
        return violation(&out, writer, WireErrorCode::Unavailable, &e.to_string()).await;
    }
    ctx.sessions().insert(
        &node_id,
        SessionEntry {
            session_id,
            region: region.clone(),
            connection: conn.clone(),
        },
    );
    tracing::info!(node = %node_id, %region, version = %hello.version, "edge session opened");

    let committed_seq = ctx.store().committed_seq(&node_id).unwrap_or(0);
    let _ = out
        .send(CoordinatorMessage::Welcome {
            heartbeat_interval_ms: HEARTBEAT_INTERVAL.as_millis() as u64,
            committed_seq,
        })
        .await;
    let pusher = tokio::spawn(push_assignments(node_id.clone(), assignments, out.clone()));

    let result = read_loop(&ingest, &node_id, &mut recv, &mut dec, &out).await;
    if let Err(SessionError::Violation(why)) = &result {
        let _ = out.send(refusal(WireErrorCode::BadRequest, why)).await;
    }
    pusher.abort();
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;

    if ctx.sessions().remove(&node_id, session_id) {
        if let Err(e) = ctx.write(event(None)).await {
            tracing::warn!(node = %node_id, error = %e, "could not record session close");
        }
    }
    tracing::info!(node = %node_id, outcome = ?result.as_ref().err(), "edge session closed");
    result
}

fn check_hello(ctx: &Context, node_id: &str, hello: &Hello) -> Result<(), String> {
    if hello.node_id != node_id {
        return Err(format!(
            "hello names {} but the certificate names {node_id}",
            hello.node_id
        ));
    }
    if hello.labels.len() > 32
        || hello
            .labels
            .iter()
            .any(|(k, v)| k.len() > 64 || v.len() > 256)
    {
        return Err("too many or too long labels".into());
    }
    if hello.version.len() > 64 {
        return Err("version string too long".into());
    }
    match ctx.store().node(node_id) {
        Ok(Some(n)) if n.revoked => Err("node revoked".into()),
        Ok(Some(n)) if n.region != hello.region => Err(format!(
            "node enrolled in region {} cannot report {}",
            n.region, hello.region
        )),
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("unknown node".into()),
        Err(e) => Err(format!("state unavailable: {e}")),
    }
}

fn refusal(code: WireErrorCode, message: &str) -> CoordinatorMessage {
    CoordinatorMessage::Error(Refusal {
        code,
        message: message.to_owned(),
    })
}

/// Tells the node why it is refused, lets the writer flush, and ends the session.
async fn violation(
    out: &mpsc::Sender<CoordinatorMessage>,
    writer: tokio::task::JoinHandle<()>,
    code: WireErrorCode,
    why: &str,
) -> Result<(), SessionError> {
    let _ = out.send(refusal(code, why)).await;
    // The writer ends once every sender is gone; the caller drops `out` when it returns, so wait
    // for the frame to leave rather than for the writer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    writer.abort();
    Err(SessionError::Violation(why.to_owned()))
}

fn validate_batch(results: &[CheckResult]) -> Result<(), String> {
    if results.is_empty() || results.len() > MAX_BATCH {
        return Err(format!("batch must hold 1 to {MAX_BATCH} results"));
    }
    if results.windows(2).any(|w| w[0].seq >= w[1].seq) {
        return Err("results must be in strictly increasing sequence order".into());
    }
    for r in results {
        if r.monitor_id.is_empty() || r.monitor_id.len() > 64 || r.metrics.len() > 64 {
            return Err(format!("result {} is malformed", r.seq));
        }
        if r.detail.as_ref().is_some_and(|d| d.len() > 4096)
            || r.facts.len() > 16
            || r.facts.iter().any(|(k, v)| k.len() > 64 || v.len() > 512)
        {
            return Err(format!(
                "result {} carries oversized detail or facts",
                r.seq
            ));
        }
        if r.error.as_ref().is_some_and(|e| e.message.len() > 4096) {
            return Err(format!("result {} carries an oversized message", r.seq));
        }
    }
    Ok(())
}

async fn read_loop(
    ingest: &Ingest,
    node_id: &str,
    recv: &mut quinn::RecvStream,
    dec: &mut FrameDecoder,
    out: &mpsc::Sender<CoordinatorMessage>,
) -> Result<(), SessionError> {
    loop {
        let msg =
            match tokio::time::timeout(SILENCE_LIMIT, wire::read::<EdgeMessage>(recv, dec)).await {
                Err(_) => return Err(SessionError::Silent(SILENCE_LIMIT)),
                Ok(r) => r?,
            };
        match msg {
            None => return Ok(()),
            Some(EdgeMessage::Heartbeat { .. }) => {
                let _ = out.send(CoordinatorMessage::HeartbeatAck).await;
            }
            Some(EdgeMessage::Results(batch)) => {
                validate_batch(&batch.results).map_err(SessionError::Violation)?;
                match ingest.submit(node_id, batch.results).await {
                    Ok(up_to_seq) => {
                        let _ = out.send(CoordinatorMessage::Ack { up_to_seq }).await;
                    }
                    // Not acknowledged: the node resends after its ack timeout or reconnect.
                    Err(e) => tracing::warn!(node = %node_id, error = %e, "batch not committed"),
                }
            }
            Some(other) => {
                return Err(SessionError::Violation(format!(
                    "unexpected message in session: {}",
                    match other {
                        EdgeMessage::Enrol(_) => "enrol",
                        EdgeMessage::Hello(_) => "second hello",
                        _ => "unknown",
                    }
                )))
            }
        }
    }
}

async fn write_loop(mut send: quinn::SendStream, mut rx: mpsc::Receiver<CoordinatorMessage>) {
    while let Some(msg) = rx.recv().await {
        if let Err(e) = wire::write(&mut send, &msg).await {
            tracing::debug!(error = %e, "session write failed");
            return;
        }
    }
    let _ = send.finish();
}

async fn push_assignments(
    node_id: String,
    mut assignments: watch::Receiver<Assignments>,
    out: mpsc::Sender<CoordinatorMessage>,
) {
    let mut sent: BTreeMap<String, CheckSpec> = BTreeMap::new();
    let mut first = true;
    loop {
        let current = assignments
            .borrow_and_update()
            .get(&node_id)
            .cloned()
            .unwrap_or_default();
        let msg = if first {
            first = false;
            Some(CoordinatorMessage::AssignmentFull {
                checks: current.values().cloned().collect(),
            })
        } else {
            let upsert: Vec<CheckSpec> = current
                .iter()
                .filter(|(id, c)| sent.get(*id) != Some(c))
                .map(|(_, c)| c.clone())
                .collect();
            let remove: Vec<String> = sent
                .keys()
                .filter(|id| !current.contains_key(*id))
                .cloned()
                .collect();
            (!upsert.is_empty() || !remove.is_empty())
                .then_some(CoordinatorMessage::AssignmentDelta { upsert, remove })
        };
        if let Some(msg) = msg {
            if out.send(msg).await.is_err() {
                return;
            }
        }
        sent = current;
        if assignments.changed().await.is_err() {
            return;
        }
    }
}
