//! Records kept in the replicated state.
//!
//! Configuration records (monitors, nodes, tokens, keys) are stored as JSON so fields can be added
//! later with `#[serde(default)]`; results, the hot path, are stored as postcard.

use std::collections::BTreeMap;

use netpulse_protocol::check::ProbeSpec;
use netpulse_protocol::result::{CheckStatus, ProbeError};
use serde::{Deserialize, Serialize};

/// A configured check, as replicated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Monitor {
    /// Opaque id, `mon_` + 16 hex chars.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Target as the operator wrote it (URL, host:port, ...).
    pub target: String,
    /// Seconds between runs.
    pub interval_s: u32,
    /// Seconds before a run counts as timed out.
    pub timeout_s: u32,
    /// Regions that must run it.
    pub regions: Vec<String>,
    /// Paused monitors keep their history but are not scheduled.
    pub paused: bool,
    /// Probe configuration sent to edge nodes.
    pub probe: ProbeSpec,
    /// Log index of the last change; edge nodes use it to spot changed checks.
    pub revision: u64,
    /// Creation time, Unix ms (leader clock, carried in the log entry).
    pub created_at_ms: i64,
    /// Last change, Unix ms.
    pub updated_at_ms: i64,
    /// Quorum, confirmation and alert routing.
    #[serde(default)]
    pub alerting: super::alerting::AlertSettings,
}

/// The region name that means "every region with a live node".
pub const ALL_REGIONS: &str = "all";

impl Monitor {
    /// Whether results from `region` count for this monitor.
    pub fn covers(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region || r == ALL_REGIONS)
    }
}

/// An enrolled edge node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeNode {
    /// Node id, also carried in its certificate.
    pub id: String,
    /// Region tag given at enrolment; results are attributed to it.
    pub region: String,
    /// Labels from the node's last hello.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Software version from the node's last hello.
    #[serde(default)]
    pub version: String,
    /// Join token used to enrol.
    pub token_id: String,
    /// Enrolment time, Unix ms.
    pub enrolled_at_ms: i64,
    /// Coordinator holding the node's session, if any.
    #[serde(default)]
    pub session: Option<u64>,
    /// When that session began (the holding coordinator's clock), so a restart of that
    /// coordinator clears only sessions from before it.
    #[serde(default)]
    pub session_since_ms: i64,
    /// Last time the node was heard from (session change or results), Unix ms.
    #[serde(default)]
    pub last_seen_ms: i64,
    /// A revoked node's certificate is refused.
    #[serde(default)]
    pub revoked: bool,
    /// Results from this node stored so far.
    #[serde(default)]
    pub results_stored: u64,
    /// Redelivered results dropped by the sequence check (evidence that dedup works).
    #[serde(default)]
    pub results_duplicate: u64,
}

/// A join token; only the hash of its secret is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinTokenRecord {
    /// Public id (the second part of the token).
    pub id: String,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
    /// Free text shown in listings.
    #[serde(default)]
    pub description: String,
    /// Creation time, Unix ms.
    pub created_at_ms: i64,
    /// Tokens stop working after this time.
    pub expires_at_ms: i64,
    /// Revoked tokens stop working at once.
    #[serde(default)]
    pub revoked: bool,
}

/// Role attached to an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including keys and tokens.
    Admin,
    /// Monitors and results.
    Editor,
    /// Read only.
    Viewer,
}

impl Role {
    /// Whether this role may change configuration.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Admin | Role::Editor)
    }
}

/// An API key; only the hash of its secret is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Public id (the second part of the key).
    pub id: String,
    /// Display name.
    pub name: String,
    /// SHA-256 of the secret, hex. Keys are 160-bit random, so a fast hash is sufficient.
    pub secret_sha256: String,
    /// What the key may do.
    pub role: Role,
    /// Creation time, Unix ms.
    pub created_at_ms: i64,
}

/// One result as stored per monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResult {
    /// Region of the node that measured it.
    pub region: String,
    /// Node that measured it.
    pub node: String,
    /// The node's sequence number.
    pub seq: u64,
    /// Start of the run, Unix ms, on the leader's clock: arrival minus the age the node
    /// reported, so results from nodes with skewed clocks line up (results stored before
    /// clock-safe ages hold the node's clock).
    pub checked_at_ms: i64,
    /// Up, degraded or down.
    pub status: CheckStatus,
    /// Duration of the run, microseconds.
    pub duration_us: u64,
    /// Why it was not up.
    pub error: Option<ProbeError>,
    /// Named measurements.
    pub metrics: Vec<(String, f64)>,
    /// What the probe saw (DNS answers, certificate subject, output excerpt).
    pub detail: Option<String>,
    /// Named facts reported with the result.
    pub facts: Vec<(String, String)>,
}

/// Latest result of a monitor in one region: what the overview shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionLatest {
    /// Region name.
    pub region: String,
    /// Node that measured it.
    pub node: String,
    /// Its status.
    pub status: CheckStatus,
    /// When it was measured, Unix ms.
    pub checked_at_ms: i64,
    /// Duration of the run, microseconds.
    pub duration_us: u64,
    /// Why it was not up.
    pub error: Option<ProbeError>,
}
