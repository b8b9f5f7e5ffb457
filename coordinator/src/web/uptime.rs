//! The monitor page's uptime panel: 24 h, 7 d, 30 d or 90 d of decided-state uptime as a bar
//! per bucket, read from the rollups and the timeline (so ranges far beyond the raw results'
//! retention work).
//!
//! [`UptimePanel::build`] is pure: it takes the engine's [`UptimeReport`] and precomputes every
//! string the template shows; the SVG escapes all text it contains.

use netpulse_engine::history::Resolution;
use netpulse_engine::state::UptimeReport;

use super::chart::escape;
use super::format::format_latency;
use crate::api::views::rfc3339;

/// A range the panel offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// Last 24 hours, hourly bars.
    Day,
    /// Last 7 days, hourly bars.
    Week,
    /// Last 30 days, daily bars.
    Month,
    /// Last 90 days, daily bars.
    Quarter,
}

impl Range {
    /// Every range, shortest first.
    pub const ALL: [Range; 4] = [Range::Day, Range::Week, Range::Month, Range::Quarter];

    /// The `?range=` value and the link's label.
    pub fn name(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
            Range::Quarter => "90d",
        }
    }

    /// The range named `s`; the default (24 h) for anything else.
    pub fn parse(s: Option<&str>) -> Range {
        Range::ALL
            .into_iter()
            .find(|r| Some(r.name()) == s)
            .unwrap_or(Range::Day)
    }

    /// Length, ms.
    pub fn span_ms(self) -> i64 {
        const DAY: i64 = 86_400_000;
        match self {
            Range::Day => DAY,
            Range::Week => 7 * DAY,
            Range::Month => 30 * DAY,
            Range::Quarter => 90 * DAY,
        }
    }

    /// Bar width.
    pub fn step(self) -> Resolution {
        match self {
            Range::Day | Range::Week => Resolution::Hour,
            Range::Month | Range::Quarter => Resolution::Day,
        }
    }
}

/// A range link.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeLink {
    /// `24h`, `7d`, ...
    pub label: &'static str,
    /// The page with this range.
    pub href: String,
    /// Whether it is the one shown.
    pub selected: bool,
}

/// What the panel shows.
#[derive(Debug, Clone, PartialEq)]
pub struct UptimePanel {
    /// The range links.
    pub links: Vec<RangeLink>,
    /// Uptime over the range, e.g. `"99.95 %"`; `"—"` when no time counted.
    pub uptime: String,
    /// Time decided down, e.g. `"4 min"`.
    pub downtime: String,
    /// Checks in the range, all regions.
    pub checks: u64,
    /// p95 latency over the range, all regions; `"—"` without checks.
    pub p95: String,
    /// The bars, an SVG string (all text escaped).
    pub svg: String,
}

/// A duration for people: seconds, minutes, hours or days.
fn span(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min", s / 60),
        3_600..=172_799 => format!("{:.1} h", s as f64 / 3_600.0),
        _ => format!("{:.1} d", s as f64 / 86_400.0),
    }
}

/// A percentage rounded down, so 99.999 % never shows as 100 %.
fn percent(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{:.2} %", (p * 100.0).floor() / 100.0),
        None => "—".into(),
    }
}

/// The bar's class: full, a blip, an outage, or nothing counted.
fn class(p: Option<f64>) -> &'static str {
    match p {
        None => "none",
        Some(p) if p >= 100.0 => "up",
        Some(p) if p >= 99.0 => "degraded",
        Some(_) => "down",
    }
}

impl UptimePanel {
    /// Builds the panel for `range` from `report`; `base_href` is the page the range links
    /// point to.
    pub fn build(report: &UptimeReport, range: Range, base_href: &str) -> Self {
        let links = Range::ALL
            .into_iter()
            .map(|r| RangeLink {
                label: r.name(),
                href: format!("{base_href}?range={}", r.name()),
                selected: r == range,
            })
            .collect();
        let mut all = netpulse_engine::history::Latency::default();
        let mut checks = 0;
        for b in &report.buckets {
            all.merge(&b.all.latency);
            checks += b.all.checks;
        }
        let n = report.buckets.len().max(1);
        let (w, h, gap) = (900.0, 36.0, 2.0);
        let bar = (w - gap * (n as f64 - 1.0)).max(n as f64) / n as f64;
        let mut svg = format!(
            "<svg class=\"bars\" viewBox=\"0 0 {w} {h}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"uptime per {}\">",
            if range.step() == Resolution::Hour { "hour" } else { "day" }
        );
        for (i, b) in report.buckets.iter().enumerate() {
            let x = i as f64 * (bar + gap);
            let title = format!(
                "{}: {} up, {} down, {} checks",
                rfc3339(b.start_ms),
                percent(b.uptime.uptime_pct),
                span(b.uptime.downtime_ms),
                b.all.checks
            );
            svg.push_str(&format!(
                "<rect class=\"{}\" x=\"{x:.1}\" y=\"0\" width=\"{bar:.1}\" height=\"{h}\"><title>{}</title></rect>",
                class(b.uptime.uptime_pct),
                escape(&title)
            ));
        }
        svg.push_str("</svg>");
        UptimePanel {
            links,
            uptime: percent(report.uptime.uptime_pct),
            downtime: span(report.uptime.downtime_ms),
            checks,
            p95: all.quantile_ms(0.95).map_or("—".into(), format_latency),
            svg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpulse_engine::history::{Rollup, StateSeconds, Uptime};
    use netpulse_engine::state::UptimeBucket;

    fn bucket(start_ms: i64, up: i64, down: i64, checks: u64) -> UptimeBucket {
        let states = StateSeconds {
            up,
            down,
            ..Default::default()
        };
        let all = Rollup {
            checks,
            ..Default::default()
        };
        UptimeBucket {
            start_ms,
            states,
            uptime: states.uptime(),
            all,
            regions: Default::default(),
        }
    }

    #[test]
    fn bars_and_summary_follow_the_report() {
        let buckets = vec![
            bucket(0, 3_600_000, 0, 120),
            bucket(3_600_000, 3_000_000, 600_000, 120),
            bucket(7_200_000, 0, 0, 0),
        ];
        let states = StateSeconds {
            up: 6_600_000,
            down: 600_000,
            ..Default::default()
        };
        let report = UptimeReport {
            from_ms: 0,
            to_ms: 10_800_000,
            step: Resolution::Hour,
            states,
            uptime: Uptime {
                uptime_pct: states.uptime().uptime_pct,
                downtime_ms: 600_000,
            },
            buckets,
        };
        let p = UptimePanel::build(&report, Range::Day, "/monitors/mon_1");
        assert_eq!(p.uptime, "91.66 %");
        assert_eq!(p.downtime, "10 min");
        assert_eq!(p.checks, 240);
        assert_eq!(p.svg.matches("<rect class=\"up\"").count(), 1);
        assert_eq!(p.svg.matches("<rect class=\"down\"").count(), 1);
        assert_eq!(p.svg.matches("<rect class=\"none\"").count(), 1);
        assert!(p.svg.contains("83.33 % up, 10 min down, 120 checks"));
        assert_eq!(p.links.iter().filter(|l| l.selected).count(), 1);
        assert_eq!(p.links[3].href, "/monitors/mon_1?range=90d");
        assert_eq!(Range::parse(Some("90d")), Range::Quarter);
        assert_eq!(Range::parse(Some("<script>")), Range::Day);
    }

    #[test]
    fn nearly_perfect_is_not_rounded_up_to_perfect() {
        assert_eq!(percent(Some(99.9999)), "99.99 %");
        assert_eq!(percent(Some(100.0)), "100.00 %");
        assert_eq!(percent(None), "—");
    }
}
