//! The edge node's `/metrics` cost: what recording one check costs the check runner, and CPU
//! time and bytes per scrape (`metrics::gather` plus `exposition::render`, without the HTTP
//! round trip) in the worst case the labels allow: every probe kind having seen every status
//! and error class, and an outbox holding 10,000 pending results.
//!
//! Run with `cargo bench -p netpulse-edge --bench metrics_scrape` (a few seconds).

use std::sync::Arc;
use std::time::{Duration, Instant};

use netpulse_edge::canary::Health;
use netpulse_edge::metrics::{self, exposition, EdgeMetrics, Format, Sources};
use netpulse_edge::outbox::Outbox;
use netpulse_protocol::result::{CheckResult, CheckStatus, ErrorClass};
use tokio::sync::watch;

const KINDS: [&str; 7] = ["http", "tcp", "dns", "tls", "icmp", "ssh", "snmp"];
const CLASSES: [ErrorClass; 11] = [
    ErrorClass::Dns,
    ErrorClass::Refused,
    ErrorClass::Connect,
    ErrorClass::Timeout,
    ErrorClass::Tls,
    ErrorClass::Status,
    ErrorClass::Assertion,
    ErrorClass::Protocol,
    ErrorClass::Auth,
    ErrorClass::Internal,
    ErrorClass::Policy,
];
const RECORDS: u32 = 1_000_000;
const SCRAPES: u32 = 2_000;
const PENDING: usize = 10_000;

fn cpu_seconds() -> f64 {
    netpulse_exposition::process::read()
        .cpu_seconds
        .unwrap_or(0.0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Arc::new(Outbox::open(dir.path()).expect("outbox"));
    let result = |i: usize| CheckResult {
        seq: 0,
        monitor_id: format!("mon_{i:016x}"),
        revision: 1,
        checked_at_ms: 1_790_000_000_000 + i as i64,
        status: CheckStatus::Up,
        duration_us: 12_000,
        error: None,
        metrics: vec![("total_ms".into(), 12.0)],
        detail: None,
        facts: Vec::new(),
        impaired: false,
    };
    rt.block_on(async {
        for chunk in (0..PENDING).collect::<Vec<_>>().chunks(1_000) {
            let batch = chunk.iter().map(|i| result(*i)).collect();
            outbox.push_many(batch).await.expect("push");
        }
    });

    let m = Arc::new(EdgeMetrics::new());
    // Recording, as the check runner does for every check: lateness at start, then the check.
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    for i in 0..RECORDS {
        let kind = KINDS[i as usize % KINDS.len()];
        let class = CLASSES[i as usize % CLASSES.len()];
        let (status, class) = match i % 4 {
            0 => (CheckStatus::Down, Some(class)),
            1 => (CheckStatus::Degraded, None),
            _ => (CheckStatus::Up, None),
        };
        m.record_lateness(Duration::from_micros(u64::from(i % 5_000)));
        m.check_finished(
            kind,
            status,
            class,
            Duration::from_micros(u64::from(i % 2_000_000)),
        );
    }
    let wall = t0.elapsed();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "record: {RECORDS} checks, {:.0} ns/check (wall), {:.0} ns/check (CPU)",
        wall.as_nanos() as f64 / f64::from(RECORDS),
        cpu * 1e9 / f64::from(RECORDS)
    );

    let (_tx, health) = watch::channel(Health::default());
    let src = Sources {
        metrics: m,
        outbox,
        health,
        node_id: "node_0123456789abcdef".into(),
        region: "eu-west".into(),
    };
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let mut bytes = 0usize;
        let mut series = 0usize;
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        for _ in 0..SCRAPES {
            let text = exposition::render(&metrics::gather(&src, 1_790_000_100_000), format);
            bytes = text.len();
            series = text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .count();
        }
        let wall = t0.elapsed();
        let cpu = cpu_seconds() - cpu0;
        println!(
            "scrape ({format:?}): {:.1} µs/scrape (wall), {:.1} µs/scrape (CPU), {bytes} bytes, {series} series, outbox {PENDING} pending",
            wall.as_secs_f64() * 1e6 / f64::from(SCRAPES),
            cpu * 1e6 / f64::from(SCRAPES),
        );
    }
}
