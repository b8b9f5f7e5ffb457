//! The alerting panel of the overview: the mesh alert banner and recent incidents.
//!
//! Pure like [`super::overview::Overview::build`]: built from API views and `now`.

use crate::api::alert_views::{IncidentView, MeshView};
use netpulse_alert::message::human_duration;

use super::format::monitor_href;
use crate::api::views::parse_time;

/// Incidents shown on the overview.
pub const SHOWN: usize = 10;

/// One incident row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// `inc_<n>`.
    pub id: String,
    /// `open` or `resolved`; also the CSS class.
    pub status: &'static str,
    /// Title.
    pub title: String,
    /// Evidence line.
    pub summary: String,
    /// Link to the monitor, when there is one.
    pub monitor_href: Option<String>,
    /// "12m 5s" so far, or the downtime once resolved.
    pub duration: String,
    /// Who acknowledged it, empty if nobody.
    pub acknowledged_by: String,
}

/// The panel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertsPanel {
    /// Banner text while regions cannot vote.
    pub mesh: Option<String>,
    /// Open incidents first, then the latest resolved ones.
    pub incidents: Vec<IncidentRow>,
}

impl AlertsPanel {
    /// Builds the panel from incidents (newest first) and the mesh view at `now_ms`.
    pub fn build(incidents: &[IncidentView], mesh: &MeshView, now_ms: i64) -> Self {
        let mesh = mesh.degraded.then(|| {
            let mut regions: Vec<String> = mesh
                .abstentions
                .iter()
                .map(|a| format!("{} ({})", a.region, a.reason))
                .collect();
            regions.sort();
            regions.dedup();
            format!(
                "Vantage points lost: {} cannot vote; affected monitors are decided by the other regions or shown as unknown.",
                regions.join(", ")
            )
        });
        let mut rows: Vec<IncidentRow> = incidents
            .iter()
            .filter(|i| i.status == "open")
            .chain(incidents.iter().filter(|i| i.status != "open"))
            .take(SHOWN)
            .map(|i| {
                let duration = match i.downtime_s {
                    Some(s) => human_duration(s),
                    None => parse_time(&i.started_at)
                        .map(|t| human_duration(((now_ms - t).max(0) / 1000) as u64))
                        .unwrap_or_default(),
                };
                IncidentRow {
                    id: i.id.clone(),
                    status: i.status,
                    title: i.title.clone(),
                    summary: i.summary.clone(),
                    monitor_href: i.monitor_id.as_deref().map(monitor_href),
                    duration,
                    acknowledged_by: i.acknowledged_by.clone().unwrap_or_default(),
                }
            })
            .collect();
        rows.truncate(SHOWN);
        Self {
            mesh,
            incidents: rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::alert_views::AbstentionView;

    fn incident(id: &str, status: &'static str, downtime_s: Option<u64>) -> IncidentView {
        IncidentView {
            id: id.into(),
            monitor_id: Some("mon_a".into()),
            status,
            title: "api is down".into(),
            summary: "api is DOWN: 3/3 regions failing".into(),
            started_at: "2026-11-23T00:00:00Z".into(),
            resolved_at: None,
            downtime_s,
            regions: vec![],
            manual: false,
            acknowledged_by: None,
            acknowledged_at: None,
            root_cause: None,
            updates: vec![],
        }
    }

    #[test]
    fn open_incidents_come_first_and_the_mesh_banner_names_regions() {
        let now = parse_time("2026-11-23T00:05:00Z").expect("time");
        let incidents = vec![
            incident("inc_3", "resolved", Some(65)),
            incident("inc_2", "open", None),
        ];
        let mesh = MeshView {
            degraded: true,
            since: None,
            abstentions: vec![AbstentionView {
                region: "ap-south".into(),
                monitor_id: "mon_a".into(),
                reason: netpulse_engine::alerting::RegionSaid::Impaired,
            }],
        };
        let p = AlertsPanel::build(&incidents, &mesh, now);
        assert_eq!(p.incidents[0].id, "inc_2");
        assert_eq!(p.incidents[0].duration, human_duration(300));
        assert_eq!(p.incidents[1].duration, human_duration(65));
        assert_eq!(
            p.incidents[0].monitor_href.as_deref(),
            Some("/monitors/mon_a")
        );
        assert!(p.mesh.expect("banner").contains("ap-south (impaired)"));
        let calm = MeshView {
            degraded: false,
            since: None,
            abstentions: vec![],
        };
        assert!(AlertsPanel::build(&[], &calm, now).mesh.is_none());
    }
}
