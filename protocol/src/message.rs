//! Session messages.
//!
//! An edge node opens one bidirectional stream per connection. On an unauthenticated connection
//! (no client certificate) the only accepted message is [`EdgeMessage::Enrol`]; on an
//! authenticated one it sends [`EdgeMessage::Hello`] first, then results and heartbeats, while the
//! coordinator streams assignments and acknowledgements back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{check::CheckSpec, result::CheckResult};

/// Messages from an edge node to a coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EdgeMessage {
    /// Ask for a node certificate. Only valid on a connection without a client certificate.
    Enrol(Enrol),
    /// First message of an authenticated session.
    Hello(Hello),
    /// Results in sequence order, starting at the oldest unacknowledged one.
    Results(ResultBatch),
    /// Keeps the session alive and carries the node's clock for skew reporting.
    Heartbeat {
        /// Node clock, Unix milliseconds.
        now_ms: i64,
    },
    /// Results with the node's clock at sending (`netpulse-edge/2`), so the coordinator can tell
    /// each result's age without trusting that the node's clock agrees with its own.
    TimedResults(TimedResultBatch),
}

/// Enrolment request: a join token and a CSR whose private key never leaves the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrol {
    /// The full join token as printed by the coordinator.
    pub token: String,
    /// DER-encoded PKCS#10 certificate signing request.
    pub csr_der: Vec<u8>,
    /// Region tag the node will run in.
    pub region: String,
}

/// Identifies a node at the start of a session. The node id itself comes from its certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// Node id as stored with its certificate; must match the certificate.
    pub node_id: String,
    /// Region tag.
    pub region: String,
    /// Free-form labels (provider, datacentre, ...).
    pub labels: BTreeMap<String, String>,
    /// Software version of the node.
    pub version: String,
}

/// A batch of results, in increasing `seq` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultBatch {
    /// The results.
    pub results: Vec<CheckResult>,
}

/// A batch of results, in increasing `seq` order, stamped with the node's clock when sent.
///
/// `sent_at_ms - checked_at_ms` is a result's age on one clock, whatever that clock's offset:
/// the leader turns it into its own time by subtracting it from the moment it proposes the
/// entry, so neither a skewed node nor a skewed coordinator makes fresh results look stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedResultBatch {
    /// Node clock when the batch was written to the stream, Unix ms.
    pub sent_at_ms: i64,
    /// The results.
    pub results: Vec<CheckResult>,
}

/// The coordinators of the cluster, as a session's coordinator sees them (`netpulse-edge/2`).
/// A node keeps the list, so the address it was started with may disappear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    /// QUIC addresses (`host:port`) of every voting coordinator.
    pub members: Vec<String>,
    /// The current leader's address, when known: sessions held there ingest without a forward.
    pub leader: Option<String>,
}

/// Messages from a coordinator to an edge node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CoordinatorMessage {
    /// Enrolment succeeded: the node certificate and the cluster CA.
    Enrolled(Enrolled),
    /// The session is accepted.
    Welcome {
        /// How often the node should send heartbeats.
        heartbeat_interval_ms: u64,
        /// Highest result sequence already committed for this node, so it can drop those.
        committed_seq: u64,
    },
    /// The complete set of checks this node must run; replaces anything held before.
    AssignmentFull {
        /// The checks.
        checks: Vec<CheckSpec>,
    },
    /// Changes to the set held by the node.
    AssignmentDelta {
        /// Checks to add or replace (matched by monitor id).
        upsert: Vec<CheckSpec>,
        /// Monitor ids to stop running.
        remove: Vec<String>,
    },
    /// Every result with `seq <= up_to_seq` is committed and may be deleted by the node.
    Ack {
        /// Highest committed sequence.
        up_to_seq: u64,
    },
    /// Answer to a heartbeat.
    HeartbeatAck,
    /// The request was refused; the stream closes after this.
    Error(WireError),
    /// Who the coordinators are (`netpulse-edge/2` only); sent after `Welcome` and whenever
    /// it changes.
    Cluster(ClusterView),
}

/// Certificate material returned at enrolment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolled {
    /// Id assigned to the node.
    pub node_id: String,
    /// DER of the node certificate.
    pub cert_der: Vec<u8>,
    /// DER of the cluster CA certificate.
    pub ca_der: Vec<u8>,
}

/// A refusal with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// Stable code.
    pub code: WireErrorCode,
    /// Human-readable detail.
    pub message: String,
}

/// Stable refusal codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireErrorCode {
    /// Join token unknown, expired or revoked.
    InvalidToken,
    /// The connection has no (valid) client certificate for this request.
    Unauthenticated,
    /// The node was removed or its certificate does not match.
    Forbidden,
    /// The message was not valid at this point of the session.
    BadRequest,
    /// The coordinator could not serve the request right now; retry later.
    Unavailable,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

/// Largest encoded size of the checks in one assignment message. An assignment of 100,000
/// checks is several MiB, more than a frame may hold ([`crate::MAX_FRAME_LEN`]): it travels as
/// an `AssignmentFull` with the first checks followed by `AssignmentDelta`s with the rest, which
/// leaves the node holding exactly the full set once the last one is applied.
pub const MAX_ASSIGNMENT_BYTES: usize = 1024 * 1024;

/// The messages that carry an assignment change, each within [`MAX_ASSIGNMENT_BYTES`] of
/// checks (a single check larger than that still travels, alone). With `full`, the first
/// message is an `AssignmentFull` (possibly empty) and `remove` is ignored; otherwise they are
/// deltas, the removals in the first. An empty delta yields no message.
pub fn assignment_messages(
    full: bool,
    upsert: Vec<CheckSpec>,
    remove: Vec<String>,
) -> Vec<CoordinatorMessage> {
    let mut chunks: Vec<Vec<CheckSpec>> = Vec::new();
    let (mut current, mut bytes) = (Vec::new(), 0usize);
    for c in upsert {
        // Encoding a check cannot fail (plain data); count a failure as a full chunk.
        let size = postcard::experimental::serialized_size(&c).unwrap_or(MAX_ASSIGNMENT_BYTES);
        if !current.is_empty() && bytes + size > MAX_ASSIGNMENT_BYTES {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(c);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    let mut out = Vec::with_capacity(chunks.len() + 1);
    let mut chunks = chunks.into_iter();
    if full {
        out.push(CoordinatorMessage::AssignmentFull {
            checks: chunks.next().unwrap_or_default(),
        });
    } else if !remove.is_empty() {
        out.push(CoordinatorMessage::AssignmentDelta {
            upsert: chunks.next().unwrap_or_default(),
            remove,
        });
    }
    out.extend(chunks.map(|upsert| CoordinatorMessage::AssignmentDelta {
        upsert,
        remove: Vec::new(),
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{ProbeSpec, TcpSpec};

    fn check(i: usize) -> CheckSpec {
        CheckSpec {
            monitor_id: format!("mon_{i:016x}"),
            revision: 1,
            interval_ms: 60_000,
            timeout_ms: 5_000,
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".into(),
                port: 9,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_large_assignment_travels_in_frames_that_fit() {
        let checks: Vec<CheckSpec> = (0..100_000).map(check).collect();
        let msgs = assignment_messages(true, checks.clone(), vec!["ignored".into()]);
        assert!(msgs.len() > 1, "100,000 checks do not fit one message");
        assert!(matches!(msgs[0], CoordinatorMessage::AssignmentFull { .. }));
        let mut held: Vec<CheckSpec> = Vec::new();
        for m in &msgs {
            let frame = crate::frame::encode(m).expect("every message fits a frame");
            assert!(frame.len() <= MAX_ASSIGNMENT_BYTES + 64);
            match m {
                CoordinatorMessage::AssignmentFull { checks } => held = checks.clone(),
                CoordinatorMessage::AssignmentDelta { upsert, remove } => {
                    assert!(remove.is_empty());
                    held.extend(upsert.iter().cloned());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(held, checks);
    }

    #[test]
    fn deltas_carry_removals_first_and_nothing_when_empty() {
        assert!(assignment_messages(false, vec![], vec![]).is_empty());
        let msgs = assignment_messages(false, vec![check(1)], vec!["gone".into()]);
        assert_eq!(
            msgs,
            vec![CoordinatorMessage::AssignmentDelta {
                upsert: vec![check(1)],
                remove: vec!["gone".into()],
            }]
        );
        assert_eq!(
            assignment_messages(true, vec![], vec![]),
            vec![CoordinatorMessage::AssignmentFull { checks: vec![] }]
        );
    }
}
