//! One edge node's session: hello, assignments out, results in, acknowledgements out.
//!
//! The reader loop handles the node's messages in order; a result batch is acknowledged only
//! after the state machine has applied it, with the node's highest committed sequence. A writer
//! task owns the send side; an assignment task sends the node the difference whenever its checks
//! change.

use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::check::CheckSpec;
use netpulse_protocol::limits::{self, MAX_BATCH_RESULTS};
use netpulse_protocol::message::{
    assignment_messages, ClusterView, CoordinatorMessage, EdgeMessage, Hello, WireError as Refusal,
    WireErrorCode,
};
use netpulse_protocol::result::CheckResult;
use netpulse_protocol::FrameDecoder;
use tokio::sync::{mpsc, watch};

use super::assignments::{Assignments, NodeChecks};
use super::ingest::Ingest;
use super::registry::SessionEntry;
use super::wire;
use crate::context::Context;
use crate::now_ms;
use netpulse_engine::command::{
    AgedResult, Command, IngestItem, NodeIngest, NodeSessionEvent, RejectReason, RejectedResult,
};

/// How often nodes send heartbeats.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A node silent for this long is disconnected.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(20);

/// Which session protocol the node negotiated (by ALPN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `netpulse-edge/1`: plain result batches, no cluster view (nodes older than this build).
    V1,
    /// `netpulse-edge/2`: timed result batches, and the node is told who the coordinators are.
    V2,
}

/// The authenticated peer of a session.
pub struct EdgePeer {
    /// Its QUIC connection.
    pub conn: quinn::Connection,
    /// Node id from its certificate.
    pub node_id: String,
    /// The protocol it speaks.
    pub dialect: Dialect,
}

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

/// Runs an authenticated session for `peer` until it ends.
pub async fn run(
    ctx: Context,
    ingest: Ingest,
    assignments: watch::Receiver<Assignments>,
    peer: EdgePeer,
    send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> Result<(), SessionError> {
    let EdgePeer {
        conn,
        node_id,
        dialect,
    } = peer;
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
    let view = (dialect == Dialect::V2).then(|| cluster_view(&ctx));
    if let Some(v) = &view {
        let _ = out.send(CoordinatorMessage::Cluster(v.clone())).await;
    }
    let mut session = Reader {
        ctx: &ctx,
        ingest: &ingest,
        node_id: &node_id,
        out: &out,
        view,
    };

    let result = session.read_loop(&mut recv, &mut dec).await;
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

/// The coordinators as this one sees them: every voter's QUIC address, and the leader's.
fn cluster_view(ctx: &Context) -> ClusterView {
    // One read of the metrics for both (no clone of them, no second borrow).
    let metrics = ctx.raft().metrics();
    let metrics = metrics.borrow();
    let membership = metrics.membership_config.membership();
    let addr = |id: &u64| membership.get_node(id).map(|n| n.addr.clone());
    ClusterView {
        members: membership.voter_ids().filter_map(|id| addr(&id)).collect(),
        leader: metrics.current_leader.as_ref().and_then(addr),
    }
}

/// Splits a batch into what to store and what to refuse, in sequence order. Nothing a node
/// sends in a result can end its session: a result that breaks a limit is committed as
/// rejected (so the node drops it) and counted against the node; a result whose sequence is
/// not above the one before it (which a node's outbox never produces) is skipped, and the ack
/// covering its neighbours drops it on the node.
fn sort_batch(
    node: &str,
    results: Vec<CheckResult>,
    sent_at_ms: Option<i64>,
    now_ms: i64,
) -> NodeIngest {
    let mut items = Vec::with_capacity(results.len());
    let mut last: Option<u64> = None;
    // One log line per batch, not one per refused result: a node from before the limits may
    // send nothing but.
    let (mut refused, mut skipped, mut first_refusal) = (0usize, 0usize, None);
    for mut r in results {
        if last.is_some_and(|l| r.seq <= l) {
            skipped += 1;
            continue;
        }
        last = Some(r.seq);
        match limits::check(&r) {
            Err(e) => {
                refused += 1;
                limits::clip(&mut r.monitor_id, limits::MAX_MONITOR_ID_LEN);
                first_refusal.get_or_insert_with(|| (r.seq, r.monitor_id.clone(), e.clone()));
                items.push(IngestItem::Rejected(RejectedResult {
                    seq: r.seq,
                    monitor_id: r.monitor_id,
                    reason: RejectReason::Limit(e),
                }));
            }
            Ok(()) => {
                // Age on the node's own clock; an old node (no send time) is judged on ours,
                // as before timed batches.
                let age = sent_at_ms.unwrap_or(now_ms).saturating_sub(r.checked_at_ms);
                items.push(IngestItem::Result(AgedResult {
                    age_ms: age.max(0) as u64,
                    result: r,
                }));
            }
        }
    }
    if let Some((seq, monitor, reason)) = first_refusal {
        tracing::warn!(node, refused, first_seq = seq, %monitor, %reason, "results rejected");
    }
    if skipped > 0 {
        tracing::warn!(node, skipped, "results out of sequence order skipped");
    }
    NodeIngest {
        node: node.to_owned(),
        sent_at_ms,
        items,
    }
}

/// The reading half of a session.
struct Reader<'a> {
    ctx: &'a Context,
    ingest: &'a Ingest,
    node_id: &'a str,
    out: &'a mpsc::Sender<CoordinatorMessage>,
    /// The cluster view last sent (`netpulse-edge/2` only).
    view: Option<ClusterView>,
}

impl Reader<'_> {
    async fn read_loop(
        &mut self,
        recv: &mut quinn::RecvStream,
        dec: &mut FrameDecoder,
    ) -> Result<(), SessionError> {
        loop {
            let msg =
                match tokio::time::timeout(SILENCE_LIMIT, wire::read::<EdgeMessage>(recv, dec))
                    .await
                {
                    Err(_) => return Err(SessionError::Silent(SILENCE_LIMIT)),
                    Ok(r) => r?,
                };
            match msg {
                None => return Ok(()),
                Some(EdgeMessage::Heartbeat { .. }) => {
                    let _ = self.out.send(CoordinatorMessage::HeartbeatAck).await;
                    self.refresh_view().await;
                }
                Some(EdgeMessage::Results(batch)) => self.results(batch.results, None).await,
                Some(EdgeMessage::TimedResults(batch)) => {
                    self.results(batch.results, Some(batch.sent_at_ms)).await
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

    /// Commits a batch and acknowledges up to the node's committed sequence. A batch over
    /// [`MAX_BATCH_RESULTS`] is taken in part; the ack tells the node where to go on.
    async fn results(&mut self, mut results: Vec<CheckResult>, sent_at_ms: Option<i64>) {
        results.truncate(MAX_BATCH_RESULTS);
        if results.is_empty() {
            return;
        }
        let batch = sort_batch(self.node_id, results, sent_at_ms, now_ms());
        match self.ingest.submit(batch).await {
            Ok(up_to_seq) => {
                let _ = self.out.send(CoordinatorMessage::Ack { up_to_seq }).await;
            }
            // Not acknowledged: the node resends after its ack timeout or reconnect.
            Err(e) => tracing::warn!(node = %self.node_id, error = %e, "batch not committed"),
        }
    }

    /// Tells a `netpulse-edge/2` node when the coordinators or the leader changed.
    async fn refresh_view(&mut self) {
        let Some(sent) = &self.view else { return };
        let now = cluster_view(self.ctx);
        if *sent != now {
            let _ = self
                .out
                .send(CoordinatorMessage::Cluster(now.clone()))
                .await;
            self.view = Some(now);
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
    let mut sent: NodeChecks = NodeChecks::default();
    let mut first = true;
    loop {
        let current = assignments
            .borrow_and_update()
            .get(&node_id)
            .cloned()
            .unwrap_or_default();
        let msgs = if first {
            first = false;
            assignment_messages(
                true,
                current.values().map(|c| (**c).clone()).collect(),
                vec![],
            )
        } else if Arc::ptr_eq(&current, &sent) {
            Vec::new()
        } else {
            let upsert: Vec<CheckSpec> = current
                .iter()
                .filter(|(id, c)| sent.get(*id).is_none_or(|s| !Arc::ptr_eq(s, c) && s != *c))
                .map(|(_, c)| (**c).clone())
                .collect();
            let remove: Vec<String> = sent
                .keys()
                .filter(|id| !current.contains_key(*id))
                .cloned()
                .collect();
            assignment_messages(false, upsert, remove)
        };
        // Large assignments travel in several frames (see `assignment_messages`).
        for msg in msgs {
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

#[cfg(test)]
mod tests {
    use netpulse_protocol::limits::{Limit, MAX_METRICS};
    use netpulse_protocol::result::CheckStatus;

    use super::*;

    fn result(seq: u64, checked_at_ms: i64, metrics: usize) -> CheckResult {
        CheckResult {
            seq,
            monitor_id: "mon_1".into(),
            revision: 1,
            checked_at_ms,
            status: CheckStatus::Up,
            duration_us: 1,
            error: None,
            metrics: (0..metrics).map(|i| (format!("m{i}"), 1.0)).collect(),
            detail: None,
            facts: Vec::new(),
            impaired: false,
        }
    }

    #[test]
    fn a_batch_splits_into_aged_results_and_refusals_in_order() {
        let batch = vec![
            result(1, 1_000, 1),
            result(2, 1_500, MAX_METRICS + 1),
            result(2, 1_600, 1),
            result(3, 1_900, 1),
        ];
        let n = sort_batch("n1", batch, Some(2_000), 99_999);
        let summary: Vec<(u64, Option<u64>, Option<Limit>)> = n
            .items
            .iter()
            .map(|i| match i {
                IngestItem::Result(a) => (a.result.seq, Some(a.age_ms), None),
                IngestItem::Rejected(r) => {
                    let RejectReason::Limit(e) = &r.reason;
                    (r.seq, None, Some(e.limit))
                }
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, Some(1_000), None),
                (2, None, Some(Limit::Metrics)),
                (3, Some(100), None),
            ],
            "ages on the node's clock; the repeated sequence 2 is skipped"
        );
        assert_eq!(n.sent_at_ms, Some(2_000));
    }

    #[test]
    fn an_old_node_is_aged_on_the_receiving_clock() {
        let n = sort_batch("n1", vec![result(1, 1_000, 0)], None, 4_000);
        assert!(matches!(&n.items[0], IngestItem::Result(a) if a.age_ms == 3_000));
        // A result from the node's future is zero old, never negative.
        let n = sort_batch("n1", vec![result(1, 9_000, 0)], Some(8_000), 0);
        assert!(matches!(&n.items[0], IngestItem::Result(a) if a.age_ms == 0));
    }

    #[test]
    fn a_refused_result_keeps_a_clipped_monitor_id() {
        let mut r = result(1, 0, MAX_METRICS + 1);
        r.monitor_id = "é".repeat(40);
        let n = sort_batch("n1", vec![r], None, 0);
        let IngestItem::Rejected(rej) = &n.items[0] else {
            panic!("refused")
        };
        assert!(rej.monitor_id.len() <= limits::MAX_MONITOR_ID_LEN);
        assert!("é".repeat(40).starts_with(&rej.monitor_id));
    }
}
