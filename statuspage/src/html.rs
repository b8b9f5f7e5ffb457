//! The public status page as one self-contained HTML document.
//!
//! Everything a visitor's browser needs is in the response: inline CSS (light and dark through
//! `prefers-color-scheme`), inline SVG charts, and tooltips done in CSS (`:hover` and `:focus`
//! on focusable bars, text from their `aria-label`), so the page works without JavaScript and
//! makes no further request. A `Content-Security-Policy` meta tag states that: no script runs
//! and nothing is fetched even if a name slipped past escaping.
//!
//! This module turns a [`PageView`] into small display rows (labels, tooltips, SVG path data
//! already formatted); `templates/page.html` only lays them out, and askama escapes every value.
//!
//! # Weight
//! A page of 20 components × 90 days carries 1 800 bars, so a bar is one empty `<i>` with a short
//! class and its tooltip text once, in `aria-label` (the CSS tooltip reads it back with
//! `attr()`). Gzipped, such a page stays under 30 KB (checked by a test).

use askama::Template;

use crate::error::RenderError;
use crate::model::{
    ComponentStatus, ComponentView, DayBar, DayLevel, IncidentView, LatencyPoint, MaintenanceView,
    PageView,
};
use crate::time_fmt::{
    day_label, day_number, hour_minute, iso_date, minute_label, rfc3339_ms, DAY_MS,
};
use crate::units::{duration_label, ms_label, uptime_floor, uptime_label};

/// Days of "Past incidents", today included.
pub const HISTORY_DAYS: i64 = 14;

/// Renders the page.
pub fn page_html(view: &PageView) -> Result<String, RenderError> {
    PageHtml::new(view).render().map_err(RenderError::Template)
}

#[derive(Template)]
#[template(path = "page.html")]
struct PageHtml<'a> {
    view: &'a PageView,
    overall: ComponentStatus,
    /// "Last confirmed" time when the page may be stale.
    stale: Option<Stamp>,
    generated: Stamp,
    active: Vec<IncidentHtml<'a>>,
    maintenances: Vec<MaintenanceHtml<'a>>,
    groups: Vec<GroupHtml<'a>>,
    history: Vec<HistoryDay<'a>>,
}

/// A time shown to visitors, with its machine-readable form for `<time datetime>`.
struct Stamp {
    text: String,
    iso: String,
}

impl Stamp {
    fn minute(ms: i64) -> Stamp {
        Stamp {
            text: minute_label(ms),
            iso: rfc3339_ms(ms),
        }
    }
}

struct IncidentHtml<'a> {
    id: &'a str,
    name: &'a str,
    /// Impact API name, also its CSS class.
    impact: &'static str,
    /// Names of the affected components, comma-separated; empty when none is on this page.
    affected: String,
    updates: Vec<UpdateHtml<'a>>,
}

struct UpdateHtml<'a> {
    status: &'static str,
    body: &'a str,
    at: Stamp,
}

struct MaintenanceHtml<'a> {
    id: &'a str,
    name: &'a str,
    status: &'static str,
    /// `3 Dec 2026, 21:00 – 23:00 UTC`.
    window: String,
    from_iso: String,
    affected: String,
}

struct GroupHtml<'a> {
    name: Option<&'a str>,
    components: Vec<ComponentHtml<'a>>,
}

struct ComponentHtml<'a> {
    name: &'a str,
    description: Option<&'a str>,
    status: ComponentStatus,
    /// "Failing from 2 of 5 regions: eu-west, us-east", when shown.
    regions: Option<String>,
    /// Present when uptime is shown.
    uptime: Option<UptimeHtml>,
    /// Present when response times are shown and there is at least one point.
    chart: Option<ChartHtml>,
}

struct UptimeHtml {
    bars: Vec<BarHtml>,
    /// "90 days ago".
    since: String,
    /// "99.94 % uptime" or "No data".
    figure: String,
}

struct BarHtml {
    class: &'static str,
    tip: String,
}

struct ChartHtml {
    /// `viewBox` width; the height is [`CHART_H`].
    width: u32,
    /// The top of the scale (the largest value), labelled on the chart.
    max: String,
    p50: String,
    p95: String,
    /// Accessible summary, also the caption.
    caption: String,
}

struct HistoryDay<'a> {
    date: String,
    iso: String,
    incidents: Vec<IncidentHtml<'a>>,
    maintenances: Vec<MaintenanceHtml<'a>>,
}

impl<'a> PageHtml<'a> {
    fn new(view: &'a PageView) -> Self {
        let today = day_number(view.generated_at_ms);
        let history = (0..HISTORY_DAYS)
            .map(|back| {
                let day = today.saturating_sub(back);
                // Saturating: a nonsensical `generated_at_ms` must not panic (times are clamped
                // when formatted anyway).
                let start = day.saturating_mul(DAY_MS);
                HistoryDay {
                    date: day_label(start),
                    iso: iso_date(start),
                    incidents: view
                        .incidents
                        .iter()
                        .filter(|i| !i.is_active() && day_number(i.created_at_ms) == day)
                        .map(|i| IncidentHtml::new(view, i))
                        .collect(),
                    maintenances: view
                        .maintenances
                        .iter()
                        .filter(|m| {
                            !m.is_active()
                                && !m.is_upcoming()
                                && day_number(m.scheduled_for_ms) == day
                        })
                        .map(|m| MaintenanceHtml::new(view, m))
                        .collect(),
                }
            })
            .collect();
        // Running windows first, then the upcoming ones; each kept soonest first.
        let maintenances = view
            .maintenances
            .iter()
            .filter(|m| m.is_active())
            .chain(view.maintenances.iter().filter(|m| m.is_upcoming()))
            .map(|m| MaintenanceHtml::new(view, m))
            .collect();
        PageHtml {
            view,
            overall: view.overall(),
            stale: view.stale.as_ref().map(|s| Stamp::minute(s.since_ms)),
            generated: Stamp::minute(view.generated_at_ms),
            active: view
                .active_incidents()
                .map(|i| IncidentHtml::new(view, i))
                .collect(),
            maintenances,
            groups: view
                .groups
                .iter()
                .filter(|g| !g.components.is_empty())
                .map(|g| GroupHtml {
                    name: g.name.as_deref(),
                    components: g
                        .components
                        .iter()
                        .map(|c| ComponentHtml::new(view, c))
                        .collect(),
                })
                .collect(),
            history,
        }
    }
}

/// Names of the components with these ids that the page shows, in the given order.
fn component_names(view: &PageView, ids: &[String]) -> String {
    ids.iter()
        .filter_map(|id| view.component(id))
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'a> IncidentHtml<'a> {
    fn new(view: &'a PageView, i: &'a IncidentView) -> Self {
        IncidentHtml {
            id: &i.id,
            name: &i.name,
            impact: i.impact.api_name(),
            affected: component_names(view, &i.components),
            updates: i
                .updates_newest_first()
                .into_iter()
                .map(|u| UpdateHtml {
                    status: u.status.label(),
                    body: &u.body,
                    at: Stamp::minute(u.created_at_ms),
                })
                .collect(),
        }
    }
}

impl<'a> MaintenanceHtml<'a> {
    fn new(view: &'a PageView, m: &'a MaintenanceView) -> Self {
        MaintenanceHtml {
            id: &m.id,
            name: &m.name,
            status: m.status.label(),
            window: window_label(m.scheduled_for_ms, m.scheduled_until_ms),
            from_iso: rfc3339_ms(m.scheduled_for_ms),
            affected: component_names(view, &m.components),
        }
    }
}

/// `3 Dec 2026, 21:00 – 23:00 UTC` within a day, both dates in full otherwise.
fn window_label(from_ms: i64, until_ms: i64) -> String {
    let from = minute_label(from_ms);
    if day_number(from_ms) == day_number(until_ms) {
        let from = from.strip_suffix(" UTC").unwrap_or(&from);
        format!("{from} – {} UTC", hour_minute(until_ms))
    } else {
        format!("{from} – {}", minute_label(until_ms))
    }
}

impl<'a> ComponentHtml<'a> {
    fn new(view: &'a PageView, c: &'a ComponentView) -> Self {
        let o = view.options;
        let regions = (o.show_regions && !c.regions.failing.is_empty()).then(|| {
            let failing = c.regions.failing.len();
            // A vote count below the failing count would be a caller bug; never print "3 of 2".
            let voting = usize::try_from(c.regions.voting)
                .unwrap_or(usize::MAX)
                .max(failing);
            format!(
                "Failing from {failing} of {voting} regions: {}",
                c.regions.failing.join(", ")
            )
        });
        let uptime = o.show_uptime.then(|| {
            // The newest `history_days` bars (the view should hold exactly that many).
            let shown =
                usize::try_from(o.history_days).map_or(c.days.len(), |n| n.min(c.days.len()));
            let bars = &c.days[c.days.len() - shown..];
            UptimeHtml {
                bars: bars.iter().map(bar).collect(),
                since: format!("{shown} days ago"),
                figure: uptime_label(uptime_for(c, o.history_days))
                    .map_or_else(|| "No data".to_owned(), |u| format!("{u} uptime")),
            }
        });
        ComponentHtml {
            name: &c.name,
            description: c.description.as_deref(),
            status: c.status,
            regions,
            uptime,
            chart: if o.show_response_times {
                chart(&c.latency)
            } else {
                None
            },
        }
    }
}

/// The uptime figure matching the bars shown: the 90-day figure for the default 90 bars, the
/// 30-day, 7-day or 24-hour one when the operator shows fewer days.
fn uptime_for(c: &ComponentView, history_days: u32) -> Option<f64> {
    match history_days {
        0..=1 => c.uptime.day,
        2..=7 => c.uptime.week,
        8..=30 => c.uptime.month,
        _ => c.uptime.quarter,
    }
}

/// CSS class of a bar: one letter, because there are 1 800 of them on a large page.
fn level_class(level: DayLevel) -> &'static str {
    match level {
        DayLevel::NoData => "n",
        DayLevel::Operational => "o",
        DayLevel::Degraded => "d",
        DayLevel::Partial => "p",
        DayLevel::Major => "m",
        DayLevel::Maintenance => "w",
    }
}

/// One day's bar and its tooltip: `3 Dec 2026: 99.95 % up, down 4 min`, `… : no data`, with
/// ` (partial day)` when the day was not fully observed.
fn bar(d: &DayBar) -> BarHtml {
    let mut tip = day_label(d.start_ms);
    match d.uptime_pct.and_then(uptime_floor) {
        Some(p) if d.level != DayLevel::NoData => {
            tip.push_str(&format!(": {p:.2} % up"));
            for (secs, what) in [
                (d.down_s, "down"),
                (d.degraded_s, "degraded"),
                (d.maintenance_s, "maintenance"),
            ] {
                if secs > 0 {
                    tip.push_str(&format!(", {what} {}", duration_label(secs)));
                }
            }
        }
        _ => tip.push_str(": no data"),
    }
    if d.partial {
        tip.push_str(" (partial day)");
    }
    BarHtml {
        class: level_class(d.level),
        tip,
    }
}

/// Height of the chart's `viewBox`; the width is 10 units per point.
const CHART_H: f64 = 40.0;
/// Units between two points.
const CHART_STEP: u32 = 10;

/// The response-time chart: p50 and p95 as SVG path data on a shared scale whose top is the
/// largest value, with a gap wherever a point has no value. `None` without any value.
fn chart(points: &[LatencyPoint]) -> Option<ChartHtml> {
    let valid = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= 0.0);
    let max = points
        .iter()
        .flat_map(|p| [valid(p.p50_ms), valid(p.p95_ms)])
        .flatten()
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))?;
    let max50 = points
        .iter()
        .filter_map(|p| valid(p.p50_ms))
        .fold(0.0, f64::max);
    let path = |get: fn(&LatencyPoint) -> Option<f64>| {
        let mut d = String::new();
        let mut pen_down = false;
        for (i, p) in points.iter().enumerate() {
            let Some(v) = valid(get(p)) else {
                pen_down = false;
                continue;
            };
            let x = i as f64 * f64::from(CHART_STEP);
            // 2 units of margin so the stroke is not clipped at the top and bottom.
            let y = if max > 0.0 {
                2.0 + (1.0 - v / max) * (CHART_H - 4.0)
            } else {
                CHART_H - 2.0
            };
            let next_has_value = points.get(i + 1).and_then(|n| valid(get(n))).is_some();
            if pen_down {
                d.push_str(&format!("L{x:.1} {y:.1}"));
            } else if next_has_value {
                d.push_str(&format!("M{x:.1} {y:.1}"));
            } else {
                // A lone point: a zero-length segment, drawn as a dot by the round line cap.
                d.push_str(&format!("M{x:.1} {y:.1}l0 0"));
            }
            pen_down = true;
        }
        d
    };
    let width = u32::try_from(points.len().saturating_sub(1))
        .unwrap_or(u32::MAX)
        .saturating_mul(CHART_STEP)
        .max(1);
    Some(ChartHtml {
        width,
        max: ms_label(max),
        p50: path(|p| p.p50_ms),
        p95: path(|p| p.p95_ms),
        caption: format!(
            "Response time, last {} h: median up to {}, p95 (lighter) up to {}",
            points.len(),
            ms_label(max50),
            ms_label(max)
        ),
    })
}
