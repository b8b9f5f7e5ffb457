//! What an edge node measured.

use serde::{Deserialize, Serialize};

/// Outcome of one check run, as judged on the edge node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CheckStatus {
    /// Every expectation held.
    Up,
    /// Reachable but not healthy enough (e.g. a certificate about to expire).
    Degraded,
    /// The check failed; see the error class.
    Down,
}

impl CheckStatus {
    /// Lower-case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Up => "up",
            CheckStatus::Degraded => "degraded",
            CheckStatus::Down => "down",
        }
    }
}

/// Machine-readable reason a check was not up. Appended to, never reordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorClass {
    /// The name did not resolve.
    Dns,
    /// The connection was refused (RST / port closed).
    Refused,
    /// The connection could not be established for another reason (unreachable, reset).
    Connect,
    /// The check did not finish within its timeout.
    Timeout,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// The response status was not one of the expected ones.
    Status,
    /// The response arrived but an expectation on its content failed.
    Assertion,
    /// The peer spoke the protocol wrongly (malformed HTTP, unexpected close).
    Protocol,
    /// Authentication was rejected.
    Auth,
    /// The check could not run on this node (bad config, missing privilege).
    Internal,
    /// The node's target policy refused every address of the target (link-local, cloud
    /// metadata, or the node's `--deny-target` / `--allow-target` rules); no connection was
    /// attempted to a refused address.
    Policy,
}

impl ErrorClass {
    /// Lower-case name used in the API and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Dns => "dns",
            ErrorClass::Refused => "refused",
            ErrorClass::Connect => "connect",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Tls => "tls",
            ErrorClass::Status => "status",
            ErrorClass::Assertion => "assertion",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Auth => "auth",
            ErrorClass::Internal => "internal",
            ErrorClass::Policy => "policy",
        }
    }
}

/// Why a check was not up: a class for machines and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeError {
    /// Machine-readable class.
    pub class: ErrorClass,
    /// Human-readable detail (never contains probe secrets).
    pub message: String,
}

/// One measurement, as stored in the edge node's outbox and sent to the coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Per-node sequence number, strictly increasing across restarts; the coordinator drops
    /// results whose sequence it has already committed, which makes redelivery idempotent.
    pub seq: u64,
    /// Monitor this result belongs to.
    pub monitor_id: String,
    /// Revision of the check that produced it.
    pub revision: u64,
    /// Start of the run, Unix milliseconds on the node's clock.
    pub checked_at_ms: i64,
    /// Up, degraded or down.
    pub status: CheckStatus,
    /// Wall time of the whole run in microseconds.
    pub duration_us: u64,
    /// Set whenever `status` is not up.
    pub error: Option<ProbeError>,
    /// Named numeric measurements (timing phases, sizes, codes).
    pub metrics: Vec<(String, f64)>,
    /// What the probe saw, for humans, also when up (DNS answers, certificate subject, command
    /// output excerpt). Never contains secrets.
    pub detail: Option<String>,
    /// Named facts the coordinator acts on, e.g. `ssh_host_key` observed while not pinned
    /// (trust on first use).
    pub facts: Vec<(String, String)>,
    /// The node's own canary checks were failing when this ran: the node may have lost its
    /// network, so the coordinator records the result but does not let it vote.
    pub impaired: bool,
}

#[cfg(test)]
mod tests {
    use super::ErrorClass;

    /// postcard encodes the variant index: classes are appended, never inserted, so nodes and
    /// coordinators of other versions keep reading each other's results.
    #[test]
    fn error_class_indices_never_move() {
        let all = [
            (ErrorClass::Dns, "dns"),
            (ErrorClass::Refused, "refused"),
            (ErrorClass::Connect, "connect"),
            (ErrorClass::Timeout, "timeout"),
            (ErrorClass::Tls, "tls"),
            (ErrorClass::Status, "status"),
            (ErrorClass::Assertion, "assertion"),
            (ErrorClass::Protocol, "protocol"),
            (ErrorClass::Auth, "auth"),
            (ErrorClass::Internal, "internal"),
            (ErrorClass::Policy, "policy"),
        ];
        for (index, (class, name)) in all.into_iter().enumerate() {
            let bytes = postcard::to_allocvec(&class).expect("encode");
            assert_eq!(bytes, vec![index as u8], "{name}");
            assert_eq!(class.as_str(), name);
        }
    }
}
