//! Batches results from all sessions into Raft entries.
//!
//! Whatever has queued up while the previous entries were being committed goes into the next
//! entry (up to [`MAX_RESULTS_PER_ENTRY`] results or [`MAX_BYTES_PER_ENTRY`] bytes), so a quiet
//! cluster commits each batch at once and a busy one makes large entries instead of many small
//! ones. A node's session submits one batch at a time and acknowledges to the node only what
//! the state machine reports as committed.

use std::sync::Arc;

use netpulse_protocol::limits;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::cluster::messages::MAX_PAYLOAD_ENTRIES;
use crate::cluster::messages::PEER_MAX_FRAME;
use crate::context::Context;
use crate::now_ms;
use netpulse_engine::command::{Command, CommandResponse, IngestBatch, IngestItem, NodeIngest};

/// Most results in one Raft entry.
pub const MAX_RESULTS_PER_ENTRY: usize = 2000;
/// Most result bytes (by [`limits::encoded_len_bound`]) in one Raft entry. An entry holds at
/// least one submission, itself at most one node batch ([`limits::MAX_BATCH_BYTES`]).
pub const MAX_BYTES_PER_ENTRY: usize = limits::MAX_BATCH_BYTES;
/// Entries being committed at once.
pub const MAX_IN_FLIGHT: usize = 4;

// Followers receive up to `MAX_PAYLOAD_ENTRIES` entries in one peer frame: if ingest entries
// could outgrow that frame, replication would fail on them forever (large SNMP walks made
// 2,000-result entries far larger than 64 MiB possible).
const _: () = assert!(
    MAX_PAYLOAD_ENTRIES as usize * (MAX_BYTES_PER_ENTRY + 64 * 1024) <= PEER_MAX_FRAME,
    "an AppendEntries of full ingest entries must fit in one peer frame"
);

/// Why a batch was not committed; the node keeps it and resends.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Raft did not commit the entry.
    #[error("not committed: {0}")]
    NotCommitted(String),
    /// The ingest task is gone (shutdown).
    #[error("ingest stopped")]
    Stopped,
}

struct Submission {
    batch: NodeIngest,
    /// When the session handed it over: the time it queues here is added to its results' ages.
    queued: tokio::time::Instant,
    /// [`limits::encoded_len_bound`] of its results.
    bytes: usize,
    reply: oneshot::Sender<Result<u64, IngestError>>,
}

/// Handle to the batcher.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Submission>,
}

impl Ingest {
    /// Starts the batcher.
    pub fn spawn(ctx: Context) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(run(ctx, rx));
        Self { tx }
    }

    /// Commits what one node sent (results and refusals, in sequence order); returns the
    /// node's highest committed sequence.
    pub async fn submit(&self, batch: NodeIngest) -> Result<u64, IngestError> {
        let (reply, rx) = oneshot::channel();
        let bytes = batch
            .items
            .iter()
            .map(|i| match i {
                IngestItem::Result(a) => limits::encoded_len_bound(&a.result),
                IngestItem::Rejected(r) => r.monitor_id.len() + 64,
            })
            .sum();
        self.tx
            .send(Submission {
                batch,
                queued: tokio::time::Instant::now(),
                bytes,
                reply,
            })
            .await
            .map_err(|_| IngestError::Stopped)?;
        rx.await.map_err(|_| IngestError::Stopped)?
    }
}

async fn run(ctx: Context, mut rx: mpsc::Receiver<Submission>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut carried: Option<Submission> = None;
    loop {
        let first = match carried.take() {
            Some(s) => s,
            None => match rx.recv().await {
                Some(s) => s,
                None => break,
            },
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let (mut count, mut bytes) = (first.batch.items.len(), first.bytes);
        let mut subs = vec![first];
        let mut next = None;
        while count < MAX_RESULTS_PER_ENTRY {
            match rx.try_recv() {
                Ok(s) if bytes + s.bytes > MAX_BYTES_PER_ENTRY => {
                    next = Some(s);
                    break;
                }
                Ok(s) => {
                    count += s.batch.items.len();
                    bytes += s.bytes;
                    subs.push(s);
                }
                Err(_) => break,
            }
        }
        carried = next;
        let ctx = ctx.clone();
        tokio::spawn(async move {
            commit(&ctx, subs).await;
            drop(permit);
        });
    }
}

async fn commit(ctx: &Context, subs: Vec<Submission>) {
    let mut per_node: Vec<NodeIngest> = Vec::new();
    let mut replies = Vec::with_capacity(subs.len());
    for mut s in subs {
        s.batch
            .age_by(u64::try_from(s.queued.elapsed().as_millis()).unwrap_or(u64::MAX));
        let node = s.batch.node.clone();
        match per_node.iter_mut().find(|n| n.node == node) {
            Some(n) => {
                n.items.extend(s.batch.items);
                n.sent_at_ms = s.batch.sent_at_ms.or(n.sent_at_ms);
            }
            None => per_node.push(s.batch),
        }
        replies.push((node, s.reply));
    }
    let items: usize = per_node.iter().map(|n| n.items.len()).sum();
    // The leader stamps its own clock over this when it proposes the entry.
    let cmd = Command::Ingest(IngestBatch {
        received_at_ms: now_ms(),
        per_node,
    });
    ctx.metrics().ingest_proposed(items);
    // `write` returns once the entry is applied here (forwarded writes wait for that too), so
    // this is what a node waits for its acknowledgement, less the queueing before it.
    let proposed = tokio::time::Instant::now();
    let written = ctx.write(cmd).await;
    match &written {
        Ok(_) => ctx.metrics().ingest_committed(proposed.elapsed()),
        Err(_) => ctx.metrics().ingest_failed(),
    }
    match written.map(CommandResponse::committed) {
        Ok(Ok(committed)) => {
            for (node, reply) in replies {
                let seq = committed.iter().find(|(n, _)| *n == node).map(|(_, s)| *s);
                let _ = reply.send(
                    seq.ok_or_else(|| IngestError::NotCommitted(format!("node {node} unknown"))),
                );
            }
        }
        Ok(Err(refused)) => {
            tracing::error!(error = %refused, "result batch answered out of shape");
            for (_, reply) in replies {
                let _ = reply.send(Err(IngestError::NotCommitted(refused.to_string())));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "result batch not committed; nodes will resend");
            for (_, reply) in replies {
                let _ = reply.send(Err(IngestError::NotCommitted(e.to_string())));
            }
        }
    }
}
