//! Records of the alerting side of the state: decisions, incidents, channels, notifications,
//! maintenance windows. Stored as JSON (fields can be added with `#[serde(default)]`).

use serde::{Deserialize, Serialize};

use crate::decide::quorum::{Decision, Health, Quorum};

/// How a monitor decides and whom it tells. Flattened into the monitor's API form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertSettings {
    /// Consecutive failures before a region votes down.
    #[serde(default = "default_confirm")]
    pub confirm: u32,
    /// Consecutive successes before a down region votes up.
    #[serde(default = "default_recover")]
    pub recover: u32,
    /// Down votes that make the monitor down.
    #[serde(default)]
    pub quorum: Quorum,
    /// Channels that receive this monitor's alerts (besides channels routed by tag).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Free tags; channels with a matching `route_tags` entry receive the alerts too.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Seconds between reminders while down and unacknowledged (0: never).
    #[serde(default)]
    pub renotify_s: u32,
    /// Extra channels to tell when an incident stays unacknowledged.
    #[serde(default)]
    pub escalation: Vec<EscalationStep>,
    /// Also alert when the monitor becomes degraded (default: only down and up).
    #[serde(default)]
    pub notify_degraded: bool,
    /// Warn this many days before a certificate seen by the probe expires (HTTPS, TLS).
    #[serde(default)]
    pub tls_expiry_warn_days: Option<u32>,
    /// Changes into or out of down within `flap_window_s` beyond which alerts are held back
    /// (0: off).
    #[serde(default = "default_flap_threshold")]
    pub flap_threshold: u32,
    /// The window flap damping counts state changes in.
    #[serde(default = "default_flap_window")]
    pub flap_window_s: u32,
}

fn default_confirm() -> u32 {
    2
}
fn default_recover() -> u32 {
    1
}
fn default_flap_threshold() -> u32 {
    6
}
fn default_flap_window() -> u32 {
    1800
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            confirm: default_confirm(),
            recover: default_recover(),
            quorum: Quorum::Majority,
            channels: Vec::new(),
            tags: Vec::new(),
            renotify_s: 0,
            escalation: Vec::new(),
            notify_degraded: false,
            tls_expiry_warn_days: None,
            flap_threshold: default_flap_threshold(),
            flap_window_s: default_flap_window(),
        }
    }
}

/// Tell more channels when an incident is unacknowledged after `after_s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    /// Seconds after the incident opened.
    pub after_s: u32,
    /// Channels to notify.
    pub channels: Vec<String>,
}

/// A monitor's decided state, kept between results and ticks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorHealth {
    /// Current decision.
    pub decision: Decision,
    /// Since when (leader clock) the health has been what it is.
    pub since_ms: i64,
    /// The open incident, while down.
    pub incident: Option<String>,
    /// Recent changes into or out of down (leader clock), for flap damping.
    #[serde(default)]
    pub changes_ms: Vec<i64>,
    /// The certificate expiry day (Unix day) already warned about.
    #[serde(default)]
    pub tls_warned_day: Option<i64>,
    /// When ticks must re-decide this monitor (a region going stale), as kept in the deadline
    /// index; `None` when only a new result can change the decision.
    #[serde(default)]
    pub deadline_ms: Option<i64>,
}

impl MonitorHealth {
    /// The state of a monitor nobody has decided on yet.
    pub fn unknown(since_ms: i64) -> Self {
        Self {
            decision: Decision {
                health: Health::Unknown,
                down: 0,
                voting: 0,
                regions: 0,
                required: 0,
            },
            since_ms,
            incident: None,
            changes_ms: Vec::new(),
            tls_warned_day: None,
            deadline_ms: None,
        }
    }
}

/// Open or resolved: the alert crate's type, so what is stored and what is sent cannot disagree.
pub use crate::message::IncidentStatus;

/// What one region said about a monitor: a vote, or why it could not vote. Typed rather than a
/// string so every reader handles every case (the dispatcher once missed `pending`); stored and
/// shown as the lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionSaid {
    /// Votes up.
    Up,
    /// Votes up, but slow or partly failing.
    Degraded,
    /// Votes down.
    Down,
    /// Abstains: its last result is too old.
    Stale,
    /// Abstains: its edge node's own health check fails.
    Impaired,
    /// Abstains: no result from it yet.
    Silent,
    /// Abstains: its first results have not settled into a vote yet.
    Pending,
}

impl RegionSaid {
    /// Every value, for parsing and tests.
    pub const ALL: [RegionSaid; 7] = [
        RegionSaid::Up,
        RegionSaid::Degraded,
        RegionSaid::Down,
        RegionSaid::Stale,
        RegionSaid::Impaired,
        RegionSaid::Silent,
        RegionSaid::Pending,
    ];

    /// The lowercase name (the serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            RegionSaid::Up => "up",
            RegionSaid::Degraded => "degraded",
            RegionSaid::Down => "down",
            RegionSaid::Stale => "stale",
            RegionSaid::Impaired => "impaired",
            RegionSaid::Silent => "silent",
            RegionSaid::Pending => "pending",
        }
    }

    /// The value named `s`, if any.
    pub fn parse(s: &str) -> Option<RegionSaid> {
        RegionSaid::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the region saw the target fail (down, or degraded).
    pub fn failing(self) -> bool {
        matches!(self, RegionSaid::Down | RegionSaid::Degraded)
    }

    /// Whether the region could not vote.
    pub fn abstains(self) -> bool {
        !matches!(
            self,
            RegionSaid::Up | RegionSaid::Degraded | RegionSaid::Down
        )
    }
}

impl std::fmt::Display for RegionSaid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one region said when an incident opened or resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionEvidence {
    /// Region tag.
    pub region: String,
    /// Its vote, or why it abstained.
    pub vote: RegionSaid,
    /// The failure the region saw.
    pub detail: Option<String>,
}

/// A monitor and region pair that cannot vote, and why (the mesh table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshEntry {
    /// Region tag.
    pub region: String,
    /// Monitor id.
    pub monitor_id: String,
    /// Why it abstains.
    pub reason: RegionSaid,
}

/// An operator's note on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    /// When, Unix ms.
    pub at_ms: i64,
    /// Who (API key name).
    pub author: String,
    /// Text.
    pub message: String,
    /// Set on public updates (shown on status pages); `None` for internal notes.
    #[serde(default)]
    pub phase: Option<UpdatePhase>,
}

/// The phase a public incident update announces (Statuspage's incident statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdatePhase {
    /// Looking into it.
    Investigating,
    /// The cause is known.
    Identified,
    /// A fix is in; watching.
    Monitoring,
    /// Over.
    Resolved,
}

/// An incident: opened by a down decision or by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `inc_` + sequence number.
    pub id: String,
    /// The monitor, unless created by hand without one.
    pub monitor_id: Option<String>,
    /// Short title.
    pub title: String,
    /// Open or resolved.
    pub status: IncidentStatus,
    /// Opened, Unix ms (leader clock).
    pub started_at_ms: i64,
    /// Resolved, Unix ms.
    pub resolved_at_ms: Option<i64>,
    /// One line of evidence: "3/3 regions failing: ...".
    pub summary: String,
    /// Per-region evidence when it opened.
    pub evidence: Vec<RegionEvidence>,
    /// Created by an operator rather than by a decision.
    pub manual: bool,
    /// Who acknowledged it (stops reminders and escalation).
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at_ms: Option<i64>,
    /// Root cause, set by an operator.
    pub root_cause: Option<String>,
    /// Operator updates, oldest first.
    pub updates: Vec<IncidentUpdate>,
    /// Notifications sent about it, oldest first.
    pub notifications: Vec<String>,
    /// Reminders sent so far.
    pub reminders: u32,
    /// Escalation steps taken so far.
    pub escalations: u32,
    /// Last time channels were told (leader clock).
    pub last_notified_ms: i64,
}

impl Incident {
    /// Seconds between start and resolution.
    pub fn downtime_s(&self) -> Option<u64> {
        self.resolved_at_ms
            .map(|r| (r.saturating_sub(self.started_at_ms).max(0) / 1000) as u64)
    }
}

/// An alert channel. Its configuration is sealed (AES-256-GCM) because it holds credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRecord {
    /// `ch_` + 16 hex chars.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Channel type (`webhook`, `email`, ...).
    pub kind: String,
    /// The configuration JSON, sealed with the cluster secret key.
    pub sealed_config: String,
    /// The configuration with every secret masked, for display, as JSON text (the Raft log's
    /// encoding cannot carry self-describing values).
    pub redacted_config: String,
    /// Monitors carrying one of these tags are routed here.
    #[serde(default)]
    pub route_tags: Vec<String>,
    /// Whether this channel receives mesh alerts (lost vantage points).
    #[serde(default = "yes")]
    pub mesh_alerts: bool,
    /// Created, Unix ms.
    pub created_at_ms: i64,
}

fn yes() -> bool {
    true
}

/// Where a notification is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for (another) attempt at `next_attempt_ms`.
    Pending {
        /// Leader clock.
        next_attempt_ms: i64,
    },
    /// The receiver accepted it.
    Delivered {
        /// When.
        at_ms: i64,
    },
    /// Given up (permanent error or too many attempts).
    Failed {
        /// When.
        at_ms: i64,
    },
    /// Not sent on purpose.
    Suppressed {
        /// `maintenance` or `flapping`.
        reason: String,
    },
}

/// One attempt to deliver, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// When (the sender's clock).
    pub at_ms: i64,
    /// Coordinator that sent it.
    pub coordinator: u64,
    /// `null` on success, the error otherwise.
    pub error: Option<String>,
}

/// A notification to one channel, committed before it is sent. Its id is the idempotency key
/// every attempt carries, whichever coordinator makes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Idempotency key.
    pub id: String,
    /// Target channel.
    pub channel_id: String,
    /// Why it is sent (stored as its public name, `monitor.down`, ...).
    pub event: crate::message::AlertEvent,
    /// Monitor it is about.
    pub monitor_id: Option<String>,
    /// Monitor name and target when it was decided.
    pub monitor_name: Option<String>,
    /// Monitor target.
    pub monitor_target: Option<String>,
    /// Incident it is about.
    pub incident_id: Option<String>,
    /// The incident's start when this was decided, so every attempt says the same.
    #[serde(default)]
    pub incident_started_ms: Option<i64>,
    /// The incident's resolution, for recovery notifications.
    #[serde(default)]
    pub incident_resolved_ms: Option<i64>,
    /// One human line.
    pub summary: String,
    /// Per-region evidence.
    pub regions: Vec<RegionEvidence>,
    /// Decided at, Unix ms (leader clock).
    pub created_at_ms: i64,
    /// Delivery state.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: Vec<DeliveryAttempt>,
}

/// When a maintenance window applies. Externally tagged: it travels in the Raft log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaintenanceSchedule {
    /// Once, between two instants.
    Once {
        /// Start, Unix ms.
        starts_at_ms: i64,
        /// End, Unix ms.
        ends_at_ms: i64,
    },
    /// Every week on the given days, from `start_minute` (UTC minutes after midnight) for
    /// `duration_min` minutes.
    Weekly {
        /// ISO weekdays, 1 = Monday .. 7 = Sunday.
        days: Vec<u8>,
        /// Minutes after midnight UTC.
        start_minute: u32,
        /// Length in minutes.
        duration_min: u32,
    },
}

/// A window in which alerts for some monitors are held back; state is still recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    /// `mnt_` + 16 hex chars.
    pub id: String,
    /// Shown to operators (and on status pages).
    pub title: String,
    /// Monitors it covers; empty with empty `tags` covers every monitor.
    pub monitors: Vec<String>,
    /// Monitors with one of these tags are covered too.
    pub tags: Vec<String>,
    /// When.
    pub schedule: MaintenanceSchedule,
    /// Created, Unix ms.
    pub created_at_ms: i64,
}

/// The cluster-wide mesh alert: some regions cannot vote on some monitors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MeshState {
    /// Episode number of the current (or last) mesh alert.
    pub episode: u64,
    /// Whether an episode is ongoing.
    pub open: bool,
    /// Since when, Unix ms.
    pub since_ms: i64,
    /// Channels told when it opened (told again when it closes).
    pub channels: Vec<String>,
    /// Abstaining region → reason, when it opened.
    pub regions: Vec<RegionEvidence>,
}

/// The number of incident id `inc_<n>`, `None` for anything else.
pub fn incident_number(id: &str) -> Option<u64> {
    id.strip_prefix("inc_").and_then(|n| n.parse::<u64>().ok())
}
