//! End-to-end edge node throughput: one edge node probing a local HTTP target at increasing
//! rates, through a real coordinator.
//!
//! For each rate it creates `rate` HTTP monitors with a 1 s interval, lets them settle, then
//! measures over a window: checks/s committed by the coordinator (from the node's
//! `results_stored` counter) and CPU time of the edge process (utime + stime from /proc), giving
//! CPU microseconds per check. Run with `cargo bench --bench edge_throughput`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RATES: [usize; 4] = [50, 250, 1000, 2000];
const SETTLE: Duration = Duration::from_secs(4);
const WINDOW: Duration = Duration::from_secs(10);

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Killed, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netpulse"))
        .args(args)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn netpulse");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    (Killed(child), rx)
}

fn line(rx: &std::sync::mpsc::Receiver<String>, prefix: &str) -> String {
    loop {
        let l = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("process output");
        if let Some(rest) = l.strip_prefix(prefix) {
            return rest.trim().to_owned();
        }
    }
}

/// Kernel clock ticks per second (`getconf CLK_TCK`), the unit of /proc CPU times.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds (user + system) of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    ticks / clock_ticks()
}

async fn http_target() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    addr
}

async fn stored(client: &reqwest::Client, base: &str, key: &str) -> u64 {
    let v: Value = client
        .get(format!("{base}/v1/nodes"))
        .bearer_auth(key)
        .send()
        .await
        .expect("nodes")
        .json()
        .await
        .expect("json");
    v["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|n| n["results_stored"].as_u64()).sum())
        .unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let coord_dir = dir.path().join("coord");
    let (coord, crx) = spawn(&[
        "coordinator",
        "--data-dir",
        coord_dir.to_str().expect("utf8"),
        "--listen",
        "127.0.0.1:0",
        "--quic",
        "127.0.0.1:0",
    ]);
    let base = line(&crx, "UI: ").trim_end_matches('/').to_owned();
    let quic = line(&crx, "QUIC: ");
    let key = line(&crx, "Admin API key: ");
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{base}/v1/join-tokens"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["data"]["token"].as_str().expect("token").to_owned();
    let edge_dir = dir.path().join("edge");
    let (edge, erx) = spawn(&[
        "edge",
        "--data-dir",
        edge_dir.to_str().expect("utf8"),
        "--region",
        "bench",
        "--coordinator",
        &quic,
        "--join-token",
        &token,
        "--max-concurrent-checks",
        "1024",
    ]);
    line(&erx, "Edge node ");
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
            let r = client
                .post(format!("{base}/v1/monitors"))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .expect("create");
            assert_eq!(r.status(), 201);
            created += 1;
        }
        tokio::time::sleep(SETTLE).await;
        let (s0, e0, c0, t0) = (
            stored(&client, &base, &key).await,
            cpu_seconds(edge.0.id()),
            cpu_seconds(coord.0.id()),
            Instant::now(),
        );
        tokio::time::sleep(WINDOW).await;
        let (s1, e1, c1) = (
            stored(&client, &base, &key).await,
            cpu_seconds(edge.0.id()),
            cpu_seconds(coord.0.id()),
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
