//! What a status page shows, as plain data: the coordinator fills it from its replicated state,
//! this crate renders it (HTML, Statuspage JSON, feeds, badges).
//!
//! Nothing private can be expressed here: there is no field for a monitor id, a target, a node,
//! an error message or a credential. Region tags are public on purpose (visitors are told *where*
//! a component fails, never *what* failed). Times are Unix milliseconds (UTC); the caller passes
//! them, so rendering is pure and the same input gives the same bytes.

use serde::Serialize;

/// Status of one component, as Statuspage names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Working normally.
    Operational,
    /// Slow or partly failing, but usable.
    #[serde(rename = "degraded_performance")]
    Degraded,
    /// Down for some users or regions.
    PartialOutage,
    /// Down.
    MajorOutage,
    /// In a scheduled maintenance window.
    #[serde(rename = "under_maintenance")]
    Maintenance,
}

/// A whole page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    /// Stable page id (`sp_…`), the Statuspage `page.id`.
    pub id: String,
    /// URL path segment (`/<slug>`).
    pub slug: String,
    /// Title (the Statuspage `page.name`).
    pub title: String,
    /// Optional text under the title.
    pub description: Option<String>,
    /// Absolute public URL of the page, no trailing slash (`https://status.acme.com` on a custom
    /// domain, `http://host:port/<slug>` otherwise): feeds and JSON need absolute links.
    pub url: String,
    /// Path prefix of every link inside the page: `""` when served at `/` of a custom domain,
    /// `"/<slug>"` otherwise.
    pub base_path: String,
    /// When this view was built.
    pub generated_at_ms: i64,
    /// Latest change of anything shown (the Statuspage `page.updated_at`, feeds' `updated`).
    pub updated_at_ms: i64,
    /// Set when the coordinator serving the page cannot confirm it is current (no quorum, or
    /// its state stopped advancing): the page still renders, marked as possibly stale.
    pub stale: Option<Stale>,
    /// Components in display order, grouped. Components without a group come as a group whose
    /// `name` is `None` (rendered without a heading), in their position.
    pub groups: Vec<GroupView>,
    /// Incidents affecting this page's components (active and past, within the history
    /// window), newest first by `created_at_ms`.
    pub incidents: Vec<IncidentView>,
    /// Maintenance windows covering this page's components: upcoming, active and completed
    /// within the history window, soonest first by `scheduled_for_ms`.
    pub maintenances: Vec<MaintenanceView>,
    /// What to show.
    pub options: DisplayOptions,
}

impl PageView {
    /// The page's overall status: the worst component wins, by
    /// [`ComponentStatus::severity`]. A page without components is operational.
    pub fn overall(&self) -> ComponentStatus {
        self.components()
            .map(|c| c.status)
            .fold(ComponentStatus::Operational, ComponentStatus::worst)
    }

    /// Every component, in display order (group by group).
    pub fn components(&self) -> impl Iterator<Item = &ComponentView> {
        self.groups.iter().flat_map(|g| g.components.iter())
    }

    /// The component with this id, if the page shows it.
    pub fn component(&self, id: &str) -> Option<&ComponentView> {
        self.components().find(|c| c.id == id)
    }

    /// Unresolved incidents, in the order of [`PageView::incidents`] (newest first).
    pub fn active_incidents(&self) -> impl Iterator<Item = &IncidentView> {
        self.incidents.iter().filter(|i| i.is_active())
    }
}

/// Why a page may be out of date.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    /// When the serving coordinator last knew it was current.
    pub since_ms: i64,
}

/// Display options set by the operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisplayOptions {
    /// Show the per-day uptime bars and uptime percentages.
    pub show_uptime: bool,
    /// Show the response-time chart.
    pub show_response_times: bool,
    /// Show which regions see a component failing.
    pub show_regions: bool,
    /// Days of bars (90 by default).
    pub history_days: u32,
}

/// A group of components.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    /// Stable id (`grp_…`) for the Statuspage JSON, `None` for the ungrouped components.
    pub id: Option<String>,
    /// Heading; `None` for ungrouped components.
    pub name: Option<String>,
    /// Components in display order.
    pub components: Vec<ComponentView>,
}

impl GroupView {
    /// The worst status of its components (operational when empty), as Statuspage shows a
    /// group's status.
    pub fn status(&self) -> ComponentStatus {
        self.components
            .iter()
            .map(|c| c.status)
            .fold(ComponentStatus::Operational, ComponentStatus::worst)
    }
}

/// One component.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentView {
    /// Stable public id (`cmp_…`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Optional public description.
    pub description: Option<String>,
    /// Current status.
    pub status: ComponentStatus,
    /// Regions that see it failing right now (empty when none do), and how many regions vote.
    pub regions: RegionView,
    /// One bar per day, oldest first, `history_days` of them; the last one is today (partial).
    pub days: Vec<DayBar>,
    /// Uptime over the last 24 h, 7 d, 30 d and 90 d, percent; `None` when nothing counted.
    pub uptime: UptimeWindows,
    /// Response time, oldest first (hourly points over the last 24 h).
    pub latency: Vec<LatencyPoint>,
    /// 1-based position on the page (the Statuspage `position`).
    pub position: u32,
    /// When the page first listed it.
    pub created_at_ms: i64,
    /// When its status last changed.
    pub updated_at_ms: i64,
}

/// Which regions see a component failing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegionView {
    /// Region tags failing, sorted.
    pub failing: Vec<String>,
    /// Regions with a vote on it (failing or not).
    pub voting: u32,
}

/// Uptime by window, percent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UptimeWindows {
    /// Last 24 hours.
    pub day: Option<f64>,
    /// Last 7 days.
    pub week: Option<f64>,
    /// Last 30 days.
    pub month: Option<f64>,
    /// Last 90 days.
    pub quarter: Option<f64>,
}

/// How a day's bar is coloured. The rule (documented in `docs/status-pages.md`): no counted
/// time → `NoData`; any downtime → `Partial` when under 5 % of the counted time, else `Major`;
/// only degraded time → `Degraded`; only maintenance besides up time → `Maintenance`; else
/// `Operational`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayLevel {
    /// Nothing was counted (before the monitor existed, paused, or unknown the whole day).
    NoData,
    /// Up the whole counted time.
    Operational,
    /// Degraded at some point, never down.
    Degraded,
    /// Down for under 5 % of the counted time.
    Partial,
    /// Down for 5 % of the counted time or more.
    Major,
    /// In maintenance, never down.
    Maintenance,
}

/// One day of a component.
#[derive(Debug, Clone, PartialEq)]
pub struct DayBar {
    /// Day start (00:00 UTC), Unix ms.
    pub start_ms: i64,
    /// Colour.
    pub level: DayLevel,
    /// Uptime of the counted time, percent; `None` without counted time.
    pub uptime_pct: Option<f64>,
    /// Seconds down.
    pub down_s: i64,
    /// Seconds degraded.
    pub degraded_s: i64,
    /// Seconds in maintenance.
    pub maintenance_s: i64,
    /// Seconds counted (up + degraded + down).
    pub counted_s: i64,
    /// The day was not fully observed (today, the first day, or a gap): the figure covers only
    /// the counted time.
    pub partial: bool,
}

/// One response-time point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyPoint {
    /// Bucket start, Unix ms.
    pub start_ms: i64,
    /// Median, ms; `None` without checks.
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
}

/// Incident impact, as Statuspage names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// No impact.
    None,
    /// Minor.
    Minor,
    /// Major.
    Major,
    /// Critical.
    Critical,
    /// Maintenance.
    Maintenance,
}

/// Incident status, as Statuspage names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentPhase {
    /// Looking into it.
    Investigating,
    /// Cause found.
    Identified,
    /// Fix applied, watching.
    Monitoring,
    /// Over.
    Resolved,
    /// Post-incident report published.
    Postmortem,
}

/// An incident as visitors see it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentView {
    /// Public id (`inc_…`).
    pub id: String,
    /// Title.
    pub name: String,
    /// Current phase.
    pub status: IncidentPhase,
    /// Impact.
    pub impact: Impact,
    /// Opened.
    pub created_at_ms: i64,
    /// Last update.
    pub updated_at_ms: i64,
    /// When it entered `monitoring`, if it did.
    pub monitoring_at_ms: Option<i64>,
    /// Resolved.
    pub resolved_at_ms: Option<i64>,
    /// Ids of the components it affects.
    pub components: Vec<String>,
    /// Updates, newest first.
    pub updates: Vec<IncidentUpdateView>,
}

impl IncidentView {
    /// Unresolved (not `resolved` nor `postmortem`).
    pub fn is_active(&self) -> bool {
        !matches!(
            self.status,
            IncidentPhase::Resolved | IncidentPhase::Postmortem
        )
    }

    /// Updates newest first, ties kept in the given order. The model already promises this
    /// order; sorting again costs nothing at these sizes and keeps every output (thread, feeds,
    /// JSON) in the same order even if a caller gets it wrong.
    pub fn updates_newest_first(&self) -> Vec<&IncidentUpdateView> {
        let mut updates: Vec<&IncidentUpdateView> = self.updates.iter().collect();
        updates.sort_by_key(|u| std::cmp::Reverse(u.created_at_ms));
        updates
    }
}

/// One update of an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentUpdateView {
    /// Stable id (feeds use it in entry ids).
    pub id: String,
    /// Phase it announced.
    pub status: IncidentPhase,
    /// Text.
    pub body: String,
    /// When.
    pub created_at_ms: i64,
}

/// Maintenance status, as Statuspage names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenancePhase {
    /// Not started.
    Scheduled,
    /// Running now.
    InProgress,
    /// Over.
    Completed,
}

/// A maintenance window as visitors see it (one occurrence of a recurring window).
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceView {
    /// Public id (`mnt_…`, with the occurrence start for recurring windows).
    pub id: String,
    /// Title.
    pub name: String,
    /// Phase at `generated_at_ms`.
    pub status: MaintenancePhase,
    /// Starts.
    pub scheduled_for_ms: i64,
    /// Ends.
    pub scheduled_until_ms: i64,
    /// Created.
    pub created_at_ms: i64,
    /// Ids of the components it covers.
    pub components: Vec<String>,
}

impl MaintenanceView {
    /// Running now (`in_progress`).
    pub fn is_active(&self) -> bool {
        self.status == MaintenancePhase::InProgress
    }

    /// Not started yet (`scheduled`).
    pub fn is_upcoming(&self) -> bool {
        self.status == MaintenancePhase::Scheduled
    }
}
