//! A three-coordinator cluster: failover, durability under kill -9, partitions, membership,
//! and edge node failover, with real processes.
//!
//! Each coordinator gets its own loopback address (127.0.0.1, .2, .3) so a partition can be made
//! with nftables by dropping one address's UDP (QUIC) traffic; HTTP (TCP) stays reachable, so
//! the test can watch the cut-off side.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::api::Api;
use crate::support::cluster::{Cluster, SECRET};
use crate::support::target::Target;
use crate::support::{eventually, tempdir, Coordinator, Edge};

/// Per node: the result sequence numbers of `monitor` as seen through `api`.
async fn seqs_by_node(api: &Api, monitor: &str) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in api.results(monitor).await {
        if let (Some(n), Some(s)) = (r["node"].as_str(), r["seq"].as_u64()) {
            out.entry(n.to_owned()).or_default().push(s);
        }
    }
    out
}

/// Each node's stored-results counter, by node id.
async fn stored_counters(api: &Api) -> BTreeMap<String, Option<u64>> {
    api.nodes()
        .await
        .into_iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap_or("").to_owned(),
                n["results_stored"].as_u64(),
            )
        })
        .collect()
}

/// Nothing lost, nothing twice: each node's sequences are contiguous and unique, and its stored
/// counter equals its history (a duplicate would have bumped the counter).
///
/// The nodes keep measuring while this reads, and the counter and the history are two reads:
/// a result committed between them made the counter trail the history by one (a false
/// alarm seen once). So the counter is read before and after the history, and a node is
/// compared only in a window where its counter did not move; such a window comes within a
/// few tries, as results arrive seconds apart per node.
async fn assert_exactly_once(api: &Api, monitor: &str) {
    let mut unchecked: BTreeSet<String> = BTreeSet::new();
    for attempt in 0..20 {
        let before = stored_counters(api).await;
        let history = seqs_by_node(api, monitor).await;
        let after = stored_counters(api).await;
        if attempt == 0 {
            unchecked = history.keys().cloned().collect();
        }
        for (node, seqs) in &history {
            let set: BTreeSet<u64> = seqs.iter().copied().collect();
            assert_eq!(set.len(), seqs.len(), "{node}: a result is stored twice");
            let (lo, hi) = (*set.first().expect("seq"), *set.last().expect("seq"));
            assert_eq!(set.len() as u64, hi - lo + 1, "{node}: gap in {lo}..={hi}");
            if !unchecked.contains(node) || before.get(node) != after.get(node) {
                continue;
            }
            assert_eq!(
                after.get(node).copied().flatten(),
                Some(seqs.len() as u64),
                "{node}: counter vs history"
            );
            unchecked.remove(node);
        }
        if unchecked.is_empty() {
            return;
        }
    }
    panic!("counters of {unchecked:?} never held still for one read of the history");
}

#[tokio::test(flavor = "multi_thread")]
async fn leader_killed_edges_fail_over_and_nothing_is_lost_or_doubled() {
    let dir = tempdir();
    let mut cluster = Cluster::start(dir.path(), &[]);
    let token = cluster.api(0).join_token().await;
    let addrs = cluster.quic_addrs();
    let mut edges = Vec::new();
    for (i, region) in ["eu-west", "us-east", "ap-south"].iter().enumerate() {
        let order: Vec<_> = (0..3).map(|k| addrs[(i + k) % 3]).collect();
        let mut e = Edge::start_multi(&dir.path().join(region), region, &order, Some(&token));
        e.wait_running();
        edges.push(e);
    }
    let target = Target::tcp().await;
    let monitor = cluster
        .api(1)
        .create_monitor(json!({"name": "port", "kind": "tcp", "target": target.addr.to_string(), "interval_s": 1,
            "timeout_s": 1, "regions": ["eu-west", "us-east", "ap-south"]}))
        .await;
    eventually(
        "results from three regions",
        Duration::from_secs(40),
        || async {
            let s = seqs_by_node(&cluster.api(0), &monitor).await;
            (s.len() == 3 && s.values().all(|v| v.len() >= 3)).then_some(())
        },
    )
    .await;

    let leader = cluster.wait_leader_other_than(0, None).await;
    cluster.members[leader]
        .as_mut()
        .expect("leader")
        .proc
        .kill9();
    let survivor = (leader + 1) % 3;
    let new_leader = cluster.wait_leader_other_than(survivor, Some(leader)).await;
    assert_ne!(new_leader, leader);

    let before = seqs_by_node(&cluster.api(survivor), &monitor).await;
    eventually(
        "every region keeps delivering after failover",
        Duration::from_secs(60),
        || async {
            let now = seqs_by_node(&cluster.api(survivor), &monitor).await;
            before
                .iter()
                .all(|(n, s)| now.get(n).is_some_and(|v| v.len() >= s.len() + 5))
                .then_some(())
        },
    )
    .await;
    assert_exactly_once(&cluster.api(survivor), &monitor).await;

    // The killed coordinator restarts, catches up and serves the same history.
    let snapshot = seqs_by_node(&cluster.api(survivor), &monitor).await;
    let restarted = cluster.members[leader].take().expect("member").restart();
    cluster.members[leader] = Some(restarted);
    eventually(
        "restarted member has the history",
        Duration::from_secs(60),
        || async {
            let mine = seqs_by_node(&cluster.api(leader), &monitor).await;
            snapshot
                .iter()
                .all(|(n, s)| {
                    mine.get(n).is_some_and(|m| {
                        s.iter()
                            .collect::<BTreeSet<_>>()
                            .is_subset(&m.iter().collect())
                    })
                })
                .then_some(())
        },
    )
    .await;
    assert_exactly_once(&cluster.api(leader), &monitor).await;
    let status = cluster.api(leader).get("/v1/cluster").await;
    assert_eq!(
        status["data"]["members"].as_array().map(Vec::len),
        Some(3),
        "{status}"
    );
    drop(edges);
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_killing_the_leader_mid_stream() {
    let dir = tempdir();
    let mut cluster = Cluster::start(dir.path(), &[]);
    let leader = cluster.wait_leader_other_than(0, None).await;
    let follower = (leader + 1) % 3;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut writers = Vec::new();
    for (w, via) in [(0, leader), (1, leader), (2, follower), (3, follower)] {
        let api = cluster.api(via);
        let tx = tx.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..400 {
                let body = json!({"name": format!("w{w}-{i}"), "kind": "tcp", "target": "127.0.0.1:9", "regions": ["eu-west"]});
                let req = reqwest::Client::new()
                    .post(format!("{}/v1/monitors", api_base(&api)))
                    .bearer_auth(api_key(&api))
                    .json(&body)
                    .timeout(Duration::from_secs(15));
                if let Ok(r) = req.send().await {
                    if r.status() == 201 {
                        if let Ok(v) = r.json::<Value>().await {
                            let _ = tx.send(v["data"]["id"].as_str().unwrap_or("").to_owned());
                        }
                    }
                }
            }
        }));
    }
    drop(tx);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.members[leader]
        .as_mut()
        .expect("leader")
        .proc
        .kill9();
    for w in writers {
        let _ = w.await;
    }
    let mut acked = BTreeSet::new();
    while let Ok(id) = rx.try_recv() {
        acked.insert(id);
    }
    assert!(
        acked.len() > 50,
        "the writers made progress: {}",
        acked.len()
    );

    let restarted = cluster.members[leader].take().expect("member").restart();
    cluster.members[leader] = Some(restarted);
    for i in 0..3 {
        eventually(
            "every acknowledged write on every member",
            Duration::from_secs(60),
            || async {
                let v = cluster.api(i).try_get("/v1/monitors").await?;
                let have: BTreeSet<String> = v["data"]
                    .as_array()?
                    .iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_owned))
                    .collect();
                acked.is_subset(&have).then_some(())
            },
        )
        .await;
    }
}

fn api_base(api: &Api) -> String {
    api.base().to_owned()
}

fn api_key(api: &Api) -> String {
    api.key().to_owned()
}

/// Drops all UDP to and from one loopback address while alive.
struct Partition {
    table: String,
}

impl Partition {
    fn isolate(ip: &str) -> Partition {
        let table = format!(
            "netpulse_test_{}_{}",
            std::process::id(),
            ip.replace('.', "_")
        );
        let rules = format!(
            "table inet {table} {{\n chain input {{\n  type filter hook input priority 0; policy accept;\n  ip saddr {ip} meta l4proto udp drop\n  ip daddr {ip} meta l4proto udp drop\n }}\n}}\n"
        );
        let mut child = std::process::Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nft is required for partition tests (scripts/test.sh installs nftables)");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(rules.as_bytes())
            .expect("write rules");
        assert!(
            child.wait().expect("nft").success(),
            "nft refused the partition rules (need root)"
        );
        Partition { table }
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        let _ = std::process::Command::new("nft")
            .args(["delete", "table", "inet", &self.table])
            .status();
    }
}

async fn try_create(api: &Api, name: &str) -> u16 {
    let body =
        json!({"name": name, "kind": "tcp", "target": "127.0.0.1:9", "regions": ["eu-west"]});
    reqwest::Client::new()
        .post(format!("{}/v1/monitors", api.base()))
        .bearer_auth(api.key())
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partitioned_coordinator_cannot_commit_and_the_majority_carries_on() {
    let dir = tempdir();
    let cluster = Cluster::start(dir.path(), &[]);
    assert_eq!(try_create(&cluster.api(0), "before").await, 201);
    // Cut off the leader: the hardest side to get right.
    let cut = cluster.wait_leader_other_than(0, None).await;
    let ip = cluster.member(cut).quic.ip().to_string();
    let partition = Partition::isolate(&ip);
    let majority: Vec<usize> = (0..3).filter(|i| *i != cut).collect();
    let new_leader = eventually(
        "majority elects a leader",
        Duration::from_secs(30),
        || async { cluster.leader(majority[0]).await.filter(|l| *l != cut) },
    )
    .await;
    assert!(majority.contains(&new_leader));
    assert_eq!(
        try_create(&cluster.api(majority[0]), "during-majority").await,
        201
    );
    assert_eq!(
        try_create(&cluster.api(majority[1]), "during-majority-2").await,
        201
    );
    let cut_status = try_create(&cluster.api(cut), "during-minority").await;
    assert_eq!(cut_status, 503, "the cut-off coordinator must not commit");

    drop(partition);
    // One history: the cut-off member learns the majority's writes, its own never appear.
    for i in 0..3 {
        let names = eventually(
            "healed member converges",
            Duration::from_secs(60),
            || async {
                let v = cluster.api(i).try_get("/v1/monitors").await?;
                let names: BTreeSet<String> = v["data"]
                    .as_array()?
                    .iter()
                    .filter_map(|m| m["name"].as_str().map(str::to_owned))
                    .collect();
                names.contains("during-majority-2").then_some(names)
            },
        )
        .await;
        assert!(!names.contains("during-minority"), "member {i}: {names:?}");
        assert!(names.contains("before") && names.contains("during-majority"));
    }
    eventually(
        "writes through the healed member work",
        Duration::from_secs(30),
        || async { (try_create(&cluster.api(cut), "after-heal").await == 201).then_some(()) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_edge_node_loses_its_checks_to_another_in_the_region() {
    let dir = tempdir();
    let cluster = Cluster::start(dir.path(), &["--node-timeout", "5"]);
    let api = cluster.api(0);
    let token = api.join_token().await;
    let addrs = cluster.quic_addrs();
    let mut a = Edge::start_multi(&dir.path().join("a"), "eu-west", &addrs, Some(&token));
    let mut b = Edge::start_multi(&dir.path().join("b"), "eu-west", &addrs[1..], Some(&token));
    let mut ids = vec![a.wait_running(), b.wait_running()];
    let target = Target::tcp().await;
    let monitor = api
        .create_monitor(json!({"name": "port", "kind": "tcp", "target": target.addr.to_string(), "interval_s": 1, "timeout_s": 1, "regions": ["eu-west"]}))
        .await;
    let holder = eventually(
        "one node runs the check",
        Duration::from_secs(30),
        || async {
            let s = seqs_by_node(&api, &monitor).await;
            (s.len() == 1).then(|| s.keys().next().cloned()).flatten()
        },
    )
    .await;
    let holder_index = ids.iter().position(|i| *i == holder).expect("known node");
    let other = ids.remove(1 - holder_index);
    if holder_index == 0 {
        a.proc.kill9()
    } else {
        b.proc.kill9()
    }
    eventually(
        "the other node takes over",
        Duration::from_secs(30),
        || async {
            seqs_by_node(&api, &monitor)
                .await
                .get(&other)
                .is_some_and(|s| s.len() >= 2)
                .then_some(())
        },
    )
    .await;
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_is_refused_and_removing_a_member_keeps_the_cluster_serving() {
    let dir = tempdir();
    let mut cluster = Cluster::start(dir.path(), &[]);
    let c1 = cluster.member(0).quic.to_string();
    let mut intruder = crate::support::Proc::spawn_cmd(
        "intruder",
        std::process::Command::new(crate::support::bin()).args([
            "coordinator",
            "--data-dir",
            dir.path().join("x").to_str().expect("utf8"),
            "--listen",
            "127.0.0.4:0",
            "--quic",
            "127.0.0.4:0",
            "--join",
            &c1,
            "--join-secret",
            "not-the-secret",
        ]),
    );
    let status = intruder
        .wait_exit(Duration::from_secs(30))
        .expect("refused joiner exits");
    assert!(!status.success());
    let members = cluster.api(0).get("/v1/cluster").await["data"]["members"]
        .as_array()
        .map(Vec::len);
    assert_eq!(members, Some(3));

    // Remove a follower with the CLI, then stop it: the remaining two keep committing.
    let leader = cluster.wait_leader_other_than(0, None).await;
    let victim = (leader + 1) % 3;
    let victim_id = cluster.member(victim).id.to_string();
    let out = std::process::Command::new(crate::support::bin())
        .args([
            "cluster",
            "--api",
            &format!("http://{}", cluster.member(leader).http),
            "--key",
            &cluster.key,
            "remove",
            &victim_id,
        ])
        .output()
        .expect("netpulse cluster remove");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let members = cluster.api(leader).get("/v1/cluster").await["data"]["members"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(members.len(), 2, "{members:?}");
    cluster.members[victim]
        .as_mut()
        .expect("victim")
        .proc
        .kill9();
    let rest: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    assert_eq!(
        try_create(&cluster.api(rest[0]), "after-removal").await,
        201
    );
    assert_eq!(
        try_create(&cluster.api(rest[1]), "after-removal-2").await,
        201
    );
    let out = std::process::Command::new(crate::support::bin())
        .args([
            "cluster",
            "--api",
            &format!("http://{}", cluster.member(rest[0]).http),
            "--key",
            &cluster.key,
            "status",
        ])
        .output()
        .expect("netpulse cluster status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("leader"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn members_joining_after_log_compaction_catch_up_from_a_snapshot() {
    let dir = tempdir();
    let args = vec![
        "--bootstrap".to_string(),
        "--join-secret".into(),
        SECRET.into(),
        "--snapshot-every".into(),
        "20".into(),
    ];
    let first = Coordinator::start_with(&dir.path().join("c1"), "127.0.0.1", None, args);
    let key = first.admin_key.clone().expect("key");
    let api = first.api_with(&key);
    for i in 0..120 {
        assert_eq!(try_create(&api, &format!("m{i}")).await, 201);
    }
    // The log under the snapshot is purged, so these members can only catch up from it.
    let mut joined = Vec::new();
    for i in 2..=3 {
        let args = vec![
            "--join".to_string(),
            first.quic.to_string(),
            "--join-secret".into(),
            SECRET.into(),
            "--snapshot-every".into(),
            "20".into(),
        ];
        joined.push(Coordinator::start_with(
            &dir.path().join(format!("c{i}")),
            &format!("127.0.0.{i}"),
            None,
            args,
        ));
    }
    for c in &joined {
        let v = eventually(
            "joined member has every monitor",
            Duration::from_secs(30),
            || async {
                let v = c.api_with(&key).try_get("/v1/monitors").await?;
                (v["data"].as_array()?.len() == 120).then_some(v)
            },
        )
        .await;
        assert!(v["data"]
            .as_array()
            .is_some_and(|a| a.iter().any(|m| m["name"] == "m0")));
    }
    // And the three-member cluster keeps committing.
    assert_eq!(try_create(&joined[1].api_with(&key), "after").await, 201);
}
