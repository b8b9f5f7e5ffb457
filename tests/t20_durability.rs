//! Durability under kill -9: nothing acknowledged is lost, nothing is stored twice.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::api::Api;
use crate::support::target::Target;
use crate::support::{eventually, tempdir, Coordinator, Edge};

/// Sequence numbers of `node`'s results for monitor `id`.
async fn seqs(api: &Api, id: &str, node: &str) -> Vec<u64> {
    api.results(id)
        .await
        .iter()
        .filter(|r| r["node"] == node)
        .filter_map(|r| r["seq"].as_u64())
        .collect()
}

async fn node(api: &Api, id: &str) -> Value {
    api.nodes()
        .await
        .into_iter()
        .find(|n| n["id"] == id)
        .expect("node listed")
}

/// Every sequence from the first to the last is there exactly once, and the node's stored
/// counter agrees with the history (a duplicate delivery would have bumped it).
async fn assert_exactly_once(api: &Api, monitor: &str, node_id: &str) -> usize {
    let s = seqs(api, monitor, node_id).await;
    let set: BTreeSet<u64> = s.iter().copied().collect();
    assert_eq!(set.len(), s.len(), "a sequence is stored twice: {s:?}");
    let (first, last) = (
        *set.first().expect("results"),
        *set.last().expect("results"),
    );
    assert_eq!(
        set.len() as u64,
        last - first + 1,
        "gap in sequences {first}..={last}: {set:?}"
    );
    let n = node(api, node_id).await;
    assert_eq!(
        n["results_stored"].as_u64(),
        Some(s.len() as u64),
        "node counter vs history: {n}"
    );
    s.len()
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_results_survive_edge_sigkill_and_coordinator_downtime() {
    let dir = tempdir();
    let mut coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let token = api.join_token().await;
    let mut edge = Edge::start(
        &dir.path().join("edge"),
        "eu-west",
        coord.quic,
        Some(&token),
    );
    let node_id = edge.wait_running();
    let target = Target::tcp().await;
    let id = api
        .create_monitor(
            json!({"name": "port", "kind": "tcp", "target": target.addr.to_string(),
            "interval_s": 1, "timeout_s": 1, "regions": ["eu-west"]}),
        )
        .await;
    eventually("first results", Duration::from_secs(30), || async {
        (seqs(&api, &id, &node_id).await.len() >= 3).then_some(())
    })
    .await;

    // Coordinator down: the edge keeps measuring into its outbox.
    coord.proc.kill9();
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Edge killed with results pending, then the coordinator comes back while the edge is down.
    edge.proc.kill9();
    coord = coord.restart();
    let api = coord.api();
    let before = seqs(&api, &id, &node_id).await;
    let max_before = before.iter().max().copied().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        seqs(&api, &id, &node_id).await.len(),
        before.len(),
        "nothing arrives while the edge is down"
    );

    let mut edge = edge.restart();
    assert_eq!(edge.wait_running(), node_id, "same identity after restart");
    // The pending results measured during the downtime arrive, and measuring resumes.
    eventually(
        "results from the downtime and after",
        Duration::from_secs(40),
        || async {
            let s = seqs(&api, &id, &node_id).await;
            (s.iter().filter(|q| **q > max_before).count() >= 6).then_some(())
        },
    )
    .await;
    let downtime_results = api
        .results(&id)
        .await
        .into_iter()
        .filter(|r| r["seq"].as_u64().is_some_and(|q| q > max_before))
        .count();
    assert!(downtime_results >= 6, "{downtime_results}");
    let total = assert_exactly_once(&api, &id, &node_id).await;
    assert!(total > before.len());
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn coordinator_killed_and_restarted_keeps_monitors_history_and_dedups_redelivery() {
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let token = api.join_token().await;
    let mut edge = Edge::start(
        &dir.path().join("edge"),
        "us-east",
        coord.quic,
        Some(&token),
    );
    let node_id = edge.wait_running();
    let target = Target::http("ok").await;
    let id = api
        .create_monitor(
            json!({"name": "web", "kind": "http", "target": format!("http://{}/", target.addr),
            "interval_s": 1, "timeout_s": 1, "regions": ["us-east"]}),
        )
        .await;
    eventually("results", Duration::from_secs(30), || async {
        (seqs(&api, &id, &node_id).await.len() >= 5).then_some(())
    })
    .await;

    let mut coord = coord;
    coord.proc.kill9();
    let coord = coord.restart();
    let api = coord.api();
    let before = seqs(&api, &id, &node_id).await;
    assert!(before.len() >= 5, "history survives kill -9: {before:?}");
    let m = api.monitor(&id).await;
    assert_eq!(m["name"], "web");
    assert_eq!(m["target"], format!("http://{}/", target.addr));

    // The edge reconnects by itself and delivery continues without duplicates.
    eventually(
        "edge reconnects and delivers",
        Duration::from_secs(40),
        || async { (seqs(&api, &id, &node_id).await.len() >= before.len() + 3).then_some(()) },
    )
    .await;
    assert_exactly_once(&api, &id, &node_id).await;

    // A clean restart (SIGTERM) also keeps everything.
    let mut coord = coord;
    assert!(
        coord.proc.terminate().success(),
        "coordinator exits cleanly on SIGTERM"
    );
    let coord = coord.restart();
    let api = coord.api();
    assert!(seqs(&api, &id, &node_id).await.len() >= before.len() + 3);
    target.stop().await;
}
