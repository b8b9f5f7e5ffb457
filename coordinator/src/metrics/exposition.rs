//! The exposition itself: a [`Snapshot`] of plain values in, Prometheus text (0.0.4) or
//! OpenMetrics 1.0 out. No I/O, no clock, no state: [`super::gather`] fills the snapshot, this
//! module only writes it, so what a scrape shows is tested here without a coordinator.
//!
//! Labels are bounded: a monitor is named by its id, name and kind, a result by its region,
//! and a probe's own measurements by the names the probe reports. The target, its query
//! string, headers, bodies and credentials never reach this module, so they cannot leak.
//! Label values are escaped as both formats require (`\\`, `"`, newline).

use netpulse_engine::decide::quorum::Health;
use netpulse_protocol::result::CheckStatus;

pub use netpulse_exposition::{escape_label_value, Format, HistogramValues, ProcessSample};
use netpulse_exposition::{push_label, Type, Writer};

/// This coordinator's view of Raft (from openraft's metrics watch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RaftView {
    /// This member's id.
    pub id: u64,
    /// Current term.
    pub term: u64,
    /// The leader this member knows of.
    pub leader: Option<u64>,
    /// Index of the last entry in this member's log.
    pub last_log_index: Option<u64>,
    /// Index of the last entry applied to the state machine.
    pub applied_index: Option<u64>,
    /// Index of the last entry in the current snapshot.
    pub snapshot_index: Option<u64>,
}

/// One monitor's latest result in one region.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionSample {
    /// Region name.
    pub region: String,
    /// Status of the latest result.
    pub status: CheckStatus,
    /// When it was measured, Unix ms (leader clock).
    pub checked_at_ms: i64,
    /// Duration of the run, microseconds.
    pub duration_us: u64,
    /// The probe's named measurements of that result (timings in ms), empty if unknown.
    pub metrics: Vec<(String, f64)>,
    /// The region's vote: `Some(true)` up, `Some(false)` down, `None` when it abstains.
    pub vote: Option<bool>,
}

/// One monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSample {
    /// Monitor id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Probe kind (`http`, `tcp`, ...).
    pub kind: &'static str,
    /// Whether it is paused.
    pub paused: bool,
    /// Decided health, `None` before any decision.
    pub health: Option<Health>,
    /// Latest result per region.
    pub regions: Vec<RegionSample>,
}

/// Everything one scrape shows, as plain values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Raft, as this member sees it.
    pub raft: RaftView,
    /// Edge sessions this coordinator holds.
    pub edge_sessions: u64,
    /// Notifications waiting to be delivered (the notification outbox).
    pub notifications_pending: u64,
    /// Open incidents.
    pub incidents_open: u64,
    /// Enrolled edge nodes (revoked ones excluded).
    pub nodes: u64,
    /// Of those, nodes with a session on some coordinator.
    pub nodes_live: u64,
    /// Monitors, ordered by id.
    pub monitors: Vec<MonitorSample>,
    /// Abstaining (region, reason, monitors) behind the mesh alert.
    pub mesh_abstentions: Vec<(String, String, u64)>,
    /// How long gathering this snapshot took, seconds.
    pub gather_seconds: f64,
    /// Results refused at the door (limits, order), summed over every node the state knows.
    pub results_rejected: u64,
    /// What this coordinator counted as it ran, and its process.
    pub runtime: Runtime,
}

/// Notification delivery attempts through one channel type that ended one way.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryCount {
    /// Channel type (`webhook`, `slack`, `email`, ...).
    pub kind: String,
    /// `delivered`, `retry` or `failed`.
    pub outcome: &'static str,
    /// Attempts since the process started.
    pub attempts: u64,
}

/// HTTP requests on one route template, method and status class.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSample {
    /// The matched route template (`/v1/monitors/{id}`), or `unmatched`.
    pub route: String,
    /// Request method.
    pub method: String,
    /// Status class: `2xx`, `4xx`, `5xx`, ...
    pub status: &'static str,
    /// Seconds to the response head.
    pub latency: HistogramValues,
}

/// What this coordinator counted since its process started (see [`super::registry`]), plus
/// the Raft numbers that are not plain metrics fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Runtime {
    /// Ingest entries proposed.
    pub ingest_batches: u64,
    /// Of those, entries not committed (the nodes resend their results).
    pub ingest_failed: u64,
    /// Results (and refusals) per proposed ingest entry.
    pub ingest_results: HistogramValues,
    /// Seconds from proposing an ingest entry to its being applied here.
    pub ingest_commit: HistogramValues,
    /// Notification delivery attempts by channel type and outcome.
    pub deliveries: Vec<DeliveryCount>,
    /// HTTP requests by route, method and status class.
    pub http: Vec<HttpSample>,
    /// Placement changes committed.
    pub placement_commits: u64,
    /// Monitor-to-node assignments those changes made.
    pub placement_added: u64,
    /// Monitor-to-node assignments those changes removed.
    pub placement_removed: u64,
    /// Seconds since this coordinator saw its snapshot index change (absent before the first
    /// snapshot).
    pub snapshot_age_seconds: Option<f64>,
    /// Entries in this member's Raft log (not yet purged behind a snapshot).
    pub log_entries: Option<u64>,
    /// The process's resources.
    pub process: ProcessSample,
}

/// Writes the exposition text of `s` in `format`.
pub fn render(s: &Snapshot, format: Format) -> String {
    let mut w = Writer::new(format, 256 + s.monitors.len() * 1024);
    own_health(&mut w, s);
    runtime(&mut w, s);
    results(&mut w, s);
    w.finish()
}

fn own_health(w: &mut Writer, s: &Snapshot) {
    let r = &s.raft;
    let member = [("member", r.id.to_string())];
    let gauge = |w: &mut Writer, name: &str, help: &str, v: Option<f64>| {
        if let Some(v) = v {
            w.family(name, Type::Gauge, help);
            w.sample(name, &labels(&member), v);
        }
    };
    gauge(
        w,
        "netpulse_raft_term",
        "Current Raft term.",
        Some(r.term as f64),
    );
    gauge(
        w,
        "netpulse_raft_is_leader",
        "1 if this coordinator is the Raft leader, else 0.",
        Some(f64::from(u8::from(r.leader == Some(r.id)))),
    );
    gauge(
        w,
        "netpulse_raft_has_leader",
        "1 if this coordinator knows a leader, else 0.",
        Some(f64::from(u8::from(r.leader.is_some()))),
    );
    gauge(
        w,
        "netpulse_raft_leader_id",
        "Id of the leader this coordinator knows (absent when none).",
        r.leader.map(|l| l as f64),
    );
    gauge(
        w,
        "netpulse_raft_last_log_index",
        "Index of the last entry in this coordinator's Raft log.",
        Some(r.last_log_index.unwrap_or(0) as f64),
    );
    gauge(
        w,
        "netpulse_raft_applied_index",
        "Index of the last Raft entry applied to the state machine.",
        Some(r.applied_index.unwrap_or(0) as f64),
    );
    gauge(
        w,
        "netpulse_raft_apply_lag",
        "Entries in the log not yet applied (last log index minus applied index).",
        Some(
            r.last_log_index
                .unwrap_or(0)
                .saturating_sub(r.applied_index.unwrap_or(0)) as f64,
        ),
    );
    gauge(
        w,
        "netpulse_raft_snapshot_index",
        "Index of the last entry in the current snapshot.",
        Some(r.snapshot_index.unwrap_or(0) as f64),
    );
    let plain = |w: &mut Writer, name: &str, help: &str, v: u64| {
        w.family(name, Type::Gauge, help);
        w.sample(name, "", v as f64);
    };
    plain(
        w,
        "netpulse_edge_sessions",
        "Edge node sessions this coordinator holds.",
        s.edge_sessions,
    );
    plain(
        w,
        "netpulse_notifications_pending",
        "Notifications waiting to be delivered (the notification outbox).",
        s.notifications_pending,
    );
    plain(
        w,
        "netpulse_incidents_open",
        "Open incidents.",
        s.incidents_open,
    );
    plain(
        w,
        "netpulse_monitors",
        "Configured monitors.",
        s.monitors.len() as u64,
    );
    plain(
        w,
        "netpulse_monitors_paused",
        "Paused monitors.",
        s.monitors.iter().filter(|m| m.paused).count() as u64,
    );
    plain(
        w,
        "netpulse_nodes",
        "Enrolled edge nodes, revoked ones excluded.",
        s.nodes,
    );
    plain(
        w,
        "netpulse_nodes_live",
        "Enrolled edge nodes holding a session on some coordinator.",
        s.nodes_live,
    );
    w.family(
        "netpulse_mesh_abstentions",
        Type::Gauge,
        "Monitors a region cannot vote on, by region and reason (stale, impaired, silent, pending).",
    );
    for (region, reason, n) in &s.mesh_abstentions {
        w.sample(
            "netpulse_mesh_abstentions",
            &labels(&[("region", region.clone()), ("reason", reason.clone())]),
            *n as f64,
        );
    }
    w.family(
        "netpulse_metrics_gather_seconds",
        Type::Gauge,
        "Time spent reading the state for this scrape.",
    );
    w.sample("netpulse_metrics_gather_seconds", "", s.gather_seconds);
}

/// What this coordinator counted as it ran (ingest, notifications, HTTP, placement), the Raft
/// log and snapshot, rejected results, and the process.
fn runtime(w: &mut Writer, s: &Snapshot) {
    let rt = &s.runtime;
    let member = labels(&[("member", s.raft.id.to_string())]);
    // The families are declared even without a value (no log yet, no snapshot yet), so
    // dashboards and rules reading them can be checked against any coordinator's scrape.
    let name = "netpulse_raft_log_entries";
    w.family(
        name,
        Type::Gauge,
        "Entries in this coordinator's Raft log not yet purged behind a snapshot.",
    );
    if let Some(n) = rt.log_entries {
        w.sample(name, &member, n as f64);
    }
    let name = "netpulse_raft_snapshot_age_seconds";
    w.family(
        name,
        Type::Gauge,
        "Seconds since this coordinator saw its Raft snapshot index change (taken or installed; counted from process start for an older one).",
    );
    if let Some(age) = rt.snapshot_age_seconds {
        w.sample(name, &member, age);
    }
    let counter = |w: &mut Writer, name: &str, help: &str, v: u64| {
        w.family(name, Type::Counter, help);
        w.sample(name, "", v as f64);
    };
    counter(
        w,
        "netpulse_results_rejected_total",
        "Results refused at the door (limits, order) and committed as rejected, summed over the nodes the state knows.",
        s.results_rejected,
    );
    counter(
        w,
        "netpulse_ingest_batches_total",
        "Result batches (Raft entries) this coordinator proposed.",
        rt.ingest_batches,
    );
    counter(
        w,
        "netpulse_ingest_batches_failed_total",
        "Proposed result batches that did not commit (the nodes resend them).",
        rt.ingest_failed,
    );
    let name = "netpulse_ingest_batch_results";
    w.family(
        name,
        Type::Histogram,
        "Results and refusals per proposed result batch.",
    );
    w.histogram(name, "", &rt.ingest_results);
    let name = "netpulse_ingest_commit_seconds";
    w.family(
        name,
        Type::Histogram,
        "Seconds from proposing a result batch to its being applied on this coordinator.",
    );
    w.histogram(name, "", &rt.ingest_commit);
    let name = "netpulse_notification_deliveries_total";
    w.family(
        name,
        Type::Counter,
        "Notification delivery attempts by channel type and outcome (delivered, retry, failed).",
    );
    for d in &rt.deliveries {
        let l = labels(&[("kind", d.kind.clone()), ("outcome", d.outcome.to_owned())]);
        w.sample(name, &l, d.attempts as f64);
    }
    let name = "netpulse_http_request_duration_seconds";
    w.family(
        name,
        Type::Histogram,
        "Seconds to answer an HTTP request (to the response head), by route template, method and status class.",
    );
    for h in &rt.http {
        let l = labels(&[
            ("route", h.route.clone()),
            ("method", h.method.clone()),
            ("status", h.status.to_owned()),
        ]);
        w.histogram(name, &l, &h.latency);
    }
    counter(
        w,
        "netpulse_placement_changes_total",
        "Placement changes this coordinator committed as leader.",
        rt.placement_commits,
    );
    counter(
        w,
        "netpulse_placement_assignments_added_total",
        "Monitor-to-node assignments those placement changes made.",
        rt.placement_added,
    );
    counter(
        w,
        "netpulse_placement_assignments_removed_total",
        "Monitor-to-node assignments those placement changes removed.",
        rt.placement_removed,
    );
    rt.process.write(w);
}

/// The probe measurements with a blackbox_exporter equivalent: (our name, kinds it applies to,
/// blackbox family, extra label, scale to the blackbox unit).
struct Mapped {
    ours: &'static str,
    kinds: &'static [&'static str],
    family: &'static str,
    phase: Option<(&'static str, &'static str)>,
    scale: f64,
}

const MS: f64 = 0.001;

const MAPPED: &[Mapped] = &[
    Mapped {
        ours: "status_code",
        kinds: &["http"],
        family: "probe_http_status_code",
        phase: None,
        scale: 1.0,
    },
    Mapped {
        ours: "body_bytes",
        kinds: &["http"],
        family: "probe_http_uncompressed_body_length",
        phase: None,
        scale: 1.0,
    },
    Mapped {
        ours: "dns_ms",
        kinds: &["http"],
        family: "probe_http_duration_seconds",
        phase: Some(("phase", "resolve")),
        scale: MS,
    },
    Mapped {
        ours: "connect_ms",
        kinds: &["http"],
        family: "probe_http_duration_seconds",
        phase: Some(("phase", "connect")),
        scale: MS,
    },
    Mapped {
        ours: "tls_ms",
        kinds: &["http"],
        family: "probe_http_duration_seconds",
        phase: Some(("phase", "tls")),
        scale: MS,
    },
    Mapped {
        ours: "dns_ms",
        kinds: &["http", "tcp", "tls", "icmp", "ssh"],
        family: "probe_dns_lookup_time_seconds",
        phase: None,
        scale: MS,
    },
    Mapped {
        ours: "answers",
        kinds: &["dns"],
        family: "probe_dns_answer_rrs",
        phase: None,
        scale: 1.0,
    },
    Mapped {
        ours: "rtt_avg_ms",
        kinds: &["icmp"],
        family: "probe_icmp_duration_seconds",
        phase: Some(("phase", "rtt")),
        scale: MS,
    },
];

/// Families written per result, in this order (help text by family).
const RESULT_FAMILIES: &[(&str, Type, &str)] = &[
    ("probe_success", Type::Gauge, "1 if the latest result in the region was up or degraded, 0 if down (blackbox_exporter compatible)."),
    ("probe_duration_seconds", Type::Gauge, "Duration of the latest run, seconds."),
    ("probe_http_status_code", Type::Gauge, "HTTP status of the latest response."),
    ("probe_http_uncompressed_body_length", Type::Gauge, "Bytes of the latest response body (at most 1 MiB are read)."),
    ("probe_http_duration_seconds", Type::Gauge, "Duration of the latest HTTP run by phase (resolve, connect, tls, processing, transfer), seconds."),
    ("probe_ssl_earliest_cert_expiry", Type::Gauge, "When the server certificate expires, Unix seconds (HTTP: to the whole day)."),
    ("probe_tls_version_info", Type::Info, "TLS version of the latest handshake."),
    ("probe_dns_lookup_time_seconds", Type::Gauge, "Time resolving the target's name, seconds."),
    ("probe_dns_answer_rrs", Type::Gauge, "Records of the queried type in the latest DNS answer."),
    ("probe_icmp_duration_seconds", Type::Gauge, "Average echo round trip of the latest ICMP run, seconds (phase rtt)."),
    ("netpulse_probe_checked_timestamp_seconds", Type::Gauge, "When the latest result was measured, Unix seconds (leader clock)."),
    ("netpulse_probe_value", Type::Gauge, "Measurements of the latest result with no blackbox_exporter name above, in the probe's units (timings in ms), by name."),
    ("netpulse_region_vote", Type::Gauge, "A region's vote on a monitor: 1 up, 0 down, -1 abstaining (stale, impaired, silent or pending)."),
    ("netpulse_monitor_state", Type::Gauge, "A monitor's decided health: one series per state (up, degraded, down, unknown), 1 for the current one."),
    ("netpulse_monitor_paused", Type::Gauge, "1 if the monitor is paused."),
];

fn results(w: &mut Writer, s: &Snapshot) {
    // Label sets are escaped once per monitor and region, not once per family.
    let labelled: Vec<(String, Vec<String>)> = s
        .monitors
        .iter()
        .map(|m| {
            let base = monitor_labels(m);
            let regions = m
                .regions
                .iter()
                .map(|r| with(&base, &[("region", &r.region)]))
                .collect();
            (base, regions)
        })
        .collect();
    // Families must be contiguous, so write one family at a time over every monitor.
    for &(family, kind, help) in RESULT_FAMILIES {
        w.family(family, kind, help);
        for (m, (base, region_labels)) in s.monitors.iter().zip(&labelled) {
            if family == "netpulse_monitor_state" {
                let current = m.health.unwrap_or(Health::Unknown);
                for h in [Health::Up, Health::Degraded, Health::Down, Health::Unknown] {
                    let l = with(base, &[("state", h.as_str())]);
                    w.sample(family, &l, f64::from(u8::from(h == current)));
                }
                continue;
            }
            if family == "netpulse_monitor_paused" {
                w.sample(family, base, f64::from(u8::from(m.paused)));
                continue;
            }
            for (r, l) in m.regions.iter().zip(region_labels) {
                region_family(w, family, m.kind, r, l);
            }
        }
    }
}

/// Whether `name`, reported by a probe of `kind`, is shown under a blackbox_exporter name (so
/// `netpulse_probe_value` leaves it out).
fn mapped(kind: &str, name: &str) -> bool {
    MAPPED
        .iter()
        .any(|m| m.ours == name && m.kinds.contains(&kind))
        || match kind {
            "http" => matches!(
                name,
                "time_to_first_byte_ms" | "total_ms" | "cert_days_left"
            ),
            "tls" => matches!(name, "days_left" | "tls_version"),
            _ => false,
        }
}

fn region_family(w: &mut Writer, family: &str, kind: &str, r: &RegionSample, l: &str) {
    let metric = |name: &str| r.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    match family {
        "probe_success" => w.sample(
            family,
            l,
            f64::from(u8::from(r.status != CheckStatus::Down)),
        ),
        "probe_duration_seconds" => w.sample(family, l, r.duration_us as f64 / 1e6),
        "probe_ssl_earliest_cert_expiry" => {
            let days = match kind {
                "http" => metric("cert_days_left"),
                "tls" => metric("days_left"),
                _ => None,
            };
            if let Some(d) = days {
                let at = (r.checked_at_ms as f64 / 1000.0 + d * 86_400.0).round();
                w.sample(family, l, at);
            }
        }
        "probe_tls_version_info" => {
            if let Some(v) = metric("tls_version").filter(|_| kind == "tls") {
                let name = match v as i64 {
                    12 => "TLS 1.2",
                    13 => "TLS 1.3",
                    _ => return,
                };
                w.sample(family, &with(l, &[("version", name)]), 1.0);
            }
        }
        "probe_http_duration_seconds" => {
            for m in MAPPED.iter().filter(|m| m.family == family) {
                if let Some(v) = metric(m.ours) {
                    let (k, p) = m.phase.unwrap_or(("phase", ""));
                    w.sample(family, &with(l, &[(k, p)]), v * m.scale);
                }
            }
            if kind == "http" {
                // Blackbox's processing (connected to first byte) and transfer (first byte
                // to the end) phases, from the cumulative times the probe reports.
                let before: f64 = ["dns_ms", "connect_ms", "tls_ms"]
                    .iter()
                    .filter_map(|n| metric(n))
                    .sum();
                if let Some(ttfb) = metric("time_to_first_byte_ms") {
                    let p = (ttfb - before).max(0.0);
                    w.sample(family, &with(l, &[("phase", "processing")]), p * MS);
                    if let Some(total) = metric("total_ms") {
                        let t = (total - ttfb).max(0.0);
                        w.sample(family, &with(l, &[("phase", "transfer")]), t * MS);
                    }
                }
            }
        }
        "netpulse_probe_checked_timestamp_seconds" => {
            w.sample(family, l, r.checked_at_ms as f64 / 1000.0)
        }
        "netpulse_probe_value" => {
            for (name, v) in r.metrics.iter().filter(|(n, _)| !mapped(kind, n)) {
                w.sample(family, &with(l, &[("name", name)]), *v);
            }
        }
        "netpulse_region_vote" => {
            let v = match r.vote {
                Some(true) => 1.0,
                Some(false) => 0.0,
                None => -1.0,
            };
            w.sample(family, l, v);
        }
        _ => {
            for m in MAPPED
                .iter()
                .filter(|m| m.family == family && m.kinds.contains(&kind))
            {
                if let Some(v) = metric(m.ours) {
                    let l = match m.phase {
                        Some(p) => with(l, &[p]),
                        None => l.to_owned(),
                    };
                    w.sample(family, &l, v * m.scale);
                }
            }
        }
    }
}

/// `monitor_id`, `monitor_name` and `kind`, escaped and joined (no braces).
fn monitor_labels(m: &MonitorSample) -> String {
    labels(&[
        ("monitor_id", m.id.clone()),
        ("monitor_name", m.name.clone()),
        ("kind", m.kind.to_owned()),
    ])
}

fn labels(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        push_label(&mut out, k, v);
    }
    out
}

fn with(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = base.to_owned();
    for (k, v) in pairs {
        push_label(&mut out, k, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            raft: RaftView {
                id: 1,
                term: 3,
                leader: Some(1),
                last_log_index: Some(120),
                applied_index: Some(118),
                snapshot_index: None,
            },
            edge_sessions: 2,
            notifications_pending: 4,
            incidents_open: 1,
            nodes: 3,
            nodes_live: 2,
            monitors: vec![MonitorSample {
                id: "mon_1".into(),
                name: "web \"prod\"\nline\\2".into(),
                kind: "http",
                paused: false,
                health: Some(Health::Down),
                regions: vec![RegionSample {
                    region: "eu-west".into(),
                    status: CheckStatus::Down,
                    checked_at_ms: 1_700_000_000_000,
                    duration_us: 250_000,
                    metrics: vec![
                        ("dns_ms".into(), 1.0),
                        ("connect_ms".into(), 2.0),
                        ("time_to_first_byte_ms".into(), 10.0),
                        ("total_ms".into(), 12.0),
                        ("status_code".into(), 503.0),
                        ("cert_days_left".into(), 2.0),
                        ("extra".into(), 7.0),
                    ],
                    vote: Some(false),
                }],
            }],
            mesh_abstentions: vec![("us-east".into(), "stale".into(), 1)],
            gather_seconds: 0.001,
            results_rejected: 5,
            runtime: Runtime {
                ingest_batches: 10,
                ingest_failed: 1,
                ingest_results: HistogramValues {
                    bounds: &[1.0, 10.0],
                    counts: vec![6, 3, 1],
                    sum: 40.0,
                },
                ingest_commit: HistogramValues {
                    bounds: &[0.01, 0.1],
                    counts: vec![8, 1, 0],
                    sum: 0.15,
                },
                deliveries: vec![
                    DeliveryCount {
                        kind: "slack".into(),
                        outcome: "failed",
                        attempts: 2,
                    },
                    DeliveryCount {
                        kind: "webhook".into(),
                        outcome: "delivered",
                        attempts: 7,
                    },
                ],
                http: vec![HttpSample {
                    route: "/v1/monitors/{id}".into(),
                    method: "GET".into(),
                    status: "2xx",
                    latency: HistogramValues {
                        bounds: &[0.01, 0.1],
                        counts: vec![3, 1, 1],
                        sum: 0.5,
                    },
                }],
                placement_commits: 2,
                placement_added: 6,
                placement_removed: 4,
                snapshot_age_seconds: Some(12.5),
                log_entries: Some(20),
                process: ProcessSample {
                    resident_memory_bytes: Some(10 << 20),
                    cpu_seconds: Some(1.25),
                    open_fds: Some(12),
                    start_time_seconds: Some(1_700_000_000.0),
                    ..ProcessSample::default()
                },
            },
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let text = render(&snapshot(), Format::Prometheus);
        assert!(
            text.contains(r#"monitor_name="web \"prod\"\nline\\2""#),
            "{text}"
        );
        // No raw newline inside a sample line: every line is a comment or `name{..} value`.
        for line in text.lines() {
            assert!(
                line.starts_with('#') || line.split(' ').count() >= 2,
                "{line}"
            );
        }
    }

    #[test]
    fn results_use_blackbox_names_and_units() {
        let text = render(&snapshot(), Format::Prometheus);
        let l = r#"monitor_id="mon_1",monitor_name="web \"prod\"\nline\\2",kind="http",region="eu-west""#;
        for want in [
            format!("probe_success{{{l}}} 0"),
            format!("probe_duration_seconds{{{l}}} 0.25"),
            format!("probe_http_status_code{{{l}}} 503"),
            format!("probe_http_duration_seconds{{{l},phase=\"resolve\"}} 0.001"),
            format!("probe_http_duration_seconds{{{l},phase=\"processing\"}} 0.007"),
            format!("probe_http_duration_seconds{{{l},phase=\"transfer\"}} 0.002"),
            format!("probe_ssl_earliest_cert_expiry{{{l}}} 1700172800"),
            format!("netpulse_region_vote{{{l}}} 0"),
            format!("netpulse_probe_value{{{l},name=\"extra\"}} 7"),
        ] {
            assert!(text.contains(&want), "missing {want} in\n{text}");
        }
        assert!(
            !text.contains("name=\"status_code\""),
            "shown as probe_http_status_code"
        );
        assert!(text.contains("netpulse_raft_apply_lag{member=\"1\"} 2"));
        assert!(text.contains("netpulse_raft_is_leader{member=\"1\"} 1"));
        assert!(text.contains("netpulse_mesh_abstentions{region=\"us-east\",reason=\"stale\"} 1"));
        assert!(text.contains("state=\"down\"} 1"));
        assert!(text.contains("state=\"up\"} 0"));
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn families_are_contiguous_and_typed_once() {
        let mut s = snapshot();
        let mut second = s.monitors[0].clone();
        second.id = "mon_2".into();
        s.monitors.push(second);
        let text = render(&s, Format::Prometheus);
        let mut seen = std::collections::BTreeSet::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default().to_owned();
                assert!(seen.insert(name.clone()), "{name} typed twice");
                current = name;
            } else if !line.starts_with('#') {
                let name: String = line
                    .chars()
                    .take_while(|c| *c != '{' && *c != ' ')
                    .collect();
                assert!(
                    name.starts_with(&current),
                    "{name} outside its family {current}"
                );
            }
        }
    }

    #[test]
    fn openmetrics_ends_with_eof_and_types_info() {
        let mut s = snapshot();
        s.monitors[0].kind = "tls";
        s.monitors[0].regions[0]
            .metrics
            .push(("tls_version".into(), 13.0));
        let text = render(&s, Format::OpenMetrics);
        assert!(text.ends_with("# EOF\n"));
        assert!(text.contains("# TYPE probe_tls_version info\n"));
        assert!(text.contains("version=\"TLS 1.3\"} 1\n"));
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=1.0.0,*/*;q=0.1")),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
    }

    #[test]
    fn runtime_counters_histograms_and_process_are_typed() {
        let text = render(&snapshot(), Format::Prometheus);
        for want in [
            "# TYPE netpulse_results_rejected_total counter\nnetpulse_results_rejected_total 5\n",
            "# TYPE netpulse_ingest_batches_total counter\nnetpulse_ingest_batches_total 10\n",
            "netpulse_ingest_batches_failed_total 1\n",
            "# TYPE netpulse_ingest_commit_seconds histogram\n",
            concat!(
                "netpulse_ingest_commit_seconds_bucket{le=\"0.01\"} 8\n",
                "netpulse_ingest_commit_seconds_bucket{le=\"0.1\"} 9\n",
                "netpulse_ingest_commit_seconds_bucket{le=\"+Inf\"} 9\n",
                "netpulse_ingest_commit_seconds_count 9\n",
                "netpulse_ingest_commit_seconds_sum 0.15\n",
            ),
            "netpulse_ingest_batch_results_bucket{le=\"10.0\"} 9\n",
            "netpulse_ingest_batch_results_count 10\n",
            "netpulse_notification_deliveries_total{kind=\"slack\",outcome=\"failed\"} 2\n",
            "netpulse_notification_deliveries_total{kind=\"webhook\",outcome=\"delivered\"} 7\n",
            "# TYPE netpulse_http_request_duration_seconds histogram\n",
            "netpulse_http_request_duration_seconds_bucket{route=\"/v1/monitors/{id}\",method=\"GET\",status=\"2xx\",le=\"0.1\"} 4\n",
            "netpulse_http_request_duration_seconds_count{route=\"/v1/monitors/{id}\",method=\"GET\",status=\"2xx\"} 5\n",
            "netpulse_placement_changes_total 2\n",
            "netpulse_placement_assignments_added_total 6\n",
            "netpulse_placement_assignments_removed_total 4\n",
            "netpulse_raft_snapshot_age_seconds{member=\"1\"} 12.5\n",
            "netpulse_raft_log_entries{member=\"1\"} 20\n",
            "process_resident_memory_bytes 10485760\n",
            "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.25\n",
            "process_open_fds 12\n",
            "process_start_time_seconds 1700000000\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        // Unreadable process values are left out, not written as 0.
        assert!(!text.contains("process_max_fds"));
        // OpenMetrics names counter families without `_total`; samples keep it.
        let om = render(&snapshot(), Format::OpenMetrics);
        assert!(om.contains(
            "# TYPE netpulse_ingest_batches counter\nnetpulse_ingest_batches_total 10\n"
        ));
        assert!(om.contains("# TYPE netpulse_notification_deliveries counter\n"));
        assert!(om.contains("# TYPE netpulse_ingest_commit_seconds histogram\n"));
        // Nothing measured yet: the histogram families still say what they are.
        let empty = render(&Snapshot::default(), Format::Prometheus);
        assert!(empty.contains("netpulse_ingest_commit_seconds_count 0\n"));
        assert!(empty.contains("# TYPE netpulse_raft_snapshot_age_seconds gauge\n"));
        assert!(!empty.contains("netpulse_raft_snapshot_age_seconds{"));
    }

    #[test]
    fn non_finite_values_are_written_as_the_format_spells_them() {
        let mut s = snapshot();
        s.monitors[0].regions[0].metrics = vec![
            ("a".into(), f64::NAN),
            ("b".into(), f64::INFINITY),
            ("c".into(), f64::NEG_INFINITY),
        ];
        let text = render(&s, Format::Prometheus);
        assert!(text.contains("name=\"a\"} NaN\n"));
        assert!(text.contains("name=\"b\"} +Inf\n"));
        assert!(text.contains("name=\"c\"} -Inf\n"));
    }
}
