//! History on a real cluster: with `--results-retention 20s` the raw results stay within the
//! window while the hourly rollups keep counting every check; results page backwards with a
//! cursor; a member joining afterwards (from a snapshot: the log is compacted) answers the
//! same uptime as the leader.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::cluster::SECRET;
use crate::support::target::Target;
use crate::support::{eventually, tempdir, Coordinator, Edge};

/// Every retained raw result of `id`, read a page at a time through the `before` cursor.
async fn all_results(api: &crate::support::api::Api, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/monitors/{id}/results?limit=7&before={c}"),
            None => format!("/v1/monitors/{id}/results?limit=7"),
        };
        let page = api.get(&path).await;
        out.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn checks_of(uptime: &Value) -> u64 {
    uptime["data"]["buckets"]
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["checks"].as_u64()).sum())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_bounds_raw_results_while_rollups_and_uptime_survive_into_a_snapshot() {
    let dir = tempdir();
    let common = ["--results-retention", "20s", "--snapshot-every", "20"];
    let mut args: Vec<String> = vec!["--bootstrap".into(), "--join-secret".into(), SECRET.into()];
    args.extend(common.iter().map(|s| s.to_string()));
    let leader = Coordinator::start_with(&dir.path().join("c1"), "127.0.0.1", None, args);
    let key = leader.admin_key.clone().expect("key");
    let api = leader.api_with(&key);
    let token = api.join_token().await;
    let mut edge = Edge::start(&dir.path().join("eu"), "eu-west", leader.quic, Some(&token));
    edge.wait_running();
    let tcp = Target::tcp().await;
    let id = api
        .create_monitor(
            json!({"name": "port", "kind": "tcp", "target": tcp.addr.to_string(),
            "interval_s": 1, "timeout_s": 1, "regions": ["eu-west"]}),
        )
        .await;

    // Results older than the window are pruned while the rollups count every check: the
    // rollups must come to hold clearly more checks than the retained raw results.
    let uptime_path = format!("/v1/monitors/{id}/uptime?step=1h");
    let (raw, counted) = eventually(
        "rollups counting past the raw window",
        Duration::from_secs(90),
        || async {
            let raw = all_results(&api, &id).await;
            let counted = checks_of(&api.get(&uptime_path).await);
            (counted >= raw.len() as u64 + 15 && !raw.is_empty()).then_some((raw, counted))
        },
    )
    .await;
    println!("raw results kept: {}, checks counted: {counted}", raw.len());
    // 20 s of results at one a second, plus what a prune walk and a batch may trail by.
    assert!(raw.len() <= 40, "{} raw results kept", raw.len());
    let mut seen = std::collections::BTreeSet::new();
    for r in &raw {
        assert!(seen.insert(r["seq"].as_u64()), "a page repeated a result");
    }

    // The decided state: up the whole time the monitor was decided.
    let up = api.get(&uptime_path).await;
    assert_eq!(up["data"]["step"], "1h");
    assert_eq!(up["data"]["uptime_pct"], 100.0, "{up}");
    assert_eq!(up["data"]["downtime_s"], 0.0);
    let region = &up["data"]["buckets"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["checks"].as_u64() > Some(0)))
        .expect("a bucket with checks")["regions"]["eu-west"];
    assert!(region["latency_ms"]["p95"].as_f64().is_some(), "{region}");

    // Hostile ranges are refused with a clear error.
    let (status, body) = api
        .call(
            reqwest::Method::GET,
            &format!("/v1/monitors/{id}/uptime?from=0&to=253402300799999&step=1h"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = api
        .call(reqwest::Method::GET, "/v1/reports/sla?target=101", None)
        .await;
    assert_eq!(status, 400);

    // A fixed past range, and a stopped edge node, so the answers stop moving.
    edge.proc.terminate();
    let fixed = format!("/v1/monitors/{id}/uptime?step=1h&to={}", now_ms());
    let sla = api.get("/v1/reports/sla?target=99.9").await;
    let row = &sla["data"]["monitors"][0];
    assert_eq!(
        (row["monitor_id"].as_str(), row["breach"].as_bool()),
        (Some(id.as_str()), Some(false))
    );
    let csv = reqwest::Client::new()
        .get(format!("http://{}/v1/reports/sla?format=csv", leader.http))
        .bearer_auth(&key)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("csv body");
    assert!(csv.starts_with("monitor_id,name,uptime_pct,downtime_s,incidents,target_pct,breach\n"));
    assert!(
        csv.contains(&format!("{id},port,100,0,0,99.9,false")),
        "{csv}"
    );

    // A member joining now installs a snapshot (the log under it is compacted) and answers
    // the same.
    let member = Coordinator::start_with(&dir.path().join("c2"), "127.0.0.2", None, {
        let mut a: Vec<String> = vec![
            "--join".into(),
            leader.quic.to_string(),
            "--join-secret".into(),
            SECRET.into(),
        ];
        a.extend(common.iter().map(|s| s.to_string()));
        a
    });
    let member_api = member.api_with(&key);
    let answer = eventually(
        "the joined member's uptime answer equal to the leader's",
        Duration::from_secs(30),
        || async {
            let theirs = member_api.try_get(&fixed).await?;
            let ours = api.get(&fixed).await;
            (theirs == ours && checks_of(&ours) >= counted).then_some(ours)
        },
    )
    .await;
    println!(
        "uptime on both members: {} checks, {}",
        checks_of(&answer),
        answer["data"]["state_seconds"]
    );
    let member_raw = all_results(&member_api, &id).await;
    assert!(
        member_raw.len() <= 40,
        "{} raw results on the member",
        member_raw.len()
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
