//! One edge node holding 100,000 scheduled checks (issue 10, "Scale"): resident memory per
//! scheduled check, scheduling lateness p50/p99 as the node itself reports it, and CPU.
//!
//! One real `netpulse edge` process (release build; `NETPULSE_BENCH_BIN` runs another binary)
//! talks to a fake coordinator in this process (`support/fake_coordinator.rs`: real enrolment,
//! mutual-TLS QUIC session, the real assignment chunking, every batch acknowledged at once), so
//! no coordinator shares the two cores or the figures. The checks are TCP connects to 64
//! listeners on 127.0.0.1 that accept and close, with intervals spread over 30 s to 300 s
//! (about 850 checks/s at 100,000 checks).
//!
//! Phases: the node enrols and holds a session with no checks (resident memory at 0 checks);
//! the assignment is sent; once every check has reported once (all are scheduled and their
//! first runs, jittered over the first 10 s, are done) memory is read again; the measured
//! window then starts at the node's next lateness summary and lasts `EDGE_SCALE_MINUTES` of
//! them (default 5, one full cycle of the slowest check), so every summary in the window covers
//! steady state only. CPU is utime+stime from /proc over the window.
//!
//! `cargo bench --bench edge_scale` (about 6.5 minutes). Shorter: `EDGE_SCALE_CHECKS=20000
//! EDGE_SCALE_MINUTES=2`. Goals: under 2 KB of resident memory per scheduled check, lateness
//! p99 under 50 ms; measured by hand before: 2.3 KB per check at 5,000 TCP monitors.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use netpulse_protocol::check::{CheckSpec, ProbeSpec, TcpSpec};
use serde_json::Value;
use support::fake_coordinator::{check_id, FakeCoordinator};
use support::{cpu_seconds, netpulse_bin, proc_status_bytes, KillOnDrop};

/// TCP targets the checks are spread over.
const LISTENERS: usize = 64;
/// Goal from issue 10.
const GOAL_BYTES_PER_CHECK: f64 = 2048.0;
/// Goal from issue 10.
const GOAL_P99_MS: f64 = 50.0;
/// Hand measurement quoted in issue 10 (5,000 TCP monitors on one node).
const EARLIER_BYTES_PER_CHECK: f64 = 2.3 * 1024.0;

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A listener that accepts and closes, as a TCP check's target; serves until the process ends.
async fn tcp_target() -> u16 {
    netpulse_test_support::target::Target::tcp()
        .await
        .addr
        .port()
}

/// The `i`-th check: a TCP connect, interval 30-300 s (whole seconds, spread evenly but not in
/// step with the target), one of the listeners.
fn check(i: usize, ports: &[u16]) -> CheckSpec {
    let interval_s = 30 + (i as u64).wrapping_mul(7919) % 271;
    CheckSpec {
        monitor_id: check_id(i),
        revision: 1,
        interval_ms: interval_s * 1000,
        timeout_ms: 5_000,
        probe: ProbeSpec::Tcp(TcpSpec {
            host: "127.0.0.1".into(),
            port: ports[i % ports.len()],
            send: None,
            expect_regex: None,
        }),
    }
}

/// One "schedule lateness" line of the node's log.
#[derive(Debug, Clone)]
struct Summary {
    scheduled: u64,
    started: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn parse_summary(line: &str) -> Option<Summary> {
    let v: Value = serde_json::from_str(line).ok()?;
    let f = v.get("fields")?;
    if f.get("message")?.as_str()? != "schedule lateness" {
        return None;
    }
    Some(Summary {
        scheduled: f.get("scheduled")?.as_u64()?,
        started: f.get("started")?.as_u64()?,
        p50_ms: f.get("p50_ms")?.as_f64()?,
        p99_ms: f.get("p99_ms")?.as_f64()?,
        max_ms: f.get("max_ms")?.as_f64()?,
    })
}

/// Starts the edge node with JSON logs; its lateness summaries arrive on the returned channel,
/// warnings and errors are echoed to stderr.
fn start_node(dir: &std::path::Path, fake: &FakeCoordinator) -> (KillOnDrop, Receiver<Summary>) {
    let mut child = Command::new(netpulse_bin())
        .args([
            "--log-format",
            "json",
            "edge",
            "--data-dir",
            dir.to_str().expect("utf8"),
            "--region",
            "bench",
            "--coordinator",
            &fake.addr.to_string(),
            "--join-token",
            &fake.token,
            // Single box: canaries would only add handshakes with the fake coordinator.
            "--no-canary",
        ])
        .env("RUST_LOG", "warn,netpulse_edge=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netpulse edge");
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || for _ in BufReader::new(out).lines().map_while(Result::ok) {});
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(s) = parse_summary(&l) {
                let _ = tx.send(s);
            } else if l.contains("\"WARN\"") || l.contains("\"ERROR\"") {
                eprintln!("edge node: {l}");
            }
        }
    });
    (KillOnDrop::new(child), rx)
}

async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !done() {
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t0.elapsed()
}

/// Waits up to `limit` for the node's next lateness summary, without blocking the runtime's
/// only worker. `None` when none came: a binary from before the node reported lateness.
async fn next_summary(rx: &Receiver<Summary>, limit: Duration) -> Option<Summary> {
    let deadline = Instant::now() + limit;
    loop {
        match rx.try_recv() {
            Ok(s) => return Some(s),
            Err(TryRecvError::Disconnected) => panic!("edge node exited"),
            Err(TryRecvError::Empty) => {}
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn main() {
    support::run(1, run());
}

async fn run() {
    let n = env_usize("EDGE_SCALE_CHECKS", 100_000);
    let minutes = env_usize("EDGE_SCALE_MINUTES", 5).max(1);
    let mut ports = Vec::with_capacity(LISTENERS);
    for _ in 0..LISTENERS {
        ports.push(tcp_target().await);
    }
    let checks: Vec<CheckSpec> = (0..n).map(|i| check(i, &ports)).collect();
    let rate: f64 = checks.iter().map(|c| 1000.0 / c.interval_ms as f64).sum();
    let fake = FakeCoordinator::start(checks);
    let dir = tempfile::tempdir().expect("tempdir");
    let (node, summaries) = start_node(&dir.path().join("edge"), &fake);
    let pid = node.id();
    println!(
        "edge_scale: one edge node (pid {pid}), {n} TCP checks on {LISTENERS} loopback listeners, \
         intervals 30-300 s ({rate:.0} checks/s expected), fake coordinator"
    );

    until("the node's session", Duration::from_secs(60), || {
        fake.sessions() >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_empty = proc_status_bytes(pid, "VmRSS");

    fake.assign();
    let stats = fake.stats.clone();
    let first_round = until(
        "every check's first result",
        Duration::from_secs(600),
        || stats.checks_with_runs(1) >= n,
    )
    .await;
    let rss_scheduled = proc_status_bytes(pid, "VmRSS");
    println!(
        "all {n} checks scheduled and run once {:.1} s after the assignment was sent ({} messages)",
        first_round.as_secs_f64(),
        stats.assignment_messages.load(Ordering::Relaxed)
    );

    // Summaries up to here cover the assignment and the first-run burst.
    let mut burst: Vec<Summary> = Vec::new();
    while let Ok(s) = summaries.try_recv() {
        burst.push(s);
    }
    // The window starts at a summary, so the ones inside it cover steady state only. The node
    // logs one a minute; a binary that logs none (older than the lateness report, run through
    // NETPULSE_BENCH_BIN) gets a window timed here, without lateness figures.
    let opening = next_summary(&summaries, Duration::from_secs(65)).await;
    let reports = opening.is_some();
    if !reports {
        println!("no lateness summary from the node: measuring memory and CPU only");
    }
    let (cpu0, res0, t0) = (
        cpu_seconds(pid),
        stats.results.load(Ordering::Relaxed),
        Instant::now(),
    );
    burst.extend(opening);
    let mut window: Vec<Summary> = Vec::new();
    for minute in 1..=minutes {
        let s = if reports {
            next_summary(&summaries, Duration::from_secs(150))
                .await
                .expect("the node stopped reporting lateness")
        } else {
            tokio::time::sleep_until((t0 + Duration::from_secs(60 * minute as u64)).into()).await;
            Summary {
                scheduled: n as u64,
                started: 0,
                p50_ms: f64::NAN,
                p99_ms: f64::NAN,
                max_ms: f64::NAN,
            }
        };
        println!(
            "  minute {minute}: {} scheduled, {} started, lateness p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.0} results/s so far, RSS {:.1} MiB",
            s.scheduled,
            s.started,
            s.p50_ms,
            s.p99_ms,
            s.max_ms,
            (stats.results.load(Ordering::Relaxed) - res0) as f64 / t0.elapsed().as_secs_f64(),
            mib(proc_status_bytes(pid, "VmRSS"))
        );
        window.push(s);
    }
    let (cpu1, res1, secs) = (
        cpu_seconds(pid),
        stats.results.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64(),
    );
    let rss_cycle = proc_status_bytes(pid, "VmRSS");
    let hwm = proc_status_bytes(pid, "VmHWM");
    let twice = stats.checks_with_runs(2);
    let not_up = stats.not_up.load(Ordering::Relaxed);
    drop(node);

    let results = (res1 - res0) as f64;
    let cpu = cpu1 - cpu0;
    let per_check = |rss: u64| (rss.saturating_sub(rss_empty)) as f64 / n as f64;
    let started: u64 = window.iter().map(|s| s.started).sum();
    let mut p50s: Vec<f64> = window.iter().map(|s| s.p50_ms).collect();
    p50s.sort_by(f64::total_cmp);
    let p50 = p50s[p50s.len() / 2];
    let worst = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::NAN, f64::max);
    let p99 = worst(&mut window.iter().map(|s| s.p99_ms));
    let max = worst(&mut window.iter().map(|s| s.max_ms));
    let burst_p99 = worst(&mut burst.iter().map(|s| s.p99_ms));
    let burst_max = worst(&mut burst.iter().map(|s| s.max_ms));

    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| scheduled checks | {n} |");
    println!(
        "| RSS with a session and 0 checks | {:.1} MiB |",
        mib(rss_empty)
    );
    println!(
        "| RSS once all are scheduled and ran once | {:.1} MiB ({:.0} B/check) |",
        mib(rss_scheduled),
        per_check(rss_scheduled)
    );
    println!(
        "| RSS after the {minutes}-minute window | {:.1} MiB ({:.0} B/check) |",
        mib(rss_cycle),
        per_check(rss_cycle)
    );
    println!("| peak RSS (VmHWM) | {:.1} MiB |", mib(hwm));
    println!(
        "| lateness p50 (median minute) / p99 (worst minute) / max | {p50:.1} / {p99:.1} / {max:.1} ms |"
    );
    println!(
        "| lateness during the first-run burst: p99 / max | {burst_p99:.1} / {burst_max:.1} ms |"
    );
    println!(
        "| checks started (node's count) / results delivered per s | {:.0} / {:.0} |",
        started as f64 / secs,
        results / secs
    );
    println!(
        "| edge CPU | {:.3} cores, {:.1} µs per result |",
        cpu / secs,
        cpu * 1e6 / results.max(1.0)
    );
    println!("| checks with two or more results by the end | {twice} of {n} |");
    println!();
    let kb = per_check(rss_cycle);
    println!(
        "memory: {:.0} B per scheduled check ({}), {:.2}x the earlier hand measurement of {:.0} B at 5,000",
        kb,
        if kb < GOAL_BYTES_PER_CHECK {
            "goal < 2048 B met"
        } else {
            "goal < 2048 B MISSED"
        },
        kb / EARLIER_BYTES_PER_CHECK,
        EARLIER_BYTES_PER_CHECK
    );
    if reports {
        println!(
            "lateness: p99 {p99:.1} ms in the worst minute ({})",
            if p99 < GOAL_P99_MS {
                "goal < 50 ms met"
            } else {
                "goal < 50 ms MISSED"
            }
        );
    }
    if not_up > 0 {
        println!("WARNING: {not_up} results were not up (targets or the node overloaded)");
    }
    // Before one full cycle of the slowest check the rate is still ramping up.
    if minutes >= 5 && results < 0.9 * rate * secs {
        println!(
            "WARNING: {:.0} results/s delivered, expected about {rate:.0}",
            results / secs
        );
    }
}
