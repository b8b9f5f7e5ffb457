//! Detection latency: from a target starting to fail to the alert reaching a webhook.
//!
//! A real coordinator and three edge nodes (regions eu-west, us-east, ap-south) watch one HTTP
//! monitor (1 s interval, `confirm: 2`, majority quorum) whose target the benchmark flips
//! between 200 and 503. Each run waits for the monitor to be up, flips the target to failing at
//! a random phase of the check interval, and measures until the webhook receiver (in this
//! process) gets `monitor.down`; then it flips back and waits for `monitor.up`.
//!
//! Two figures: failure → alert (what a user waits), and the overhead beyond what the rules wait
//! on purpose: the target notes which region (from the probe's User-Agent) got each failing
//! answer, so the bench knows the moment the quorum-th region got its `confirm`-th failure; the
//! overhead is the time from that answer to the webhook (result delivery, Raft commit, decision,
//! dispatch, HTTP). Flap damping is off for the monitor: the benchmark flips it on purpose.
//! Run with `cargo bench --bench detection`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netpulse_test_support::receiver::Receiver;
use serde_json::{json, Value};
use support::start_coordinator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const RUNS: usize = 20;
const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];
const INTERVAL_S: u64 = 1;
const CONFIRM: u64 = 2;

fn main() {
    support::run(1, run());
}

/// Failing answers served: when, and to which region.
type Failures = Arc<Mutex<Vec<(Instant, String)>>>;

/// An HTTP target answering 200, or 503 while `failing` is set (noting each 503 in `served`).
async fn flipping_target(failing: Arc<AtomicBool>, served: Failures) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            let (failing, served) = (failing.clone(), served.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let status = if failing.load(Ordering::SeqCst) {
                    // User-Agent: NetPulse/<v> (region=<region>; node=<id>)
                    let head = String::from_utf8_lossy(&got);
                    let region = head
                        .split("region=")
                        .nth(1)
                        .and_then(|r| r.split(';').next())
                        .unwrap_or("?")
                        .to_owned();
                    if let Ok(mut v) = served.lock() {
                        v.push((Instant::now(), region));
                    }
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    addr
}

/// Waits for the first accepted `event` whose idempotency key is not in `seen`; returns when
/// it arrived.
async fn wait_event(hook: &Receiver, event: &str, seen: &mut BTreeSet<String>) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(r) = hook
            .events(event)
            .into_iter()
            .find(|r| !seen.contains(r.key()))
        {
            assert!(r.signature_ok, "{event} signature");
            seen.insert(r.key().to_owned());
            return r.at;
        }
        assert!(Instant::now() < deadline, "no {event} within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let coord = start_coordinator(&dir.path().join("coord"));
    let (base, key) = (coord.base.clone(), coord.key.clone());
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let token = coord.join_token(&client).await;
    let _edges: Vec<_> = REGIONS
        .iter()
        .map(|region| coord.start_edge(&dir.path().join(region), region, &token, &[]))
        .collect();
    let failing = Arc::new(AtomicBool::new(false));
    let served: Failures = Arc::default();
    let target = flipping_target(failing.clone(), served.clone()).await;
    let hook = Receiver::start("127.0.0.1", "detection-bench-secret").await;
    let mut seen = BTreeSet::new();
    let ch: Value = post(
        "/v1/channels",
        json!({"name": "bench", "type": "webhook",
            "config": {"url": hook.url(), "secret": hook.secret()}}),
    )
    .await
    .expect("channel")
    .json()
    .await
    .expect("json");
    let ch = ch["data"]["id"].as_str().expect("channel id").to_owned();
    let m: Value = post(
        "/v1/monitors",
        json!({"name": "detect", "kind": "http", "target": format!("http://{target}/"),
            "interval_s": INTERVAL_S, "timeout_s": 1, "regions": REGIONS, "confirm": CONFIRM,
            "alert_channels": [ch], "flap_threshold": 0}),
    )
    .await
    .expect("monitor")
    .json()
    .await
    .expect("json");
    let mon = m["data"]["id"].as_str().expect("monitor id").to_owned();

    println!(
        "detection: 3 regions, HTTP monitor, interval {INTERVAL_S} s, confirm {CONFIRM}, majority quorum, {RUNS} runs"
    );
    let wait_up = || async {
        loop {
            let v: Value = client
                .get(format!("{base}/v1/monitors/{mon}"))
                .bearer_auth(&key)
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            if v["data"]["status"] == "up" && v["data"]["decision"]["voting"] == 3 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let quorum = REGIONS.len() / 2 + 1;
    let (mut latencies, mut overheads) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
    for run in 0..RUNS {
        wait_up().await;
        // Fail at a different phase of the check interval each run.
        let phase = (run as u64 * 1000 / RUNS as u64) % 1000;
        tokio::time::sleep(Duration::from_millis(500 + phase)).await;
        if let Ok(mut v) = served.lock() {
            v.clear();
        }
        let t0 = Instant::now();
        failing.store(true, Ordering::SeqCst);
        let at = wait_event(&hook, "monitor.down", &mut seen).await;
        latencies.push(at.duration_since(t0).as_secs_f64());
        // When the quorum-th region got its confirm-th failing answer: the earliest moment the
        // rules allow the decision.
        let mut per_region: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
        for (t, region) in served.lock().map(|v| v.clone()).unwrap_or_default() {
            per_region.entry(region).or_default().push(t);
        }
        let mut confirmed: Vec<Instant> = per_region
            .values()
            .filter_map(|ts| ts.get(CONFIRM as usize - 1).copied())
            .collect();
        confirmed.sort();
        if let Some(decisive) = confirmed.get(quorum - 1) {
            overheads.push(at.saturating_duration_since(*decisive).as_secs_f64() * 1000.0);
        }
        failing.store(false, Ordering::SeqCst);
        wait_event(&hook, "monitor.up", &mut seen).await;
    }
    latencies.sort_by(f64::total_cmp);
    overheads.sort_by(f64::total_cmp);
    println!("{:>28} {:>10} {:>10} {:>10}", "", "p50", "p99", "max");
    println!(
        "{:>28} {:>10.2} {:>10.2} {:>10.2}",
        "failure -> alert (s)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "{:>28} {:>10.0} {:>10.0} {:>10.0}",
        "overhead beyond rules (ms)",
        percentile(&overheads, 0.5),
        percentile(&overheads, 0.99),
        overheads[overheads.len() - 1]
    );
    println!(
        "(rules: region #{quorum} to see its failure #{CONFIRM}; failure -> alert also includes up to \
         one interval before the first check sees the failure; {} of {RUNS} runs attributed)",
        overheads.len()
    );
}
