//! The commands that travel through the Raft log, and what applying them returns.
//!
//! Every command carries the time it needs (`at_ms`, taken from the proposing coordinator's
//! clock), so applying it reads no clock and every replica reaches the same state.

use netpulse_protocol::result::CheckResult;
use serde::{Deserialize, Serialize};

use super::model::{ApiKeyRecord, EdgeNode, JoinTokenRecord, Monitor};

/// A replicated state change. Variants are appended, never reordered (postcard encodes indices).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Create an API key.
    CreateApiKey(ApiKeyRecord),
    /// Create a join token.
    CreateJoinToken(JoinTokenRecord),
    /// Revoke a join token.
    RevokeJoinToken { id: String },
    /// Create a monitor, or replace it when `expect_existing` is set (and it exists). Boxed:
    /// a monitor with its probe settings is far larger than every other command.
    PutMonitor {
        monitor: Box<Monitor>,
        expect_existing: bool,
    },
    /// Delete a monitor and its history.
    DeleteMonitor { id: String },
    /// Record an enrolled node.
    RegisterNode(EdgeNode),
    /// A node's session opened (with its hello) or closed.
    NodeSession(NodeSessionEvent),
    /// A coordinator (re)started: sessions it held are gone.
    CoordinatorStarted { coordinator: u64, at_ms: i64 },
    /// Results from edge nodes, deduplicated by node and sequence.
    IngestResults(IngestBatch),
    /// Reserve the next coordinator id for a joining coordinator.
    AllocateCoordinatorId,
    /// The leader's placement decision: the full monitor set of each listed node (an empty
    /// set removes the node from the placement). Nodes not listed keep theirs.
    SetPlacement { changes: Vec<(String, Vec<String>)> },
    /// Nodes holding a live session on `coordinator` were heard from at `at_ms`.
    NodesSeen {
        coordinator: u64,
        nodes: Vec<String>,
        at_ms: i64,
    },
}

/// Session change of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSessionEvent {
    /// Node id.
    pub node: String,
    /// Coordinator holding the session, `None` when it closed.
    pub coordinator: Option<u64>,
    /// Labels from hello.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Version from hello.
    pub version: String,
    /// When, Unix ms.
    pub at_ms: i64,
}

/// Results gathered by the ingest batcher across sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestBatch {
    /// When the batch was formed, Unix ms; becomes the nodes' `last_seen`.
    pub received_at_ms: i64,
    /// Results per node, each in increasing sequence order.
    pub per_node: Vec<NodeResults>,
}

/// Results of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeResults {
    /// Authenticated node id (from the certificate, never from the payload).
    pub node: String,
    /// Results in increasing sequence order.
    pub results: Vec<CheckResult>,
}

/// The outcome of applying a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CommandResponse {
    /// Applied.
    Ok,
    /// A monitor was written; its new revision.
    MonitorWritten { revision: u64 },
    /// Results were applied.
    Ingested {
        /// Newly stored.
        stored: u64,
        /// Already committed earlier (redelivery).
        duplicates: u64,
        /// Dropped because the monitor or node does not exist.
        dropped: u64,
        /// Highest committed sequence per node after this batch.
        committed: Vec<(String, u64)>,
    },
    /// An id was allocated.
    Allocated(u64),
    /// The command referred to something that does not exist.
    NotFound(String),
    /// The command conflicts with existing state.
    Conflict(String),
}
