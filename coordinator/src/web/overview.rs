//! The overview read model: monitors x regions matrix, edge nodes and status counts.
//!
//! [`Overview::build`] is pure: it takes the API views ([`MonitorView`], [`NodeView`]) and the
//! current time and precomputes every string the templates show (relative times, latencies,
//! tooltips), so the templates stay free of logic and the whole thing is unit-testable without a
//! running coordinator.

use std::collections::BTreeSet;

use crate::api::views::{parse_time, rfc3339, MonitorView, NodeView, RegionView};
use netpulse_engine::model::ALL_REGIONS;

use super::format::{format_latency, monitor_href, relative, symbol};

/// How many monitors are in each aggregate status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// All regions up.
    pub up: usize,
    /// Some regions down or degraded.
    pub degraded: usize,
    /// All regions down.
    pub down: usize,
    /// No result yet.
    pub unknown: usize,
    /// Not scheduled.
    pub paused: usize,
    /// Number of monitors.
    pub total: usize,
}

/// One cell of the matrix: a monitor in a region.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Whether the monitor runs in this region at all ("—" otherwise).
    pub runs: bool,
    /// `up`, `degraded`, `down` or `unknown`; also the CSS class.
    pub status: &'static str,
    /// Symbol shown next to the status text, so the state does not rely on colour alone.
    pub symbol: &'static str,
    /// Latency of the latest run, formatted (`"12.3 ms"`), empty when none.
    pub latency: String,
    /// Error class of the latest run, empty when none.
    pub error_class: &'static str,
    /// Tooltip: error class and message, when and where it was measured.
    pub tooltip: String,
    /// No result for longer than 2 x interval + timeout.
    pub stale: bool,
}

impl Cell {
    fn not_run() -> Self {
        Self {
            runs: false,
            status: "none",
            symbol: "",
            latency: String::new(),
            error_class: "",
            tooltip: String::new(),
            stale: false,
        }
    }

    fn from_region(r: &RegionView, now_ms: i64) -> Self {
        let mut tooltip = String::new();
        if let Some(e) = &r.error {
            tooltip.push_str(e.class);
            tooltip.push_str(": ");
            tooltip.push_str(&e.message);
            tooltip.push('\n');
        }
        match &r.last_checked_at {
            Some(at) => {
                tooltip.push_str("checked ");
                tooltip.push_str(&when(at, now_ms));
                if let Some(node) = &r.node {
                    tooltip.push_str(" by ");
                    tooltip.push_str(node);
                }
            }
            None => tooltip.push_str("no result yet"),
        }
        if r.stale {
            tooltip.push_str("\nstale: no recent result");
        }
        Self {
            runs: true,
            status: r.status,
            symbol: symbol(r.status),
            latency: r.latency_ms.map(format_latency).unwrap_or_default(),
            error_class: r.error.as_ref().map(|e| e.class).unwrap_or(""),
            tooltip,
            stale: r.stale,
        }
    }
}

/// One row of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Monitor id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Link to the monitor's detail page.
    pub href: String,
    /// Probe kind.
    pub kind: &'static str,
    /// Target as configured.
    pub target: String,
    /// Aggregate status; also the CSS class.
    pub status: &'static str,
    /// Symbol for the aggregate status.
    pub symbol: &'static str,
    /// One cell per column of [`Overview::regions`], in the same order.
    pub cells: Vec<Cell>,
}

/// One row of the edge node table.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    /// Node id.
    pub id: String,
    /// Region tag.
    pub region: String,
    /// `connected`, `disconnected` or `revoked`; also the CSS class.
    pub connection: &'static str,
    /// Last seen as RFC 3339, empty when never.
    pub last_seen: String,
    /// Last seen relative to now (`"12 s ago"`), `"never"` when never.
    pub last_seen_ago: String,
    /// Software version.
    pub version: String,
    /// Labels as `key=value`, comma-separated.
    pub labels: String,
    /// Clock offset from the leader (`"+300.2 s"`), empty before the node reported one.
    pub clock_offset: String,
    /// The offset is large enough to warn about.
    pub clock_warning: bool,
    /// Results refused (broken protocol limits).
    pub rejected: u64,
    /// Why the last one was refused, with its monitor; empty when none was.
    pub last_rejection: String,
}

/// Everything the overview shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// Status counts over all monitors.
    pub counts: Counts,
    /// Matrix columns: every region named by a monitor, reported by a result or hosting a node.
    pub regions: Vec<String>,
    /// Matrix rows, sorted by monitor name (case-insensitive), then id.
    pub rows: Vec<Row>,
    /// Edge nodes.
    pub nodes: Vec<NodeRow>,
    /// When this was built, RFC 3339.
    pub generated_at: String,
    /// Mesh alert and recent incidents (filled by the caller, which reads them).
    pub alerts: super::incidents::AlertsPanel,
}

impl Overview {
    /// Builds the overview from API views at `now_ms` (Unix ms).
    pub fn build(monitors: &[MonitorView], nodes: &[NodeView], now_ms: i64) -> Self {
        let mut regions = BTreeSet::new();
        for m in monitors {
            regions.extend(m.region_names.iter().filter(|r| *r != ALL_REGIONS).cloned());
            regions.extend(m.regions.iter().map(|r| r.region.clone()));
        }
        regions.extend(nodes.iter().map(|n| n.region.clone()));
        let regions: Vec<String> = regions.into_iter().collect();

        let mut counts = Counts {
            total: monitors.len(),
            ..Counts::default()
        };
        let mut sorted: Vec<&MonitorView> = monitors.iter().collect();
        sorted.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)));
        let rows = sorted
            .into_iter()
            .map(|m| {
                match m.status {
                    "up" => counts.up += 1,
                    "degraded" => counts.degraded += 1,
                    "down" => counts.down += 1,
                    "paused" => counts.paused += 1,
                    _ => counts.unknown += 1,
                }
                let runs_in = |region: &String| {
                    m.region_names
                        .iter()
                        .any(|r| r == region || r == ALL_REGIONS)
                };
                let cells = regions
                    .iter()
                    .map(
                        |region| match m.regions.iter().find(|r| &r.region == region) {
                            Some(r) => Cell::from_region(r, now_ms),
                            // Configured but not reported yet; a monitor on "all" regions runs
                            // wherever a node lives.
                            None if runs_in(region) => Cell {
                                runs: true,
                                status: "unknown",
                                symbol: symbol("unknown"),
                                tooltip: "no result yet".to_owned(),
                                ..Cell::not_run()
                            },
                            None => Cell::not_run(),
                        },
                    )
                    .collect();
                Row {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    href: monitor_href(&m.id),
                    kind: m.kind,
                    target: m.target.clone(),
                    status: m.status,
                    symbol: symbol(m.status),
                    cells,
                }
            })
            .collect();

        let nodes = nodes
            .iter()
            .map(|n| NodeRow {
                id: n.id.clone(),
                region: n.region.clone(),
                connection: if n.revoked {
                    "revoked"
                } else if n.connected {
                    "connected"
                } else {
                    "disconnected"
                },
                last_seen: n.last_seen.clone().unwrap_or_default(),
                last_seen_ago: n
                    .last_seen
                    .as_deref()
                    .and_then(parse_time)
                    .map(|t| relative(now_ms, t))
                    .unwrap_or_else(|| "never".to_owned()),
                version: n.version.clone(),
                labels: n
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                clock_offset: n
                    .clock_offset_ms
                    .map(|o| format!("{:+.1} s", o as f64 / 1000.0))
                    .unwrap_or_default(),
                clock_warning: n.clock_warning,
                rejected: n.results_rejected,
                last_rejection: n
                    .last_rejection
                    .as_ref()
                    .map(|r| format!("{} (monitor {}, {})", r.reason, r.monitor_id, r.at))
                    .unwrap_or_default(),
            })
            .collect();

        Self {
            counts,
            regions,
            rows,
            nodes,
            generated_at: rfc3339(now_ms),
            alerts: Default::default(),
        }
    }
}

/// `"<rfc3339> (12 s ago)"` for an RFC 3339 time string.
fn when(at: &str, now_ms: i64) -> String {
    match parse_time(at) {
        Some(t) => format!("{at} ({})", relative(now_ms, t)),
        None => at.to_owned(),
    }
}
