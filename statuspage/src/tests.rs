//! Overall rule, escaping and the summary JSON shape.

use super::*;

fn page(statuses: &[ComponentStatus]) -> StatusPage {
    StatusPage {
        id: "acme".into(),
        title: "Acme status".into(),
        url: "https://status.acme.test".into(),
        generated_at: "2026-01-01T00:00:00Z".into(),
        components: statuses
            .iter()
            .enumerate()
            .map(|(i, s)| Component::new(format!("c{i}"), format!("Component {i}"), *s))
            .collect(),
    }
}

#[test]
fn worst_component_wins() {
    use ComponentStatus::*;
    assert_eq!(page(&[]).overall(), Operational);
    assert_eq!(page(&[Operational, Operational]).overall(), Operational);
    assert_eq!(page(&[Operational, Maintenance]).overall(), Maintenance);
    assert_eq!(page(&[Maintenance, Degraded]).overall(), Degraded);
    assert_eq!(
        page(&[PartialOutage, Degraded, Operational]).overall(),
        PartialOutage
    );
    assert_eq!(
        page(&[Maintenance, MajorOutage, PartialOutage]).overall(),
        MajorOutage
    );
}

#[test]
fn html_is_escaped_and_script_free() {
    let mut p = page(&[ComponentStatus::Degraded]);
    p.title = "<script>alert(1)</script>".into();
    p.components[0].name = "<img src=x onerror=alert(1)>".into();
    p.components[0].description = Some("\"quoted\" & 'single'".into());
    p.components[0].uptime_90d = Some(99.95);
    let html = p.render_html().expect("render");
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
    assert!(!html.contains("\"quoted\""));
    assert!(html.contains("Partially Degraded Service"));
    assert!(html.contains("Degraded performance"));
    assert!(html.contains("99.95 % uptime"));
    assert!(html.contains("prefers-color-scheme: dark"));
}

#[test]
fn uptime_is_never_rounded_up() {
    let c = Component::new("a", "A", ComponentStatus::Operational);
    assert_eq!(c.uptime_label(), None);
    assert_eq!(
        c.clone().with_uptime(99.999).uptime_label().as_deref(),
        Some("99.99 %")
    );
    assert_eq!(
        c.clone().with_uptime(100.0).uptime_label().as_deref(),
        Some("100.00 %")
    );
    assert_eq!(
        c.with_uptime(-3.0).uptime_label().as_deref(),
        Some("0.00 %")
    );
}

#[test]
fn summary_json_shape() {
    use ComponentStatus::*;
    let v: serde_json::Value =
        serde_json::from_str(&page(&[Operational, MajorOutage, Maintenance]).summary_json())
            .expect("json");
    assert_eq!(v["page"]["id"], "acme");
    assert_eq!(v["page"]["name"], "Acme status");
    assert_eq!(v["page"]["url"], "https://status.acme.test");
    assert_eq!(v["page"]["updated_at"], "2026-01-01T00:00:00Z");
    assert_eq!(v["status"]["indicator"], "critical");
    assert_eq!(v["status"]["description"], "Major System Outage");
    let comps = v["components"].as_array().expect("components");
    let statuses: Vec<&str> = comps
        .iter()
        .map(|c| c["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        ["operational", "major_outage", "under_maintenance"]
    );
    assert_eq!(comps[1]["id"], "c1");
    assert_eq!(comps[1]["name"], "Component 1");
    assert_eq!(comps[1]["position"], 2);
    assert_eq!(v["incidents"], serde_json::json!([]));
    assert_eq!(v["scheduled_maintenances"], serde_json::json!([]));

    let ok: serde_json::Value = serde_json::from_str(&page(&[]).summary_json()).expect("json");
    assert_eq!(ok["status"]["indicator"], "none");
    assert_eq!(ok["status"]["description"], "All Systems Operational");
}

#[test]
fn api_names_match_serde() {
    use ComponentStatus::*;
    for s in [
        Operational,
        Degraded,
        PartialOutage,
        MajorOutage,
        Maintenance,
    ] {
        assert_eq!(serde_json::to_value(s).expect("json"), s.api_name());
    }
}
