//! NetPulse public status pages: the read model, its HTML rendering and a Statuspage-compatible
//! JSON summary.
//!
//! # Where the data comes from
//! The coordinator will build a [`StatusPage`] from its replicated state machine: each public
//! component groups monitors, its [`ComponentStatus`] is derived from their quorum decisions and
//! maintenance windows, and `uptime_90d` from the stored results. That wiring comes later; this
//! crate only defines what a page *is* and how it is shown, so it has no runtime, no storage and
//! no clock (the caller passes `generated_at`).
//!
//! # Nothing private
//! Status pages are public. The model has, by construction, no field for monitor targets,
//! regions, node names, error messages or credentials: whatever the coordinator knows, only names,
//! statuses and uptime figures can reach a visitor.
//!
//! # Outputs
//! - [`StatusPage::render_html`]: a self-contained HTML page (inline CSS, no JavaScript,
//!   light/dark theme via `prefers-color-scheme`), escaped by askama.
//! - [`StatusPage::summary_json`]: the `/api/v2/summary.json` shape of Atlassian Statuspage,
//!   which many dashboards and chat integrations already consume.
//!
//! ```
//! use netpulse_statuspage::{Component, ComponentStatus, StatusPage};
//!
//! let page = StatusPage {
//!     id: "acme".into(),
//!     title: "Acme status".into(),
//!     url: "https://status.acme.test".into(),
//!     generated_at: "2026-01-01T00:00:00Z".into(),
//!     components: vec![
//!         Component::new("web", "Website", ComponentStatus::Operational).with_uptime(99.98),
//!         Component::new("api", "API", ComponentStatus::PartialOutage),
//!     ],
//! };
//! assert_eq!(page.overall(), ComponentStatus::PartialOutage);
//! assert!(page.render_html().unwrap().contains("Partial System Outage"));
//! assert!(page.summary_json().contains(r#""indicator":"major""#));
//! ```

#![deny(missing_docs)]

use askama::Template;
use serde::Serialize;

/// Status of one component, as Statuspage names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

impl ComponentStatus {
    /// Severity used by the overall rule: operational < maintenance < degraded < partial outage
    /// < major outage. Maintenance ranks above operational (visitors should know about it) and
    /// below every unplanned problem (an outage during maintenance is still reported as one).
    pub fn severity(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::Maintenance => 1,
            ComponentStatus::Degraded => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    /// The Statuspage API name (`operational`, `degraded_performance`, ...); also the CSS class.
    pub fn api_name(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::Degraded => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
            ComponentStatus::Maintenance => "under_maintenance",
        }
    }

    /// Text shown next to a component.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::Degraded => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
            ComponentStatus::Maintenance => "Under maintenance",
        }
    }

    /// Statuspage's page-level `indicator`: `none`, `minor`, `major`, `critical` or `maintenance`.
    pub fn indicator(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "none",
            ComponentStatus::Maintenance => "maintenance",
            ComponentStatus::Degraded => "minor",
            ComponentStatus::PartialOutage => "major",
            ComponentStatus::MajorOutage => "critical",
        }
    }

    /// Page-level description, as Statuspage words it.
    pub fn description(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "All Systems Operational",
            ComponentStatus::Maintenance => "Service Under Maintenance",
            ComponentStatus::Degraded => "Partially Degraded Service",
            ComponentStatus::PartialOutage => "Partial System Outage",
            ComponentStatus::MajorOutage => "Major System Outage",
        }
    }
}

/// A public component: a named group of monitors.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// Stable id, used in the JSON API.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Optional public description.
    pub description: Option<String>,
    /// Current status.
    pub status: ComponentStatus,
    /// Share of the last 90 days it was up, in percent (0 to 100); `None` without history.
    pub uptime_90d: Option<f64>,
}

impl Component {
    /// A component without description or uptime.
    pub fn new(id: impl Into<String>, name: impl Into<String>, status: ComponentStatus) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: None,
            status,
            uptime_90d: None,
        }
    }

    /// Sets the 90-day uptime (percent).
    pub fn with_uptime(mut self, percent: f64) -> Self {
        self.uptime_90d = Some(percent);
        self
    }

    /// Uptime as shown: two decimals, never rounded up to 100 unless it is 100.
    pub fn uptime_label(&self) -> Option<String> {
        let p = self.uptime_90d?.clamp(0.0, 100.0);
        // The epsilon keeps 99.95 (stored as 99.9499…) from showing as 99.94.
        let floored = (p * 100.0 + 1e-9).floor() / 100.0;
        Some(format!("{floored:.2} %"))
    }
}

/// Everything a status page shows.
#[derive(Debug, Clone, PartialEq, Template)]
#[template(path = "page.html")]
pub struct StatusPage {
    /// Page id (slug), used in the JSON API.
    pub id: String,
    /// Page title.
    pub title: String,
    /// Public URL of the page.
    pub url: String,
    /// Components in display order.
    pub components: Vec<Component>,
    /// When this model was built, RFC 3339 (UTC).
    pub generated_at: String,
}

impl StatusPage {
    /// The page's overall status: the worst component wins, by
    /// [`ComponentStatus::severity`]. A page without components is operational.
    pub fn overall(&self) -> ComponentStatus {
        self.components
            .iter()
            .map(|c| c.status)
            .max_by_key(|s| s.severity())
            .unwrap_or(ComponentStatus::Operational)
    }

    /// The page as HTML (no JavaScript, inline CSS).
    pub fn render_html(&self) -> Result<String, askama::Error> {
        self.render()
    }

    /// The Statuspage `/api/v2/summary.json` document. Incidents and scheduled maintenances are
    /// always empty until NetPulse models them.
    pub fn summary_json(&self) -> String {
        #[derive(Serialize)]
        struct Page<'a> {
            id: &'a str,
            name: &'a str,
            url: &'a str,
            time_zone: &'static str,
            updated_at: &'a str,
        }
        #[derive(Serialize)]
        struct Comp<'a> {
            id: &'a str,
            name: &'a str,
            status: ComponentStatus,
            description: Option<&'a str>,
            position: usize,
            updated_at: &'a str,
            group: bool,
            group_id: Option<&'a str>,
            only_show_if_degraded: bool,
        }
        #[derive(Serialize)]
        struct Status {
            indicator: &'static str,
            description: &'static str,
        }
        #[derive(Serialize)]
        struct Summary<'a> {
            page: Page<'a>,
            status: Status,
            components: Vec<Comp<'a>>,
            incidents: [(); 0],
            scheduled_maintenances: [(); 0],
        }
        let overall = self.overall();
        let summary = Summary {
            page: Page {
                id: &self.id,
                name: &self.title,
                url: &self.url,
                time_zone: "Etc/UTC",
                updated_at: &self.generated_at,
            },
            status: Status {
                indicator: overall.indicator(),
                description: overall.description(),
            },
            components: self
                .components
                .iter()
                .enumerate()
                .map(|(i, c)| Comp {
                    id: &c.id,
                    name: &c.name,
                    status: c.status,
                    description: c.description.as_deref(),
                    position: i + 1,
                    updated_at: &self.generated_at,
                    group: false,
                    group_id: None,
                    only_show_if_degraded: false,
                })
                .collect(),
            incidents: [],
            scheduled_maintenances: [],
        };
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_string(&summary).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
