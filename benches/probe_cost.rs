//! CPU cost per check of one edge node against `prometheus-blackbox-exporter`, probing the same
//! local targets, for HTTP, TCP, ICMP and DNS (issue 4).
//!
//! Targets: a tiny HTTP server and a TCP listener in this process, the kernel's echo replies on
//! 127.0.0.1, and `nsd` serving a small zone on 127.0.0.1 (a child process).
//!
//! NetPulse: one coordinator and one edge node (real processes, release build). For each kind it
//! creates N monitors with a 1 s interval, lets them settle, then measures over a window the
//! results committed by the coordinator (the node's `results_stored`) and the edge process's CPU
//! time, and deletes the monitors.
//!
//! blackbox_exporter: started as a child with a config for the same targets, and driven by a
//! paced load generator here at the same N probes/s (`GET /probe?module=..&target=..`, as
//! Prometheus scrapes it). Over the same window length it measures the exporter's CPU time and
//! the probes that answered `probe_success 1`.
//!
//! Then the sustained part: every kind again at 1000, 2000 and 4000 checks/s offered, for both
//! tools, printing what each delivered and the highest rate each kept up with (at least 95 %
//! delivered and 99 % ok). `PROBE_COST_SUSTAINED=0` skips it.
//!
//! CPU is utime + stime from /proc/<pid>/stat (divided by `getconf CLK_TCK`), not wall time, so
//! other work on the machine inflates the figures only a little. The two tools run one after the
//! other, never at the same time. Run with `cargo bench --bench probe_cost`.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netpulse_test_support::nsd::{Nsd, NsdOptions};
use netpulse_test_support::ports::free_tcp_port;
use netpulse_test_support::process::require;
use netpulse_test_support::target::Target;
use serde_json::{json, Value};
use support::{clock_ticks, cpu_seconds, http_target, start_coordinator, stored, KillOnDrop};

const SETTLE: Duration = Duration::from_secs(4);
const WARMUP: Duration = Duration::from_secs(2);
const WINDOW: Duration = Duration::from_secs(10);
/// Most blackbox probes in flight at once from the load generator.
const BLACKBOX_CONCURRENCY: usize = 512;
const EXPORTER: &str = "prometheus-blackbox-exporter";
/// Offered rates of the sustained-throughput ramp, per kind and tool.
const SUSTAINED_RATES: [usize; 3] = [1000, 2000, 4000];
/// Share of the offered rate (with 99 % ok) that counts as keeping up.
const KEEPS_UP: f64 = 0.95;

/// Prints why the benchmark cannot run and exits non-zero: nothing is skipped silently.
fn fail(msg: &str) -> ! {
    eprintln!("probe_cost: {msg}");
    std::process::exit(1);
}

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    if euid != "0" {
        fail("ICMP probes of both tools need raw sockets: run the benchmark as root");
    }
}

/// CPU seconds per thread group of a process: thread names without trailing digits and dashes
/// (`sled-io-3` counts as `sled-io`). Threads that exited are missing, so this is a breakdown,
/// not a total.
fn thread_cpu(pid: u32) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    let hz = clock_ticks();
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close]
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
            .to_owned();
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        *out.entry(name).or_default() += (ticks(11) + ticks(12)) / hz;
    }
    out
}

/// "tokio-rt-worker 60%, sled-io 35%, ..." for the CPU spent between two [`thread_cpu`] samples.
fn thread_shares(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> String {
    let mut spent: Vec<(&String, f64)> = after
        .iter()
        .map(|(name, t)| (name, t - before.get(name).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d > 0.0)
        .collect();
    let total: f64 = spent.iter().map(|(_, d)| d).sum();
    spent.sort_by(|a, b| b.1.total_cmp(&a.1));
    spent
        .iter()
        .map(|(name, d)| format!("{name} {:.0}%", d * 100.0 / total.max(f64::MIN_POSITIVE)))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/// A TCP listener that accepts and closes; serves until the process ends.
async fn tcp_target() -> SocketAddr {
    Target::tcp().await.addr
}

const ZONE: &str = "$ORIGIN example.test.
$TTL 300
@    IN SOA ns1.example.test. hostmaster.example.test. 2026112301 3600 600 86400 300
@    IN NS  ns1.example.test.
ns1  IN A   127.0.0.1
www  IN A   127.0.0.10
";

/// `nsd` serving [`ZONE`] on 127.0.0.1, with response rate limiting (on by default, 200
/// answers/s per source) turned off, as it would drop most of the load.
fn start_nsd() -> Nsd {
    Nsd::start_with(
        ZONE,
        NsdOptions {
            ipv6: false,
            server_extra: "    rrl-ratelimit: 0\n",
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The four cases
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Case {
    kind: &'static str,
    rate: usize,
    /// Extra monitor fields beside name, kind, target, interval, timeout, regions.
    monitor: Value,
    /// NetPulse `target`; `{i}` is replaced by the monitor's number.
    np_target: String,
    /// blackbox_exporter module and target.
    module: &'static str,
    bb_target: String,
}

struct Measure {
    per_s: f64,
    us_each: f64,
    /// Fraction of the sampled results (NetPulse) or of the probes (blackbox) that succeeded.
    ok: f64,
    /// Where the edge node's CPU went, by thread group (NetPulse only).
    threads: String,
}

/// Sends `n` API requests with at most 16 in flight; `make(i)` builds request `i`.
async fn api_batch<F>(n: usize, make: F) -> Vec<reqwest::Response>
where
    F: Fn(usize) -> reqwest::RequestBuilder,
{
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let end = (i + 16).min(n);
        let mut set = tokio::task::JoinSet::new();
        for j in i..end {
            let req = make(j);
            set.spawn(async move { (j, req.send().await.expect("api request")) });
        }
        let mut batch: Vec<(usize, reqwest::Response)> = set.join_all().await;
        batch.sort_by_key(|(j, _)| *j);
        out.extend(batch.into_iter().map(|(_, r)| r));
        i = end;
    }
    out
}

struct NetPulse {
    base: String,
    key: String,
    edge: KillOnDrop,
    client: reqwest::Client,
}

impl NetPulse {
    async fn measure(&self, case: &Case) -> Measure {
        let (base, key, client) = (&self.base, &self.key, &self.client);
        let created = api_batch(case.rate, |i| {
            let mut body = json!({"name": format!("{}-{i}", case.kind), "kind": case.kind,
                "target": case.np_target.replace("{i}", &i.to_string()),
                "interval_s": 1, "timeout_s": 1, "regions": ["bench"]});
            if let (Some(b), Some(extra)) = (body.as_object_mut(), case.monitor.as_object()) {
                b.extend(extra.clone());
            }
            client
                .post(format!("{base}/v1/monitors"))
                .bearer_auth(key)
                .json(&body)
        })
        .await;
        let mut ids = Vec::with_capacity(created.len());
        for r in created {
            let status = r.status();
            let v: Value = r.json().await.expect("json");
            assert_eq!(status, 201, "create {} monitor: {v}", case.kind);
            ids.push(v["data"]["id"].as_str().expect("id").to_owned());
        }
        tokio::time::sleep(SETTLE).await;
        let pid = self.edge.id();
        let (s0, c0, th0, t0) = (
            stored(client, base, key).await,
            cpu_seconds(pid),
            thread_cpu(pid),
            Instant::now(),
        );
        tokio::time::sleep(WINDOW).await;
        let (s1, c1, th1) = (
            stored(client, base, key).await,
            cpu_seconds(pid),
            thread_cpu(pid),
        );
        let secs = t0.elapsed().as_secs_f64();
        // Sample the latest results of some monitors: checks must succeed to count as cheap.
        let (mut up, mut total) = (0usize, 0usize);
        for id in ids.iter().step_by((ids.len() / 20).max(1)) {
            let v: Value = client
                .get(format!("{base}/v1/monitors/{id}/results?limit=5"))
                .bearer_auth(key)
                .send()
                .await
                .expect("results")
                .json()
                .await
                .expect("json");
            for r in v["data"].as_array().into_iter().flatten() {
                total += 1;
                up += usize::from(r["status"] == "up");
            }
        }
        let deleted = api_batch(ids.len(), |i| {
            client
                .delete(format!("{base}/v1/monitors/{}", ids[i]))
                .bearer_auth(key)
        })
        .await;
        assert!(deleted.iter().all(|r| r.status().is_success()), "delete");
        // Let checks already scheduled drain before the next measurement.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let checks = (s1 - s0) as f64;
        Measure {
            per_s: checks / secs,
            us_each: (c1 - c0) * 1e6 / checks.max(1.0),
            ok: up as f64 / total.max(1) as f64,
            threads: thread_shares(&th0, &th1),
        }
    }
}

/// Starts blackbox_exporter with one module per kind; returns the child and its base URL.
fn start_blackbox(dir: &Path) -> (KillOnDrop, String) {
    let exe = require(EXPORTER, EXPORTER);
    let config = "modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
  icmp:
    prober: icmp
    timeout: 5s
    icmp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
  dns:
    prober: dns
    timeout: 5s
    dns:
      query_name: www.example.test
      query_type: A
      transport_protocol: udp
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
";
    let path = dir.join("blackbox.yml");
    std::fs::write(&path, config).expect("write blackbox.yml");
    let port = free_tcp_port();
    let child = Command::new(exe)
        .arg(format!("--config.file={}", path.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn blackbox_exporter");
    (KillOnDrop::new(child), format!("http://127.0.0.1:{port}"))
}

async fn wait_http(client: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fail(&format!("{EXPORTER} did not answer at {url}"));
}

/// Drives `/probe` at `case.rate` per second for WARMUP + WINDOW and measures the window.
async fn blackbox_measure(
    exporter: &KillOnDrop,
    base: &str,
    client: &reqwest::Client,
    case: &Case,
) -> Measure {
    let url = format!(
        "{base}/probe?module={}&target={}",
        case.module, case.bb_target
    );
    let ok = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let limit = Arc::new(tokio::sync::Semaphore::new(BLACKBOX_CONCURRENCY));
    let start = tokio::time::Instant::now();
    let end = start + WARMUP + WINDOW;
    let generator = {
        let (ok, done, client, rate) = (ok.clone(), done.clone(), client.clone(), case.rate);
        tokio::spawn(async move {
            for i in 0u64.. {
                let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due).await;
                let permit = limit.clone().acquire_owned().await.expect("semaphore");
                let (ok, done, req) = (ok.clone(), done.clone(), client.get(&url));
                tokio::spawn(async move {
                    let body = match req.send().await {
                        Ok(r) => r.text().await.unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    if body.lines().any(|l| l == "probe_success 1") {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    drop(permit);
                });
            }
        })
    };
    tokio::time::sleep_until(start + WARMUP).await;
    let pid = exporter.id();
    let (ok0, done0, c0, t0) = (
        ok.load(Ordering::Relaxed),
        done.load(Ordering::Relaxed),
        cpu_seconds(pid),
        Instant::now(),
    );
    tokio::time::sleep_until(end).await;
    let (ok1, done1, c1) = (
        ok.load(Ordering::Relaxed),
        done.load(Ordering::Relaxed),
        cpu_seconds(pid),
    );
    let secs = t0.elapsed().as_secs_f64();
    generator.await.expect("load generator");
    // Let probes in flight finish before the next measurement.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let probes = (ok1 - ok0) as f64;
    Measure {
        per_s: probes / secs,
        us_each: (c1 - c0) * 1e6 / probes.max(1.0),
        ok: probes / ((done1 - done0) as f64).max(1.0),
        threads: String::new(),
    }
}

fn main() {
    support::run(2, run());
}

async fn run() {
    // Everything the run needs, before anything starts: a missing peer is a failure, not a skip.
    require_root();
    require(EXPORTER, EXPORTER);
    require("nsd", "nsd");
    let dir = tempfile::tempdir().expect("tempdir");
    let coord_dir = dir.path().join("coord");
    let coord = start_coordinator(&coord_dir);
    let (base, key) = (coord.base.clone(), coord.key.clone());
    let client = reqwest::Client::new();
    let token = coord.join_token(&client).await;
    let edge = coord.start_edge(
        &dir.path().join("edge"),
        "bench",
        &token,
        &["--max-concurrent-checks", "1024"],
    );
    let netpulse = NetPulse {
        base,
        key,
        edge,
        client: client.clone(),
    };

    let http = http_target().await;
    let tcp = tcp_target().await;
    let nsd = start_nsd();
    let (exporter, bb_base) = start_blackbox(dir.path());
    let bb_client = reqwest::Client::builder()
        .pool_max_idle_per_host(BLACKBOX_CONCURRENCY)
        .build()
        .expect("client");
    wait_http(&bb_client, &format!("{bb_base}/-/healthy")).await;

    let ns = format!("127.0.0.1:{}", nsd.port);
    let cases = [
        Case {
            kind: "http",
            rate: 500,
            monitor: json!({}),
            np_target: format!("http://{http}/{{i}}"),
            module: "http_2xx",
            bb_target: format!("http://{http}/bb"),
        },
        Case {
            kind: "tcp",
            rate: 500,
            monitor: json!({}),
            np_target: tcp.to_string(),
            module: "tcp_connect",
            bb_target: tcp.to_string(),
        },
        Case {
            kind: "icmp",
            rate: 200,
            monitor: json!({"count": 1}),
            np_target: "127.0.0.1".into(),
            module: "icmp",
            bb_target: "127.0.0.1".into(),
        },
        Case {
            kind: "dns",
            rate: 500,
            monitor: json!({"record_type": "A", "nameserver": ns}),
            np_target: "www.example.test".into(),
            module: "dns",
            bb_target: ns.clone(),
        },
    ];

    println!(
        "probe_cost: one NetPulse edge node vs {EXPORTER} ({}), same local targets, run one after \
         the other",
        exporter_version()
    );
    println!(
        "CPU = utime+stime from /proc/<pid>/stat over a {} s window (not wall time); blackbox CPU \
         includes serving its own /probe HTTP endpoint, which is how Prometheus always drives it",
        WINDOW.as_secs()
    );
    println!(
        "{:<6} {:>8} {:>12} {:>13} {:>8} {:>12} {:>13} {:>8} {:>9}",
        "kind",
        "target/s",
        "np checks/s",
        "np us/check",
        "np up%",
        "bb probes/s",
        "bb us/probe",
        "bb ok%",
        "ratio"
    );
    let (mut breakdown, mut warnings) = (Vec::new(), Vec::new());
    // For profiling one kind: PROBE_COST_KINDS=http,dns; PROBE_COST_NETPULSE_ONLY=1 skips the
    // exporter (its columns then read 0). The edge node's pid is printed so a profiler can attach.
    let kinds = std::env::var("PROBE_COST_KINDS").unwrap_or_default();
    let netpulse_only = std::env::var_os("PROBE_COST_NETPULSE_ONLY").is_some();
    eprintln!("edge node pid {}", netpulse.edge.id());
    for case in cases
        .iter()
        .filter(|c| kinds.is_empty() || kinds.split(',').any(|k| k.trim() == c.kind))
    {
        let np = netpulse.measure(case).await;
        let bb = if netpulse_only {
            Measure {
                per_s: case.rate as f64,
                us_each: 0.0,
                ok: 1.0,
                threads: String::new(),
            }
        } else {
            blackbox_measure(&exporter, &bb_base, &bb_client, case).await
        };
        println!(
            "{:<6} {:>8} {:>12.0} {:>13.1} {:>8.1} {:>12.0} {:>13.1} {:>8.1} {:>8.1}x",
            case.kind,
            case.rate,
            np.per_s,
            np.us_each,
            np.ok * 100.0,
            bb.per_s,
            bb.us_each,
            bb.ok * 100.0,
            bb.us_each / np.us_each.max(f64::MIN_POSITIVE)
        );
        breakdown.push(format!("  {:<6} {}", case.kind, np.threads));
        for (tool, m) in [("NetPulse", &np), (EXPORTER, &bb)] {
            if m.per_s < 0.9 * case.rate as f64 || m.ok < 0.99 {
                warnings.push(format!(
                    "WARNING: {} {tool}: {:.0}/s of {}/s, {:.1}% ok; its CPU per check is not \
                     meaningful",
                    case.kind,
                    m.per_s,
                    case.rate,
                    m.ok * 100.0
                ));
            }
        }
    }
    println!("ratio = blackbox CPU per probe / NetPulse edge CPU per check (goal: >= 5x)");
    println!("edge node CPU in the window by thread:");
    for l in breakdown.iter().chain(&warnings) {
        println!("{l}");
    }

    // Sustained throughput: the same cases offered at higher rates, both tools, one after the
    // other. PROBE_COST_SUSTAINED=0 skips it.
    if std::env::var("PROBE_COST_SUSTAINED").is_ok_and(|v| v == "0") {
        return;
    }
    println!();
    println!(
        "sustained: offered rate vs delivered, per tool (everything shares this machine's cores: \
         the coordinator, the targets, and the load generator too); 'cores' = CPU s per s"
    );
    println!(
        "{:<6} {:>8} {:>12} {:>13} {:>8} {:>12} {:>13} {:>8}",
        "kind",
        "offered",
        "np checks/s",
        "np us/check",
        "np cores",
        "bb probes/s",
        "bb us/probe",
        "bb cores"
    );
    let mut summary = Vec::new();
    for case in cases
        .iter()
        .filter(|c| kinds.is_empty() || kinds.split(',').any(|k| k.trim() == c.kind))
    {
        let (mut np_best, mut bb_best) = (None, None);
        for rate in SUSTAINED_RATES {
            let case = Case {
                rate,
                ..case.clone()
            };
            let np = netpulse.measure(&case).await;
            let bb = if netpulse_only {
                Measure {
                    per_s: 0.0,
                    us_each: 0.0,
                    ok: 0.0,
                    threads: String::new(),
                }
            } else {
                blackbox_measure(&exporter, &bb_base, &bb_client, &case).await
            };
            println!(
                "{:<6} {:>8} {:>12.0} {:>13.1} {:>8.2} {:>12.0} {:>13.1} {:>8.2}",
                case.kind,
                rate,
                np.per_s,
                np.us_each,
                np.per_s * np.us_each / 1e6,
                bb.per_s,
                bb.us_each,
                bb.per_s * bb.us_each / 1e6,
            );
            let keeps_up = |m: &Measure| m.per_s >= KEEPS_UP * rate as f64 && m.ok >= 0.99;
            if keeps_up(&np) {
                np_best = Some(rate);
            }
            if keeps_up(&bb) {
                bb_best = Some(rate);
            }
        }
        let best = |b: Option<usize>| match b {
            Some(r) => format!(">= {r}/s"),
            None => format!("< {}/s", SUSTAINED_RATES[0]),
        };
        summary.push(format!(
            "  {:<6} NetPulse {}, {EXPORTER} {}",
            case.kind,
            best(np_best),
            best(bb_best)
        ));
    }
    println!(
        "highest offered rate delivered (>= {:.0}% of it, >= 99% ok):",
        KEEPS_UP * 100.0
    );
    for l in &summary {
        println!("{l}");
    }
    drop(exporter);
    drop(nsd);
    drop(netpulse);
    drop(coord);
}

fn exporter_version() -> String {
    Command::new(EXPORTER)
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
            s.push_str(&String::from_utf8_lossy(&o.stderr));
            s.lines()
                .next()
                .unwrap_or("")
                .split(" (")
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default()
}
