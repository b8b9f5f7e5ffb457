//! The public Statuspage v2 API (`/api/v2/*.json`), in Atlassian's exact shapes.
//!
//! Dashboards, chat bots and "status of my vendors" aggregators already speak this API, so a
//! NetPulse page works with them unchanged. Compatibility means: every key present with `null`
//! rather than omitted, ids as strings, the same enum values, and times in RFC 3339 UTC with
//! milliseconds (`2026-12-03T21:32:41.123Z`).
//!
//! Where NetPulse has no equivalent, the value is the one Statuspage itself sends in that case:
//! - `affected_components`, `custom_tweet` and `tweet_id` of an update are `null` (NetPulse does
//!   not record which component moved from which status to which in each update);
//! - `deliver_notifications` is `false` (a NetPulse page has no subscribers to notify);
//! - `showcase` is the page's "show uptime" option, `only_show_if_degraded` is `false`;
//! - a scheduled maintenance has no updates (`incident_updates: []`), `monitoring_at: null`, and
//!   its `updated_at` is its latest phase change (created, started or ended).
//!
//! `shortlink` points at the incident on the page (`<url>#<id>`). Groups become group components
//! (`group: true`, their children's ids in `components`), placed right before their first child;
//! a group without components is left out, as on the HTML page.

use serde::Serialize;

use crate::error::RenderError;
use crate::model::{
    ComponentStatus, ComponentView, GroupView, Impact, IncidentPhase, IncidentView,
    MaintenancePhase, MaintenanceView, PageView,
};
use crate::time_fmt::{iso_date, rfc3339_ms};
use crate::xml::encode_uri_part;

/// Most incidents (and scheduled maintenances) in the list documents, as Statuspage returns.
pub const LIST_LIMIT: usize = 50;

/// `summary.json`: page, components, unresolved incidents, upcoming and in-progress
/// maintenances, and the status indicator.
pub fn summary(view: &PageView) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Summary<'a> {
        page: PageJson<'a>,
        components: Vec<ComponentJson<'a>>,
        incidents: Vec<IncidentJson<'a>>,
        scheduled_maintenances: Vec<MaintenanceJson<'a>>,
        status: StatusJson,
    }
    to_json(&Summary {
        page: PageJson::new(view),
        components: components_json(view),
        incidents: unresolved(view),
        scheduled_maintenances: view
            .maintenances
            .iter()
            .filter(|m| m.status != MaintenancePhase::Completed)
            .map(|m| MaintenanceJson::new(view, m))
            .collect(),
        status: StatusJson::new(view),
    })
}

/// `status.json`: page and status indicator.
pub fn status(view: &PageView) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Status<'a> {
        page: PageJson<'a>,
        status: StatusJson,
    }
    to_json(&Status {
        page: PageJson::new(view),
        status: StatusJson::new(view),
    })
}

/// `components.json`: every component, groups included.
pub fn components(view: &PageView) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Components<'a> {
        page: PageJson<'a>,
        components: Vec<ComponentJson<'a>>,
    }
    to_json(&Components {
        page: PageJson::new(view),
        components: components_json(view),
    })
}

/// `incidents.json`: the [`LIST_LIMIT`] newest incidents, whatever their status.
pub fn incidents(view: &PageView) -> Result<String, RenderError> {
    let mut all: Vec<&IncidentView> = view.incidents.iter().collect();
    // Stable: equal creation times keep the caller's order.
    all.sort_by_key(|i| std::cmp::Reverse(i.created_at_ms));
    incidents_doc(
        view,
        all.into_iter()
            .take(LIST_LIMIT)
            .map(|i| IncidentJson::new(view, i))
            .collect(),
    )
}

/// `incidents/unresolved.json`: every unresolved incident, newest first.
pub fn incidents_unresolved(view: &PageView) -> Result<String, RenderError> {
    incidents_doc(view, unresolved(view))
}

/// `scheduled-maintenances.json`: the [`LIST_LIMIT`] most recent windows (latest start first),
/// whatever their status.
pub fn scheduled_maintenances(view: &PageView) -> Result<String, RenderError> {
    let mut all: Vec<&MaintenanceView> = view.maintenances.iter().collect();
    all.sort_by_key(|m| std::cmp::Reverse(m.scheduled_for_ms));
    maintenances_doc(view, all.into_iter().take(LIST_LIMIT))
}

/// `scheduled-maintenances/upcoming.json`: windows not started yet, soonest first.
pub fn scheduled_maintenances_upcoming(view: &PageView) -> Result<String, RenderError> {
    maintenances_doc(view, view.maintenances.iter().filter(|m| m.is_upcoming()))
}

/// `scheduled-maintenances/active.json`: windows in progress, soonest first.
pub fn scheduled_maintenances_active(view: &PageView) -> Result<String, RenderError> {
    maintenances_doc(view, view.maintenances.iter().filter(|m| m.is_active()))
}

fn to_json<T: Serialize>(doc: &T) -> Result<String, RenderError> {
    serde_json::to_string(doc).map_err(RenderError::Json)
}

fn unresolved<'a>(view: &'a PageView) -> Vec<IncidentJson<'a>> {
    let mut active: Vec<&IncidentView> = view.active_incidents().collect();
    active.sort_by_key(|i| std::cmp::Reverse(i.created_at_ms));
    active
        .into_iter()
        .map(|i| IncidentJson::new(view, i))
        .collect()
}

fn incidents_doc<'a>(
    view: &'a PageView,
    incidents: Vec<IncidentJson<'a>>,
) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Incidents<'a> {
        page: PageJson<'a>,
        incidents: Vec<IncidentJson<'a>>,
    }
    to_json(&Incidents {
        page: PageJson::new(view),
        incidents,
    })
}

fn maintenances_doc<'a>(
    view: &'a PageView,
    maintenances: impl Iterator<Item = &'a MaintenanceView>,
) -> Result<String, RenderError> {
    #[derive(Serialize)]
    struct Maintenances<'a> {
        page: PageJson<'a>,
        scheduled_maintenances: Vec<MaintenanceJson<'a>>,
    }
    to_json(&Maintenances {
        page: PageJson::new(view),
        scheduled_maintenances: maintenances
            .map(|m| MaintenanceJson::new(view, m))
            .collect(),
    })
}

/// The `page` object of every document.
#[derive(Serialize)]
struct PageJson<'a> {
    id: &'a str,
    name: &'a str,
    url: &'a str,
    time_zone: &'static str,
    updated_at: String,
}

impl<'a> PageJson<'a> {
    fn new(view: &'a PageView) -> Self {
        PageJson {
            id: &view.id,
            name: &view.title,
            url: &view.url,
            // Every time is written in UTC; the page has no other zone.
            time_zone: "Etc/UTC",
            updated_at: rfc3339_ms(view.updated_at_ms),
        }
    }
}

/// The `status` object: indicator and description of the overall status.
#[derive(Serialize)]
struct StatusJson {
    indicator: &'static str,
    description: &'static str,
}

impl StatusJson {
    fn new(view: &PageView) -> Self {
        let overall = view.overall();
        StatusJson {
            indicator: overall.indicator(),
            description: overall.description(),
        }
    }
}

/// A component or a group component.
#[derive(Serialize)]
struct ComponentJson<'a> {
    id: &'a str,
    name: &'a str,
    status: ComponentStatus,
    created_at: String,
    updated_at: String,
    position: u32,
    description: Option<&'a str>,
    showcase: bool,
    start_date: Option<String>,
    group_id: Option<&'a str>,
    page_id: &'a str,
    group: bool,
    only_show_if_degraded: bool,
    /// Ids of the children; present on groups only, as in Statuspage.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<&'a str>>,
}

impl<'a> ComponentJson<'a> {
    fn component(view: &'a PageView, c: &'a ComponentView, group_id: Option<&'a str>) -> Self {
        ComponentJson {
            id: &c.id,
            name: &c.name,
            status: c.status,
            created_at: rfc3339_ms(c.created_at_ms),
            updated_at: rfc3339_ms(c.updated_at_ms),
            position: c.position,
            description: c.description.as_deref(),
            showcase: view.options.show_uptime,
            start_date: Some(iso_date(c.created_at_ms)),
            group_id,
            page_id: &view.id,
            group: false,
            only_show_if_degraded: false,
            components: None,
        }
    }

    /// A group as Statuspage has it: worst child status, first creation and last change of
    /// its children, the position of its first child. `None` for the ungrouped components
    /// (no id) and for an empty group.
    fn group(view: &'a PageView, g: &'a GroupView) -> Option<Self> {
        let id = g.id.as_deref()?;
        let first = g.components.first()?;
        Some(ComponentJson {
            id,
            name: g.name.as_deref().unwrap_or(id),
            status: g.status(),
            created_at: rfc3339_ms(
                g.components
                    .iter()
                    .map(|c| c.created_at_ms)
                    .min()
                    .unwrap_or(first.created_at_ms),
            ),
            updated_at: rfc3339_ms(
                g.components
                    .iter()
                    .map(|c| c.updated_at_ms)
                    .max()
                    .unwrap_or(first.updated_at_ms),
            ),
            position: first.position,
            description: None,
            showcase: false,
            start_date: None,
            group_id: None,
            page_id: &view.id,
            group: true,
            only_show_if_degraded: false,
            components: Some(g.components.iter().map(|c| c.id.as_str()).collect()),
        })
    }
}

/// Every component in page order, each group right before its children.
fn components_json(view: &PageView) -> Vec<ComponentJson<'_>> {
    let mut out = Vec::new();
    for g in &view.groups {
        let group = ComponentJson::group(view, g);
        let group_id = group.as_ref().map(|j| j.id);
        out.extend(group);
        out.extend(
            g.components
                .iter()
                .map(|c| ComponentJson::component(view, c, group_id)),
        );
    }
    out
}

/// The components with these ids that the page shows (unknown ids are skipped), each with its
/// group id.
fn components_by_id<'a>(view: &'a PageView, ids: &'a [String]) -> Vec<ComponentJson<'a>> {
    ids.iter()
        .filter_map(|id| {
            view.groups.iter().find_map(|g| {
                let c = g.components.iter().find(|c| &c.id == id)?;
                Some(ComponentJson::component(view, c, g.id.as_deref()))
            })
        })
        .collect()
}

/// One entry of `incident_updates`.
#[derive(Serialize)]
struct UpdateJson<'a> {
    id: &'a str,
    status: IncidentPhase,
    body: &'a str,
    incident_id: &'a str,
    created_at: String,
    updated_at: String,
    display_at: String,
    affected_components: (),
    deliver_notifications: bool,
    custom_tweet: (),
    tweet_id: (),
}

/// An incident.
#[derive(Serialize)]
struct IncidentJson<'a> {
    id: &'a str,
    name: &'a str,
    status: IncidentPhase,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: Impact,
    shortlink: String,
    started_at: String,
    page_id: &'a str,
    incident_updates: Vec<UpdateJson<'a>>,
    components: Vec<ComponentJson<'a>>,
}

impl<'a> IncidentJson<'a> {
    fn new(view: &'a PageView, i: &'a IncidentView) -> Self {
        IncidentJson {
            id: &i.id,
            name: &i.name,
            status: i.status,
            created_at: rfc3339_ms(i.created_at_ms),
            updated_at: rfc3339_ms(i.updated_at_ms),
            monitoring_at: i.monitoring_at_ms.map(rfc3339_ms),
            resolved_at: i.resolved_at_ms.map(rfc3339_ms),
            impact: i.impact,
            shortlink: shortlink(view, &i.id),
            started_at: rfc3339_ms(i.created_at_ms),
            page_id: &view.id,
            incident_updates: i
                .updates_newest_first()
                .into_iter()
                .map(|u| {
                    let at = rfc3339_ms(u.created_at_ms);
                    UpdateJson {
                        id: &u.id,
                        status: u.status,
                        body: &u.body,
                        incident_id: &i.id,
                        created_at: at.clone(),
                        updated_at: at.clone(),
                        display_at: at,
                        affected_components: (),
                        deliver_notifications: false,
                        custom_tweet: (),
                        tweet_id: (),
                    }
                })
                .collect(),
            components: components_by_id(view, &i.components),
        }
    }
}

/// A scheduled maintenance: the incident shape plus its window.
#[derive(Serialize)]
struct MaintenanceJson<'a> {
    id: &'a str,
    name: &'a str,
    status: MaintenancePhase,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: Impact,
    shortlink: String,
    started_at: String,
    page_id: &'a str,
    incident_updates: Vec<UpdateJson<'a>>,
    components: Vec<ComponentJson<'a>>,
    scheduled_for: String,
    scheduled_until: String,
}

impl<'a> MaintenanceJson<'a> {
    fn new(view: &'a PageView, m: &'a MaintenanceView) -> Self {
        let updated_at_ms = match m.status {
            MaintenancePhase::Scheduled => m.created_at_ms,
            MaintenancePhase::InProgress => m.scheduled_for_ms,
            MaintenancePhase::Completed => m.scheduled_until_ms,
        }
        .max(m.created_at_ms);
        MaintenanceJson {
            id: &m.id,
            name: &m.name,
            status: m.status,
            created_at: rfc3339_ms(m.created_at_ms),
            updated_at: rfc3339_ms(updated_at_ms),
            monitoring_at: None,
            resolved_at: (m.status == MaintenancePhase::Completed)
                .then(|| rfc3339_ms(m.scheduled_until_ms)),
            impact: Impact::Maintenance,
            shortlink: shortlink(view, &m.id),
            started_at: rfc3339_ms(m.created_at_ms),
            page_id: &view.id,
            incident_updates: Vec::new(),
            components: components_by_id(view, &m.components),
            scheduled_for: rfc3339_ms(m.scheduled_for_ms),
            scheduled_until: rfc3339_ms(m.scheduled_until_ms),
        }
    }
}

/// The incident's place on the HTML page, which gives every incident and maintenance its id
/// as anchor.
fn shortlink(view: &PageView, id: &str) -> String {
    format!("{}#{}", view.url, encode_uri_part(id))
}
