//! The monitor detail read model: header, a latency chart and summary per region, and the check
//! history.
//!
//! [`MonitorDetail::build`] is pure, like [`Overview::build`](super::overview::Overview::build):
//! it takes API views and the current time and precomputes every string the templates show.

use std::collections::{BTreeMap, BTreeSet};

use super::chart::{latency_svg, percentile, Point};
use super::format::{format_latency, fragment_href, relative, symbol};
use crate::api::views::{parse_time, rfc3339, MonitorView, ResultView};
use netpulse_engine::model::ALL_REGIONS;

/// Time window of the charts.
pub const WINDOW_MS: i64 = 3_600_000;
/// At most this many results per region are charted (the newest).
pub const MAX_POINTS_PER_REGION: usize = 500;
/// At most this many results of a monitor are read for the charts (all regions together).
pub const MAX_WINDOW_RESULTS: usize = 5_000;
/// Rows of the check history table.
pub const HISTORY_ROWS: usize = 50;

/// Summary and chart of one region.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionPanel {
    /// Region name.
    pub region: String,
    /// Current status in the region (`unknown` without a result); also the CSS class.
    pub status: &'static str,
    /// Symbol for the status.
    pub symbol: &'static str,
    /// Results in the charted window.
    pub count: usize,
    /// Share of charted results that were not down, e.g. `"99.5 %"`; `"—"` without results.
    pub uptime: String,
    /// Median latency of results that were not down, formatted; `"—"` when none.
    pub p50: String,
    /// 95th percentile latency of results that were not down, formatted; `"—"` when none.
    pub p95: String,
    /// The chart, an SVG string built by [`latency_svg`] (all text in it escaped).
    pub svg: String,
}

/// One row of the check history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// When it was measured, RFC 3339.
    pub checked_at: String,
    /// Relative to now (`"12 s ago"`).
    pub ago: String,
    /// Region of the node.
    pub region: String,
    /// Node id.
    pub node: String,
    /// `up`, `degraded` or `down`; also the CSS class.
    pub status: &'static str,
    /// Symbol for the status.
    pub symbol: &'static str,
    /// Duration, formatted.
    pub latency: String,
    /// Error class, empty when none.
    pub error_class: &'static str,
    /// Error message, empty when none.
    pub error_message: String,
    /// What the probe saw, empty when nothing.
    pub detail: String,
}

/// Everything the monitor detail page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorDetail {
    /// Monitor id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Probe kind.
    pub kind: &'static str,
    /// Target as configured.
    pub target: String,
    /// Aggregate status; also the CSS class.
    pub status: &'static str,
    /// Symbol for the aggregate status.
    pub symbol: &'static str,
    /// Seconds between runs.
    pub interval_s: u32,
    /// Seconds before a run times out.
    pub timeout_s: u32,
    /// Configured regions, comma-separated (`all` included as configured).
    pub regions: String,
    /// What the charts cover, e.g. `"last hour"`.
    pub window: String,
    /// One panel per region: configured regions and regions that reported, sorted.
    pub panels: Vec<RegionPanel>,
    /// Newest results first.
    pub history: Vec<HistoryRow>,
    /// Uptime over the selected range (set by the page handler; `None` in tests of the rest).
    pub uptime: Option<super::uptime::UptimePanel>,
    /// Path of the fragment the page reloads on changes (with the selected range).
    pub fragment_href: String,
    /// When this was built, RFC 3339.
    pub generated_at: String,
}

impl MonitorDetail {
    /// Builds the detail of `m` at `now_ms` from the results of the last [`WINDOW_MS`]
    /// (`window`, any order) and the newest results for the history table (`history`, newest
    /// first; at most [`HISTORY_ROWS`] are shown).
    pub fn build(
        m: &MonitorView,
        window: &[ResultView],
        history: &[ResultView],
        now_ms: i64,
    ) -> Self {
        let mut by_region: BTreeMap<&str, Vec<Point>> = BTreeMap::new();
        for r in window {
            let Some(t_ms) = parse_time(&r.checked_at) else {
                continue;
            };
            by_region.entry(&r.region).or_default().push(Point {
                t_ms,
                latency_ms: r.latency_ms,
                status: r.status,
            });
        }
        let mut names: BTreeSet<&str> = m
            .region_names
            .iter()
            .map(String::as_str)
            .filter(|r| *r != ALL_REGIONS)
            .collect();
        names.extend(m.regions.iter().map(|r| r.region.as_str()));
        names.extend(by_region.keys().copied());

        // When the read hit its limit, the window effectively starts at the oldest result read.
        let mut capped = window.len() >= MAX_WINDOW_RESULTS;
        let window_from = if capped {
            by_region
                .values()
                .flatten()
                .map(|p| p.t_ms)
                .min()
                .map_or(now_ms - WINDOW_MS, |t| t.max(now_ms - WINDOW_MS))
        } else {
            now_ms - WINDOW_MS
        };
        let panels = names
            .into_iter()
            .map(|region| {
                let mut points = by_region.remove(region).unwrap_or_default();
                points.sort_by_key(|p| std::cmp::Reverse(p.t_ms));
                let mut from = window_from;
                if points.len() > MAX_POINTS_PER_REGION {
                    points.truncate(MAX_POINTS_PER_REGION);
                    capped = true;
                    if let Some(oldest) = points.last() {
                        from = from.max(oldest.t_ms);
                    }
                }
                let status = m
                    .regions
                    .iter()
                    .find(|r| r.region == region)
                    .map_or("unknown", |r| r.status);
                let reachable: Vec<f64> = points
                    .iter()
                    .filter(|p| p.status != "down")
                    .map(|p| p.latency_ms)
                    .collect();
                let dash = || "—".to_owned();
                RegionPanel {
                    region: region.to_owned(),
                    status,
                    symbol: symbol(status),
                    count: points.len(),
                    uptime: if points.is_empty() {
                        dash()
                    } else {
                        format_percent(reachable.len() as f64 / points.len() as f64)
                    },
                    p50: percentile(&reachable, 50.0).map_or_else(dash, format_latency),
                    p95: percentile(&reachable, 95.0).map_or_else(dash, format_latency),
                    svg: latency_svg(&points, from, now_ms, region),
                }
            })
            .collect();

        let history = history
            .iter()
            .take(HISTORY_ROWS)
            .map(|r| HistoryRow {
                checked_at: r.checked_at.clone(),
                ago: parse_time(&r.checked_at)
                    .map(|t| relative(now_ms, t))
                    .unwrap_or_default(),
                region: r.region.clone(),
                node: r.node.clone(),
                status: r.status,
                symbol: symbol(r.status),
                latency: format_latency(r.latency_ms),
                error_class: r.error.as_ref().map_or("", |e| e.class),
                error_message: r
                    .error
                    .as_ref()
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
                detail: r.detail.clone().unwrap_or_default(),
            })
            .collect();

        Self {
            id: m.id.clone(),
            name: m.name.clone(),
            kind: m.kind,
            target: m.target.clone(),
            status: m.status,
            symbol: symbol(m.status),
            interval_s: m.interval_s,
            timeout_s: m.timeout_s,
            regions: m.region_names.join(", "),
            window: if capped {
                format!("last hour, newest {MAX_POINTS_PER_REGION} results per region at most")
            } else {
                "last hour".to_owned()
            },
            panels,
            history,
            uptime: None,
            fragment_href: fragment_href(&m.id),
            generated_at: rfc3339(now_ms),
        }
    }
}

/// A share (0..=1) as a percentage: one decimal, but never rounded up to `100 %`.
fn format_percent(share: f64) -> String {
    let pct = share * 100.0;
    if pct >= 100.0 {
        "100 %".to_owned()
    } else {
        format!("{:.1} %", (pct * 10.0).floor() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent() {
        assert_eq!(format_percent(1.0), "100 %");
        assert_eq!(format_percent(0.9999), "99.9 %");
        assert_eq!(format_percent(0.5), "50.0 %");
        assert_eq!(format_percent(0.0), "0.0 %");
    }
}
