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
    /// Results from edge nodes, deduplicated by node and sequence (before clock-safe ages and
    /// per-result rejection; still applied from old logs, never proposed).
    IngestResults(LegacyIngestBatch),
    /// Reserve the next coordinator id for a joining coordinator.
    AllocateCoordinatorId,
    /// The leader's placement decision as full sets: the monitor set of each listed node (an
    /// empty set removes the node from the placement). Nodes not listed keep theirs. Still
    /// applied from old logs; the leader now proposes [`Command::MovePlacement`], whose size
    /// follows what changed rather than how many monitors a node holds.
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
    /// Results from edge nodes with each result's age on its node's clock, and the results
    /// refused at the door, in sequence order per node.
    Ingest(IngestBatch),
    /// The leader's placement decision as a change: monitors placed on and taken off nodes
    /// (node id, monitor ids). Removals apply first.
    MovePlacement {
        /// Monitors taken off each node.
        remove: Vec<(String, Vec<String>)>,
        /// Monitors placed on each node.
        add: Vec<(String, Vec<String>)>,
    },
    /// How long raw results, hourly and daily rollups are kept (the leader's flags).
    SetRetention(super::retention::Retention),
    /// Create a status page, or replace it when `expect_existing` is set (and it exists).
    PutStatusPage {
        page: Box<super::status_pages::StatusPageRecord>,
        expect_existing: bool,
    },
    /// Delete a status page.
    DeleteStatusPage { id: String },
}

impl Command {
    /// Sets the times this command takes from the leader's clock, at the moment the leader
    /// proposes it: whichever coordinator formed the command (a follower holding an edge
    /// session, with a clock of its own), only the leader's clock enters the log for them.
    pub fn stamp_leader_clock(&mut self, now_ms: i64) {
        if let Command::Ingest(batch) = self {
            batch.received_at_ms = now_ms;
        }
    }

    /// Adds `waited_ms` to every result's age: the time the command spent between the
    /// coordinator that received the results and the leader's stamp (the ingest queue, a
    /// forward, retries through an election) is measured on this coordinator's monotonic
    /// clock, so a result is not dated later by however long its entry waited.
    pub fn age_by(&mut self, waited_ms: u64) {
        if waited_ms == 0 {
            return;
        }
        if let Command::Ingest(batch) = self {
            for n in &mut batch.per_node {
                n.age_by(waited_ms);
            }
        }
    }
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
    /// A public update: shown on status pages and in their feeds with its phase. Posting
    /// `resolved` resolves the incident as [`IncidentAction::Resolve`] does.
    Publish {
        phase: super::alerting::UpdatePhase,
        message: String,
    },
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
    /// Leader clock when the leader proposed the entry, Unix ms ([`Command::stamp_leader_clock`]).
    /// Freshness is judged against it; it becomes the nodes' `last_seen`.
    pub received_at_ms: i64,
    /// What each node sent, in increasing sequence order per node.
    pub per_node: Vec<NodeIngest>,
}

/// What one node sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeIngest {
    /// Authenticated node id (from the certificate, never from the payload).
    pub node: String,
    /// The node's clock when it sent its newest batch, Unix ms, if it says (`netpulse-edge/2`).
    /// Against `received_at_ms` it gives the node's clock offset from the leader.
    pub sent_at_ms: Option<i64>,
    /// Results and refusals in increasing sequence order.
    pub items: Vec<IngestItem>,
}

/// One sequence number of a node: a result to store, or one refused at the door.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IngestItem {
    /// A result and its age.
    Result(AgedResult),
    /// A result the coordinator refused; its sequence is committed so the node drops it.
    Rejected(RejectedResult),
}

impl IngestItem {
    /// The node's sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            IngestItem::Result(a) => a.result.seq,
            IngestItem::Rejected(r) => r.seq,
        }
    }
}

impl NodeIngest {
    /// See [`Command::age_by`].
    pub fn age_by(&mut self, waited_ms: u64) {
        for item in &mut self.items {
            if let IngestItem::Result(a) = item {
                a.age_ms = a.age_ms.saturating_add(waited_ms);
            }
        }
    }
}

/// A result with its age when the node sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgedResult {
    /// Milliseconds between the check's start and the node sending it, on the node's clock
    /// (so the node's offset cancels out).
    pub age_ms: u64,
    /// The result as the node measured it.
    pub result: CheckResult,
}

/// A result the coordinator would not store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedResult {
    /// Its sequence number.
    pub seq: u64,
    /// Its monitor id, clipped to the id limit.
    pub monitor_id: String,
    /// Why.
    pub reason: RejectReason,
}

/// Why a result was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    /// It breaks a limit of `netpulse_protocol::limits` (a node older than the limits, or a
    /// bug: this build's nodes cut results to them).
    Limit(netpulse_protocol::limits::LimitExceeded),
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::Limit(e) => e.fmt(f),
        }
    }
}

/// Results gathered by the ingest batcher, as logged before ages and rejections existed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyIngestBatch {
    /// When the batch was formed (the session coordinator's clock), Unix ms.
    pub received_at_ms: i64,
    /// Results per node, each in increasing sequence order.
    pub per_node: Vec<NodeResults>,
}

/// Results of one node (legacy entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeResults {
    /// Authenticated node id (from the certificate, never from the payload).
    pub node: String,
    /// Results in increasing sequence order.
    pub results: Vec<CheckResult>,
}

impl From<&LegacyIngestBatch> for IngestBatch {
    /// An old entry's results had their age judged on the receiving coordinator's clock
    /// (`received_at - checked_at`); the conversion keeps exactly that judgement.
    fn from(old: &LegacyIngestBatch) -> Self {
        IngestBatch {
            received_at_ms: old.received_at_ms,
            per_node: old
                .per_node
                .iter()
                .map(|n| NodeIngest {
                    node: n.node.clone(),
                    sent_at_ms: None,
                    items: n
                        .results
                        .iter()
                        .map(|r| {
                            IngestItem::Result(AgedResult {
                                age_ms: old.received_at_ms.saturating_sub(r.checked_at_ms).max(0)
                                    as u64,
                                result: r.clone(),
                            })
                        })
                        .collect(),
                })
                .collect(),
        }
    }
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
        /// Refused at the door (limits) and committed as rejected.
        rejected: u64,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::quorum::Quorum;
    use crate::state::alerting::{AlertSettings, EscalationStep, Maintenance, MaintenanceSchedule};

    /// The Raft log stores commands as postcard, which cannot decode self-describing serde
    /// shapes (internally tagged enums, `serde_json::Value`, `deserialize_any`). Every command
    /// that carries alerting records must survive the trip.
    #[test]
    fn alerting_commands_round_trip_through_the_log_encoding() {
        let monitor = Monitor {
            id: "mon_1".into(),
            name: "m".into(),
            target: "h:1".into(),
            interval_s: 1,
            timeout_s: 1,
            regions: vec!["eu".into()],
            paused: false,
            probe: netpulse_protocol::check::ProbeSpec::Tcp(Default::default()),
            revision: 0,
            created_at_ms: 0,
            updated_at_ms: 0,
            alerting: AlertSettings {
                quorum: Quorum::Percent(60),
                escalation: vec![EscalationStep {
                    after_s: 60,
                    channels: vec!["ch_1".into()],
                }],
                tls_expiry_warn_days: Some(14),
                ..AlertSettings::default()
            },
        };
        let cmds = vec![
            Command::PutMonitor {
                monitor: Box::new(monitor),
                expect_existing: false,
            },
            Command::Tick { at_ms: 5 },
            Command::PutChannel(Box::new(ChannelRecord {
                id: "ch_1".into(),
                name: "c".into(),
                kind: "webhook".into(),
                sealed_config: "v1.x".into(),
                redacted_config: "{\"url\":\"http://x/\"}".into(),
                route_tags: vec!["db".into()],
                mesh_alerts: true,
                created_at_ms: 1,
            })),
            Command::PutMaintenance(Box::new(Maintenance {
                id: "mnt_1".into(),
                title: "t".into(),
                monitors: vec![],
                tags: vec![],
                schedule: MaintenanceSchedule::Weekly {
                    days: vec![1, 7],
                    start_minute: 60,
                    duration_min: 30,
                },
                created_at_ms: 0,
            })),
            Command::PutMaintenance(Box::new(Maintenance {
                id: "mnt_2".into(),
                title: "t".into(),
                monitors: vec!["mon_1".into()],
                tags: vec![],
                schedule: MaintenanceSchedule::Once {
                    starts_at_ms: 1,
                    ends_at_ms: 2,
                },
                created_at_ms: 0,
            })),
            Command::OpenIncident {
                title: "t".into(),
                message: Some("m".into()),
                monitor_id: None,
                author: "a".into(),
                at_ms: 1,
            },
            Command::PutStatusPage {
                page: Box::new(crate::fixtures::test_status_page("sp_1", "s", &["mon_1"])),
                expect_existing: true,
            },
            Command::IncidentAction {
                id: "inc_1".into(),
                action: IncidentAction::Publish {
                    phase: crate::alerting::UpdatePhase::Monitoring,
                    message: "m".into(),
                },
                author: "a".into(),
                at_ms: 2,
            },
            Command::IncidentAction {
                id: "inc_1".into(),
                action: IncidentAction::Update {
                    message: "m".into(),
                },
                author: "a".into(),
                at_ms: 1,
            },
            Command::DeliveryAttempted {
                id: "k".into(),
                coordinator: 1,
                at_ms: 1,
                outcome: DeliveryOutcome::Retry {
                    error: "e".into(),
                    next_attempt_ms: 2,
                },
            },
        ];
        for cmd in cmds {
            let bytes = postcard::to_allocvec(&cmd).expect("encode");
            let back: Command = postcard::from_bytes(&bytes).expect("decode");
            assert_eq!(back, cmd);
        }
    }
}
