//! The Statuspage v2 documents, field by field.

use serde_json::{json, Map, Value};

use super::fixture;
use crate::api_v2;
use crate::error::RenderError;
use crate::model::*;

fn parse(doc: Result<String, RenderError>) -> Value {
    let text = match doc {
        Ok(text) => text,
        Err(e) => panic!("render failed: {e}"),
    };
    match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => panic!("invalid JSON ({e}): {text}"),
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .map(Map::keys)
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted(mut k: Vec<&str>) -> Vec<&str> {
    k.sort_unstable();
    k
}

fn array(v: &Value) -> &Vec<Value> {
    match v.as_array() {
        Some(a) => a,
        None => panic!("not an array: {v}"),
    }
}

fn ids(v: &Value) -> Vec<&str> {
    array(v).iter().filter_map(|x| x["id"].as_str()).collect()
}

const COMPONENT_KEYS: [&str; 13] = [
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
];

const INCIDENT_KEYS: [&str; 13] = [
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
];

const UPDATE_KEYS: [&str; 11] = [
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
];

/// `2026-12-03T21:32:41.123Z`: RFC 3339, UTC, milliseconds.
fn is_statuspage_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Every `*_at`, `scheduled_for` and `scheduled_until` value in the document is null or a
/// Statuspage time.
fn check_times(v: &Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k.ends_with("_at") || k == "scheduled_for" || k == "scheduled_until" {
                    assert!(
                        x.is_null() || x.as_str().is_some_and(is_statuspage_time),
                        "{k}: {x}"
                    );
                }
                check_times(x);
            }
        }
        Value::Array(a) => a.iter().for_each(check_times),
        _ => {}
    }
}

fn check_page(v: &Value) {
    assert_eq!(
        keys(&v["page"]),
        sorted(vec!["id", "name", "url", "time_zone", "updated_at"])
    );
    assert_eq!(
        v["page"],
        json!({
            "id": "sp_acme",
            "name": "Acme Cloud",
            "url": "https://status.acme.test",
            "time_zone": "Etc/UTC",
            "updated_at": "2026-12-03T21:12:41.123Z",
        })
    );
}

#[test]
fn summary_document() {
    let v = parse(api_v2::summary(&fixture::view()));
    assert_eq!(
        keys(&v),
        [
            "components",
            "incidents",
            "page",
            "scheduled_maintenances",
            "status"
        ]
    );
    check_page(&v);
    check_times(&v);
    assert_eq!(
        v["status"],
        json!({"indicator": "major", "description": "Partial System Outage"})
    );
    assert_eq!(
        ids(&v["components"]),
        [
            "grp_core",
            "cmp_api",
            "cmp_web",
            "grp_data",
            "cmp_db",
            "cmp_s3",
            "grp_edge",
            "cmp_cdn",
            "cmp_dns",
            "cmp_notify"
        ]
    );
    assert_eq!(ids(&v["incidents"]), ["inc_api_errors", "inc_s3_slow"]);
    assert_eq!(
        ids(&v["scheduled_maintenances"]),
        ["mnt_db_storage", "mnt_cdn_certs"]
    );
}

#[test]
fn status_document() {
    let v = parse(api_v2::status(&fixture::view()));
    assert_eq!(keys(&v), ["page", "status"]);
    check_page(&v);
    assert_eq!(v["status"]["indicator"], "major");

    let mut quiet = fixture::view();
    quiet.groups.clear();
    let v = parse(api_v2::status(&quiet));
    assert_eq!(
        v["status"],
        json!({"indicator": "none", "description": "All Systems Operational"})
    );
}

#[test]
fn components_document() {
    let v = parse(api_v2::components(&fixture::view()));
    assert_eq!(keys(&v), ["components", "page"]);
    check_page(&v);
    check_times(&v);
    let comps = array(&v["components"]);
    assert_eq!(comps.len(), 10);

    let mut group_keys = COMPONENT_KEYS.to_vec();
    group_keys.push("components");
    assert_eq!(keys(&comps[0]), sorted(group_keys));
    assert_eq!(
        comps[0],
        json!({
            "id": "grp_core",
            "name": "Core platform",
            "status": "partial_outage",
            "created_at": "2025-10-29T00:00:00.000Z",
            "updated_at": "2026-12-03T20:42:41.123Z",
            "position": 1,
            "description": null,
            "showcase": false,
            "start_date": null,
            "group_id": null,
            "page_id": "sp_acme",
            "group": true,
            "only_show_if_degraded": false,
            "components": ["cmp_api", "cmp_web"],
        })
    );
    assert_eq!(keys(&comps[1]), sorted(COMPONENT_KEYS.to_vec()));
    assert_eq!(
        comps[1],
        json!({
            "id": "cmp_api",
            "name": "Public API",
            "status": "partial_outage",
            "created_at": "2025-10-29T00:00:00.000Z",
            "updated_at": "2026-12-03T20:42:41.123Z",
            "position": 1,
            "description": "REST and GraphQL endpoints",
            "showcase": true,
            "start_date": "2025-10-29",
            "group_id": "grp_core",
            "page_id": "sp_acme",
            "group": false,
            "only_show_if_degraded": false,
        })
    );
    let statuses: Vec<&str> = comps.iter().filter_map(|c| c["status"].as_str()).collect();
    assert_eq!(
        statuses,
        [
            "partial_outage",
            "partial_outage",
            "operational",
            "degraded_performance",
            "under_maintenance",
            "degraded_performance",
            "operational",
            "operational",
            "operational",
            "operational"
        ]
    );
    // DNS started later than the others.
    assert_eq!(comps[8]["start_date"], "2026-09-15");
    // Ungrouped: no group, and no `components` key on a plain component.
    let notify = &comps[9];
    assert_eq!(notify["id"], "cmp_notify");
    assert_eq!(notify["group_id"], Value::Null);
    assert_eq!(notify["description"], Value::Null);
    assert_eq!(notify["position"], 7);
    assert_eq!(keys(notify), sorted(COMPONENT_KEYS.to_vec()));

    let mut hidden = fixture::view();
    hidden.options.show_uptime = false;
    let v = parse(api_v2::components(&hidden));
    assert_eq!(v["components"][1]["showcase"], false);
}

#[test]
fn incidents_document() {
    let v = parse(api_v2::incidents(&fixture::view()));
    assert_eq!(keys(&v), ["incidents", "page"]);
    check_page(&v);
    check_times(&v);
    assert_eq!(
        ids(&v["incidents"]),
        [
            "inc_api_errors",
            "inc_s3_slow",
            "inc_login",
            "inc_dns",
            "inc_old"
        ]
    );
    let incidents = array(&v["incidents"]);
    for i in incidents {
        assert_eq!(keys(i), sorted(INCIDENT_KEYS.to_vec()));
        for u in array(&i["incident_updates"]) {
            assert_eq!(keys(u), sorted(UPDATE_KEYS.to_vec()));
            assert_eq!(u["incident_id"], i["id"]);
        }
    }

    let api = &incidents[0];
    assert_eq!(api["name"], "Elevated API error rates");
    assert_eq!(api["status"], "identified");
    assert_eq!(api["impact"], "major");
    assert_eq!(api["created_at"], "2026-12-03T20:42:41.123Z");
    assert_eq!(api["started_at"], api["created_at"]);
    assert_eq!(api["updated_at"], "2026-12-03T21:12:41.123Z");
    assert_eq!(api["monitoring_at"], Value::Null);
    assert_eq!(api["resolved_at"], Value::Null);
    assert_eq!(api["shortlink"], "https://status.acme.test#inc_api_errors");
    assert_eq!(api["page_id"], "sp_acme");
    assert_eq!(
        ids(&api["incident_updates"]),
        ["upd_api_3", "upd_api_2", "upd_api_1"]
    );
    assert_eq!(
        api["incident_updates"][1],
        json!({
            "id": "upd_api_2",
            "status": "investigating",
            "body": "We are still investigating.\nAbout 8 % of requests fail.",
            "incident_id": "inc_api_errors",
            "created_at": "2026-12-03T20:57:41.123Z",
            "updated_at": "2026-12-03T20:57:41.123Z",
            "display_at": "2026-12-03T20:57:41.123Z",
            "affected_components": null,
            "deliver_notifications": false,
            "custom_tweet": null,
            "tweet_id": null,
        })
    );
    assert_eq!(ids(&api["components"]), ["cmp_api"]);
    assert_eq!(keys(&api["components"][0]), sorted(COMPONENT_KEYS.to_vec()));
    assert_eq!(api["components"][0]["group_id"], "grp_core");

    assert_eq!(incidents[1]["status"], "monitoring");
    assert_eq!(incidents[1]["impact"], "minor");
    assert_eq!(incidents[1]["monitoring_at"], "2026-12-03T20:32:41.123Z");
    assert_eq!(incidents[2]["status"], "resolved");
    assert_eq!(incidents[2]["resolved_at"], "2026-12-02T15:15:00.000Z");
    assert_eq!(incidents[3]["status"], "postmortem");
    assert_eq!(incidents[3]["impact"], "critical");
    assert_eq!(ids(&incidents[3]["components"]), ["cmp_dns", "cmp_cdn"]);
}

#[test]
fn incidents_are_limited_to_fifty_newest() {
    let mut v = fixture::view();
    let template = v.incidents[2].clone();
    v.incidents = (0..60)
        .map(|n| {
            let mut i = template.clone();
            i.id = format!("inc_{n}");
            i.created_at_ms = fixture::TODAY - n * fixture::HOUR;
            i
        })
        .rev()
        .collect();
    let doc = parse(api_v2::incidents(&v));
    let got = ids(&doc["incidents"]);
    assert_eq!(got.len(), 50);
    assert_eq!(got.first(), Some(&"inc_0"));
    assert_eq!(got.last(), Some(&"inc_49"));
}

#[test]
fn unresolved_incidents_document() {
    let v = parse(api_v2::incidents_unresolved(&fixture::view()));
    assert_eq!(keys(&v), ["incidents", "page"]);
    check_page(&v);
    assert_eq!(ids(&v["incidents"]), ["inc_api_errors", "inc_s3_slow"]);
}

#[test]
fn scheduled_maintenances_documents() {
    let view = fixture::view();
    let all = parse(api_v2::scheduled_maintenances(&view));
    assert_eq!(keys(&all), ["page", "scheduled_maintenances"]);
    check_page(&all);
    check_times(&all);
    // Latest start first.
    assert_eq!(
        ids(&all["scheduled_maintenances"]),
        ["mnt_cdn_certs", "mnt_db_storage", "mnt_db_minor"]
    );
    let mut maintenance_keys = INCIDENT_KEYS.to_vec();
    maintenance_keys.extend(["scheduled_for", "scheduled_until"]);
    for m in array(&all["scheduled_maintenances"]) {
        assert_eq!(keys(m), sorted(maintenance_keys.clone()));
        assert_eq!(m["impact"], "maintenance");
        assert_eq!(m["incident_updates"], json!([]));
        assert_eq!(m["monitoring_at"], Value::Null);
    }
    assert_eq!(
        all["scheduled_maintenances"][0],
        json!({
            "id": "mnt_cdn_certs",
            "name": "CDN certificate rotation",
            "status": "scheduled",
            "created_at": "2026-12-02T00:00:00.000Z",
            "updated_at": "2026-12-02T00:00:00.000Z",
            "monitoring_at": null,
            "resolved_at": null,
            "impact": "maintenance",
            "shortlink": "https://status.acme.test#mnt_cdn_certs",
            "started_at": "2026-12-02T00:00:00.000Z",
            "page_id": "sp_acme",
            "incident_updates": [],
            "components": all["scheduled_maintenances"][0]["components"].clone(),
            "scheduled_for": "2026-12-04T23:00:00.000Z",
            "scheduled_until": "2026-12-05T00:30:00.000Z",
        })
    );
    assert_eq!(
        ids(&all["scheduled_maintenances"][0]["components"]),
        ["cmp_cdn", "cmp_dns"]
    );
    let running = &all["scheduled_maintenances"][1];
    assert_eq!(running["status"], "in_progress");
    assert_eq!(running["updated_at"], "2026-12-03T20:00:00.000Z");
    assert_eq!(running["resolved_at"], Value::Null);
    let done = &all["scheduled_maintenances"][2];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["resolved_at"], "2026-12-01T03:00:00.000Z");
    assert_eq!(done["updated_at"], done["resolved_at"]);

    let upcoming = parse(api_v2::scheduled_maintenances_upcoming(&view));
    assert_eq!(keys(&upcoming), ["page", "scheduled_maintenances"]);
    assert_eq!(ids(&upcoming["scheduled_maintenances"]), ["mnt_cdn_certs"]);
    let active = parse(api_v2::scheduled_maintenances_active(&view));
    assert_eq!(keys(&active), ["page", "scheduled_maintenances"]);
    assert_eq!(ids(&active["scheduled_maintenances"]), ["mnt_db_storage"]);
}

#[test]
fn unknown_component_ids_are_skipped() {
    let mut v = fixture::view();
    v.incidents[0].components = vec!["cmp_gone".into(), "cmp_web".into()];
    let doc = parse(api_v2::incidents_unresolved(&v));
    assert_eq!(ids(&doc["incidents"][0]["components"]), ["cmp_web"]);
}

#[test]
fn empty_page() {
    let mut v = fixture::view();
    v.groups.clear();
    v.incidents.clear();
    v.maintenances.clear();
    let doc = parse(api_v2::summary(&v));
    assert_eq!(doc["components"], json!([]));
    assert_eq!(doc["incidents"], json!([]));
    assert_eq!(doc["scheduled_maintenances"], json!([]));
    assert_eq!(doc["status"]["indicator"], "none");
}

#[test]
fn strings_are_json_escaped() {
    let mut v = fixture::view();
    v.title = "Quote \" backslash \\ newline \n <tag>".into();
    let doc = parse(api_v2::status(&v));
    assert_eq!(
        doc["page"]["name"],
        "Quote \" backslash \\ newline \n <tag>"
    );
}

#[test]
fn same_input_same_bytes() {
    let v = fixture::view();
    assert_eq!(api_v2::summary(&v).ok(), api_v2::summary(&v.clone()).ok());
}

#[test]
fn indicator_for_each_overall_status() {
    for status in ComponentStatus::ALL {
        let mut v = fixture::view();
        for c in v.groups.iter_mut().flat_map(|g| g.components.iter_mut()) {
            c.status = ComponentStatus::Operational;
        }
        v.groups[1].components[0].status = status;
        let doc = parse(api_v2::status(&v));
        assert_eq!(doc["status"]["indicator"], status.indicator());
        assert_eq!(doc["status"]["description"], status.description());
    }
}
