//! The overall rule, component order, group status and the enums' names.

use super::fixture::{self, NOW};
use crate::model::*;

fn page_of(statuses: &[ComponentStatus]) -> PageView {
    let mut v = fixture::view();
    v.groups = vec![GroupView {
        id: None,
        name: None,
        components: statuses
            .iter()
            .enumerate()
            .map(|(i, s)| fixture::component(&format!("c{i}"), "C", *s, 1))
            .collect(),
    }];
    v
}

#[test]
fn worst_component_wins() {
    use ComponentStatus::*;
    assert_eq!(page_of(&[]).overall(), Operational);
    assert_eq!(page_of(&[Operational, Operational]).overall(), Operational);
    assert_eq!(page_of(&[Operational, Maintenance]).overall(), Maintenance);
    assert_eq!(page_of(&[Maintenance, Degraded]).overall(), Degraded);
    assert_eq!(
        page_of(&[PartialOutage, Degraded, Operational]).overall(),
        PartialOutage
    );
    assert_eq!(
        page_of(&[Maintenance, MajorOutage, PartialOutage]).overall(),
        MajorOutage
    );
    assert_eq!(fixture::view().overall(), PartialOutage);
}

#[test]
fn severity_orders_all_statuses() {
    let severities: Vec<u8> = ComponentStatus::ALL.iter().map(|s| s.severity()).collect();
    assert_eq!(severities, [0, 1, 2, 3, 4]);
    for a in ComponentStatus::ALL {
        for b in ComponentStatus::ALL {
            let w = a.worst(b);
            assert!(w.severity() >= a.severity() && w.severity() >= b.severity());
        }
    }
}

#[test]
fn components_iterate_in_display_order() {
    let v = fixture::view();
    let ids: Vec<&str> = v.components().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "cmp_api",
            "cmp_web",
            "cmp_db",
            "cmp_s3",
            "cmp_cdn",
            "cmp_dns",
            "cmp_notify"
        ]
    );
    assert_eq!(
        v.component("cmp_db").map(|c| c.name.as_str()),
        Some("Database")
    );
    assert!(v.component("cmp_nope").is_none());
}

#[test]
fn group_status_is_its_worst_component() {
    let v = fixture::view();
    let statuses: Vec<ComponentStatus> = v.groups.iter().map(GroupView::status).collect();
    assert_eq!(
        statuses,
        [
            ComponentStatus::PartialOutage,
            ComponentStatus::Degraded,
            ComponentStatus::Operational,
            ComponentStatus::Operational,
        ]
    );
    let empty = GroupView {
        id: None,
        name: None,
        components: Vec::new(),
    };
    assert_eq!(empty.status(), ComponentStatus::Operational);
}

#[test]
fn active_incidents_and_maintenance_phases() {
    let v = fixture::view();
    let active: Vec<&str> = v.active_incidents().map(|i| i.id.as_str()).collect();
    assert_eq!(active, ["inc_api_errors", "inc_s3_slow"]);
    let flags: Vec<(bool, bool)> = v
        .maintenances
        .iter()
        .map(|m| (m.is_active(), m.is_upcoming()))
        .collect();
    assert_eq!(flags, [(false, false), (true, false), (false, true)]);
}

#[test]
fn updates_are_sorted_newest_first_even_if_given_otherwise() {
    let mut i = fixture::view().incidents.remove(0);
    i.updates.reverse();
    let at: Vec<i64> = i
        .updates_newest_first()
        .iter()
        .map(|u| u.created_at_ms)
        .collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "{at:?}");
    assert!(at.first().is_some_and(|t| *t <= NOW));
}

#[test]
fn api_names_match_serde() {
    for s in ComponentStatus::ALL {
        assert_eq!(serde_json::to_value(s).ok(), Some(s.api_name().into()));
    }
    for p in IncidentPhase::ALL {
        assert_eq!(serde_json::to_value(p).ok(), Some(p.api_name().into()));
    }
    for i in Impact::ALL {
        assert_eq!(serde_json::to_value(i).ok(), Some(i.api_name().into()));
    }
    for m in MaintenancePhase::ALL {
        assert_eq!(serde_json::to_value(m).ok(), Some(m.api_name().into()));
    }
}

#[test]
fn statuspage_wording() {
    use ComponentStatus::*;
    let words: Vec<(&str, &str)> = [
        Operational,
        Maintenance,
        Degraded,
        PartialOutage,
        MajorOutage,
    ]
    .iter()
    .map(|s| (s.indicator(), s.description()))
    .collect();
    assert_eq!(
        words,
        [
            ("none", "All Systems Operational"),
            ("maintenance", "Service Under Maintenance"),
            ("minor", "Partially Degraded Service"),
            ("major", "Partial System Outage"),
            ("critical", "Major System Outage"),
        ]
    );
}
