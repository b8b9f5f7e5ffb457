//! The monitor the API shows reads back into the same monitor: for every probe kind, the view
//! of `GET /v1/monitors/{id}` (with the secrets it hides given again) parses, through the one
//! input parser, to what was stored. Keeps the view's field names and the input's in step.

use netpulse_engine::fixtures::{monitor_body as with_kind, monitor_samples};
use netpulse_engine::input::{MonitorInput, ValidMonitor, KINDS};
use netpulse_engine::model::Monitor;

/// Parses a body as the API does; the error is the message a client would see.
fn input(v: serde_json::Value) -> Result<ValidMonitor, String> {
    let i: MonitorInput = serde_json::from_value(v).map_err(|e| e.to_string())?;
    i.validate().map_err(|e| e.message())
}

/// The body an operator reads back from `GET /v1/monitors/{id}` and submits again: the
/// API view without what the coordinator adds (status, per-region results, revision...),
/// `region_names` under its input name `regions`, and each secret the view hides given
/// again from `original`, as the operator would.
fn read_back(m: &Monitor, original: &serde_json::Value) -> serde_json::Value {
    use crate::api::views::{MonitorView, REDACTED};
    let view = MonitorView::build(m, &[], None, m.updated_at_ms);
    let serde_json::Value::Object(mut body) = serde_json::to_value(view).expect("view") else {
        panic!("the view is an object")
    };
    for added in ["id", "status", "decision", "regions", "revision"] {
        body.remove(added);
    }
    body.remove("created_at");
    body.remove("updated_at");
    if let Some(names) = body.remove("region_names") {
        body.insert("regions".into(), names);
    }
    for (field, value) in body.iter_mut() {
        if value.to_string().contains(REDACTED) {
            *value = original[field.as_str()].clone();
        }
    }
    serde_json::Value::Object(body)
}

#[test]
fn a_monitor_read_back_from_the_api_parses_to_itself() {
    for (kind, body) in monitor_samples() {
        let first = input(body.clone())
            .unwrap_or_else(|e| panic!("{kind}: {e}"))
            .create("mon_sample".into(), 1_700_000_000_000);
        assert_eq!(first.probe.kind(), kind);
        let again = read_back(&first, &body);
        let second = input(again.clone())
            .unwrap_or_else(|e| panic!("{kind}: {again} -> {e}"))
            .replace(&first, first.updated_at_ms);
        assert_eq!(first, second, "{kind}: {again}");
    }
    // Defaults too: a minimal body reads back as its explicit form.
    for kind in KINDS {
        let target = match *kind {
            "http" => "http://x.example/",
            "dns" => "x.example",
            "icmp" | "ssh" | "snmp" => "x.example",
            _ => "x.example:1",
        };
        let mut body = with_kind(kind, target, "regions", ["all"]);
        match *kind {
            "ssh" => {
                body["username"] = "u".into();
                body["password"] = "p".into();
            }
            "snmp" => body["community"] = "public".into(),
            _ => {}
        }
        let first = input(body.clone())
            .unwrap_or_else(|e| panic!("{kind}: {e}"))
            .create("mon_sample".into(), 1);
        let again = read_back(&first, &body);
        let second = input(again.clone())
            .unwrap_or_else(|e| panic!("{kind}: {again} -> {e}"))
            .replace(&first, 1);
        assert_eq!(first, second, "{kind}: {again}");
    }
}
