//! JSON shapes of channels, incidents, notifications, maintenance windows and the mesh alert.

use serde::Serialize;

use super::views::rfc3339;
use netpulse_engine::alerting::{
    ChannelRecord, DeliveryState, Incident, Maintenance, MaintenanceSchedule, MeshEntry, MeshState,
    Notification, RegionEvidence, RegionSaid,
};

/// A channel; its configuration with secrets masked.
#[derive(Debug, Serialize)]
pub struct ChannelView {
    /// `ch_...`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Channel type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Configuration, secrets replaced by `********`.
    pub config: serde_json::Value,
    /// Monitors with one of these tags are routed here.
    pub route_tags: Vec<String>,
    /// Whether mesh alerts come here.
    pub mesh_alerts: bool,
    /// Created.
    pub created_at: String,
}

/// View of a channel record.
pub fn channel(c: &ChannelRecord) -> ChannelView {
    ChannelView {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: c.kind.clone(),
        config: serde_json::from_str(&c.redacted_config).unwrap_or(serde_json::Value::Null),
        route_tags: c.route_tags.clone(),
        mesh_alerts: c.mesh_alerts,
        created_at: rfc3339(c.created_at_ms),
    }
}

/// An operator update as shown.
#[derive(Debug, Serialize)]
pub struct UpdateView {
    /// When.
    pub at: String,
    /// Who.
    pub author: String,
    /// Text.
    pub message: String,
}

/// An incident as listed.
#[derive(Debug, Serialize)]
pub struct IncidentView {
    /// `inc_<n>`.
    pub id: String,
    /// The monitor, if any.
    pub monitor_id: Option<String>,
    /// `open` or `resolved`.
    pub status: &'static str,
    /// Title.
    pub title: String,
    /// Evidence line.
    pub summary: String,
    /// Opened.
    pub started_at: String,
    /// Resolved.
    pub resolved_at: Option<String>,
    /// Seconds down, once resolved.
    pub downtime_s: Option<u64>,
    /// Per-region evidence when it opened.
    pub regions: Vec<RegionEvidence>,
    /// Created by hand.
    pub manual: bool,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<String>,
    /// Root cause.
    pub root_cause: Option<String>,
    /// Operator updates.
    pub updates: Vec<UpdateView>,
}

/// View of an incident.
pub fn incident(i: &Incident) -> IncidentView {
    IncidentView {
        id: i.id.clone(),
        monitor_id: i.monitor_id.clone(),
        status: i.status.as_str(),
        title: i.title.clone(),
        summary: i.summary.clone(),
        started_at: rfc3339(i.started_at_ms),
        resolved_at: i.resolved_at_ms.map(rfc3339),
        downtime_s: i.downtime_s(),
        regions: i.evidence.clone(),
        manual: i.manual,
        acknowledged_by: i.acknowledged_by.clone(),
        acknowledged_at: i.acknowledged_at_ms.map(rfc3339),
        root_cause: i.root_cause.clone(),
        updates: i
            .updates
            .iter()
            .map(|u| UpdateView {
                at: rfc3339(u.at_ms),
                author: u.author.clone(),
                message: u.message.clone(),
            })
            .collect(),
    }
}

/// One attempt as shown.
#[derive(Debug, Serialize)]
pub struct AttemptView {
    /// When.
    pub at: String,
    /// Sending coordinator.
    pub coordinator: u64,
    /// Error, `null` on success.
    pub error: Option<String>,
}

/// A notification and its delivery log.
#[derive(Debug, Serialize)]
pub struct NotificationView {
    /// The idempotency key.
    pub id: String,
    /// Channel.
    pub channel_id: String,
    /// Event.
    pub event: &'static str,
    /// `pending`, `delivered`, `failed` or `suppressed`.
    pub state: &'static str,
    /// Why it was suppressed.
    pub suppressed_reason: Option<String>,
    /// Next attempt, while pending.
    pub next_attempt_at: Option<String>,
    /// Delivered or given up at.
    pub settled_at: Option<String>,
    /// Summary line.
    pub summary: String,
    /// Decided at.
    pub created_at: String,
    /// Attempts, oldest first.
    pub attempts: Vec<AttemptView>,
}

/// View of a notification.
pub fn notification(n: &Notification) -> NotificationView {
    let (state, reason, next, settled) = match &n.state {
        DeliveryState::Pending { next_attempt_ms } => {
            ("pending", None, Some(rfc3339(*next_attempt_ms)), None)
        }
        DeliveryState::Delivered { at_ms } => ("delivered", None, None, Some(rfc3339(*at_ms))),
        DeliveryState::Failed { at_ms } => ("failed", None, None, Some(rfc3339(*at_ms))),
        DeliveryState::Suppressed { reason } => ("suppressed", Some(reason.clone()), None, None),
    };
    NotificationView {
        id: n.id.clone(),
        channel_id: n.channel_id.clone(),
        event: n.event.as_str(),
        state,
        suppressed_reason: reason,
        next_attempt_at: next,
        settled_at: settled,
        summary: n.summary.clone(),
        created_at: rfc3339(n.created_at_ms),
        attempts: n
            .attempts
            .iter()
            .map(|a| AttemptView {
                at: rfc3339(a.at_ms),
                coordinator: a.coordinator,
                error: a.error.clone(),
            })
            .collect(),
    }
}

/// An incident with its delivery log.
#[derive(Debug, Serialize)]
pub struct IncidentDetail {
    /// The incident.
    #[serde(flatten)]
    pub incident: IncidentView,
    /// Every notification about it.
    pub deliveries: Vec<NotificationView>,
}

/// A maintenance window as shown.
#[derive(Debug, Serialize)]
pub struct MaintenanceView {
    /// `mnt_...`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Covered monitors (empty with empty tags: all).
    pub monitors: Vec<String>,
    /// Covered tags.
    pub tags: Vec<String>,
    /// One-off start.
    pub starts_at: Option<String>,
    /// One-off end.
    pub ends_at: Option<String>,
    /// Recurrence.
    pub weekly: Option<serde_json::Value>,
    /// In force now.
    pub active: bool,
}

/// View of a maintenance window at `now_ms`.
pub fn maintenance(m: &Maintenance, now_ms: i64) -> MaintenanceView {
    let (starts_at, ends_at, weekly) = match &m.schedule {
        MaintenanceSchedule::Once {
            starts_at_ms,
            ends_at_ms,
        } => (
            Some(rfc3339(*starts_at_ms)),
            Some(rfc3339(*ends_at_ms)),
            None,
        ),
        MaintenanceSchedule::Weekly {
            days,
            start_minute,
            duration_min,
        } => (
            None,
            None,
            Some(serde_json::json!({
                "days": days,
                "start": format!("{:02}:{:02}", start_minute / 60, start_minute % 60),
                "duration_min": duration_min,
            })),
        ),
    };
    MaintenanceView {
        id: m.id.clone(),
        title: m.title.clone(),
        monitors: m.monitors.clone(),
        tags: m.tags.clone(),
        starts_at,
        ends_at,
        weekly,
        active: m.schedule.active(now_ms),
    }
}

/// One abstaining region of one monitor.
#[derive(Debug, Serialize)]
pub struct AbstentionView {
    /// Region.
    pub region: String,
    /// Monitor.
    pub monitor_id: String,
    /// Why it abstains: `stale`, `impaired`, `silent` or `pending`.
    pub reason: RegionSaid,
}

/// The mesh alert.
#[derive(Debug, Serialize)]
pub struct MeshView {
    /// Whether some regions cannot vote.
    pub degraded: bool,
    /// Since when (current or last episode).
    pub since: Option<String>,
    /// Which regions cannot vote on which monitors.
    pub abstentions: Vec<AbstentionView>,
}

/// View of the mesh state.
pub fn mesh(state: &MeshState, entries: Vec<MeshEntry>) -> MeshView {
    MeshView {
        degraded: state.open,
        since: (state.episode > 0).then(|| rfc3339(state.since_ms)),
        abstentions: entries
            .into_iter()
            .map(|e| AbstentionView {
                region: e.region,
                monitor_id: e.monitor_id,
                reason: e.reason,
            })
            .collect(),
    }
}
