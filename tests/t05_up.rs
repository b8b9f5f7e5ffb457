//! `netpulse up`, the README's first command: a coordinator, edge nodes in three regions and
//! the demo monitors, with the UI address and the admin key printed.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::api::Api;
use crate::support::{bin, eventually, tempdir, Proc};

#[tokio::test(flavor = "multi_thread")]
async fn up_runs_the_demo_mesh_and_decides_every_demo_monitor() {
    let dir = tempdir();
    // A port free a moment ago: `up` takes a fixed address for its UI.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let data = dir.path().join("up");
    let mut up = Proc::spawn_cmd(
        "up",
        Command::new(bin())
            .args(["up", "--listen", &listen, "--data-dir"])
            .arg(&data),
    );
    assert_eq!(
        up.wait_line("UI:", Duration::from_secs(120)),
        format!("http://{listen}/")
    );
    let key = up.wait_line("Admin API key:", Duration::from_secs(10));
    assert_eq!(
        up.wait_line("Edge nodes:", Duration::from_secs(10)),
        "3 (regions eu-west, us-east, ap-south)"
    );
    let api = Api::new(listen.parse().expect("address"), key);

    // Every demo monitor from config/demo.yaml exists and is decided from the three regions.
    let monitors: Vec<Value> = eventually(
        "every demo monitor decided",
        Duration::from_secs(120),
        || async {
            let v = api.try_get("/v1/monitors").await?;
            let list = v["data"].as_array()?.clone();
            let decided = list
                .iter()
                .all(|m| m["status"].as_str().is_some_and(|s| s != "unknown"));
            (list.len() == 6 && decided).then_some(list)
        },
    )
    .await;
    let status = |name: &str| {
        monitors
            .iter()
            .find(|m| m["name"] == name)
            .and_then(|m| m["status"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(status("Demo shop home page").as_deref(), Some("up"));
    assert_eq!(status("Demo database port").as_deref(), Some("up"));
    assert_eq!(
        status("Decommissioned service (port closed)").as_deref(),
        Some("down")
    );
    let nodes = api.get("/v1/nodes").await;
    let regions: std::collections::BTreeSet<&str> = nodes["data"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["region"].as_str())
        .collect();
    assert_eq!(
        regions,
        ["ap-south", "eu-west", "us-east"].into_iter().collect()
    );
    assert!(up.terminate().success(), "up stops cleanly on SIGTERM");
}
