//! Quorum decisions, incidents and alerts end to end: real coordinators and edge nodes, a real
//! webhook receiver (signatures verified independently) and a real SMTP sink (aiosmtpd).

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::api::Api;
use crate::support::cluster::Cluster;
use crate::support::netns::Netns;
use crate::support::receiver::Receiver;
use crate::support::smtp::{ServerTls, SmtpSink};
use crate::support::target::Target;
use crate::support::{bin, eventually, tempdir, Coordinator, Edge, Proc};

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
const HOOK_SECRET: &str = "receiver-secret-0123456789";
const WAIT: Duration = Duration::from_secs(45);

async fn incidents(api: &Api, monitor: &str) -> Vec<Value> {
    api.get(&format!("/v1/incidents?monitor_id={monitor}"))
        .await["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn status(api: &Api, monitor: &str) -> String {
    api.monitor(monitor).await["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_regions_down_one_incident_one_alert_per_channel_delivered_through_500s() {
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let token = api.join_token().await;
    let _edges = Edge::start_regions(dir.path(), &REGIONS, &[coord.quic], &token);
    let receiver = Receiver::start("127.0.0.1", HOOK_SECRET).await;
    let smtp = SmtpSink::start("127.0.0.1", ServerTls::None, &[]);
    let hook = api.webhook_channel(&receiver).await;
    let (status_code, body) = api
        .call(
            reqwest::Method::POST,
            "/v1/channels",
            Some(json!({"name": "ops mail", "type": "email", "config": {
                "host": "127.0.0.1", "port": smtp.addr.port(), "from": "netpulse@example.test",
                "to": ["oncall@example.test"], "tls": "none"}})),
        )
        .await;
    assert_eq!(status_code, 201, "{body}");
    let mail = body["data"]["id"].as_str().expect("id").to_owned();

    // The test action reaches the receiver, signed.
    let (code, body) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/channels/{hook}/test"),
            None,
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let tests = receiver.events("test");
    assert_eq!(tests.len(), 1);
    assert!(tests[0].signature_ok, "test alert signature");

    let target = Target::http("shop is fine").await;
    let addr = target.addr;
    let mon = api
        .create_monitor(
            json!({"name": "shop", "kind": "http", "target": format!("http://{addr}/"),
            "interval_s": 1, "timeout_s": 1, "regions": REGIONS, "confirm": 2,
            "alert_channels": [hook, mail]}),
        )
        .await;
    eventually("monitor up in all regions", WAIT, || async {
        (status(&api, &mon).await == "up").then_some(())
    })
    .await;

    // The receiver fails the first two attempts; the dispatcher must retry.
    receiver.fail_next(2, 500);
    target.stop().await;
    let down = eventually("one monitor.down at the webhook", WAIT, || async {
        let d = receiver.events("monitor.down");
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(down.len(), 1, "one idempotency key");
    let d = &down[0];
    assert!(d.signature_ok, "X-NetPulse-Signature verifies");
    assert_eq!(d.key(), d.body["idempotency_key"], "header and body agree");
    assert_eq!(d.body["monitor"]["id"], mon.as_str());
    assert_eq!(d.body["incident"]["status"], "open");
    let votes: Vec<&str> = d.body["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| r["vote"].as_str().unwrap_or_default())
        .collect();
    // Decided as soon as a majority confirmed; the third region may still be confirming.
    assert_eq!(votes.len(), 3, "{}", d.body);
    assert!(
        votes.iter().filter(|v| **v == "down").count() >= 2,
        "{}",
        d.body
    );
    let failed = receiver
        .requests()
        .iter()
        .filter(|r| r.answered == 500 && r.key() == d.key())
        .count();
    assert_eq!(
        failed, 2,
        "both 500s were for the same key, then it was retried"
    );

    let mails = eventually("one e-mail", WAIT, || async {
        let m = smtp.messages();
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("X-NetPulse-Event: monitor.down"),
        "{}",
        mails[0]
    );

    let inc = incidents(&api, &mon).await;
    assert_eq!(inc.len(), 1, "one incident");
    assert_eq!(inc[0]["status"], "open");
    assert!(inc[0]["resolved_at"].is_null());
    let id = inc[0]["id"].as_str().expect("incident id").to_owned();
    assert_eq!(d.body["incident"]["id"], id.as_str());
    let detail = api.get(&format!("/v1/incidents/{id}")).await;
    let deliveries = detail["data"]["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 2, "one notification per routed channel");
    let hook_delivery = deliveries
        .iter()
        .find(|n| n["channel_id"] == hook.as_str())
        .expect("webhook delivery");
    assert_eq!(hook_delivery["state"], "delivered");
    assert_eq!(hook_delivery["attempts"].as_array().map(Vec::len), Some(3));

    // The overview lists it; its Acknowledge button (a form POST with the session cookie)
    // records who acknowledged.
    let ui = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let cookie = format!("netpulse_key={}", api.key());
    let page = ui
        .get(format!("{}/fragment/overview", api.base()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("overview")
        .text()
        .await
        .expect("body");
    assert!(
        page.contains(&format!("/incidents/{id}/acknowledge")),
        "{page}"
    );
    let r = ui
        .post(format!("{}/incidents/{id}/acknowledge", api.base()))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("acknowledge");
    assert_eq!(r.status(), 303);
    let acked = api.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(acked["data"]["acknowledged_by"], "admin", "{acked}");

    // Recovery resolves the incident and says so, once.
    let back = Target::http_on(addr, "shop is fine").await;
    let up = eventually("monitor.up at the webhook", WAIT, || async {
        let u = receiver.events("monitor.up");
        (!u.is_empty()).then_some(u)
    })
    .await;
    assert_eq!(up[0].body["incident"]["status"], "resolved");
    assert!(up[0].body["incident"]["downtime_s"].as_u64().is_some());
    let inc = incidents(&api, &mon).await;
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0]["status"], "resolved");
    assert!(inc[0]["resolved_at"].is_string());
    for (key, got) in receiver.accepted_by_key() {
        assert_eq!(got.len(), 1, "{key} accepted more than once");
    }
    assert_eq!(receiver.events("monitor.down").len(), 1);
    back.stop().await;
}

/// Starts an edge node inside `ns`, with a canary on the host.
fn edge_in(
    ns: &Netns,
    dir: &std::path::Path,
    region: &str,
    quic: u16,
    token: &str,
    canary: u16,
) -> Proc {
    let mut cmd = ns.command(bin());
    cmd.arg("edge")
        .arg("--data-dir")
        .arg(dir)
        .arg("--region")
        .arg(region)
        .arg("--coordinator")
        .arg(format!("{}:{quic}", ns.host_ip))
        .arg("--join-token")
        .arg(token)
        .arg("--canary")
        .arg(format!("{}:{canary}", ns.host_ip))
        .arg("--canary-interval")
        .arg("1");
    let mut p = Proc::spawn_cmd(&format!("edge-{region}"), &mut cmd);
    p.wait_line("Edge node ", Duration::from_secs(60));
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn one_region_failing_or_cut_off_never_alerts() {
    let dir = tempdir();
    let ns = Netns::create("t60a", 77);
    let coord = Coordinator::start_with(&dir.path().join("coord"), &ns.host_ip, None, Vec::new());
    let api = coord.api();
    let token = api.join_token().await;
    // Two regions on the host, one (ap-south) inside the namespace.
    let _edges = Edge::start_regions(dir.path(), &REGIONS[..2], &[coord.quic], &token);
    let canary = Target::tcp_on(format!("{}:0", ns.host_ip).parse().expect("addr")).await;
    let _ap = edge_in(
        &ns,
        &dir.path().join("ap"),
        "ap-south",
        coord.quic.port(),
        &token,
        canary.addr.port(),
    );
    let receiver = Receiver::start("127.0.0.1", HOOK_SECRET).await;
    let hook = api.webhook_channel(&receiver).await;
    let target = Target::http_on(format!("{}:0", ns.host_ip).parse().expect("addr"), "ok").await;
    let mon = api
        .create_monitor(json!({"name": "api", "kind": "http",
            "target": format!("http://{}/", target.addr), "interval_s": 1, "timeout_s": 1,
            "regions": REGIONS, "confirm": 2, "alert_channels": [hook]}))
        .await;
    eventually("up from all three regions", WAIT, || async {
        (status(&api, &mon).await == "up").then_some(())
    })
    .await;

    // ap-south alone loses the target: it votes down, the others up. Degraded, nothing sent.
    ns.block_tcp(target.addr.port());
    let m = eventually("degraded by one region", WAIT, || async {
        let m = api.monitor(&mon).await;
        (m["status"] == "degraded").then_some(m)
    })
    .await;
    assert_eq!(m["decision"]["down"], 1, "{m}");
    assert_eq!(m["decision"]["required"], 2, "{m}");
    // Let several more confirm periods pass: still no incident and no alert.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(status(&api, &mon).await, "degraded");
    assert!(incidents(&api, &mon).await.is_empty(), "no incident");
    assert!(receiver.requests().is_empty(), "no alert");

    // Now ap-south loses its whole network except the coordinator: its canary fails, its
    // results are marked impaired and it abstains. The mesh alert fires, the target's does not.
    ns.cut_off(coord.quic.port(), &[]);
    let mesh = eventually("mesh.degraded at the webhook", WAIT, || async {
        let m = receiver.events("mesh.degraded");
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert!(mesh[0].signature_ok);
    let regions = mesh[0].body["regions"].as_array().expect("regions");
    assert!(
        regions.iter().any(|r| r["region"] == "ap-south"),
        "{}",
        mesh[0].body
    );
    let view = eventually("ap-south abstains as impaired", WAIT, || async {
        let v = api.get("/v1/mesh").await;
        v["data"]["abstentions"]
            .as_array()?
            .iter()
            .any(|a| a["region"] == "ap-south" && a["reason"] == "impaired")
            .then_some(v)
    })
    .await;
    assert_eq!(view["data"]["degraded"], true);
    eventually("up from the two voting regions", WAIT, || async {
        (status(&api, &mon).await == "up").then_some(())
    })
    .await;
    assert!(incidents(&api, &mon).await.is_empty(), "no incident");
    assert!(
        receiver.events("monitor.down").is_empty()
            && receiver.events("monitor.degraded").is_empty(),
        "no target alert"
    );

    // Healing closes the mesh alert.
    ns.heal();
    eventually("mesh.recovered", WAIT, || async {
        (!receiver.events("mesh.recovered").is_empty()).then_some(())
    })
    .await;
    target.stop().await;
    canary.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn leader_killed_between_decision_and_delivery_the_alert_arrives_once_per_key() {
    let dir = tempdir();
    let mut cluster = Cluster::start(dir.path(), &[]);
    let api = cluster.api(0);
    let token = api.join_token().await;
    let quics = cluster.quic_addrs();
    let _edges = Edge::start_regions(dir.path(), &REGIONS, &quics, &token);
    let receiver = Receiver::start("127.0.0.1", HOOK_SECRET).await;
    let hook = api.webhook_channel(&receiver).await;
    let target = Target::http("ok").await;
    let mon = api
        .create_monitor(json!({"name": "pay", "kind": "http",
            "target": format!("http://{}/", target.addr), "interval_s": 1, "timeout_s": 1,
            "regions": REGIONS, "confirm": 2, "alert_channels": [hook]}))
        .await;
    eventually("up", WAIT, || async {
        (status(&api, &mon).await == "up").then_some(())
    })
    .await;

    // The receiver refuses everything, so the decision is committed but not delivered.
    receiver.fail_next(usize::MAX, 503);
    target.stop().await;
    let key = eventually("a failed attempt of monitor.down", WAIT, || async {
        receiver
            .requests()
            .into_iter()
            .find(|r| r.event() == "monitor.down")
            .map(|r| r.key().to_owned())
    })
    .await;
    let leader = cluster.leader(0).await.expect("leader");
    let killed_id = cluster.member(leader).id;
    cluster.members[leader]
        .as_mut()
        .expect("leader")
        .proc
        .kill9();
    cluster.members[leader] = None;
    receiver.fail_next(0, 200);
    let survivor = (0..3).find(|i| *i != leader).expect("survivor");
    let new_leader = cluster.wait_leader_other_than(survivor, Some(leader)).await;
    let accepted = eventually("monitor.down accepted after failover", WAIT, || async {
        let a = receiver.events("monitor.down");
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(accepted.len(), 1, "one key");
    assert_eq!(
        accepted[0].key(),
        key,
        "the new leader resends the same key"
    );
    assert!(accepted[0].signature_ok);
    // Once delivered it is recorded as such; nothing more is sent for it.
    let api2 = cluster.api(new_leader);
    let inc = eventually("delivery recorded", WAIT, || async {
        let inc = incidents(&api2, &mon).await;
        let id = inc.first()?["id"].as_str()?.to_owned();
        let d = api2.get(&format!("/v1/incidents/{id}")).await;
        (d["data"]["deliveries"][0]["state"] == "delivered").then_some(d)
    })
    .await;
    let attempts = inc["data"]["deliveries"][0]["attempts"]
        .as_array()
        .expect("attempts");
    let delivered_by: Vec<u64> = attempts
        .iter()
        .filter(|a| a["error"].is_null())
        .filter_map(|a| a["coordinator"].as_u64())
        .collect();
    assert_eq!(delivered_by.len(), 1, "delivered once: {inc}");
    assert_ne!(
        delivered_by[0], killed_id,
        "a surviving coordinator delivered it: {inc}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let by_key = receiver.accepted_by_key();
    assert_eq!(by_key.get(&key).map(Vec::len), Some(1), "accepted once");
}

#[tokio::test(flavor = "multi_thread")]
async fn maintenance_window_records_the_outage_but_sends_nothing() {
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let token = api.join_token().await;
    let mut edge = Edge::start(&dir.path().join("eu"), "eu-west", coord.quic, Some(&token));
    edge.wait_running();
    let receiver = Receiver::start("127.0.0.1", HOOK_SECRET).await;
    let hook = api.webhook_channel(&receiver).await;
    let target = Target::http("ok").await;
    let mon = api
        .create_monitor(json!({"name": "db", "kind": "http",
            "target": format!("http://{}/", target.addr), "interval_s": 1, "timeout_s": 1,
            "regions": ["eu-west"], "confirm": 2, "alert_channels": [hook], "tags": ["db"]}))
        .await;
    eventually("up", WAIT, || async {
        (status(&api, &mon).await == "up").then_some(())
    })
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let (code, body) = api
        .call(
            reqwest::Method::POST,
            "/v1/maintenance",
            Some(json!({"title": "db upgrade", "tags": ["db"],
                "starts_at": (now - 1_000).to_string(), "ends_at": (now + 3_600_000).to_string()})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["data"]["active"], true);

    target.stop().await;
    let inc = eventually("incident recorded", WAIT, || async {
        let i = incidents(&api, &mon).await;
        (!i.is_empty()).then_some(i)
    })
    .await;
    assert_eq!(status(&api, &mon).await, "down", "state is still recorded");
    let id = inc[0]["id"].as_str().expect("id");
    let d = api.get(&format!("/v1/incidents/{id}")).await;
    assert_eq!(d["data"]["deliveries"][0]["state"], "suppressed");
    assert_eq!(
        d["data"]["deliveries"][0]["suppressed_reason"],
        "maintenance"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        receiver.requests().is_empty(),
        "nothing sent during maintenance"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alerting_input_is_validated_and_names_the_field() {
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    for (body, field) in [
        (
            json!({"name": "x", "type": "carrier-pigeon", "config": {}}),
            "type",
        ),
        (
            json!({"name": "x", "type": "webhook", "config": {"url": "ftp://x"}}),
            "config.url",
        ),
        (
            json!({"name": "x", "type": "email", "config": {"host": "h", "port": 25,
            "from": "not an address", "to": ["a@b.test"], "tls": "none"}}),
            "config.from",
        ),
        (
            json!({"name": "", "type": "webhook", "config": {"url": "http://x/"}}),
            "name",
        ),
    ] {
        let (code, resp) = api
            .call(reqwest::Method::POST, "/v1/channels", Some(body.clone()))
            .await;
        assert_eq!(code, 400, "{body} -> {resp}");
        let msg = resp["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(&format!("`{field}`")), "{body} -> {msg}");
    }
    let monitor = |extra: Value| {
        let mut m =
            json!({"name": "m", "kind": "tcp", "target": "127.0.0.1:9", "regions": ["eu-west"]});
        for (k, v) in extra.as_object().expect("object") {
            m[k] = v.clone();
        }
        m
    };
    for (extra, field) in [
        (json!({"quorum": "0%"}), "quorum"),
        (json!({"confirm": 0}), "confirm"),
        (
            json!({"alert_channels": ["ch_00000000000000ff"]}),
            "alert_channels",
        ),
    ] {
        let (code, resp) = api
            .call(
                reqwest::Method::POST,
                "/v1/monitors",
                Some(monitor(extra.clone())),
            )
            .await;
        assert_eq!(code, 400, "{extra} -> {resp}");
        let msg = resp["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(&format!("`{field}`")), "{extra} -> {msg}");
    }
    for (path, body) in [
        (
            "/v1/maintenance",
            json!({"title": "t", "weekly": {"days": [8], "start": "25:00", "duration_min": 5}}),
        ),
        ("/v1/maintenance", json!({"title": "t"})),
        ("/v1/incidents", json!({"title": ""})),
    ] {
        let (code, resp) = api
            .call(reqwest::Method::POST, path, Some(body.clone()))
            .await;
        assert_eq!(code, 400, "{path} {body} -> {resp}");
    }
    let (code, _) = api
        .call(
            reqwest::Method::POST,
            "/v1/incidents/inc_999/acknowledge",
            None,
        )
        .await;
    assert_eq!(code, 404);
    // Manual incidents: open, update, root cause, resolve.
    let (code, resp) = api
        .call(
            reqwest::Method::POST,
            "/v1/incidents",
            Some(json!({"title": "Payments provider outage", "message": "Investigating"})),
        )
        .await;
    assert_eq!(code, 201, "{resp}");
    let id = resp["data"]["id"].as_str().expect("id").to_owned();
    let (code, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/incidents/{id}/updates"),
            Some(json!({"message": "Provider confirmed"})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/v1/incidents/{id}/root-cause"),
            Some(json!({"root_cause": "expired certificate at the provider"})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, resp) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/incidents/{id}/resolve"),
            None,
        )
        .await;
    assert_eq!(code, 200, "{resp}");
    assert_eq!(resp["data"]["status"], "resolved");
    assert_eq!(
        resp["data"]["updates"].as_array().map(Vec::len),
        Some(2),
        "the opening message and one update"
    );
    assert_eq!(
        resp["data"]["root_cause"],
        "expired certificate at the provider"
    );
}
