//! What an alert says, independent of the channel that carries it.
//!
//! The coordinator decides *that* something must be told (a monitor went down, an incident
//! resolved, a certificate is about to expire) and builds one [`Alert`]. Every channel renders
//! that same value: the generic webhook sends it verbatim as JSON (so [`Alert`]'s serde form is a
//! public, documented format, see `docs/alerts.md`), chat channels turn it into cards, e-mail and
//! SMS into text through [`Alert::text`].
//!
//! Times are RFC 3339 strings in UTC (built with [`rfc3339`]) rather than numbers, because the
//! webhook consumers are scripts and other tools that should not have to guess the epoch unit.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Why an alert is sent. The string form ([`AlertEvent::as_str`]) is part of the webhook format
/// (`event` field and `X-NetPulse-Event` header), so it never changes for an existing variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlertEvent {
    /// A monitor's incident opened: enough regions agree it is down.
    #[serde(rename = "monitor.down")]
    MonitorDown,
    /// A monitor answers but outside its thresholds (slow, some regions failing).
    #[serde(rename = "monitor.degraded")]
    MonitorDegraded,
    /// A monitor's incident resolved.
    #[serde(rename = "monitor.up")]
    MonitorUp,
    /// Reminder: the incident is still open.
    #[serde(rename = "monitor.still_down")]
    MonitorStillDown,
    /// The incident was not acknowledged in time and goes to the next escalation step.
    #[serde(rename = "monitor.escalation")]
    Escalation,
    /// A monitored TLS certificate expires soon.
    #[serde(rename = "tls.expiring")]
    TlsExpiring,
    /// The measuring mesh itself is impaired (nodes or regions lost), so verdicts are weaker.
    #[serde(rename = "mesh.degraded")]
    MeshDegraded,
    /// The measuring mesh is whole again.
    #[serde(rename = "mesh.recovered")]
    MeshRecovered,
    /// Sent by an operator to check that a channel works.
    #[serde(rename = "test")]
    Test,
}

impl AlertEvent {
    /// Every event, in documentation order.
    pub const ALL: &'static [AlertEvent] = &[
        AlertEvent::MonitorDown,
        AlertEvent::MonitorDegraded,
        AlertEvent::MonitorUp,
        AlertEvent::MonitorStillDown,
        AlertEvent::Escalation,
        AlertEvent::TlsExpiring,
        AlertEvent::MeshDegraded,
        AlertEvent::MeshRecovered,
        AlertEvent::Test,
    ];

    /// The stable wire name, e.g. `monitor.down`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertEvent::MonitorDown => "monitor.down",
            AlertEvent::MonitorDegraded => "monitor.degraded",
            AlertEvent::MonitorUp => "monitor.up",
            AlertEvent::MonitorStillDown => "monitor.still_down",
            AlertEvent::Escalation => "monitor.escalation",
            AlertEvent::TlsExpiring => "tls.expiring",
            AlertEvent::MeshDegraded => "mesh.degraded",
            AlertEvent::MeshRecovered => "mesh.recovered",
            AlertEvent::Test => "test",
        }
    }

    /// Parses a wire name back (for stored alerts and API filters).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.as_str() == s)
    }

    /// True for events that end a problem. Incident-tracking channels (PagerDuty, Opsgenie)
    /// close the alert they opened instead of opening a new one.
    pub fn is_resolution(&self) -> bool {
        matches!(self, AlertEvent::MonitorUp | AlertEvent::MeshRecovered)
    }

    /// A short upper-case label for titles and subject-like places ("DOWN", "RESOLVED").
    pub fn label(&self) -> &'static str {
        match self {
            AlertEvent::MonitorDown => "DOWN",
            AlertEvent::MonitorDegraded => "DEGRADED",
            AlertEvent::MonitorUp => "RESOLVED",
            AlertEvent::MonitorStillDown => "STILL DOWN",
            AlertEvent::Escalation => "ESCALATION",
            AlertEvent::TlsExpiring => "TLS EXPIRING",
            AlertEvent::MeshDegraded => "MESH DEGRADED",
            AlertEvent::MeshRecovered => "MESH RECOVERED",
            AlertEvent::Test => "TEST",
        }
    }

    /// How bad this is, for channels that colour or rank messages.
    pub fn severity(&self) -> Severity {
        match self {
            AlertEvent::MonitorDown | AlertEvent::MonitorStillDown | AlertEvent::Escalation => {
                Severity::Critical
            }
            AlertEvent::MonitorDegraded | AlertEvent::TlsExpiring | AlertEvent::MeshDegraded => {
                Severity::Warning
            }
            AlertEvent::MonitorUp | AlertEvent::MeshRecovered => Severity::Ok,
            AlertEvent::Test => Severity::Info,
        }
    }
}

impl std::fmt::Display for AlertEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Coarse severity of an event; channels map it to colours or priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something is down.
    Critical,
    /// Something is impaired or will break soon.
    Warning,
    /// A problem ended.
    Ok,
    /// Informational (test messages).
    Info,
}

impl Severity {
    /// An RGB colour (0xRRGGBB) for cards and embeds.
    pub fn color(&self) -> u32 {
        match self {
            Severity::Critical => 0xD7_26_3D,
            Severity::Warning => 0xF2_A1_00,
            Severity::Ok => 0x2E_B8_6E,
            Severity::Info => 0x3B_82_F6,
        }
    }
}

/// The monitor an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMonitor {
    /// The monitor's id in the NetPulse API.
    pub id: String,
    /// The operator-given name.
    pub name: String,
    /// What is checked: URL, host, host:port.
    pub target: String,
}

/// Whether an incident is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// Still going on.
    Open,
    /// Ended.
    Resolved,
}

impl IncidentStatus {
    /// The name used on the wire and in the API: `open` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Resolved => "resolved",
        }
    }
}

/// The incident an alert belongs to. Its `id` is the stable handle that lets receivers (and
/// PagerDuty/Opsgenie through their dedup key or alias) tie the down, reminder and up messages
/// of one outage together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertIncident {
    /// Stable incident id.
    pub id: String,
    /// `open` or `resolved`.
    pub status: IncidentStatus,
    /// When the incident opened (RFC 3339, UTC).
    pub started_at: String,
    /// When it resolved (RFC 3339, UTC), if it has.
    pub resolved_at: Option<String>,
    /// Seconds between start and resolution (or until now for reminders), if known.
    pub downtime_s: Option<u64>,
    /// Whether an operator acknowledged it.
    pub acknowledged: bool,
}

/// How a region voted in the verdict that triggered the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegionVote {
    /// The region's checks succeeded.
    Up,
    /// The region's checks failed.
    Down,
    /// The region did not vote (its node was impaired or silent).
    Abstain,
}

impl RegionVote {
    /// The wire name (`up`, `down`, `abstain`).
    pub fn as_str(&self) -> &'static str {
        match self {
            RegionVote::Up => "up",
            RegionVote::Down => "down",
            RegionVote::Abstain => "abstain",
        }
    }
}

/// One region's part in the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRegion {
    /// Region name, e.g. `eu-west`.
    pub region: String,
    /// The region's vote.
    pub vote: RegionVote,
    /// What the region saw, e.g. `connect timeout` or `HTTP 503`.
    pub detail: Option<String>,
}

/// One alert, as every channel receives it.
///
/// This struct's JSON form *is* the generic webhook body, so its field names and their meaning
/// are a public format (documented in `docs/alerts.md`). Absent optional values are sent as
/// `null`, never omitted, so receivers see a fixed shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Why it is sent.
    pub event: AlertEvent,
    /// Unique per logical notification; a retried delivery carries the same key so receivers
    /// can drop duplicates (webhook `Idempotency-Key`, e-mail `Message-ID`).
    pub idempotency_key: String,
    /// One human-readable line.
    pub summary: String,
    /// The monitor, for monitor events.
    pub monitor: Option<AlertMonitor>,
    /// The incident, for incident events.
    pub incident: Option<AlertIncident>,
    /// How each region voted (may be empty).
    pub regions: Vec<AlertRegion>,
    /// When the alert was raised (RFC 3339, UTC).
    pub timestamp: String,
}

impl Alert {
    /// An alert without monitor, incident or regions; add them with the `with_*` methods.
    /// `at_ms` is milliseconds since the Unix epoch (the coordinator passes its decision time;
    /// this crate never reads the clock).
    pub fn new(
        event: AlertEvent,
        idempotency_key: impl Into<String>,
        summary: impl Into<String>,
        at_ms: i64,
    ) -> Self {
        Self {
            event,
            idempotency_key: idempotency_key.into(),
            summary: summary.into(),
            monitor: None,
            incident: None,
            regions: Vec::new(),
            timestamp: rfc3339(at_ms),
        }
    }

    /// The message behind a "send test" button.
    pub fn test(idempotency_key: impl Into<String>, at_ms: i64) -> Self {
        Self::new(
            AlertEvent::Test,
            idempotency_key,
            "NetPulse test alert: this channel works",
            at_ms,
        )
    }

    /// Sets the monitor.
    pub fn with_monitor(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        self.monitor = Some(AlertMonitor {
            id: id.into(),
            name: name.into(),
            target: target.into(),
        });
        self
    }

    /// Sets the incident. Times are milliseconds since the epoch; `resolved_at_ms` also makes
    /// the status `resolved` and, with the start, gives `downtime_s`.
    pub fn with_incident(
        mut self,
        id: impl Into<String>,
        started_at_ms: i64,
        resolved_at_ms: Option<i64>,
        acknowledged: bool,
    ) -> Self {
        let downtime_s =
            resolved_at_ms.map(|end| (end.saturating_sub(started_at_ms).max(0) / 1000) as u64);
        self.incident = Some(AlertIncident {
            id: id.into(),
            status: if resolved_at_ms.is_some() {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Open
            },
            started_at: rfc3339(started_at_ms),
            resolved_at: resolved_at_ms.map(rfc3339),
            downtime_s,
            acknowledged,
        });
        self
    }

    /// Adds one region's vote.
    pub fn with_region(
        mut self,
        region: impl Into<String>,
        vote: RegionVote,
        detail: Option<String>,
    ) -> Self {
        self.regions.push(AlertRegion {
            region: region.into(),
            vote,
            detail,
        });
        self
    }

    /// The key that ties this alert to the thing it is about: the incident id when there is one,
    /// otherwise the idempotency key. PagerDuty uses it as `dedup_key`, Opsgenie as `alias`.
    pub fn correlation_key(&self) -> &str {
        self.incident
            .as_ref()
            .map(|i| i.id.as_str())
            .filter(|id| !id.is_empty())
            .unwrap_or(&self.idempotency_key)
    }

    /// A short title: label plus monitor name, e.g. `DOWN: API`.
    pub fn title(&self) -> String {
        match &self.monitor {
            Some(m) => format!("{}: {}", self.event.label(), m.name),
            None => self.event.label().to_string(),
        }
    }

    /// One line per region, e.g. `eu-west: down (connect timeout)`.
    pub fn region_lines(&self) -> Vec<String> {
        self.regions
            .iter()
            .map(|r| match &r.detail {
                Some(d) if !d.is_empty() => format!("{}: {} ({d})", r.region, r.vote.as_str()),
                _ => format!("{}: {}", r.region, r.vote.as_str()),
            })
            .collect()
    }

    /// The full plain-text rendering used by e-mail and as the body of chat cards: summary,
    /// monitor, incident, regions, time. Lines are short and ASCII apart from user-given names.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.summary);
        let _ = writeln!(out);
        let _ = writeln!(out, "Event: {}", self.event.as_str());
        if let Some(m) = &self.monitor {
            let _ = writeln!(out, "Monitor: {} ({})", m.name, m.id);
            let _ = writeln!(out, "Target: {}", m.target);
        }
        if let Some(i) = &self.incident {
            let _ = writeln!(out, "Incident: {} ({})", i.id, i.status.as_str());
            let _ = writeln!(out, "Started: {}", i.started_at);
            if let Some(r) = &i.resolved_at {
                let _ = writeln!(out, "Resolved: {r}");
            }
            if let Some(d) = i.downtime_s {
                let _ = writeln!(out, "Downtime: {}", human_duration(d));
            }
            let _ = writeln!(
                out,
                "Acknowledged: {}",
                if i.acknowledged { "yes" } else { "no" }
            );
        }
        if !self.regions.is_empty() {
            let _ = writeln!(out, "Regions:");
            for line in self.region_lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        let _ = writeln!(out, "Time: {}", self.timestamp);
        out
    }
}

/// Formats milliseconds since the Unix epoch as RFC 3339 in UTC with millisecond precision,
/// e.g. `2026-11-23T01:48:34.120Z`. Values outside the representable range (years before 1
/// or after 9999) are clamped to it rather than failing: a time stamp in an alert should never
/// stop the alert.
pub fn rfc3339(ms: i64) -> String {
    const FORMAT: &[FormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
    const MIN_MS: i64 = -62_135_596_800_000;
    const MAX_MS: i64 = 253_402_300_799_999;
    let ms = ms.clamp(MIN_MS, MAX_MS);
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_string())
}

/// `3725` -> `1h 2m 5s`.
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_match_serde() {
        for e in AlertEvent::ALL {
            let json = serde_json::to_value(e).unwrap();
            assert_eq!(json, serde_json::Value::String(e.as_str().into()));
            assert_eq!(AlertEvent::parse(e.as_str()), Some(*e));
            let back: AlertEvent = serde_json::from_value(json).unwrap();
            assert_eq!(back, *e);
        }
        let resolutions: Vec<_> = AlertEvent::ALL
            .iter()
            .filter(|e| e.is_resolution())
            .collect();
        assert_eq!(
            resolutions,
            [&AlertEvent::MonitorUp, &AlertEvent::MeshRecovered]
        );
    }

    #[test]
    fn rfc3339_formats_and_clamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_398_514_120), "2026-11-23T01:48:34.120Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(i64::MIN), "0001-01-01T00:00:00.000Z");
    }

    #[test]
    fn json_shape_is_the_documented_format() {
        let alert = Alert::new(AlertEvent::MonitorUp, "k1", "api is UP", 1_795_398_514_120)
            .with_monitor("m1", "API", "https://api.example.com")
            .with_incident("i1", 1_795_398_214_120, Some(1_795_398_514_120), true)
            .with_region("eu-west", RegionVote::Up, None);
        let v = serde_json::to_value(&alert).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "event": "monitor.up",
                "idempotency_key": "k1",
                "summary": "api is UP",
                "monitor": {"id": "m1", "name": "API", "target": "https://api.example.com"},
                "incident": {
                    "id": "i1", "status": "resolved",
                    "started_at": "2026-11-23T01:43:34.120Z",
                    "resolved_at": "2026-11-23T01:48:34.120Z",
                    "downtime_s": 300, "acknowledged": true
                },
                "regions": [{"region": "eu-west", "vote": "up", "detail": null}],
                "timestamp": "2026-11-23T01:48:34.120Z"
            })
        );
        let back: Alert = serde_json::from_value(v).unwrap();
        assert_eq!(back, alert);

        let bare = serde_json::to_value(Alert::test("k2", 0)).unwrap();
        assert_eq!(bare["monitor"], serde_json::Value::Null);
        assert_eq!(bare["incident"], serde_json::Value::Null);
        assert_eq!(bare["regions"], serde_json::json!([]));
    }

    #[test]
    fn correlation_key_prefers_incident() {
        let a = Alert::new(AlertEvent::MonitorDown, "key", "s", 0);
        assert_eq!(a.correlation_key(), "key");
        let a = a.with_incident("inc", 0, None, false);
        assert_eq!(a.correlation_key(), "inc");
    }

    #[test]
    fn text_lists_details() {
        let a = Alert::new(AlertEvent::MonitorDown, "k", "api is DOWN", 0)
            .with_monitor("m1", "API", "https://api.example.com")
            .with_incident("i1", 0, None, false)
            .with_region("eu-west", RegionVote::Down, Some("connect timeout".into()))
            .with_region("us-east", RegionVote::Abstain, None);
        let t = a.text();
        assert!(t.starts_with("api is DOWN\n"));
        assert!(t.contains("Target: https://api.example.com\n"));
        assert!(t.contains("Incident: i1 (open)\n"));
        assert!(t.contains("  eu-west: down (connect timeout)\n"));
        assert!(t.contains("  us-east: abstain\n"));
        assert_eq!(a.title(), "DOWN: API");
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(3725), "1h 2m 5s");
        assert_eq!(human_duration(86_400 + 60), "1d 1m");
    }
}
