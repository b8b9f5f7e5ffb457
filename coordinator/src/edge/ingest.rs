//! Batches results from all sessions into Raft entries.
//!
//! Whatever has queued up while the previous entries were being committed goes into the next
//! entry (up to [`MAX_RESULTS_PER_ENTRY`]), so a quiet cluster commits each batch at once and a
//! busy one makes large entries instead of many small ones. A node's session submits one batch
//! at a time and acknowledges to the node only what the state machine reports as committed.

use std::sync::Arc;

use netpulse_protocol::result::CheckResult;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::context::Context;
use crate::now_ms;
use crate::state::command::{Command, CommandResponse, IngestBatch, NodeResults};

/// Most results in one Raft entry.
pub const MAX_RESULTS_PER_ENTRY: usize = 2000;
/// Entries being committed at once.
pub const MAX_IN_FLIGHT: usize = 4;

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
    node: String,
    results: Vec<CheckResult>,
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

    /// Commits `results` of `node`; returns the node's highest committed sequence.
    pub async fn submit(&self, node: &str, results: Vec<CheckResult>) -> Result<u64, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Submission {
                node: node.to_owned(),
                results,
                reply,
            })
            .await
            .map_err(|_| IngestError::Stopped)?;
        rx.await.map_err(|_| IngestError::Stopped)?
    }
}

async fn run(ctx: Context, mut rx: mpsc::Receiver<Submission>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let mut count = first.results.len();
        let mut subs = vec![first];
        while count < MAX_RESULTS_PER_ENTRY {
            match rx.try_recv() {
                Ok(s) => {
                    count += s.results.len();
                    subs.push(s);
                }
                Err(_) => break,
            }
        }
        let ctx = ctx.clone();
        tokio::spawn(async move {
            commit(&ctx, subs).await;
            drop(permit);
        });
    }
}

async fn commit(ctx: &Context, subs: Vec<Submission>) {
    let mut per_node: Vec<NodeResults> = Vec::new();
    let mut replies = Vec::with_capacity(subs.len());
    for s in subs {
        match per_node.iter_mut().find(|n| n.node == s.node) {
            Some(n) => n.results.extend(s.results),
            None => per_node.push(NodeResults {
                node: s.node.clone(),
                results: s.results,
            }),
        }
        replies.push((s.node, s.reply));
    }
    let cmd = Command::IngestResults(IngestBatch {
        received_at_ms: now_ms(),
        per_node,
    });
    match ctx.write(cmd).await {
        Ok(CommandResponse::Ingested { committed, .. }) => {
            for (node, reply) in replies {
                let seq = committed.iter().find(|(n, _)| *n == node).map(|(_, s)| *s);
                let _ = reply.send(
                    seq.ok_or_else(|| IngestError::NotCommitted(format!("node {node} unknown"))),
                );
            }
        }
        Ok(other) => {
            for (_, reply) in replies {
                let _ = reply.send(Err(IngestError::NotCommitted(format!(
                    "unexpected {other:?}"
                ))));
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
