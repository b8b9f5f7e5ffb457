//! JSON shapes of API responses, built from state records. The web UI renders the same views.

use std::collections::BTreeMap;

use netpulse_protocol::check::ProbeSpec;
use serde::Serialize;

use crate::store::StateStore;
use netpulse_engine::alerting::{AlertSettings, MonitorHealth};
use netpulse_engine::ingest::{NodeIngestStats, CLOCK_OFFSET_WARN_MS};
use netpulse_engine::model::{EdgeNode, Monitor, RegionLatest, StoredResult, ALL_REGIONS};
use netpulse_engine::state::StateError;

/// Unix ms as RFC 3339 (UTC, millisecond precision); one formatter for the API, the UI and
/// alert payloads.
pub use netpulse_alert::message::rfc3339;

/// Parses RFC 3339 or integer Unix milliseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A probe error as shown to operators.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// Machine-readable class (`dns`, `refused`, `timeout`, ...).
    pub class: &'static str,
    /// Human-readable detail.
    pub message: String,
}

/// Status of a monitor in one region.
#[derive(Debug, Clone, Serialize)]
pub struct RegionView {
    /// Region name.
    pub region: String,
    /// `up`, `degraded`, `down` or `unknown` (no result yet).
    pub status: &'static str,
    /// Time of the latest result.
    pub last_checked_at: Option<String>,
    /// Duration of the latest run.
    pub latency_ms: Option<f64>,
    /// Node that measured it.
    pub node: Option<String>,
    /// Why it was not up.
    pub error: Option<ErrorView>,
    /// No result for longer than 2 x interval + timeout.
    pub stale: bool,
}

/// A monitor with its current status.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorView {
    /// Monitor id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Probe kind.
    pub kind: &'static str,
    /// Target as configured.
    pub target: String,
    /// Seconds between runs.
    pub interval_s: u32,
    /// Seconds before a run times out.
    pub timeout_s: u32,
    /// Whether it is paused.
    pub paused: bool,
    /// Status decided by quorum across regions: `up`, `degraded`, `down`, `unknown` (too few
    /// regions can vote) or `paused`.
    pub status: &'static str,
    /// The numbers behind `status`.
    pub decision: Option<DecisionView>,
    /// Quorum, confirmation and alert routing.
    #[serde(flatten)]
    pub alerting: AlertingView,
    /// Configured region names.
    pub region_names: Vec<String>,
    /// Status per region.
    pub regions: Vec<RegionView>,
    /// Kind-specific settings (secrets redacted).
    #[serde(flatten)]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Revision (log index of the last change).
    pub revision: u64,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// How a monitor's status was decided.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    /// Regions voting down.
    pub down: usize,
    /// Regions voting at all (not stale, not impaired).
    pub voting: usize,
    /// Regions the monitor runs in.
    pub regions: usize,
    /// Down votes needed for `down`.
    pub required: usize,
    /// Since when the status has held.
    pub since: String,
    /// The open incident, while down.
    pub incident_id: Option<String>,
}

/// The alerting settings of a monitor, in its API field names.
#[derive(Debug, Clone, Serialize)]
pub struct AlertingView {
    /// Consecutive failures before a region votes down.
    pub confirm: u32,
    /// Consecutive successes before it votes up again.
    pub recover: u32,
    /// `"majority"`, a count, or `"60%"`.
    pub quorum: netpulse_engine::decide::quorum::Quorum,
    /// Channels told about this monitor.
    pub alert_channels: Vec<String>,
    /// Tags (routing, maintenance).
    pub tags: Vec<String>,
    /// Seconds between reminders while down (0: off).
    pub renotify_s: u32,
    /// Escalation steps.
    pub escalation: Vec<netpulse_engine::alerting::EscalationStep>,
    /// Whether degraded is alerted too.
    pub notify_degraded: bool,
    /// Certificate expiry warning threshold.
    pub tls_expiry_warn_days: Option<u32>,
    /// Flap damping threshold (0: off).
    pub flap_threshold: u32,
    /// Flap damping window.
    pub flap_window_s: u32,
}

impl AlertingView {
    /// The view of `a`.
    pub fn of(a: &AlertSettings) -> Self {
        Self {
            confirm: a.confirm,
            recover: a.recover,
            quorum: a.quorum,
            alert_channels: a.channels.clone(),
            tags: a.tags.clone(),
            renotify_s: a.renotify_s,
            escalation: a.escalation.clone(),
            notify_degraded: a.notify_degraded,
            tls_expiry_warn_days: a.tls_expiry_warn_days,
            flap_threshold: a.flap_threshold,
            flap_window_s: a.flap_window_s,
        }
    }
}

impl MonitorView {
    /// Builds the view of `m` from its latest results and decided health, judging staleness
    /// at `now_ms`.
    pub fn build(
        m: &Monitor,
        latest: &[RegionLatest],
        health: Option<&MonitorHealth>,
        now_ms: i64,
    ) -> Self {
        let stale_after = 2 * i64::from(m.interval_s) * 1000 + i64::from(m.timeout_s) * 1000;
        let mut names: Vec<String> = m
            .regions
            .iter()
            .filter(|r| *r != ALL_REGIONS)
            .cloned()
            .collect();
        if m.regions.iter().any(|r| r == ALL_REGIONS) {
            names.extend(latest.iter().map(|l| l.region.clone()));
            names.sort();
            names.dedup();
        }
        let regions = names
            .iter()
            .map(|name| match latest.iter().find(|l| &l.region == name) {
                Some(l) => RegionView {
                    region: name.clone(),
                    status: l.status.as_str(),
                    last_checked_at: Some(rfc3339(l.checked_at_ms)),
                    latency_ms: Some(l.duration_us as f64 / 1000.0),
                    node: Some(l.node.clone()),
                    error: l.error.as_ref().map(|e| ErrorView {
                        class: e.class.as_str(),
                        message: e.message.clone(),
                    }),
                    stale: now_ms - l.checked_at_ms > stale_after,
                },
                None => RegionView {
                    region: name.clone(),
                    status: "unknown",
                    last_checked_at: None,
                    latency_ms: None,
                    node: None,
                    error: None,
                    stale: false,
                },
            })
            .collect();
        let status = match (m.paused, health) {
            (true, _) => "paused",
            (false, Some(h)) => h.decision.health.as_str(),
            (false, None) => "unknown",
        };
        Self {
            id: m.id.clone(),
            name: m.name.clone(),
            kind: m.probe.kind(),
            target: m.target.clone(),
            interval_s: m.interval_s,
            timeout_s: m.timeout_s,
            paused: m.paused,
            status,
            decision: health.map(|h| DecisionView {
                down: h.decision.down,
                voting: h.decision.voting,
                regions: h.decision.regions,
                required: h.decision.required,
                since: rfc3339(h.since_ms),
                incident_id: h.incident.clone(),
            }),
            alerting: AlertingView::of(&m.alerting),
            region_names: m.regions.clone(),
            regions,
            settings: settings(&m.probe),
            revision: m.revision,
            created_at: rfc3339(m.created_at_ms),
            updated_at: rfc3339(m.updated_at_ms),
        }
    }
}

/// Value shown in place of a secret.
pub const REDACTED: &str = "<redacted>";

fn settings(p: &ProbeSpec) -> BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let mut s = BTreeMap::new();
    match p {
        ProbeSpec::Http(h) => {
            s.insert("method".into(), json!(h.method));
            // Header values often carry credentials: names only.
            let headers: BTreeMap<&str, &str> = h
                .headers
                .iter()
                .map(|(k, _)| (k.as_str(), REDACTED))
                .collect();
            s.insert("headers".into(), json!(headers));
            s.insert("body".into(), json!(h.body.as_ref().map(|_| REDACTED)));
            let expect: Vec<String> = h.expect_status.iter().map(|m| m.to_string()).collect();
            s.insert("expect_status".into(), json!(expect));
            s.insert("body_contains".into(), json!(h.body_contains));
            s.insert("body_regex".into(), json!(h.body_regex));
            s.insert("json_path".into(), json!(h.json_path));
            let equals = h
                .json_equals
                .as_deref()
                .map(|t| serde_json::from_str::<serde_json::Value>(t).unwrap_or_else(|_| json!(t)));
            s.insert("json_equals".into(), json!(equals));
            s.insert("json_contains".into(), json!(h.json_contains));
            // CA certificates are public; returning them lets operators see what is trusted.
            s.insert("ca_pem".into(), json!(h.ca_pem));
            s.insert("follow_redirects".into(), json!(h.follow_redirects));
            s.insert("insecure_skip_verify".into(), json!(h.insecure_skip_verify));
        }
        ProbeSpec::Tcp(t) => {
            s.insert("send".into(), json!(t.send));
            s.insert("expect_regex".into(), json!(t.expect_regex));
        }
        ProbeSpec::Dns(d) => {
            s.insert("record_type".into(), json!(d.record_type.as_str()));
            s.insert(
                "nameserver".into(),
                json!(d.nameserver.as_ref().map(|n| n.to_string())),
            );
            s.insert("expect".into(), json!(d.expect));
            s.insert(
                "expect_rcode".into(),
                json!(netpulse_protocol::check::rcode_text(d.expect_rcode)),
            );
        }
        ProbeSpec::Tls(t) => {
            s.insert("server_name".into(), json!(t.server_name));
            s.insert("warn_days".into(), json!(t.warn_days));
            s.insert("critical_days".into(), json!(t.critical_days));
            // Trust anchors are public certificates, not secrets: shown so a monitor can be
            // read back and applied again unchanged.
            s.insert("ca_pem".into(), json!(t.ca_pem));
            s.insert("min_version".into(), json!(t.min_version.as_str()));
        }
        ProbeSpec::Icmp(i) => {
            s.insert("count".into(), json!(i.count));
            s.insert("packet_size".into(), json!(i.packet_size));
        }
        ProbeSpec::Ssh(h) => {
            use netpulse_protocol::check::SshAuth;
            s.insert("username".into(), json!(h.username));
            // Every credential is a secret: which method, never its value.
            match &h.auth {
                SshAuth::Password(_) => {
                    s.insert("password".into(), json!(REDACTED));
                }
                SshAuth::PrivateKey { passphrase, .. } => {
                    s.insert("private_key".into(), json!(REDACTED));
                    s.insert(
                        "private_key_passphrase".into(),
                        json!(passphrase.as_ref().map(|_| REDACTED)),
                    );
                }
                SshAuth::KeyboardInteractive(_) => {
                    s.insert("keyboard_interactive_password".into(), json!(REDACTED));
                }
            }
            s.insert("host_key_fingerprint".into(), json!(h.host_key_fingerprint));
            s.insert("command".into(), json!(h.command));
            s.insert("expect_regex".into(), json!(h.expect_regex));
            let extract: BTreeMap<&str, &str> = h
                .extract
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            s.insert("extract".into(), json!(extract));
            s.insert("legacy_algorithms".into(), json!(h.legacy_algorithms));
        }
        ProbeSpec::Snmp(n) => {
            use netpulse_protocol::check::SnmpVersion;
            s.insert("version".into(), json!(n.version.as_str()));
            // Community and USM passwords are secrets: whether set, never their value.
            match &n.version {
                SnmpVersion::V2c { .. } => {
                    s.insert("community".into(), json!(REDACTED));
                }
                SnmpVersion::V3 {
                    user,
                    auth,
                    privacy,
                } => {
                    s.insert("user".into(), json!(user));
                    s.insert(
                        "auth_protocol".into(),
                        json!(auth.as_ref().map(|(p, _)| p.as_str())),
                    );
                    s.insert(
                        "auth_password".into(),
                        json!(auth.as_ref().map(|_| REDACTED)),
                    );
                    s.insert(
                        "priv_protocol".into(),
                        json!(privacy.as_ref().map(|(p, _)| p.as_str())),
                    );
                    s.insert(
                        "priv_password".into(),
                        json!(privacy.as_ref().map(|_| REDACTED)),
                    );
                }
            }
            s.insert("oids".into(), json!(n.oids));
            s.insert("walk".into(), json!(n.walk));
            let thresholds: Vec<serde_json::Value> = n
                .thresholds
                .iter()
                .map(|t| {
                    json!({
                        "oid": t.oid,
                        "op": t.op.as_str(),
                        "value": t.value,
                        "severity": t.severity.as_str(),
                    })
                })
                .collect();
            s.insert("thresholds".into(), json!(thresholds));
            s.insert("rates".into(), json!(n.rates));
        }
    }
    s
}

/// One stored result.
#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    /// Region of the node.
    pub region: String,
    /// Node id.
    pub node: String,
    /// `up`, `degraded` or `down`.
    pub status: &'static str,
    /// Start of the run.
    pub checked_at: String,
    /// Duration of the run.
    pub latency_ms: f64,
    /// Why it was not up.
    pub error: Option<ErrorView>,
    /// Named measurements.
    pub metrics: BTreeMap<String, f64>,
    /// The node's sequence number (unique per node).
    pub seq: u64,
    /// What the probe saw (DNS answers, certificate subject, output excerpt).
    pub detail: Option<String>,
    /// Named facts reported with the result (e.g. `ssh_host_key`).
    pub facts: BTreeMap<String, String>,
    /// What the node left out to keep the result within the protocol limits (e.g.
    /// `metrics: kept 4096 of 10000`); `null` when nothing was.
    pub truncated: Option<String>,
}

impl From<&StoredResult> for ResultView {
    fn from(r: &StoredResult) -> Self {
        Self {
            region: r.region.clone(),
            node: r.node.clone(),
            status: r.status.as_str(),
            checked_at: rfc3339(r.checked_at_ms),
            latency_ms: r.duration_us as f64 / 1000.0,
            error: r.error.as_ref().map(|e| ErrorView {
                class: e.class.as_str(),
                message: e.message.clone(),
            }),
            metrics: r.metrics.iter().cloned().collect(),
            seq: r.seq,
            detail: r.detail.clone(),
            facts: r.facts.iter().cloned().collect(),
            truncated: r
                .facts
                .iter()
                .find(|(k, _)| k == netpulse_protocol::limits::TRUNCATED_FACT)
                .map(|(_, v)| v.clone()),
        }
    }
}

/// An edge node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    /// Node id.
    pub id: String,
    /// Region tag.
    pub region: String,
    /// Whether a coordinator holds a session with it.
    pub connected: bool,
    /// Last time it was heard from.
    pub last_seen: Option<String>,
    /// Software version.
    pub version: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Enrolment time.
    pub enrolled_at: String,
    /// Revoked nodes are refused.
    pub revoked: bool,
    /// Results stored from this node.
    pub results_stored: u64,
    /// Redelivered results dropped as duplicates.
    pub results_duplicate: u64,
    /// Results refused at the door (they broke a protocol limit) and dropped.
    pub results_rejected: u64,
    /// The most recent refusal, with its reason.
    pub last_rejection: Option<RejectionView>,
    /// The node's clock minus the leader's, ms, from its newest batch; `null` before one.
    pub clock_offset_ms: Option<i64>,
    /// The offset is beyond what a synchronised clock shows (NTP broken or absent).
    /// Decisions do not depend on it; timestamps in the node's own logs do.
    pub clock_warning: bool,
}

/// A result the coordinators refused.
#[derive(Debug, Clone, Serialize)]
pub struct RejectionView {
    /// The node's sequence number of the result.
    pub seq: u64,
    /// Its monitor.
    pub monitor_id: String,
    /// The limit it broke, with the numbers.
    pub reason: String,
    /// When.
    pub at: String,
}

impl NodeView {
    /// Every node, ordered by id, as the API and the UI show them.
    pub fn all(store: &StateStore) -> Result<Vec<NodeView>, StateError> {
        store
            .nodes()?
            .iter()
            .map(|n| Ok(NodeView::new(n, &store.node_ingest(&n.id)?)))
            .collect()
    }

    /// A node with what the coordinators know of its deliveries.
    pub fn new(n: &EdgeNode, ingest: &NodeIngestStats) -> Self {
        Self {
            id: n.id.clone(),
            region: n.region.clone(),
            connected: n.session.is_some(),
            last_seen: (n.last_seen_ms > 0).then(|| rfc3339(n.last_seen_ms)),
            version: n.version.clone(),
            labels: n.labels.clone(),
            enrolled_at: rfc3339(n.enrolled_at_ms),
            revoked: n.revoked,
            results_stored: n.results_stored,
            results_duplicate: n.results_duplicate,
            results_rejected: ingest.results_rejected,
            last_rejection: ingest.last_rejection.as_ref().map(|r| RejectionView {
                seq: r.seq,
                monitor_id: r.monitor_id.clone(),
                reason: r.reason.clone(),
                at: rfc3339(r.at_ms),
            }),
            clock_offset_ms: ingest.clock_offset_ms,
            clock_warning: ingest
                .clock_offset_ms
                .is_some_and(|o| o.abs() > CLOCK_OFFSET_WARN_MS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trip() {
        let ms = 1_700_000_000_123;
        let s = rfc3339(ms);
        assert_eq!(s, "2023-11-14T22:13:20.123Z");
        assert_eq!(parse_time(&s), Some(ms));
        assert_eq!(parse_time("12345"), Some(12345));
        assert_eq!(parse_time("yesterday"), None);
    }
}

#[cfg(test)]
mod snmp_tests {
    use super::*;
    use netpulse_protocol::check::{
        SnmpAuthProtocol, SnmpPrivProtocol, SnmpSpec, SnmpThreshold, SnmpVersion, ThresholdOp,
        ThresholdSeverity,
    };

    #[test]
    fn snmp_settings_redact_secrets() {
        let mut spec = SnmpSpec {
            host: "192.0.2.1".into(),
            port: 161,
            version: SnmpVersion::V2c {
                community: "c0mmunity-secret".into(),
            },
            oids: vec!["1.3.6.1.2.1.1.5.0".into()],
            walk: vec!["1.3.6.1.2.1.2".into()],
            thresholds: vec![SnmpThreshold {
                oid: "1.3.6.1.2.1.1.5.0".into(),
                op: ThresholdOp::Gt,
                value: 5.0,
                severity: ThresholdSeverity::Degraded,
            }],
            rates: vec!["1.3.6.1.2.1.2.2.1.10.1".into()],
        };
        let s = settings(&ProbeSpec::Snmp(spec.clone()));
        let text = serde_json::to_string(&s).expect("json");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(s["community"], REDACTED);
        assert_eq!(s["version"], "v2c");
        assert_eq!(s["thresholds"][0]["op"], ">");
        spec.version = SnmpVersion::V3 {
            user: "monitor".into(),
            auth: Some((SnmpAuthProtocol::Sha256, "auth-secret".into())),
            privacy: Some((SnmpPrivProtocol::Aes, "priv-secret".into())),
        };
        let s = settings(&ProbeSpec::Snmp(spec));
        let text = serde_json::to_string(&s).expect("json");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(s["user"], "monitor");
        assert_eq!(s["auth_protocol"], "sha256");
        assert_eq!(s["auth_password"], REDACTED);
        assert_eq!(s["priv_protocol"], "aes");
        assert_eq!(s["priv_password"], REDACTED);
    }
}

#[cfg(test)]
mod ssh_tests {
    use super::*;
    use netpulse_protocol::check::{SshAuth, SshSpec};

    #[test]
    fn ssh_settings_redact_secrets() {
        let mut spec = SshSpec {
            host: "192.0.2.1".into(),
            port: 22,
            username: "ops".into(),
            auth: SshAuth::Password("pw-secret".into()),
            host_key_fingerprint: Some("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU".into()),
            command: Some("uptime".into()),
            expect_regex: Some("load".into()),
            extract: vec![("load1".into(), "load average: ([0-9.]+)".into())],
            legacy_algorithms: true,
        };
        let s = settings(&ProbeSpec::Ssh(spec.clone()));
        let text = serde_json::to_string(&s).expect("json");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(s["password"], REDACTED);
        assert_eq!(s["username"], "ops");
        assert_eq!(s["command"], "uptime");
        assert_eq!(s["extract"]["load1"], "load average: ([0-9.]+)");
        assert_eq!(s["legacy_algorithms"], true);
        spec.auth = SshAuth::PrivateKey {
            pem: "key-secret".into(),
            passphrase: Some("pass-secret".into()),
        };
        let s = settings(&ProbeSpec::Ssh(spec.clone()));
        let text = serde_json::to_string(&s).expect("json");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(s["private_key"], REDACTED);
        assert_eq!(s["private_key_passphrase"], REDACTED);
        spec.auth = SshAuth::KeyboardInteractive("kbd-secret".into());
        let s = settings(&ProbeSpec::Ssh(spec));
        let text = serde_json::to_string(&s).expect("json");
        assert!(!text.contains("secret"), "{text}");
        assert_eq!(s["keyboard_interactive_password"], REDACTED);
    }
}
