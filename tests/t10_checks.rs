//! Checks flow from two regions; stopping the target turns both regions down.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::target::Target;
use crate::support::{eventually, tempdir, Coordinator, Edge};

fn region_status(m: &Value, region: &str) -> Option<String> {
    m["regions"]
        .as_array()?
        .iter()
        .find(|r| r["region"] == region)
        .map(|r| r["status"].as_str().unwrap_or("").to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_regions_check_http_and_tcp_and_see_them_go_down() {
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let token = api.join_token().await;
    let mut eu = Edge::start(&dir.path().join("eu"), "eu-west", coord.quic, Some(&token));
    let mut us = Edge::start(&dir.path().join("us"), "us-east", coord.quic, Some(&token));
    let (eu_id, us_id) = (eu.wait_running(), us.wait_running());

    let http = Target::http("hello from the target").await;
    let tcp = Target::tcp().await;
    let web = api
        .create_monitor(json!({"name": "web", "kind": "http", "target": format!("http://{}/", http.addr),
            "interval_s": 1, "timeout_s": 1, "regions": ["eu-west", "us-east"], "body_contains": "hello"}))
        .await;
    let port = api
        .create_monitor(
            json!({"name": "port", "kind": "tcp", "target": tcp.addr.to_string(),
            "interval_s": 1, "timeout_s": 1, "regions": ["eu-west", "us-east"]}),
        )
        .await;

    for id in [&web, &port] {
        eventually(
            "both regions report up",
            Duration::from_secs(30),
            || async {
                let m = api.monitor(id).await;
                (region_status(&m, "eu-west").as_deref() == Some("up")
                    && region_status(&m, "us-east").as_deref() == Some("up")
                    && m["status"] == "up")
                    .then_some(())
            },
        )
        .await;
        let results = api.results(id).await;
        for (region, node) in [("eu-west", &eu_id), ("us-east", &us_id)] {
            let r = results
                .iter()
                .find(|r| r["region"] == region)
                .unwrap_or_else(|| panic!("no result from {region}"));
            assert_eq!(&r["node"], node.as_str());
            assert_eq!(r["status"], "up");
            assert!(r["latency_ms"].as_f64().is_some_and(|l| l > 0.0), "{r}");
            assert!(
                r["checked_at"].as_str().is_some_and(|t| t.ends_with('Z')),
                "{r}"
            );
            assert!(r["error"].is_null());
        }
    }

    http.stop().await;
    tcp.stop().await;
    for id in [&web, &port] {
        let m = eventually(
            "both regions report down",
            Duration::from_secs(30),
            || async {
                let m = api.monitor(id).await;
                (m["status"] == "down").then_some(m)
            },
        )
        .await;
        for r in m["regions"].as_array().expect("regions") {
            assert_eq!(r["status"], "down", "{r}");
            assert_eq!(r["error"]["class"], "refused", "{r}");
        }
    }
    // Nodes are listed with their region and live session.
    let nodes = api.nodes().await;
    assert_eq!(nodes.len(), 2);
    assert!(nodes
        .iter()
        .all(|n| n["connected"] == true && n["last_seen"].is_string()));
}
