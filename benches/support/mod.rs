//! Helpers shared by the end-to-end benchmarks: real `netpulse` processes, their CPU time from
//! /proc, a loopback HTTP target (`netpulse_test_support::target`), the committed-result counter, and a fake coordinator for
//! benchmarks of one edge node alone ([`fake_coordinator`]).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub mod fake_coordinator;

pub use netpulse_test_support::process::KillOnDrop;

/// The `netpulse` binary to run: this build's, or `NETPULSE_BENCH_BIN` to compare another build
/// (say, a copy of the binary before a change) in alternating runs of the same benchmark.
pub fn netpulse_bin() -> std::path::PathBuf {
    std::env::var_os("NETPULSE_BENCH_BIN")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_netpulse").into())
}

pub fn spawn(args: &[&str]) -> (KillOnDrop, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(netpulse_bin())
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
    (KillOnDrop::new(child), rx)
}

pub fn line(rx: &std::sync::mpsc::Receiver<String>, prefix: &str) -> String {
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
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A memory figure of a process from /proc/PID/status (`VmRSS`, `VmHWM`, ...), in bytes.
pub fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// CPU seconds (user + system) of a process.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    ticks / clock_ticks()
}

/// An HTTP/1.1 target on 127.0.0.1 answering `200 ok` and closing; serves until the process
/// ends.
pub async fn http_target() -> SocketAddr {
    netpulse_test_support::target::Target::http("ok").await.addr
}

/// Results committed so far, summed over every edge node.
pub async fn stored(client: &reqwest::Client, base: &str, key: &str) -> u64 {
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

/// A coordinator on loopback ports, with its API base URL, QUIC address and admin key.
pub struct BenchCoordinator {
    pub proc: KillOnDrop,
    pub base: String,
    pub quic: String,
    pub key: String,
}

/// Starts a coordinator with its data in `dir`.
pub fn start_coordinator(dir: &std::path::Path) -> BenchCoordinator {
    start_coordinator_with(dir, &[])
}

/// Starts a coordinator with its data in `dir` and `extra` arguments.
pub fn start_coordinator_with(dir: &std::path::Path, extra: &[&str]) -> BenchCoordinator {
    let mut args = vec![
        "coordinator",
        "--data-dir",
        dir.to_str().expect("utf8"),
        "--listen",
        "127.0.0.1:0",
        "--quic",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let (proc, rx) = spawn(&args);
    let base = line(&rx, "UI: ").trim_end_matches('/').to_owned();
    let quic = line(&rx, "QUIC: ");
    let key = line(&rx, "Admin API key: ");
    std::thread::spawn(move || for _ in rx {});
    BenchCoordinator {
        proc,
        base,
        quic,
        key,
    }
}

impl BenchCoordinator {
    /// A fresh join token for edge nodes.
    pub async fn join_token(&self, client: &reqwest::Client) -> String {
        let v: Value = client
            .post(format!("{}/v1/join-tokens", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        v["data"]["token"].as_str().expect("token").to_owned()
    }

    /// Starts an edge node in `region` with its data in `dir`, and waits until it runs.
    pub fn start_edge(
        &self,
        dir: &std::path::Path,
        region: &str,
        token: &str,
        extra: &[&str],
    ) -> KillOnDrop {
        let mut args = vec![
            "edge",
            "--data-dir",
            dir.to_str().expect("utf8"),
            "--region",
            region,
            "--coordinator",
            &self.quic,
            "--join-token",
            token,
        ];
        args.extend_from_slice(extra);
        let (edge, rx) = spawn(&args);
        line(&rx, "Edge node ");
        std::thread::spawn(move || for _ in rx {});
        edge
    }
}

/// Runs a benchmark's body on a multi-threaded runtime of `workers` threads, with rustls'
/// crypto provider installed (the QUIC and HTTPS clients of the benches need one).
pub fn run<F: std::future::Future>(workers: usize, body: F) -> F::Output {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(body)
}

/// Creates a monitor through the API and returns its id; panics with the answer when refused.
pub async fn create_monitor(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
) -> String {
    let r = client
        .post(format!("{base}/v1/monitors"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("create monitor");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 201, "create monitor: {v}");
    v["data"]["id"].as_str().expect("monitor id").to_owned()
}
