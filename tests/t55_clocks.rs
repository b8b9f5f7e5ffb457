//! The cluster on wrong clocks, and edge nodes finding the cluster.
//!
//! Clocks are shifted with libfaketime (wall clock only; monotonic time is left alone, as NTP
//! leaves it). Before clock-safe ages, a node 5 minutes behind never voted (its results looked
//! stale on arrival) and a session held by a skewed coordinator judged freshness on its own
//! clock.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::api::Api;
use crate::support::cluster::SECRET;
use crate::support::receiver::Receiver;
use crate::support::target::Target;
use crate::support::{eventually, tempdir, Coordinator, Edge};

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
const WAIT: Duration = Duration::from_secs(60);

async fn node_by_region(api: &Api, region: &str) -> Value {
    api.nodes()
        .await
        .into_iter()
        .find(|n| n["region"] == region)
        .unwrap_or_else(|| panic!("a node in {region}"))
}

/// Every monitor is up with all three regions voting, as `api` sees it.
async fn all_voting(api: &Api, monitors: &[String]) -> Option<()> {
    for id in monitors {
        let m = api.try_get(&format!("/v1/monitors/{id}")).await?;
        let m = &m["data"];
        if m["status"] != "up" || m["decision"]["voting"] != 3 {
            return None;
        }
        if m["regions"].as_array()?.iter().any(|r| r["stale"] != false) {
            return None;
        }
    }
    Some(())
}

/// One coordinator 90 s ahead (and leading first), one edge node 300 s behind: every region
/// votes, nothing goes stale, no alert fires, and the node's offset shows, before and after the
/// skewed leader dies and a leader with a right clock takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skewed_coordinator_and_node_neither_go_stale_nor_alert_and_the_offset_shows() {
    let dir = tempdir();
    let c1 = Coordinator::start_skewed(
        &dir.path().join("c1"),
        "127.0.0.1",
        None,
        vec!["--bootstrap".into(), "--join-secret".into(), SECRET.into()],
        Some("+90s"),
    );
    let key = c1.admin_key.clone().expect("admin key");
    let join = |i: usize| {
        Coordinator::start_with(
            &dir.path().join(format!("c{i}")),
            &format!("127.0.0.{i}"),
            None,
            vec![
                "--join".into(),
                c1.quic.to_string(),
                "--join-secret".into(),
                SECRET.into(),
            ],
        )
    };
    let (c2, c3) = (join(2), join(3));
    let api1 = c1.api_with(&key);
    let api2 = c2.api_with(&key);
    let quic = [c1.quic, c2.quic, c3.quic];

    let receiver = Receiver::start("127.0.0.1", "receiver-secret-0123456789").await;
    let hook = api2.webhook_channel(&receiver).await;
    let mut targets = Vec::new();
    let mut monitors = Vec::new();
    for i in 0..3 {
        let t = Target::tcp().await;
        monitors.push(
            api2.create_monitor(json!({"name": format!("svc{i}"), "kind": "tcp",
                "target": t.addr.to_string(), "interval_s": 2, "timeout_s": 2,
                "regions": REGIONS, "confirm": 2, "alert_channels": [hook]}))
                .await,
        );
        targets.push(t);
    }

    let token = api2.join_token().await;
    let mut edges: Vec<Edge> = REGIONS
        .iter()
        .map(|r| {
            let skew = (*r == "eu-west").then_some("-300s");
            Edge::start_skewed(&dir.path().join(r), r, &quic, Some(&token), skew)
        })
        .collect();
    for e in &mut edges {
        e.wait_running();
    }

    // Under the skewed leader: all regions vote on every coordinator, the fast one included.
    for api in [&api1, &api2] {
        eventually("every region voting under the +90 s leader", WAIT, || {
            all_voting(api, &monitors)
        })
        .await;
    }
    // Offsets are measured against the leader; the difference between nodes is theirs alone.
    let (eu, us) = eventually("offsets reported", WAIT, || async {
        let eu = node_by_region(&api2, "eu-west").await["clock_offset_ms"].as_i64()?;
        let us = node_by_region(&api2, "us-east").await["clock_offset_ms"].as_i64()?;
        Some((eu, us))
    })
    .await;
    assert!(
        ((eu - us) + 300_000).abs() < 5_000,
        "eu-west is 300 s behind us-east: {eu} vs {us}"
    );

    // The skewed leader dies; one with a right clock takes over and the log's time steps back.
    let mut c1 = c1;
    c1.proc.kill9();
    for api in [&api2, &c3.api_with(&key)] {
        eventually(
            "every region voting under a leader with a right clock",
            WAIT,
            || async {
                let v = api.try_get("/v1/cluster").await?;
                (v["data"]["leader"].as_u64()? != c1.id).then_some(())?;
                all_voting(api, &monitors).await
            },
        )
        .await;
    }
    let n = eventually("offsets against the new leader", WAIT, || async {
        let eu = node_by_region(&api2, "eu-west").await;
        let us = node_by_region(&api2, "us-east").await;
        let (o_eu, o_us) = (
            eu["clock_offset_ms"].as_i64()?,
            us["clock_offset_ms"].as_i64()?,
        );
        ((o_eu + 300_000).abs() < 5_000 && o_us.abs() < 5_000).then_some((eu, us))
    })
    .await;
    assert_eq!(n.0["clock_warning"], true, "{}", n.0);
    assert_eq!(n.1["clock_warning"], false, "{}", n.1);

    // Results keep voting after the step back (votes did not freeze), and nobody was paged.
    let before = api2.results(&monitors[0]).await.len();
    eventually("new results after the leader change", WAIT, || async {
        (api2.results(&monitors[0]).await.len() >= before + 6).then_some(())
    })
    .await;
    all_voting(&api2, &monitors)
        .await
        .expect("still up, all regions voting");
    assert!(
        receiver.events("monitor.down").is_empty(),
        "no alert about healthy targets"
    );
    let incidents = api2.get("/v1/incidents").await;
    assert_eq!(
        incidents["data"].as_array().map(Vec::len),
        Some(0),
        "{incidents}"
    );
}

/// A node given one coordinator learns the others, remembers them, and keeps delivering when
/// that coordinator dies, also across its own restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_given_one_coordinator_finds_the_others_and_survives_its_loss() {
    let dir = tempdir();
    let mut cluster = crate::support::cluster::Cluster::start(&dir.path().join("cl"), &[]);
    let api = cluster.api(1);
    let target = Target::tcp().await;
    let mon = api
        .create_monitor(
            json!({"name": "port", "kind": "tcp", "target": target.addr.to_string(),
            "interval_s": 1, "timeout_s": 1, "regions": ["eu-west"]}),
        )
        .await;
    let first = cluster.member(0).quic;
    let token = api.join_token().await;
    let edge_dir = dir.path().join("edge");
    let mut edge = Edge::start(&edge_dir, "eu-west", first, Some(&token));
    edge.wait_running();

    let all: Vec<String> = cluster.quic_addrs().iter().map(|a| a.to_string()).collect();
    let remembered = eventually("the node remembers every member", WAIT, || async {
        let text = std::fs::read_to_string(edge_dir.join("coordinators.json")).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        let members: Vec<String> = v["members"]
            .as_array()?
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        all.iter().all(|a| members.contains(a)).then_some(v)
    })
    .await;
    assert!(remembered["leader"].is_string(), "{remembered}");

    // The only coordinator it was given dies.
    cluster.members[0].as_mut().expect("c1").proc.kill9();
    cluster.members[0] = None;
    let grows = |n: usize| {
        let api = &api;
        let mon = &mon;
        async move {
            eventually("results still arriving", WAIT, || async {
                (api.results(mon).await.len() >= n).then_some(())
            })
            .await
        }
    };
    let n = api.results(&mon).await.len();
    grows(n + 5).await;

    // Restarted with only the dead address on its command line, it dials what it remembers.
    let edge = edge.restart();
    let n = api.results(&mon).await.len();
    grows(n + 5).await;
    let node = api.nodes().await.into_iter().next().expect("node");
    assert_eq!(node["connected"], true, "{node}");
    drop(edge);
}
