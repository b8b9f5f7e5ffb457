//! The commands that travel through the Raft log, and what applying them returns.
//!
//! Every command carries the time it needs (`at_ms`, taken from the proposing coordinator's
//! clock), so applying it reads no clock and every replica reaches the same state.

use netpulse_protocol::result::CheckResult;
use serde::{Deserialize, Serialize};

use super::alerting::{ChannelRecord, Maintenance};
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
    /// The leader's clock: staleness, reminders, escalation and maintenance are evaluated at
    /// ticks, so every replica decides the same at the same log position.
    Tick { at_ms: i64 },
    /// Create or replace an alert channel.
    PutChannel(Box<ChannelRecord>),
    /// Delete an alert channel.
    DeleteChannel { id: String },
    /// Create or replace a maintenance window.
    PutMaintenance(Box<Maintenance>),
    /// Delete a maintenance window.
    DeleteMaintenance { id: String },
    /// Open an incident by hand (for status pages, or what monitors cannot see).
    OpenIncident {
        /// Title.
        title: String,
        /// First update.
        message: Option<String>,
        /// Related monitor.
        monitor_id: Option<String>,
        /// API key name.
        author: String,
        /// Leader clock.
        at_ms: i64,
    },
    /// An operator acted on an incident.
    IncidentAction {
        /// Incident id.
        id: String,
        /// What.
        action: IncidentAction,
        /// API key name.
        author: String,
        /// Clock of the coordinator that took the request.
        at_ms: i64,
    },
    /// The outcome of one delivery attempt of a notification.
    DeliveryAttempted {
        /// Notification id (its idempotency key).
        id: String,
        /// Coordinator that sent it.
        coordinator: u64,
        /// When it was sent (the sender's clock).
        at_ms: i64,
        /// What happened.
        outcome: DeliveryOutcome,
    },
}

/// Operator actions on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IncidentAction {
    /// Stop reminders and escalation.
    Acknowledge,
    /// Add a note.
    Update { message: String },
    /// Record the root cause.
    RootCause { text: String },
    /// Resolve by hand (manual incidents, or a monitor deleted while down).
    Resolve,
}

/// Result of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryOutcome {
    /// Accepted by the receiver.
    Delivered,
    /// Failed; try again at `next_attempt_ms`.
    Retry { error: String, next_attempt_ms: i64 },
    /// Failed for good.
    Failed { error: String },
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
    /// A record was created with this id.
    Created(String),
    /// The command referred to something that does not exist.
    NotFound(String),
    /// The command conflicts with existing state.
    Conflict(String),
}
