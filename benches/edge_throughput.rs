//! End-to-end edge node throughput: one edge node probing a local HTTP target at increasing
//! rates, through a real coordinator.
//!
//! For each rate it creates `rate` HTTP monitors with a 1 s interval, lets them settle, then
//! measures over a window: checks/s committed by the coordinator (from the node's
//! `results_stored` counter) and CPU time of the edge process (utime + stime from /proc), giving
//! CPU microseconds per check. Run with `cargo bench --bench edge_throughput`.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{cpu_seconds, http_target, start_coordinator, stored};

const RATES: [usize; 4] = [50, 250, 1000, 2000];
const SETTLE: Duration = Duration::from_secs(4);
const WINDOW: Duration = Duration::from_secs(10);

fn main() {
    support::run(1, run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let coord = start_coordinator(&dir.path().join("coord"));
    let (base, key) = (coord.base.clone(), coord.key.clone());
    let client = reqwest::Client::new();
    let token = coord.join_token(&client).await;
    let edge = coord.start_edge(
        &dir.path().join("edge"),
        "bench",
        &token,
        &["--max-concurrent-checks", "1024"],
    );
    let target = http_target().await;

    println!("edge_throughput: one edge node, HTTP checks against a loopback target, 1 s interval per monitor");
    println!(
        "{:>12} {:>14} {:>18} {:>22}",
        "target/s", "checks/s", "edge CPU us/check", "coordinator CPU us/res"
    );
    let mut created = 0usize;
    for rate in RATES {
        while created < rate {
            let body = json!({"name": format!("bench-{created}"), "kind": "http", "target": format!("http://{target}/{created}"),
                "interval_s": 1, "timeout_s": 1, "regions": ["bench"]});
            support::create_monitor(&client, &base, &key, &body).await;
            created += 1;
        }
        tokio::time::sleep(SETTLE).await;
        let (s0, e0, c0, t0) = (
            stored(&client, &base, &key).await,
            cpu_seconds(edge.id()),
            cpu_seconds(coord.proc.id()),
            Instant::now(),
        );
        tokio::time::sleep(WINDOW).await;
        let (s1, e1, c1) = (
            stored(&client, &base, &key).await,
            cpu_seconds(edge.id()),
            cpu_seconds(coord.proc.id()),
        );
        let secs = t0.elapsed().as_secs_f64();
        let checks = (s1 - s0) as f64;
        println!(
            "{:>12} {:>14.0} {:>18.1} {:>22.1}",
            rate,
            checks / secs,
            (e1 - e0) * 1e6 / checks.max(1.0),
            (c1 - c0) * 1e6 / checks.max(1.0)
        );
    }
    drop(edge);
    drop(coord);
}
